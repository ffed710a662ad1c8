"""Business-hours arithmetic: the one place that knows about opening hours and DST.

Local opening hours are turned into real instants (UTC) one local date at a time, and
all counting happens on those instants, so a night that loses or gains an hour to DST
counts as exactly as long as it really is. A local boundary that does not exist (the
spring-forward gap) or exists twice (the fall-back hour) is read with fold=0 and
normalised through UTC, so every calendar maps to one well-defined set of instants.

Public holidays come from the `holidays` package, which is large: it is imported only when
a calendar names a country, and holiday dates are resolved one (country, subdivision,
year) at a time, on first use, and cached for the process.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property, lru_cache
from itertools import pairwise
from types import MappingProxyType
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

_COUNTRY = re.compile(r"[A-Z]{2}")
_NO_SPECIAL_HOURS: Mapping[date, Sequence[str]] = MappingProxyType({})

_Interval = tuple[datetime, datetime]
_Hours = tuple[tuple[time, time], ...]


@dataclass(frozen=True)
class BusinessCalendar:
    """A store's opening hours: weekly local intervals with per-date exceptions.

    ``weekly`` has seven entries, Monday first; each is a sorted tuple of
    non-overlapping ``[start, end)`` local wall-time intervals, where an ``end`` of
    ``time(0, 0)`` means midnight at the end of the day (24:00). ``special_hours``
    holds ``(date, intervals)`` pairs in the same form, sorted by date.

    The hours of a local date come from the first rule that applies (so a store can
    open on a public holiday, or on a Sunday, by giving that date special hours):

    1. ``special_hours`` for that date (no intervals: closed all day);
    2. ``closed_dates``: closed;
    3. a public holiday of ``holidays_country`` (and ``holidays_subdivision``): closed;
    4. ``weekly`` for its weekday.
    """

    timezone: str
    weekly: tuple[_Hours, ...]
    closed_dates: frozenset[date] = frozenset()
    special_hours: tuple[tuple[date, _Hours], ...] = ()
    holidays_country: str | None = None
    holidays_subdivision: str | None = None

    def __post_init__(self) -> None:
        # Checked here too, not only in from_spec: every later computation relies on it.
        _zone(self.timezone)
        if len(self.weekly) != len(_DAYS):
            raise ValueError(f"weekly: expected 7 days (Monday first), got {len(self.weekly)}")
        weekly = tuple(
            _check_hours(day, hours) for day, hours in zip(_DAYS, self.weekly, strict=True)
        )
        closed = frozenset(self.closed_dates)
        for day_off in closed:
            if not _is_date(day_off):
                raise ValueError(f"closed_dates: expected dates, got {day_off!r}")
        special: dict[date, _Hours] = {}
        for day, hours in self.special_hours:
            if not _is_date(day):
                raise ValueError(f"special_hours: expected dates, got {day!r}")
            if day in special:
                raise ValueError(f"special_hours: {day.isoformat()} is given twice")
            special[day] = _check_hours(_special_label(day), hours)
        _check_holidays(self.holidays_country, self.holidays_subdivision)
        object.__setattr__(self, "weekly", weekly)
        object.__setattr__(self, "closed_dates", closed)
        object.__setattr__(self, "special_hours", tuple(sorted(special.items())))

    @classmethod
    def from_spec(
        cls,
        timezone: str,
        hours: Mapping[str, Sequence[str]],
        closed_dates: Iterable[date] = (),
        *,
        special_hours: Mapping[date, Sequence[str]] = _NO_SPECIAL_HOURS,
        holidays_country: str | None = None,
        holidays_subdivision: str | None = None,
    ) -> BusinessCalendar:
        """Build from store configuration, with errors a store owner can act on.

        ``special_hours`` maps a date to its own "HH:MM-HH:MM" intervals (an empty
        list closes it); ``holidays_country`` is an ISO 3166-1 alpha-2 code such as
        "CZ", ``holidays_subdivision`` one of that country's codes such as "BY" for
        Bavaria in "DE". See the class docstring for which rule wins on a date.
        """
        _zone(timezone)
        weekly: list[_Hours] = [()] * len(_DAYS)
        for day, values in hours.items():
            if day not in _DAYS:
                raise ValueError(f"unknown day {day!r}: expected one of {', '.join(_DAYS)}")
            weekly[_DAYS.index(day)] = _parse_hours(day, values)
        if not isinstance(special_hours, Mapping):
            raise ValueError(
                f"special_hours: expected a mapping of date to 'HH:MM-HH:MM' lists, "
                f"got {special_hours!r}"
            )
        special: list[tuple[date, _Hours]] = []
        for special_day, values in special_hours.items():
            if not _is_date(special_day):
                raise ValueError(f"special_hours: expected dates as keys, got {special_day!r}")
            special.append((special_day, _parse_hours(_special_label(special_day), values)))
        return cls(
            timezone,
            tuple(weekly),
            frozenset(closed_dates),
            tuple(special),
            holidays_country,
            holidays_subdivision,
        )

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
        if not any(self.weekly) and not any(hours for _, hours in self.special_hours):
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

    @cached_property
    def _special_by_date(self) -> dict[date, _Hours]:
        # Looked up for every date scanned; not a field, so equality and hash ignore it.
        return dict(self.special_hours)

    def _hours_on(self, day: date) -> _Hours:
        """The local intervals of one date; the precedence lives here."""
        special = self._special_by_date.get(day)
        if special is not None:
            return special
        if day in self.closed_dates:
            return ()
        if self.holidays_country is not None and day in _public_holidays(
            self.holidays_country, self.holidays_subdivision, day.year
        ):
            return ()
        return self.weekly[day.weekday()]

    def _day_intervals(self, zone: ZoneInfo, day: date) -> Iterator[_Interval]:
        for start, end in self._hours_on(day):
            begins = _instant(day, start, zone)
            ends = _instant(day + _DAY if end == _MIDNIGHT else day, end, zone)
            # An interval inside a spring-forward gap can come out empty or inverted.
            if begins < ends:
                yield begins, ends


def _check_holidays(country: str | None, subdivision: str | None) -> None:
    """Refuse a country or subdivision the holidays package does not know, up front."""
    if country is None:
        if subdivision is not None:
            raise ValueError(
                f"holidays_subdivision {subdivision!r} needs a holidays_country as well"
            )
        return
    if not isinstance(country, str) or not _COUNTRY.fullmatch(country):
        raise ValueError(
            f"unknown holidays country {country!r}: expected an ISO 3166-1 alpha-2 code "
            "such as 'CZ'"
        )
    if subdivision is not None and (not isinstance(subdivision, str) or not subdivision):
        raise ValueError(f"unknown holidays subdivision {subdivision!r} for {country!r}")
    _check_known_holidays(country, subdivision)


@lru_cache(maxsize=64)
def _check_known_holidays(country: str, subdivision: str | None) -> None:
    import holidays  # large: only calendars that name a country pay for it

    try:
        entity = holidays.country_holidays(country, years=())
    except NotImplementedError as exc:
        raise ValueError(
            f"unknown holidays country {country!r}: not supported by the holidays package"
        ) from exc
    if subdivision is None:
        return
    try:
        holidays.country_holidays(country, subdiv=subdivision, years=())
    except NotImplementedError as exc:
        known = ", ".join(entity.subdivisions)
        choices = f"expected one of {known}" if known else f"{country!r} has no subdivisions"
        raise ValueError(
            f"unknown holidays subdivision {subdivision!r} for {country!r}: {choices}"
        ) from exc


@lru_cache(maxsize=256)
def _public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """One year's public holidays, computed on first use; calendars share the cache.

    The package files an observed day under the year it falls in (1 January 2028 is
    observed on 31 December 2027 in the US, listed with 2027), so looking a date up
    in its own year's set finds it.
    """
    import holidays  # large: only calendars that name a country pay for it

    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


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


def _is_date(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _special_label(day: date) -> str:
    return f"special hours on {day.isoformat()}"


def _check_hours(label: str, hours: Iterable[tuple[time, time]]) -> _Hours:
    """Normalise one day's intervals, refusing what the arithmetic cannot handle."""
    checked = tuple((start, end) for start, end in hours)
    previous_end = timedelta(0)
    for start, end in checked:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError(f"{label}: {start}-{end}: times must be naive local times")
        begins, ends = _since_midnight(start), _since_midnight(end) or _DAY
        if ends <= begins:
            raise ValueError(f"{label}: {start}-{end}: end must be after start")
        if begins < previous_end:
            raise ValueError(f"{label}: {start}-{end}: intervals must be sorted, no overlap")
        previous_end = ends
    return checked


def _parse_hours(label: str, values: Sequence[str]) -> _Hours:
    """One day's "HH:MM-HH:MM" strings as sorted intervals; overlaps are refused."""
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise ValueError(f"{label}: expected a list of 'HH:MM-HH:MM' strings, got {values!r}")
    parsed = sorted((_parse_interval(label, value), value) for value in values)
    for (before, before_text), (after, after_text) in pairwise(parsed):
        if (_since_midnight(before[1]) or _DAY) > _since_midnight(after[0]):
            raise ValueError(f"{label}: {before_text!r} overlaps {after_text!r}")
    return tuple(interval for interval, _ in parsed)


def _parse_interval(label: str, value: str) -> tuple[time, time]:
    match = _SPEC.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{label}: bad interval {value!r}: expected 'HH:MM-HH:MM'")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if start_h > 23 or start_m > 59 or end_m > 59 or end_h > 24 or (end_h == 24 and end_m):
        raise ValueError(
            f"{label}: bad interval {value!r}: hours 00-23 (24:00 only as an end), minutes 00-59"
        )
    if end_h * 60 + end_m <= start_h * 60 + start_m:
        raise ValueError(
            f"{label}: bad interval {value!r}: end must be after start (use 24:00 for midnight)"
        )
    return time(start_h, start_m), _MIDNIGHT if end_h == 24 else time(end_h, end_m)
