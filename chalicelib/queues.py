"""SQS jobs and timers: the only SQS code. A job names what to do and where; handlers
re-read state, so a duplicate or late delivery is harmless."""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class JobKind(StrEnum):
    NOTIFY_AGENTS = "notify_agents"
    DELIVER_REPLY = "deliver_reply"
    ACK_EMAIL = "ack_email"
    """The acknowledgement by a job: e-mail's always, SMS/WhatsApp's when replayed from the
    Fallback URL (flows/deliver.send_email_ack; the name is kept for jobs already queued)."""
    REPORT_FAILURE = "report_failure"
    """Twilio reported an answer undelivered: its author is told."""
    NOTIFY_ASSIGNEE = "notify_assignee"
    """A thread changed hands: its new assignee gets the whole conversation."""
    APPLY_RETENTION = "apply_retention"
    """A thread closed or reopened: its items' expiry follows its status (flows/retention)."""
    APPLY_STATUS = "apply_status"
    """Twilio reported on a message before its send was recorded: applied once it is."""
    ANSWER = "answer"
    """Automation may answer a new message: the answer, or the acknowledgement and the
    agents (flows/answer.py)."""
    AGENT_ORDER = "agent_order"
    """An agent's reply that needs the shop (`#order`, `{order.*}`): finished here, off the
    webhook's path (detail: the reply, as JSON)."""
    CALL_ENDED = "call_ended"
    """A call's StatusCallback, delayed (flows/receive_voice.py): a missed call unless the
    call's voicemail, missed call or answered forward is marked under its CallSid by then
    (`message_sk`: the CallSid; detail: the call, as JSON)."""
    PROACTIVE = "proactive"
    """A shop's webhook about an order: re-read it, and tell the customer of a problem
    (flows/proactive.py). `detail` is the event (commerce/port.py ShopEvent)."""
    KEEP_RECORDING = "keep_recording"
    """A voicemail: copied from Twilio to our bucket, deleted at Twilio, transcription
    started, then the agents notified (flows/voicemail.py)."""
    COLLECT_TRANSCRIPT = "collect_transcript"
    """A delayed look at the voicemail's Transcribe job (`detail`: the attempt number)."""


class TimerKind(StrEnum):
    REMINDER = "reminder"
    BREACH = "breach"
    ESCALATION = "escalation"
    WAKE = "wake"
    """A snoozed thread's time is up."""
    RESOLVE = "resolve"
    """A thread answered automatically was not followed up: resolved automatically."""
    PROACTIVE = "proactive"
    """A proactive text waited out the quiet hours: sent now (`message_sk`)."""


# SQS: DelaySeconds stops at 15 minutes, a message's visibility at 12 hours.
MAX_DELAY_SECONDS = 15 * 60
MAX_VISIBILITY_SECONDS = 12 * 60 * 60
HOLD_MARGIN_SECONDS = 15 * 60
"""Between SQS's receipt of a timer and our ChangeMessageVisibility: Lambda's batching
window, the handler's run before it, clock skew; Lambda's own 15-minute maximum bounds it."""


class QueueError(Exception):
    """SQS refused or could not be reached: our infrastructure, so the caller answers 5xx."""


@dataclass(frozen=True)
class Job:
    kind: JobKind
    store_id: str
    thread_id: str
    message_sk: str
    detail: str = ""
    """What a job needs beyond its subject (apply_status: the status update, as JSON)."""

    def encode(self) -> str:
        fields = asdict(self)
        if not self.detail:
            del fields["detail"]
        return json.dumps(fields, sort_keys=True)

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
                detail=str(raw.get("detail", "")),
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
    message_sk: str = ""
    """PROACTIVE: the message that waits."""

    @property
    def key(self) -> str:
        return f"{self.family}:{self.epoch}:{self.kind}:{self.step}"

    def encode(self) -> str:
        fields = {**asdict(self), "due_at": self.due_at.isoformat()}
        if not self.message_sk:
            del fields["message_sk"]
        return json.dumps(fields, sort_keys=True)

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
                message_sk=str(raw.get("message_sk", "")),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a relaydesk timer: {exc}") from exc


@dataclass(frozen=True)
class ParkedRequest:
    """A Twilio webhook as it reached the Fallback URL, kept whole so that it can be verified
    and handled again later (flows/replay.py): the bytes Twilio signed, its signature, the
    route it was posted to (the URL signed is the public base URL plus this path), when."""

    path: str
    body: bytes
    signature: str | None
    received_at: datetime
    verified: bool
    """The signature was checked when it was parked (False: the auth token could not be read
    then); it is checked again at replay either way."""

    def encode(self) -> str:
        return json.dumps(
            {
                "parked": 1,
                "path": self.path,
                "body": base64.b64encode(self.body).decode("ascii"),
                "signature": self.signature,
                "received_at": self.received_at.isoformat(),
                "verified": self.verified,
            },
            sort_keys=True,
        )

    @classmethod
    def decode(cls, body: str) -> ParkedRequest:
        """Raises ValueError for a body that is not a parked request."""
        try:
            raw = json.loads(body)
            if raw.get("parked") != 1:
                raise ValueError("no parked-request version")
            received_at = datetime.fromisoformat(raw["received_at"])
            if received_at.tzinfo is None:
                raise ValueError("received_at has no timezone")
            signature = raw.get("signature")
            return cls(
                path=str(raw["path"]),
                body=base64.b64decode(raw["body"], validate=True),
                signature=None if signature is None else str(signature),
                received_at=received_at,
                verified=bool(raw.get("verified")),
            )
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
            raise ValueError(f"not a parked request: {exc}") from exc


class JobQueue:
    """Sends to one queue; the URL is resolved once from the queue's name."""

    def __init__(
        self,
        client: Any,
        *,
        queue_name: str,
        queue_url: str | None = None,
    ) -> None:
        self._client = client
        self._queue_name = queue_name
        self._queue_url = queue_url

    def url(self) -> str:
        if self._queue_url is None:
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                response = self._client.get_queue_url(QueueName=self._queue_name)
            except (BotoCoreError, ClientError) as exc:
                raise QueueError(f"cannot find queue {self._queue_name}: {exc}") from exc
            self._queue_url = str(response["QueueUrl"])
        return self._queue_url

    def send_all(
        self,
        jobs: Sequence[Job | Timer | ParkedRequest],
        *,
        now: datetime | None = None,
        delay: int = 0,
    ) -> None:
        """All in one request (SQS takes up to ten); any failure raises. A timer is
        delayed towards its due time, as far as SQS allows (the rest is bridged); a job
        by `delay` seconds."""
        from botocore.exceptions import BotoCoreError, ClientError

        entries: list[dict[str, Any]] = []
        for i, item in enumerate(jobs):
            entry: dict[str, Any] = {"Id": str(i), "MessageBody": item.encode()}
            if isinstance(item, Timer) and now is not None:
                wait = int((item.due_at - now).total_seconds())
                entry["DelaySeconds"] = max(0, min(wait, MAX_DELAY_SECONDS))
            elif delay:
                entry["DelaySeconds"] = max(0, min(delay, MAX_DELAY_SECONDS))
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

    def wait_longer(
        self, receipt_handle: str, timer: Timer, *, sent_at: datetime | None, now: datetime
    ) -> bool:
        """Keep an early timer waiting: True when this message is held (leave it on the
        queue), False when a fresh copy carries the wait on (delete this one).

        SQS caps a message's total visibility at 12 hours from its receipt and refuses
        anything beyond. We count the allowance from the send instead (never later than the
        receipt, so always within SQS's rule, and within moto's, which counts from the send),
        less a margin for the time between the receipt and this call. When the allowance is
        spent, the timer is sent again: each message is received about twice at most, so a
        wait of any length (a 14-day snooze) leaves the queue's maxReceiveCount to failures.
        """
        wait = math.ceil((timer.due_at - now).total_seconds())
        allowance = 0
        if sent_at is not None:
            age = (now - sent_at).total_seconds()
            allowance = int(MAX_VISIBILITY_SECONDS - HOLD_MARGIN_SECONDS - age)
        if allowance >= min(wait, MAX_DELAY_SECONDS):
            self._change_visibility(receipt_handle, min(wait, allowance))
            return True
        self.send_all([timer], now=now)
        return False

    def hold(self, receipt_handle: str, seconds: int) -> int:
        """Keep a received message invisible for `seconds` from now, within SQS's 12 hours
        per receipt (less the margin for the time since it); the seconds it is held."""
        held = max(0, min(seconds, MAX_VISIBILITY_SECONDS - HOLD_MARGIN_SECONDS))
        self._change_visibility(receipt_handle, held)
        return held

    def _change_visibility(self, receipt_handle: str, seconds: int) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.change_message_visibility(
                QueueUrl=self.url(), ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )
        except (BotoCoreError, ClientError) as exc:
            raise QueueError(f"cannot hold the timer: {exc}") from exc
