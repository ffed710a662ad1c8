"""Business-hours arithmetic: worked examples, DST nights, spec validation, properties.

Results are compared as UTC instants or ISO strings with their offset: two datetimes
in the same zone compare by wall time and ignore `fold`, which would hide exactly the
fall-back mistakes these tests are here to catch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.calendar import BusinessCalendar

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PRAGUE = ZoneInfo("Europe/Prague")
NEW_YORK = ZoneInfo("America/New_York")
OFFICE_HOURS = {day: ["09:00-17:00"] for day in DAYS[:5]}
ALL_DAY = {day: ["00:00-24:00"] for day in DAYS}
NIGHTS = {day: ["00:00-04:00"] for day in DAYS}
ONE_MICROSECOND = timedelta(microseconds=1)


def office(closed: Sequence[date] = ()) -> BusinessCalendar:
    return BusinessCalendar.from_spec("Europe/Prague", OFFICE_HOURS, closed)


def prague(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    microsecond: int = 0,
    *,
    fold: int = 0,
) -> datetime:
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=PRAGUE, fold=fold)


def new_york(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=NEW_YORK)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


# --- worked examples -------------------------------------------------------------------


def test_friday_afternoon_message_is_due_monday_midday() -> None:
    due = office().add_business_minutes(prague(2026, 11, 20, 16, 30), 240)

    assert due.isoformat() == "2026-11-23T12:30:00+01:00"
    assert due.tzinfo == PRAGUE


def test_start_given_in_another_zone_returns_calendar_time() -> None:
    due = office().add_business_minutes(datetime(2026, 11, 20, 15, 30, tzinfo=UTC), 240)

    assert due.isoformat() == "2026-11-23T12:30:00+01:00"
    assert due.tzinfo == PRAGUE


def test_weekend_start_counts_from_monday_opening() -> None:
    due = office().add_business_minutes(prague(2026, 11, 21, 10, 0), 60)

    assert due.isoformat() == "2026-11-23T10:00:00+01:00"


def test_early_start_counts_from_opening() -> None:
    due = office().add_business_minutes(prague(2026, 11, 23, 8, 0), 60)

    assert due.isoformat() == "2026-11-23T10:00:00+01:00"


def test_landing_on_closing_time_returns_closing_time() -> None:
    calendar = office()

    assert calendar.add_business_minutes(prague(2026, 11, 20, 9), 480).isoformat() == (
        "2026-11-20T17:00:00+01:00"
    )
    assert calendar.add_business_minutes(prague(2026, 11, 20, 9), 481).isoformat() == (
        "2026-11-23T09:01:00+01:00"
    )


def test_closed_dates_are_skipped() -> None:
    closed_monday = office([date(2026, 11, 23)])
    closed_friday = office([date(2026, 11, 20)])

    assert closed_monday.add_business_minutes(prague(2026, 11, 20, 16, 30), 240).isoformat() == (
        "2026-11-24T12:30:00+01:00"
    )
    assert closed_friday.add_business_minutes(prague(2026, 11, 20, 16, 30), 240).isoformat() == (
        "2026-11-23T13:00:00+01:00"
    )
    assert not closed_monday.is_open(prague(2026, 11, 23, 10))
    assert closed_monday.next_open(prague(2026, 11, 23, 10)).isoformat() == (
        "2026-11-24T09:00:00+01:00"
    )


def test_split_shift_skips_the_lunch_break() -> None:
    calendar = BusinessCalendar.from_spec("Europe/Prague", {"mon": ["09:00-12:00", "13:00-17:00"]})

    assert calendar.add_business_minutes(prague(2026, 11, 23, 11, 30), 30).isoformat() == (
        "2026-11-23T12:00:00+01:00"
    )
    assert calendar.add_business_minutes(prague(2026, 11, 23, 11, 30), 60).isoformat() == (
        "2026-11-23T13:30:00+01:00"
    )
    assert calendar.business_minutes_between(prague(2026, 11, 23), prague(2026, 11, 24)) == 420
    assert not calendar.is_open(prague(2026, 11, 23, 12, 30))
    assert calendar.next_open(prague(2026, 11, 23, 12, 30)).isoformat() == (
        "2026-11-23T13:00:00+01:00"
    )


def test_touching_shifts_within_a_day_count_as_one() -> None:
    touching = BusinessCalendar.from_spec("Europe/Prague", {"mon": ["09:00-12:00", "12:00-17:00"]})

    assert touching.is_open(prague(2026, 11, 23, 12))
    assert touching.next_open(prague(2026, 11, 23, 12)).isoformat() == "2026-11-23T12:00:00+01:00"
    assert touching.add_business_minutes(prague(2026, 11, 23, 11), 120).isoformat() == (
        "2026-11-23T13:00:00+01:00"
    )


def test_shift_until_midnight_continues_into_the_next_day() -> None:
    calendar = BusinessCalendar.from_spec(
        "Europe/Prague", {"mon": ["20:00-24:00"], "tue": ["00:00-02:00"]}
    )
    monday_evening = prague(2026, 11, 23, 20)

    assert calendar.add_business_minutes(prague(2026, 11, 23, 23), 120).isoformat() == (
        "2026-11-24T01:00:00+01:00"
    )
    assert calendar.is_open(prague(2026, 11, 23, 23, 59, 59, 999999))
    assert calendar.is_open(prague(2026, 11, 24, 0, 0))
    assert calendar.next_open(prague(2026, 11, 24, 0, 0)).isoformat() == (
        "2026-11-24T00:00:00+01:00"
    )
    assert calendar.business_minutes_between(monday_evening, prague(2026, 11, 24, 2)) == 360
    assert calendar.add_business_minutes(monday_evening, 360).isoformat() == (
        "2026-11-24T02:00:00+01:00"
    )
    assert calendar.add_business_minutes(monday_evening, 361).isoformat() == (
        "2026-11-30T20:01:00+01:00"
    )


def test_zero_minutes_returns_the_start_even_out_of_hours() -> None:
    saturday = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)

    due = office().add_business_minutes(saturday, 0)

    assert due == saturday
    assert due.isoformat() == "2026-11-21T10:00:00+01:00"


def test_add_rejects_naive_start_and_negative_minutes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        office().add_business_minutes(datetime(2026, 11, 20, 16, 30), 60)
    with pytest.raises(ValueError, match="negative"):
        office().add_business_minutes(prague(2026, 11, 20, 16, 30), -1)


def test_calendar_without_hours_is_refused_instead_of_looping() -> None:
    never = BusinessCalendar.from_spec("Europe/Prague", {})

    with pytest.raises(ValueError, match="no business hours"):
        never.add_business_minutes(prague(2026, 11, 20, 16, 30), 1)
    with pytest.raises(ValueError, match="no business hours"):
        never.next_open(prague(2026, 11, 20, 16, 30))
    assert not never.is_open(prague(2026, 11, 20, 10))
    assert never.business_minutes_between(prague(2026, 1, 1), prague(2027, 1, 1)) == 0


def test_closing_every_near_date_is_refused_instead_of_looping() -> None:
    first_monday = date(2026, 1, 5)
    mondays = [first_monday + timedelta(weeks=n) for n in range(52 * 4)]
    calendar = BusinessCalendar.from_spec("Europe/Prague", {"mon": ["09:00-17:00"]}, mondays)

    with pytest.raises(ValueError, match="no business hours within"):
        calendar.add_business_minutes(prague(2026, 1, 1), 60)
    with pytest.raises(ValueError, match="no business hours within"):
        calendar.next_open(prague(2026, 1, 1))


def test_business_minutes_between() -> None:
    calendar = office()
    friday = prague(2026, 11, 20, 16, 30)
    monday = prague(2026, 11, 23, 12, 30)

    assert calendar.business_minutes_between(friday, monday) == 240
    assert calendar.business_minutes_between(monday, friday) == 0
    assert calendar.business_minutes_between(friday, friday) == 0
    assert calendar.business_minutes_between(utc(friday), monday) == 240
    half_a_minute = calendar.business_minutes_between(
        prague(2026, 11, 23, 9, 0, 30), prague(2026, 11, 23, 9, 1)
    )
    assert half_a_minute == 0.5
    assert isinstance(half_a_minute, float)
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.business_minutes_between(datetime(2026, 11, 20), monday)


def test_next_open() -> None:
    calendar = office()
    inside = datetime(2026, 11, 20, 10, 15, 7, tzinfo=UTC)

    assert calendar.next_open(inside) == inside
    assert calendar.next_open(inside).tzinfo == PRAGUE
    assert calendar.next_open(prague(2026, 11, 21, 10)).isoformat() == "2026-11-23T09:00:00+01:00"
    assert calendar.next_open(prague(2026, 11, 20, 17)).isoformat() == "2026-11-23T09:00:00+01:00"
    assert calendar.next_open(prague(2026, 11, 23, 8)).isoformat() == "2026-11-23T09:00:00+01:00"
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.next_open(datetime(2026, 11, 20, 10))


def test_is_open_includes_the_start_and_excludes_the_end() -> None:
    calendar = office()

    assert calendar.is_open(prague(2026, 11, 20, 9))
    assert calendar.is_open(prague(2026, 11, 20, 16, 59, 59, 999999))
    assert not calendar.is_open(prague(2026, 11, 20, 17))
    assert not calendar.is_open(prague(2026, 11, 20, 8, 59, 59, 999999))
    assert not calendar.is_open(prague(2026, 11, 21, 12))
    assert calendar.is_open(datetime(2026, 11, 20, 8, 0, tzinfo=UTC))
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.is_open(datetime(2026, 11, 20, 10))


# --- DST -------------------------------------------------------------------------------


def test_prague_round_the_clock_counts_real_hours_across_dst() -> None:
    calendar = BusinessCalendar.from_spec("Europe/Prague", ALL_DAY)

    spring = calendar.business_minutes_between(prague(2026, 3, 28, 12), prague(2026, 3, 29, 12))
    autumn = calendar.business_minutes_between(prague(2026, 10, 24, 12), prague(2026, 10, 25, 12))
    assert (spring, autumn) == (23 * 60, 25 * 60)
    assert calendar.add_business_minutes(prague(2026, 3, 28, 12), 24 * 60).isoformat() == (
        "2026-03-29T13:00:00+02:00"
    )
    assert calendar.add_business_minutes(prague(2026, 10, 24, 12), 24 * 60).isoformat() == (
        "2026-10-25T11:00:00+01:00"
    )


def test_prague_night_shift_loses_an_hour_in_spring() -> None:
    calendar = BusinessCalendar.from_spec("Europe/Prague", NIGHTS)
    night = prague(2026, 3, 29)

    assert calendar.business_minutes_between(night, prague(2026, 3, 29, 12)) == 180
    assert calendar.add_business_minutes(night, 120).isoformat() == "2026-03-29T03:00:00+02:00"
    assert calendar.add_business_minutes(night, 180).isoformat() == "2026-03-29T04:00:00+02:00"
    assert calendar.add_business_minutes(night, 181).isoformat() == "2026-03-30T00:01:00+02:00"


def test_prague_night_shift_gains_an_hour_in_autumn() -> None:
    calendar = BusinessCalendar.from_spec("Europe/Prague", NIGHTS)
    night = prague(2026, 10, 25)

    assert calendar.business_minutes_between(night, prague(2026, 10, 25, 12)) == 300
    # 02:30 happens twice; the count goes through both.
    assert calendar.add_business_minutes(night, 150).isoformat() == "2026-10-25T02:30:00+02:00"
    assert calendar.add_business_minutes(night, 210).isoformat() == "2026-10-25T02:30:00+01:00"
    assert calendar.add_business_minutes(night, 300).isoformat() == "2026-10-25T04:00:00+01:00"
    assert calendar.is_open(prague(2026, 10, 25, 2, 30, fold=1))
    assert utc(calendar.add_business_minutes(night, 210)) == utc(
        prague(2026, 10, 25, 2, 30, fold=1)
    )


def test_new_york_round_the_clock_counts_real_hours_across_dst() -> None:
    calendar = BusinessCalendar.from_spec("America/New_York", ALL_DAY)

    spring = calendar.business_minutes_between(new_york(2026, 3, 7, 12), new_york(2026, 3, 8, 12))
    autumn = calendar.business_minutes_between(
        new_york(2026, 10, 31, 12), new_york(2026, 11, 1, 12)
    )
    assert (spring, autumn) == (23 * 60, 25 * 60)
    assert calendar.add_business_minutes(new_york(2026, 3, 7, 12), 24 * 60).isoformat() == (
        "2026-03-08T13:00:00-04:00"
    )
    assert calendar.add_business_minutes(new_york(2026, 10, 31, 12), 24 * 60).isoformat() == (
        "2026-11-01T11:00:00-05:00"
    )


def test_new_york_night_shift_over_midnight_across_dst() -> None:
    calendar = BusinessCalendar.from_spec(
        "America/New_York", {day: ["00:00-06:00", "22:00-24:00"] for day in DAYS}
    )
    autumn_evening = new_york(2026, 10, 31, 22)

    assert calendar.business_minutes_between(autumn_evening, new_york(2026, 11, 1, 12)) == 540
    assert calendar.add_business_minutes(autumn_evening, 540).isoformat() == (
        "2026-11-01T06:00:00-05:00"
    )
    assert calendar.add_business_minutes(autumn_evening, 541).isoformat() == (
        "2026-11-01T22:01:00-05:00"
    )
    assert calendar.add_business_minutes(autumn_evening, 180).isoformat() == (
        "2026-11-01T01:00:00-04:00"
    )
    assert calendar.add_business_minutes(autumn_evening, 240).isoformat() == (
        "2026-11-01T01:00:00-05:00"
    )
    spring_evening = new_york(2026, 3, 7, 22)
    assert calendar.business_minutes_between(spring_evening, new_york(2026, 3, 8, 12)) == 420
    assert calendar.add_business_minutes(spring_evening, 240).isoformat() == (
        "2026-03-08T03:00:00-04:00"
    )


def test_boundaries_in_the_gap_or_the_repeated_hour_are_read_with_fold_0() -> None:
    # 02:30 does not exist on 2026-03-08: read with the offset before the jump, it is 03:30 EDT.
    in_gap = BusinessCalendar.from_spec("America/New_York", {"sun": ["02:30-05:00"]})
    # 01:30 happens twice on 2026-11-01: fold=0 is the first time, still EDT.
    repeated = BusinessCalendar.from_spec("America/New_York", {"sun": ["01:30-03:00"]})
    # 02:30-03:00 on 2026-03-29 in Prague never happens at all.
    vanished = BusinessCalendar.from_spec("Europe/Prague", {"sun": ["02:30-03:00"]})

    assert in_gap.next_open(new_york(2026, 3, 8)).isoformat() == "2026-03-08T03:30:00-04:00"
    assert in_gap.business_minutes_between(new_york(2026, 3, 8), new_york(2026, 3, 9)) == 90
    assert repeated.next_open(new_york(2026, 11, 1)).isoformat() == "2026-11-01T01:30:00-04:00"
    assert repeated.business_minutes_between(new_york(2026, 11, 1), new_york(2026, 11, 2)) == 150
    assert vanished.business_minutes_between(prague(2026, 3, 29), prague(2026, 3, 30)) == 0
    assert vanished.next_open(prague(2026, 3, 29)).isoformat() == "2026-04-05T02:30:00+02:00"


def test_shifts_overlapping_after_the_spring_gap_count_once() -> None:
    # Read with fold=0, 02:30 is 03:30 CEST, past the 03:00 start of the next shift.
    calendar = BusinessCalendar.from_spec("Europe/Prague", {"sun": ["01:00-02:30", "03:00-04:00"]})
    night = prague(2026, 3, 29)

    assert calendar.business_minutes_between(night, prague(2026, 3, 30)) == 120
    assert calendar.add_business_minutes(night, 90).isoformat() == "2026-03-29T03:30:00+02:00"
    assert calendar.add_business_minutes(night, 120).isoformat() == "2026-03-29T04:00:00+02:00"


# --- from_spec validation --------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "fragments"),
    [
        ({"monday": ["09:00-17:00"]}, ["unknown day", "'monday'"]),
        ({"Mon": ["09:00-17:00"]}, ["unknown day", "'Mon'"]),
        ({"tue": ["9-17"]}, ["tue", "'9-17'"]),
        ({"tue": ["09:00 - 17:00"]}, ["tue", "'09:00 - 17:00'"]),
        ({"wed": ["09:00-25:00"]}, ["wed", "'09:00-25:00'"]),
        ({"wed": ["24:00-24:00"]}, ["wed", "'24:00-24:00'"]),
        ({"wed": ["09:00-24:30"]}, ["wed", "'09:00-24:30'"]),
        ({"thu": ["09:60-10:00"]}, ["thu", "'09:60-10:00'"]),
        ({"fri": ["17:00-09:00"]}, ["fri", "'17:00-09:00'", "end must be after start"]),
        ({"fri": ["09:00-09:00"]}, ["fri", "'09:00-09:00'", "end must be after start"]),
        ({"sat": ["22:00-00:00"]}, ["sat", "'22:00-00:00'", "24:00"]),
        (
            {"mon": ["11:00-13:00", "09:00-12:00"]},
            ["mon", "'09:00-12:00'", "'11:00-13:00'", "overlaps"],
        ),
        ({"sun": ["09:00-17:00", "09:00-17:00"]}, ["sun", "'09:00-17:00'", "overlaps"]),
        ({"sun": "09:00-17:00"}, ["sun", "'09:00-17:00'", "list"]),
        ({"sun": [900]}, ["sun", "900"]),
    ],
)
def test_from_spec_names_the_offending_day_and_value(
    hours: Mapping[str, Sequence[str]], fragments: list[str]
) -> None:
    with pytest.raises(ValueError, match=re.escape(fragments[0])) as raised:
        BusinessCalendar.from_spec("Europe/Prague", hours)

    for fragment in fragments:
        assert fragment in str(raised.value)


@pytest.mark.parametrize("zone", ["Mars/Olympus", "europe/prague", "", "../etc/passwd", "Europe"])
def test_from_spec_rejects_unknown_timezones(zone: str) -> None:
    with pytest.raises(ValueError, match="unknown timezone") as raised:
        BusinessCalendar.from_spec(zone, OFFICE_HOURS)

    assert repr(zone) in str(raised.value)


def test_from_spec_sorts_intervals_and_leaves_missing_days_closed() -> None:
    calendar = BusinessCalendar.from_spec(
        "Europe/Prague",
        {"sat": ["10:00-12:00", "08:00-09:00"], "sun": ["18:00-24:00"], "fri": []},
        [date(2026, 12, 24), date(2026, 12, 24)],
    )

    assert calendar.weekly[5] == ((time(8), time(9)), (time(10), time(12)))
    assert calendar.weekly[6] == ((time(18), time(0)),)
    assert calendar.weekly[:5] == ((), (), (), (), ())
    assert calendar.closed_dates == frozenset({date(2026, 12, 24)})
    assert hash(calendar) == hash(
        BusinessCalendar.from_spec(
            "Europe/Prague",
            {"sun": ["18:00-24:00"], "sat": ["08:00-09:00", "10:00-12:00"]},
            [date(2026, 12, 24)],
        )
    )


def test_direct_construction_is_checked_too() -> None:
    with pytest.raises(ValueError, match="7 days"):
        BusinessCalendar("Europe/Prague", ((),) * 6)
    with pytest.raises(ValueError, match="tue"):
        BusinessCalendar(
            "Europe/Prague", ((), ((time(9), time(12)), (time(11), time(13))), (), (), (), (), ())
        )
    with pytest.raises(ValueError, match="end must be after start"):
        BusinessCalendar("Europe/Prague", (((time(17), time(9)),), (), (), (), (), (), ()))
    with pytest.raises(ValueError, match="unknown timezone"):
        BusinessCalendar("Nowhere/Town", ((),) * 7)
    with pytest.raises(ValueError, match="closed_dates"):
        BusinessCalendar("UTC", ((),) * 7, frozenset({datetime(2026, 1, 1)}))


# --- properties ------------------------------------------------------------------------

PROPERTY = settings(max_examples=200, deadline=None, database=None)
DST_ZONES = ("Europe/Prague", "America/New_York", "Australia/Lord_Howe")
STEADY_ZONES = ("UTC", "Asia/Kolkata", "Asia/Tokyo")


def dst_changes(zone: str, year: int) -> list[datetime]:
    """The hours in which the zone's offset changes; starts are drawn around them."""
    tz = ZoneInfo(zone)
    hour = datetime(year, 1, 1, tzinfo=UTC)
    offset = hour.astimezone(tz).utcoffset()
    changes = []
    while hour.year == year:
        hour += timedelta(hours=1)
        if hour.astimezone(tz).utcoffset() != offset:
            changes.append(hour)
            offset = hour.astimezone(tz).utcoffset()
    return changes


ANCHORS = {zone: dst_changes(zone, 2026) + dst_changes(zone, 2027) for zone in DST_ZONES}
assert all(len(changes) == 4 for changes in ANCHORS.values())
ANCHORS.update(
    {zone: ANCHORS["Europe/Prague"] + ANCHORS["America/New_York"] for zone in STEADY_ZONES}
)

# A country whose holidays fall near the anchors, per zone: Easter and Labour Day in NSW
# share nights with Lord Howe's DST changes, 28 October follows Prague's autumn change.
HOLIDAYS = {
    "Europe/Prague": ("CZ", None),
    "America/New_York": ("US", "NY"),
    "Australia/Lord_Howe": ("AU", "NSW"),
    "UTC": ("DE", "BY"),
    "Asia/Kolkata": ("IN", None),
    "Asia/Tokyo": ("JP", None),
}

DaySchedule = tuple[tuple[int, int], ...]
Weekly = tuple[DaySchedule, ...]


class Scenario(NamedTuple):
    calendar: BusinessCalendar
    weekly: Weekly
    closed: frozenset[date]
    start: datetime
    special: Mapping[date, DaySchedule]
    holidays: frozenset[date]


@cache
def public_holidays(country: str, subdivision: str | None) -> frozenset[date]:
    """Read straight from the package for every year a scenario can reach: the oracle."""
    return frozenset(
        holidays.country_holidays(country, subdiv=subdivision, years=range(2025, 2031))
    )


# Minute boundaries, biased towards midnight and the small hours where DST happens.
BOUNDARY = st.integers(0, 24 * 60) | st.sampled_from([0, 60, 90, 120, 150, 180, 1380, 1440])


@st.composite
def day_schedule(draw: st.DrawFn, max_shifts: int = 3) -> DaySchedule:
    """Sorted [start, end) minute pairs; may be empty, all day, or have touching shifts."""
    points = sorted(draw(st.lists(BOUNDARY, max_size=2 * max_shifts)))
    pairs = zip(points[::2], points[1::2], strict=False)
    return tuple((start, end) for start, end in pairs if start < end)


WEEKLY: st.SearchStrategy[Weekly] = st.tuples(*[day_schedule()] * 7).filter(any)


def spec(start: int, end: int) -> str:
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


class Start(NamedTuple):
    zone: str
    start: datetime
    around: date


@st.composite
def starts(draw: st.DrawFn, zones: Sequence[str] = DST_ZONES + STEADY_ZONES) -> Start:
    """A zone, an instant within four days of one of its offset changes, and that date."""
    zone = draw(st.sampled_from(zones))
    anchor = draw(st.sampled_from(ANCHORS[zone]))
    four_days = 4 * 24 * 3600 * 10**6
    start = anchor + timedelta(microseconds=draw(st.integers(-four_days, four_days)))
    shown_in = draw(st.sampled_from([UTC, ZoneInfo(zone), ZoneInfo("America/Los_Angeles")]))
    return Start(zone, start.astimezone(shown_in), anchor.astimezone(ZoneInfo(zone)).date())


@st.composite
def scenarios(draw: st.DrawFn, zones: Sequence[str] = DST_ZONES + STEADY_ZONES) -> Scenario:
    zone, start, around = draw(starts(zones))
    weekly = draw(WEEKLY)
    near = st.integers(-7, 21).map(lambda n: around + timedelta(days=n))
    closed = draw(st.frozensets(near, max_size=10))
    country, subdivision = draw(st.sampled_from([(None, None), HOLIDAYS[zone]]))
    observed = public_holidays(country, subdivision) if country else frozenset()
    # Special days may be empty (closed), may repeat a closed date, and are often holidays.
    holidays_near = sorted(day for day in observed if -7 <= (day - around).days <= 21)
    special_day = near | st.sampled_from(holidays_near) if holidays_near else near
    special = dict(draw(st.lists(st.tuples(special_day, day_schedule(max_shifts=2)), max_size=3)))
    hours = {day: [spec(*pair) for pair in pairs] for day, pairs in zip(DAYS, weekly, strict=True)}
    if draw(st.booleans()):
        hours = {day: intervals for day, intervals in hours.items() if intervals}
    calendar = BusinessCalendar.from_spec(
        zone,
        hours,
        closed,
        special_hours={day: [spec(*pair) for pair in pairs] for day, pairs in special.items()},
        holidays_country=country,
        holidays_subdivision=subdivision,
    )
    return Scenario(calendar, weekly, closed, start, special, observed)


MINUTES = st.integers(0, 5000)


def hours_on(scenario: Scenario, day: date) -> DaySchedule:
    """The precedence as the issue states it: special, closed, holiday, weekly."""
    if day in scenario.special:
        return scenario.special[day]
    if day in scenario.closed or day in scenario.holidays:
        return ()
    return scenario.weekly[day.weekday()]


def open_by_wall_clock(scenario: Scenario, at: datetime) -> bool:
    """Independent reading of the schedule; only valid away from offset changes."""
    local = at.astimezone(ZoneInfo(scenario.calendar.timezone))
    minute = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
    return any(start <= minute < end for start, end in hours_on(scenario, local.date()))


def add_by_wall_clock(scenario: Scenario, minutes: int) -> datetime:
    """Day-by-day walk in wall time: simple, and right where the offset never changes."""
    tz = ZoneInfo(scenario.calendar.timezone)
    cursor = scenario.start.astimezone(tz).replace(tzinfo=None)
    remaining = timedelta(minutes=minutes)
    if not remaining:
        return scenario.start
    day = cursor.date()
    for _ in range(1000):
        midnight = datetime.combine(day, time())
        for start, end in hours_on(scenario, day):
            begins = max(midnight + timedelta(minutes=start), cursor)
            ends = midnight + timedelta(minutes=end)
            if begins >= ends:
                continue
            if remaining <= ends - begins:
                return (begins + remaining).replace(tzinfo=tz)
            remaining -= ends - begins
        day += timedelta(days=1)
    raise AssertionError("the oracle found no business hours")


def steady_offset(zone: str, at: datetime) -> bool:
    tz = ZoneInfo(zone)
    offset = at.astimezone(tz).utcoffset()
    return all(
        (at + timedelta(minutes=30 * step)).astimezone(tz).utcoffset() == offset
        for step in range(-72, 73)
    )


@PROPERTY
@given(scenarios(), MINUTES)
def test_counting_back_gives_the_minutes_added(scenario: Scenario, minutes: int) -> None:
    calendar, start = scenario.calendar, scenario.start
    due = calendar.add_business_minutes(start, minutes)

    assert str(due.tzinfo) == calendar.timezone
    assert utc(due) >= utc(start)
    assert calendar.business_minutes_between(start, due) == pytest.approx(minutes, abs=1e-6)


@PROPERTY
@given(scenarios(), MINUTES, MINUTES)
def test_more_minutes_never_land_earlier(scenario: Scenario, first: int, second: int) -> None:
    fewer, more = sorted((first, second))
    calendar, start = scenario.calendar, scenario.start

    earlier = utc(calendar.add_business_minutes(start, fewer))
    later = utc(calendar.add_business_minutes(start, more))

    assert earlier <= later
    if fewer < more:
        assert earlier < later


@PROPERTY
@given(scenarios(), st.integers(1, 5000))
def test_due_time_is_within_or_at_the_end_of_business_hours(
    scenario: Scenario, minutes: int
) -> None:
    due = utc(scenario.calendar.add_business_minutes(scenario.start, minutes))

    # Stepped back in UTC: wall-time arithmetic in the calendar zone would skip folds.
    assert scenario.calendar.is_open(due - ONE_MICROSECOND)


@PROPERTY
@given(scenarios(), st.integers(0, 2500), st.integers(0, 2500))
def test_adding_in_two_steps_equals_adding_at_once(
    scenario: Scenario, first: int, second: int
) -> None:
    calendar, start = scenario.calendar, scenario.start

    in_two_steps = calendar.add_business_minutes(
        calendar.add_business_minutes(start, first), second
    )

    assert utc(in_two_steps) == utc(calendar.add_business_minutes(start, first + second))


@PROPERTY
@given(scenarios(), st.integers(1, 5000))
def test_next_open_is_the_first_business_instant(scenario: Scenario, minutes: int) -> None:
    calendar, start = scenario.calendar, scenario.start

    opens = calendar.next_open(start)

    assert calendar.is_open(opens)
    assert utc(opens) >= utc(start)
    assert calendar.business_minutes_between(start, opens) == 0
    assert (utc(opens) == utc(start)) == calendar.is_open(start)
    assert utc(calendar.add_business_minutes(start, minutes)) > utc(opens)


@PROPERTY
@given(scenarios(), st.integers(-10 * 24 * 60, 10 * 24 * 60))
def test_is_open_agrees_with_the_wall_clock_away_from_dst(
    scenario: Scenario, minutes_later: int
) -> None:
    at = utc(scenario.start) + timedelta(minutes=minutes_later, seconds=17)

    if steady_offset(scenario.calendar.timezone, at):
        assert scenario.calendar.is_open(at) == open_by_wall_clock(scenario, at)


@PROPERTY
@given(scenarios(zones=STEADY_ZONES), MINUTES)
def test_add_agrees_with_a_wall_clock_walk_where_offsets_never_change(
    scenario: Scenario, minutes: int
) -> None:
    due = scenario.calendar.add_business_minutes(scenario.start, minutes)

    assert utc(due) == utc(add_by_wall_clock(scenario, minutes))


@PROPERTY
@given(starts(zones=DST_ZONES), MINUTES, st.integers(0, 3 * 24 * 60))
def test_round_the_clock_calendar_counts_real_time(drawn: Start, minutes: int, span: int) -> None:
    calendar = BusinessCalendar.from_spec(drawn.zone, ALL_DAY)
    start = drawn.start

    assert utc(calendar.add_business_minutes(start, minutes)) == utc(start) + timedelta(
        minutes=minutes
    )
    assert calendar.business_minutes_between(start, utc(start) + timedelta(minutes=span)) == span
