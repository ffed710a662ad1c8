"""Flow 3: an agent answers by replying to the notification e-mail."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from chalicelib.channels.sendgrid_email import InboundEmail, OutgoingEmail
from chalicelib.domain import tokens
from chalicelib.domain.automail import automatic_reason
from chalicelib.domain.errors import (
    DeliveryError,
    MalformedRequest,
    UnknownDestination,
    VerificationFailed,
)
from chalicelib.domain.notification import delivery_failure_text
from chalicelib.domain.reply import visible_reply
from chalicelib.queues import Job, JobKind
from chalicelib.store.repository import AlreadyRecorded

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)


def accept_agent_reply(c: Container, email: InboundEmail) -> str:
    """Verify, strip and queue the reply for delivery. Returns what happened, for the log."""
    domain = c.settings.reply_domain
    token = next(
        (t for r in email.recipients if (t := tokens.token_from_address(r, domain)) is not None),
        None,
    )
    if token is None:
        raise UnknownDestination(f"no reply+<token>@{domain} recipient in this mail")
    verified = tokens.verify(c.reply_secret, token)
    if verified is None:
        raise VerificationFailed("the reply address's token does not verify")
    store_id, thread_id = verified
    store = c.stores.by_id(store_id)
    if store is None or not store.is_agent(email.sender):
        raise VerificationFailed("the sender is not an agent of this thread's store")
    if reason := automatic_reason(email.headers, email.sender):
        log.info("automatic mail to a reply address ignored: %s", reason)
        return "ignored"
    thread = c.repository.thread(store_id, thread_id)
    if thread is None:
        raise UnknownDestination("the thread this reply belongs to does not exist")
    text = visible_reply(email.text)
    if not text:
        raise MalformedRequest("the reply has no new text above the quoted message")
    try:
        stored = c.repository.record_outbound(
            thread, provider_id=email.message_id, author=email.sender, body=text, at=c.clock()
        )
    except AlreadyRecorded as duplicate:
        c.jobs.send(Job(JobKind.DELIVER_REPLY, store_id, thread_id, duplicate.message_sk))
        return "duplicate"
    c.jobs.send(Job(JobKind.DELIVER_REPLY, store_id, thread_id, stored.sk))
    log.info("agent reply queued: store=%s thread=%s", store_id, thread_id)
    return "queued"


def deliver_agent_reply(c: Container, job: Job) -> None:
    """Send a queued reply. A transient failure raises (SQS retries, then dead-letters);
    a permanent one is recorded and reported to the agent by e-mail."""
    store = c.stores.by_id(job.store_id)
    thread = c.repository.thread(job.store_id, job.thread_id) if store else None
    message = c.repository.message(job.store_id, job.thread_id, job.message_sk) if thread else None
    if store is None or thread is None or message is None:
        log.warning("deliver job for an unknown reply dropped")
        return
    if message.delivery_status != "queued":
        return
    customer = c.repository.customer(store.store_id, thread.customer)
    try:
        if customer is not None and customer.opted_out:
            raise DeliveryError("the customer has opted out (STOP)", permanent=True)
        sid = c.messenger.send(sender=thread.store_address, to=thread.customer, body=message.body)
    except DeliveryError as exc:
        if not exc.permanent:
            raise
        log.warning("agent reply undeliverable: thread=%s code=%s", thread.thread_id, exc.code)
        c.repository.mark_failed(message, str(exc))
        c.mailer.send(
            OutgoingEmail(
                from_email=store.support_address,
                from_name=f"{store.name} (relaydesk)",
                to=(message.author,),
                subject=f"Not delivered: your reply to {thread.customer.removeprefix('whatsapp:')}",
                text=delivery_failure_text(
                    customer=thread.customer,
                    channel=thread.channel,
                    reason=str(exc),
                    body=message.body,
                ),
                headers={"Auto-Submitted": "auto-generated"},
            )
        )
        return
    c.repository.mark_delivered(thread, message, provider_id=sid, at=c.clock())
    log.info("agent reply delivered: store=%s thread=%s", store.store_id, thread.thread_id)
