"""Stored but not queued: the message's follow-up jobs are queued again by the sweep that
the template's EventBridge rule puts on the timers queue every 5 minutes, when the SQS
send failed after the commit and the provider (Twilio) did not redeliver."""

from __future__ import annotations

import json

import boto3
from chalice.test import Client

from chalicelib.composition import Container
from chalicelib.flows.recovery import MAX_REQUEUES, RECOVER_AFTER
from relaydesk import sandbox
from relaydesk.workers import QueueWorker, ScheduledRules
from tests.integration.conftest import FakeClock, drain
from tests.integration.test_spine import post_twilio, thread_of

ALEX = "alex@demo.relaydesk.test"


def sweep(timer_worker: QueueWorker) -> None:
    """What EventBridge does every 5 minutes: the template's rule, sent as it says."""
    rules = ScheduledRules(boto3.client("events"), boto3.client("sqs"))
    assert [(p, u.rsplit("/", 1)[-1]) for p, u, _ in rules.rules] == [(300, "relaydesk-timers")]
    for rule in rules.rules:
        rules.fire(*rule)
    drain(timer_worker)


def pending(store: str = "demo") -> list[dict[str, object]]:
    table = boto3.resource("dynamodb").Table("relaydesk")
    items = table.query(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
        ExpressionAttributeValues={":pk": f"{store}#STORE", ":p": "PENDING#"},
    )["Items"]
    return list(items)


def test_a_message_stored_whose_jobs_were_never_queued_is_followed_up_by_the_sweep(
    client: Client,
    container: Container,
    worker: QueueWorker,
    timer_worker: QueueWorker,
    outbox: sandbox.Sandbox,
    aws: dict[str, str],
    clock: FakeClock,
) -> None:
    sqs = boto3.client("sqs")
    sqs.delete_queue(QueueUrl=aws["JobsQueueUrl"])
    assert post_twilio(client, sid="SMlost").status_code == 503  # stored, not queued
    sqs.create_queue(QueueName="relaydesk-jobs", Attributes={"VisibilityTimeout": "180"})
    # Twilio does not redeliver. Nothing happens while the message is young:
    sweep(timer_worker)
    drain(worker)
    assert outbox.entries(to=ALEX) == []
    assert len(pending()) == 1

    clock.advance(seconds=RECOVER_AFTER.total_seconds() + 1)
    sweep(timer_worker)
    drain(worker)
    [notice] = outbox.entries(to=ALEX)
    assert "Where is my order?" in notice["text"]
    thread = thread_of(container)
    assert thread.response_due_at is not None  # the promise's timers follow too
    assert pending() == []  # the notification cleared it: the next sweep queues nothing
    timers = sqs.get_queue_attributes(
        QueueUrl=aws["TimersQueueUrl"], AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert int(timers["ApproximateNumberOfMessagesDelayed"]) > 0


def test_a_message_followed_up_as_usual_leaves_nothing_for_the_sweep(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    post_twilio(client)
    assert len(pending()) == 1
    drain(worker)
    assert pending() == []
    post_twilio(client, body="And another thing")  # joins the thread, notified again
    drain(worker)
    assert pending() == []
    assert len(outbox.entries(to=ALEX)) == 2


def test_follow_ups_that_keep_failing_are_given_up_after_a_few_sweeps(
    client: Client,
    container: Container,
    worker: QueueWorker,
    timer_worker: QueueWorker,
    aws: dict[str, str],
    clock: FakeClock,
) -> None:
    post_twilio(client)
    sqs = boto3.client("sqs")
    sqs.purge_queue(QueueUrl=aws["JobsQueueUrl"])  # the jobs are lost, or keep failing
    for _ in range(MAX_REQUEUES):
        clock.advance(seconds=RECOVER_AFTER.total_seconds() + 1)
        sweep(timer_worker)
        sqs.purge_queue(QueueUrl=aws["JobsQueueUrl"])
    [marker] = pending()
    assert marker["requeued"] == MAX_REQUEUES
    clock.advance(seconds=RECOVER_AFTER.total_seconds() + 1)
    sweep(timer_worker)
    assert pending() == []
    jobs = sqs.receive_message(QueueUrl=aws["JobsQueueUrl"], MaxNumberOfMessages=10)
    assert [json.loads(m["Body"])["kind"] for m in jobs.get("Messages", [])] == []
