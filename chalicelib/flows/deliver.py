"""Flow 3b (SQS jobs): an answer reaches the customer on their channel.

The thread's channel adapter (chalicelib/channels/port.py) sends it, by that channel's own
rules (e-mail threading; SMS/WhatsApp parts, media, opt-outs and the WhatsApp window); this
flow claims the send, records the outcome, and never asks which channel it is. A failure
that no retry can fix is recorded and told to the agent who wrote the answer; never silent.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.channels.port import Answer
from chalicelib.domain import report_counts
from chalicelib.domain.ack import acknowledgement, next_opening
from chalicelib.domain.errors import DeliveryError
from chalicelib.domain.messages import contact_of
from chalicelib.domain.notification import delivery_failure_text
from chalicelib.domain.survey import survey_text
from chalicelib.domain.thread import Awaiting, ThreadStatus
from chalicelib.flows.agent_mail import mail_staff
from chalicelib.queues import Job, JobKind
from chalicelib.store.models import MessageItem, ThreadItem
from chalicelib.store.repository import AlreadyRecorded
from chalicelib.stores import StoreConfig

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)


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
    """An acknowledgement sent by a job, once per inbound message: by e-mail, threaded under
    the customer's mail (RFC 3834 marked); by SMS/WhatsApp when the request's own TwiML
    answer could not carry it (a request parked by the Fallback URL, replayed later)."""
    subject = job_subject(c, job)
    if subject is None:
        return
    store, thread, inbound = subject
    if inbound.call is not None and store.voice.lookup_line_type:
        # The webhook left the agents' notification to this job, so that it can say
        # whether the caller was texted: queued however this ends (it is idempotent).
        try:
            if thread.response_due_at is not None and _line_type_allows(c, store, inbound):
                _send_ack(c, store, thread, inbound, redelivered=redelivered)
        finally:
            notify = Job(JobKind.NOTIFY_AGENTS, store.store_id, thread.thread_id, inbound.sk)
            c.jobs.send_all([notify])
        return
    _send_ack(c, store, thread, inbound, redelivered=redelivered)


def _line_type_allows(c: Container, store: StoreConfig, inbound: MessageItem) -> bool:
    """Twilio Lookup before a caller's text back (SMS pumping, and landlines that cannot
    take an SMS): False, recorded on the voicemail for the agents, for a line that is not
    texted (domain/voice.line_type_refusal). A lookup that fails texts anyway: the other
    guards (countries, caps, one a day) still hold, and the text is the caller's way back."""
    from chalicelib.domain.errors import LookupFailed
    from chalicelib.domain.voice import line_type_refusal

    if inbound.text_back_refused:  # decided by an earlier run of this job
        return False
    try:
        line_type: str | None = c.line_types.line_type(inbound.author)
    except LookupFailed as exc:
        log.warning("line type lookup failed, texting anyway: store=%s %s", store.store_id, exc)
        line_type = None
    refusal = line_type_refusal(line_type)
    if refusal is None:
        return True
    c.repository.refuse_text_back(inbound, refusal)
    log.info("no text back: store=%s line_type=%s", store.store_id, line_type)
    return False


def _send_ack(
    c: Container,
    store: StoreConfig,
    thread: ThreadItem,
    inbound: MessageItem,
    *,
    redelivered: bool,
) -> None:
    if thread.response_due_at is None:
        return
    if c.channels[thread.channel].threads_by_message_id:
        ack_id = f"<ack.{inbound.message_id}@{store.support_address.partition('@')[2]}>"
        email_id: str | None = ack_id
    else:
        ack_id, email_id = f"ack.{inbound.message_id}", None
    customer = c.repository.customer(store.store_id, thread.customer)
    language = (customer.language if customer else None) or store.locale
    if inbound.call is not None:  # a voicemail or missed call: the text back
        from chalicelib.domain.voice import text_back_text

        text = text_back_text(
            store_name=store.name,
            calendar=store.calendar,
            deadline=thread.response_due_at,
            now=inbound.created_at,
            language=language,
        )
    else:
        text = acknowledgement(
            store_name=store.name,
            deadline=thread.response_due_at,
            opens=next_opening(store.calendar, inbound.created_at),
            timezone=store.calendar.timezone,
            language=language,
            now=inbound.created_at,
            overrides=store.ack_templates,
        )
    ack = record_automatic(c, thread, ack_id, text, "acknowledgement", email_message_id=email_id)
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
        if c.channels[thread.channel].threads_by_message_id
        else None
    )
    text = survey_text(store_name=store.name, language=language)
    # Counted as it is recorded (once, by its marker): a transaction that is there anyway.
    asked = report_counts.counts_at(
        c.clock(), store.calendar.timezone, thread.thread_id, report_counts.SURVEY_SENT
    )
    survey = record_automatic(
        c, thread, email_id or survey_id, text, "survey", email_id, counts=asked
    )
    if survey is None:
        return
    c.repository.survey_sent(thread, c.clock())
    c.jobs.send_all([Job(JobKind.DELIVER_REPLY, store.store_id, thread.thread_id, survey.sk)])


def record_automatic(
    c: Container,
    thread: ThreadItem,
    provider_id: str,
    text: str,
    why: str,
    email_message_id: str | None,
    counts: report_counts.Counts | None = None,
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
            counts=counts,
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
        channel = c.channels[thread.channel]
        provider_id = channel.send_answer(
            _answer(store, thread, message), _Progress(c, store, thread, message)
        )
    except DeliveryError as exc:
        if not exc.permanent:
            c.repository.release_sending(message)  # the retry may claim it at once
            raise
        log.warning("answer undeliverable: thread=%s code=%s", thread.thread_id, exc.code)
        c.repository.mark_failed(message, str(exc))
        if not message.automatic:
            report_failure(c, store, thread, message, str(exc))
        return
    at = c.clock()
    c.repository.mark_delivered(
        thread,
        message,
        provider_id=provider_id,
        at=at,
        counts=delivery_counts(store, thread, message, at),
    )
    log.info("answer delivered: store=%s thread=%s", store.store_id, thread.thread_id)
    if message.survey_after:
        refreshed = c.repository.thread(store.store_id, thread.thread_id)
        if refreshed is not None and refreshed.status == ThreadStatus.CLOSED:
            queue_survey(c, store, refreshed)


def delivery_counts(
    store: StoreConfig, thread: ThreadItem, message: MessageItem, at: datetime
) -> report_counts.Counts | None:
    """What a delivered message adds to the weekly report: a person's answer its first
    response time and the promise it kept or broke; an automatic answer that it went out
    (a survey is counted when it is recorded). Once per message (its key in the thread's
    `counted` set)."""
    timezone = store.calendar.timezone
    automatic = message.automatic or ""
    if automatic.startswith("answer:"):
        adds: dict[str, int] = dict(report_counts.ANSWERED_AUTOMATICALLY)
    elif automatic:
        return None  # an acknowledgement keeps no promise; a survey counted when recorded
    else:
        started, breached = thread.promise_started_at, thread.response_breached_at
        facts = report_counts.AnswerFacts(
            thread_id=thread.thread_id,
            awaiting_agent=thread.awaiting == Awaiting.AGENT,
            created_at=thread.created_at,
            first_response_at=thread.first_response_at,
            response_target=thread.response_target,
            response_due_at=thread.response_due_at,
            breach_counted=bool(breached and started and breached >= started),
            author=message.author.lower(),
        )
        adds = report_counts.answer_counts(facts, at, timezone)
    return report_counts.counts_at(
        at, timezone, thread.thread_id, adds, event=f"delivered:{message.message_id}"
    )


def _answer(store: StoreConfig, thread: ThreadItem, message: MessageItem) -> Answer:
    return Answer(
        store=store,
        store_address=thread.store_address,
        customer=thread.customer,
        body=message.body,
        author_name=message.author_name,
        automatic=bool(message.automatic),
        subject=thread.subject or "",
        profile_name=thread.profile_name,
        last_inbound_at=thread.last_inbound_at or thread.created_at,
        email_message_id=message.email_message_id,
        parts_sent=int(message.parts_sent),
        last_part_id=message.outbound_provider_id,
    )


class _Progress:
    """`SendProgress` over the repository: what a channel adapter reads and records."""

    def __init__(
        self, c: Container, store: StoreConfig, thread: ThreadItem, message: MessageItem
    ) -> None:
        self._c, self._store, self._thread, self._message = c, store, thread, message

    def now(self) -> datetime:
        return self._c.clock()

    def opted_out(self) -> bool:
        customer = self._c.repository.customer(self._store.store_id, self._thread.customer)
        return customer is not None and bool(customer.opted_out)

    def earlier_email_ids(self) -> list[tuple[bool, str]]:
        history = self._c.repository.messages(self._store.store_id, self._thread.thread_id)
        return [
            (m.direction == "in", m.email_message_id)
            for m in history
            if m.email_message_id and m.sk != self._message.sk
        ]

    def part_sent(self, number: int, provider_id: str) -> None:
        self._c.repository.part_sent(self._thread, self._message, number, provider_id)


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
