"""SLA timers through the emulated SQS: reminder before, breach at, escalations after the
promise, and silence once it is kept. Timers wait on the fake clock (SQS delays and holds
are set to zero here), so each step is driven by moving the clock."""

from __future__ import annotations

import boto3
from chalice.test import Client

from chalicelib.composition import Container
from relaydesk import sandbox
from relaydesk.workers import QueueWorker
from tests.integration.conftest import FakeClock, drain, queue_depth
from tests.integration.test_spine import post_parse, post_twilio, reply_to_of

AGENTS = ["alex@demo.relaydesk.test", "sam@demo.relaydesk.test"]


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
    drain(timer_worker)  # all early: held, nothing sent
    assert outbox.entries() == []
    assert queue_depth(timer_worker) == 4

    clock.advance(days=2, hours=19)  # Monday 11:30 Prague: 75 % of 4 business hours
    drain(timer_worker)
    assert sorted(m["to"] for m in outbox.entries()) == AGENTS
    assert outbox.entries()[0]["subject"] == (
        "[Demo Store] Reminder: answer due Mon 23 Nov 12:30: SMS from +420777123456"
    )
    assert outbox.entries()[0]["reply_to"].startswith("reply+demo.")

    clock.advance(hours=1)  # 12:30: breach
    drain(timer_worker)
    assert subjects(outbox, AGENTS[0])[-1].startswith("[Demo Store] Overdue since Mon 23 Nov 12:30")
    clock.advance(minutes=30)  # the lead, by e-mail
    drain(timer_worker)
    assert subjects(outbox, "lead@demo.relaydesk.test") == [
        "[Demo Store] Escalation: SMS from +420777123456 unanswered since Mon 23 Nov 12:30"
    ]
    clock.advance(minutes=30)  # on call, by SMS
    drain(timer_worker)
    [page] = outbox.entries(to="+15005550010")
    assert page["body"] == "[Demo Store] SMS from +420777123456 unanswered since Mon 23 Nov 12:30."
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
    drain(timer_worker)
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
    drain(timer_worker)
    assert [m["subject"] for m in outbox.entries(to=AGENTS[0])] == [
        "[Demo Store] Reminder: answer due Tue 24 Nov 12:30: SMS from +420777123456"
    ]


def test_a_timer_delivered_twice_acts_once_and_garbage_stays_for_the_dead_letter_queue(
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
    held = sqs.receive_message(QueueUrl=aws["TimersQueueUrl"], MaxNumberOfMessages=10)
    breach = next(m["Body"] for m in held["Messages"] if '"breach"' in m["Body"])
    sqs.send_message(QueueUrl=aws["TimersQueueUrl"], MessageBody=breach)  # a duplicate
    sqs.send_message(QueueUrl=aws["TimersQueueUrl"], MessageBody="not a timer")
    outbox.clear()
    clock.advance(days=2, hours=20, minutes=10)  # past the breach, before the escalation
    drain(timer_worker)
    overdue = [s for s in subjects(outbox, AGENTS[0]) if "Overdue" in s]
    assert len(overdue) == 1
    assert queue_depth(timer_worker) >= 1  # the garbage is kept until it dead-letters
