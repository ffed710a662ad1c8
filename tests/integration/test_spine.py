"""The spine through the real handler, emulated AWS over HTTP and the real SDKs:
SMS/WhatsApp in -> acknowledged -> agents notified -> agent's e-mail reply relayed."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
import requests
from chalice.test import Client
from twilio.request_validator import RequestValidator

from chalicelib.composition import Container
from chalicelib.domain import tokens
from relaydesk import sandbox
from relaydesk.cli import twiml_messages
from relaydesk.local_env import LOCAL_PARSE_PASSWORD, LOCAL_TWILIO_AUTH_TOKEN
from relaydesk.workers import QueueWorker
from tests.integration.conftest import (
    PUBLIC_URL,
    FakeClock,
    conversation,
    drain,
    queue_depth,
    table_items,
)
from tests.integration.email_posts import post_form

TWILIO_PATH = "/webhooks/twilio/messaging"
CUSTOMER = "+420777123456"
DEMO = "+15005550006"


def post_twilio(
    client: Client,
    *,
    sender: str = CUSTOMER,
    to: str = DEMO,
    body: str = "Where is my order?",
    sid: str | None = None,
    token: str = LOCAL_TWILIO_AUTH_TOKEN,
    extra: dict[str, str] | None = None,
    signature: str | None = None,
) -> Any:
    params = {"MessageSid": sid or f"SM{uuid.uuid4().hex}", "From": sender, "To": to, "Body": body}
    params.update(extra or {})
    if signature is None:
        signature = RequestValidator(token).compute_signature(PUBLIC_URL + TWILIO_PATH, params)
    return client.http.post(
        TWILIO_PATH,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
        body=urlencode(params),
    )


def post_parse(
    client: Client,
    *,
    sender: str,
    to: str,
    text: str,
    message_id: str | None = None,
    password: str = LOCAL_PARSE_PASSWORD,
    headers: str = "",
) -> Any:
    fields = {
        "headers": f"Message-ID: {message_id or f'<{uuid.uuid4().hex}@mail.test>'}\n{headers}",
        "from": f"Agent <{sender}>",
        "to": to,
        "subject": "Re: [Demo Store] SMS",
        "text": text,
        "envelope": json.dumps({"to": [to], "from": sender}),
    }
    return post_form(client, fields, password)


def ack_of(response: Any) -> str | None:
    assert response.status_code == 200, response.body
    messages = twiml_messages(response.body.decode())
    return messages[0] if messages else None


def reply_to_of(outbox: sandbox.Sandbox) -> str:
    notices = outbox.entries(provider="sendgrid")
    assert notices, "no agent notification was sent"
    reply_to = notices[-1]["reply_to"]
    assert isinstance(reply_to, str)
    return reply_to


def thread_of(container: Container, store: str = "demo", customer: str = CUSTOMER) -> Any:
    pointer = container.repository.customer(store, customer)
    assert pointer is not None
    assert pointer.open_thread_id
    thread = container.repository.thread(store, pointer.open_thread_id)
    assert thread is not None
    return thread


def test_first_sms_is_acknowledged_with_the_business_hours_deadline(
    client: Client, container: Container, worker: QueueWorker
) -> None:
    # Friday 16:30 in Prague, 4 business hours, Mon-Fri 09-17 -> Monday 12:30.
    ack = ack_of(post_twilio(client))
    assert ack == "Thanks, we got your message. Someone from Demo Store will reply by Monday 12:30."
    thread = thread_of(container)
    assert (thread.channel, thread.customer, thread.store_address) == ("sms", CUSTOMER, DEMO)
    assert thread.awaiting == "agent"
    assert thread.response_due_at.isoformat() == "2026-11-23T11:30:00+00:00"
    messages = container.repository.messages("demo", thread.thread_id)
    assert [(m.direction, m.body) for m in messages] == [("in", "Where is my order?")]
    assert queue_depth(worker) == 1


def test_redelivery_stores_once_and_acknowledges_at_most_once(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    assert ack_of(post_twilio(client, sid="SMsame")) is not None
    assert ack_of(post_twilio(client, sid="SMsame")) is None
    thread = thread_of(container)
    assert len(container.repository.messages("demo", thread.thread_id)) == 1
    drain(worker)
    # One notification, to the thread's assignee: not one per delivery.
    assert [m["to"] for m in outbox.entries(provider="sendgrid")] == ["alex@demo.relaydesk.test"]


def test_follow_ups_join_the_thread_and_respect_the_ack_cooldown(
    client: Client, container: Container, clock: FakeClock
) -> None:
    assert ack_of(post_twilio(client, body="one")) is not None
    clock.advance(minutes=10)
    assert ack_of(post_twilio(client, body="two")) is None
    clock.advance(minutes=60)
    # After the cool-down (17:40, closed): acknowledged again, with the same promise.
    assert ack_of(post_twilio(client, body="three")) == (
        "Thanks, we got your message. Demo Store is closed now and back on Monday at 09:00; "
        "someone will reply by Monday 12:30."
    )
    thread = thread_of(container)
    bodies = [m.body for m in container.repository.messages("demo", thread.thread_id)]
    assert bodies == ["one", "two", "three"]
    assert thread.message_count == 3


def test_bad_or_missing_signature_is_403_and_stores_nothing(
    client: Client, worker: QueueWorker
) -> None:
    assert post_twilio(client, token="wrong-token").status_code == 403
    response = post_twilio(client, signature="")
    assert response.status_code == 403
    assert "X-Twilio-Signature" in json.loads(response.body)["error"]
    assert table_items() == []
    assert queue_depth(worker) == 0


def test_unknown_number_is_404_and_malformed_is_400_storing_nothing(
    client: Client, worker: QueueWorker
) -> None:
    response = post_twilio(client, to="+15559990000")
    assert response.status_code == 404
    assert "no store" in json.loads(response.body)["error"]
    response = post_twilio(client, sender="")
    assert response.status_code == 400
    assert "From" in json.loads(response.body)["error"]
    assert table_items() == []
    assert queue_depth(worker) == 0


def test_agents_are_notified_once_with_a_signed_reply_address(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    post_twilio(client, extra={"NumMedia": "1", "MediaUrl0": "https://api.twilio.com/m/1"})
    assert drain(worker) == 1
    [mail] = outbox.entries(provider="sendgrid")
    assert mail["to"] == "alex@demo.relaydesk.test"  # the round-robin's first assignee
    thread = thread_of(container)
    assert thread.assignee == "alex@demo.relaydesk.test"
    assert "Status: open, assigned to alex." in mail["text"]
    assert mail["from"] == "support@demo.relaydesk.test"
    # The customer's words, the channel, the contact (this store has no shop to name them).
    assert mail["subject"] == (
        f"[Demo Store] Where is my order? (SMS, {CUSTOMER}, #{thread.thread_id[:6]})"
    )
    assert "+420777123456: Where is my order? [1 attachment(s)]" in mail["text"]
    assert "Answer due by Mon 23 Nov 12:30 (Europe/Prague)." in mail["text"]
    assert mail["headers"]["Auto-Submitted"] == "auto-generated"
    token = tokens.token_from_address(mail["reply_to"], "reply.relaydesk.test")
    assert token is not None
    assert tokens.verify(container.reply_secret, token) == ("demo", thread.thread_id)
    # A redelivered job notifies nobody again.
    from chalicelib.flows.jobs import run_job
    from chalicelib.queues import Job, JobKind

    message = conversation(container, thread.thread_id)[0]
    assert message.notified_at is not None
    run_job(container, Job(JobKind.NOTIFY_AGENTS, "demo", thread.thread_id, message.sk).encode())
    assert len(outbox.entries(provider="sendgrid")) == 1


def test_agent_reply_reaches_the_customer_by_sms_and_stops_the_clock(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
) -> None:
    post_twilio(client)
    drain(worker)
    clock.advance(minutes=5)
    quoted = "On Fri, 20 Nov 2026 at 16:30, Demo Store wrote:\n> Where is my order?\n"
    response = post_parse(
        client,
        sender="Alex@Demo.Relaydesk.Test",
        to=reply_to_of(outbox),
        text=f"It ships today, tracking follows.\n\n-- \nAlex\n\n{quoted}",
    )
    assert response.status_code == 200, response.body
    assert json.loads(response.body) == {"status": "queued"}
    drain(worker)
    sms = outbox.entries(provider="twilio")
    assert [(m["from"], m["to"], m["body"]) for m in sms] == [
        (DEMO, CUSTOMER, "It ships today, tracking follows.")
    ]
    thread = thread_of(container)
    assert thread.awaiting == "customer"
    assert thread.first_response_at == clock.now
    assert thread.last_response_at == clock.now
    assert thread.sla_epoch == 1
    out = [
        m for m in container.repository.messages("demo", thread.thread_id) if m.direction == "out"
    ]
    assert [(m.author, m.delivery_status) for m in out] == [("alex@demo.relaydesk.test", "sent")]
    assert out[0].outbound_provider_id == sms[0]["id"]
    assert container.repository.customer("demo", CUSTOMER).due_at is None  # type: ignore[union-attr]


def test_whatsapp_round_trip_uses_the_whatsapp_addresses(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    ack = ack_of(
        post_twilio(
            client,
            sender=f"whatsapp:{CUSTOMER}",
            to=f"whatsapp:{DEMO}",
            body="Ahoj",
            extra={"ProfileName": "Jana", "WaId": "420777123456"},
        )
    )
    assert ack is not None
    assert "Monday 12:30" in ack
    drain(worker)
    stored = conversation(
        container, thread_of(container, customer=f"whatsapp:{CUSTOMER}").thread_id
    )
    assert [(m.profile_name, m.wa_id) for m in stored] == [("Jana", "420777123456")]
    assert outbox.entries(provider="sendgrid")[0]["subject"].startswith(
        "[Demo Store] Ahoj (WhatsApp, Jana, #"  # the WhatsApp profile's name
    )
    post_parse(client, sender="sam@demo.relaydesk.test", to=reply_to_of(outbox), text="Dobrý den!")
    drain(worker)
    assert [(m["channel"], m["from"], m["to"]) for m in outbox.entries(provider="twilio")] == [
        ("whatsapp", f"whatsapp:{DEMO}", f"whatsapp:{CUSTOMER}")
    ]


def test_replies_that_fail_verification_store_and_send_nothing(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    post_twilio(client)
    drain(worker)
    reply_to = reply_to_of(outbox)
    before = table_items()
    forged = re.sub(r"\.([a-z2-7]{16})@", ".aaaaaaaaaaaaaaaa@", reply_to)
    cases = [
        (post_parse(client, sender="alex@demo.relaydesk.test", to=forged, text="x"), 403),
        (post_parse(client, sender="mallory@evil.test", to=reply_to, text="x"), 403),
        (post_parse(client, sender="pat@acme.test", to=reply_to, text="x"), 403),
        (
            post_parse(
                client, sender="alex@demo.relaydesk.test", to=reply_to, text="x", password="guess"
            ),
            401,
        ),
        (
            post_parse(
                client, sender="alex@demo.relaydesk.test", to=reply_to, text="> only quoted\n"
            ),
            400,
        ),
    ]
    assert [r.status_code for r, _ in cases] == [status for _, status in cases]
    assert cases[3][0].headers["WWW-Authenticate"].startswith("Basic")
    assert table_items() == before
    assert queue_depth(worker) == 0
    assert outbox.entries(provider="twilio") == []


def test_the_same_reply_posted_twice_is_sent_once(
    client: Client, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    post_twilio(client)
    drain(worker)
    reply_to = reply_to_of(outbox)
    for _ in range(2):
        response = post_parse(
            client,
            sender="alex@demo.relaydesk.test",
            to=reply_to,
            text="Once.",
            message_id="<m1@x>",
        )
        assert response.status_code == 200
    drain(worker)
    assert [m["body"] for m in outbox.entries(provider="twilio")] == ["Once."]


def test_automatic_mail_to_a_reply_address_is_never_relayed(
    client: Client, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    post_twilio(client)
    drain(worker)
    response = post_parse(
        client,
        sender="alex@demo.relaydesk.test",
        to=reply_to_of(outbox),
        text="I am out of office until Monday.",
        headers="Auto-Submitted: auto-replied\n",
    )
    assert json.loads(response.body) == {"status": "ignored"}
    drain(worker)
    assert outbox.entries(provider="twilio") == []


def test_a_transient_twilio_failure_is_retried_until_it_goes_through(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    sandbox_url: str,
) -> None:
    post_twilio(client)
    drain(worker)
    post_parse(client, sender="alex@demo.relaydesk.test", to=reply_to_of(outbox), text="Soon.")
    requests.post(
        f"{sandbox_url}/sandbox/faults",
        json={"provider": "twilio", "status": 503, "count": 2},
        timeout=5,
    ).raise_for_status()
    assert worker.poll_once() == 0  # first try fails and stays on the queue
    thread = thread_of(container)
    out = [
        m for m in container.repository.messages("demo", thread.thread_id) if m.direction == "out"
    ]
    assert out[0].delivery_status == "queued"
    drain(worker)
    assert [m["body"] for m in outbox.entries(provider="twilio")] == ["Soon."]


def test_a_permanent_failure_is_recorded_and_reported_to_the_agent(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    blocked = "+15005550004"  # the sandbox answers 21610 (unsubscribed), as Twilio's test number
    post_twilio(client, sender=blocked)
    drain(worker)
    post_parse(client, sender="alex@demo.relaydesk.test", to=reply_to_of(outbox), text="Hello?")
    drain(worker)
    assert outbox.entries(provider="twilio") == []
    notice = outbox.entries(to="alex@demo.relaydesk.test")[-1]
    assert notice["subject"] == f"Not delivered: your reply to {blocked}"
    assert "21610" in notice["text"]
    assert "Hello?" in notice["text"]
    thread = thread_of(container, customer=blocked)
    out = [
        m for m in container.repository.messages("demo", thread.thread_id) if m.direction == "out"
    ]
    assert out[0].delivery_status == "failed"
    assert thread.awaiting == "agent"


def test_stop_opts_out_silently_and_blocks_later_replies(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    assert ack_of(post_twilio(client, body="Hi")) is not None
    assert ack_of(post_twilio(client, body="STOP")) is None
    drain(worker)
    post_parse(client, sender="alex@demo.relaydesk.test", to=reply_to_of(outbox), text="Sorry!")
    drain(worker)
    assert outbox.entries(provider="twilio") == []
    assert "opted out" in outbox.entries(to="alex@demo.relaydesk.test")[-1]["text"]


def test_queue_outage_answers_503_and_the_redelivery_queues_the_job(
    client: Client, container: Container, aws: dict[str, str]
) -> None:
    sqs = boto3.client("sqs")
    sqs.delete_queue(QueueUrl=aws["JobsQueueUrl"])
    response = post_twilio(client, sid="SMoutage")
    assert response.status_code == 503
    sqs.create_queue(QueueName="relaydesk-jobs")
    response = post_twilio(client, sid="SMoutage")
    assert response.status_code == 200
    jobs = sqs.receive_message(QueueUrl=aws["JobsQueueUrl"], MaxNumberOfMessages=10)
    assert [json.loads(m["Body"])["kind"] for m in jobs["Messages"]] == ["notify_agents"]
    thread = thread_of(container)
    assert len(container.repository.messages("demo", thread.thread_id)) == 1


def test_stores_are_isolated(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    post_twilio(client, to="+15550001111", body="acme question")
    post_twilio(client, body="demo question")
    drain(worker)
    acme_mail = outbox.entries(to="pat@acme.test")
    assert len(acme_mail) == 1
    assert "acme question" in acme_mail[0]["text"]
    assert "demo question" not in acme_mail[0]["text"]
    demo_thread = thread_of(container)
    assert container.repository.thread("acme", demo_thread.thread_id) is None
    # A demo agent cannot answer through acme's reply address.
    response = post_parse(
        client, sender="alex@demo.relaydesk.test", to=acme_mail[0]["reply_to"], text="x"
    )
    assert response.status_code == 403


def test_after_close_an_sms_reopens_within_the_window_and_starts_a_linked_thread_after(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
) -> None:
    post_twilio(client)
    drain(worker)
    first = thread_of(container)
    reply_to = reply_to_of(outbox)
    response = post_parse(client, sender="alex@demo.relaydesk.test", to=reply_to, text="#close")
    assert json.loads(response.body) == {"status": "closed"}
    assert container.repository.thread("demo", first.thread_id).status == "closed"  # type: ignore[union-attr]
    clock.advance(minutes=5)
    # Within the store's reopen window (7 days) the same thread opens again, with a new promise.
    assert ack_of(post_twilio(client, body="One more question")) is not None
    reopened = thread_of(container)
    assert (reopened.thread_id, reopened.status) == (first.thread_id, "open")
    assert reopened.closed_at is None
    drain(worker)
    post_parse(client, sender="alex@demo.relaydesk.test", to=reply_to, text="#close")
    clock.advance(days=8)
    assert ack_of(post_twilio(client, body="New question")) is not None
    second = thread_of(container)
    assert second.thread_id != first.thread_id
    assert second.previous_thread_id == first.thread_id


def test_the_acknowledgement_speaks_the_customers_language_and_keeps_to_it(
    client: Client, container: Container, clock: FakeClock
) -> None:
    ack = ack_of(post_twilio(client, body="Dobrý den, kde je moje objednávka? Děkuji"))
    assert ack is not None
    assert ack.startswith("Děkujeme")
    assert container.repository.customer("demo", CUSTOMER).language == "cs"  # type: ignore[union-attr]
    clock.advance(hours=2)
    later = ack_of(post_twilio(client, body="ok"))  # too short to tell: the known language
    assert later is not None
    assert later.startswith("Děkujeme")


def test_a_webhook_our_side_cannot_serve_is_503_and_counted_for_the_alarm(
    capsys: pytest.CaptureFixture[str], client: Client, container: Container
) -> None:
    """The table is gone (a botched deploy, a region outage): Twilio must hear 503, and
    the WebhookFailures metric (no dimensions: what its alarm watches) must count it."""
    capsys.readouterr()
    boto3.client("dynamodb").delete_table(TableName="relaydesk")
    response = post_twilio(client)
    assert response.status_code == 503
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    assert [(m["Route"], m["WebhookFailures"]) for m in emitted] == [
        ("/webhooks/twilio/messaging", 1)
    ]
    assert emitted[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[], ["Route"]]


def test_a_webhook_whose_secrets_ssm_cannot_give_is_503_in_time(
    monkeypatch: pytest.MonkeyPatch, container: Container
) -> None:
    """A cold start finds SSM unreachable (or throttling after its bounded retries): the
    webhook answers 503 so that the provider retries, instead of a 500 or a hang."""
    from app import app
    from chalicelib.composition import reset_container
    from chalicelib.settings import Settings
    from tests.conftest import free_port

    environ = {k: v for k, v in container.settings.environ.items() if k != "TWILIO_AUTH_TOKEN"}
    environ["SECRETS_SSM_PREFIX"] = "/relaydesk/test"
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", f"http://127.0.0.1:{free_port()}")  # nobody
    cold = Container(Settings(environ), clock=container.clock)
    reset_container(cold)
    with Client(app) as client:
        response = post_twilio(client)
    assert response.status_code == 503
    assert json.loads(response.body) == {"error": "temporarily unavailable, please retry"}
    assert table_items() == []
