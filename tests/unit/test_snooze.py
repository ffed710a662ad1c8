"""Snooze specs: durations, days that wake at opening time, store-local times, and limits.

Expected instants are written in UTC: the store-local readings are in the comments.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from chalicelib.domain.calendar import BusinessCalendar
from chalicelib.domain.snooze import MAX_SNOOZE, check_spec, snooze_until

PRAGUE = ZoneInfo("Europe/Prague")
OFFICE_HOURS = {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
OFFICE = BusinessCalendar.from_spec("Europe/Prague", OFFICE_HOURS)
# Tuesday 24 November 2026, 10:00 in Prague (CET, UTC+1).
TUESDAY_10 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def wake(spec: str, now: datetime = TUESDAY_10, calendar: BusinessCalendar = OFFICE) -> datetime:
    return snooze_until(spec, now=now, calendar=calendar)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- durations --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "delta"),
    [
        ("30m", timedelta(minutes=30)),
        ("4h", timedelta(hours=4)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("1d12h", timedelta(hours=36)),
        ("1D 12H 30M", timedelta(hours=36, minutes=30)),
        ("90 minutes", timedelta(minutes=90)),
        ("1 minute", timedelta(minutes=1)),
        ("2 hours", timedelta(hours=2)),
        ("1 hour", timedelta(hours=1)),
        ("3 days", timedelta(days=3)),
        ("1 day", timedelta(days=1)),
        ("1 week", timedelta(weeks=1)),
        ("2 weeks", timedelta(weeks=2)),
        ("1 day 12 hours", timedelta(hours=36)),
        ("  4h  ", timedelta(hours=4)),
        ("14d", MAX_SNOOZE),
    ],
)
def test_a_duration_counts_real_time_from_now(spec: str, delta: timedelta) -> None:
    woken = wake(spec)
    assert woken == TUESDAY_10 + delta
    assert woken.tzinfo is UTC


def test_a_duration_ignores_opening_hours_and_dst() -> None:
    # Saturday 24 October 2026 22:00 UTC; the clocks go back that night in Prague.
    now = utc(2026, 10, 24, 22, 0)
    assert wake("12h", now) == utc(2026, 10, 25, 10, 0)


# --- days: they wake when the store opens -----------------------------------------------


def test_tomorrow_wakes_at_opening_time() -> None:
    assert wake("tomorrow") == utc(2026, 11, 25, 8, 0)  # Wednesday 09:00
    assert wake("TOMORROW") == utc(2026, 11, 25, 8, 0)


def test_tomorrow_on_a_closed_day_wakes_when_the_store_next_opens() -> None:
    friday_evening = utc(2026, 11, 27, 18, 0)  # Friday 19:00
    assert wake("tomorrow", friday_evening) == utc(2026, 11, 30, 8, 0)  # Monday 09:00


def test_tomorrow_is_the_stores_tomorrow() -> None:
    # 23:30 UTC on Tuesday is already 00:30 on Wednesday in Prague.
    assert wake("tomorrow", utc(2026, 11, 24, 23, 30)) == utc(2026, 11, 26, 8, 0)  # Thursday
    new_york = BusinessCalendar.from_spec("America/New_York", OFFICE_HOURS)
    # 03:00 UTC on Wednesday is still Tuesday 22:00 in New York.
    assert wake("tomorrow", utc(2026, 11, 25, 3, 0), new_york) == utc(2026, 11, 25, 14, 0)


def test_a_closed_date_is_skipped() -> None:
    closed = BusinessCalendar.from_spec("Europe/Prague", OFFICE_HOURS, [date(2026, 11, 25)])
    assert wake("tomorrow", calendar=closed) == utc(2026, 11, 26, 8, 0)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("wednesday", utc(2026, 11, 25, 8, 0)),
        ("Friday", utc(2026, 11, 27, 8, 0)),
        ("monday", utc(2026, 11, 30, 8, 0)),
        # Never today: the same weekday is a week ahead.
        ("tuesday", utc(2026, 12, 1, 8, 0)),
        # A closed weekday wakes when the store opens next.
        ("saturday", utc(2026, 11, 30, 8, 0)),
        ("sunday", utc(2026, 11, 30, 8, 0)),
    ],
)
def test_a_weekday_is_its_next_occurrence(spec: str, expected: datetime) -> None:
    assert wake(spec) == expected


def test_a_weekday_after_the_clocks_change_opens_at_local_time() -> None:
    # Thursday 26 March 2026 in winter time; Monday 30 March is in summer time.
    assert wake("monday", utc(2026, 3, 26, 12, 0)) == utc(2026, 3, 30, 7, 0)


def test_a_date_wakes_at_that_days_opening() -> None:
    assert wake("2026-12-01") == utc(2026, 12, 1, 8, 0)
    assert wake("2026-12-05") == utc(2026, 12, 7, 8, 0)  # Saturday -> Monday 09:00


def test_today_works_before_opening_time_only() -> None:
    early = utc(2026, 11, 24, 6, 0)  # Tuesday 07:00
    assert wake("2026-11-24", early) == utc(2026, 11, 24, 8, 0)
    with pytest.raises(ValueError, match=r"in the past \(it means 2026-11-24 09:00, store time\)"):
        wake("2026-11-24")


def test_waking_exactly_now_is_in_the_past() -> None:
    with pytest.raises(ValueError, match="in the past"):
        wake("2026-11-25", utc(2026, 11, 25, 8, 0))


# --- explicit times: store-local wall time ---------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("2026-12-01 14:30", utc(2026, 12, 1, 13, 30)),
        ("2026-12-01T14:30", utc(2026, 12, 1, 13, 30)),
        ("2026-12-01t9:05", utc(2026, 12, 1, 8, 5)),
        # Not moved into opening hours: the agent chose the time.
        ("2026-11-28 03:00", utc(2026, 11, 28, 2, 0)),
    ],
)
def test_a_date_and_time_is_the_stores_wall_time(spec: str, expected: datetime) -> None:
    assert wake(spec) == expected


def test_wall_time_follows_daylight_saving() -> None:
    now = utc(2026, 3, 25, 12, 0)
    assert wake("2026-03-27 09:00", now) == utc(2026, 3, 27, 8, 0)  # CET, UTC+1
    assert wake("2026-03-30 09:00", now) == utc(2026, 3, 30, 7, 0)  # CEST, UTC+2


def test_a_time_in_the_spring_gap_moves_on_by_the_gap() -> None:
    # 02:30 does not exist on 29 March 2026 in Prague: it reads as 03:30 CEST.
    assert wake("2026-03-29 02:30", utc(2026, 3, 25, 12, 0)) == utc(2026, 3, 29, 1, 30)


def test_a_time_that_happens_twice_means_the_first_one() -> None:
    # 02:30 happens twice on 25 October 2026 in Prague: first in CEST (UTC+2).
    assert wake("2026-10-25 02:30", utc(2026, 10, 20, 12, 0)) == utc(2026, 10, 25, 0, 30)


# --- limits and mistakes ----------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        "14d1m",
        "15d",
        "3w",
        "337h",
        "99999999999999999999999w",
        "2026-12-10",  # opens 15 days + 23 hours ahead
        "2026-12-09 09:01",
        "9999-12-31",
        "9999-12-31 23:59",
    ],
)
def test_more_than_fourteen_days_is_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="at most 14 days"):
        wake(spec)


def test_fourteen_days_to_the_minute_is_fine() -> None:
    # Tuesday 8 December 10:00 Prague is 14 days after TUESDAY_10.
    assert wake("2026-12-08 10:00") == TUESDAY_10 + MAX_SNOOZE


def test_a_day_whose_opening_is_too_far_is_refused() -> None:
    # Closed for the next three weeks: "tomorrow" would wake 22 days from now.
    closed = [date(2026, 11, 25) + timedelta(days=n) for n in range(21)]
    holiday = BusinessCalendar.from_spec("Europe/Prague", OFFICE_HOURS, closed)
    with pytest.raises(ValueError, match="at most 14 days"):
        wake("tomorrow", calendar=holiday)


@pytest.mark.parametrize(
    "spec", ["2026-11-01", "2026-11-24 09:59", "2026-11-23T23:00", "0001-01-01", "0001-01-01 00:00"]
)
def test_the_past_is_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="in the past"):
        wake(spec)


def test_a_store_without_hours_cannot_wake_on_a_day() -> None:
    never_open = BusinessCalendar.from_spec("Europe/Prague", {})
    with pytest.raises(ValueError, match="no business hours"):
        wake("tomorrow", calendar=never_open)
    assert wake("4h", calendar=never_open) == TUESDAY_10 + timedelta(hours=4)


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        wake("4h", datetime(2026, 11, 24, 10, 0))


@pytest.mark.parametrize(
    "spec",
    [
        "30m",
        "4h",
        "2d",
        "1w",
        "1d12h",
        "90 minutes",
        "2 hours",
        "3 days",
        "1 week",
        "tomorrow",
        "monday",
        "Sunday",
        "2026-12-01",
        "2026-12-01 14:30",
        "2026-12-01T14:30",
        "0001-01-01",
    ],
)
def test_check_spec_accepts_the_syntax_without_a_clock(spec: str) -> None:
    assert check_spec(spec) is None


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("", "say when to wake up"),
        ("   ", "say when to wake up"),
        ("next week", "'next week' is not a time we understand"),
        ("today", "'today' is not a time we understand"),
        ("1.5h", "'1.5h' is not a time we understand"),
        ("-4h", "'-4h' is not a time we understand"),
        ("h", "'h' is not a time we understand"),
        ("٤h", "'٤h' is not a time we understand"),
        ("2 months", "'months' is not a unit of time"),
        ("0m", "0m is no time at all"),
        ("0d 0h", "0d 0h is no time at all"),
        ("15d", "15d is too far ahead: a snooze lasts at most 14 days"),
        ("2026-02-30", "2026-02-30 is not a date"),
        ("2026-13-01", "2026-13-01 is not a date"),
        ("2026-12-01 24:00", "2026-12-01 24:00 is not a date and time"),
        ("2026-12-01 12:60", "2026-12-01 12:60 is not a date and time"),
        ("2026-12-01 14:30:00", "'2026-12-01 14:30:00' is not a time we understand"),
        ("1/12/2026", "'1/12/2026' is not a time we understand"),
    ],
)
def test_check_spec_says_what_is_wrong(spec: str, problem: str) -> None:
    found = check_spec(spec)
    assert found is not None
    assert found.startswith(problem)
    with pytest.raises(ValueError, match=f"^{re.escape(found)}$"):
        wake(spec)


# --- properties -------------------------------------------------------------------------

_NOW = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)
_SPEC_PIECES = st.sampled_from(
    ["1", "14", "99", "m", "h", "d", "w", " ", "days", "tomorrow", "friday", "-", ":", "T", "20"]
)
_SPECS = st.one_of(st.text(max_size=20), st.lists(_SPEC_PIECES, max_size=8).map("".join))


# Specs that are valid whatever `now` is (a duration within the limit, a weekday), so that
# the accepted branch below is exercised as often as the refusals.
_VALID_SPECS = st.one_of(
    st.integers(min_value=1, max_value=MAX_SNOOZE // timedelta(minutes=1)).map("{}m".format),
    st.integers(min_value=1, max_value=MAX_SNOOZE // timedelta(hours=1)).map("{}h".format),
    st.integers(min_value=1, max_value=MAX_SNOOZE.days).map("{}d".format),
    st.sampled_from(["tomorrow", "monday", "friday", "saturday", "1d12h"]),
)
# What a syntactically valid spec can still be refused for, depending on `now`.
_REFUSED_FOR_NOW = ("in the past", "at most 14 days", "no business hours")


def test_a_snooze_is_in_the_future_within_the_limit_or_a_value_error() -> None:
    """Accepted: in the future, within the limit, in UTC. Refused: check_spec's own reason
    for a bad spec, or a reason that depends on `now`. Both branches are counted."""
    seen: Counter[str] = Counter()

    @settings(max_examples=300, deadline=None, database=None)
    @given(st.one_of(_SPECS, _VALID_SPECS), _NOW)
    def check(spec: str, now: datetime) -> None:
        problem = check_spec(spec)
        refused: str | None = None
        try:
            woken = snooze_until(spec, now=now, calendar=OFFICE)
        except ValueError as exc:
            refused = str(exc)
        if refused is not None:
            seen["refused"] += 1
            event("refused")
            if problem is not None:
                assert refused == problem
            else:
                assert any(reason in refused for reason in _REFUSED_FOR_NOW), refused
            return
        seen["accepted"] += 1
        event("accepted")
        assert problem is None
        assert now < woken <= now + MAX_SNOOZE
        assert woken.tzinfo is UTC

    check()
    assert seen["refused"] >= 30, seen
    assert seen["accepted"] >= 30, seen


@given(st.integers(min_value=1, max_value=MAX_SNOOZE // timedelta(minutes=1)), _NOW)
def test_every_duration_up_to_the_limit_is_accepted(minutes: int, now: datetime) -> None:
    assert snooze_until(f"{minutes}m", now=now, calendar=OFFICE) == now + timedelta(minutes=minutes)


@given(st.sampled_from(["tomorrow", "monday", "wednesday", "saturday"]), _NOW)
def test_a_day_wakes_while_the_store_is_open(spec: str, now: datetime) -> None:
    woken = snooze_until(spec, now=now, calendar=OFFICE)
    assert OFFICE.is_open(woken)
    local = woken.astimezone(PRAGUE)
    assert (local.hour, local.minute) == (9, 0)
    assert local.date() > now.astimezone(PRAGUE).date()
