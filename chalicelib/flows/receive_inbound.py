"""Flow 1: a customer's SMS or WhatsApp message arrives."""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING

from chalicelib.config import StoreConfig
from chalicelib.domain.ack import acknowledgement_text, first_response_due, should_acknowledge
from chalicelib.domain.errors import UnknownDestination
from chalicelib.domain.messages import InboundMessage, opt_keyword
from chalicelib.queues import Job, JobKind
from chalicelib.store.models import CustomerItem
from chalicelib.store.repository import (
    AlreadyRecorded,
    ConcurrentChange,
    InboundPlan,
    StorageError,
)

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


def plan_inbound(
    store: StoreConfig, customer: CustomerItem | None, message: InboundMessage
) -> InboundPlan:
    """Which thread, what is promised, and whether to acknowledge: decided, not yet stored."""
    now = message.received_at
    new_thread = customer is None or customer.open_thread_id is None
    keyword = opt_keyword(message.body)
    was_opted_out = bool(customer and customer.opted_out)
    opted_out = (keyword == "out") if keyword else was_opted_out
    due = customer.due_at if customer is not None and not new_thread else None
    if due is None:
        due = first_response_due(store.calendar, now, store.first_response_minutes)
    acknowledge = keyword is None and should_acknowledge(
        new_thread=new_thread,
        opted_out=opted_out,
        last_ack_at=customer.last_ack_at if customer else None,
        now=now,
        cooldown_minutes=store.ack_cooldown_minutes,
    )
    thread_id = secrets.token_hex(8) if new_thread or customer is None else customer.open_thread_id
    assert thread_id is not None
    return InboundPlan(
        thread_id=thread_id,
        new_thread=new_thread,
        due_at=due,
        acknowledged_at=now if acknowledge else None,
        opted_out=opted_out,
    )


def receive_message(c: Container, message: InboundMessage) -> str | None:
    """Store the message once and queue the agents' notification; return the ack, if any."""
    store = c.stores.by_number(message.recipient)
    if store is None:
        raise UnknownDestination("no store is configured for the number this message was sent to")
    for _ in range(MAX_ATTEMPTS):
        customer = c.repository.customer(store.store_id, message.sender)
        plan = plan_inbound(store, customer, message)
        try:
            stored = c.repository.record_inbound(store.store_id, message, plan, customer)
        except ConcurrentChange:
            continue
        except AlreadyRecorded as duplicate:
            # Stored before, but the earlier attempt may have failed before queueing.
            # The job is idempotent, so queueing it again is always safe.
            log.info("redelivered message ignored: store=%s", store.store_id)
            c.jobs.send(
                Job(
                    JobKind.NOTIFY_AGENTS, store.store_id, duplicate.thread_id, duplicate.message_sk
                )
            )
            return None
        c.jobs.send(Job(JobKind.NOTIFY_AGENTS, store.store_id, plan.thread_id, stored.sk))
        log.info(
            "inbound message stored: store=%s thread=%s new=%s",
            store.store_id,
            plan.thread_id,
            plan.new_thread,
        )
        if plan.acknowledged_at is None:
            return None
        return acknowledgement_text(
            store.ack_template,
            store_name=store.name,
            deadline=plan.due_at,
            timezone=store.calendar.timezone,
            locale=store.locale,
            now=message.received_at,
        )
    raise StorageError(
        "the customer's thread kept changing; giving up so that the provider retries"
    )
