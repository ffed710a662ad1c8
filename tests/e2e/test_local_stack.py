"""The README walk-through, through HTTP only, against `relaydesk stack` as `make run` starts it."""

from __future__ import annotations

import base64
import fnmatch
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from boto3.dynamodb.conditions import Key
from twilio.request_validator import RequestValidator

from relaydesk.cli import twiml_messages
from relaydesk.local_env import LOCAL_TWILIO_AUTH_TOKEN
from relaydesk.sandbox.twilio_voice import spoken_words
from tests.conftest import ROOT, free_port

# The installed command, exactly as `make run` and the README use it.
RELAYDESK = [str(Path(sys.executable).with_name("relaydesk"))]


class Stack:
    def __init__(self, app_url: str, sandbox_url: str, aws_url: str) -> None:
        self.app_url = app_url
        self.sandbox_url = sandbox_url
        self.aws_url = aws_url

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
    # moto's recorder logs every AWS request the app makes (see the policy test below).
    env["MOTO_RECORDER_FILEPATH"] = str(log_path.with_name("aws-calls.jsonl"))
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
        aws_url = f"http://127.0.0.1:{aws_port}"
        requests.post(f"{aws_url}/moto-api/recorder/start-recording", timeout=10).raise_for_status()
        yield Stack(app_url, f"http://127.0.0.1:{sandbox_port}", aws_url)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_sms_ack_agent_email_reply_and_sms_back(stack: Stack) -> None:
    # A question for a person (automation answers order questions: see the next tests).
    sent = stack.cli(
        "simulate", "sms", "--from", "+420777123456", "Can you gift-wrap my order #1042?"
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "HTTP 200" in sent.stdout
    # The demo store answers automatically where it can, so its answer job acknowledges
    # (by Twilio's API, not in the webhook's TwiML). The wording depends on the wall
    # clock (open, or closed and back at ...).
    assert "acknowledgement: (none)" in sent.stdout
    assert "sent by the answer job: Thanks, we got your message." in sent.stdout
    assert "will reply by" in sent.stdout

    notices = wait_for(lambda: stack.outbox(provider="sendgrid"), "the agent e-mail")
    # The stack's first thread: assigned round-robin to the first agent, who alone is told.
    assert [n["to"] for n in notices] == ["alex@demo.relaydesk.test"]
    assert "Can you gift-wrap my order #1042?" in notices[0]["text"]
    assert notices[0]["reply_to"].startswith("reply+demo.")

    replied = stack.cli("simulate", "agent-reply", "It left our warehouse today.")
    assert replied.returncode == 0, replied.stdout + replied.stderr
    assert '"status": "queued"' in replied.stdout

    def answered() -> list[dict[str, Any]]:
        return [t for t in stack.outbox(provider="twilio") if "warehouse" in t["body"]]

    texts = wait_for(answered, "the SMS to the customer")
    assert [(t["channel"], t["from"], t["to"], t["body"]) for t in texts] == [
        ("sms", "+15005550006", "+420777123456", "It left our warehouse today.")
    ]


def test_email_ack_and_threaded_answer(stack: Stack) -> None:
    customer = "jana@customer.example"
    sent = stack.cli(
        "simulate",
        "email",
        "--from",
        customer,
        "--subject",
        "Order 1042",
        "Can you send it to my office instead?",
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert '"status": "stored"' in sent.stdout
    acks = wait_for(lambda: stack.outbox(to=customer), "the e-mail acknowledgement")
    assert acks[0]["subject"] == "Re: Order 1042"
    assert acks[0]["headers"]["Auto-Submitted"] == "auto-replied"
    assert "will reply by" in acks[0]["text"]
    # Whichever agent the round-robin assigned it to (it depends on the tests before).
    [notice] = wait_for(
        lambda: [n for n in stack.outbox(provider="sendgrid") if "Order 1042" in n["text"]],
        "the agent notification",
    )
    assert notice["to"] in ("alex@demo.relaydesk.test", "sam@demo.relaydesk.test")
    replied = stack.cli("simulate", "agent-reply", "--from", notice["to"], "It ships on Monday.")
    assert replied.returncode == 0, replied.stdout + replied.stderr

    def answered() -> list[dict[str, Any]]:
        return [m for m in stack.outbox(to=customer) if "Auto-Submitted" not in m["headers"]]

    [answer] = wait_for(answered, "the agent's answer by e-mail")
    assert answer["text"] == "It ships on Monday."
    assert answer["headers"]["In-Reply-To"] == acks[0]["headers"]["In-Reply-To"]
    # The customer answers the answer: threaded by In-Reply-To, not acknowledged again.
    again = stack.cli(
        "simulate",
        "email",
        "--from",
        customer,
        "--subject",
        "Re: Order 1042",
        "--in-reply-to",
        answer["headers"]["Message-ID"],
        "Thank you!",
    )
    assert '"status": "stored"' in again.stdout
    notices = wait_for(
        lambda: [n for n in stack.outbox(to=notice["to"]) if "Thank you!" in n["text"]],
        "the notification of the customer's answer",
    )
    assert "It ships on Monday." in notices[-1]["text"]  # same thread: the history is there


def test_a_12_mb_mail_with_photos_reaches_the_agents_with_links_that_work(
    stack: Stack, tmp_path: Path
) -> None:
    """Issue #12 part 2, as the README tells a store owner to try it: three phone photos
    (9 MB, a 12 MB mail in the customer's mailbox) through the S3 route, the agents'
    notification with a link to each, and the links fetch the photos."""
    photos = {}
    for n in (1, 2, 3):
        path = tmp_path / f"parcel-{n}.jpg"
        path.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(3 * 1024 * 1024))
        photos[path.name] = path.read_bytes()
    customer = "eva@customer.example"
    sent = stack.cli(
        "simulate",
        "email",
        "--from",
        customer,
        "--subject",
        "Crushed box",
        *(arg for name in photos for arg in ("--attach", str(tmp_path / name))),
        "The parcel arrived crushed, see the photos.",
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr
    mime_mb = float(sent.stdout.split("mail of ", 1)[1].split(" MB as sent (MIME)", 1)[0])
    assert mime_mb >= 12, sent.stdout
    assert "HTTP 200" in sent.stdout
    assert '"status": "received"' in sent.stdout

    def notice() -> list[dict[str, Any]]:
        return [
            n
            for n in stack.outbox(provider="sendgrid")
            if n.get("reply_to") and "arrived crushed" in n["text"]
        ]

    [notified] = wait_for(notice, "the agents' notification of the mail with photos")
    marker = "open (link valid 7 days): "
    links = [line.split(marker, 1)[1] for line in notified["text"].splitlines() if marker in line]
    assert len(links) == 3
    for link, (name, data) in zip(links, photos.items(), strict=True):
        assert f"attachment: {name} (image/jpeg, {len(data)} bytes)" in notified["text"]
        fetched = requests.get(link, timeout=30)
        assert fetched.status_code == 200, fetched.text
        assert fetched.content == data
    [ack] = wait_for(lambda: stack.outbox(to=customer), "the acknowledgement")
    assert ack["subject"] == "Re: Crushed box"


def test_a_delay_in_the_shop_reaches_piotr_by_sms_in_polish_and_his_reply_the_agents(
    stack: Stack,
) -> None:
    """Runs before Piotr writes in the tests below: he has never written, and the demo
    store texts customers who never wrote (`proactive.text_new_customers`) where the shop
    records their consent. After the e-mail test: the round-robin's first two turns are
    Alex's and Sam's there, as those tests expect."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    if not 8 <= datetime.now(UTC).astimezone(ZoneInfo("Europe/Prague")).hour < 21:
        pytest.skip("the demo store's quiet hours (21:00-08:00 Prague): the SMS waits")
    piotr = "+48600100200"
    sent = stack.cli("simulate", "shopify-event", "--order", "1050", "--status", "DELAYED")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert '"status": "queued"' in sent.stdout, sent.stdout
    [text] = wait_for(lambda: stack.outbox(to=piotr), "the proactive SMS")
    assert text["body"].startswith("Demo Store: Twoje zamówienie nr 1050 jest opóźnione")
    assert text["body"].endswith("Po prostu odpowiedz na tę wiadomość.")
    again = stack.cli(
        "simulate", "shopify-event", "--order", "1050", "--status", "DELAYED", "--wait", "0"
    )
    assert '"status": "queued"' in again.stdout, again.stdout  # new event id, same news
    time.sleep(2)
    assert len(stack.outbox(to=piotr)) == 1
    reply = stack.cli("simulate", "sms", "--from", piotr, "--wait", "0", "Kiedy dotrze?")
    assert "acknowledgement: " in reply.stdout, reply.stdout + reply.stderr
    [notice] = wait_for(
        lambda: [n for n in stack.outbox(provider="sendgrid") if "Kiedy dotrze?" in n["text"]],
        "the agents' notification of Piotr's reply",
    )
    assert "zamówienie nr 1050" in notice["text"]  # the proactive message, in the thread
    assert "Attached order: #1050" in notice["text"]


def test_where_is_my_order_is_answered_from_the_shop_and_agent_hands_over(stack: Stack) -> None:
    """The README's automatic answer: Sara's order is looked up in the sandbox's Shopify
    shop by the answer job, and AGENT brings a person in with the whole conversation."""
    sara = "+989121234567"
    sent = stack.cli("simulate", "sms", "--from", sara, "Where is my order?")
    assert "acknowledgement: (none)" in sent.stdout, sent.stdout + sent.stderr
    [answer] = wait_for(lambda: stack.outbox(to=sara), "the automatic answer")
    assert answer["body"].startswith("Order #1060 was delivered on ")
    assert answer["body"].endswith("Reply AGENT to talk to our team.")
    assert stack.outbox(provider="shopify"), "the order was not looked up in the shop"
    handed = stack.cli("simulate", "sms", "--from", sara, "AGENT")
    assert "acknowledgement: Thanks, we got your message." in handed.stdout, handed.stdout
    [notice] = wait_for(
        lambda: [n for n in stack.outbox(provider="sendgrid") if "AGENT" in n["text"]],
        "the agents' notification after the hand-off",
    )
    assert "Order #1060 was delivered on " in notice["text"]  # what automation said


def test_a_store_answer_by_email(stack: Stack) -> None:
    customer = "piotr@customer.example"
    sent = stack.cli(
        "simulate",
        "email",
        "--from",
        customer,
        "--subject",
        "Shipping",
        "How long does shipping take?",
    )
    assert '"status": "stored"' in sent.stdout, sent.stdout + sent.stderr
    [answer] = wait_for(lambda: stack.outbox(to=customer), "the automatic answer by e-mail")
    assert answer["text"].startswith("Orders leave our warehouse within 2 business days.")
    assert answer["text"].rstrip().endswith("Reply AGENT to talk to our team.")
    assert answer["subject"] == "Re: Shipping"
    assert answer["headers"]["Auto-Submitted"] == "auto-replied"


def test_demo_fast_reminder_and_breach_happen_in_real_time(stack: Stack) -> None:
    """The `demo-fast` store promises an answer within 2 minutes: a reminder after 1, the
    breach at 2, through the real SQS delays of the local stack."""
    customer = "+420777999888"
    sent = stack.cli("simulate", "sms", "--from", customer, "--to", "+15005550007", "Hello?")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    started = time.monotonic()

    def alerts(kind: str) -> list[dict[str, Any]]:
        """To whichever of the two agents the round-robin assigned the thread."""
        return [
            m
            for agent in ("alex@demo.relaydesk.test", "sam@demo.relaydesk.test")
            for m in stack.outbox(to=agent)
            if kind in m["subject"]
        ]

    reminder = wait_for(lambda: alerts("Reminder"), "the reminder", timeout=150)
    reminded_after = time.monotonic() - started
    assert customer in reminder[0]["subject"]
    wait_for(lambda: alerts("Overdue"), "the breach", timeout=150)
    breached_after = time.monotonic() - started
    assert 45 < reminded_after < breached_after
    assert breached_after > 100


def test_commands_delivery_reports_and_the_survey_through_the_stack(stack: Stack) -> None:
    """The sandbox accepts messages to +15005550030 and then reports them undelivered by
    a signed status callback, as Twilio does when a phone is out of reach."""
    customer = "+15005550030"
    sent = stack.cli("simulate", "sms", "--from", customer, "Is my parcel lost?")
    assert "acknowledgement:" in sent.stdout, sent.stdout + sent.stderr
    [notice] = wait_for(
        lambda: [n for n in stack.outbox(provider="sendgrid") if "parcel lost" in n["text"]],
        "the notification",
    )
    agent = notice["to"]
    replied = stack.cli("simulate", "agent-reply", "#tag courier\nWe are asking the courier.")
    assert '"status": "queued, tagged courier"' in replied.stdout, replied.stdout + replied.stderr
    [report] = wait_for(
        lambda: [m for m in stack.outbox(to=agent) if m["subject"].startswith("Not delivered")],
        "the report of the undelivered answer (from Twilio's status callback)",
    )
    assert "We are asking the courier." in report["text"]
    assert "30003" in report["text"]

    closed = stack.cli("simulate", "agent-reply", "--from", agent, "#close")
    assert '"status": "closed"' in closed.stdout, closed.stdout + closed.stderr
    [survey] = wait_for(
        lambda: [t for t in stack.outbox(to=customer) if "How was your experience" in t["body"]],
        "the survey",
    )
    assert "Demo Store" in survey["body"]
    rated = stack.cli("simulate", "sms", "--from", customer, "5")
    assert "HTTP 200" in rated.stdout
    assert "acknowledgement: (none)" in rated.stdout  # a rating, not a new conversation


def test_whatsapp_question_and_the_agents_answer_on_whatsapp(stack: Stack) -> None:
    """The same conversation on WhatsApp: the agent's answer leaves on WhatsApp. After the
    tests that expect the round-robin's turns, before the burst (whose jobs queue long)."""
    customer = "+420777555111"
    sent = stack.cli("simulate", "whatsapp", "--from", customer, "Do you deliver to Brno?")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "HTTP 200" in sent.stdout

    def notice() -> list[dict[str, Any]]:
        return [n for n in stack.outbox(provider="sendgrid") if "deliver to Brno" in n["text"]]

    [notified] = wait_for(notice, "the agent e-mail")
    replied = stack.cli(
        "simulate",
        "agent-reply",
        "--from",
        notified["to"],
        "--to",
        notified["reply_to"],
        "Yes, in two days.",
    )
    assert '"status": "queued"' in replied.stdout, replied.stdout + replied.stderr

    def answered() -> list[dict[str, Any]]:
        return [t for t in stack.outbox(provider="twilio") if t["body"] == "Yes, in two days."]

    texts = wait_for(answered, "the WhatsApp answer")
    assert [(t["channel"], t["to"]) for t in texts] == [("whatsapp", f"whatsapp:{customer}")]


def test_a_call_nobody_takes_becomes_a_voicemail_a_text_back_and_an_sms_conversation(
    stack: Stack,
) -> None:
    caller = "+420777321321"
    called = stack.cli(
        "simulate", "call", "--from", caller, "--voicemail", "My parcel did not come."
    )
    assert called.returncode == 0, called.stdout + called.stderr
    # The greeting says when the store answers (open or closed: the wall clock decides).
    assert 'voice="Polly.Joanna"' in called.stdout
    assert "Please leave a message after the tone, and we will answer by" in called.stdout
    assert "recording: HTTP 200" in called.stdout
    assert "transcription" not in called.stdout  # Amazon Transcribe's, by jobs, not Twilio's

    def texted() -> list[dict[str, Any]]:
        return stack.outbox(provider="twilio", to=caller)

    (text,) = wait_for(texted, "the text back")
    assert text["from"] == "+15005550006"
    assert text["body"].startswith("Sorry we missed your call to Demo Store.")

    def notified() -> list[dict[str, Any]]:
        # The first notification links to our copy; the transcript follows in a second one
        # once Amazon Transcribe (the sandbox's) is done: the jobs look after 10 s, 20 s.
        return [
            n
            for n in stack.outbox(provider="sendgrid")
            if caller in (n["text"] or "") and "transcript: My parcel did not come." in n["text"]
        ]

    notice = wait_for(notified, "the agents' notification with the transcript", timeout=120)[0]
    link = next(
        line.split("): ", 1)[1].strip()
        for line in notice["text"].splitlines()
        if line.strip().startswith("recording (link valid 7 days): ")
    )
    assert link.startswith(stack.aws_url), "the agents' link is to our bucket, not to Twilio"
    assert "/twilio/" not in notice["text"]
    audio = requests.get(link, timeout=10)  # the agent plays (downloads) it from S3
    assert audio.status_code == 200
    assert audio.content[:4] == b"RIFF"
    assert spoken_words(audio.content) == "My parcel did not come."
    deleted = [
        e for e in stack.outbox(provider="twilio-voice") if e["action"] == "delete_recording"
    ]
    assert len(deleted) == 1, "Twilio's copy is deleted once ours is kept"
    (started,) = [e for e in stack.outbox(provider="transcribe")]
    assert started["language"] == "en-US"

    # The caller answers the text; the agent's e-mailed answer reaches them by SMS.
    reply = stack.cli("simulate", "sms", "--from", caller, "--wait", "0", "Any news?")
    assert reply.returncode == 0, reply.stdout + reply.stderr
    wait_for(
        lambda: [n for n in stack.outbox(provider="sendgrid") if "Any news?" in (n["text"] or "")],
        "the notification of the caller's SMS",
    )
    to = next(
        n["reply_to"]
        for n in reversed(stack.outbox(provider="sendgrid"))
        if "Any news?" in (n["text"] or "")
    )
    answered = stack.cli("simulate", "agent-reply", "--to", to, "We are sending it again.")
    assert answered.returncode == 0, answered.stdout + answered.stderr
    wait_for(
        lambda: [t for t in texted() if t["body"] == "We are sending it again."],
        "the agent's answer by SMS",
    )


def test_unsigned_webhook_is_refused(stack: Stack) -> None:
    response = requests.post(
        f"{stack.app_url}/webhooks/twilio/messaging",
        data={"MessageSid": "SMx", "From": "+420777000000", "To": "+15005550006", "Body": "hi"},
        timeout=10,
    )
    assert response.status_code == 403
    assert "X-Twilio-Signature" in response.json()["error"]


def test_a_message_parked_by_the_fallback_url_is_replayed_and_acknowledged_by_sms(
    stack: Stack,
) -> None:
    """Twilio's Fallback URL on the local stack: an empty TwiML answer at once, then the
    inbox worker replays the request and the reply arrives by the Messages API."""
    url = f"{stack.app_url}/webhooks/twilio/fallback"
    customer = "+420777654321"
    form = {
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "AccountSid": "AC00000000000000000000000000000000",
        "From": customer,
        "To": "+15005550006",
        "Body": "Is anyone there?",
        "ErrorCode": "11200",
        "ErrorUrl": f"{stack.app_url}/webhooks/twilio/messaging",
    }
    signature = RequestValidator(LOCAL_TWILIO_AUTH_TOKEN).compute_signature(url, form)
    response = requests.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=30)
    assert response.status_code == 200, response.text
    assert twiml_messages(response.text) == []
    [ack] = wait_for(
        lambda: [m for m in stack.outbox(provider="twilio", to=customer) if m["body"]],
        "the reply by SMS",
    )
    # The demo store has automatic answers: the answer job sends the answer it is sure of,
    # or else the acknowledgement; either way one message, from the store's number.
    assert ack["from"] == "+15005550006"
    time.sleep(1)
    assert len(stack.outbox(provider="twilio", to=customer)) == 1


# -- the stage policy against what the code really calls ----------------------------------

POLICY = ROOT / ".chalice" / "policy-dev.json"
# Allowed but not exercised locally: secrets come from the environment here, from SSM in AWS;
# Lambda writes its own logs.
USED_IN_AWS_ONLY = {
    "sqs:GetQueueAttributes",  # Lambda's SQS event source polls with the function's role
    # Without it S3 answers a missing key (a redelivered event's post, taken already) 403.
    "s3:ListBucket",
    "ssm:GetParametersByPath",
    "kms:Decrypt",
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
}
# Locally Transcribe is the sandbox's stand-in (moto's writes no transcript), which moto's
# recorder does not see; its S3 reads and writes (the media, the transcript) it does see,
# and the policy must grant those: Transcribe reads and writes S3 with the caller's rights.
# The voicemail test above proves both calls made (its transcript came through them).
USED_THROUGH_THE_SANDBOX = {"transcribe:StartTranscriptionJob", "transcribe:GetTranscriptionJob"}
USED_BY_CHANCE_HERE = {
    # A timer that SQS hands over before it is due is held longer (JobQueue.hold): in this
    # module's few minutes that happens or not by a fraction of a second of rounding, so it
    # is proven used where it always happens: tests/integration/test_long_timers.py.
    "sqs:ChangeMessageVisibility",
}
TRANSACT_PARTS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "ConditionCheck": "ConditionCheckItem",
    "Delete": "DeleteItem",
}


def iam_actions(entry: dict[str, Any]) -> set[tuple[str, str]]:
    """(IAM action, resource name) pairs that one recorded AWS request needs."""
    from urllib.parse import unquote

    target = entry["headers"].get("X-Amz-Target", "")
    scope = entry["headers"].get("Authorization", "") + unquote(entry["url"])
    if "/s3/aws4_request" in scope and not target:  # S3's REST API: a photo is no JSON
        return {s3_action(entry)}
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        body = base64.b64decode(body).decode()
    payload = json.loads(body) if body.startswith("{") else {}
    if target.startswith("DynamoDB_20120810."):
        operation = target.split(".", 1)[1]
        if operation == "TransactWriteItems":
            return {
                (f"dynamodb:{TRANSACT_PARTS[kind]}", part[kind]["TableName"])
                for part in payload["TransactItems"]
                for kind in part
            }
        if operation == "BatchGetItem":
            return {("dynamodb:BatchGetItem", table) for table in payload["RequestItems"]}
        return {(f"dynamodb:{operation}", payload.get("TableName", ""))}
    if target.startswith("AmazonSQS."):
        operation = target.split(".", 1)[1].replace("SendMessageBatch", "SendMessage")
        queue = payload.get("QueueUrl") or payload.get("QueueName") or ""
        return {(f"sqs:{operation}", queue.rsplit("/", 1)[-1])}
    raise AssertionError(f"an AWS call the policy test does not know: {target or entry['url']}")


def recorded_calls(text: str) -> list[dict[str, Any]]:
    """moto's recording: one JSON object a line, but written in two steps (the object, then
    its newline), so that concurrent requests (a long S3 upload) can put two on one line."""
    decoder, at = json.JSONDecoder(), 0
    calls: list[dict[str, Any]] = []
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            return calls
        call, at = decoder.raw_decode(text, at)
        calls.append(call)


def s3_action(entry: dict[str, Any]) -> tuple[str, str]:
    """(IAM action, bucket/key) of one S3 REST request (path-style, as against moto)."""
    from urllib.parse import unquote, urlsplit

    bucket, _, key = unquote(urlsplit(entry["url"]).path).lstrip("/").partition("/")
    if not key:
        return ("s3:ListBucket", bucket)
    verb = {"GET": "GetObject", "HEAD": "GetObject", "PUT": "PutObject", "DELETE": "DeleteObject"}
    return (f"s3:{verb[entry['method']]}", f"{bucket}/{key}")


def from_upload_role(entry: dict[str, Any]) -> bool:
    """Made by the local API Gateway's S3 integration (its MailUploadRole, not a function)."""
    from relaydesk.apigateway import UPLOAD_USER_AGENT

    return UPLOAD_USER_AGENT in entry["headers"].get("User-Agent", "")


def granted(grants: dict[str, set[str]], action: str, resource: str) -> bool:
    return any(fnmatch.fnmatchcase(resource, pattern) for pattern in grants.get(action, set()))


def policy_grants() -> dict[str, set[str]]:
    """IAM action -> the resource names the dev policy grants it on."""
    grants: dict[str, set[str]] = {}
    for statement in json.loads(POLICY.read_text())["Statement"]:
        resources = statement["Resource"]
        resources = [resources] if isinstance(resources, str) else resources
        names = {
            r.removeprefix("arn:aws:s3:::")
            if r.startswith("arn:aws:s3:::")
            else r.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
            for r in resources
        }
        for action in statement["Action"]:
            assert "*" not in action, f"wildcard action {action} in {POLICY.name}"
            grants.setdefault(action, set()).update(names)
    return grants


BURST, CONNECTIONS = 200, 32


def test_messenger_and_instagram_reach_the_agents_and_their_answers_the_customers(
    stack: Stack,
) -> None:
    """As the README's "Messenger and Instagram" section walks it: Meta's signed posts in,
    the agents' e-mailed answers out through the (sandbox's) Send API."""
    for kind, customer, question in (
        ("messenger", "24680135792468", "Can you gift-wrap my order, please?"),
        ("instagram", "55500011122233", "Could you gift-wrap the blue scarf?"),
    ):
        sent = stack.cli("simulate", kind, "--wait", "0", "--from", customer, question)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert '"stored": 1' in sent.stdout

        def acknowledged(who: str = customer) -> list[dict[str, Any]]:
            return [m for m in stack.outbox(provider="meta", to=who) if "will reply" in m["body"]]

        [ack] = wait_for(acknowledged, f"the acknowledgement by the Send API ({kind})")
        assert ack["body"].startswith("Thanks, we got your message.")

        def notified(q: str = question) -> list[dict[str, Any]]:
            return [n for n in stack.outbox(provider="sendgrid") if q in n["text"]]

        [notice] = wait_for(notified, f"the agents' notification of the {kind} message")
        assert kind.capitalize() in notice["subject"]
        answer = f"Yes: we answered your {kind} message."
        replied = stack.cli("simulate", "agent-reply", "--from", notice["to"], answer)
        assert '"status": "queued"' in replied.stdout, replied.stdout + replied.stderr

        def relayed(a: str = answer) -> list[dict[str, Any]]:
            return [m for m in stack.outbox(provider="meta") if m["body"] == a]

        [out] = wait_for(relayed, f"the answer through the Send API ({kind})")
        assert (out["to"], out["messaging_type"], out["tag"]) == (customer, "RESPONSE", None)

    # Redelivered, echoed and forged posts do nothing.
    before = len(stack.outbox())
    again = stack.cli(
        "simulate", "messenger", "--wait", "0", "--mid", "m_e2e_once", "--from", "13572468", "Hi"
    )
    assert '"stored": 1' in again.stdout, again.stdout + again.stderr
    twice = stack.cli(
        "simulate", "messenger", "--wait", "0", "--mid", "m_e2e_once", "--from", "13572468", "Hi"
    )
    assert '"redelivered": 1' in twice.stdout, twice.stdout + twice.stderr
    echo = stack.cli("simulate", "messenger", "--echo", "--from", "13572468", "Our own words")
    assert '"ignored": 1' in echo.stdout
    forged = stack.cli("simulate", "messenger", "--secret", "guess", "--from", "13572468", "x")
    assert forged.returncode == 1
    assert "HTTP 401" in forged.stdout
    wait_for(lambda: stack.outbox(provider="meta", to="13572468"), "the one acknowledgement")
    time.sleep(1)  # a second one would follow a redelivery, an echo or a forgery
    assert len(stack.outbox(provider="meta", to="13572468")) == 1
    # That acknowledgement and the agents' notice; other tests' late work (a voicemail's
    # transcript, told to the agents when Transcribe is done) may land meanwhile.
    about = [m for m in stack.outbox()[before:] if "13572468" in json.dumps(m)]
    assert len(about) <= 2, about


def test_a_burst_of_webhooks_is_taken_whole(stack: Stack) -> None:
    """200 signed SMS webhooks from 32 concurrent connections, as a newsletter's replies
    arrive: every one answered 200, none refused or reset, one thread per customer, at
    most one acknowledgement each and as many as the store's hourly cap (100) allows
    (issue #15; the listen backlog of 5 reset connections and moto's DynamoDB failed under
    concurrent transactions before)."""
    url = f"{stack.app_url}/webhooks/twilio/messaging"
    validator = RequestValidator(LOCAL_TWILIO_AUTH_TOKEN)
    run = uuid.uuid4().hex[:8]
    customers = [f"+42073{n:07d}" for n in range(BURST)]
    table = boto3.resource("dynamodb", endpoint_url=stack.aws_url).Table("relaydesk")

    # Read as the app reads (Query, GetItem): the policy test below sees these calls too.
    def hourly_counts() -> list[int]:
        found = table.query(
            KeyConditionExpression=Key("pk").eq("demo#STORE") & Key("sk").begins_with("AUTO#")
        )["Items"]
        return [int(i["sent"]) for i in found]

    def thread_of(customer: str) -> dict[str, Any]:
        pointer = table.get_item(Key={"pk": f"demo#CUSTOMER#{customer}", "sk": "#META"})
        thread_id = pointer["Item"]["open_thread_id"]
        thread = table.get_item(Key={"pk": f"demo#THREAD#{thread_id}", "sk": "#META"})
        return dict(thread["Item"])

    def post(n: int) -> tuple[int | str, int]:
        form = {
            "MessageSid": f"SM{run}{n:024d}",
            "From": customers[n],
            "To": "+15005550006",
            "Body": f"Is order {n} on its way?",
        }
        headers = {"X-Twilio-Signature": validator.compute_signature(url, form)}
        try:
            response = requests.post(url, data=form, headers=headers, timeout=60)
        except requests.RequestException as exc:
            return type(exc).__name__, 0
        return response.status_code, len(twiml_messages(response.text)) if response.ok else 0

    def decided_to_acknowledge(thread: dict[str, Any]) -> bool:
        items = table.query(
            KeyConditionExpression=Key("pk").eq(thread["pk"]) & Key("sk").begins_with("MSG#")
        )["Items"]
        [message] = [m for m in items if m["direction"] == "in"]  # jobs may have answered
        return bool(message.get("acknowledge"))

    sent_before = sum(hourly_counts())
    with ThreadPoolExecutor(max_workers=CONNECTIONS) as pool:
        results = list(pool.map(post, range(BURST)))
    assert Counter(status for status, _ in results) == {200: BURST}
    # The demo store answers order questions by job: nothing is acknowledged in TwiML,
    # and each message records whether its job is to acknowledge it (under the caps).
    assert {acks for _, acks in results} == {0}
    threads = {c: thread_of(c) for c in customers}
    acknowledged = sum(decided_to_acknowledge(t) for t in threads.values())
    counts = hourly_counts()
    assert sum(counts) == sent_before + acknowledged  # each acknowledgement counted once
    assert max(counts) <= 100
    assert acknowledged == BURST or 100 in counts  # only the cap withholds one
    assert acknowledged > 0
    assert {c: t["customer"] for c, t in threads.items()} == {c: c for c in customers}
    assert len({t["pk"] for t in threads.values()}) == BURST


# The schedule's handler as Lambda calls it, with the stack's environment and a clock set
# to the coming Monday morning in Prague (EventBridge's schedule is not played locally).
WEEKLY_REPORT = """
import sys
from datetime import datetime
from chalicelib.composition import Container, reset_container
from chalicelib.settings import Settings
monday = datetime.fromisoformat(sys.argv[1])
reset_container(Container(Settings.from_env(), clock=lambda: monday))
import app
event = {
    "version": "0", "id": "e2e-weekly", "detail-type": "Scheduled Event",
    "source": "aws.events", "account": "123456789012", "time": sys.argv[1],
    "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/x"],
    "detail": {},
}
app.weekly_report(event, None)
"""


def test_the_monday_schedule_mails_the_weeks_report_to_the_owner(stack: Stack) -> None:
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from relaydesk.local_env import local_environment

    prague = ZoneInfo("Europe/Prague")
    today = datetime.now(prague)
    monday = (today + timedelta(days=7 - today.weekday())).replace(
        hour=7, minute=30, second=0, microsecond=0
    )
    week = today.strftime("%G-W%V")  # the week the tests above wrote in
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        local_environment(
            app_url=stack.app_url, aws_url=stack.aws_url, sandbox_url=stack.sandbox_url
        )
    )
    for _ in range(2):  # a retried invocation sends nothing more
        ran = subprocess.run(  # noqa: S603 - our own handler
            [sys.executable, "-c", WEEKLY_REPORT, monday.astimezone(UTC).isoformat()],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            env=env,
            check=False,
        )
        assert ran.returncode == 0, ran.stdout + ran.stderr
    [mail] = stack.outbox(to="owner@demo.relaydesk.test")
    assert mail["subject"] == f"Demo Store: Weekly report {week}"
    assert mail["headers"]["Auto-Submitted"] == "auto-generated"
    assert mail["html"].startswith("<!DOCTYPE html>")
    assert "<script" not in mail["html"]
    assert "<img" not in mail["html"]
    conversations = int(mail["text"].split("Conversations: ", 1)[1].split(" ", 1)[0])
    assert conversations >= 5  # the SMS, WhatsApp and e-mail conversations above
    # The owner's own copy of any week, from the same counters: the same report.
    printed = stack.cli("report", "demo", "--week", week, "--endpoint-url", stack.aws_url)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == mail["text"]


def test_every_aws_call_is_allowed_by_the_stage_policy_and_every_grant_is_used(
    stack: Stack, request: pytest.FixtureRequest
) -> None:
    """Runs last in this module: the recording holds every AWS call the app made while the
    tests above drove SMS, WhatsApp, e-mail (a 12 MB one through S3), agent replies and SLA
    timers through it."""
    recording = requests.get(f"{stack.aws_url}/moto-api/recorder/download-recording", timeout=10)
    everything = recorded_calls(recording.text)
    calls = [c for c in everything if not from_upload_role(c)]
    used = set().union(*(iam_actions(c) for c in calls)) if calls else set()
    grants = policy_grants()
    refused = sorted(f"{a} on {r}" for a, r in used if not granted(grants, a, r))
    assert refused == [], f"{POLICY.name} does not allow: {refused}"
    # The mail route's uploads: what infra/template.yaml's MailUploadRole allows, only.
    uploads = {s3_action(c) for c in everything if from_upload_role(c)}
    assert uploads, "the mail route stored nothing"
    assert {a for a, _ in uploads} == {"s3:PutObject"}
    assert all(r.split("/", 1)[1].startswith("raw/") for _, r in uploads), uploads
    module_tests = {name for name in dir(request.module) if name.startswith("test_")}
    selected = {item.name for item in request.session.items if item.path == request.node.path}
    ran_everything = selected == module_tests
    if not ran_everything:
        pytest.skip("run with the whole module to check that every grant is used")
    unused = sorted(
        set(grants)
        - {a for a, _ in used}
        - USED_IN_AWS_ONLY
        - USED_BY_CHANCE_HERE
        - USED_THROUGH_THE_SANDBOX
    )
    assert unused == [], f"{POLICY.name} grants actions nothing uses: {unused}"
