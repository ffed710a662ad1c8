"""The weekly report's arithmetic: counter names, histogram buckets, percentiles estimated
from the buckets, ISO weeks in a store's time zone, and the figures of one week.

Counters are kept per store and per store-local day as the work happens
(store/counters.py); this module decides what each event adds and what a week of them
says. Nothing here reads a thread: a report costs one Query, whatever the traffic.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.domain.report_counts import (
    ANSWERED_AUTOMATICALLY,
    BACK_TO_A_PERSON,
    FIRST,
    FRT_EDGES_MINUTES,
    LOW_RATING,
    NEXT,
    PROMISES,
    RATINGS,
    RESOLUTION,
    SHARDS,
    SURVEY_SENT,
    AnswerFacts,
    Counts,
    answer_counts,
    bucket,
    combine,
    conversation_started,
    counts_at,
    first_response,
    inbound,
    local_day_hour,
    low_rated_entry,
    minutes_between,
    promise_outcome,
    rating,
    shard_of,
)

__all__ = [
    "ANSWERED_AUTOMATICALLY",
    "BACK_TO_A_PERSON",
    "FIRST",
    "FRT_EDGES_MINUTES",
    "LOW_RATING",
    "NEXT",
    "PROMISES",
    "RATINGS",
    "RESOLUTION",
    "SHARDS",
    "SURVEY_SENT",
    "AgentFigures",
    "AnswerFacts",
    "Counts",
    "IsoWeek",
    "LowRated",
    "WeekFigures",
    "WeeklyReport",
    "answer_counts",
    "bucket",
    "bucket_bounds",
    "combine",
    "conversation_started",
    "counts_at",
    "first_response",
    "inbound",
    "last_week",
    "local_day_hour",
    "low_rated_entry",
    "merge",
    "minutes_between",
    "percentile",
    "promise_outcome",
    "rating",
    "report_due",
    "shard_of",
    "this_week",
    "week_figures",
]

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


# -- buckets and percentiles ------------------------------------------------------------


def bucket_bounds(index: int) -> tuple[int, int | None]:
    """[low, high) of bucket `index` in minutes; high None for the open last bucket."""
    low = 0 if index == 0 else FRT_EDGES_MINUTES[index - 1]
    high = FRT_EDGES_MINUTES[index] if index < len(FRT_EDGES_MINUTES) else None
    return low, high


def percentile(counts: Sequence[int], q: float) -> float | None:
    """The q-th quantile (0 < q <= 1) estimated from bucket counts, interpolating linearly
    inside the bucket it falls in; in the open last bucket, its lower edge (a floor). None
    with no counts. Good to within a bucket's width, which is what a weekly report needs."""
    total = sum(counts)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for i, n in enumerate(counts):
        if n and seen + n >= rank:
            low, high = bucket_bounds(i)
            if high is None:
                return float(low)
            return low + (high - low) * (rank - seen) / n
        seen += n
    return float(bucket_bounds(len(counts) - 1)[0])  # pragma: no cover - rank <= total


# -- weeks ------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """'2026-W48'; ValueError saying what is wrong otherwise."""
        match = _WEEK.match(text.strip())
        if not match:
            raise ValueError(f"week {text!r}: expected YYYY-Www, for example 2026-W48")
        week = cls(int(match[1]), int(match[2]))
        try:
            date.fromisocalendar(week.year, week.week, 1)
        except ValueError:
            raise ValueError(f"week {text!r}: {week.year} has no week {week.week}") from None
        return week

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def days(self) -> list[date]:
        return [self.monday + timedelta(days=i) for i in range(7)]

    def previous(self) -> IsoWeek:
        return IsoWeek.of(self.monday - timedelta(days=7))

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        """[start, end) of the week in UTC: local midnight of its Monday to the next one's
        (167 or 169 hours when the clocks change during it)."""
        zone = ZoneInfo(timezone)
        start = datetime.combine(self.monday, datetime.min.time(), zone)
        end = datetime.combine(self.monday + timedelta(days=7), datetime.min.time(), zone)
        return start.astimezone(UTC), end.astimezone(UTC)


def this_week(now: datetime, timezone: str) -> IsoWeek:
    """The week the store is in at `now` (store-local)."""
    return IsoWeek.of(local_day_hour(now, timezone)[0])


def last_week(now: datetime, timezone: str) -> IsoWeek:
    """The week before the one the store is in at `now`."""
    return this_week(now, timezone).previous()


REPORT_FIRST_HOUR, REPORT_LAST_HOUR = 7, 11
"""The Monday morning (store-local hours) in which the weekly report goes out; the hourly
schedule sends it on its first run inside it, once (a claim per store and week)."""


def report_due(now: datetime, timezone: str) -> IsoWeek | None:
    """The week to report on if it is the store's Monday morning at `now`, else None."""
    local = now.astimezone(ZoneInfo(timezone))
    if local.weekday() != 0 or not REPORT_FIRST_HOUR <= local.hour <= REPORT_LAST_HOUR:
        return None
    return last_week(now, timezone)


# -- one week's figures -----------------------------------------------------------------


@dataclass(frozen=True)
class AgentFigures:
    agent: str
    threads: int
    """First responses given: the threads this agent picked up."""
    frt_counts: tuple[int, ...]
    ratings: tuple[int, ...]
    """Count of each rating 1..5 on threads assigned to the agent when rated."""

    @property
    def frt_median(self) -> float | None:
        return percentile(self.frt_counts, 0.5)

    @property
    def rating_average(self) -> float | None:
        return _average(self.ratings)


@dataclass(frozen=True)
class LowRated:
    rating: int
    channel: str
    thread_id: str
    day: date


@dataclass(frozen=True)
class WeekFigures:
    week: IsoWeek
    conversations: Mapping[str, tuple[int, ...]]
    """Channel -> conversations started on each day, Monday first."""
    frt_counts: tuple[int, ...]
    kept: Mapping[str, int]
    broken: Mapping[str, int]
    breaches_by_hour: tuple[int, ...]
    heat: tuple[tuple[int, ...], ...]
    """7 x 24: customers' messages by local day (Monday first) and hour."""
    ratings: tuple[int, ...]
    surveys: int
    agents: tuple[AgentFigures, ...]
    auto_answered: int
    auto_returned: int
    low_rated: tuple[LowRated, ...] = field(default=())

    @property
    def total_conversations(self) -> int:
        return sum(sum(days) for days in self.conversations.values())

    def conversations_on(self, day_index: int) -> int:
        return sum(days[day_index] for days in self.conversations.values())

    @property
    def frt_median(self) -> float | None:
        return percentile(self.frt_counts, 0.5)

    @property
    def frt_p90(self) -> float | None:
        return percentile(self.frt_counts, 0.9)

    def kept_share(self, promise: str) -> float | None:
        total = self.kept.get(promise, 0) + self.broken.get(promise, 0)
        return None if total == 0 else self.kept.get(promise, 0) / total

    @property
    def rating_average(self) -> float | None:
        return _average(self.ratings)

    @property
    def rating_count(self) -> int:
        return sum(self.ratings)

    @property
    def response_rate(self) -> float | None:
        return None if self.surveys == 0 else min(1.0, self.rating_count / self.surveys)

    @property
    def auto_share(self) -> float | None:
        total = self.total_conversations
        return None if total == 0 else self.auto_answered / total

    @property
    def returned_share(self) -> float | None:
        return None if self.auto_answered == 0 else self.auto_returned / self.auto_answered


def _average(counts: Sequence[int]) -> float | None:
    total = sum(counts)
    if total == 0:
        return None
    return sum(value * n for value, n in zip(RATINGS, counts, strict=True)) / total


def merge(items: Iterable[tuple[date, Mapping[str, object]]]) -> dict[date, Counter[str]]:
    """Counter items (one per day and shard) summed per day; `low` sets kept apart under
    the name 'low:<entry>' with a count of 1."""
    days: dict[date, Counter[str]] = {}
    for day, values in items:
        counts = days.setdefault(day, Counter())
        for name, value in values.items():
            if name == "low" and isinstance(value, Iterable) and not isinstance(value, str):
                for entry in value:
                    counts[f"low:{entry}"] = 1
            elif isinstance(value, int | float) and not isinstance(value, bool):
                counts[name] += int(value)
    return days


def week_figures(week: IsoWeek, days: Mapping[date, Mapping[str, int]]) -> WeekFigures:
    """The figures of `week` from its days' merged counters (absent days count zero)."""
    week_days = [days.get(d, {}) for d in week.days]
    channels = sorted(
        {name[5:] for counts in week_days for name in counts if name.startswith("conv_")}
    )
    conversations = {
        ch: tuple(int(counts.get(f"conv_{ch}", 0)) for counts in week_days) for ch in channels
    }

    def total(name: str) -> int:
        return sum(int(counts.get(name, 0)) for counts in week_days)

    n_buckets = len(FRT_EDGES_MINUTES) + 1
    agent_names = sorted(
        {
            name.split(":")[1]
            for counts in week_days
            for name in counts
            if name.startswith("agent:") and name.count(":") >= 2
        }
    )
    agents = tuple(
        AgentFigures(
            agent=a,
            threads=total(f"agent:{a}:threads"),
            frt_counts=tuple(total(f"agent:{a}:frt_{i}") for i in range(n_buckets)),
            ratings=tuple(total(f"agent:{a}:rating_{r}") for r in RATINGS),
        )
        for a in agent_names
    )
    low: list[LowRated] = []
    for d, counts in zip(week.days, week_days, strict=True):
        for name in counts:
            if name.startswith("low:"):
                value, channel, thread_id = name[4:].split("|", 2)
                low.append(LowRated(int(value), channel, thread_id, d))
    low.sort(key=lambda entry: (entry.rating, entry.day, entry.thread_id))
    return WeekFigures(
        week=week,
        conversations=conversations,
        frt_counts=tuple(total(f"frt_{i}") for i in range(n_buckets)),
        kept={p: total(f"kept_{p}") for p in PROMISES},
        broken={p: total(f"broken_{p}") for p in PROMISES},
        breaches_by_hour=tuple(total(f"breach_h{h:02d}") for h in range(24)),
        heat=tuple(
            tuple(int(counts.get(f"in_h{h:02d}", 0)) for h in range(24)) for counts in week_days
        ),
        ratings=tuple(total(f"rating_{r}") for r in RATINGS),
        surveys=total("surveys"),
        agents=agents,
        auto_answered=total("auto_answered"),
        auto_returned=total("auto_returned"),
        low_rated=tuple(low),
    )


@dataclass(frozen=True)
class WeeklyReport:
    store_name: str
    language: str
    timezone: str
    this: WeekFigures
    before: WeekFigures
    first_response_target_minutes: int
    target_business_hours: bool
    agent_names: Mapping[str, str] = field(default_factory=dict)
    """Agent address -> name, from the store's configuration."""
    links: Mapping[str, str] = field(default_factory=dict)
    """Thread id -> the reply address that follows it up from the owner's mailbox."""
