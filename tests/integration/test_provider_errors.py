"""Provider errors by what they mean, end to end: the real twilio and sendgrid SDKs against
the sandbox answering in the vendors' own words, the jobs queue on the emulator (whose
clock the test moves, so a hold of minutes or hours passes without waiting).

- Twilio 21610: permanent, the answer is failed and its author told.
- Twilio 429 with Retry-After: the job waits on the queue that long, then goes.
- SendGrid 401 "Maximum credits exceeded": an account problem: counted for its alarm,
  logged once, the answer kept (not failed, nobody told it failed) and sent once the
  account works again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from chalice.test import Client

from chalicelib.composition import Container
from chalicelib.domain.provider_errors import ACCOUNT_RETRY_SECONDS
from relaydesk import sandbox
from relaydesk.local_env import local_environment
from relaydesk.workers import QueueWorker
from tests.integration.conftest import FakeClock, drain, queue_depth
from tests.integration.email_posts import post_parsed
from tests.integration.test_spine import CUSTOMER, post_parse, post_twilio, reply_to_of, thread_of

ALEX = "alex@demo.relaydesk.test"
SUPPORT = "support@demo.relaydesk.test"
JANA = "jana@customer.example"


@pytest.fixture(autouse=True)
def no_fault_left(outbox: sandbox.Sandbox) -> Iterator[None]:
    """A test that fails before its fault was used must not leave it to the next."""
    yield
    outbox.clear_faults()


def fault(sandbox_url: str, **spec: Any) -> None:
    requests.post(f"{sandbox_url}/sandbox/faults", json=spec, timeout=5).raise_for_status()


def answers(container: Container, thread_id: str) -> list[Any]:
    """The agents' answers (not the acknowledgement)."""
    messages = container.repository.messages("demo", thread_id)
    return [m for m in messages if m.direction == "out" and not m.automatic]


def metrics_in(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if '"_aws"' in line]


def test_twilio_21610_fails_the_answer_and_tells_its_author(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    sandbox_url: str,
) -> None:
    post_twilio(client)
    drain(worker)
    post_parse(client, sender=ALEX, to=reply_to_of(outbox), text="On its way.")
    fault(sandbox_url, provider="twilio", status=400, code=21610, message="Unsubscribed recipient")
    drain(worker)

    assert outbox.entries(provider="twilio") == []
    notice = outbox.entries(to=ALEX)[-1]
    assert notice["subject"] == f"Not delivered: your reply to {CUSTOMER}"
    assert "21610" in notice["text"]
    assert "unsubscribed" in notice["text"]
    [answer] = answers(container, thread_of(container).thread_id)
    assert answer.delivery_status == "failed"
    assert queue_depth(worker) == 0  # not retried


def test_twilio_429_waits_on_the_queue_as_long_as_retry_after_says(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    sandbox_url: str,
    clock: FakeClock,
) -> None:
    post_twilio(client)
    drain(worker)
    post_parse(client, sender=ALEX, to=reply_to_of(outbox), text="Tomorrow.")
    fault(sandbox_url, provider="twilio", status=429, code=20429, retry_after=120)

    assert worker.poll_once() == 0  # refused, and held
    assert worker.poll_once() == 0  # not handed out again at once (no hammering)
    assert queue_depth(worker) == 1
    [answer] = answers(container, thread_of(container).thread_id)
    assert answer.delivery_status == "queued"
    assert outbox.entries(provider="twilio") == []

    clock.advance(seconds=60)
    assert worker.poll_once() == 0  # still within Twilio's two minutes
    clock.advance(seconds=61)
    drain(worker)
    assert [m["body"] for m in outbox.entries(provider="twilio")] == ["Tomorrow."]
    [answer] = answers(container, thread_of(container).thread_id)
    assert answer.delivery_status in ("sent", "delivered")
    assert not [m for m in outbox.entries(to=ALEX) if m["subject"].startswith("Not delivered")]


def test_sendgrid_credits_spent_is_an_account_problem_not_a_failed_answer(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    sandbox_url: str,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    post_parsed(
        client,
        sender=JANA,
        to=SUPPORT,
        subject="Order 1042",
        text="Where is my parcel?",
        message_id="<credits.1@customer.example>",
    )
    drain(worker)
    [notice] = [m for m in outbox.entries(to=ALEX) if (m["reply_to"] or "").startswith("reply+")]
    post_parse(client, sender=ALEX, to=notice["reply_to"], text="It ships on Monday.")
    fault(sandbox_url, provider="sendgrid", status=401, message="Maximum credits exceeded")
    capsys.readouterr()
    caplog.set_level(logging.INFO)

    assert worker.poll_once() == 0
    assert worker.poll_once() == 0  # held, not retried at once

    thread = thread_of(container, customer=JANA)
    [answer] = answers(container, thread.thread_id)
    assert answer.delivery_status == "queued"  # not failed against the customer
    assert answer.failure_reported_at is None
    assert not [m for m in outbox.entries(to=ALEX) if m["subject"].startswith("Not delivered")]
    [metric] = metrics_in(capsys.readouterr().out)
    assert (metric["Provider"], metric["ProviderAccountProblems"], metric["Store"]) == (
        "sendgrid",
        1,
        "demo",
    )
    assert metric["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[], ["Provider"]]
    problems = [r for r in caplog.records if "account problem" in r.getMessage()]
    assert [r.levelno for r in problems] == [logging.ERROR]  # once, clearly
    assert "credits are spent" in problems[0].getMessage()
    secrets = {
        v
        for k, v in local_environment(app_url="", aws_url="", sandbox_url="").items()
        if "KEY" in k or "TOKEN" in k or "PASSWORD" in k
    }
    logged = caplog.text + capsys.readouterr().err
    assert not [s for s in secrets if s and s in logged]

    clock.advance(seconds=ACCOUNT_RETRY_SECONDS[0] + 1)  # credits back (the fault was one)
    drain(worker)
    [sent] = [m for m in outbox.entries(to=JANA) if m["text"] == "It ships on Monday."]
    assert sent["subject"] == "Re: Order 1042"
    [answer] = answers(container, thread.thread_id)
    assert answer.delivery_status in ("sent", "delivered")


def test_an_agent_notification_waits_out_an_account_problem_too(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    sandbox_url: str,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fault(sandbox_url, provider="sendgrid", status=403, count=2, message="access forbidden")
    capsys.readouterr()
    post_twilio(client)
    assert worker.poll_once() == 0
    clock.advance(seconds=ACCOUNT_RETRY_SECONDS[0] + 1)
    assert worker.poll_once() == 0  # the second attempt fails too: held longer
    clock.advance(seconds=ACCOUNT_RETRY_SECONDS[0] + 1)
    assert worker.poll_once() == 0
    assert outbox.entries(provider="sendgrid") == []
    clock.advance(seconds=ACCOUNT_RETRY_SECONDS[1])
    drain(worker)
    assert [m["to"] for m in outbox.entries(provider="sendgrid")] == [ALEX]
    emitted = metrics_in(capsys.readouterr().out)
    assert [m["Provider"] for m in emitted if "ProviderAccountProblems" in m] == ["sendgrid"] * 2


def test_an_account_problem_reported_after_the_send_reaches_the_alarm_and_the_agent(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.integration.test_inbox import KIM, new_thread, post_status

    reply_to = new_thread(client, worker, outbox)
    post_parse(client, sender=KIM, to=reply_to, text="On its way")
    drain(worker)
    [sms] = outbox.entries(provider="twilio")
    capsys.readouterr()
    for _ in range(2):  # a callback retried is counted once
        post_status(client, sid=sms["id"], status="failed", error="30002")
    drain(worker)
    emitted = [m for m in metrics_in(capsys.readouterr().out) if "ProviderAccountProblems" in m]
    assert [(m["Provider"], m["Store"], m["Code"]) for m in emitted] == [
        ("twilio", "corner", "30002")
    ]
    [told] = [m for m in outbox.entries(to=KIM) if m["subject"].startswith("Not delivered")]
    assert "the Twilio account was suspended" in told["text"]
