"""Flow 2 (SQS job): tell the store's agents that a customer is waiting."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from chalicelib.channels.sendgrid_email import OutgoingEmail
from chalicelib.domain import tokens
from chalicelib.domain.notification import (
    TranscriptLine,
    notification_subject,
    notification_text,
)
from chalicelib.flows.timers import schedule_timers
from chalicelib.queues import Job

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)


def notify_agents(c: Container, job: Job) -> None:
    """Idempotent: messages already notified are not notified again."""
    store = c.stores.by_id(job.store_id)
    thread = c.repository.thread(job.store_id, job.thread_id) if store else None
    if store is None or thread is None:
        log.warning("notify job dropped: unknown store or thread %s", job.thread_id)
        return
    messages = c.repository.messages(store.store_id, thread.thread_id)
    pending = [m for m in messages if m.direction == "in" and m.notified_at is None]
    if not pending:
        return
    transcript = [
        TranscriptLine(
            at=m.created_at,
            author=m.author,
            inbound=m.direction == "in",
            body=m.body,
            media_count=len(m.media_urls or []),
            attachments=tuple(
                f"{a['filename']} ({a['content_type']}, {a['size']} bytes)"
                for a in (m.attachments or [])
            ),
            automatic=m.automatic,
            dropped=m.dropped,
        )
        for m in messages
    ]
    c.mailer.send(
        OutgoingEmail(
            from_email=store.support_address,
            from_name=f"{store.name} (relaydesk)",
            to=tuple(sorted(store.agents)),
            subject=notification_subject(
                store_name=store.name,
                channel=thread.channel,
                customer=thread.customer,
                thread_id=thread.thread_id,
            ),
            text=notification_text(
                store_name=store.name,
                channel=thread.channel,
                customer=thread.customer,
                profile_name=thread.profile_name,
                due_at=thread.response_due_at if thread.awaiting == "agent" else None,
                timezone=store.calendar.timezone,
                transcript=transcript,
                subject=thread.subject,
            ),
            reply_to=tokens.reply_address(
                c.reply_secret, store.store_id, thread.thread_id, c.settings.reply_domain
            ),
            headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
        )
    )
    c.repository.mark_notified(pending, c.clock())
    schedule_timers(c, store, thread)
    log.info("agents notified: store=%s thread=%s", store.store_id, thread.thread_id)
