"""Flow 4: SLA timers. Scheduled when a promise starts; each re-reads the thread when it
fires and acts only if that promise is still running and still unkept.

SQS delays stop at 15 minutes. A timer that arrives early is held invisible for the rest
of its wait (`ChangeMessageVisibility`, at most 12 hours a step) and reported as a batch
item failure so that Lambda keeps it: one request per 12 hours of waiting, not one per
15 minutes.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from chalicelib.channels.sendgrid_email import OutgoingEmail
from chalicelib.config import StoreConfig
from chalicelib.domain import tokens
from chalicelib.domain.notification import CHANNEL_NAMES
from chalicelib.domain.sla import checkpoints
from chalicelib.queues import Timer, TimerKind
from chalicelib.store.models import ThreadItem

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)


def schedule_timers(c: Container, store: StoreConfig, thread: ThreadItem) -> None:
    """Queue the running promise's timers once per SLA epoch (idempotent)."""
    epoch = int(thread.sla_epoch)
    due, started = thread.first_response_due_at, thread.promise_started_at
    if thread.awaiting != "agent" or thread.status == "closed" or due is None or started is None:
        return
    if thread.timers_epoch is not None and int(thread.timers_epoch) >= epoch:
        return
    points = checkpoints(
        store.calendar,
        store.sla,
        started_at=started,
        due_at=due,
        target_minutes=store.first_response_minutes,
    )
    timers = [
        Timer(TimerKind(p.kind), store.store_id, thread.thread_id, epoch, p.at, p.step)
        for p in points
    ]
    c.timers.send_all(timers, now=c.clock())
    c.repository.timers_scheduled(thread, epoch)
    log.info("timers scheduled: thread=%s epoch=%s count=%s", thread.thread_id, epoch, len(timers))


def fire_timer(c: Container, timer: Timer) -> int | None:
    """Seconds still to wait, or None when the timer is done (acted or not needed)."""
    wait = (timer.due_at - c.clock()).total_seconds()
    if wait > 0:
        return math.ceil(wait)
    store = c.stores.by_id(timer.store_id)
    thread = c.repository.thread(timer.store_id, timer.thread_id) if store else None
    if store is None or thread is None:
        return None
    still_owed = (
        int(thread.sla_epoch) == timer.epoch
        and thread.awaiting == "agent"
        and thread.status != "closed"
        and timer.key not in (thread.fired_timers or set())
    )
    if not still_owed:
        return None  # the promise was kept, restarted or closed: nothing to say
    _act(c, store, thread, timer)
    c.repository.timer_fired(thread, timer.key)
    log.info("timer fired: thread=%s %s", thread.thread_id, timer.key)
    return None


def _act(c: Container, store: StoreConfig, thread: ThreadItem, timer: Timer) -> None:
    due = thread.first_response_due_at
    assert due is not None
    local_due = due.astimezone(ZoneInfo(store.calendar.timezone)).strftime("%a %d %b %H:%M")
    who = thread.customer.removeprefix("whatsapp:")
    channel = CHANNEL_NAMES.get(thread.channel, thread.channel)
    reply_to = tokens.reply_address(
        c.reply_secret, store.store_id, thread.thread_id, c.settings.reply_domain
    )
    if timer.kind is TimerKind.REMINDER:
        subject = f"[{store.name}] Reminder: answer due {local_due}: {channel} from {who}"
        recipients = tuple(sorted(store.agents))
    elif timer.kind is TimerKind.BREACH:
        subject = f"[{store.name}] Overdue since {local_due}: {channel} from {who}"
        recipients = tuple(sorted(store.agents))
    else:
        step = store.sla.escalations[timer.step]
        if step.sms:
            sender = min(store.phone_numbers) if store.phone_numbers else None
            if sender is None:
                log.error("escalation by SMS needs a store number: store=%s", store.store_id)
                return
            c.messenger.send(
                sender=sender,
                to=step.sms,
                body=f"[{store.name}] {channel} from {who} unanswered since {local_due}.",
            )
            return
        assert step.email is not None
        subject = f"[{store.name}] Escalation: {channel} from {who} unanswered since {local_due}"
        recipients = (step.email,)
    text = (
        f"{subject}\n\nThe customer was promised an answer by {local_due} "
        f"({store.calendar.timezone}). Reply to this e-mail to answer them by {channel}.\n"
    )
    c.mailer.send(
        OutgoingEmail(
            from_email=store.support_address,
            from_name=f"{store.name} (relaydesk)",
            to=recipients,
            subject=subject,
            text=text,
            reply_to=reply_to,
            headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
        )
    )


def run_timer_batch(c: Container, records: list[dict[str, Any]]) -> dict[str, Any]:
    """The timers queue's handler body: partial-batch failure reporting, so that held and
    failed timers stay on the queue while the others are deleted."""
    failures = []
    for record in records:
        try:
            wait = fire_timer(c, Timer.decode(record["body"]))
            if wait is not None:
                c.timers.hold(record["receiptHandle"], wait)
                failures.append(record["messageId"])
        except Exception:
            log.exception("timer failed; it will be retried: %s", record.get("messageId"))
            failures.append(record["messageId"])
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failures]}
