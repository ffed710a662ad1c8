"""Flow 4: SLA timers fire. Each re-reads the thread when it is due and acts only if its
promise is still running and still unkept: a reminder or breach to the assignee, the
escalation ladder after it, a snoozed thread's wake-up. (They are queued in
`flows/promises.py`.)

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

from chalicelib import metrics
from chalicelib.domain import report_counts
from chalicelib.domain.alerts import AlertKind, Promise, alert_subject, alert_text, escalation_sms
from chalicelib.domain.errors import DeliveryError
from chalicelib.flows.agent_mail import mail_staff
from chalicelib.flows.job_failures import hold_after, receive_count
from chalicelib.flows.notify_agents import notify_about
from chalicelib.flows.promises import RESOLUTION, running_promises, schedule_timers
from chalicelib.flows.recovery import is_sweep, sweep_follow_ups
from chalicelib.logs import correlation
from chalicelib.queues import Timer, TimerKind
from chalicelib.store.models import ThreadItem
from chalicelib.stores import StoreConfig

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)


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
    notify_about(c, store, woken, headline="Snooze over: this conversation is open again.")
    log.info("thread woke: thread=%s", thread.thread_id)


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
    if timer.kind is TimerKind.RESOLVE:
        from chalicelib.flows import answer, proactive

        if timer.family == proactive.FAMILY:
            proactive.resolve_if_unanswered(c, store, thread, timer)
        else:
            answer.resolve_if_quiet(c, store, thread, timer)
        return False
    if timer.kind is TimerKind.PROACTIVE:
        from chalicelib.flows.proactive import send_after_quiet_hours

        send_after_quiet_hours(c, store, thread, timer)
        return False
    if timer.key in (thread.fired_timers or set()) or not any(
        family == timer.family and epoch == timer.epoch
        for family, epoch, *_ in running_promises(store, thread)
    ):
        return False  # the promise was kept, restarted, paused or closed: nothing to say
    breached = timer.kind is TimerKind.BREACH
    # Claimed, then acted: of two deliveries at once (SQS is at-least-once) one alerts.
    # A failure on the way (the claim's own answer lost included) releases the claim, so
    # that the retry alerts; only a Lambda killed between the two loses that one alert.
    try:
        counts = breach_counts(store, thread, timer, c.clock()) if breached else None
        if not c.repository.timer_fired(thread, timer.key, breached=breached, counts=counts):
            return False
        _act(c, store, thread, timer)
    except Exception:
        c.repository.timer_unfired(thread, timer.key)
        raise
    if breached:
        metrics.sla_breach(store_id=store.store_id, promise=timer.family, at=c.clock())
    log.info("timer fired: thread=%s %s", thread.thread_id, timer.key)
    return False


def breach_counts(
    store: StoreConfig, thread: ThreadItem, timer: Timer, now: datetime
) -> report_counts.Counts | None:
    """A breach adds a broken promise to the weekly report, filed by the local hour its
    deadline passed; once per promise (the timer's key in the thread's `counted` set)."""
    resolution = timer.family == RESOLUTION
    due = thread.resolution_due_at if resolution else thread.response_due_at
    promise = report_counts.RESOLUTION if resolution else thread.response_target
    timezone = store.calendar.timezone
    hour = report_counts.local_day_hour(due or now, timezone)[1]
    return report_counts.counts_at(
        now,
        timezone,
        thread.thread_id,
        report_counts.promise_outcome(promise, kept=False, due_hour=hour),
        event=f"breach:{timer.key}",
    )


def _act(c: Container, store: StoreConfig, thread: ThreadItem, timer: Timer) -> None:
    resolution = timer.family == RESOLUTION
    due = thread.resolution_due_at if resolution else thread.response_due_at
    assert due is not None
    promise = Promise(
        store_name=store.name,
        channel=thread.channel,
        customer=thread.customer,
        due_at=due,
        timezone=store.calendar.timezone,
        resolution=resolution,
    )
    kind: AlertKind = "escalation"
    if timer.kind is TimerKind.REMINDER:
        kind, recipients = "reminder", store.followers(thread.assignee)
    elif timer.kind is TimerKind.BREACH:
        kind, recipients = "breach", store.followers(thread.assignee)
    else:
        step = store.sla.escalations[timer.step]
        if step.sms:
            sender = min(store.phone_numbers) if store.phone_numbers else None
            if sender is None:
                log.error("escalation by SMS needs a store number: store=%s", store.store_id)
                return
            c.messenger.send(sender=sender, to=step.sms, body=escalation_sms(promise))
            return
        assert step.email is not None
        recipients = (step.email,)
    subject, text = alert_subject(kind, promise), alert_text(kind, promise)
    mail_staff(c, store, recipients, subject, text, thread_id=thread.thread_id)


def run_timer_batch(c: Container, records: list[dict[str, Any]]) -> dict[str, Any]:
    """The timers queue's handler body: partial-batch failure reporting, so that held and
    failed timers stay on the queue while the others are deleted."""
    failures = []
    for record in records:
        # A timer logs under its SQS message id: the same across the deliveries that hold it.
        with correlation(record.get("messageId")):
            try:
                if is_sweep(record["body"]):  # the EventBridge rule's, not a timer
                    sweep_follow_ups(c)
                    continue
                timer = Timer.decode(record["body"])
                if fire_timer(c, timer) and c.timers.wait_longer(
                    record["receiptHandle"], timer, sent_at=_sent_at(record), now=c.clock()
                ):
                    failures.append(record["messageId"])
            except DeliveryError as exc:
                # Its alert's send failed: held as long as the provider means (job_failures).
                log.warning("timer's alert not sent; it will be retried: %s", exc)
                hold_after(
                    c, c.timers, exc, record["receiptHandle"], receive_count(record), timer.store_id
                )
                failures.append(record["messageId"])
            except Exception:
                log.exception("timer failed; it will be retried: %s", record.get("messageId"))
                failures.append(record["messageId"])
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failures]}
