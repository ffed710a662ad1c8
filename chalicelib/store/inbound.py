"""The inbound transaction: one customer message stored with its marker (once only), its
thread and the customer's pointer, all or nothing; and a survey rating, the same way."""

from __future__ import annotations

import logging
import random
import time
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.inbound import InboundPlan
from chalicelib.domain.messages import Attachment, InboundMessage, message_id_for
from chalicelib.domain.report_counts import Counts
from chalicelib.domain.sizes import DYNAMODB_ITEM_BYTES, cut_utf8, utf8_len
from chalicelib.store import _dynamo
from chalicelib.store.counters import add_counts
from chalicelib.store.errors import (
    ConcurrentChange,
    RateCapReached,
    StorageError,
    StoreCapReached,
    ThreadGone,
    TransactionConflict,
)
from chalicelib.store.follow_ups import pending_marker
from chalicelib.store.markers import already_recorded, marker
from chalicelib.store.messages import MAX_BODY_BYTES
from chalicelib.store.models import (
    META,
    CounterItem,
    CustomerItem,
    MarkerItem,
    MessageItem,
    ThreadItem,
    customer_pk,
    message_sort_key,
    store_pk,
    thread_pk,
)
from chalicelib.store.threads import transition_actions

MAX_RAW_BYTES = 250_000
MAX_SUBJECT_BYTES = 2_000
MAX_ATTACHMENTS_LISTED = 100
MAX_NAME_BYTES = 255
ITEM_BUDGET = DYNAMODB_ITEM_BYTES - 16 * 1024
"""What the message item's texts may take together: the rest is for its keys, attribute
names, numbers, dates and flags."""

log = logging.getLogger(__name__)

# The store's hourly counter is the one item that many customers' transactions write: two
# new customers of one store within the same few milliseconds make DynamoDB cancel one
# transaction (TransactionConflict). It is written only while the store is under its cap
# (at most `auto_replies_per_hour` times an hour), so the contention it can cause is
# bounded, and a retry a few milliseconds later finds it free: retried with full jitter
# (uniform in 0..20 ms, doubling) for at most a second, well inside Twilio's 15 s. Sharding
# it would make the cap approximate to save retries that are rare and cheap.
CONFLICT_FIRST_WAIT_SECONDS = 0.02
CONFLICT_BUDGET_SECONDS = 1.0


def _hourly_counter(store_id: str, at: datetime) -> CounterItem:
    return CounterItem(store_pk(store_id), f"AUTO#{at.astimezone(UTC):%Y%m%dT%H}")


@dataclass(frozen=True)
class RateCap:
    """A per-hour counter this message must find under `limit`, counted in the message's own
    transaction (no request of its own): the web chat's caps per visitor IP and per store.
    `new_thread_only`: counts conversations, not messages."""

    key: str
    limit: int
    new_thread_only: bool = False


def _cap_counter(store_id: str, cap: RateCap, at: datetime) -> CounterItem:
    return CounterItem(store_pk(store_id), f"CAP#{cap.key}#{at.astimezone(UTC):%Y%m%dT%H}")


def _subject(message: InboundMessage) -> str | None:
    """The subject as the thread and the message keep it: at most MAX_SUBJECT_BYTES."""
    return None if message.subject is None else cut_utf8(message.subject, MAX_SUBJECT_BYTES)


@dataclass(frozen=True)
class _Fitted:
    body: str
    raw: bytes | None
    attachments: list[dict[str, object]]
    dropped: str | None


def _fit(message: InboundMessage) -> _Fitted:
    """Body, compressed original and attachment list that fit in one item together, by
    their UTF-8 bytes (DynamoDB's measure), and what was dropped, said in the item."""
    dropped = []
    if utf8_len(message.subject) > MAX_SUBJECT_BYTES:
        dropped.append(
            f"the subject after {MAX_SUBJECT_BYTES} of {utf8_len(message.subject)} bytes"
        )
    listed = message.attachments[:MAX_ATTACHMENTS_LISTED]
    if len(message.attachments) > len(listed):
        dropped.append(f"the names of {len(message.attachments) - len(listed)} more attachments")
    attachments = [_listed(_short(a)) for a in listed]
    others = sum(
        utf8_len(text)
        for text in (
            message.sender,
            _subject(message),
            message.provider_id,
            message.profile_name,
            message.wa_id,
            message.automatic,
            *message.media_urls,
            *(
                str(a["filename"]) + str(a["content_type"]) + str(a.get("key", ""))
                for a in attachments
            ),
        )
    )
    body = message.body
    raw = zlib.compress(message.raw, 6) if message.raw else None
    if raw is not None and (
        len(raw) > MAX_RAW_BYTES
        or others + len(raw) + min(utf8_len(body), MAX_BODY_BYTES) > ITEM_BUDGET
    ):
        dropped.append(f"the original message ({len(message.raw or b'')} bytes)")
        raw = None
    room = max(0, min(MAX_BODY_BYTES, ITEM_BUDGET - others - len(raw or b"")))
    if utf8_len(body) > room:
        kept = cut_utf8(body, room)
        dropped.append(f"text after {utf8_len(kept)} of {utf8_len(body)} bytes")
        body = kept
    if any(a.key is None for a in message.attachments):
        dropped.append("attachment contents (names, types and sizes are kept)")
    return _Fitted(body, raw, attachments, "; ".join(dropped) or None)


def _short(attachment: Attachment) -> Attachment:
    return Attachment(
        cut_utf8(attachment.filename, MAX_NAME_BYTES),
        cut_utf8(attachment.content_type, MAX_NAME_BYTES),
        attachment.size,
        attachment.key,
    )


def _listed(attachment: Attachment) -> dict[str, object]:
    """As the item lists it: name, type, size, and the bucket key where the bytes are."""
    listed = vars(attachment).copy()
    if listed.get("key") is None:
        listed.pop("key", None)
    return listed


def _message_item(store_id: str, message: InboundMessage, plan: InboundPlan) -> MessageItem:
    now = message.received_at
    message_id = message_id_for(store_id, message.provider_id)
    fitted = _fit(message)
    return MessageItem(
        thread_pk(store_id, plan.thread_id),
        message_sort_key(now, message_id),
        message_id=message_id,
        direction="in",
        author=message.sender,
        body=fitted.body,
        media_urls=list(message.media_urls),
        provider_id=message.provider_id,
        profile_name=message.profile_name,
        wa_id=message.wa_id,
        created_at=now,
        subject=_subject(message),
        email_message_id=message.provider_id if message.subject is not None else None,
        attachments=fitted.attachments or None,
        raw_email=fitted.raw,
        dropped=fitted.dropped,
        automatic=message.automatic,
        acknowledge=plan.acknowledged_at is not None,
        answer_by_job=plan.answer_by_job,
        call=asdict(message.call) if message.call is not None else None,
    )


def _new_thread(store_id: str, message: InboundMessage, plan: InboundPlan) -> ThreadItem:
    now = message.received_at
    return ThreadItem(
        thread_pk(store_id, plan.thread_id),
        META,
        store_id=store_id,
        thread_id=plan.thread_id,
        channel=message.channel.value,
        customer=message.sender,
        store_address=message.recipient,
        created_at=now,
        updated_at=now,
        response_due_at=plan.due_at,
        response_target=plan.response_target,
        resolution_due_at=plan.resolution_due_at,
        promise_started_at=now,
        last_inbound_at=now,
        message_count=1,
        profile_name=message.profile_name,
        subject=_subject(message),
        previous_thread_id=plan.previous_thread_id,
    )


def _pointer(
    store_id: str, message: InboundMessage, plan: InboundPlan, customer: CustomerItem | None
) -> CustomerItem:
    """The customer's item, now pointing at the plan's thread."""
    if customer is None:
        customer = CustomerItem(customer_pk(store_id, message.sender), META)
    if plan.new_thread:
        if customer.threads is None and customer.open_thread_id is not None:
            customer.threads_before_count = True  # an address older than the count:
            customer.threads = 1  # its open (or last) thread is the one we know of
        customer.threads = int(customer.threads or 0) + 1
        customer.responded = False
        customer.priority = None
    customer.open_thread_id = plan.thread_id
    customer.closed_at = None
    customer.survey_thread_id = None
    customer.answered_automatically = False
    customer.last_message_at = message.received_at
    customer.opted_out = plan.opted_out
    customer.due_at = plan.due_at
    if message.reply_to:
        customer.reply_to = message.reply_to
    if message.identity:
        customer.verified_email = message.identity
    if plan.acknowledged_at:
        customer.last_ack_at = plan.acknowledged_at
        customer.ack_day = plan.ack_day
        customer.ack_count = plan.ack_count
        customer.language = plan.language
    return customer


class InboundStore(_dynamo.Table):
    def record_inbound(
        self,
        store_id: str,
        message: InboundMessage,
        plan: InboundPlan,
        customer: CustomerItem | None,
        counts: Counts | None = None,
        caps: Sequence[RateCap] = (),
    ) -> MessageItem:
        """One transaction: marker (once only), message, its pending follow-ups, thread,
        customer pointer, the store's hourly counter when it acknowledges, the report's
        `counts` (added once, with the marker), and the caller's `caps` (RateCapReached
        when one is full). A failed condition names its part; a
        conflict with another transaction is retried (see CONFLICT_BUDGET_SECONDS)."""
        started, attempt = time.monotonic(), 0
        while True:
            try:
                return self._record_inbound(store_id, message, plan, customer, counts, caps)
            except TransactionConflict:
                wait = random.uniform(0, CONFLICT_FIRST_WAIT_SECONDS * 2**attempt)  # noqa: S311
                if time.monotonic() - started + wait > CONFLICT_BUDGET_SECONDS:
                    raise
                attempt += 1
                log.info("inbound transaction conflicted, retrying: attempt=%d", attempt)
                time.sleep(wait)

    def _record_inbound(
        self,
        store_id: str,
        message: InboundMessage,
        plan: InboundPlan,
        customer: CustomerItem | None,
        counts: Counts | None = None,
        caps: Sequence[RateCap] = (),
    ) -> MessageItem:
        now = message.received_at
        item = _message_item(store_id, message, plan)
        once = marker(store_id, message.provider_id, plan.thread_id, item.sk, now)
        pointer = _pointer(store_id, message, plan, customer)
        parts: list[str] = []
        try:
            with TransactWrite(connection=self.connection) as tx:
                tx.save(once, condition=MarkerItem.pk.does_not_exist())
                parts.append("marker")
                if message.call and message.call.call_sid != message.provider_id:
                    # A voicemail also marks its call (unconditionally: a voicemail is never
                    # refused), so the call's StatusCallback job stores no missed call.
                    tx.save(marker(store_id, message.call.call_sid, plan.thread_id, item.sk, now))
                    parts.append("call")
                tx.save(item)
                parts.append("message")
                # Deleted by its notification job; the sweep's cue if the jobs never run.
                tx.save(pending_marker(store_id, plan.thread_id, item.sk, now))
                parts.append("pending")
                if plan.new_thread:
                    tx.save(
                        _new_thread(store_id, message, plan),
                        condition=ThreadItem.pk.does_not_exist(),
                    )
                else:
                    tx.update(
                        ThreadItem(item.pk, META),
                        actions=[
                            *transition_actions(plan.follow_up(now)),
                            ThreadItem.last_inbound_at.set(now),
                            ThreadItem.message_count.add(1),
                        ],
                        condition=ThreadItem.pk.exists(),
                    )
                parts.append("thread")
                tx.save(pointer)
                parts.append("customer")
                if plan.acknowledged_at and plan.store_hourly_cap is not None:
                    tx.update(
                        _hourly_counter(store_id, now),
                        actions=[
                            CounterItem.sent.add(1),
                            CounterItem.expires_at.set(int((now + timedelta(days=2)).timestamp())),
                        ],
                        condition=CounterItem.sent.does_not_exist()
                        | (CounterItem.sent < plan.store_hourly_cap),
                    )
                    parts.append("counter")
                for cap in caps:
                    if cap.new_thread_only and not plan.new_thread:
                        continue
                    tx.update(
                        _cap_counter(store_id, cap, now),
                        actions=[
                            CounterItem.sent.add(1),
                            CounterItem.expires_at.set(int((now + timedelta(days=2)).timestamp())),
                        ],
                        condition=CounterItem.sent.does_not_exist()
                        | (CounterItem.sent < cap.limit),
                    )
                    parts.append(f"cap:{cap.key}")
                add_counts(tx, store_id, counts)  # last: unnamed, after every named part
        except TransactWriteError as exc:
            failed = _dynamo.failed_parts(exc, parts)
            if "marker" in failed:
                raise already_recorded(once.pk) from exc
            if full := sorted(p for p in failed if p.startswith("cap:")):
                raise RateCapReached(full[0].removeprefix("cap:")) from exc
            if failed == {"counter"}:
                raise StoreCapReached(store_id) from exc
            if failed:
                # Which item's condition failed is not reliably reported (the emulator
                # blames the customer when the thread is missing): look.
                if not plan.new_thread and _dynamo.get(ThreadItem, item.pk, META) is None:
                    raise ThreadGone(plan.thread_id) from exc
                raise ConcurrentChange(str(exc)) from exc
            if _dynamo.conflicted(exc):
                raise TransactionConflict(f"recording the message conflicted: {exc}") from exc
            raise StorageError(f"recording the message failed: {exc}") from exc
        except PynamoDBException as exc:
            raise StorageError(f"recording the message failed: {exc}") from exc
        return item

    def record_rating(
        self,
        store_id: str,
        message: InboundMessage,
        thread_id: str,
        rating: int,
        counts: Counts | None = None,
    ) -> MessageItem:
        """The customer's answer to the survey: kept on the closed thread, once, as its
        rating (and in the report's `counts`, once with it)."""
        now = message.received_at
        message_id = message_id_for(store_id, message.provider_id)
        pk = thread_pk(store_id, thread_id)
        item = MessageItem(
            pk,
            message_sort_key(now, message_id),
            message_id=message_id,
            direction="in",
            author=message.sender,
            body=cut_utf8(message.body, MAX_BODY_BYTES),
            provider_id=message.provider_id,
            created_at=now,
            email_message_id=message.provider_id if message.subject is not None else None,
            automatic="survey rating",
        )
        once = marker(store_id, message.provider_id, thread_id, item.sk, now)
        try:
            with TransactWrite(connection=self.connection) as tx:
                tx.save(once, condition=MarkerItem.pk.does_not_exist())
                tx.save(item)
                tx.update(
                    ThreadItem(pk, META),
                    actions=[ThreadItem.rating.set(rating), ThreadItem.rated_at.set(now)],
                    condition=ThreadItem.pk.exists(),
                )
                tx.update(
                    CustomerItem(customer_pk(store_id, message.sender), META),
                    actions=[CustomerItem.survey_thread_id.remove()],
                    condition=CustomerItem.pk.exists(),
                    add_version_condition=False,
                )
                add_counts(tx, store_id, counts)
        except TransactWriteError as exc:
            if "marker" in _dynamo.failed_parts(exc, ["marker"]):
                raise already_recorded(once.pk) from exc
            raise StorageError(f"recording the rating failed: {exc}") from exc
        except PynamoDBException as exc:
            raise StorageError(f"recording the rating failed: {exc}") from exc
        return item
