"""Public holidays and special hours: worked examples, precedence, validation, laziness.

The holiday dates come from the pinned `holidays` package; the first test states what
it says for the dates the examples rely on, so a new release that moves them fails
there, with a clear message, rather than in the arithmetic.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest

from chalicelib.domain.calendar import BusinessCalendar
from tests.conftest import ROOT

PRAGUE = ZoneInfo("Europe/Prague")
BERLIN = ZoneInfo("Europe/Berlin")
SYDNEY = ZoneInfo("Australia/Sydney")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
OFFICE_HOURS = {day: ["09:00-17:00"] for day in WEEKDAYS}
# A shop that is also open on Saturday mornings, so that 26 December matters.
SHOP_HOURS = {**OFFICE_HOURS, "sat": ["09:00-12:00"]}
ALL_DAY = {day: ["00:00-24:00"] for day in (*WEEKDAYS, "sat", "sun")}


def prague(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PRAGUE)


def czech_shop(special_hours: Mapping[date, list[str]] | None = None) -> BusinessCalendar:
    return BusinessCalendar.from_spec(
        "Europe/Prague", SHOP_HOURS, special_hours=special_hours or {}, holidays_country="CZ"
    )


def test_the_package_dates_the_examples_rely_on() -> None:
    czech = holidays.country_holidays("CZ", years=[2026, 2027])
    bavaria = holidays.country_holidays("DE", subdiv="BY", years=2026)
    berlin = holidays.country_holidays("DE", subdiv="BE", years=2026)
    nsw = holidays.country_holidays("AU", subdiv="NSW", years=2026)

    assert sorted(day for day in czech if day.month == 12 and day.year == 2026) == [
        date(2026, 12, 24),  # Thursday
        date(2026, 12, 25),  # Friday
        date(2026, 12, 26),  # Saturday
    ]
    assert date(2027, 1, 1) in czech
    assert date(2026, 1, 6) in bavaria
    assert date(2026, 1, 6) not in berlin
    assert [date(2026, 4, day) in nsw for day in range(2, 8)] == [False, *[True] * 4, False]


# --- public holidays -------------------------------------------------------------------


def test_friday_before_christmas_skips_the_czech_holidays() -> None:
    friday = prague(2026, 12, 18, 16, 30)
    # 30 min on Friday, 3 h on Saturday, 3 x 8 h Monday to Wednesday, then one more hour.
    minutes = 30 + 180 + 3 * 480 + 60

    due = czech_shop().add_business_minutes(friday, minutes)
    without_holidays = BusinessCalendar.from_spec("Europe/Prague", SHOP_HOURS)

    assert due.isoformat() == "2026-12-28T10:00:00+01:00"
    assert without_holidays.add_business_minutes(friday, minutes).isoformat() == (
        "2026-12-24T10:00:00+01:00"
    )


def test_closed_over_christmas_back_on_monday() -> None:
    calendar = czech_shop()

    assert calendar.next_open(prague(2026, 12, 23, 17)).isoformat() == ("2026-12-28T09:00:00+01:00")
    assert not calendar.is_open(prague(2026, 12, 24, 10))
    assert not calendar.is_open(prague(2026, 12, 26, 10))
    assert calendar.is_open(prague(2026, 12, 19, 10))
    assert calendar.business_minutes_between(prague(2026, 12, 23, 17), prague(2026, 12, 28)) == 0


def test_holidays_of_the_next_year_are_found_too() -> None:
    calendar = czech_shop()

    # 21-23 and 28-31 December at 8 h, Saturday 2 January 2027 at 3 h; 1 January is a holiday.
    assert calendar.business_minutes_between(prague(2026, 12, 21), prague(2027, 1, 4)) == (
        7 * 480 + 180
    )
    assert calendar.next_open(prague(2026, 12, 31, 17)).isoformat() == ("2027-01-02T09:00:00+01:00")


@pytest.mark.parametrize(
    ("subdivision", "reopens"),
    [
        ("BY", "2026-01-07T09:00:00+01:00"),  # Epiphany is a holiday in Bavaria...
        ("BE", "2026-01-06T09:00:00+01:00"),  # ...not in Berlin...
        (None, "2026-01-06T09:00:00+01:00"),  # ...and not nationwide.
    ],
)
def test_german_store_follows_its_state(subdivision: str | None, reopens: str) -> None:
    calendar = BusinessCalendar.from_spec(
        "Europe/Berlin", OFFICE_HOURS, holidays_country="DE", holidays_subdivision=subdivision
    )
    monday_evening = datetime(2026, 1, 5, 17, tzinfo=BERLIN)

    assert calendar.next_open(monday_evening).isoformat() == reopens
    assert calendar.is_open(datetime(2026, 1, 6, 10, tzinfo=BERLIN)) == (subdivision != "BY")


# --- special hours and precedence ------------------------------------------------------


def test_special_hours_open_a_public_holiday() -> None:
    calendar = czech_shop({date(2026, 12, 24): ["09:00-12:00"]})

    assert calendar.add_business_minutes(prague(2026, 12, 23, 16, 30), 60).isoformat() == (
        "2026-12-24T09:30:00+01:00"
    )
    assert calendar.is_open(datetime(2026, 12, 24, 11, 59, 59, 999999, tzinfo=PRAGUE))
    assert not calendar.is_open(prague(2026, 12, 24, 12))
    assert calendar.next_open(prague(2026, 12, 24, 12)).isoformat() == ("2026-12-28T09:00:00+01:00")
    # Wednesday 8 h, Christmas Eve 3 h, Monday 8 h.
    assert calendar.business_minutes_between(prague(2026, 12, 23), prague(2026, 12, 29)) == 1140


def test_special_sunday_opening() -> None:
    calendar = BusinessCalendar.from_spec(
        "Europe/Prague", OFFICE_HOURS, special_hours={date(2026, 12, 20): ["10:00-16:00"]}
    )

    assert calendar.next_open(prague(2026, 12, 19, 12)).isoformat() == ("2026-12-20T10:00:00+01:00")
    assert calendar.add_business_minutes(prague(2026, 12, 18, 16, 30), 60).isoformat() == (
        "2026-12-20T10:30:00+01:00"
    )
    # Other Sundays keep the weekly schedule.
    assert calendar.next_open(prague(2026, 12, 12, 12)).isoformat() == ("2026-12-14T09:00:00+01:00")


def test_special_hours_replace_the_weekly_hours_of_that_date() -> None:
    calendar = BusinessCalendar.from_spec(
        "Europe/Prague",
        OFFICE_HOURS,
        special_hours={date(2026, 11, 23): ["07:00-08:00", "18:00-24:00"]},
    )

    assert not calendar.is_open(prague(2026, 11, 23, 10))
    assert calendar.business_minutes_between(prague(2026, 11, 23), prague(2026, 11, 24)) == 420
    assert calendar.add_business_minutes(prague(2026, 11, 23, 7, 30), 60).isoformat() == (
        "2026-11-23T18:30:00+01:00"
    )


def test_special_hours_beat_closed_dates_and_an_empty_list_closes() -> None:
    monday, tuesday = date(2026, 11, 23), date(2026, 11, 24)
    calendar = BusinessCalendar.from_spec(
        "Europe/Prague",
        OFFICE_HOURS,
        [monday],
        special_hours={monday: ["10:00-11:00"], tuesday: []},
    )

    assert calendar.next_open(prague(2026, 11, 23)).isoformat() == "2026-11-23T10:00:00+01:00"
    assert calendar.next_open(prague(2026, 11, 23, 11)).isoformat() == ("2026-11-25T09:00:00+01:00")


def test_calendar_open_only_on_special_dates() -> None:
    calendar = BusinessCalendar.from_spec(
        "Europe/Prague", {}, special_hours={date(2026, 12, 20): ["10:00-16:00"]}
    )

    assert calendar.next_open(prague(2026, 11, 1)).isoformat() == "2026-12-20T10:00:00+01:00"
    assert calendar.add_business_minutes(prague(2026, 11, 1), 360).isoformat() == (
        "2026-12-20T16:00:00+01:00"
    )
    with pytest.raises(ValueError, match="no business hours within"):
        calendar.add_business_minutes(prague(2026, 11, 1), 361)


# --- DST -------------------------------------------------------------------------------


def test_easter_sunday_special_hours_span_the_dst_night_in_sydney() -> None:
    # NSW closes Good Friday to Easter Monday; DST ends at 03:00 on Easter Sunday 2026.
    calendar = BusinessCalendar.from_spec(
        "Australia/Sydney",
        ALL_DAY,
        special_hours={date(2026, 4, 5): ["00:00-24:00"]},
        holidays_country="AU",
        holidays_subdivision="NSW",
    )
    saturday = datetime(2026, 4, 4, 12, tzinfo=SYDNEY)

    week = calendar.business_minutes_between(
        datetime(2026, 4, 1, tzinfo=SYDNEY), datetime(2026, 4, 8, tzinfo=SYDNEY)
    )
    assert week == (24 + 24 + 25 + 24) * 60
    assert calendar.next_open(saturday).isoformat() == "2026-04-05T00:00:00+11:00"
    assert calendar.add_business_minutes(saturday, 25 * 60).isoformat() == (
        "2026-04-06T00:00:00+10:00"
    )
    assert calendar.add_business_minutes(saturday, 25 * 60 + 1).isoformat() == (
        "2026-04-07T00:01:00+10:00"
    )


def test_special_night_hours_lose_the_spring_hour() -> None:
    calendar = BusinessCalendar.from_spec(
        "Europe/Prague", {}, special_hours={date(2026, 3, 29): ["01:00-04:00"]}
    )

    assert calendar.business_minutes_between(prague(2026, 3, 29), prague(2026, 3, 30)) == 120
    assert calendar.add_business_minutes(prague(2026, 3, 29), 90).isoformat() == (
        "2026-03-29T03:30:00+02:00"
    )


# --- construction, equality, validation ------------------------------------------------


def test_from_spec_normalises_special_hours_and_keeps_equality_and_hash() -> None:
    first = BusinessCalendar.from_spec(
        "Europe/Prague",
        OFFICE_HOURS,
        special_hours={
            date(2026, 12, 31): ["13:00-14:00", "09:00-12:00"],
            date(2026, 12, 24): [],
        },
        holidays_country="CZ",
    )
    second = BusinessCalendar.from_spec(
        "Europe/Prague",
        OFFICE_HOURS,
        special_hours={
            date(2026, 12, 24): [],
            date(2026, 12, 31): ["09:00-12:00", "13:00-14:00"],
        },
        holidays_country="CZ",
    )
    first.is_open(prague(2026, 12, 31, 10))  # fills the lookup cache on one of them only

    assert first.special_hours == (
        (date(2026, 12, 24), ()),
        (date(2026, 12, 31), ((time(9), time(12)), (time(13), time(14)))),
    )
    assert first == second
    assert hash(first) == hash(second)
    assert first == BusinessCalendar(
        first.timezone, first.weekly, special_hours=first.special_hours[::-1], holidays_country="CZ"
    )
    assert first != BusinessCalendar(
        first.timezone, first.weekly, special_hours=first.special_hours
    )
    assert first != BusinessCalendar.from_spec("Europe/Prague", OFFICE_HOURS, holidays_country="SK")
    assert "_special_by_date" not in repr(first)


@pytest.mark.parametrize(
    ("special_hours", "fragments"),
    [
        ({date(2026, 12, 24): ["9-12"]}, ["special hours on 2026-12-24", "'9-12'", "HH:MM"]),
        ({date(2026, 12, 24): ["09:00-24:30"]}, ["special hours on 2026-12-24", "'09:00-24:30'"]),
        (
            {date(2026, 12, 24): ["12:00-09:00"]},
            ["special hours on 2026-12-24", "'12:00-09:00'", "end must be after start"],
        ),
        (
            {date(2026, 12, 24): ["09:00-12:00", "11:00-13:00"]},
            ["special hours on 2026-12-24", "'09:00-12:00'", "'11:00-13:00'", "overlaps"],
        ),
        ({date(2026, 12, 24): "09:00-12:00"}, ["special hours on 2026-12-24", "list"]),
        ({"2026-12-24": ["09:00-12:00"]}, ["special_hours", "'2026-12-24'"]),
        ({datetime(2026, 12, 24, 9): ["09:00-12:00"]}, ["special_hours", "datetime"]),
        ([(date(2026, 12, 24), ["09:00-12:00"])], ["special_hours", "mapping"]),
    ],
)
def test_from_spec_names_the_offending_special_date_and_value(
    special_hours: Any, fragments: list[str]
) -> None:
    with pytest.raises(ValueError, match=re.escape(fragments[0])) as raised:
        BusinessCalendar.from_spec("Europe/Prague", OFFICE_HOURS, special_hours=special_hours)

    for fragment in fragments:
        assert fragment in str(raised.value)


@pytest.mark.parametrize(
    ("country", "subdivision", "fragments"),
    [
        ("XX", None, ["unknown holidays country", "'XX'"]),
        ("cz", None, ["unknown holidays country", "'cz'", "ISO 3166-1 alpha-2"]),
        ("CZE", None, ["unknown holidays country", "'CZE'"]),
        ("Czechia", None, ["unknown holidays country", "'Czechia'"]),
        ("", None, ["unknown holidays country", "''"]),
        ("DE", "XX", ["unknown holidays subdivision", "'XX'", "'DE'", "BY"]),
        ("DE", "by", ["unknown holidays subdivision", "'by'", "'DE'", "BY"]),
        ("DE", "", ["unknown holidays subdivision", "''", "'DE'"]),
        ("CZ", "BY", ["unknown holidays subdivision", "'BY'", "'CZ' has no subdivisions"]),
        (None, "BY", ["holidays_subdivision", "'BY'", "holidays_country"]),
    ],
)
def test_from_spec_rejects_unknown_holiday_regions(
    country: str | None, subdivision: str | None, fragments: list[str]
) -> None:
    with pytest.raises(ValueError, match=re.escape(fragments[0])) as raised:
        BusinessCalendar.from_spec(
            "Europe/Prague",
            OFFICE_HOURS,
            holidays_country=country,
            holidays_subdivision=subdivision,
        )

    for fragment in fragments:
        assert fragment in str(raised.value)


def test_direct_construction_checks_special_hours_and_holidays_too() -> None:
    week: tuple[tuple[tuple[time, time], ...], ...] = ((),) * 7
    christmas_eve = date(2026, 12, 24)

    with pytest.raises(ValueError, match="special hours on 2026-12-24"):
        BusinessCalendar("UTC", week, special_hours=((christmas_eve, ((time(12), time(9)),)),))
    with pytest.raises(ValueError, match="2026-12-24 is given twice"):
        BusinessCalendar("UTC", week, special_hours=((christmas_eve, ()), (christmas_eve, ())))
    with pytest.raises(ValueError, match="special_hours: expected dates"):
        BusinessCalendar("UTC", week, special_hours=((datetime(2026, 12, 24, tzinfo=UTC), ()),))
    with pytest.raises(ValueError, match="unknown holidays country 'XX'"):
        BusinessCalendar("UTC", week, holidays_country="XX")


def test_holidays_are_imported_lazily_and_only_for_the_years_used() -> None:
    probe = """
import sys
from datetime import UTC, datetime
from chalicelib.domain.calendar import BusinessCalendar

hours = {"mon": ["09:00-17:00"], "fri": ["09:00-17:00"]}
plain = BusinessCalendar.from_spec("Europe/Prague", hours)
plain.add_business_minutes(datetime(2026, 11, 20, tzinfo=UTC), 600)
print(any(name == "holidays" or name.startswith("holidays.") for name in sys.modules))

import holidays
years = []
real = holidays.country_holidays
def spy(*args, **kwargs):
    years.append(kwargs.get("years"))
    return real(*args, **kwargs)
holidays.country_holidays = spy
czech = BusinessCalendar.from_spec("Europe/Prague", hours, holidays_country="CZ")
czech.add_business_minutes(datetime(2026, 11, 16, tzinfo=UTC), 600)
czech.next_open(datetime(2026, 11, 17, tzinfo=UTC))
print(sorted({year for year in years if year != ()}))
"""
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert result.stdout.split("\n")[:2] == ["False", "[2026]"]


def test_a_date_is_looked_up_in_its_own_local_year() -> None:
    # Late on 31 December in UTC is already 1 January in Prague: the 2027 holiday applies.
    calendar = BusinessCalendar.from_spec("Europe/Prague", ALL_DAY, holidays_country="CZ")
    new_year_utc = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)

    assert not calendar.is_open(new_year_utc)
    assert calendar.is_open(new_year_utc - timedelta(hours=1))
    assert calendar.next_open(new_year_utc).isoformat() == "2027-01-02T00:00:00+01:00"
