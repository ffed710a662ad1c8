"""SLA timers through the emulated SQS: reminder before, breach at, escalations after the
promise, and silence once it is kept. Timers wait on the fake clock (SQS delays and holds
are set to zero here), so each step is driven by moving the clock."""

from __future__ import annotations

import json

import boto3
import pytest
from cfnlint.decode.cfn_yaml import load
from chalice.test import Client

from chalicelib.composition import Container
from relaydesk import sandbox
from relaydesk.workers import QueueWorker
from tests.conftest import ROOT
from tests.integration.conftest import FakeClock, drain, queue_depth
from tests.integration.test_spine import post_parse, post_twilio, reply_to_of

AGENTS = ["alex@demo.relaydesk.test", "sam@demo.relaydesk.test"]


def tick(timer_worker: QueueWorker) -> None:
    """Deliver what is on the timers queue until nothing more acts. Each receive of a held
    timer counts towards the queue's maxReceiveCount, as it does in AWS, so do not spin."""
    for _ in range(5):
        if timer_worker.poll_once() == 0:
            return


def subjects(outbox: sandbox.Sandbox, to: str) -> list[str]:
    return [m["subject"] for m in outbox.entries(to=to)]


def test_reminder_breach_and_escalations_reach_the_right_people_at_the_right_time(
    client: Client,
    container: Container,
    worker: QueueWorker,
    timer_worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
) -> None:
    post_twilio(client)  # Friday 16:30 Prague: due Monday 12:30, reminder at 11:30
    drain(worker)  # notifies agents and schedules the timers
    assert queue_depth(timer_worker) == 4  # reminder, breach, two escalation steps
    outbox.clear()
    tick(timer_worker)  # all early: held, nothing sent
    assert outbox.entries() == []
    assert queue_depth(timer_worker) == 4

    clock.advance(days=2, hours=19)  # Monday 11:30 Prague: 75 % of 4 business hours
    tick(timer_worker)
    assert [m["to"] for m in outbox.entries()] == [AGENTS[0]]  # the assignee, not everyone
    assert outbox.entries()[0]["subject"] == (
        "[Demo Store] Reminder: answer due Mon 23 Nov 12:30: SMS from +420777123456"
    )
    assert outbox.entries()[0]["reply_to"].startswith("reply+demo.")

    clock.advance(hours=1)  # 12:30: breach
    tick(timer_worker)
    assert subjects(outbox, AGENTS[0])[-1].startswith("[Demo Store] Overdue since Mon 23 Nov 12:30")
    clock.advance(minutes=30)  # the lead, by e-mail
    tick(timer_worker)
    assert subjects(outbox, "lead@demo.relaydesk.test") == [
        "[Demo Store] Escalation: SMS from +420777123456, answer overdue since Mon 23 Nov 12:30"
    ]
    clock.advance(minutes=30)  # on call, by SMS
    tick(timer_worker)
    [page] = outbox.entries(to="+15005550010")
    assert page["body"] == (
        "[Demo Store] SMS from +420777123456: answer overdue since Mon 23 Nov 12:30."
    )
    assert queue_depth(timer_worker) == 0


def test_an_answered_thread_gets_no_reminder_and_no_breach(
    client: Client,
    container: Container,
    worker: QueueWorker,
    timer_worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
) -> None:
    post_twilio(client)
    drain(worker)
    post_parse(client, sender=AGENTS[0], to=reply_to_of(outbox), text="On its way!")
    drain(worker)
    outbox.clear()
    clock.advance(days=4)
    tick(timer_worker)
    assert outbox.entries() == []
    assert queue_depth(timer_worker) == 0  # every timer done and deleted


def test_a_new_promise_after_an_answer_gets_its_own_timers_and_the_old_stay_silent(
    client: Client,
    container: Container,
    worker: QueueWorker,
    timer_worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
) -> None:
    post_twilio(client)
    drain(worker)
    post_parse(client, sender=AGENTS[0], to=reply_to_of(outbox), text="Which order?")
    drain(worker)
    clock.advance(days=3)  # Monday 16:30 Prague
    post_twilio(client, body="Order 1042")  # a new promise: due Tuesday 12:30
    drain(worker)
    outbox.clear()
    clock.advance(hours=19)  # Tuesday 11:30: past the first promise, at the new reminder
    tick(timer_worker)
    assert [m["subject"] for m in outbox.entries(to=AGENTS[0])] == [
        "[Demo Store] Reminder: answer due Tue 24 Nov 12:30: SMS from +420777123456"
    ]


def test_a_timer_delivered_twice_acts_once_and_garbage_stays_for_the_dead_letter_queue(
    capsys: pytest.CaptureFixture[str],
    client: Client,
    container: Container,
    worker: QueueWorker,
    timer_worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
    aws: dict[str, str],
) -> None:
    post_twilio(client)
    drain(worker)
    sqs = boto3.client("sqs")
    clock.advance(minutes=15)  # the timers' DelaySeconds are over: they can be received
    held = sqs.receive_message(QueueUrl=aws["TimersQueueUrl"], MaxNumberOfMessages=10)
    breach = next(m["Body"] for m in held["Messages"] if '"breach"' in m["Body"])
    sqs.send_message(QueueUrl=aws["TimersQueueUrl"], MessageBody=breach)  # a duplicate
    sqs.send_message(QueueUrl=aws["TimersQueueUrl"], MessageBody="not a timer")
    outbox.clear()
    clock.advance(days=2, hours=19, minutes=55)  # past the breach, before the escalation
    tick(timer_worker)
    overdue = [s for s in subjects(outbox, AGENTS[0]) if "Overdue" in s]
    assert len(overdue) == 1
    # One breach, one SlaBreaches metric (CloudWatch Embedded Metric Format on stdout).
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    assert [(m["Store"], m["Promise"], m["SlaBreaches"]) for m in emitted] == [
        ("demo", "response", 1)
    ]
    assert emitted[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "relaydesk"
    # CloudWatch makes one metric of each dimension set (EMF specification); the alarm in
    # infra/template.yaml sees only the one that matches its own dimensions exactly.
    alarm = load(str(ROOT / "infra" / "template.yaml"))["Resources"]["SlaBreachAlarm"]
    wanted = (
        alarm["Properties"]["Namespace"],
        alarm["Properties"]["MetricName"],
        tuple(d["Name"] for d in alarm["Properties"].get("Dimensions", [])),
    )
    extracted = {
        (directive["Namespace"], metric["Name"], tuple(dimension_set))
        for directive in emitted[0]["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
        for dimension_set in directive["Dimensions"]
    }
    assert wanted in extracted
    assert queue_depth(timer_worker) >= 1  # the garbage is kept until it dead-letters


ACME = "+15550001111"
PAT = "pat@acme.test"


def acme_alerts(outbox: sandbox.Sandbox) -> list[str]:
    return [
        m["subject"]
        for m in outbox.entries(to=PAT)
        if "[Acme Outlet] " in m["subject"]
        and ("Reminder" in m["subject"] or "verdue" in m["subject"])
    ]


def test_next_response_resolution_and_pending_pause(
    client: Client,
    container: Container,
    worker: QueueWorker,
    timer_worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
) -> None:
    """Acme (New York, Mon 08-12 + 13-18): first response 60, next response 30 business
    minutes, resolution 480 business minutes, paused while pending."""
    clock.now = clock.now.replace(day=23, hour=14, minute=0)  # Monday 09:00 in New York
    post_twilio(client, to=ACME, body="My order is late")
    drain(worker)
    thread = container.repository.customer("acme", "+420777123456")
    assert thread is not None
    acme_thread = container.repository.thread("acme", thread.open_thread_id or "")
    assert acme_thread is not None
    assert acme_thread.response_due_at.isoformat() == "2026-11-23T15:00:00+00:00"  # 10:00
    # 480 business minutes from 09:00 with lunch 12-13: 18:00 the same day.
    assert acme_thread.resolution_due_at.isoformat() == "2026-11-23T23:00:00+00:00"

    clock.advance(minutes=20)
    post_parse(client, sender=PAT, to=reply_to_of(outbox), text="#pending\nWhich order?")
    drain(worker)
    outbox.clear()
    clock.advance(hours=3)  # 12:20 NY: the customer answers; a next response is owed
    post_twilio(client, to=ACME, body="Order 77")
    drain(worker)
    resumed = container.repository.thread("acme", acme_thread.thread_id)
    assert resumed is not None
    assert resumed.status == "open"
    assert resumed.response_target == "next_response"
    assert resumed.response_due_at.isoformat() == "2026-11-23T18:30:00+00:00"  # 13:30
    # 460 minutes of resolution were left when paused at 09:20. Resumed at 12:20, in the
    # lunch break: 300 minutes from 13:00 to 18:00, then the next opening is Saturday
    # 10:00-14:00: due Saturday 12:40 New York.
    assert resumed.resolution_due_at.isoformat() == "2026-11-28T17:40:00+00:00"
    clock.advance(hours=1, minutes=10)  # 13:30 NY: the next response is overdue
    tick(timer_worker)
    assert acme_alerts(outbox)[-1].startswith("[Acme Outlet] Overdue since Mon 23 Nov 13:30")
    clock.advance(days=4, hours=23, minutes=10)  # Saturday 12:40 NY: resolution overdue
    tick(timer_worker)
    assert acme_alerts(outbox)[-1].startswith(
        "[Acme Outlet] Resolution overdue since Sat 28 Nov 12:40"
    )
    final = container.repository.thread("acme", acme_thread.thread_id)
    assert final is not None
    assert final.response_breached_at is not None
    assert final.resolution_breached_at is not None


def test_a_channel_can_have_its_own_targets_in_calendar_hours(
    client: Client, container: Container, clock: FakeClock
) -> None:
    clock.now = clock.now.replace(day=21, hour=23, minute=0)  # Saturday 18:00 NY, closed
    post_twilio(client, sender="whatsapp:+420777123456", to=f"whatsapp:{ACME}", body="Hi")
    pointer = container.repository.customer("acme", "whatsapp:+420777123456")
    assert pointer is not None
    thread = container.repository.thread("acme", pointer.open_thread_id or "")
    assert thread is not None
    # WhatsApp at Acme: 15 calendar minutes, whatever the hours.
    assert thread.response_due_at.isoformat() == "2026-11-21T23:15:00+00:00"


def test_priority_replans_the_running_promise_with_its_own_target(
    client: Client,
    container: Container,
    worker: QueueWorker,
    timer_worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
) -> None:
    clock.now = clock.now.replace(day=23, hour=14, minute=0)  # Monday 09:00 New York
    post_twilio(client, to=ACME, body="The parcel is damaged")
    drain(worker)
    reply_to = reply_to_of(outbox)
    outbox.clear()
    bad = post_parse(client, sender=PAT, to=reply_to, text="#priority extreme")
    assert bad.status_code == 200
    [told] = outbox.entries(to=PAT)
    assert "#priority" in told["text"]
    assert "urgent" in told["text"]
    response = post_parse(client, sender=PAT, to=reply_to, text="#priority urgent")
    assert response.status_code == 200, response.body
    pointer = container.repository.customer("acme", "+420777123456")
    assert pointer is not None
    assert pointer.priority == "urgent"
    thread = container.repository.thread("acme", pointer.open_thread_id or "")
    assert thread is not None
    assert thread.response_due_at.isoformat() == "2026-11-23T14:10:00+00:00"  # 10 calendar min
    outbox.clear()
    clock.advance(minutes=10)
    tick(timer_worker)
    assert acme_alerts(outbox) == [
        "[Acme Outlet] Reminder: answer due Mon 23 Nov 09:10: SMS from +420777123456",
        "[Acme Outlet] Overdue since Mon 23 Nov 09:10: SMS from +420777123456",
    ]
    clock.advance(minutes=50)  # 10:00: the old (normal) promise's timers stay silent
    tick(timer_worker)
    assert len(acme_alerts(outbox)) == 2
