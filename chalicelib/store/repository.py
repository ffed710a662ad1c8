"""Repository: every DynamoDB read and write of relaydesk, scoped by store."""

from __future__ import annotations

import hashlib
import secrets
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TypeVar

from pynamodb.connection import Connection
from pynamodb.exceptions import (
    DoesNotExist,
    PutError,
    PynamoDBException,
    TransactWriteError,
    UpdateError,
)
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.domain.messages import DELIVERY_FAILURES, DELIVERY_PROGRESS, InboundMessage
from chalicelib.store.models import (
    MESSAGE_PREFIX,
    META,
    CounterItem,
    CustomerItem,
    MarkerItem,
    MessageItem,
    StoreItem,
    ThreadItem,
    customer_pk,
    dynamodb_host,
    marker_pk,
    region,
    store_pk,
    thread_pk,
)

# Markers also thread e-mail replies (In-Reply-To names a stored Message-ID), so they live
# far longer than any provider's retry window.
MARKER_LIFETIME = timedelta(days=400)
# A DynamoDB item holds 400 KB; what does not fit is dropped and said so, not truncated silently.
MAX_BODY_CHARS = 100_000
MAX_REFERENCES = 20
MAX_RAW_BYTES = 250_000


class StorageError(Exception):
    """Our own infrastructure failed: the caller answers 5xx so that the provider retries."""


class AlreadyRecorded(Exception):
    """This provider message id was stored before: a redelivery."""

    def __init__(self, thread_id: str, message_sk: str) -> None:
        super().__init__(thread_id)
        self.thread_id = thread_id
        self.message_sk = message_sk


class ThreadGone(Exception):
    """The thread a follow-up joins no longer exists (the store's retention expired it)."""


class StoreCapReached(Exception):
    """The store sent as many automatic messages this hour as it allows."""


class ConcurrentChange(Exception):
    """Another request changed the customer's pointer between our read and our write."""


@dataclass(frozen=True)
class InboundPlan:
    """What the flow decided for one inbound message; the repository makes it so."""

    thread_id: str
    new_thread: bool
    due_at: datetime
    acknowledged_at: datetime | None
    opted_out: bool
    ack_day: str | None = None
    ack_count: int = 0
    previous_thread_id: str | None = None
    new_promise: bool = True
    language: str | None = None
    """The acknowledgement's language, chosen only when there is one to write."""
    response_target: str = "first_response"
    resolution_due_at: datetime | None = None
    """A new deadline starts (rather than a follow-up while one runs): new SLA epoch."""
    store_hourly_cap: int | None = None
    """With an acknowledgement: the store's cap on automatic messages per hour."""


# record_inbound's transaction: marker, message, thread, customer, then the store's counter.
COUNTER_INDEX = 4


def _hourly_counter(store_id: str, at: datetime) -> CounterItem:
    return CounterItem(store_pk(store_id), f"AUTO#{at.astimezone(UTC):%Y%m%dT%H}")


def message_sort_key(at: datetime, message_id: str) -> str:
    return f"{MESSAGE_PREFIX}{at.strftime('%Y%m%dT%H%M%S.%fZ')}#{message_id}"


def message_id_for(store_id: str, provider_id: str) -> str:
    """A stable id: the same provider message always gets the same id."""
    return hashlib.sha256(f"{store_id}\0{provider_id}".encode()).hexdigest()[:16]


def _fit(message: InboundMessage) -> tuple[str, bytes | None, str | None]:
    """Body and compressed original that fit in one item, and what was dropped."""
    dropped = []
    body = message.body
    if len(body) > MAX_BODY_CHARS:
        dropped.append(f"text after {MAX_BODY_CHARS} of {len(body)} characters")
        body = body[:MAX_BODY_CHARS]
    raw = zlib.compress(message.raw, 6) if message.raw else None
    if raw is not None and len(raw) > MAX_RAW_BYTES:
        dropped.append(f"the original message ({len(message.raw or b'')} bytes)")
        raw = None
    if message.attachments:
        dropped.append("attachment contents (names, types and sizes are kept)")
    return body, raw, "; ".join(dropped) or None


_Item = TypeVar("_Item", CustomerItem, ThreadItem, MessageItem)


def _get(model: type[_Item], pk: str, sk: str) -> _Item | None:
    """A consistent read of one item; None when absent, StorageError when DynamoDB fails."""
    try:
        return model.get(pk, sk, consistent_read=True)
    except DoesNotExist:
        return None
    except PynamoDBException as exc:
        raise StorageError(f"reading a {model.__name__} failed: {exc}") from exc


def _update(item: ThreadItem | MessageItem | StoreItem, actions: list[Action], what: str) -> None:
    """Update `item`; StorageError (the provider retries) when DynamoDB fails."""
    try:
        item.update(actions=actions)
    except PynamoDBException as exc:
        raise StorageError(f"{what} failed: {exc}") from exc


def _update_if(
    item: ThreadItem | MessageItem, actions: list[Action], condition: Condition, what: str
) -> bool:
    """Update `item` only when `condition` holds: False when it did not (someone else got
    there first), StorageError when DynamoDB failed."""
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise StorageError(f"{what} failed: {exc}") from exc
    return True


def _already_recorded(marker_key: str) -> AlreadyRecorded:
    """The marker that refused our write, read consistently: it was just written."""
    try:
        existing = MarkerItem.get(marker_key, META, consistent_read=True)
    except PynamoDBException as exc:  # DoesNotExist included: it expired in between
        raise StorageError(f"reading the marker of a redelivery failed: {exc}") from exc
    return AlreadyRecorded(existing.thread_id, existing.message_sk)


def _conditional_failures(exc: TransactWriteError) -> list[bool]:
    reasons = exc.cancellation_reasons or []
    return [bool(r and r.code == "ConditionalCheckFailed") for r in reasons]


class Repository:
    @cached_property
    def connection(self) -> Connection:
        """For transactions; built once, so its HTTP connections are reused across requests."""
        return Connection(region=region(), host=dynamodb_host())

    # -- customers -------------------------------------------------------------------------

    def customer(self, store_id: str, address: str) -> CustomerItem | None:
        return _get(CustomerItem, customer_pk(store_id, address), META)

    # -- inbound ---------------------------------------------------------------------------

    def record_inbound(
        self,
        store_id: str,
        message: InboundMessage,
        plan: InboundPlan,
        customer: CustomerItem | None,
    ) -> MessageItem:
        """One transaction: marker (once only), message, thread, customer pointer."""
        now = message.received_at
        message_id = message_id_for(store_id, message.provider_id)
        sk = message_sort_key(now, message_id)
        pk = thread_pk(store_id, plan.thread_id)
        marker = MarkerItem(
            marker_pk(store_id, message.provider_id),
            META,
            thread_id=plan.thread_id,
            message_sk=sk,
            expires_at=int((now + MARKER_LIFETIME).timestamp()),
        )
        body, raw, dropped = _fit(message)
        item = MessageItem(
            pk,
            sk,
            message_id=message_id,
            direction="in",
            author=message.sender,
            body=body,
            media_urls=list(message.media_urls),
            provider_id=message.provider_id,
            profile_name=message.profile_name,
            wa_id=message.wa_id,
            created_at=now,
            subject=message.subject,
            email_message_id=message.provider_id if message.subject is not None else None,
            attachments=[vars(a) for a in message.attachments] or None,
            raw_email=raw,
            dropped=dropped,
            automatic=message.automatic,
            acknowledge=plan.acknowledged_at is not None,
        )
        if customer is None:
            customer = CustomerItem(customer_pk(store_id, message.sender), META)
        if plan.new_thread:
            customer.responded = False
            customer.priority = None
        customer.open_thread_id = plan.thread_id
        customer.closed_at = None
        customer.survey_thread_id = None
        customer.last_message_at = now
        customer.opted_out = plan.opted_out
        customer.due_at = plan.due_at
        if plan.acknowledged_at:
            customer.last_ack_at = plan.acknowledged_at
            customer.ack_day = plan.ack_day
            customer.ack_count = plan.ack_count
            customer.language = plan.language
        try:
            with TransactWrite(connection=self.connection) as tx:
                tx.save(marker, condition=MarkerItem.pk.does_not_exist())
                tx.save(item)
                if plan.new_thread:
                    thread = ThreadItem(
                        pk,
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
                        subject=message.subject,
                        previous_thread_id=plan.previous_thread_id,
                    )
                    tx.save(thread, condition=ThreadItem.pk.does_not_exist())
                else:
                    promise: list[Action] = (
                        [
                            ThreadItem.sla_epoch.add(1),
                            ThreadItem.promise_started_at.set(now),
                            ThreadItem.response_target.set(plan.response_target),
                        ]
                        if plan.new_promise
                        else []
                    )
                    tx.update(
                        ThreadItem(pk, META),
                        actions=[
                            *promise,
                            ThreadItem.updated_at.set(now),
                            ThreadItem.awaiting.set("agent"),
                            ThreadItem.status.set("open"),
                            ThreadItem.closed_at.remove(),
                            ThreadItem.snoozed_until.remove(),
                            ThreadItem.last_inbound_at.set(now),
                            ThreadItem.message_count.add(1),
                            ThreadItem.response_due_at.set(plan.due_at),
                            *(
                                [ThreadItem.resolution_due_at.set(plan.resolution_due_at)]
                                if plan.resolution_due_at
                                else []
                            ),
                        ],
                        condition=ThreadItem.pk.exists(),
                    )
                tx.save(customer)
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
        except TransactWriteError as exc:
            failed = _conditional_failures(exc)
            if failed and failed[0]:
                raise _already_recorded(marker.pk) from exc
            if len(failed) > COUNTER_INDEX and failed[COUNTER_INDEX] and not any(failed[:-1]):
                raise StoreCapReached(store_id) from exc
            if any(failed):
                # Which item's condition failed is not reliably reported (the emulator
                # blames the customer when the thread is missing): look.
                if not plan.new_thread and self.thread(store_id, plan.thread_id) is None:
                    raise ThreadGone(plan.thread_id) from exc
                raise ConcurrentChange(str(exc)) from exc
            raise StorageError(f"recording the message failed: {exc}") from exc
        except PynamoDBException as exc:
            raise StorageError(f"recording the message failed: {exc}") from exc
        return item

    # -- threads ---------------------------------------------------------------------------

    def thread(self, store_id: str, thread_id: str) -> ThreadItem | None:
        return _get(ThreadItem, thread_pk(store_id, thread_id), META)

    def thread_for_message_ids(self, store_id: str, ids: Sequence[str]) -> str | None:
        """The thread of the first id (in the given order) that names a stored message."""
        wanted = list(dict.fromkeys(ids))[:MAX_REFERENCES]
        if not wanted:
            return None
        try:
            found = {
                m.pk: m.thread_id
                for m in MarkerItem.batch_get([(marker_pk(store_id, i), META) for i in wanted])
            }
        except PynamoDBException as exc:
            raise StorageError(f"looking up referenced messages failed: {exc}") from exc
        return next((found[k] for i in wanted if (k := marker_pk(store_id, i)) in found), None)

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

    def message(self, store_id: str, thread_id: str, message_sk: str) -> MessageItem | None:
        return _get(MessageItem, thread_pk(store_id, thread_id), message_sk)

    def mark_notified(self, messages: list[MessageItem], at: datetime) -> None:
        try:
            for item in messages:
                item.update(actions=[MessageItem.notified_at.set(at)])
        except PynamoDBException as exc:
            raise StorageError(f"marking messages notified failed: {exc}") from exc

    # -- outbound --------------------------------------------------------------------------

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
    ) -> MessageItem:
        """Queue an answer, once per `provider_id` however often it is posted.

        An e-mailed answer gets a marker for its own Message-ID too, so that the
        customer's reply to it finds the thread."""
        # An answer sorts after what it answers, even if this Lambda's clock lags.
        at = max(at, thread.updated_at + timedelta(milliseconds=1))
        message_id = message_id_for(thread.store_id, provider_id)
        sk = message_sort_key(at, message_id)
        marker = MarkerItem(
            marker_pk(thread.store_id, provider_id),
            META,
            thread_id=thread.thread_id,
            message_sk=sk,
            expires_at=int((at + MARKER_LIFETIME).timestamp()),
        )
        item = MessageItem(
            thread.pk,
            sk,
            message_id=message_id,
            direction="out",
            author=author,
            body=body,
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
                tx.save(marker, condition=MarkerItem.pk.does_not_exist())
                tx.save(item)
                if email_message_id and email_message_id != provider_id:
                    tx.save(
                        MarkerItem(
                            marker_pk(thread.store_id, email_message_id),
                            META,
                            thread_id=thread.thread_id,
                            message_sk=sk,
                            expires_at=marker.expires_at,
                        )
                    )
        except TransactWriteError as exc:
            failed = _conditional_failures(exc)
            if failed and failed[0]:
                raise _already_recorded(marker.pk) from exc
            raise StorageError(f"recording the reply failed: {exc}") from exc
        except PynamoDBException as exc:
            raise StorageError(f"recording the reply failed: {exc}") from exc
        return item

    def mark_delivered(
        self, thread: ThreadItem, message: MessageItem, *, provider_id: str, at: datetime
    ) -> None:
        """Sent. A person's answer keeps the promise and stops the clock; an automatic
        acknowledgement does neither."""
        sent: list[Action] = [
            MessageItem.delivery_status.set("sent"),
            MessageItem.outbound_provider_id.set(provider_id),
        ]
        try:
            if message.automatic:
                message.update(actions=sent)
                return
            thread_actions: list[Action] = [
                ThreadItem.awaiting.set("customer"),
                ThreadItem.updated_at.set(at),
                ThreadItem.last_response_at.set(at),
                ThreadItem.sla_epoch.add(1),
            ]
            if thread.first_response_at is None:
                thread_actions.append(ThreadItem.first_response_at.set(at))
            with TransactWrite(connection=self.connection) as tx:
                tx.update(message, actions=sent)
                tx.update(thread, actions=thread_actions)
        except PynamoDBException as exc:
            raise StorageError(f"recording the delivery failed: {exc}") from exc
        self._update_pointer_of(
            thread, [CustomerItem.due_at.remove(), CustomerItem.responded.set(True)]
        )

    def close_thread(self, thread: ThreadItem, at: datetime) -> None:
        """Closed: no promise runs; the customer's next message reopens it within the
        store's reopen window, and starts a new, linked thread after it."""
        try:
            thread.update(
                actions=[
                    ThreadItem.status.set("closed"),
                    ThreadItem.closed_at.set(at),
                    ThreadItem.snoozed_until.remove(),
                    ThreadItem.updated_at.set(at),
                    ThreadItem.sla_epoch.add(1),
                    ThreadItem.resolution_epoch.add(1),
                ]
            )
        except PynamoDBException as exc:
            raise StorageError(f"closing the thread failed: {exc}") from exc
        self._update_pointer_of(
            thread, [CustomerItem.closed_at.set(at), CustomerItem.due_at.remove()]
        )

    def reopen_thread(self, thread: ThreadItem, at: datetime) -> None:
        """An agent's `#reopen`: open again. A closed thread's resolution promise was
        settled when it closed and does not run again; a pending or snoozed thread's
        resolution clock runs on (the timers resume it)."""
        actions: list[Action] = [
            ThreadItem.status.set("open"),
            ThreadItem.updated_at.set(at),
            ThreadItem.snoozed_until.remove(),
            ThreadItem.resolution_epoch.add(1),
        ]
        if thread.status == "closed":
            actions += [ThreadItem.closed_at.remove(), ThreadItem.resolution_due_at.remove()]
        _update(thread, actions, "reopening the thread")
        self._update_pointer_of(thread, [CustomerItem.closed_at.remove()])

    def snooze_thread(self, thread: ThreadItem, until: datetime, at: datetime) -> int:
        """Snoozed until `until`: like pending, no clock runs; returns the snooze's epoch,
        which its wake-up timer carries."""
        actions: list[Action] = [
            ThreadItem.status.set("snoozed"),
            ThreadItem.snoozed_until.set(until),
            ThreadItem.snooze_epoch.add(1),
            ThreadItem.awaiting.set("customer"),
            ThreadItem.updated_at.set(at),
            ThreadItem.sla_epoch.add(1),
            ThreadItem.resolution_epoch.add(1),
        ]
        if thread.paused_at is None:
            actions.append(ThreadItem.paused_at.set(at))
        _update(thread, actions, "snoozing the thread")
        self._update_pointer_of(thread, [CustomerItem.due_at.remove()])
        return int(thread.snooze_epoch)

    def wake_thread(self, thread: ThreadItem, epoch: int, at: datetime) -> bool:
        """The snooze is over, unless the customer, an agent or a later snooze changed it."""
        return _update_if(
            thread,
            [
                ThreadItem.status.set("open"),
                ThreadItem.snoozed_until.remove(),
                ThreadItem.updated_at.set(at),
            ],
            (ThreadItem.status == "snoozed") & (ThreadItem.snooze_epoch == epoch),
            "waking the thread",
        )

    def survey_sent(self, thread: ThreadItem, at: datetime) -> None:
        """The customer's next message on this thread may be their rating."""
        _update(thread, [ThreadItem.survey_sent_at.set(at)], "recording the survey")
        self._update_pointer_of(thread, [CustomerItem.survey_thread_id.set(thread.thread_id)])

    def record_rating(
        self, store_id: str, message: InboundMessage, thread_id: str, rating: int
    ) -> MessageItem:
        """The customer's answer to the survey: kept on the closed thread, once, as its rating."""
        now = message.received_at
        message_id = message_id_for(store_id, message.provider_id)
        pk = thread_pk(store_id, thread_id)
        item = MessageItem(
            pk,
            message_sort_key(now, message_id),
            message_id=message_id,
            direction="in",
            author=message.sender,
            body=message.body[:MAX_BODY_CHARS],
            provider_id=message.provider_id,
            created_at=now,
            email_message_id=message.provider_id if message.subject is not None else None,
            automatic="survey rating",
        )
        marker = MarkerItem(
            marker_pk(store_id, message.provider_id),
            META,
            thread_id=thread_id,
            message_sk=item.sk,
            expires_at=int((now + MARKER_LIFETIME).timestamp()),
        )
        try:
            with TransactWrite(connection=self.connection) as tx:
                tx.save(marker, condition=MarkerItem.pk.does_not_exist())
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
        except TransactWriteError as exc:
            failed = _conditional_failures(exc)
            if failed and failed[0]:
                raise _already_recorded(marker.pk) from exc
            raise StorageError(f"recording the rating failed: {exc}") from exc
        except PynamoDBException as exc:
            raise StorageError(f"recording the rating failed: {exc}") from exc
        return item

    # -- the agents' side ------------------------------------------------------------------

    def next_assignment(self, store_id: str) -> int:
        """A counter per store: the round-robin's turn (1, 2, 3, ...)."""
        counter = StoreItem(store_pk(store_id), META)
        _update(counter, [StoreItem.assignments.add(1)], "counting assignments")
        return int(counter.assignments)

    def assign(self, thread: ThreadItem, agent: str, *, only_if_unassigned: bool = False) -> bool:
        """False when `only_if_unassigned` and someone else assigned it first."""
        condition = (
            ThreadItem.assignee.does_not_exist() if only_if_unassigned else ThreadItem.pk.exists()
        )
        return _update_if(
            thread, [ThreadItem.assignee.set(agent)], condition, "assigning the thread"
        )

    def add_tags(self, thread: ThreadItem, tags: Sequence[str]) -> None:
        _update(thread, [ThreadItem.tags.add(set(tags))], "tagging the thread")

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
            body=body[:MAX_BODY_CHARS],
            created_at=at,
            expires_at=thread.expires_at,
        )
        try:
            item.save()
        except PynamoDBException as exc:
            raise StorageError(f"recording the {kind} failed: {exc}") from exc
        return item

    def claim(self, store_id: str, key: str, thread_id: str, at: datetime) -> bool:
        """True the first time `key` is claimed in this store: once-only side effects."""
        marker = MarkerItem(
            marker_pk(store_id, key),
            META,
            thread_id=thread_id,
            message_sk="",
            expires_at=int((at + MARKER_LIFETIME).timestamp()),
        )
        try:
            marker.save(condition=MarkerItem.pk.does_not_exist())
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise StorageError(f"recording {key} failed: {exc}") from exc
        return True

    # -- delivery --------------------------------------------------------------------------

    def part_sent(self, thread: ThreadItem, message: MessageItem, part: int, sid: str) -> None:
        """Part `part` (1-based) went out as Twilio message `sid`: a retry resumes after it,
        and Twilio's status callbacks for `sid` find this message."""
        marker = MarkerItem(
            marker_pk(thread.store_id, sid),
            META,
            thread_id=thread.thread_id,
            message_sk=message.sk,
            expires_at=int((message.created_at + MARKER_LIFETIME).timestamp()),
        )
        try:
            with TransactWrite(connection=self.connection) as tx:
                tx.save(marker)
                tx.update(message, actions=[MessageItem.parts_sent.set(part)])
        except PynamoDBException as exc:
            raise StorageError(f"recording a sent part failed: {exc}") from exc
        message.parts_sent = part

    def message_for_provider_id(
        self, store_id: str, provider_id: str
    ) -> tuple[str, MessageItem] | None:
        """(thread id, message) of the message a provider knows by `provider_id`."""
        try:
            marker = MarkerItem.get(marker_pk(store_id, provider_id), META, consistent_read=True)
        except DoesNotExist:
            return None
        except PynamoDBException as exc:
            raise StorageError(f"reading a marker failed: {exc}") from exc
        message = self.message(store_id, marker.thread_id, marker.message_sk)
        return (marker.thread_id, message) if message else None

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
        recorded = _update_if(message, actions, condition, "recording the delivery status")
        return recorded and failed

    def set_priority(
        self, thread: ThreadItem, priority: str, response_due: datetime | None
    ) -> None:
        """A new priority re-plans the running response promise (new epoch, new timers)."""
        actions: list[Action] = [ThreadItem.priority.set(priority)]
        if response_due is not None:
            actions += [ThreadItem.response_due_at.set(response_due), ThreadItem.sla_epoch.add(1)]
        _update(thread, actions, "setting the priority")
        pointer: list[Action] = [CustomerItem.priority.set(priority)]
        if response_due is not None:
            pointer.append(CustomerItem.due_at.set(response_due))
        self._update_pointer_of(thread, pointer)

    def pause_thread(self, thread: ThreadItem, at: datetime) -> None:
        """Pending: we wait on the customer; no response is owed and the resolution
        clock stands still until they write again."""
        try:
            thread.update(
                actions=[
                    ThreadItem.status.set("pending"),
                    ThreadItem.paused_at.set(at),
                    ThreadItem.awaiting.set("customer"),
                    ThreadItem.updated_at.set(at),
                    ThreadItem.sla_epoch.add(1),
                    ThreadItem.resolution_epoch.add(1),
                ]
            )
        except PynamoDBException as exc:
            raise StorageError(f"pausing the thread failed: {exc}") from exc
        self._update_pointer_of(thread, [CustomerItem.due_at.remove()])

    def resume_resolution(self, thread: ThreadItem, due: datetime | None) -> None:
        """The customer wrote again: the resolution clock runs on from where it stopped."""
        actions: list[Action] = [ThreadItem.paused_at.remove(), ThreadItem.resolution_epoch.add(1)]
        if due is not None:
            actions.append(ThreadItem.resolution_due_at.set(due))
        _update(thread, actions, "resuming the thread")

    def _update_pointer_of(self, thread: ThreadItem, actions: list[Action]) -> None:
        """Change the customer's pointer only while it still points at this thread."""
        pointer = CustomerItem(customer_pk(thread.store_id, thread.customer), META)
        try:
            pointer.update(
                actions=actions,
                condition=CustomerItem.open_thread_id == thread.thread_id,
                add_version_condition=False,
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise StorageError(f"updating the customer failed: {exc}") from exc

    def timers_scheduled(self, thread: ThreadItem, key: str) -> None:
        _update(thread, [ThreadItem.scheduled_timers.add({key})], "recording the timers")

    def timer_fired(self, thread: ThreadItem, key: str, *, breached: bool = False) -> bool:
        """Claim a timer before it acts (and, for a breach, record when the promise was
        broken); False if another delivery of it already has."""
        actions: list[Action] = [ThreadItem.fired_timers.add({key})]
        if breached:
            attribute = (
                ThreadItem.resolution_breached_at
                if key.startswith("resolution:")
                else ThreadItem.response_breached_at
            )
            actions.append(attribute.set(datetime.now(UTC)))
        return _update_if(
            thread, actions, ~ThreadItem.fired_timers.contains(key), "recording the timer"
        )

    def timer_unfired(self, thread: ThreadItem, key: str) -> None:
        """The timer claimed but could not act (a provider failed): its retry may act."""
        _update(thread, [ThreadItem.fired_timers.delete({key})], "releasing the timer")

    def claim_sending(self, message: MessageItem, *, take_over: bool) -> bool:
        """Queued -> sending, once: False when another job holds the send (unless
        `take_over`: that job died, and SQS handed its work to this one)."""
        condition = MessageItem.delivery_status == "queued"
        if take_over:
            condition = condition | (MessageItem.delivery_status == "sending")
        return _update_if(
            message, [MessageItem.delivery_status.set("sending")], condition, "claiming a send"
        )

    def release_sending(self, message: MessageItem) -> None:
        """A transient failure: queued again, for the retry."""
        _update_if(
            message,
            [MessageItem.delivery_status.set("queued")],
            MessageItem.delivery_status == "sending",
            "releasing a send",
        )

    def failure_reported(self, message: MessageItem, at: datetime) -> None:
        _update(message, [MessageItem.failure_reported_at.set(at)], "recording the failure report")

    def mark_failed(self, message: MessageItem, reason: str) -> None:
        try:
            message.update(
                actions=[
                    MessageItem.delivery_status.set("failed"),
                    MessageItem.delivery_error.set(reason),
                ]
            )
        except PynamoDBException as exc:
            raise StorageError(f"recording the failure failed: {exc}") from exc
