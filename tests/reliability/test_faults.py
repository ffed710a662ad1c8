"""Fault injection at every step of every flow, and the end state after the retries.

One table per step; each row breaks that step one way (tests/reliability/faults.py says
how each fault is made) and states what must be true once the provider has re-posted
(webhooks: a 5xx makes Twilio and SendGrid retry) and the queues have redelivered (jobs
and timers: SQS, then the dead-letter queue after the queue's maxReceiveCount):

- every inbound message stored exactly once, on one thread;
- every outbound message sent exactly once, or recorded as failed and reported to the
  agent who wrote it, or, after too many failures, on a dead-letter queue;
- nothing left on a work queue.

Where a crash falls between a provider accepting a message and our record of it, the
message is sent again when the job is retried: at least once, never lost. Those rows say
`sent=2` and why; no provider offers an idempotency key that would close that window.

Rows marked with `bug(...)` prove a bug reported in tests/reliability/README.md.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from chalicelib.channels.sendgrid_send import SendGridMailer
from chalicelib.channels.twilio_messaging import TwilioMessenger
from chalicelib.composition import Container, reset_container
from chalicelib.settings import Settings
from relaydesk.cli import twiml_messages
from tests.conftest import TEST_STORES
from tests.integration.conftest import PUBLIC_URL
from tests.integration.email_posts import post_parsed
from tests.integration.test_spine import post_parse, post_twilio, reply_to_of
from tests.reliability import faults
from tests.reliability.faults import (
    DYNAMO_500,
    SQS_500,
    SQS_THROTTLED,
    THROTTLED,
    AwsFault,
    Env,
    aws_error,
    cancelled,
    crash_after,
    inject,
    lost_response,
    partial_batch,
    provider_timeouts,
    stale_read,
)
from tests.reliability.helpers import depth_of, scan_table, twilio_signature

env = faults.env

DEMO = "+15005550006"
CUSTOMER = "+420777100200"
SID = "SMfa17fa17fa17fa17fa17fa17fa17fa17"
ALEX = "alex@demo.relaydesk.test"
JANA = "jana@customer.test"
SUPPORT = "support@demo.relaydesk.test"
ON_CALL = "+15005550010"
ANSWER = "It ships today."

# -- faults as table rows -------------------------------------------------------------

Probe = Callable[[], int]


@dataclass(frozen=True)
class Fault:
    """How to break a step: `arm(env)` is a context manager that yields a probe saying
    how many times the fault struck (a row whose fault never struck proves nothing)."""

    label: str
    arm: Callable[[Env], contextlib.AbstractContextManager[Probe]]
    times: int = 1
    """How often it must strike; 0: at least once (a fault that lasts a whole request)."""


def _aws(label: str, make: Callable[[], AwsFault], times: int = 1) -> Fault:
    @contextlib.contextmanager
    def arm(e: Env) -> Iterator[Probe]:
        with inject(e.container, make()) as (fault,):
            yield lambda: fault.injected

    return Fault(label, arm, times)


def dynamo(operation: str, error: tuple[str, int], count: int = 1) -> Fault:
    tag = "throttled" if error == THROTTLED else f"{error[1]}"
    return _aws(
        f"dynamodb-{operation}-{tag}-x{count}",
        lambda: aws_error("dynamodb", operation, error, count),
        count,
    )


def dynamo_lost(operation: str) -> Fault:
    return _aws(
        f"dynamodb-{operation}-written-then-timed-out",
        lambda: lost_response("dynamodb", operation),
    )


def conflict(count: int) -> Fault:
    """The customer's pointer changed between our read and our write (another message
    of theirs won): the transaction is cancelled on the pointer's condition."""
    if count:
        return _aws(f"dynamodb-conditional-failure-x{count}", lambda: cancelled(count), count)
    return _aws("dynamodb-conditional-failure-every-attempt", lambda: cancelled(1000), 0)


def sqs(operation: str, error: tuple[str, int]) -> Fault:
    tag = "throttled" if error == SQS_THROTTLED else f"{error[1]}"
    return _aws(f"sqs-{operation}-{tag}", lambda: aws_error("sqs", operation, error))


def sqs_lost(operation: str) -> Fault:
    return _aws(f"sqs-{operation}-sent-then-timed-out", lambda: lost_response("sqs", operation))


def sqs_partial() -> Fault:
    return _aws("sqs-SendMessageBatch-last-entry-refused", partial_batch)


def provider(name: str, status: int, count: int = 1) -> Fault:
    @contextlib.contextmanager
    def arm(e: Env) -> Iterator[Probe]:
        e.outbox.set_fault(name, status, count)

        def struck() -> int:
            pending = e.outbox._faults.get(name)
            return count - (pending.remaining if pending else 0)

        yield struck

    return Fault(f"{name}-{status}-x{count}", arm, count)


def timeout(name: str, count: int = 1) -> Fault:
    @contextlib.contextmanager
    def arm(e: Env) -> Iterator[Probe]:
        swallow = {name: count}
        with provider_timeouts(e.monkeypatch, e.container, e.sandbox_url, **swallow) as proxies:
            proxy = proxies[0] if name == "twilio" else proxies[1]
            yield lambda: proxy.swallowed

    return Fault(f"{name}-timeout-x{count}", arm, count)


def crash(target: str, method: str) -> Fault:
    @contextlib.contextmanager
    def arm(e: Env) -> Iterator[Probe]:
        record = crash_after(e.monkeypatch, getattr(e.container, target), method)
        yield lambda: record.crashed

    return Fault(f"crash-after-{target}.{method}", arm)


def both(first: Fault, second: Fault) -> Fault:
    @contextlib.contextmanager
    def arm(e: Env) -> Iterator[Probe]:
        with first.arm(e) as one, second.arm(e) as two:
            yield lambda: min(one(), two())

    return Fault(f"{first.label}+{second.label}", arm, 1)


def struck(fault: Fault, probe: Probe) -> None:
    if fault.times:
        assert probe() == fault.times, f"{fault.label} struck {probe()} times"
    else:
        assert probe() >= 1, f"{fault.label} never struck"


def row(fault: Fault, *marks: pytest.MarkDecorator, **expect: Any) -> Any:
    return pytest.param(fault, expect, id=fault.label, marks=marks)


# -- the provider's side --------------------------------------------------------------


def until_accepted(post: Callable[[], Any], first: Any, attempts: int = 5) -> list[Any]:
    """The provider's retries: re-post the same request while the answer is a 5xx."""
    responses = [first]
    while responses[-1].status_code >= 500 and len(responses) < attempts:
        responses.append(post())
    return responses


def assert_retried_then_accepted(responses: list[Any], retried: bool) -> None:
    statuses = [r.status_code for r in responses]
    assert statuses[-1] == 200, statuses
    assert all(s >= 500 for s in statuses[:-1]), f"a 4xx would stop the retries: {statuses}"
    assert (len(statuses) > 1) == retried, f"answered {statuses}"


def acks_in(responses: list[Any]) -> list[str]:
    return [
        text for r in responses if r.status_code == 200 for text in twiml_messages(r.body.decode())
    ]


def sms_in(e: Env, *, sid: str = SID, body: str = "Where is my order?") -> Any:
    return post_twilio(e.client, sender=CUSTOMER, to=DEMO, sid=sid, body=body)


def email_in(e: Env, message_id: str = "<c1@customer.test>", references: str = "") -> Any:
    return post_parsed(
        e.client,
        sender=JANA,
        to=SUPPORT,
        subject="Order 1042",
        text="Where is it?",
        message_id=message_id,
        headers=f"References: {references}\n" if references else "",
    )


def notifications(e: Env, customer: str = CUSTOMER) -> list[dict[str, Any]]:
    """The agents' notifications about this customer (not reminders or reports)."""
    pattern = re.compile(rf"\[Demo Store\] .* \((SMS|e-mail), {re.escape(customer)}, #\w{{6}}\)$")
    return [m for m in e.outbox.entries(provider="sendgrid") if pattern.match(m["subject"])]


def email_acks(e: Env) -> list[dict[str, Any]]:
    return [m for m in e.outbox.entries(to=JANA) if m["headers"].get("Auto-Submitted")]


def timers_waiting(e: Env) -> int:
    return depth_of(e.aws, "TimersQueueUrl")


def assert_nothing_stuck(e: Env, dead: tuple[int, int] = (0, 0)) -> None:
    assert e.jobs_waiting() == 0, "a job is still on the queue"
    assert e.dead_letters() == dead


def assert_stored_once(provider_id: str, store: str = "demo") -> dict[str, Any]:
    [message] = Env.stored(provider_id)
    [thread] = Env.threads(store)
    assert message["pk"] == thread["pk"]
    assert thread["message_count"] == 1
    return thread


# == 1. the SMS/WhatsApp webhook: persist, enqueue ======================================

# `ack`: acknowledgements in all the webhook's answers. A failure after the message was
# stored loses the answer that carried the acknowledgement, and the redelivery does not
# acknowledge again (README: "a redelivery stores nothing and acknowledges nothing"),
# so there it is 0: at most once, by design.
SMS_WEBHOOK = [
    row(dynamo("GetItem", THROTTLED), retried=True, ack=1),
    row(dynamo("GetItem", DYNAMO_500), retried=True, ack=1),
    row(dynamo("TransactWriteItems", THROTTLED), retried=True, ack=1),
    row(dynamo("TransactWriteItems", DYNAMO_500), retried=True, ack=1),
    row(conflict(1), retried=False, ack=1),
    row(conflict(0), retried=True, ack=1),
    row(dynamo_lost("TransactWriteItems"), retried=True, ack=0),
    row(sqs("SendMessage", SQS_500), retried=True, ack=0),
    row(sqs("SendMessage", SQS_THROTTLED), retried=True, ack=0),
    row(sqs_lost("SendMessage"), retried=True, ack=0),
    row(crash("repository", "record_inbound"), retried=True, ack=0),
    row(crash("jobs", "send_all"), retried=True, ack=0),
]


@pytest.mark.parametrize(("fault", "expect"), SMS_WEBHOOK)
def test_sms_webhook(env: Env, fault: Fault, expect: dict[str, Any]) -> None:
    with fault.arm(env) as probe:
        first = sms_in(env)
    struck(fault, probe)
    responses = until_accepted(lambda: sms_in(env), first)
    assert_retried_then_accepted(responses, expect["retried"])
    assert len(acks_in(responses)) == expect["ack"]
    env.drain()
    assert_stored_once(SID)
    assert len(notifications(env)) == 1
    assert timers_waiting(env) == 4  # the promise is watched: reminder, breach, 2 escalations
    assert_nothing_stuck(env)


def test_sms_redelivery_reads_the_marker_consistently(env: Env) -> None:
    """DynamoDB reads are eventually consistent unless asked: just after the marker was
    written, a plain GetItem may not see it. The redelivery must still be a 200."""
    assert sms_in(env).status_code == 200
    with inject(env.container, stale_read()) as (fault,):
        response = sms_in(env)
    assert fault.injected == 0  # B1 (fixed): every read on the redelivery path is consistent
    assert response.status_code == 200, response.body
    assert acks_in([response]) == []
    assert_stored_once(SID)


# == 2. the customer e-mail webhook: persist, enqueue (notification + acknowledgement) ===

# B2 (fixed): the redelivery queues the acknowledgement again
EMAIL_WEBHOOK = [
    row(dynamo("TransactWriteItems", THROTTLED), retried=True),
    row(dynamo("TransactWriteItems", DYNAMO_500), retried=True),
    row(dynamo("BatchGetItem", THROTTLED), retried=True),
    row(dynamo("GetItem", THROTTLED), retried=True),
    row(conflict(1), retried=False),
    row(sqs_lost("SendMessageBatch"), retried=True),
    row(crash("jobs", "send_all"), retried=True),
    row(sqs("SendMessageBatch", SQS_500), retried=True),
    row(sqs_partial(), retried=True),
    row(dynamo_lost("TransactWriteItems"), retried=True),
    row(crash("repository", "record_inbound"), retried=True),
]


@pytest.mark.parametrize(("fault", "expect"), EMAIL_WEBHOOK)
def test_email_webhook(env: Env, fault: Fault, expect: dict[str, Any]) -> None:
    # A References header naming a mail we never saw: the thread lookup runs, finds nothing.
    def post() -> Any:
        return email_in(env, references="<older@customer.test>")

    with fault.arm(env) as probe:
        first = post()
    struck(fault, probe)
    responses = until_accepted(post, first)
    assert_retried_then_accepted(responses, expect["retried"])
    env.drain()
    assert_stored_once("<c1@customer.test>")
    assert len(notifications(env, JANA)) == 1
    assert len(email_acks(env)) == 1
    assert_nothing_stuck(env)


# == 3. the agents' notification (SQS job) ================================================

# B3 (fixed): a retried notification job schedules the timers
NOTIFY = [
    row(provider("sendgrid", 429, 2), sent=1),
    row(provider("sendgrid", 500, 2), sent=1),
    row(timeout("sendgrid"), sent=1),
    row(dynamo("Query", THROTTLED), sent=1),
    row(dynamo("UpdateItem", DYNAMO_500), sent=1),
    row(crash("repository", "record_event"), sent=1),
    # The timers went out, the job died before recording them: queued again by the retry
    # (B3's fix); each still acts at most once (the thread's fired_timers).
    row(crash("timers", "send_all"), sent=1, timers=8),
    # The mail went out, the job died before recording it: sent again on the retry.
    row(crash("mailer", "send"), sent=2),
    row(crash("repository", "mark_notified"), sent=1),
    row(sqs("SendMessageBatch", SQS_500), sent=1),
    # Every delivery fails: after 5 the job is dead-lettered, the message still stored.
    row(provider("sendgrid", 500, 5), sent=0, dead=(1, 0), timers=0),
    row(provider("sendgrid", 400, 5), sent=0, dead=(1, 0), timers=0),
]


@pytest.mark.parametrize(("fault", "expect"), NOTIFY)
def test_notification_job(env: Env, fault: Fault, expect: dict[str, Any]) -> None:
    assert sms_in(env).status_code == 200
    with fault.arm(env) as probe:
        env.drain()
    struck(fault, probe)
    assert len(notifications(env)) == expect["sent"]
    assert timers_waiting(env) == expect.get("timers", 4)
    assert_stored_once(SID)
    assert_nothing_stuck(env, expect.get("dead", (0, 0)))


# == 4. the agent's reply, relayed to the customer ========================================


def _answered_thread(e: Env) -> str:
    assert sms_in(e).status_code == 200
    e.drain()
    return reply_to_of(e.outbox)


def _agent_reply(e: Env, reply_to: str) -> Any:
    return post_parse(e.client, sender=ALEX, to=reply_to, text=ANSWER, message_id="<a1@demo>")


def _answer(e: Env) -> dict[str, Any]:
    [answer] = Env.stored("<a1@demo>", direction="out")
    return answer


def told_agent(e: Env) -> list[dict[str, Any]]:
    return [m for m in e.outbox.entries(to=ALEX) if m["subject"].startswith("Not delivered")]


# The agent's post (Inbound Parse) fails; SendGrid re-posts it.
RELAY_WEBHOOK = [
    row(dynamo("TransactWriteItems", THROTTLED)),
    row(dynamo("GetItem", DYNAMO_500)),
    row(sqs("SendMessage", SQS_500)),
    row(sqs_lost("SendMessage")),
    row(crash("repository", "record_outbound")),
    row(crash("jobs", "send_all")),
]


@pytest.mark.parametrize(("fault", "expect"), RELAY_WEBHOOK)
def test_agent_reply_webhook(env: Env, fault: Fault, expect: dict[str, Any]) -> None:
    del expect
    reply_to = _answered_thread(env)
    with fault.arm(env) as probe:
        first = _agent_reply(env, reply_to)
    struck(fault, probe)
    responses = until_accepted(lambda: _agent_reply(env, reply_to), first)
    assert_retried_then_accepted(responses, retried=True)
    env.drain()
    assert [m["body"] for m in env.sms(to=CUSTOMER)] == [ANSWER]
    assert _answer(env)["delivery_status"] == "sent"
    assert_nothing_stuck(env)


# B4 (fixed): a retried job reports a failure that was not reported
RELAY_JOB = [
    row(provider("twilio", 429, 2), sent=1, status="sent"),
    row(provider("twilio", 500, 2), sent=1, status="sent"),
    row(timeout("twilio"), sent=1, status="sent"),
    row(dynamo("GetItem", THROTTLED), sent=1, status="sent"),
    row(dynamo_lost("TransactWriteItems"), sent=1, status="sent"),
    row(crash("repository", "part_sent"), sent=1, status="sent"),
    row(crash("repository", "mark_delivered"), sent=1, status="sent"),
    # The SMS went out and its record failed (an error, or the job died): sent again.
    row(dynamo("TransactWriteItems", DYNAMO_500), sent=2, status="sent"),
    row(crash("messenger", "send"), sent=2, status="sent"),
    # Transient every time: dead-lettered after 5 deliveries, still queued in the table.
    row(provider("twilio", 500, 5), sent=0, status="queued", dead=(1, 0)),
    # Permanent: recorded and told to the agent, once.
    row(provider("twilio", 400), sent=0, status="failed", told=1),
    row(
        both(provider("twilio", 400), crash("repository", "mark_failed")),
        sent=0,
        status="failed",
        told=1,
    ),
    row(
        both(provider("twilio", 400), provider("sendgrid", 500)),
        sent=0,
        status="failed",
        told=1,
    ),
]


@pytest.mark.parametrize(("fault", "expect"), RELAY_JOB)
def test_relay_job(env: Env, fault: Fault, expect: dict[str, Any]) -> None:
    reply_to = _answered_thread(env)
    assert _agent_reply(env, reply_to).status_code == 200
    with fault.arm(env) as probe:
        env.drain()
    struck(fault, probe)
    assert [m["body"] for m in env.sms(to=CUSTOMER)] == [ANSWER] * expect["sent"]
    assert _answer(env)["delivery_status"] == expect["status"]
    assert len(told_agent(env)) == expect.get("told", 0)
    assert_nothing_stuck(env, expect.get("dead", (0, 0)))


RELAY_EMAIL_JOB = [
    row(provider("sendgrid", 500, 2), sent=1),
    row(provider("sendgrid", 429, 2), sent=1),
    row(timeout("sendgrid"), sent=1),
    row(crash("mailer", "send"), sent=2),
]


@pytest.mark.parametrize(("fault", "expect"), RELAY_EMAIL_JOB)
def test_relay_job_by_email(env: Env, fault: Fault, expect: dict[str, Any]) -> None:
    assert email_in(env).status_code == 200
    env.drain()
    reply_to = [m for m in env.outbox.entries(to=ALEX) if m.get("reply_to")][-1]["reply_to"]
    assert _agent_reply(env, reply_to).status_code == 200
    with fault.arm(env) as probe:
        env.drain()
    struck(fault, probe)
    answers = [m for m in env.outbox.entries(to=JANA) if m["text"] == ANSWER]
    assert len(answers) == expect["sent"]
    assert len({m["headers"]["Message-ID"] for m in answers}) == 1  # the same mail, again
    assert _answer(env)["delivery_status"] == "sent"
    assert_nothing_stuck(env)


# == 5. the e-mail acknowledgement (SQS job) =============================================

ACK_JOB = [
    row(provider("sendgrid", 500, 2), acks=1, status="sent"),
    row(provider("sendgrid", 429, 2), acks=1, status="sent"),
    row(crash("repository", "record_outbound"), acks=1, status="sent"),
    row(crash("repository", "mark_delivered"), acks=1, status="sent"),
    # A permanent refusal of the acknowledgement: recorded; nobody wrote it to be told.
    row(provider("sendgrid", 400, 2), acks=0, status="failed"),
]


@pytest.mark.parametrize(("fault", "expect"), ACK_JOB)
def test_email_ack_job(env: Env, fault: Fault, expect: dict[str, Any]) -> None:
    assert email_in(env).status_code == 200
    with fault.arm(env) as probe:
        env.drain()
    struck(fault, probe)
    assert len(email_acks(env)) == expect["acks"]
    [ack] = [i for i in scan_table() if i.get("automatic") == "acknowledgement"]
    assert ack["delivery_status"] == expect["status"]
    assert len(notifications(env, JANA)) == 1
    assert_nothing_stuck(env)


# == 6. SLA timers =========================================================================

REMINDER = "Reminder: answer due"


def reminders(e: Env) -> list[dict[str, Any]]:
    return [m for m in e.outbox.entries(provider="sendgrid") if REMINDER in m["subject"]]


TIMER = [
    row(provider("sendgrid", 500), sent=1),
    row(provider("sendgrid", 429), sent=1),
    row(timeout("sendgrid"), sent=1),
    row(dynamo("GetItem", THROTTLED), sent=1),
    # The claim was written, its answer lost: released, the retry claims and sends.
    row(crash("repository", "timer_fired"), sent=1),
    # The claim failed (B10: the timer is claimed before it acts): nothing sent, the retry
    # sends once. (Before B10 the reminder went out first, then its record failed: twice.)
    row(dynamo("UpdateItem", DYNAMO_500), sent=1),
    # SendGrid took the reminder, then the Lambda failed: at least once, so twice.
    row(crash("mailer", "send"), sent=2),
]


@pytest.mark.parametrize(("fault", "expect"), TIMER)
def test_reminder_timer(env: Env, fault: Fault, expect: dict[str, Any]) -> None:
    assert sms_in(env).status_code == 200
    env.drain()
    env.tick()  # all early: held
    env.clock.advance(days=2, hours=19)  # Monday 11:30 Prague: the reminder is due
    with fault.arm(env) as probe:
        env.tick()
    struck(fault, probe)
    assert len(reminders(env)) == expect["sent"]
    assert timers_waiting(env) == 3  # the breach and the escalations wait their turn
    assert_nothing_stuck(env)


PAGE = [
    row(provider("twilio", 500), sent=1),
    row(provider("twilio", 429), sent=1),
    row(timeout("twilio"), sent=1),
    row(crash("messenger", "send"), sent=2),
]


@pytest.mark.parametrize(("fault", "expect"), PAGE)
def test_escalation_sms_timer(env: Env, fault: Fault, expect: dict[str, Any]) -> None:
    assert sms_in(env).status_code == 200
    env.drain()
    env.clock.advance(days=2, hours=21)  # past the breach and both escalation steps
    with fault.arm(env) as probe:
        env.tick()
    struck(fault, probe)
    assert len(env.sms(to=ON_CALL)) == expect["sent"]
    assert len(reminders(env)) == 1
    assert timers_waiting(env) == 0
    assert_nothing_stuck(env)


def test_timers_that_always_fail_are_dead_lettered(env: Env) -> None:
    """SendGrid refuses everything: the reminder, the breach and the e-mail escalation
    end on the timers' dead-letter queue after its maxReceiveCount; the SMS page works."""
    assert sms_in(env).status_code == 200
    env.drain()
    env.clock.advance(days=2, hours=21)
    env.outbox.set_fault("sendgrid", 500, 1000)
    env.tick(rounds=40)
    assert reminders(env) == []
    assert len(env.sms(to=ON_CALL)) == 1
    assert timers_waiting(env) == 0
    assert env.dead_letters() == (0, 3)


# == 7. Twilio's delivery status callback ===================================================

STATUS_PATH = "/webhooks/twilio/status"

STATUS = [
    row(sqs("SendMessage", SQS_500), told=1),
    row(dynamo("GetItem", THROTTLED), told=1),
    # The report was queued, recording the status failed: the re-post queues it again.
    row(dynamo("UpdateItem", DYNAMO_500), told=1),  # the retried report job sees it was told
]


def post_status(e: Env, sid: str, status: str, error: str) -> Any:
    """Twilio's status callback for a message the demo store sent, signed as Twilio signs."""
    params = {"MessageSid": [sid], "MessageStatus": [status], "From": [DEMO], "To": [CUSTOMER]}
    params["ErrorCode"] = [error]
    return e.client.http.post(
        STATUS_PATH,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature(params, url=PUBLIC_URL + STATUS_PATH),
        },
        body=urlencode([(k, v[0]) for k, v in params.items()]).encode(),
    )


@pytest.mark.parametrize(("fault", "expect"), STATUS)
def test_status_callback(env: Env, fault: Fault, expect: dict[str, Any]) -> None:
    reply_to = _answered_thread(env)
    assert _agent_reply(env, reply_to).status_code == 200
    env.drain()
    [sms] = env.sms(to=CUSTOMER)

    def post() -> Any:
        return post_status(env, sms["id"], "undelivered", "30003")

    with fault.arm(env) as probe:
        first = post()
    struck(fault, probe)
    responses = until_accepted(post, first)
    assert_retried_then_accepted(responses, retried=True)
    env.drain()
    assert len(told_agent(env)) == expect["told"]
    assert _answer(env)["provider_status"] == "undelivered"
    assert_nothing_stuck(env)


# == 8. reopening a closed thread ==========================================================


def _thread_ttls(thread_pk: str) -> set[Any]:
    return {i.get("expires_at") for i in scan_table() if i["pk"] == thread_pk}


def test_reopen_keeps_the_thread_even_if_the_first_attempt_failed(env: Env) -> None:
    """A customer writes again to a closed thread: it is open again, and its retention
    (the TTL that would delete it and its messages) is taken off, by a job (one write per
    item: a long thread would outlast the webhook). If that job fails part way, its retry
    must finish it, or DynamoDB deletes an open conversation a year later."""
    reply_to = _answered_thread(env)
    response = post_parse(env.client, sender=ALEX, to=reply_to, text="#close")
    assert response.status_code == 200, response.body
    env.drain()  # the retention is set by a job
    [thread] = Env.threads("demo")
    assert None not in _thread_ttls(thread["pk"])  # closed: everything expires
    env.clock.advance(hours=1)
    assert sms_in(env, sid="SMagain", body="One more thing").status_code == 200
    # The jobs' second DynamoDB write is throttled (the notification's, or the keep's with
    # the thread half kept): that job fails and SQS delivers it again.
    with inject(env.container, aws_error("dynamodb", "UpdateItem", THROTTLED, skip=1)) as (fault,):
        env.drain()
    assert fault.injected == 1
    env.drain()
    [reopened] = Env.threads("demo")
    assert reopened["status"] == "open"
    assert _thread_ttls(thread["pk"]) == {None}


def test_a_message_to_an_expired_thread_starts_a_new_one(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B6 (fixed): once a closed thread is gone (its TTL, or an erasure) while the
    customer's pointer still names it, a new message within the reopen window used to fail
    its transaction's condition on every attempt: 503 for ever, the message lost. Now it
    starts a new thread linked to the gone one. (The configuration also refuses a
    retention shorter than the reopen window, so TTL alone no longer gets there.)"""
    stores = json.loads(TEST_STORES.read_text())
    for store in stores["stores"]:
        store["retention_days"], store["reopen_window_days"] = 2, 1
        if answers := store.get("automation", {}).get("answers_file"):  # beside the original
            store["automation"]["answers_file"] = str((TEST_STORES.parent / answers).resolve())
    path = tmp_path / "stores.json"
    path.write_text(json.dumps(stores))
    container = Container(
        Settings({**env.container.settings.environ, "STORES_FILE": str(path)}), clock=env.clock
    )
    reset_container(container)
    monkeypatch.setattr(env, "container", container)
    reply_to = _answered_thread(env)
    assert post_parse(env.client, sender=ALEX, to=reply_to, text="#close").status_code == 200
    [thread] = Env.threads("demo")
    env.clock.advance(hours=12)  # within the reopen window; deleted by hand below
    table = boto3.resource("dynamodb").Table("relaydesk")
    for item in scan_table():  # what DynamoDB's TTL deletes
        if item["pk"] == thread["pk"]:
            table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})

    def post() -> Any:
        return sms_in(env, sid="SMlater", body="Hello?")

    responses = until_accepted(post, post())
    assert responses[-1].status_code == 200, [r.status_code for r in responses]
    [stored] = Env.stored("SMlater")
    assert stored["pk"] != thread["pk"]


# == 9. a provider that never answers ======================================================


def test_provider_clients_have_a_timeout_in_production(env: Env) -> None:
    """Built as in AWS (no sandbox): a provider that accepts the connection and never
    answers must cost a bounded wait, not the rest of the Lambda's 30 seconds (a whole
    timers batch, or the agent's webhook through API Gateway's 29)."""
    environ = dict(env.container.settings.environ)
    environ.pop("PROVIDER_SANDBOX_URL", None)
    production = Container(Settings(environ), clock=env.clock)
    assert isinstance(production.messenger, TwilioMessenger)
    assert isinstance(production.mailer, SendGridMailer)
    twilio_timeout = production.messenger._rest().http_client.timeout
    sendgrid_timeout = production.mailer._sdk().client.timeout
    assert twilio_timeout is not None
    assert sendgrid_timeout is not None
    assert max(twilio_timeout, sendgrid_timeout) <= 15
    # SQS too (boto3's default is 60 s): a stalled send after the inbound write must fail
    # while Twilio still waits for the webhook's answer.
    sqs = production.sqs.meta.config
    assert (sqs.connect_timeout + sqs.read_timeout) * sqs.retries["total_max_attempts"] <= 15
    # And the DynamoDB transaction's own connection (PynamoDB's defaults: 15 s and 30 s).
    transactions = production.repository.connection
    assert transactions._connect_timeout_seconds + transactions._read_timeout_seconds <= 10
