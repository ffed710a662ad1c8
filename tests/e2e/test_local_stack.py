"""The README walk-through, through HTTP only, against `relaydesk stack` as `make run` starts it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import ROOT, free_port

RELAYDESK = [sys.executable, "-m", "relaydesk.cli"]


class Stack:
    def __init__(self, app_url: str, sandbox_url: str) -> None:
        self.app_url = app_url
        self.sandbox_url = sandbox_url

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own CLI
            [*RELAYDESK, "--app-url", self.app_url, "--sandbox-url", self.sandbox_url, *args],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            check=False,
        )

    def outbox(self, **filters: str) -> list[dict[str, Any]]:
        response = requests.get(f"{self.sandbox_url}/outbox", params=filters, timeout=10)
        response.raise_for_status()
        entries: list[dict[str, Any]] = response.json()
        return entries


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    app_port, sandbox_port, aws_port = free_port(), free_port(), free_port()
    log_path: Path = tmp_path_factory.mktemp("stack") / "stack.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - our own CLI
            [
                *RELAYDESK,
                "stack",
                "--app-port",
                str(app_port),
                "--sandbox-port",
                str(sandbox_port),
                "--aws-port",
                str(aws_port),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    app_url = f"http://127.0.0.1:{app_port}"

    def healthy() -> bool:
        if process.poll() is not None:
            pytest.fail(f"the stack exited early:\n{log_path.read_text()}")
        try:
            return bool(requests.get(f"{app_url}/health", timeout=2).json() == {"status": "ok"})
        except requests.RequestException:
            return False

    try:
        wait_for(healthy, "GET /health", timeout=90)
        yield Stack(app_url, f"http://127.0.0.1:{sandbox_port}")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_sms_ack_agent_email_reply_and_sms_back(stack: Stack) -> None:
    sent = stack.cli("simulate", "sms", "--from", "+420777123456", "Where is my order #1042?")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "HTTP 200" in sent.stdout
    # The wording depends on the wall clock (open, or closed and back at ...).
    assert "acknowledgement: Thanks, we got your message." in sent.stdout
    assert "will reply by" in sent.stdout

    notices = wait_for(lambda: stack.outbox(provider="sendgrid"), "the agent e-mail")
    assert {n["to"] for n in notices} == {"alex@demo.relaydesk.test", "sam@demo.relaydesk.test"}
    assert "Where is my order #1042?" in notices[0]["text"]
    assert notices[0]["reply_to"].startswith("reply+demo.")

    replied = stack.cli("simulate", "agent-reply", "It left our warehouse today.")
    assert replied.returncode == 0, replied.stdout + replied.stderr
    assert '"status": "queued"' in replied.stdout

    texts = wait_for(lambda: stack.outbox(provider="twilio"), "the SMS to the customer")
    assert [(t["channel"], t["from"], t["to"], t["body"]) for t in texts] == [
        ("sms", "+15005550006", "+420777123456", "It left our warehouse today.")
    ]


def test_email_ack_and_threaded_answer(stack: Stack) -> None:
    customer = "jana@customer.example"
    sent = stack.cli(
        "simulate", "email", "--from", customer, "--subject", "Order 1042", "Where is my parcel?"
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert '"status": "stored"' in sent.stdout
    acks = wait_for(lambda: stack.outbox(to=customer), "the e-mail acknowledgement")
    assert acks[0]["subject"] == "Re: Order 1042"
    assert acks[0]["headers"]["Auto-Submitted"] == "auto-replied"
    assert "will reply by" in acks[0]["text"]
    wait_for(
        lambda: any("Order 1042" in n["text"] for n in stack.outbox(to="sam@demo.relaydesk.test")),
        "the agent notification",
    )
    replied = stack.cli(
        "simulate", "agent-reply", "--from", "sam@demo.relaydesk.test", "It ships on Monday."
    )
    assert replied.returncode == 0, replied.stdout + replied.stderr

    def answered() -> list[dict[str, Any]]:
        return [m for m in stack.outbox(to=customer) if "Auto-Submitted" not in m["headers"]]

    [answer] = wait_for(answered, "the agent's answer by e-mail")
    assert answer["text"] == "It ships on Monday."
    assert answer["headers"]["In-Reply-To"] == acks[0]["headers"]["In-Reply-To"]


def test_demo_fast_reminder_and_breach_happen_in_real_time(stack: Stack) -> None:
    """The `demo-fast` store promises an answer within 2 minutes: a reminder after 1, the
    breach at 2, through the real SQS delays of the local stack."""
    customer = "+420777999888"
    sent = stack.cli("simulate", "sms", "--from", customer, "--to", "+15005550007", "Hello?")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    started = time.monotonic()

    def alerts(kind: str) -> list[dict[str, Any]]:
        return [m for m in stack.outbox(to="alex@demo.relaydesk.test") if kind in m["subject"]]

    reminder = wait_for(lambda: alerts("Reminder"), "the reminder", timeout=150)
    reminded_after = time.monotonic() - started
    assert customer in reminder[0]["subject"]
    wait_for(lambda: alerts("Overdue"), "the breach", timeout=150)
    breached_after = time.monotonic() - started
    assert 45 < reminded_after < breached_after
    assert breached_after > 100


def test_unsigned_webhook_is_refused(stack: Stack) -> None:
    response = requests.post(
        f"{stack.app_url}/webhooks/twilio/messaging",
        data={"MessageSid": "SMx", "From": "+420777000000", "To": "+15005550006", "Body": "hi"},
        timeout=10,
    )
    assert response.status_code == 403
    assert "X-Twilio-Signature" in response.json()["error"]
