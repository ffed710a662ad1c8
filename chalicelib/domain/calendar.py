"""Business-hours arithmetic: the one place that knows about opening hours and DST.

Local opening hours are turned into real instants (UTC) one local date at a time, and
all counting happens on those instants, so a night that loses or gains an hour to DST
counts as exactly as long as it really is. A local boundary that does not exist (the
spring-forward gap) or exists twice (the fall-back hour) is read with fold=0 and
normalised through UTC, so every calendar maps to one well-defined set of instants.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPEC = re.compile(r"([0-9]{2}):([0-9]{2})-([0-9]{2}):([0-9]{2})")
_MIDNIGHT = time(0, 0)
_DAY = timedelta(days=1)
# How far we look for the next business minute before calling the calendar hopeless.
_HORIZON = timedelta(days=3 * 366)
# Instants are scanned in windows of this size; a few local dates are built per window.
_WINDOW = timedelta(days=14)
# A local date's hours fall within about a day of the same UTC date (offsets are at most
# ±14 h); two days of margin keeps every window's union exact.
_MARGIN = timedelta(days=2)

_Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class BusinessCalendar:
    """A store's opening hours: weekly local intervals minus closed dates.

    ``weekly`` has seven entries, Monday first; each is a sorted tuple of
    non-overlapping ``[start, end)`` local wall-time intervals, where an ``end`` of
    ``time(0, 0)`` means midnight at the end of the day (24:00).
    """

    timezone: str
    weekly: tuple[tuple[tuple[time, time], ...], ...]
    closed_dates: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        # Checked here too, not only in from_spec: every later computation relies on it.
        _zone(self.timezone)
        if len(self.weekly) != len(_DAYS):
            raise ValueError(f"weekly: expected 7 days (Monday first), got {len(self.weekly)}")
        weekly = tuple(tuple((start, end) for start, end in day) for day in self.weekly)
        for day, intervals in zip(_DAYS, weekly, strict=True):
            previous_end = timedelta(0)
            for start, end in intervals:
                if start.tzinfo is not None or end.tzinfo is not None:
                    raise ValueError(f"{day}: {start}-{end}: times must be naive local times")
                begins, ends = _since_midnight(start), _since_midnight(end) or _DAY
                if ends <= begins:
                    raise ValueError(f"{day}: {start}-{end}: end must be after start")
                if begins < previous_end:
                    raise ValueError(f"{day}: {start}-{end}: intervals must be sorted, no overlap")
                previous_end = ends
        closed = frozenset(self.closed_dates)
        for day_off in closed:
            if isinstance(day_off, datetime) or not isinstance(day_off, date):
                raise ValueError(f"closed_dates: expected dates, got {day_off!r}")
        object.__setattr__(self, "weekly", weekly)
        object.__setattr__(self, "closed_dates", closed)

    @classmethod
    def from_spec(
        cls,
        timezone: str,
        hours: Mapping[str, Sequence[str]],
        closed_dates: Iterable[date] = (),
    ) -> BusinessCalendar:
        """Build from store configuration, with errors a store owner can act on."""
        _zone(timezone)
        weekly: list[tuple[tuple[time, time], ...]] = [()] * len(_DAYS)
        for day, values in hours.items():
            if day not in _DAYS:
                raise ValueError(f"unknown day {day!r}: expected one of {', '.join(_DAYS)}")
            if isinstance(values, str) or not isinstance(values, Sequence):
                raise ValueError(f"{day}: expected a list of 'HH:MM-HH:MM' strings, got {values!r}")
            parsed = sorted((_parse_interval(day, value), value) for value in values)
            for (before, before_text), (after, after_text) in pairwise(parsed):
                if (_since_midnight(before[1]) or _DAY) > _since_midnight(after[0]):
                    raise ValueError(f"{day}: {before_text!r} overlaps {after_text!r}")
            weekly[_DAYS.index(day)] = tuple(interval for interval, _ in parsed)
        return cls(timezone, tuple(weekly), frozenset(closed_dates))

    def add_business_minutes(self, start: datetime, minutes: int) -> datetime:
        """When `minutes` of business time have passed since `start` (the SLA promise).

        Landing exactly on the end of an interval returns that end, not the next
        opening: the work is due by closing time.
        """
        at = _to_utc(start, "start")
        if minutes < 0:
            raise ValueError(f"minutes must not be negative, got {minutes}")
        zone = _zone(self.timezone)
        if minutes == 0:
            return at.astimezone(zone)
        self._require_hours()
        remaining = timedelta(minutes=minutes)
        for begins, ends in self._pieces_from(at):
            if remaining <= ends - begins:
                return (begins + remaining).astimezone(zone)
            remaining -= ends - begins
        raise ValueError(self._hopeless(start))

    def business_minutes_between(self, start: datetime, end: datetime) -> float:
        """Business minutes in [start, end): how much of an SLA a period used up."""
        begins, ends = _to_utc(start, "start"), _to_utc(end, "end")
        total = timedelta(0)
        window_start = begins
        while window_start < ends:
            window_end = min(window_start + _WINDOW, ends)
            for piece_start, piece_end in self._pieces(window_start, window_end):
                total += piece_end - piece_start
            window_start = window_end
        return total / timedelta(minutes=1)

    def next_open(self, at: datetime) -> datetime:
        """The earliest instant from `at` on at which the store is open."""
        instant = _to_utc(at, "at")
        self._require_hours()
        for begins, _ in self._pieces_from(instant):
            return begins.astimezone(_zone(self.timezone))
        raise ValueError(self._hopeless(at))

    def is_open(self, at: datetime) -> bool:
        """Whether `at` falls inside business hours (interval ends are closed)."""
        instant = _to_utc(at, "at")
        return bool(self._pieces(instant, instant + timedelta(microseconds=1)))

    def _require_hours(self) -> None:
        # Cheap early answer for the common misconfiguration; the horizon covers the rest.
        if not any(self.weekly):
            raise ValueError(f"calendar ({self.timezone}) has no business hours on any weekday")

    def _hopeless(self, at: datetime) -> str:
        return (
            f"calendar ({self.timezone}) has no business hours within "
            f"{_HORIZON.days} days after {at.isoformat()}"
        )

    def _pieces_from(self, start: datetime) -> Iterator[_Interval]:
        """Business time from `start` on, in order; gives up after a horizon of none."""
        give_up = start + _HORIZON
        window_start = start
        while window_start < give_up:
            window_end = window_start + _WINDOW
            for piece in self._pieces(window_start, window_end):
                yield piece
                give_up = piece[1] + _HORIZON
            window_start = window_end

    def _pieces(self, lo: datetime, hi: datetime) -> list[_Interval]:
        """The union of all business intervals, clipped to [lo, hi) in UTC.

        Intervals are merged so that 24:00 followed by 00:00, adjacent shifts and any
        overlap a DST gap creates count once and read as one stretch.
        """
        zone = _zone(self.timezone)
        raw: list[_Interval] = []
        day = (lo - _MARGIN).date()
        last = (hi + _MARGIN).date()
        while day <= last:
            raw.extend(self._day_intervals(zone, day))
            day += _DAY
        raw.sort()
        merged: list[_Interval] = []
        for begins, ends in raw:
            if merged and begins <= merged[-1][1]:
                if ends > merged[-1][1]:
                    merged[-1] = (merged[-1][0], ends)
            else:
                merged.append((begins, ends))
        return [(max(b, lo), min(e, hi)) for b, e in merged if b < hi and e > lo]

    def _day_intervals(self, zone: ZoneInfo, day: date) -> Iterator[_Interval]:
        if day in self.closed_dates:
            return
        for start, end in self.weekly[day.weekday()]:
            begins = _instant(day, start, zone)
            ends = _instant(day + _DAY if end == _MIDNIGHT else day, end, zone)
            # An interval inside a spring-forward gap can come out empty or inverted.
            if begins < ends:
                yield begins, ends


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError) as exc:
        raise ValueError(f"unknown timezone {name!r}") from exc


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The real instant of a local wall time; fold=0 settles gaps and repeats."""
    return datetime.combine(day, at.replace(fold=0), tzinfo=zone).astimezone(UTC)


def _to_utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _since_midnight(at: time) -> timedelta:
    return timedelta(
        hours=at.hour, minutes=at.minute, seconds=at.second, microseconds=at.microsecond
    )


def _parse_interval(day: str, value: str) -> tuple[time, time]:
    match = _SPEC.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{day}: bad interval {value!r}: expected 'HH:MM-HH:MM'")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if start_h > 23 or start_m > 59 or end_m > 59 or end_h > 24 or (end_h == 24 and end_m):
        raise ValueError(
            f"{day}: bad interval {value!r}: hours 00-23 (24:00 only as an end), minutes 00-59"
        )
    if end_h * 60 + end_m <= start_h * 60 + start_m:
        raise ValueError(
            f"{day}: bad interval {value!r}: end must be after start (use 24:00 for midnight)"
        )
    return time(start_h, start_m), _MIDNIGHT if end_h == 24 else time(end_h, end_m)
