"""Flow 4: SLA timers. Scheduled when a promise starts; each re-reads the thread when it
fires and acts only if that promise is still running and still unkept.

Two families: the *response* promise (the next answer: first or next response; its epoch
is `sla_epoch`) and the *resolution* promise (the thread's close, paused while pending;
its epoch is `resolution_epoch`).

SQS delays stop at 15 minutes. A timer that arrives early is held invisible for the rest
of its wait (`ChangeMessageVisibility`, within SQS's 12 hours) and reported as a batch
item failure so that Lambda keeps it; once a message's 12 hours are spent, a fresh copy
carries the wait on (`JobQueue.wait_longer`). A few requests per 12 hours of waiting,
not one per 15 minutes, and no limit on how long a timer waits.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from chalicelib import metrics
from chalicelib.channels.sendgrid_email import OutgoingEmail
from chalicelib.config import StoreConfig
from chalicelib.domain import tokens
from chalicelib.domain.notification import CHANNEL_NAMES
from chalicelib.domain.sla import (
    NEXT_RESPONSE,
    Target,
    checkpoints,
    deadline,
    minutes_left,
)
from chalicelib.logs import correlation
from chalicelib.queues import Timer, TimerKind
from chalicelib.store.models import ThreadItem

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)

RESPONSE, RESOLUTION, SNOOZE = "response", "resolution", "snooze"


def _promises(
    store: StoreConfig, thread: ThreadItem
) -> list[tuple[str, int, datetime, datetime, Target]]:
    """(family, epoch, started, due, target) of each promise running on the thread."""
    targets = store.sla.targets_for(thread.channel, thread.priority)
    running = []
    due, started = thread.response_due_at, thread.promise_started_at
    if thread.awaiting == "agent" and thread.status == "open" and due and started:
        target = (
            targets.next_response
            if thread.response_target == NEXT_RESPONSE
            else targets.first_response
        )
        running.append((RESPONSE, int(thread.sla_epoch), started, due, target))
    resolution_due = thread.resolution_due_at
    if targets.resolution and resolution_due and thread.status == "open" and not thread.paused_at:
        running.append(
            (
                RESOLUTION,
                int(thread.resolution_epoch),
                thread.created_at,
                resolution_due,
                targets.resolution,
            )
        )
    return running


def schedule_timers(c: Container, store: StoreConfig, thread: ThreadItem) -> None:
    """Queue the timers of each running promise, once per promise (idempotent)."""
    if thread.status == "open" and thread.paused_at is not None:
        _resume(c, store, thread)
        refreshed = c.repository.thread(store.store_id, thread.thread_id)
        if refreshed is None:
            return
        thread = refreshed
    scheduled = thread.scheduled_timers or set()
    for family, epoch, started, due, target in _promises(store, thread):
        key = f"{family}:{epoch}"
        if key in scheduled:
            continue
        points = checkpoints(
            store.calendar, store.sla, started_at=started, due_at=due, target=target
        )
        timers = [
            Timer(TimerKind(p.kind), store.store_id, thread.thread_id, epoch, p.at, p.step, family)
            for p in points
        ]
        c.timers.send_all(timers, now=c.clock())
        c.repository.timers_scheduled(thread, key)
        log.info("timers scheduled: thread=%s %s count=%s", thread.thread_id, key, len(timers))


def schedule_wake(
    c: Container, store: StoreConfig, thread: ThreadItem, epoch: int, until: datetime
) -> None:
    """A snoozed thread wakes at `until`, unless something wakes it earlier."""
    timer = Timer(TimerKind.WAKE, store.store_id, thread.thread_id, epoch, until, family=SNOOZE)
    c.timers.send_all([timer], now=c.clock())


def _wake(c: Container, store: StoreConfig, thread: ThreadItem, timer: Timer) -> None:
    """The snooze is over: the thread is open again and its assignee hears of it."""
    if not c.repository.wake_thread(thread, timer.epoch, c.clock()):
        return  # the customer wrote, or an agent reopened, closed or snoozed it again
    c.repository.record_event(
        thread,
        kind="event",
        author=store.support_address,
        author_name="relaydesk",
        body="snooze over: open again",
        at=c.clock(),
    )
    woken = c.repository.thread(store.store_id, thread.thread_id)
    if woken is None:
        return
    schedule_timers(c, store, woken)
    from chalicelib.flows.notify_agents import notify_about

    notify_about(c, store, woken, headline="Snooze over: this conversation is open again.")
    log.info("thread woke: thread=%s", thread.thread_id)


def _resume(c: Container, store: StoreConfig, thread: ThreadItem) -> None:
    """A pending thread heard from its customer: the resolution clock runs on."""
    target = store.sla.targets_for(thread.channel, thread.priority).resolution
    due = thread.resolution_due_at
    new_due = None
    if target and due and thread.paused_at:
        left = minutes_left(store.calendar, thread.paused_at, due, target)
        new_due = deadline(store.calendar, thread.updated_at, Target(left, target.business_hours))
    c.repository.resume_resolution(thread, new_due)


def _sent_at(record: dict[str, Any]) -> datetime | None:
    """When SQS took this message (Lambda's `SentTimestamp`, epoch milliseconds)."""
    sent = record.get("attributes", {}).get("SentTimestamp")
    return datetime.fromtimestamp(int(sent) / 1000, UTC) if sent else None


def fire_timer(c: Container, timer: Timer) -> bool:
    """Act on a due timer; True when it is still early (it must wait longer)."""
    if timer.due_at > c.clock():
        return True
    store = c.stores.by_id(timer.store_id)
    thread = c.repository.thread(timer.store_id, timer.thread_id) if store else None
    if store is None or thread is None:
        return False
    if timer.kind is TimerKind.WAKE:
        _wake(c, store, thread, timer)
        return False
    if timer.key in (thread.fired_timers or set()) or not any(
        family == timer.family and epoch == timer.epoch
        for family, epoch, *_ in _promises(store, thread)
    ):
        return False  # the promise was kept, restarted, paused or closed: nothing to say
    _act(c, store, thread, timer)
    breached = timer.kind is TimerKind.BREACH
    if c.repository.timer_fired(thread, timer.key, breached=breached) and breached:
        metrics.sla_breach(store_id=store.store_id, promise=timer.family, at=c.clock())
    log.info("timer fired: thread=%s %s", thread.thread_id, timer.key)
    return False


def _act(c: Container, store: StoreConfig, thread: ThreadItem, timer: Timer) -> None:
    resolution = timer.family == RESOLUTION
    due = thread.resolution_due_at if resolution else thread.response_due_at
    assert due is not None
    local_due = due.astimezone(ZoneInfo(store.calendar.timezone)).strftime("%a %d %b %H:%M")
    who = thread.customer.removeprefix("whatsapp:")
    channel = CHANNEL_NAMES.get(thread.channel, thread.channel)
    what = "resolution" if resolution else "answer"
    reply_to = tokens.reply_address(
        c.reply_secret, store.store_id, thread.thread_id, c.settings.reply_domain
    )
    if timer.kind is TimerKind.REMINDER:
        subject = f"[{store.name}] Reminder: {what} due {local_due}: {channel} from {who}"
        recipients = store.followers(thread.assignee)
    elif timer.kind is TimerKind.BREACH:
        label = "Resolution overdue" if resolution else "Overdue"
        subject = f"[{store.name}] {label} since {local_due}: {channel} from {who}"
        recipients = store.followers(thread.assignee)
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
                body=f"[{store.name}] {channel} from {who}: {what} overdue since {local_due}.",
            )
            return
        assert step.email is not None
        subject = (
            f"[{store.name}] Escalation: {channel} from {who}, {what} overdue since {local_due}"
        )
        recipients = (step.email,)
    text = (
        f"{subject}\n\nThe customer was promised an {what} by {local_due} "
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
        # A timer logs under its SQS message id: the same across the deliveries that hold it.
        with correlation(record.get("messageId")):
            try:
                timer = Timer.decode(record["body"])
                if fire_timer(c, timer) and c.timers.wait_longer(
                    record["receiptHandle"], timer, sent_at=_sent_at(record), now=c.clock()
                ):
                    failures.append(record["messageId"])
            except Exception:
                log.exception("timer failed; it will be retried: %s", record.get("messageId"))
                failures.append(record["messageId"])
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failures]}
