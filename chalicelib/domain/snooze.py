"""When a snoozed thread wakes up: `#snooze 4h`, `#snooze monday`, `#snooze 2026-12-01 14:30`.

The syntax is checked without a clock (`check_spec`), so that a wrong command can be
answered before anything is changed; the instant is computed from the store's calendar
(`snooze_until`). A day ("tomorrow", "monday", "2026-12-01") wakes when the store opens on
or after that day, not at midnight: a thread that wakes while nobody is there only waits
again, unseen. An explicit time is the store's local wall time, because that is what the
agent reads on the store's clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chalicelib.domain.calendar import BusinessCalendar

MAX_SNOOZE = timedelta(days=14)
"""A thread put away for longer than two weeks is forgotten more often than it is woken:
close it instead (a customer's reply reopens it). Timers themselves can wait longer."""

_HINT = (
    "use a duration such as 30m, 4h, 2d or 1w, 'tomorrow', a weekday such as 'monday', "
    "or a store-local date such as 2026-12-01 or 2026-12-01 14:30"
)
_MINUTES_PER_UNIT = {
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 1),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 60),
    **dict.fromkeys(("d", "day", "days"), 24 * 60),
    **dict.fromkeys(("w", "week", "weeks"), 7 * 24 * 60),
}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# ASCII digits only: int() would also read other scripts' digits, which no agent means here.
_DURATION = re.compile(r"(?:[0-9]+ ?[a-z]+ ?)+")
_DURATION_PART = re.compile(r"([0-9]+) ?([a-z]+)")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATE_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[ t]([0-9]{1,2}):([0-9]{2})")
_MAX_MINUTES = MAX_SNOOZE // timedelta(minutes=1)


@dataclass(frozen=True)
class _Duration:
    delta: timedelta


@dataclass(frozen=True)
class _DaysAhead:
    """Tomorrow (1), or a weekday's next occurrence (weekday set, never today)."""

    days: int = 1
    weekday: int | None = None


@dataclass(frozen=True)
class _Day:
    day: date


@dataclass(frozen=True)
class _LocalTime:
    at: datetime
    """Naive: the store's wall time."""


_Spec = _Duration | _DaysAhead | _Day | _LocalTime


def check_spec(spec: str) -> str | None:
    """None when `spec` is a snooze we understand, else the problem as a sentence."""
    parsed = _parse(spec)
    return parsed if isinstance(parsed, str) else None


def snooze_until(spec: str, *, now: datetime, calendar: BusinessCalendar) -> datetime:
    """The UTC instant a thread snoozed at `now` wakes up; ValueError says why not."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got naive {now.isoformat()}")
    parsed = _parse(spec)
    if isinstance(parsed, str):
        raise ValueError(parsed)
    now = now.astimezone(UTC)
    zone = ZoneInfo(calendar.timezone)
    today = now.astimezone(zone).date()
    match parsed:
        case _Duration(delta):
            wake = now + delta
        case _DaysAhead(days, weekday):
            if weekday is not None:
                days = (weekday - today.weekday() - 1) % 7 + 1
            wake = _first_open_on(calendar, zone, today + timedelta(days=days))
        case _Day(day):
            _check_day_range(day, today, spec)
            wake = _first_open_on(calendar, zone, day)
        case _LocalTime(at):
            _check_day_range(at.date(), today, spec)
            # fold=0: a time in the spring-forward gap moves on by the gap's length; a
            # time that occurs twice in the autumn means its first occurrence.
            wake = at.replace(tzinfo=zone, fold=0).astimezone(UTC)
    return _checked(wake, now=now, zone=zone, spec=spec)


def _first_open_on(calendar: BusinessCalendar, zone: ZoneInfo, day: date) -> datetime:
    """The store's first open moment on or after the day's local midnight."""
    midnight = datetime.combine(day, time(0, 0), tzinfo=zone).astimezone(UTC)
    return calendar.next_open(midnight).astimezone(UTC)


def _check_day_range(day: date, today: date, spec: str) -> None:
    """Refuse far-off dates before any calendar or offset arithmetic can overflow on them."""
    if day < today:
        raise ValueError(f"{spec.strip()} is in the past")
    if day > today + MAX_SNOOZE + timedelta(days=1):
        raise ValueError(_too_far(spec))


def _checked(wake: datetime, *, now: datetime, zone: ZoneInfo, spec: str) -> datetime:
    if wake <= now:
        local = wake.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        raise ValueError(f"{spec.strip()} is in the past (it means {local}, store time)")
    if wake - now > MAX_SNOOZE:
        raise ValueError(_too_far(spec))
    return wake


def _too_far(spec: str) -> str:
    return f"{spec.strip()} is too far ahead: a snooze lasts at most {MAX_SNOOZE.days} days"


def _parse(spec: str) -> _Spec | str:
    """What `spec` asks for, or the problem with it."""
    text = " ".join(spec.lower().split())
    if not text:
        return f"say when to wake up: {_HINT}"
    if text == "tomorrow":
        return _DaysAhead(days=1)
    if text in _WEEKDAYS:
        return _DaysAhead(weekday=_WEEKDAYS.index(text))
    if match := _DATE.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
        try:
            return _Day(date(year, month, day))
        except ValueError:
            return f"{text} is not a date (expected year-month-day, such as 2026-12-01)"
    if match := _DATE_TIME.fullmatch(text):
        year, month, day, hour, minute = (int(part) for part in match.groups())
        try:
            return _LocalTime(datetime(year, month, day, hour, minute))
        except ValueError:
            return f"{text} is not a date and time (expected such as 2026-12-01 14:30)"
    if _DURATION.fullmatch(text):
        return _duration(text)
    return f"{spec.strip()!r} is not a time we understand: {_HINT}"


def _duration(text: str) -> _Duration | str:
    minutes = 0
    for amount, unit in _DURATION_PART.findall(text):
        if unit not in _MINUTES_PER_UNIT:
            return f"{unit!r} is not a unit of time: use m (minutes), h, d or w (weeks)"
        minutes += int(amount) * _MINUTES_PER_UNIT[unit]
    if minutes == 0:
        return f"{text} is no time at all: a snooze must last at least a minute"
    # Checked before building a timedelta, which would overflow on absurd amounts.
    if minutes > _MAX_MINUTES:
        return _too_far(text)
    return _Duration(timedelta(minutes=minutes))
