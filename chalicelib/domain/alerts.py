"""What agents, leads and on-call phones read when a promise to a customer runs late: the
reminder before the deadline, the breach at it, and the escalation ladder after it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from chalicelib.domain.messages import contact_of
from chalicelib.domain.notification import CHANNEL_NAMES

AlertKind = Literal["reminder", "breach", "escalation"]


@dataclass(frozen=True)
class Promise:
    """The promise a timer checks on, as the alert names it."""

    store_name: str
    channel: str
    customer: str
    due_at: datetime
    timezone: str
    resolution: bool
    """The thread's close was promised (else: the next answer)."""

    @property
    def local_due(self) -> str:
        return self.due_at.astimezone(ZoneInfo(self.timezone)).strftime("%a %d %b %H:%M")

    @property
    def what(self) -> str:
        return "resolution" if self.resolution else "answer"

    @property
    def where(self) -> str:
        channel = CHANNEL_NAMES.get(self.channel, self.channel)
        return f"{channel} from {contact_of(self.customer)}"


def alert_subject(kind: AlertKind, promise: Promise) -> str:
    p = promise
    if kind == "reminder":
        return f"[{p.store_name}] Reminder: {p.what} due {p.local_due}: {p.where}"
    if kind == "breach":
        label = "Resolution overdue" if p.resolution else "Overdue"
        return f"[{p.store_name}] {label} since {p.local_due}: {p.where}"
    return f"[{p.store_name}] Escalation: {p.where}, {p.what} overdue since {p.local_due}"


def alert_text(kind: AlertKind, promise: Promise) -> str:
    channel = CHANNEL_NAMES.get(promise.channel, promise.channel)
    article = "a" if promise.resolution else "an"
    return (
        f"{alert_subject(kind, promise)}\n\nThe customer was promised {article} {promise.what} by "
        f"{promise.local_due} ({promise.timezone}). Reply to this e-mail to answer them by "
        f"{channel}.\n"
    )


def escalation_sms(promise: Promise) -> str:
    p = promise
    return f"[{p.store_name}] {p.where}: {p.what} overdue since {p.local_due}."
