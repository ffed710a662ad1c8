"""When to check on a promise: the reminder before it, the breach at it, the escalations after.

Every instant comes from the calendar's one function, as the acknowledgement's does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.domain.calendar import BusinessCalendar


@dataclass(frozen=True)
class Escalation:
    after_minutes: int
    """Calendar minutes after the breach: a lead or an on-call phone does not keep hours."""
    email: str | None = None
    sms: str | None = None


@dataclass(frozen=True)
class SlaPolicy:
    reminder_fraction: float = 0.75
    """The reminder goes out when this share of the target's business time has passed."""
    escalations: tuple[Escalation, ...] = ()


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
    target_minutes: int,
) -> list[Checkpoint]:
    reminder_minutes = int(target_minutes * policy.reminder_fraction)
    points = []
    if 0 < reminder_minutes < target_minutes:
        points.append(
            Checkpoint("reminder", calendar.add_business_minutes(started_at, reminder_minutes))
        )
    points.append(Checkpoint("breach", due_at))
    points += [
        Checkpoint("escalation", due_at + timedelta(minutes=step.after_minutes), index)
        for index, step in enumerate(policy.escalations)
    ]
    return points
