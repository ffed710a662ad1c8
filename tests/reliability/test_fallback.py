"""Nothing that reached Twilio is lost when relaydesk itself is down (issue #15).

Twilio as it behaves (relaydesk/sandbox/twilio.py, `deliver_inbound`): the number's SMS URL
is called once, not again after a 5xx (the default, without connection overrides), then the
Fallback URL once. The Fallback URL parks the request on the inbox queue; `on_parked`
replays it when the app is healthy; the acknowledgement goes out by REST through a job.

Outages are simulated on the test's clock: every call of the service on the app's own
clients fails for 60 seconds of it (tests/reliability/faults.py, `outage`) while 100
customers write, 0.6 s apart. The run prints its figures (tests/reliability/README.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib import routes
from chalicelib.channels.twilio_messaging import override_fragment
from chalicelib.composition import Container
from chalicelib.settings import SecretsUnavailable
from relaydesk.cli import twiml_messages
from relaydesk.local_env import LOCAL_TWILIO_AUTH_TOKEN
from relaydesk.sandbox.twilio import InboundDelivery, deliver_inbound
from relaydesk.workers import QueueWorker
from tests.integration.conftest import PUBLIC_URL, queue_depth
from tests.reliability import faults
from tests.reliability.faults import DYNAMO_500, SQS_500, Env, Inbox, Outage, outage
from tests.reliability.helpers import assert_not_logged, depth_of, scan_table, security_lines

env = faults.env

DEMO = "+15005550006"
CUSTOMERS = 100
JOBS_OUTAGE_CUSTOMERS = CUSTOMERS if os.environ.get("RELAYDESK_SOAK") else 30
"""The jobs-queue outage: 30 customers in `make test` (each costs ~0.6 s of jobs here),
100 in `make soak`."""
OUTAGE = timedelta(seconds=60)
PRIMARY = PUBLIC_URL + routes.TWILIO_MESSAGING
FALLBACK = PUBLIC_URL + routes.TWILIO_FALLBACK


@pytest.fixture
def inbox(env: Env) -> Inbox:
    return Inbox(env.aws["InboxQueueUrl"])


def twilio(
    e: Env, params: Mapping[str, str], primary: str = PRIMARY, token: str = LOCAL_TWILIO_AUTH_TOKEN
) -> InboundDelivery:
    """One customer message, delivered as Twilio delivers it, to the app's Lambda handler."""

    def post(url: str, form: Mapping[str, str], headers: Mapping[str, str]) -> tuple[int, str]:
        path = url.removeprefix(PUBLIC_URL)
        response = e.client.http.post(path, headers=dict(headers), body=urlencode(form).encode())
        return response.status_code, response.body.decode()

    return deliver_inbound(
        params, primary_url=primary, fallback_url=FALLBACK, auth_token=token, post=post
    )


def sms(n: int, body: str = "") -> dict[str, str]:
    return {
        "MessageSid": f"SMfb{n:030d}",
        "AccountSid": "AC00000000000000000000000000000000",
        "From": customer(n),
        "To": DEMO,
        "Body": body or f"Where is my order {1000 + n}?",
        "NumMedia": "0",
    }


def customer(n: int) -> str:
    return f"+42077710{n:04d}"


def depth(e: Env, key: str) -> int:
    return depth_of(e.aws, key)


def drain_inbox(worker: QueueWorker, rounds: int = 30) -> int:
    """Replay what is parked until the inbox is empty; how many replays succeeded."""
    done = 0
    for _ in range(rounds):
        done += worker.poll_once()
        if not queue_depth(worker):
            break
    return done


NOTIFICATION = re.compile(r"\[Demo Store\] .* \(SMS, \+\d+, #\w{6}\)$")
"""The subject of the agents' notification about an SMS (test_faults.notifications)."""


def notified(e: Env) -> list[dict[str, Any]]:
    return [m for m in e.outbox.entries(provider="sendgrid") if NOTIFICATION.match(m["subject"])]


def acknowledgements(e: Env, to: str) -> list[dict[str, Any]]:
    return [m for m in e.outbox.entries(provider="twilio", to=to) if "Demo Store" in m["body"]]


@contextlib.contextmanager
def for_sixty_seconds(e: Env, service: str, error: tuple[str, int], **kw: Any) -> Iterator[Outage]:
    start = e.clock.now

    def down() -> bool:
        return e.clock.now - start < OUTAGE

    with outage(e.container, Outage(service, down, *error, **kw)) as fault:
        yield fault


def burst_during(
    e: Env, inbox: Inbox, fault: Outage, customers: int = CUSTOMERS
) -> tuple[list[InboundDelivery], int]:
    """`customers` write while the fault lasts, one every 0.6 s; the inbox is polled every
    10 messages (as on_parked would, finding the app still down). (deliveries, failed
    replays)."""
    deliveries, failed_replays = [], 0
    spacing = OUTAGE / customers
    for n in range(customers):
        assert fault.down(), "the burst outlasted the outage"
        deliveries.append(twilio(e, sms(n)))
        if n % 10 == 9:
            before = inbox.runs
            succeeded = inbox.poll_once()
            failed_replays += inbox.runs - before - succeeded
        e.clock.now += spacing
    e.clock.now += OUTAGE  # the outage is over
    assert not fault.down()
    return deliveries, failed_replays


def assert_every_message_stored_once_and_acknowledged_once(
    e: Env, customers: int = CUSTOMERS
) -> None:
    items = scan_table()
    inbound = Counter(
        str(i["provider_id"])
        for i in items
        if str(i["sk"]).startswith("MSG#") and i.get("direction") == "in"
    )
    assert inbound == {sms(n)["MessageSid"]: 1 for n in range(customers)}
    threads = [i for i in items if i["sk"] == "#META" and "#THREAD#" in str(i["pk"])]
    assert sorted(str(t["customer"]) for t in threads) == [customer(n) for n in range(customers)]
    acks = Counter(
        m["to"] for m in e.outbox.entries(provider="twilio") if "Demo Store" in m["body"]
    )
    assert acks == {customer(n): 1 for n in range(customers)}
    assert len(notified(e)) == customers


def assert_nothing_left(e: Env) -> None:
    for key in ("InboxQueueUrl", "InboxDeadLetterQueueUrl", "JobsQueueUrl"):
        assert depth(e, key) == 0, key
    assert e.dead_letters() == (0, 0)


def report(
    what: str, deliveries: list[InboundDelivery], failed: int, fault: Outage, started: float
) -> None:
    answered = Counter(d.answered_by for d in deliveries)
    n = len(deliveries)
    print(
        f"\n{what}: {n} SMS during {OUTAGE.seconds} s (simulated): calls refused "
        f"{dict(fault.refused)}; primary answered {answered['primary']}, "
        f"parked by the fallback {answered['fallback']}, lost at Twilio {answered[None]}; "
        f"replays failed while down {failed}, then replayed {n}; "
        f"stored {n}, acknowledged once each by REST; lost 0 "
        f"({time.monotonic() - started:.1f} s in all)"
    )


def test_dynamodb_down_for_a_minute_while_100_sms_arrive(env: Env, inbox: Inbox) -> None:
    started = time.monotonic()
    with for_sixty_seconds(env, "dynamodb", DYNAMO_500) as fault:
        deliveries, failed = burst_during(env, inbox, fault)
    for d in deliveries:
        # Not retried after the 503, then parked; the fallback's TwiML is empty.
        assert [status for _, status in d.attempts] == [503, 200], d.attempts
        assert d.answered_by == "fallback"
        assert twiml_messages(d.answer) == []
    assert failed > 0  # replays did meet the outage, and were kept for later
    assert scan_table() == []  # nothing could be stored while the table was down
    assert drain_inbox(inbox) == CUSTOMERS
    env.drain(rounds=40)
    assert_every_message_stored_once_and_acknowledged_once(env)
    assert_nothing_left(env)
    report("DynamoDB down", deliveries, failed, fault, started)


def test_jobs_queue_down_for_a_minute_while_sms_arrive(env: Env, inbox: Inbox) -> None:
    """The messaging webhook stores each message (and decides its acknowledgement), then
    cannot queue its jobs: 503, the fallback parks it, and the replay, a redelivery, queues
    the agents' notification and the acknowledgement that the 503 never carried."""

    def jobs_queue(operation: str, request: dict[str, Any]) -> bool:
        named = str(request.get("QueueUrl") or request.get("QueueName") or "")
        return named.rsplit("/", 1)[-1] == "relaydesk-jobs"

    started = time.monotonic()
    env.container.jobs.url()  # a warm container: the queue's URL is known, its sends fail
    with for_sixty_seconds(env, "sqs", SQS_500, hits=jobs_queue) as fault:
        deliveries, failed = burst_during(env, inbox, fault, JOBS_OUTAGE_CUSTOMERS)
    assert {d.answered_by for d in deliveries} == {"fallback"}
    assert all(twiml_messages(d.answer) == [] for d in deliveries)
    assert env.outbox.entries(provider="twilio") == []  # no acknowledgement went out yet
    assert drain_inbox(inbox) == JOBS_OUTAGE_CUSTOMERS
    env.drain(rounds=40)
    assert_every_message_stored_once_and_acknowledged_once(env, JOBS_OUTAGE_CUSTOMERS)
    assert_nothing_left(env)
    report("jobs queue down", deliveries, failed, fault, started)


def test_with_the_connection_overrides_a_5xx_is_retried_once_then_parked(
    env: Env, inbox: Inbox
) -> None:
    primary = f"{PRIMARY}#{override_fragment()}"
    with for_sixty_seconds(env, "dynamodb", DYNAMO_500):
        delivery = twilio(env, sms(1), primary=primary)
    assert [status for _, status in delivery.attempts] == [503, 503, 200]
    assert [url for url, _ in delivery.attempts] == [PRIMARY, PRIMARY, FALLBACK]
    env.clock.now += OUTAGE
    assert drain_inbox(inbox) == 1
    env.drain()
    assert len(acknowledgements(env, customer(1))) == 1


def test_the_fallback_path_makes_no_dynamodb_call(env: Env, inbox: Inbox) -> None:
    with for_sixty_seconds(env, "dynamodb", DYNAMO_500) as fault:
        response = env.client.http.post(
            routes.TWILIO_FALLBACK, headers=signed(sms(7), FALLBACK), body=form(sms(7))
        )
    assert response.status_code == 200
    assert twiml_messages(response.body.decode()) == []
    assert fault.refused == {}  # not one DynamoDB call was even tried
    assert depth(env, "InboxQueueUrl") == 1


def signed(
    params: Mapping[str, str], url: str, token: str = LOCAL_TWILIO_AUTH_TOKEN
) -> dict[str, str]:
    from twilio.request_validator import RequestValidator

    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": RequestValidator(token).compute_signature(url, dict(params)),
    }


def form(params: Mapping[str, str]) -> bytes:
    return urlencode(params).encode()


def test_a_forged_post_to_the_fallback_is_refused_and_nothing_parked(env: Env) -> None:
    for headers in (
        signed(sms(3), FALLBACK, token="not-the-token"),
        signed(sms(3), PRIMARY),  # Twilio signs the URL it calls: this one is the fallback
        {"Content-Type": "application/x-www-form-urlencoded"},
    ):
        response = env.client.http.post(routes.TWILIO_FALLBACK, headers=headers, body=form(sms(3)))
        assert response.status_code == 403
    assert depth(env, "InboxQueueUrl") == 0


@pytest.fixture
def no_auth_token(monkeypatch: pytest.MonkeyPatch, container: Container) -> Iterator[None]:
    """SSM throttled: the auth token cannot be read by the fallback (a fresh container has
    not read it yet)."""
    real = container.secrets.get

    def get(name: str) -> str:
        if name == "TWILIO_AUTH_TOKEN":
            raise SecretsUnavailable("injected: SSM throttled")
        return real(name)

    monkeypatch.setattr(container.secrets, "get", get)
    yield
    monkeypatch.setattr(container.secrets, "get", real)
    container.__dict__.pop("twilio_auth_token", None)


def test_a_parked_request_with_a_wrong_signature_is_refused_at_replay_and_reported(
    env: Env,
    inbox: Inbox,
    no_auth_token: None,
    logs: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Parked unverified (the token could not be read), forged: the replay verifies it,
    stores nothing, logs it as a security event without the customer's text or number,
    counts it (ParkedRequestsRefused, alarmed) and drops it rather than retrying it."""
    text = "Please send my parcel to Karlova 1 instead"
    forged = sms(5, body=text)
    response = env.client.http.post(
        routes.TWILIO_FALLBACK, headers=signed(forged, FALLBACK, token="forged"), body=form(forged)
    )
    assert response.status_code == 200  # parked: it could not be checked here
    monkeypatch.undo()  # SSM is back
    env.container.__dict__.pop("twilio_auth_token", None)
    assert inbox.poll_once() == 1  # handled: refused, and deleted from the queue
    assert scan_table() == []
    assert depth(env, "InboxQueueUrl") == depth(env, "InboxDeadLetterQueueUrl") == 0
    [line] = [s for s in security_lines(logs.records) if "parked request refused" in s]
    assert "reason=signature" in line
    assert forged["MessageSid"] in line
    assert_not_logged(logs.records, text, customer(5))
    metrics = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert [m["Reason"] for m in metrics if "ParkedRequestsRefused" in m] == ["signature"]


def test_a_genuine_request_parked_unverified_is_verified_and_stored_at_replay(
    env: Env, inbox: Inbox, no_auth_token: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    genuine = sms(6)
    response = env.client.http.post(
        routes.TWILIO_FALLBACK, headers=signed(genuine, FALLBACK), body=form(genuine)
    )
    assert response.status_code == 200
    monkeypatch.undo()
    env.container.__dict__.pop("twilio_auth_token", None)
    assert drain_inbox(inbox) == 1
    env.drain()
    assert len(Env.stored(genuine["MessageSid"])) == 1
    assert len(acknowledgements(env, customer(6))) == 1


def test_a_parked_request_altered_on_the_queue_is_refused(
    env: Env, inbox: Inbox, logs: pytest.LogCaptureFixture
) -> None:
    """Whoever can write to the inbox queue still cannot make us store a message: the
    replay checks Twilio's signature over the bytes, whatever the record says."""
    from chalicelib.queues import ParkedRequest

    genuine = sms(8)
    headers = signed(genuine, FALLBACK)
    altered = form({**genuine, "Body": "Cancel my order"})
    record = ParkedRequest(
        routes.TWILIO_FALLBACK, altered, headers["X-Twilio-Signature"], env.clock(), verified=True
    )
    env.container.inbox.send_all([record])
    assert inbox.poll_once() == 1
    assert scan_table() == []
    assert any("reason=signature" in s for s in security_lines(logs.records))
    assert depth(env, "InboxQueueUrl") == 0


def test_a_message_stored_whose_answer_came_too_late_is_acknowledged_once(
    env: Env, inbox: Inbox
) -> None:
    """The messaging webhook stored the message, but its answer came after Twilio stopped
    waiting: Twilio drops that answer (its TwiML acknowledgement with it) and calls the
    fallback. The replay is a redelivery, stored nothing more, and the job acknowledges."""
    params = sms(9)

    def late(url: str, form: Mapping[str, str], headers: Mapping[str, str]) -> tuple[int, str]:
        response = env.client.http.post(
            url.removeprefix(PUBLIC_URL), headers=dict(headers), body=urlencode(form).encode()
        )
        if url == PRIMARY:
            assert response.status_code == 200
            assert twiml_messages(response.body.decode())
            raise TimeoutError("Twilio's read timeout passed first")
        return response.status_code, response.body.decode()

    delivery = deliver_inbound(
        params,
        primary_url=PRIMARY,
        fallback_url=FALLBACK,
        auth_token=LOCAL_TWILIO_AUTH_TOKEN,
        post=late,
    )
    assert delivery.attempts == [(PRIMARY, "rt"), (FALLBACK, 200)]
    assert drain_inbox(inbox) == 1
    env.drain()
    assert len(Env.stored(params["MessageSid"])) == 1
    assert len(acknowledgements(env, customer(9))) == 1
    assert len(notified(env)) == 1
