"""Flow 1: a customer's message arrives (SMS, WhatsApp or e-mail)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib import logs
from chalicelib.domain import report_counts
from chalicelib.domain.ack import acknowledgement, next_opening
from chalicelib.domain.errors import UnknownDestination
from chalicelib.domain.inbound import CustomerSnapshot, InboundPlan, plan_inbound
from chalicelib.domain.messages import InboundMessage
from chalicelib.domain.survey import parse_rating
from chalicelib.domain.thread import ThreadStatus
from chalicelib.flows.retention import retention_job_for
from chalicelib.queues import Job, JobKind
from chalicelib.store import customers
from chalicelib.store.inbound import RateCap
from chalicelib.store.models import CustomerItem
from chalicelib.store.repository import (
    AlreadyRecorded,
    ConcurrentChange,
    StorageError,
    StoreCapReached,
    ThreadGone,
)
from chalicelib.stores import StoreConfig

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Stored:
    plan: InboundPlan | None
    """None for a redelivery or a rating: nothing new was decided."""
    thread_id: str
    message_sk: str
    rating: int | None = None


def _survey_answer(
    customer: CustomerSnapshot | None, message: InboundMessage, thread_id: str | None
) -> int | None:
    """The customer's own reply, on the thread we asked about, that is only a rating."""
    if customer is None or thread_id is None or customer.survey_thread_id != thread_id:
        return None
    if message.automatic is not None:
        return None
    return parse_rating(message.body)


def store_inbound(
    c: Container,
    store: StoreConfig,
    message: InboundMessage,
    *,
    thread_id: str | None = None,
    pending_due: datetime | None = None,
    answered_before: bool = False,
    priority: str | None = None,
    previous_thread_id: str | None = None,
    follow_pointer: bool = False,
    acknowledge_in_response: bool = True,
    may_acknowledge: bool = True,
    caps: Sequence[RateCap] = (),
) -> Stored:
    """Store once, then queue the follow-up jobs (one SQS request for all of them).

    `follow_pointer`: join the customer's open thread (SMS/WhatsApp, where a conversation
    is simply the customer's messages); e-mail threads by its headers instead.
    `acknowledge_in_response=False`: nobody reads this request's answer (a parked request
    replayed), so a channel that acknowledges in its answer gets the job instead.
    `may_acknowledge=False`: the channel's rules forbid an acknowledgement (a call's text
    back refused: flows/receive_voice.py).
    `caps`: counted in the message's transaction; RateCapReached (nothing stored) when full.
    """
    window = timedelta(days=store.reopen_window_days)
    store_capped = False
    expired: str | None = None
    for _ in range(MAX_ATTEMPTS + 1):  # one more: a capped store's retry is not a conflict
        pointer = c.repository.customer(store.store_id, message.sender)
        customer = customers.snapshot(pointer)
        reopening = False
        if follow_pointer and customer is not None and customer.open_thread_id:
            closed_at = customer.closed_at
            if customer.open_thread_id == expired:
                thread_id, previous_thread_id = None, expired
            elif closed_at is not None and message.received_at - closed_at > window:
                previous_thread_id = customer.open_thread_id
            else:
                thread_id, pending_due = customer.open_thread_id, customer.due_at
                answered_before = bool(customer.responded)
                priority = customer.priority
                reopening = closed_at is not None
        elif thread_id is not None and customer is not None:
            reopening = customer.open_thread_id == thread_id and customer.closed_at is not None
        if (rating := _survey_answer(customer, message, thread_id)) is not None:
            assert thread_id is not None
            agent = pointer.survey_agent if pointer is not None else None
            return _record_rating(c, store, message, thread_id, rating, agent)
        plan = plan_inbound(
            store,
            customer,
            message,
            thread_id=thread_id,
            pending_due=pending_due,
            answered_before=answered_before,
            priority=priority,
            previous_thread_id=previous_thread_id,
            reopening=reopening,
            store_capped=store_capped,
            may_acknowledge=may_acknowledge,
        )
        try:
            stored = c.repository.record_inbound(
                store.store_id,
                message,
                plan,
                pointer,
                _inbound_counts(store, message, plan, pointer),
                caps=caps,
            )
        except ConcurrentChange:
            continue
        except StoreCapReached:
            # Stored all the same, on the next attempt; only the acknowledgement is dropped.
            log.warning(
                "store's hourly cap on automatic messages reached: store=%s", store.store_id
            )
            store_capped = True
            continue
        except AlreadyRecorded as duplicate:
            log.info("redelivered message: store=%s", store.store_id)
            _finish_redelivery(c, store, duplicate, acknowledge_in_response)
            return Stored(None, duplicate.thread_id, duplicate.message_sk)
        except ThreadGone:
            # Expired by the store's retention while the pointer still named it.
            expired = thread_id
            previous_thread_id, thread_id, pending_due = thread_id, None, None
            answered_before, priority = False, None
            continue
        ack_by_job = bool(plan.acknowledged_at) and not (
            acknowledge_in_response and c.channels[message.channel].acknowledges_in_response
        )
        jobs = _follow_ups(
            store,
            plan.thread_id,
            stored.sk,
            plan.answer_by_job,
            ack_by_job,
            notify_after_ack=notifies_after_text_back(store, message.call is not None),
            keep_recording=message.call is not None and message.call.recording_url is not None,
        )
        if reopening:  # a closed thread is kept again: its retention no longer runs
            jobs.append(retention_job_for(store.store_id, plan.thread_id))
        c.jobs.send_all(jobs)
        log.info(
            "inbound message stored: store=%s thread=%s new=%s ack=%s",
            store.store_id,
            plan.thread_id,
            plan.new_thread,
            plan.acknowledged_at is not None,
        )
        return Stored(plan, plan.thread_id, stored.sk)
    raise StorageError(
        "the customer's thread kept changing; giving up so that the provider retries"
    )


def _inbound_counts(
    store: StoreConfig, message: InboundMessage, plan: InboundPlan, pointer: CustomerItem | None
) -> report_counts.Counts | None:
    """What this message adds to the weekly report, in its own transaction: a customer's
    (not an auto-reply's) message by hour, a new conversation by channel, and a customer
    coming back to a person after an automatic answer."""
    timezone = store.calendar.timezone
    adds: list[dict[str, int]] = []
    if message.automatic is None:
        adds.append(
            report_counts.inbound(report_counts.local_day_hour(message.received_at, timezone)[1])
        )
    if plan.new_thread:
        adds.append(report_counts.conversation_started(message.channel.value))
    elif (
        pointer is not None
        and pointer.answered_automatically
        and pointer.open_thread_id == plan.thread_id
    ):
        adds.append(report_counts.BACK_TO_A_PERSON)
    return report_counts.counts_at(
        message.received_at, timezone, plan.thread_id, report_counts.combine(*adds)
    )


def notifies_after_text_back(store: StoreConfig, is_call: bool) -> bool:
    """A call's text back waits for a line-type lookup (`voice.lookup_line_type`), and the
    agents' notification says what it decided: the text-back job queues the notification
    (flows/deliver.py), not the webhook."""
    return is_call and store.voice.lookup_line_type


def _follow_ups(
    store: StoreConfig,
    thread_id: str,
    message_sk: str,
    answer_by_job: bool,
    ack_by_job: bool,
    notify_after_ack: bool = False,
    *,
    keep_recording: bool = False,
) -> list[Job]:
    """The jobs a stored message needs: the answer job (which acknowledges and notifies
    when it cannot answer), or the agents' notification and an e-mail's acknowledgement
    (`notify_after_ack`: the acknowledgement's job queues the notification itself).
    A voicemail not yet kept: the job that keeps it queues what follows (the notification,
    or a text back that waits for a lookup and then notifies), so that the agents' link is
    to our copy (flows/voicemail.py)."""
    if answer_by_job:
        return [Job(JobKind.ANSWER, store.store_id, thread_id, message_sk)]
    jobs = []
    if keep_recording:
        jobs.append(Job(JobKind.KEEP_RECORDING, store.store_id, thread_id, message_sk))
        if notify_after_ack and ack_by_job:
            return jobs  # the keep job queues the text back, which notifies
    elif not (notify_after_ack and ack_by_job):
        jobs.append(Job(JobKind.NOTIFY_AGENTS, store.store_id, thread_id, message_sk))
    if ack_by_job:
        jobs.append(Job(JobKind.ACK_EMAIL, store.store_id, thread_id, message_sk))
    return jobs


def _finish_redelivery(
    c: Container, store: StoreConfig, duplicate: AlreadyRecorded, acknowledge_in_response: bool
) -> None:
    """Stored before, but the first attempt may have failed before its follow-ups: queue
    them again (the jobs are idempotent) and keep a reopened thread from expiring.

    An SMS's acknowledgement went in the first attempt's answer, if at all; a replayed one
    (`acknowledge_in_response=False`) follows a first attempt that failed, so that answer
    carried none: the job sends it (once: it is recorded under the message's id)."""
    stored = c.repository.message(store.store_id, duplicate.thread_id, duplicate.message_sk)
    jobs = _follow_ups(
        store,
        duplicate.thread_id,
        duplicate.message_sk,
        answer_by_job=stored is not None and bool(stored.answer_by_job),
        ack_by_job=stored is not None
        and bool(stored.acknowledge)
        and (stored.subject is not None or not acknowledge_in_response),
        notify_after_ack=notifies_after_text_back(store, stored is not None and bool(stored.call)),
        keep_recording=stored is not None
        and bool((stored.call or {}).get("recording_url"))
        and stored.recording_state is None,
    )
    thread = c.repository.thread(store.store_id, duplicate.thread_id)
    if thread and thread.status != ThreadStatus.CLOSED and thread.expires_at is not None:
        # The reopen's first attempt died before its retention job was queued.
        jobs.append(retention_job_for(store.store_id, duplicate.thread_id))
    c.jobs.send_all(jobs)


def requeue_follow_ups(c: Container, store: StoreConfig, thread_id: str, message_sk: str) -> None:
    """The recovery sweep's way in (flows/recovery.py): as for a redelivery. An SMS's
    acknowledgement is taken as given in the webhook's answer: the sweep cannot know, and
    a second acknowledgement is worse than none (the agents are told either way)."""
    _finish_redelivery(
        c, store, AlreadyRecorded(thread_id, message_sk), acknowledge_in_response=True
    )


def _record_rating(
    c: Container,
    store: StoreConfig,
    message: InboundMessage,
    thread_id: str,
    rating: int,
    agent: str | None,
) -> Stored:
    counts = report_counts.counts_at(
        message.received_at,
        store.calendar.timezone,
        thread_id,
        report_counts.rating(rating, agent),
        low=report_counts.low_rated_entry(rating, message.channel.value, thread_id),
    )
    try:
        item = c.repository.record_rating(store.store_id, message, thread_id, rating, counts)
    except AlreadyRecorded as duplicate:
        return Stored(None, duplicate.thread_id, duplicate.message_sk)
    log.info("survey answered: store=%s thread=%s rating=%s", store.store_id, thread_id, rating)
    c.jobs.send_all([retention_job_for(store.store_id, thread_id)])  # it expires with it
    return Stored(None, thread_id, item.sk, rating=rating)


def receive_message(
    c: Container, message: InboundMessage, *, acknowledge_in_response: bool = True
) -> str | None:
    """SMS/WhatsApp: store, and return the acknowledgement for the TwiML answer, if any
    (with `acknowledge_in_response=False`, a job sends it instead and None is returned)."""
    store = c.stores.by_number(message.recipient)
    if store is None:
        raise UnknownDestination("no store is configured for the number this message was sent to")
    logs.bind_message(store.store_id, message.provider_id)
    stored = store_inbound(
        c, store, message, follow_pointer=True, acknowledge_in_response=acknowledge_in_response
    )
    plan = stored.plan
    if (
        not acknowledge_in_response
        or plan is None
        or not plan.acknowledged_at
        or plan.answer_by_job
    ):
        return None
    return acknowledgement(
        store_name=store.name,
        deadline=plan.due_at,
        opens=next_opening(store.calendar, message.received_at),
        timezone=store.calendar.timezone,
        language=plan.language or store.locale,
        now=message.received_at,
        overrides=store.ack_templates,
    )
