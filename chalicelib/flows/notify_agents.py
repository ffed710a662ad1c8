"""Flow 2 (SQS jobs): tell the store's agents that a customer is waiting.

A new thread is assigned round-robin among the agents on duty; its notifications go to
the assignee (or to everyone when the store says `"notify": "all"`). A reassignment sends
the new assignee the whole conversation.

Every notification shows, above the conversation, who the customer is (the shop's record,
their last orders, their history with the store, their other open conversations:
flows/customer_context.py), and its subject carries the customer's first words.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from chalicelib.domain.customer_view import CustomerView, context_lines
from chalicelib.domain.messages import contact_of
from chalicelib.domain.notification import (
    TranscriptLine,
    notification_subject,
    notification_text,
    subject_words,
)
from chalicelib.domain.thread import Awaiting
from chalicelib.domain.voice import RecordingView, call_lines
from chalicelib.flows.agent_mail import mail_staff
from chalicelib.flows.customer_context import customer_view
from chalicelib.flows.meta_profile import with_name
from chalicelib.flows.promises import schedule_timers
from chalicelib.mail_files import LINK_LIFETIME
from chalicelib.queues import Job
from chalicelib.store.models import MessageItem, ThreadItem
from chalicelib.stores import StoreConfig

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)


def notify_agents(c: Container, job: Job, *, redelivered: bool = False) -> None:
    """Idempotent: messages already notified are not notified again, and of two runs at
    the same moment (SQS delivers at least once) one notifies; a redelivery of a run that
    died takes over."""
    store = c.stores.by_id(job.store_id)
    thread = c.repository.thread(job.store_id, job.thread_id) if store else None
    if store is None or thread is None:
        log.warning("notify job dropped: unknown store or thread %s", job.thread_id)
        return
    messages = c.repository.messages(store.store_id, thread.thread_id)
    pending = [m for m in messages if m.direction == "in" and m.notified_at is None]
    if not pending:
        # Notified before, maybe by a run that died before the timers were queued.
        schedule_timers(c, store, thread)
        return
    # What is told is claimed: a voicemail's transcript, come after its first notification,
    # is a second one (claimed apart), and two runs that both read it send it once.
    transcribed = any(m.transcript is not None for m in pending)
    claim = f"notify#{pending[-1].sk}" + ("#transcript" if transcribed else "")
    if not c.repository.claim(store.store_id, claim, thread.thread_id, c.clock()) and not (
        redelivered
    ):
        log.info("notification being sent by a twin job: thread=%s", thread.thread_id)
        return
    if thread.assignee is None:
        thread = _assign_round_robin(c, store, thread)
    _send(c, store, thread, messages, store.followers(thread.assignee))
    c.repository.mark_notified(pending, c.clock())
    schedule_timers(c, store, thread)
    log.info("agents notified: store=%s thread=%s", store.store_id, thread.thread_id)


def notify_assignee(c: Container, job: Job) -> None:
    """The thread's new assignee gets the conversation so far, whoever heard of it before."""
    store = c.stores.by_id(job.store_id)
    thread = c.repository.thread(job.store_id, job.thread_id) if store else None
    if store is None or thread is None or thread.assignee is None:
        log.warning("assignee notification dropped: thread %s", job.thread_id)
        return
    messages = c.repository.messages(store.store_id, thread.thread_id)
    _send(c, store, thread, messages, (thread.assignee,), headline="Assigned to you.")


def notify_about(c: Container, store: StoreConfig, thread: ThreadItem, headline: str) -> None:
    """Tell whoever follows the thread that something happened to it, with the history."""
    messages = c.repository.messages(store.store_id, thread.thread_id)
    _send(c, store, thread, messages, store.followers(thread.assignee), headline=headline)


def _assign_round_robin(c: Container, store: StoreConfig, thread: ThreadItem) -> ThreadItem:
    """The next agent on duty in turn (everyone takes turns when nobody is on duty)."""
    now = c.clock()
    on_duty = [a for a in store.team if (a.hours or store.calendar).is_open(now)]
    team = on_duty or list(store.team)
    agent = team[(c.repository.next_assignment(store.store_id) - 1) % len(team)]
    if c.repository.assign(thread, agent.email, only_if_unassigned=True):
        c.repository.record_event(
            thread,
            kind="event",
            author=store.support_address,
            author_name="relaydesk",
            body=f"assigned to {agent.name} <{agent.email}> (round-robin)",
            at=now,
        )
    return c.repository.thread(store.store_id, thread.thread_id) or thread


def _send(
    c: Container,
    store: StoreConfig,
    thread: ThreadItem,
    messages: Sequence[MessageItem],
    to: tuple[str, ...],
    headline: str | None = None,
) -> None:
    thread = with_name(c, store, thread)  # Messenger/Instagram: the name from Meta, once
    assignee = store.agent(thread.assignee) if thread.assignee else None
    view = customer_view(c, store, thread)
    subject = _subject(c, store, thread, messages, view)
    text = notification_text(
        store_name=store.name,
        channel=thread.channel,
        customer=thread.customer,
        profile_name=thread.profile_name,
        due_at=thread.response_due_at if thread.awaiting == Awaiting.AGENT else None,
        timezone=store.calendar.timezone,
        transcript=[transcript_line(m, _attachment_link(c)) for m in messages],
        subject=thread.subject,
        status=thread.status,
        assignee=assignee.name if assignee else None,
        headline=headline,
        context=context_lines(view, store_name=store.name, timezone=store.calendar.timezone),
    )
    mail_staff(c, store, to, subject, text, thread_id=thread.thread_id)


MESSAGES_READ = 50
"""What `Repository.messages` reads by default: a longer thread's start is read apart."""


def _subject(
    c: Container,
    store: StoreConfig,
    thread: ThreadItem,
    messages: Sequence[MessageItem],
    view: CustomerView,
) -> str:
    """'[Demo Store] Where is my order #1042? (SMS, Jana Nováková, #3f9a1c)': the customer's
    first words, and their name as the shop (else WhatsApp, else the mail) knows it."""
    start = list(messages)
    if len(start) >= MESSAGES_READ:
        start = c.repository.first_messages(store.store_id, thread.thread_id)
    first = next((m for m in start if m.direction == "in"), None)
    words = subject_words(
        email_subject=thread.subject,
        first_message=first.body if first else None,
        media=bool(first and (first.media_urls or first.attachments)),
    )
    return notification_subject(
        store_name=store.name,
        channel=thread.channel,
        words=words,
        who=view.name or thread.profile_name or contact_of(thread.customer),
        thread_id=thread.thread_id,
    )


def _attachment_link(c: Container) -> Callable[[str, str], str]:
    """A pre-signed link to an attachment kept in the mail bucket (a mail that came
    through S3); signed here, no request to S3, the client built only if one is needed."""

    def link(key: str, filename: str) -> str:
        return c.mail_files.link(key, filename)

    return link


def transcript_line(
    m: MessageItem, link: Callable[[str, str], str] | None = None
) -> TranscriptLine:
    return TranscriptLine(
        at=m.created_at,
        author=m.author_name if m.direction in ("note", "event") and m.author_name else m.author,
        inbound=m.direction == "in",
        body=m.body,
        media_count=len(m.media_urls or []),
        attachments=tuple(
            f"{a['filename']} ({a['content_type']}, {a['size']} bytes)"
            + (
                f"\n      open (link valid {LINK_LIFETIME.days} days): "
                + link(str(a["key"]), str(a["filename"]))
                if link is not None and a.get("key")
                else ""
            )
            for a in (m.attachments or [])
        ),
        automatic=m.automatic,
        dropped=m.dropped,
        kind=m.direction if m.direction in ("note", "event") else "message",
        delivery=m.provider_status or m.delivery_status if m.direction == "out" else None,
        details=(
            call_lines(
                m.call, m.transcript, m.acknowledge, m.text_back_refused, _recording_view(m, link)
            )
            if m.call
            else ()
        ),
    )


def _recording_view(m: MessageItem, link: Callable[[str, str], str] | None) -> RecordingView:
    """Our copy of a voicemail, by a presigned link (flows/voicemail.py kept it)."""
    url = None
    if m.recording_key and link is not None:
        url = link(m.recording_key, f"voicemail-{m.created_at:%Y-%m-%d-%H%M}.wav")
    return RecordingView(
        link=url,
        link_days=LINK_LIFETIME.days,
        note=m.recording_note,
        transcript_note=m.transcript_note,
    )
