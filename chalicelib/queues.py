"""SQS jobs and timers: the only SQS code. A job names what to do and where; handlers
re-read state, so a duplicate or late delivery is harmless."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class JobKind(StrEnum):
    NOTIFY_AGENTS = "notify_agents"
    DELIVER_REPLY = "deliver_reply"
    ACK_EMAIL = "ack_email"
    REPORT_FAILURE = "report_failure"
    """Twilio reported an answer undelivered: its author is told."""
    NOTIFY_ASSIGNEE = "notify_assignee"
    """A thread changed hands: its new assignee gets the whole conversation."""


class TimerKind(StrEnum):
    REMINDER = "reminder"
    BREACH = "breach"
    ESCALATION = "escalation"
    WAKE = "wake"
    """A snoozed thread's time is up."""


# SQS: DelaySeconds stops at 15 minutes, a message's visibility at 12 hours.
MAX_DELAY_SECONDS = 15 * 60
MAX_VISIBILITY_SECONDS = 12 * 60 * 60


class QueueError(Exception):
    """SQS refused or could not be reached: our infrastructure, so the caller answers 5xx."""


@dataclass(frozen=True)
class Job:
    kind: JobKind
    store_id: str
    thread_id: str
    message_sk: str

    def encode(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def decode(cls, body: str) -> Job:
        """Raises ValueError for a body that is not a job (it belongs in the dead-letter queue)."""
        try:
            raw = json.loads(body)
            return cls(
                kind=JobKind(raw["kind"]),
                store_id=str(raw["store_id"]),
                thread_id=str(raw["thread_id"]),
                message_sk=str(raw["message_sk"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a relaydesk job: {exc}") from exc


@dataclass(frozen=True)
class Timer:
    """A promise to check on: fires at `due_at`, and only if the thread's SLA epoch is
    still `epoch` (a kept or restarted promise bumps it)."""

    kind: TimerKind
    store_id: str
    thread_id: str
    epoch: int
    due_at: datetime
    step: int = 0
    """Escalation: which rung of the store's ladder."""
    family: str = "response"
    """'response' (the next answer is owed), 'resolution' (the thread's close is), or
    'snooze' (the epoch is then the thread's snooze epoch)."""

    @property
    def key(self) -> str:
        return f"{self.family}:{self.epoch}:{self.kind}:{self.step}"

    def encode(self) -> str:
        return json.dumps({**asdict(self), "due_at": self.due_at.isoformat()}, sort_keys=True)

    @classmethod
    def decode(cls, body: str) -> Timer:
        try:
            raw = json.loads(body)
            due_at = datetime.fromisoformat(raw["due_at"])
            if due_at.tzinfo is None:
                raise ValueError("due_at has no timezone")
            return cls(
                kind=TimerKind(raw["kind"]),
                store_id=str(raw["store_id"]),
                thread_id=str(raw["thread_id"]),
                epoch=int(raw["epoch"]),
                due_at=due_at,
                step=int(raw.get("step", 0)),
                family=str(raw.get("family", "response")),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a relaydesk timer: {exc}") from exc


class JobQueue:
    """Sends to one queue; the URL is resolved once from the queue's name."""

    def __init__(
        self,
        client: Any,
        *,
        queue_name: str,
        queue_url: str | None = None,
        max_delay: int = MAX_DELAY_SECONDS,
        max_visibility: int = MAX_VISIBILITY_SECONDS,
    ) -> None:
        self._client = client
        self._queue_name = queue_name
        self._queue_url = queue_url
        self._max_delay = max_delay
        self._max_visibility = max_visibility

    def url(self) -> str:
        if self._queue_url is None:
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                response = self._client.get_queue_url(QueueName=self._queue_name)
            except (BotoCoreError, ClientError) as exc:
                raise QueueError(f"cannot find queue {self._queue_name}: {exc}") from exc
            self._queue_url = str(response["QueueUrl"])
        return self._queue_url

    def send_all(self, jobs: Sequence[Job | Timer], *, now: datetime | None = None) -> None:
        """All in one request (SQS takes up to ten); any failure raises. A timer is
        delayed towards its due time, as far as SQS allows (the rest is bridged)."""
        from botocore.exceptions import BotoCoreError, ClientError

        entries: list[dict[str, Any]] = []
        for i, item in enumerate(jobs):
            entry: dict[str, Any] = {"Id": str(i), "MessageBody": item.encode()}
            if isinstance(item, Timer) and now is not None:
                wait = int((item.due_at - now).total_seconds())
                entry["DelaySeconds"] = max(0, min(wait, self._max_delay))
            entries.append(entry)
        try:
            if len(entries) == 1:
                single = {k: v for k, v in entries[0].items() if k != "Id"}
                self._client.send_message(QueueUrl=self.url(), **single)
                return
            response = self._client.send_message_batch(QueueUrl=self.url(), Entries=entries)
        except (BotoCoreError, ClientError) as exc:
            raise QueueError(f"cannot enqueue {len(jobs)} message(s): {exc}") from exc
        if response.get("Failed"):
            raise QueueError(f"SQS refused message(s): {response['Failed']}")

    def hold(self, receipt_handle: str, seconds: int) -> int:
        """Keep a received message invisible for up to 12 hours more: how a long timer
        waits with one request per 12 hours instead of one per 15 minutes."""
        from botocore.exceptions import BotoCoreError, ClientError

        seconds = max(0, min(seconds, self._max_visibility))
        try:
            self._client.change_message_visibility(
                QueueUrl=self.url(), ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )
        except (BotoCoreError, ClientError) as exc:
            raise QueueError(f"cannot hold the timer: {exc}") from exc
        return seconds
