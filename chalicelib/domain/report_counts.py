"""What each event adds to the weekly report's counters, and where it is filed: the part
of the report's arithmetic that the webhooks and jobs import (kept small and free of the
week's figures, which only the report's schedule and the CLI need: domain/report.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

FRT_EDGES_MINUTES: tuple[int, ...] = (5, 15, 30, 60, 120, 240, 480, 1440, 2880)
"""Upper edges of the first-response histogram's buckets (minutes, wall clock); the last
bucket is open: 2880 minutes (two days) and more."""

FIRST, NEXT, RESOLUTION = "first_response", "next_response", "resolution"
PROMISES = (FIRST, NEXT, RESOLUTION)
RATINGS = (1, 2, 3, 4, 5)
LOW_RATING = 2
"""A rating of this or less lists its thread among the lowest rated."""
SHARDS = 4
"""A day's counters are spread over this many items, by thread, so that two customers
writing at the same instant rarely write the same item (a TransactionConflict)."""


def bucket(minutes: float) -> int:
    """The index of the first-response bucket that holds `minutes` (negative: 0)."""
    for i, edge in enumerate(FRT_EDGES_MINUTES):
        if minutes < edge:
            return i
    return len(FRT_EDGES_MINUTES)


def local_day_hour(at: datetime, timezone: str) -> tuple[date, int]:
    """The store-local day and hour of an instant: what a counter is filed under."""
    local = at.astimezone(ZoneInfo(timezone))
    return local.date(), local.hour


# -- what each event adds ---------------------------------------------------------------


def shard_of(thread_id: str) -> int:
    """A thread's events always land on the same one of the day's SHARDS items."""
    return sum(thread_id.encode()) % SHARDS


def conversation_started(channel: str) -> dict[str, int]:
    return {f"conv_{channel}": 1}


def inbound(hour: int) -> dict[str, int]:
    """A customer's message: the busy-hours heat map counts every one by its local hour."""
    return {f"in_h{hour:02d}": 1}


def first_response(minutes: float, agent: str | None) -> dict[str, int]:
    """A thread's first answer by a person: its time, and the agent who gave it."""
    b = bucket(minutes)
    adds = {f"frt_{b}": 1}
    if agent:
        adds[f"agent:{agent}:threads"] = 1
        adds[f"agent:{agent}:frt_{b}"] = 1
    return adds


def promise_outcome(promise: str, kept: bool, due_hour: int | None = None) -> dict[str, int]:
    """A promise kept, or broken (then also by the local hour its deadline passed)."""
    if kept:
        return {f"kept_{promise}": 1}
    adds = {f"broken_{promise}": 1}
    if due_hour is not None:
        adds[f"breach_h{due_hour:02d}"] = 1
    return adds


def rating(value: int, agent: str | None) -> dict[str, int]:
    adds = {f"rating_{value}": 1}
    if agent:
        adds[f"agent:{agent}:rating_{value}"] = 1
    return adds


def low_rated_entry(value: int, channel: str, thread_id: str) -> str | None:
    """What a low rating adds to the day's list of lowest-rated threads (a set: a retry
    adds nothing new); None for a rating above LOW_RATING."""
    return f"{value}|{channel}|{thread_id}" if value <= LOW_RATING else None


SURVEY_SENT = {"surveys": 1}
ANSWERED_AUTOMATICALLY = {"auto_answered": 1}
BACK_TO_A_PERSON = {"auto_returned": 1}
"""The customer wrote again after an automatic answer: the thread went to a person."""


@dataclass(frozen=True)
class Counts:
    """What one event adds to the report's counters: the store-local day and the shard it
    is filed under, the numbers, and (a low rating) its entry in the day's list."""

    day: date
    shard: int
    adds: Mapping[str, int]
    low: str | None = None
    event: str | None = None
    """The event's key on its thread (the thread's `counted` set): once counted, a retry
    of the same write adds nothing. None where the write is once-only already (a marker)."""


def counts_at(
    at: datetime,
    timezone: str,
    thread_id: str,
    adds: Mapping[str, int],
    *,
    low: str | None = None,
    event: str | None = None,
) -> Counts | None:
    """The counts of an event at `at` on `thread_id`; None when it adds nothing."""
    if not adds and low is None:
        return None
    return Counts(local_day_hour(at, timezone)[0], shard_of(thread_id), dict(adds), low, event)


def combine(*parts: Mapping[str, int]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for part in parts:
        total.update(part)
    return dict(total)


def minutes_between(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds() / 60)


@dataclass(frozen=True)
class AnswerFacts:
    """What a person's delivered answer is measured by: the thread as the job read it."""

    thread_id: str
    awaiting_agent: bool
    """A response promise was running (the customer was waiting on us)."""
    created_at: datetime
    first_response_at: datetime | None
    response_target: str
    response_due_at: datetime | None
    breach_counted: bool
    """The running promise's breach was counted by its timer already."""
    author: str


def answer_counts(facts: AnswerFacts, at: datetime, timezone: str) -> dict[str, int]:
    """A person's answer delivered at `at`: the first response's time (and its agent), and
    the running response promise kept or, if late and not yet counted, broken."""
    adds: dict[str, int] = {}
    if facts.first_response_at is None:
        adds.update(first_response(minutes_between(facts.created_at, at), facts.author))
    if facts.awaiting_agent and facts.response_due_at is not None and not facts.breach_counted:
        kept = at <= facts.response_due_at
        due_hour = local_day_hour(facts.response_due_at, timezone)[1]
        adds = combine(adds, promise_outcome(facts.response_target, kept, due_hour))
    return adds
