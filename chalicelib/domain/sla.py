"""Response-time promises: their targets, their deadlines, and when to check on them.

`deadline` is the one function that turns a target into an instant; the acknowledgement's
wording and every SLA timer use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chalicelib.domain.calendar import BusinessCalendar

FIRST_RESPONSE = "first_response"
NEXT_RESPONSE = "next_response"
RESOLUTION = "resolution"
PRIORITIES = ("low", "normal", "high", "urgent")


@dataclass(frozen=True)
class Target:
    minutes: int
    business_hours: bool = True
    """False: the clock runs around the clock (e.g. an urgent priority)."""


@dataclass(frozen=True)
class Targets:
    first_response: Target
    next_response: Target
    """A customer writing again after we answered: the next answer is due within this."""
    resolution: Target | None = None
    """From the thread's first message to its close; paused while it is pending."""


@dataclass(frozen=True)
class Escalation:
    after_minutes: int
    """Calendar minutes after the breach: a lead or an on-call phone does not keep hours."""
    email: str | None = None
    sms: str | None = None


@dataclass(frozen=True)
class SlaPolicy:
    targets: Targets
    by_channel: Mapping[str, Targets] = field(default_factory=dict)
    by_priority: Mapping[str, Targets] = field(default_factory=dict)
    reminder_fraction: float = 0.75
    """The reminder goes out when this share of the target's time has passed."""
    escalations: tuple[Escalation, ...] = ()

    def targets_for(self, channel: str, priority: str | None = None) -> Targets:
        """A priority's targets win over a channel's, which win over the store's."""
        if priority and priority in self.by_priority:
            return self.by_priority[priority]
        return self.by_channel.get(channel, self.targets)


def deadline(calendar: BusinessCalendar, start: datetime, target: Target) -> datetime:
    if target.business_hours:
        return calendar.add_business_minutes(start, target.minutes)
    return (start + timedelta(minutes=target.minutes)).astimezone(start.tzinfo)


def minutes_left(calendar: BusinessCalendar, now: datetime, due: datetime, target: Target) -> int:
    """What remains of a target at `now` (for resuming a paused clock)."""
    if target.business_hours:
        left = calendar.business_minutes_between(now, due)
    else:
        left = max(0.0, (due - now).total_seconds() / 60)
    return max(0, round(left))


@dataclass(frozen=True)
class Checkpoint:
    kind: str
    """'reminder', 'breach' or 'escalation'."""
    at: datetime
    step: int = 0


def checkpoints(
    calendar: BusinessCalendar,
    policy: SlaPolicy,
    *,
    started_at: datetime,
    due_at: datetime,
    target: Target,
) -> list[Checkpoint]:
    reminder_minutes = int(target.minutes * policy.reminder_fraction)
    points = []
    if 0 < reminder_minutes < target.minutes:
        reminder = Target(reminder_minutes, target.business_hours)
        points.append(Checkpoint("reminder", deadline(calendar, started_at, reminder)))
    points.append(Checkpoint("breach", due_at))
    points += [
        Checkpoint("escalation", due_at + timedelta(minutes=step.after_minutes), index)
        for index, step in enumerate(policy.escalations)
    ]
    return points
