"""Flow 3b (SQS jobs): an answer reaches the customer on their channel.

Channel rules live here: e-mail threads under the customer's mail; SMS/WhatsApp never go
to an opted-out number, go out in parts when longer than the channel allows, carry media
links as media where the channel can; WhatsApp free text only within 24 hours of the
customer's last message, the store's approved template outside it. A failure that no
retry can fix is recorded and told to the agent who wrote the answer; never silent.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.domain.ack import acknowledgement, next_opening
from chalicelib.domain.errors import DeliveryError
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.domain.messages import contact_of
from chalicelib.domain.notification import delivery_failure_text
from chalicelib.domain.outbound import extract_media_urls, split_message
from chalicelib.domain.survey import survey_text
from chalicelib.domain.thread import ThreadStatus
from chalicelib.flows.agent_mail import mail_staff
from chalicelib.queues import Job, JobKind
from chalicelib.store.models import MessageItem, ThreadItem
from chalicelib.store.repository import AlreadyRecorded
from chalicelib.stores import StoreConfig

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)

MAX_REFERENCES_HEADER = 10
WHATSAPP_WINDOW = timedelta(hours=24)
WHATSAPP_CLOSED_WINDOW = 63016


def new_message_id(store: StoreConfig) -> str:
    return f"<{uuid.uuid4().hex}@{store.support_address.partition('@')[2]}>"


def job_subject(c: Container, job: Job) -> tuple[StoreConfig, ThreadItem, MessageItem] | None:
    """The store, thread and message a job is about; None (logged) when any is gone."""
    store = c.stores.by_id(job.store_id)
    thread = c.repository.thread(job.store_id, job.thread_id) if store else None
    message = c.repository.message(job.store_id, job.thread_id, job.message_sk) if thread else None
    if store is None or thread is None or message is None:
        log.warning("%s job for an unknown message dropped", job.kind)
        return None
    return store, thread, message


def deliver_job(c: Container, job: Job, *, redelivered: bool = False) -> None:
    if subject := job_subject(c, job):
        deliver(c, *subject, redelivered=redelivered)


def send_email_ack(c: Container, job: Job, *, redelivered: bool = False) -> None:
    """The e-mail acknowledgement, threaded under the customer's mail (RFC 3834 marked)."""
    subject = job_subject(c, job)
    if subject is None:
        return
    store, thread, inbound = subject
    if thread.response_due_at is None:
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
    ack = _record_automatic(c, thread, ack_id, text, "acknowledgement", email_message_id=ack_id)
    if ack is not None:
        deliver(c, store, thread, ack, redelivered=redelivered)


def queue_survey(c: Container, store: StoreConfig, thread: ThreadItem) -> None:
    """Ask the customer of a just-closed thread for a 1-5 rating, once per close."""
    if not store.survey or thread.closed_at is None:
        return
    customer = c.repository.customer(store.store_id, thread.customer)
    language = (customer.language if customer else None) or store.locale
    survey_id = f"survey.{thread.thread_id}.{thread.closed_at.timestamp():.0f}"
    email_id = (
        f"<{survey_id}@{store.support_address.partition('@')[2]}>"
        if thread.channel == "email"
        else None
    )
    text = survey_text(store_name=store.name, language=language)
    survey = _record_automatic(c, thread, email_id or survey_id, text, "survey", email_id)
    if survey is None:
        return
    c.repository.survey_sent(thread, c.clock())
    c.jobs.send_all([Job(JobKind.DELIVER_REPLY, store.store_id, thread.thread_id, survey.sk)])


def _record_automatic(
    c: Container,
    thread: ThreadItem,
    provider_id: str,
    text: str,
    why: str,
    email_message_id: str | None,
) -> MessageItem | None:
    """Our own message, once per `provider_id` (a redelivered job finds the first)."""
    store = c.stores.by_id(thread.store_id)
    assert store is not None
    try:
        return c.repository.record_outbound(
            thread,
            provider_id=provider_id,
            author=store.support_address,
            body=text,
            at=c.clock(),
            email_message_id=email_message_id,
            automatic=why,
        )
    except AlreadyRecorded as duplicate:
        return c.repository.message(store.store_id, thread.thread_id, duplicate.message_sk)


def deliver(
    c: Container,
    store: StoreConfig,
    thread: ThreadItem,
    message: MessageItem,
    *,
    redelivered: bool = False,
) -> None:
    """Send a queued answer. A transient failure raises (SQS retries, then dead-letters);
    a permanent one is recorded and, for a person's reply, reported to them by e-mail.

    Sending is claimed first, so that two jobs for one answer running at once send it
    once; a redelivered job takes over a claim whose holder died."""
    if message.delivery_status == "failed" and message.delivery_error:
        # Failed before, and the report may have failed with it: report (once) now.
        if not message.automatic and message.failure_reported_at is None:
            report_failure(c, store, thread, message, message.delivery_error)
        return
    if message.delivery_status not in ("queued", "sending"):
        return
    if not c.repository.claim_sending(message, take_over=redelivered):
        log.info("answer being sent by a twin job: thread=%s", thread.thread_id)
        return
    try:
        if thread.channel == "email":
            provider_id = _send_email(c, store, thread, message)
        else:
            provider_id = _send_text(c, store, thread, message)
    except DeliveryError as exc:
        if not exc.permanent:
            c.repository.release_sending(message)  # the retry may claim it at once
            raise
        log.warning("answer undeliverable: thread=%s code=%s", thread.thread_id, exc.code)
        c.repository.mark_failed(message, str(exc))
        if not message.automatic:
            report_failure(c, store, thread, message, str(exc))
        return
    c.repository.mark_delivered(thread, message, provider_id=provider_id, at=c.clock())
    log.info("answer delivered: store=%s thread=%s", store.store_id, thread.thread_id)
    if message.survey_after:
        refreshed = c.repository.thread(store.store_id, thread.thread_id)
        if refreshed is not None and refreshed.status == ThreadStatus.CLOSED:
            queue_survey(c, store, refreshed)


def whatsapp_window_open(thread: ThreadItem, now: datetime) -> bool:
    last = thread.last_inbound_at or thread.created_at
    return now - last < WHATSAPP_WINDOW


def _send_text(c: Container, store: StoreConfig, thread: ThreadItem, message: MessageItem) -> str:
    """SMS or WhatsApp, in as many parts as it takes; returns the last part's SID."""
    customer = c.repository.customer(store.store_id, thread.customer)
    if customer is not None and customer.opted_out:
        raise DeliveryError("the customer has opted out (STOP)", permanent=True)
    whatsapp = thread.channel == "whatsapp"
    if whatsapp and not whatsapp_window_open(thread, c.clock()):
        return _send_whatsapp_template(c, store, thread, message)
    text, media = extract_media_urls(message.body)
    if not (whatsapp or thread.store_address.startswith("+1")):
        # MMS exists only on US and Canadian numbers: elsewhere the links stay links.
        text, media = message.body, ()
    parts: list[tuple[str, tuple[str, ...]]] = [(p, ()) for p in split_message(text) if p]
    if media and whatsapp:
        # WhatsApp carries one media item per message: the first goes with the last text.
        first, rest = (media[:1], media[1:]) if parts else ((), media)
        if parts:
            parts[-1] = (parts[-1][0], first)
        parts += [("", (url,)) for url in rest]
    elif media:
        # MMS carries up to ten, with the last part of the text.
        parts[-1:] = [(parts[-1][0] if parts else "", media)]
    sid = message.outbound_provider_id or ""
    for number, (body, urls) in enumerate(parts, start=1):
        if number <= message.parts_sent:
            continue  # sent before a retry
        sid = c.messenger.send(
            sender=thread.store_address, to=thread.customer, body=body, media_urls=urls
        )
        c.repository.part_sent(thread, message, number, sid)
    return sid


def _send_whatsapp_template(
    c: Container, store: StoreConfig, thread: ThreadItem, message: MessageItem
) -> str:
    template = store.whatsapp_template
    if template is None:
        raise DeliveryError(
            "WhatsApp allows free-form messages only within 24 hours of the customer's last "
            "message, and this store has no approved WhatsApp template to send instead. "
            "Ask the store owner to add `whatsapp_template` to the store configuration, or "
            "answer when the customer writes again.",
            permanent=True,
            code=WHATSAPP_CLOSED_WINDOW,
        )
    values = {
        "customer_name": thread.profile_name or "",
        "store": store.name,
        "agent": message.author_name or store.name,
        "reply": " ".join(message.body.split()),
    }
    variables = {key: text.format(**values) for key, text in template.variables.items()}
    sid = c.messenger.send(
        sender=thread.store_address,
        to=thread.customer,
        content_sid=template.content_sid,
        content_variables=variables,
    )
    c.repository.part_sent(thread, message, 1, sid)
    return str(sid)


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


def report_failure(
    c: Container, store: StoreConfig, thread: ThreadItem, message: MessageItem, reason: str
) -> None:
    """Tell the agent who wrote the answer that it did not reach the customer, and why;
    recorded, so that a retried job tells them once."""
    text = delivery_failure_text(
        customer=thread.customer, channel=thread.channel, reason=reason, body=message.body
    )
    subject = f"Not delivered: your reply to {contact_of(thread.customer)}"
    mail_staff(c, store, (message.author,), subject, text)
    c.repository.failure_reported(message, c.clock())
