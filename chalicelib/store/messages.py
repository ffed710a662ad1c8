"""Messages: read under their thread, and the life of an outbound one (queued, claimed by
a job, sent part by part, delivered or failed, with Twilio's word on it)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from pynamodb.exceptions import PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.domain import thread as life
from chalicelib.domain.messages import DELIVERY_FAILURES, DELIVERY_PROGRESS, message_id_for
from chalicelib.domain.report_counts import Counts
from chalicelib.domain.sizes import cut_utf8
from chalicelib.store import _dynamo
from chalicelib.store.counters import add_counts, with_counts
from chalicelib.store.customers import update_pointer_of
from chalicelib.store.errors import StorageError
from chalicelib.store.markers import already_recorded, marker
from chalicelib.store.models import (
    MESSAGE_PREFIX,
    CustomerItem,
    MarkerItem,
    MessageItem,
    ThreadItem,
    message_sort_key,
    thread_pk,
)
from chalicelib.store.threads import pointer_actions, snapshot, transition_actions

# A DynamoDB item holds 400 KB, counted in bytes; what does not fit is dropped and said so,
# not truncated silently (store/inbound.py `_fit`).
MAX_BODY_BYTES = 100_000


def all_messages(store_id: str, thread_id: str) -> list[MessageItem]:
    """Every message of a thread, oldest first (all pages)."""
    try:
        return list(
            MessageItem.query(
                thread_pk(store_id, thread_id),
                MessageItem.sk.startswith(MESSAGE_PREFIX),
                consistent_read=True,
            )
        )
    except PynamoDBException as exc:
        raise StorageError(f"reading the thread's messages failed: {exc}") from exc


class MessageStore(_dynamo.Table):
    def messages(self, store_id: str, thread_id: str, limit: int = 50) -> list[MessageItem]:
        """The latest `limit` messages of a thread, oldest first."""
        try:
            newest_first = MessageItem.query(
                thread_pk(store_id, thread_id),
                MessageItem.sk.startswith(MESSAGE_PREFIX),
                scan_index_forward=False,
                limit=limit,
                consistent_read=True,
            )
            return list(reversed(list(newest_first)))
        except PynamoDBException as exc:
            raise StorageError(f"reading the messages failed: {exc}") from exc

    def first_messages(self, store_id: str, thread_id: str, limit: int = 5) -> list[MessageItem]:
        """The earliest `limit` messages of a thread, oldest first (the customer's first
        words, when the thread is longer than `messages` reads)."""
        try:
            return list(
                MessageItem.query(
                    thread_pk(store_id, thread_id),
                    MessageItem.sk.startswith(MESSAGE_PREFIX),
                    limit=limit,
                    consistent_read=True,
                )
            )
        except PynamoDBException as exc:
            raise StorageError(f"reading the first messages failed: {exc}") from exc

    def message(self, store_id: str, thread_id: str, message_sk: str) -> MessageItem | None:
        return _dynamo.get(MessageItem, thread_pk(store_id, thread_id), message_sk)

    def mark_notified(self, messages: list[MessageItem], at: datetime) -> None:
        """A voicemail read without its transcript is marked only if none came meanwhile:
        one that did stays to be notified (flows/receive_voice.py queued its job)."""
        try:
            for item in messages:
                if item.call is not None and item.transcript is None:
                    try:
                        item.update(
                            actions=[MessageItem.notified_at.set(at)],
                            condition=MessageItem.transcript.does_not_exist(),
                        )
                    except UpdateError as exc:
                        if exc.cause_response_code != "ConditionalCheckFailedException":
                            raise
                    continue
                item.update(actions=[MessageItem.notified_at.set(at)])
        except PynamoDBException as exc:
            raise StorageError(f"marking messages notified failed: {exc}") from exc

    def record_recording(
        self,
        message: MessageItem,
        *,
        state: str,
        key: str | None = None,
        note: str | None = None,
    ) -> None:
        """A voicemail's recording moved on: 'kept' in our bucket under `key`, 'deleted' at
        Twilio, or 'gone' (Twilio had lost it: `note` says so)."""
        actions: list[Action] = [MessageItem.recording_state.set(state)]
        if key is not None:
            actions.append(MessageItem.recording_key.set(key))
        if note is not None:
            actions.append(MessageItem.recording_note.set(note))
        _dynamo.update(message, actions, "recording the voicemail's copy")

    def transcription_started(self, message: MessageItem, job_name: str) -> None:
        """The Transcribe job started on the voicemail's copy (its result is collected by
        a delayed job, flows/voicemail.py)."""
        _dynamo.update(
            message,
            [MessageItem.transcription_job.set(job_name)],
            "recording the transcription job",
        )

    def record_event(
        self,
        thread: ThreadItem,
        *,
        kind: str,
        author: str,
        body: str,
        at: datetime,
        author_name: str | None = None,
    ) -> MessageItem:
        """A change ('event') or an internal note ('note') on the thread, with who made it."""
        message_id = secrets.token_hex(8)
        item = MessageItem(
            thread.pk,
            message_sort_key(max(at, thread.updated_at), message_id),
            message_id=message_id,
            direction=kind,
            author=author,
            author_name=author_name,
            body=cut_utf8(body, MAX_BODY_BYTES),
            created_at=at,
            expires_at=thread.expires_at,
        )
        try:
            item.save()
        except PynamoDBException as exc:
            raise StorageError(f"recording the {kind} failed: {exc}") from exc
        return item

    # -- outbound -------------------------------------------------------------------------

    def record_outbound(
        self,
        thread: ThreadItem,
        *,
        provider_id: str,
        author: str,
        body: str,
        at: datetime,
        author_name: str | None = None,
        email_message_id: str | None = None,
        automatic: str | None = None,
        survey_after: bool = False,
        counts: Counts | None = None,
    ) -> MessageItem:
        """Queue an answer, once per `provider_id` however often it is posted (and the
        report's `counts` with it, once by the same marker).

        An e-mailed answer gets a marker for its own Message-ID too, so that the
        customer's reply to it finds the thread."""
        # An answer sorts after what it answers, even if this Lambda's clock lags.
        at = max(at, thread.updated_at + timedelta(milliseconds=1))
        message_id = message_id_for(thread.store_id, provider_id)
        sk = message_sort_key(at, message_id)
        once = marker(thread.store_id, provider_id, thread.thread_id, sk, at)
        item = MessageItem(
            thread.pk,
            sk,
            message_id=message_id,
            direction="out",
            author=author,
            body=cut_utf8(body, MAX_BODY_BYTES),
            provider_id=provider_id,
            created_at=at,
            delivery_status="queued",
            expires_at=thread.expires_at,
            author_name=author_name,
            email_message_id=email_message_id,
            automatic=automatic,
            survey_after=survey_after,
        )
        try:
            with TransactWrite(connection=self.connection) as tx:
                tx.save(once, condition=MarkerItem.pk.does_not_exist())
                tx.save(item)
                if email_message_id and email_message_id != provider_id:
                    tx.save(marker(thread.store_id, email_message_id, thread.thread_id, sk, at))
                add_counts(tx, thread.store_id, counts)
        except TransactWriteError as exc:
            if "marker" in _dynamo.failed_parts(exc, ["marker"]):
                raise already_recorded(once.pk) from exc
            raise StorageError(f"recording the reply failed: {exc}") from exc
        except PynamoDBException as exc:
            raise StorageError(f"recording the reply failed: {exc}") from exc
        return item

    def claim_sending(self, message: MessageItem, *, take_over: bool) -> bool:
        """Queued -> sending, once: False when another job holds the send (unless
        `take_over`: that job died, and SQS handed its work to this one)."""
        condition = MessageItem.delivery_status == "queued"
        if take_over:
            condition = condition | (MessageItem.delivery_status == "sending")
        return _dynamo.update_if(
            message, [MessageItem.delivery_status.set("sending")], condition, "claiming a send"
        )

    def release_sending(self, message: MessageItem) -> None:
        """A transient failure: queued again, for the retry."""
        _dynamo.update_if(
            message,
            [MessageItem.delivery_status.set("queued")],
            MessageItem.delivery_status == "sending",
            "releasing a send",
        )

    def part_sent(self, thread: ThreadItem, message: MessageItem, part: int, sid: str) -> None:
        """Part `part` (1-based) went out as Twilio message `sid`: a retry resumes after it,
        and Twilio's status callbacks for `sid` find this message."""
        sent = marker(thread.store_id, sid, thread.thread_id, message.sk, message.created_at)
        try:
            with TransactWrite(connection=self.connection) as tx:
                tx.save(sent)
                tx.update(message, actions=[MessageItem.parts_sent.set(part)])
        except PynamoDBException as exc:
            raise StorageError(f"recording a sent part failed: {exc}") from exc
        message.parts_sent = part

    def mark_delivered(
        self,
        thread: ThreadItem,
        message: MessageItem,
        *,
        provider_id: str,
        at: datetime,
        counts: Counts | None = None,
    ) -> None:
        """Sent. A person's answer keeps the promise and stops the clock (life.answered); an
        automatic acknowledgement does neither. The report's `counts` go in the same
        transaction, once per delivery (store/counters.py)."""
        sent: list[Action] = [
            MessageItem.delivery_status.set("sent"),
            MessageItem.outbound_provider_id.set(provider_id),
        ]
        answered = life.answered(snapshot(thread), at)
        if message.automatic and counts is None:
            _dynamo.update(message, sent, "recording the delivery")
            return

        def write(tx: TransactWrite, counted: list[Action], cond: Condition | None) -> None:
            tx.update(message, actions=sent)
            actions = [] if message.automatic else transition_actions(answered)
            if actions or counted:
                tx.update(thread, actions=[*actions, *counted], condition=cond)

        if not with_counts(
            self.connection, thread.store_id, counts, write, "recording the delivery"
        ):
            with_counts(self.connection, thread.store_id, None, write, "recording the delivery")
        # As `update` does, so that the caller sees the message sent (flows/answer.py reads it).
        message.delivery_status, message.outbound_provider_id = "sent", provider_id
        if not message.automatic:
            update_pointer_of(
                thread, [*pointer_actions(answered), CustomerItem.responded.set(True)]
            )

    def record_provider_status(
        self, message: MessageItem, status: str, error: str | None, *, failed: bool
    ) -> bool:
        """Twilio's latest word on a message; statuses only move forward, and a failure is
        recorded once. True when this call recorded a failure (so it is reported once)."""
        actions: list[Action] = [MessageItem.provider_status.set(status)]
        if error:
            actions.append(MessageItem.delivery_error.set(error))
        if failed:
            condition = (
                MessageItem.provider_status.does_not_exist()
                | ~MessageItem.provider_status.is_in(*DELIVERY_FAILURES)
            )
        else:
            earlier = DELIVERY_PROGRESS[: DELIVERY_PROGRESS.index(status)]
            condition = MessageItem.provider_status.does_not_exist() | (
                MessageItem.provider_status.is_in(*earlier)
                if earlier
                else MessageItem.pk.does_not_exist()
            )
        recorded = _dynamo.update_if(message, actions, condition, "recording the delivery status")
        return recorded and failed

    def failure_reported(self, message: MessageItem, at: datetime) -> None:
        _dynamo.update(
            message, [MessageItem.failure_reported_at.set(at)], "recording the failure report"
        )

    def refuse_text_back(self, message: MessageItem, reason: str) -> None:
        """The caller of `message` (a voicemail or missed call) is not texted back after
        all: why, for the agents' notification, and no acknowledgement any more. One update
        of the message (its own key: store and thread)."""
        _dynamo.update(
            message,
            [MessageItem.text_back_refused.set(reason), MessageItem.acknowledge.set(False)],
            "recording why the caller was not texted back",
        )

    def mark_failed(self, message: MessageItem, reason: str) -> None:
        _dynamo.update(
            message,
            [MessageItem.delivery_status.set("failed"), MessageItem.delivery_error.set(reason)],
            "recording the failure",
        )
