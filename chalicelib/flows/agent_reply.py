"""Flow 3: an answer goes to the customer: an agent's e-mailed reply, or our e-mail ack."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from chalicelib.channels.sendgrid_email import InboundEmail, OutgoingEmail
from chalicelib.config import StoreConfig
from chalicelib.domain.ack import acknowledgement, next_opening
from chalicelib.domain.automail import automatic_reason
from chalicelib.domain.commands import UnknownCommand, split_commands
from chalicelib.domain.errors import DeliveryError, MalformedRequest
from chalicelib.domain.notification import delivery_failure_text
from chalicelib.domain.reply import visible_reply
from chalicelib.domain.sla import NEXT_RESPONSE, deadline
from chalicelib.flows.timers import schedule_timers
from chalicelib.queues import Job, JobKind
from chalicelib.store.models import MessageItem, ThreadItem
from chalicelib.store.repository import AlreadyRecorded

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)

MAX_REFERENCES_HEADER = 10


def new_message_id(store: StoreConfig) -> str:
    return f"<{uuid.uuid4().hex}@{store.support_address.partition('@')[2]}>"


def accept_agent_reply(
    c: Container, store: StoreConfig, thread: ThreadItem, email: InboundEmail
) -> str:
    """The sender is a verified agent of this thread's store: strip and queue the reply."""
    if reason := automatic_reason(email.headers, email.sender):
        log.info("automatic mail to a reply address ignored: %s", reason)
        return "ignored"
    try:
        commands, text = split_commands(visible_reply(email.text))
    except UnknownCommand as exc:
        raise MalformedRequest(str(exc)) from exc
    if not text and not commands:
        raise MalformedRequest("the reply has no new text above the quoted message")
    outcome = _queue_answer(c, store, thread, email, text) if text else "updated"
    if priority := commands.get("#priority"):
        _set_priority(c, store, thread, priority)
        outcome += f", priority {priority}"
    if "#close" in commands:
        c.repository.close_thread(thread, c.clock())
        outcome += ", closed"
    elif "#pending" in commands:
        c.repository.pause_thread(thread, c.clock())
        outcome += ", pending"
    return outcome


def _set_priority(c: Container, store: StoreConfig, thread: ThreadItem, priority: str) -> None:
    """Re-plan the running response promise with the priority's target, from its start."""
    due = None
    started = thread.promise_started_at
    if thread.awaiting == "agent" and thread.status == "open" and started is not None:
        targets = store.sla.targets_for(thread.channel, priority)
        target = (
            targets.next_response
            if thread.response_target == NEXT_RESPONSE
            else targets.first_response
        )
        due = deadline(store.calendar, started, target)
    c.repository.set_priority(thread, priority, due)
    refreshed = c.repository.thread(store.store_id, thread.thread_id)
    if refreshed is not None:
        schedule_timers(c, store, refreshed)


def _queue_answer(
    c: Container, store: StoreConfig, thread: ThreadItem, email: InboundEmail, text: str
) -> str:
    try:
        stored = c.repository.record_outbound(
            thread,
            provider_id=email.message_id,
            author=email.sender,
            author_name=email.sender_name or None,
            body=text,
            at=c.clock(),
            email_message_id=new_message_id(store) if thread.channel == "email" else None,
        )
        message_sk, outcome = stored.sk, "queued"
    except AlreadyRecorded as duplicate:
        message_sk, outcome = duplicate.message_sk, "duplicate"
    c.jobs.send_all([Job(JobKind.DELIVER_REPLY, store.store_id, thread.thread_id, message_sk)])
    log.info("agent reply %s: store=%s thread=%s", outcome, store.store_id, thread.thread_id)
    return outcome


def deliver_agent_reply(c: Container, job: Job) -> None:
    store = c.stores.by_id(job.store_id)
    thread = c.repository.thread(job.store_id, job.thread_id) if store else None
    message = c.repository.message(job.store_id, job.thread_id, job.message_sk) if thread else None
    if store is None or thread is None or message is None:
        log.warning("deliver job for an unknown reply dropped")
        return
    deliver(c, store, thread, message)


def send_email_ack(c: Container, job: Job) -> None:
    """The e-mail acknowledgement, threaded under the customer's mail (RFC 3834 marked)."""
    store = c.stores.by_id(job.store_id)
    thread = c.repository.thread(job.store_id, job.thread_id) if store else None
    inbound = c.repository.message(job.store_id, job.thread_id, job.message_sk) if thread else None
    if store is None or thread is None or inbound is None or thread.response_due_at is None:
        log.warning("ack job for an unknown message dropped")
        return
    ack_id = f"<ack.{inbound.message_id}@{store.support_address.partition('@')[2]}>"
    customer = c.repository.customer(store.store_id, thread.customer)
    text = acknowledgement(
        store_name=store.name,
        deadline=thread.response_due_at,
        opens=next_opening(store.calendar, inbound.created_at),
        timezone=store.calendar.timezone,
        language=(customer.language if customer else None) or store.locale,
        now=inbound.created_at,
        overrides=store.ack_templates,
    )
    try:
        ack = c.repository.record_outbound(
            thread,
            provider_id=ack_id,
            author=store.support_address,
            body=text,
            at=c.clock(),
            email_message_id=ack_id,
            automatic="acknowledgement",
        )
    except AlreadyRecorded as duplicate:
        existing = c.repository.message(store.store_id, thread.thread_id, duplicate.message_sk)
        if existing is None:
            return
        ack = existing
    deliver(c, store, thread, ack)


def deliver(c: Container, store: StoreConfig, thread: ThreadItem, message: MessageItem) -> None:
    """Send a queued answer. A transient failure raises (SQS retries, then dead-letters);
    a permanent one is recorded and, for a person's reply, reported to them by e-mail."""
    if message.delivery_status != "queued":
        return
    try:
        if thread.channel == "email":
            provider_id = _send_email(c, store, thread, message)
        else:
            customer = c.repository.customer(store.store_id, thread.customer)
            if customer is not None and customer.opted_out:
                raise DeliveryError("the customer has opted out (STOP)", permanent=True)
            provider_id = c.messenger.send(
                sender=thread.store_address, to=thread.customer, body=message.body
            )
    except DeliveryError as exc:
        if not exc.permanent:
            raise
        log.warning("answer undeliverable: thread=%s code=%s", thread.thread_id, exc.code)
        c.repository.mark_failed(message, str(exc))
        if not message.automatic:
            _report_failure(c, store, thread, message, str(exc))
        return
    c.repository.mark_delivered(thread, message, provider_id=provider_id, at=c.clock())
    log.info("answer delivered: store=%s thread=%s", store.store_id, thread.thread_id)


def _send_email(c: Container, store: StoreConfig, thread: ThreadItem, message: MessageItem) -> str:
    """An e-mail that threads in the customer's client: Re: subject, In-Reply-To their
    latest mail, References the chain, our own Message-ID."""
    history = c.repository.messages(store.store_id, thread.thread_id)
    earlier = [m for m in history if m.email_message_id and m.sk != message.sk]
    message_id = message.email_message_id or new_message_id(store)
    headers = {"Message-ID": message_id}
    latest_customer = next(
        (m.email_message_id for m in reversed(earlier) if m.direction == "in"), None
    )
    if latest_customer:
        headers["In-Reply-To"] = latest_customer
    if earlier:
        chain = [m.email_message_id for m in earlier if m.email_message_id]
        headers["References"] = " ".join(chain[-MAX_REFERENCES_HEADER:])
    if message.automatic:
        headers["Auto-Submitted"] = "auto-replied"
    subject = thread.subject or ""
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}".strip()
    c.mailer.send(
        OutgoingEmail(
            from_email=store.support_address,
            from_name=f"{message.author_name} ({store.name})"
            if message.author_name
            else store.name,
            to=(thread.customer,),
            subject=subject,
            text=message.body,
            headers=headers,
        )
    )
    return message_id


def _report_failure(
    c: Container, store: StoreConfig, thread: ThreadItem, message: MessageItem, reason: str
) -> None:
    c.mailer.send(
        OutgoingEmail(
            from_email=store.support_address,
            from_name=f"{store.name} (relaydesk)",
            to=(message.author,),
            subject=f"Not delivered: your reply to {thread.customer.removeprefix('whatsapp:')}",
            text=delivery_failure_text(
                customer=thread.customer, channel=thread.channel, reason=reason, body=message.body
            ),
            headers={"Auto-Submitted": "auto-generated"},
        )
    )
