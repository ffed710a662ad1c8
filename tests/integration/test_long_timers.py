"""Timers of days under SQS's real limits: a 15-minute delay, 12 hours of visibility counted
from the receipt (moto counts it from the send, which is stricter), a maxReceiveCount of 30.

The emulator's SQS runs on the test's clock (`emulator.sqs_follows`), so the test steps
through a week or two of waiting the way Lambda's poller would see it: a receive every
15 minutes of clock time. Each promise must act within one step of its due time, nothing
may reach the dead-letter queue, and the requests it costs are those of bench/RESULTS.md:
per 11 h 45 min of waiting, one send, two deliveries, one hold and one delete.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import boto3
from chalice.test import Client

from chalicelib.composition import Container
from chalicelib.queues import HOLD_MARGIN_SECONDS, MAX_VISIBILITY_SECONDS
from relaydesk import sandbox
from relaydesk.workers import QueueWorker
from tests.integration.conftest import FakeClock, drain, queue_depth
from tests.integration.test_inbox import KIM, new_thread, status_of, thread_of
from tests.integration.test_spine import post_parse, post_twilio

STEP = timedelta(minutes=15)
ACME, PAT = "+15550001111", "pat@acme.test"


class SqsMeter:
    """The SQS requests one timer costs: the app's own calls, and what the poller does
    with our message (each delivery, each delete); empty polls are the test's stepping."""

    def __init__(self, container: Container, worker: QueueWorker) -> None:
        self.calls: Counter[str] = Counter()
        self.receive_counts: list[int] = []
        container.timers._client.meta.events.register("before-call.sqs", self._app_call)
        worker._sqs.meta.events.register("after-call.sqs.ReceiveMessage", self._delivered)
        worker._sqs.meta.events.register("before-call.sqs.DeleteMessage", self._deleted)

    def _app_call(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def _delivered(self, parsed: dict[str, Any], **_: Any) -> None:
        for message in parsed.get("Messages", []):
            self.calls["delivery"] += 1
            self.receive_counts.append(int(message["Attributes"]["ApproximateReceiveCount"]))

    def _deleted(self, **_: Any) -> None:
        self.calls["DeleteMessage"] += 1


def step_until(
    clock: FakeClock, timer_worker: QueueWorker, until: datetime, seen: Any
) -> dict[str, datetime]:
    """Poll once per step until `until`; when each new outbox subject first appeared."""
    first_seen: dict[str, datetime] = {}
    while clock.now < until:
        clock.advance(seconds=STEP.total_seconds())
        timer_worker.poll_once()
        for subject in seen():
            first_seen.setdefault(subject, clock.now)
    return first_seen


def dead_letters(aws: dict[str, str]) -> int:
    sqs = boto3.client("sqs")
    url = aws["TimersQueueUrl"] + "-dlq"
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def cycles(wait: timedelta) -> int:
    """How many times a wait is carried on by a fresh message (RESULTS.md's formula)."""
    per_message = MAX_VISIBILITY_SECONDS - HOLD_MARGIN_SECONDS
    return max(0, math.ceil((wait.total_seconds() - per_message) / per_message))


def test_a_week_long_resolution_promise_reminds_and_breaches_on_time(
    client: Client,
    container: Container,
    worker: QueueWorker,
    timer_worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
    aws: dict[str, str],
) -> None:
    """Acme (New York; Mon 08-12 + 13-18 and Sat 10-14) resolves within 480 business
    minutes: written on Monday at 17:00, that is the next Monday at 11:00, with the
    reminder (half way) on Saturday at 13:00, 4 days 20 hours after the message."""
    clock.now = clock.now.replace(day=23, hour=22, minute=0)  # Monday 17:00 in New York
    post_twilio(client, to=ACME, body="My order is late")
    drain(worker)
    meter = SqsMeter(container, timer_worker)
    start = clock.now
    reminder_due = datetime.fromisoformat("2026-11-28T18:00:00+00:00")  # Sat 13:00 New York
    breach_due = datetime.fromisoformat("2026-11-30T16:00:00+00:00")  # Mon 11:00 New York

    def resolution_subjects() -> list[str]:
        return [m["subject"] for m in outbox.entries(to=PAT) if "esolution" in m["subject"]]

    seen = step_until(clock, timer_worker, breach_due + 2 * STEP, resolution_subjects)

    [(reminder, reminded_at), (breach, breached_at)] = sorted(seen.items(), key=lambda s: s[1])
    assert reminder.startswith("[Acme Outlet] Reminder: resolution due Mon 30 Nov 11:00")
    assert breach.startswith("[Acme Outlet] Resolution overdue since Mon 30 Nov 11:00")
    assert reminder_due <= reminded_at < reminder_due + STEP
    assert breach_due <= breached_at < breach_due + STEP
    assert dead_letters(aws) == 0
    assert queue_depth(timer_worker) == 0
    assert max(meter.receive_counts) <= 2  # maxReceiveCount is left to real failures
    # Four timers: the first response's reminder and breach (due within the hour) and the
    # resolution's. Each needs one fresh message per 11 h 45 min of its wait; each message
    # is held once (every one still has a wait when it first arrives) and delivered twice.
    renewals = cycles(reminder_due - start) + cycles(breach_due - start)
    messages = renewals + 4
    assert (renewals, messages) == (22, 26)
    assert meter.calls["SendMessage"] == renewals
    assert meter.calls["ChangeMessageVisibility"] == messages
    assert meter.calls["delivery"] == 2 * messages
    assert meter.calls["DeleteMessage"] == messages


def test_a_fourteen_day_snooze_wakes_on_time(
    client: Client,
    container: Container,
    worker: QueueWorker,
    timer_worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
    aws: dict[str, str],
) -> None:
    """The longest snooze an agent may ask for (`#snooze 14d`) outlives 28 of SQS's
    12-hour visibility limits and still wakes the thread at its minute."""
    reply_to = new_thread(client, worker, outbox)
    response = post_parse(client, sender=KIM, to=reply_to, text="#snooze 14d\nBack in two weeks.")
    assert status_of(response) == "queued, snoozed until 2026-12-04T15:30+00:00"
    drain(worker)
    meter = SqsMeter(container, timer_worker)
    wake_due = datetime.fromisoformat("2026-12-04T15:30:00+00:00")
    # The first-response timers of the thread were stopped by the snooze: they fire silently.
    outbox.clear()

    def woken() -> list[str]:
        return [m["text"].split("\n")[0] for m in outbox.entries(to=KIM)]

    seen = step_until(clock, timer_worker, wake_due + 2 * STEP, woken)

    assert list(seen) == ["Snooze over: this conversation is open again."]
    assert wake_due <= seen["Snooze over: this conversation is open again."] < wake_due + STEP
    assert thread_of(container).status == "open"
    assert dead_letters(aws) == 0
    assert max(meter.receive_counts) <= 2
    # The wake-up alone is carried by 29 messages; the thread's earlier first-response
    # timers (due Monday) add their own few.
    assert meter.calls["SendMessage"] >= cycles(timedelta(days=14)) == 28
