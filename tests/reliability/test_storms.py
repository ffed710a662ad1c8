"""Duplicate storms and a burst, through the app's HTTP server with real concurrency.

- The same Twilio message posted 5 times at once: stored once, acknowledged once, one
  notification.
- The same e-mail retried by SendGrid over three days: stored once, acknowledged once.
- The same agent reply posted twice, then 5 times at once: one answer to the customer.
- Two deliveries of one job at the same time (SQS delivers a message more than once,
  now and then, and a redelivered post queues its job again): still one answer.
- A burst: 200 webhooks from 40 customers at once (RELAYDESK_SOAK=1: 1,000 from 200):
  all stored, one thread per customer, one acknowledgement per thread.

Requests go over HTTP to `chalice local`'s threaded server (what `relaydesk stack`
serves) in this process, against moto's server made as atomic as DynamoDB is
(faults.serialized_dynamodb). A 5xx is re-posted, as the providers do.
"""

from __future__ import annotations

import functools
import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
import requests

from relaydesk.cli import twiml_messages
from relaydesk.workers import lambda_sqs_event
from tests.integration.email_posts import post_parsed
from tests.integration.test_spine import post_parse, post_twilio, reply_to_of
from tests.reliability import faults
from tests.reliability.faults import Env, LocalApp, pause_after, serialized_dynamodb
from tests.reliability.helpers import (
    DEMO_NUMBER,
    PARSE_PATH,
    TWILIO_PATH,
    basic_auth,
    multipart,
    scan_table,
    twilio_signature,
)
from tests.reliability.summary import figure

env = faults.env
local_app = faults.local_app

ALEX = "alex@demo.relaydesk.test"
SUPPORT = "support@demo.relaydesk.test"
JANA = "jana@customer.test"
SOAK = os.environ.get("RELAYDESK_SOAK") == "1"


@pytest.fixture
def atomic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with serialized_dynamodb(monkeypatch):
        yield


# -- posting over HTTP, as the providers do ---------------------------------------------


class Poster:
    """One provider connection per thread; re-posts on a 5xx, as Twilio and SendGrid do."""

    def __init__(self, app: LocalApp, attempts: int = 6) -> None:
        self.app = app
        self.attempts = attempts
        self._local = threading.local()
        self.retries = 0
        self.most_attempts = 0
        self._lock = threading.Lock()

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        session: requests.Session = self._local.session
        return session

    def deliver(self, send: Callable[[requests.Session], requests.Response]) -> list[Any]:
        responses = []
        for _ in range(self.attempts):
            responses.append(send(self._session()))
            if responses[-1].status_code < 500:
                break
        with self._lock:
            self.retries += len(responses) - 1
            self.most_attempts = max(self.most_attempts, len(responses))
        return responses

    def sms(self, sender: str, sid: str, body: str) -> list[Any]:
        params = {"MessageSid": sid, "From": sender, "To": DEMO_NUMBER, "Body": body}
        signature = twilio_signature({k: [v] for k, v in params.items()})

        def send(session: requests.Session) -> requests.Response:
            return session.post(
                self.app.url + TWILIO_PATH,
                data=params,
                headers={"X-Twilio-Signature": signature},
                timeout=60,
            )

        return self.deliver(send)

    def parse(self, fields: dict[str, str]) -> list[Any]:
        body, content_type = multipart(dict(fields))

        def send(session: requests.Session) -> requests.Response:
            return session.post(
                self.app.url + PARSE_PATH,
                data=body,
                headers={"Content-Type": content_type, "Authorization": basic_auth()},
                timeout=60,
            )

        return self.deliver(send)


def at_once(count: int, action: Callable[[int], list[Any]]) -> list[list[Any]]:
    """`count` threads released together."""
    gate = threading.Barrier(count)

    def run(i: int) -> list[Any]:
        gate.wait(timeout=10)
        return action(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def acks(responses: list[Any]) -> list[str]:
    return [text for r in responses if r.status_code == 200 for text in twiml_messages(r.text)]


def accepted(deliveries: list[list[Any]]) -> None:
    finals = [d[-1].status_code for d in deliveries]
    assert finals == [200] * len(finals), finals


def notifications(e: Env, customer: str) -> list[dict[str, Any]]:
    return [
        m
        for m in e.outbox.entries(provider="sendgrid")
        if m["subject"].startswith("[Demo Store] ")
        and re.search(rf"\((SMS|e-mail), {re.escape(customer)}, #\w{{6}}\)$", m["subject"])
    ]


# -- storms of duplicates ---------------------------------------------------------------

STORMS = 10
COPIES = 5


def _same_sms(poster: Poster, sender: str, sid: str, copy: int) -> list[Any]:
    del copy
    return poster.sms(sender, sid, "Hello?")


def test_the_same_sms_posted_5_times_at_once(env: Env, local_app: LocalApp, atomic: None) -> None:
    poster = Poster(local_app)
    for n in range(STORMS):
        sender, sid = f"+4207771{n:05d}", f"SMstorm{n:026d}"
        deliveries = at_once(COPIES, functools.partial(_same_sms, poster, sender, sid))
        accepted(deliveries)
        assert len(acks([r for d in deliveries for r in d])) == 1, f"storm {n}"
        assert len(Env.stored(sid)) == 1, f"storm {n}"
    env.drain(rounds=STORMS * COPIES)
    for n in range(STORMS):
        assert len(notifications(env, f"+4207771{n:05d}")) == 1
    assert len(Env.threads("demo")) == STORMS
    assert env.jobs_waiting() == 0
    assert env.dead_letters() == (0, 0)
    figure("sms storms", storms=STORMS, copies=COPIES, reposts=poster.retries)


def test_the_same_email_retried_by_sendgrid_over_three_days(env: Env) -> None:
    """SendGrid retries a post that failed for up to 72 hours; here every attempt
    reached us, from the first minute to the third day."""
    for waited in (0, 1, 4, 19, 24, 24):  # hours since the previous attempt
        env.clock.advance(hours=waited)
        response = post_parsed(
            env.client,
            sender=JANA,
            to=SUPPORT,
            subject="Order 1042",
            text="Where is it?",
            message_id="<retried@customer.test>",
        )
        assert response.status_code == 200, response.body
        env.drain()
    assert len(Env.stored("<retried@customer.test>")) == 1
    assert len(Env.threads("demo")) == 1
    assert len([m for m in env.outbox.entries(to=JANA) if m["headers"].get("Auto-Submitted")]) == 1
    assert len(notifications(env, JANA)) == 1
    assert env.dead_letters() == (0, 0)


def _thread_with_reply_address(env: Env) -> str:
    sid = "SMreply00000000000000000000000000"
    assert post_twilio(env.client, sid=sid, sender="+420777555000").status_code == 200
    env.drain()
    return reply_to_of(env.outbox)


def _reply_fields(reply_to: str, message_id: str, text: str) -> dict[str, str]:
    return {
        "headers": f"Message-ID: {message_id}\n",
        "from": f"Alex <{ALEX}>",
        "to": reply_to,
        "subject": "Re: [Demo Store] SMS",
        "text": text,
        "envelope": f'{{"to": ["{reply_to}"], "from": "{ALEX}"}}',
    }


def test_the_same_agent_reply_twice_then_5_times_at_once(
    env: Env, local_app: LocalApp, atomic: None
) -> None:
    reply_to = _thread_with_reply_address(env)
    poster = Poster(local_app)
    for _ in range(2):
        accepted([poster.parse(_reply_fields(reply_to, "<twice@demo>", "Once."))])
    fields = _reply_fields(reply_to, "<storm@demo>", "Only once.")
    accepted(at_once(COPIES, lambda _: poster.parse(fields)))
    env.drain(rounds=20)
    sent = [m["body"] for m in env.outbox.entries(provider="twilio")]
    assert sorted(sent) == ["Once.", "Only once."]
    assert env.dead_letters() == (0, 0)


def _run_jobs_at_once(env: Env) -> None:
    """Receive every waiting job, then run each in its own thread at the same time, as
    concurrent Lambda invocations do; delete them afterwards."""
    sqs = boto3.client("sqs")
    url = env.aws["JobsQueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    from app import on_job  # the app reads its settings when imported: only now

    at_once(len(messages), lambda i: [on_job(lambda_sqs_event(messages[i], arn), None)])
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_one_answer_delivered_twice_at_once_is_sent_once(env: Env) -> None:
    """B7 (fixed: the send is claimed). The agent's reply was posted twice (SendGrid
    retried), so its delivery job is on
    the queue twice, and two Lambdas run them at the same time. Both read the answer as
    still queued before either sends (pause_after makes that interleaving certain)."""
    reply_to = _thread_with_reply_address(env)
    for _ in range(2):
        response = post_parse(
            env.client, sender=ALEX, to=reply_to, text="Once.", message_id="<d@x>"
        )
        assert response.status_code == 200
    race = pause_after(env.monkeypatch, env.container.repository, "message", parties=2)
    _run_jobs_at_once(env)
    assert race.met == 2  # both read the answer as queued before either sent it
    assert [m["body"] for m in env.outbox.entries(provider="twilio")] == ["Once."]


def test_one_notification_job_run_twice_at_once_notifies_once(env: Env) -> None:
    """B8 (fixed: the notification is claimed). A redelivered webhook queues the
    notification again; SQS may also deliver one
    message twice. Two Lambdas that both read the message as not yet notified both mail."""
    for _ in range(2):
        assert post_twilio(env.client, sid="SMtwice", sender="+420777555001").status_code == 200
    race = pause_after(env.monkeypatch, env.container.repository, "messages", parties=2)
    _run_jobs_at_once(env)
    assert race.met == 2  # both read the message as not yet notified
    assert len(notifications(env, "+420777555001")) == 1


def test_one_timer_delivered_twice_at_once_alerts_once(env: Env) -> None:
    """B10 (fixed: the timer is claimed before it acts). SQS is at-least-once: a breach
    timer reaches two Lambdas at the same time, and both read the thread as not yet
    alerted before either records it (pause_after makes that interleaving certain)."""
    from chalicelib.flows.timers import run_timer_batch

    assert post_twilio(env.client, sender="+420777555002").status_code == 200
    env.drain()  # notified; reminder, breach and escalations queued
    env.clock.advance(days=2, hours=20, minutes=10)  # Monday 12:40 Prague: past the breach
    sqs = boto3.client("sqs")
    received = sqs.receive_message(
        QueueUrl=env.aws["TimersQueueUrl"], MaxNumberOfMessages=10, AttributeNames=["All"]
    )["Messages"]
    [breach] = [m for m in received if '"breach"' in m["Body"]]
    record = {
        "receiptHandle": breach["ReceiptHandle"],
        "body": breach["Body"],
        "attributes": breach["Attributes"],
    }
    env.outbox.clear()
    race = pause_after(env.monkeypatch, env.container.repository, "thread", parties=2)
    at_once(2, lambda i: [run_timer_batch(env.container, [{**record, "messageId": f"m{i}"}])])
    assert race.met == 2  # both read the thread as not yet alerted
    assert [m["subject"].split(" since ")[0] for m in env.outbox.entries()] == [
        "[Demo Store] Overdue"
    ]


# -- a burst -------------------------------------------------------------------------------

CUSTOMERS, PER_CUSTOMER = (200, 5) if SOAK else (25, 4)
IN_FLIGHT = 50


def test_burst_of_webhooks_from_many_customers(env: Env, local_app: LocalApp, atomic: None) -> None:
    """Every message stored, one thread per customer, one acknowledgement per thread
    (the first message that got through; the others are within the cool-down), up to the
    store's hourly cap on automatic messages; then one notification per thread."""
    customers = [f"+42060{n:07d}" for n in range(CUSTOMERS)]
    posts = [
        (customer, f"SMburst{c:05d}x{k}{'0' * 20}", f"Question {k} about order {c}")
        for c, customer in enumerate(customers)
        for k in range(PER_CUSTOMER)
    ]
    random.Random(7).shuffle(posts)
    poster = Poster(local_app)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
        deliveries = list(pool.map(lambda p: poster.sms(*p), posts))
    elapsed = time.monotonic() - started
    accepted(deliveries)

    inbound = [i for i in scan_table() if i.get("direction") == "in" and "#THREAD#" in i["pk"]]
    assert Counter(i["provider_id"] for i in inbound) == Counter(sid for _, sid, _ in posts)
    threads = Env.threads("demo")
    assert sorted(t["customer"] for t in threads) == sorted(customers)
    assert {int(t["message_count"]) for t in threads} == {PER_CUSTOMER}
    by_thread = Counter(i["pk"] for i in inbound)
    assert set(by_thread.values()) == {PER_CUSTOMER}

    acked = Counter(
        sender
        for (sender, _, _), responses in zip(posts, deliveries, strict=True)
        if acks(responses)
    )
    store = env.container.stores.by_id("demo")
    assert store is not None
    assert max(acked.values()) == 1
    assert sum(acked.values()) == min(CUSTOMERS, store.auto_replies_per_hour)

    drained = time.monotonic()
    env.drain(rounds=len(posts) // 10 + 10)
    assert {c: len(notifications(env, c)) for c in customers} == {c: 1 for c in customers}
    assert env.jobs_waiting() == 0
    assert env.dead_letters() == (0, 0)
    figure(
        "burst",
        webhooks=len(posts),
        customers=CUSTOMERS,
        in_flight=IN_FLIGHT,
        posting_s=elapsed,
        jobs_s=time.monotonic() - drained,
        reposts=poster.retries,
        most_attempts=poster.most_attempts,
        acknowledgements=sum(acked.values()),
        cap=store.auto_replies_per_hour,
        lost=len({sid for _, sid, _ in posts} - {i["provider_id"] for i in inbound}),
    )


# -- the serialisation itself ----------------------------------------------------------------


def test_a_cancelled_transaction_writes_nothing_under_the_serialisation(
    env: Env, atomic: None
) -> None:
    """moto judges the conditions; the emulator's atomic_dynamodb (relaydesk/emulator.py)
    only undoes, item by item, what a cancelled transaction wrote before its failed
    condition (moto's whole-table copy is skipped): moto writes the first two items below,
    then the third's condition fails, and the table must be as it was."""
    dynamodb = boto3.client("dynamodb")
    key = {"pk": {"S": "serial#1"}, "sk": {"S": "a"}}
    dynamodb.put_item(TableName="relaydesk", Item={**key, "v": {"S": "before"}})
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException) as cancelled:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "relaydesk", "Item": {**key, "v": {"S": "after"}}}},
                {
                    "Put": {
                        "TableName": "relaydesk",
                        "Item": {"pk": {"S": "serial#1"}, "sk": {"S": "new"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": "relaydesk",
                        "Key": {"pk": {"S": "serial#1"}, "sk": {"S": "missing"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "ConditionalCheckFailed"]
    left = {i["sk"]: i.get("v") for i in scan_table() if i["pk"] == "serial#1"}
    assert left == {"a": "before"}
