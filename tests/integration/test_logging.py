"""What the logs of a realistic run give away: nothing secret, no contact details, no
customer text at INFO. Every line the app writes is captured as it would reach
CloudWatch (configure_logging's JSON handler), through the Lambda handlers, emulated AWS
and the real SDKs."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import logs
from chalicelib.composition import Container
from chalicelib.domain import tokens
from chalicelib.domain.messages import message_id_for
from relaydesk.workers import QueueWorker
from tests.integration.conftest import FakeClock, drain
from tests.integration.email_posts import post_parsed
from tests.integration.test_spine import post_parse, post_twilio

SECRET_NAMES = (
    "TWILIO_AUTH_TOKEN",
    "INBOUND_PARSE_PASSWORD",
    "REPLY_TOKEN_SECRET",
    "SENDGRID_API_KEY",
)
PHONE = "+420777123456"
UNSUBSCRIBED = "+15005550004"  # the sandbox refuses it permanently (Twilio 21610)
EMAIL = "jana.novak@customer.example"
SUPPORT = "support@demo.relaydesk.test"
AGENT = "alex@demo.relaydesk.test"
SMS_SID = "SMlogscan0001"
MAIL_ID = "<logscan-1@customer.example>"
# What customers and agents wrote: none of it may appear at INFO or above.
TEXTS = {
    "whatsapp": "My parcel QX-7731 never arrived at Vinohradska 12",
    "sms": "Please call me back about invoice 88412, Jana",
    "refused": "Stop sending me things about the lamp",
    "subject": "Refund for order 55190 of the walnut desk",
    "email": "I would like my money back for the scratched desk top",
    "profile": "Jana Novakova",
    "answer sms": "We will call you tomorrow about invoice 88412",
    "answer mail": "Your refund for the walnut desk is on its way",
    "answer refused": "Sorry about the lamp notifications",
}


@pytest.fixture
def captured(client: Client) -> Iterator[io.StringIO]:
    """After the app's import (which configures logging), send its lines here, at DEBUG."""
    stream = io.StringIO()
    logs.configure_logging("DEBUG", stream)
    yield stream
    logs.configure_logging(os.environ.get("LOG_LEVEL", "INFO"))


def reply_address(container: Container, address: str) -> str:
    pointer = container.repository.customer("demo", address)
    assert pointer is not None
    assert pointer.open_thread_id
    return tokens.reply_address(
        container.reply_secret, "demo", pointer.open_thread_id, container.settings.reply_domain
    )


def realistic_run(
    client: Client,
    container: Container,
    worker: QueueWorker,
    timer_worker: QueueWorker,
    clock: FakeClock,
) -> None:
    """Customers on WhatsApp, SMS and e-mail; a redelivery; forged and malformed requests;
    notifications; agents' answers (one refused by Twilio); SLA timers firing."""
    whatsapp = {"ProfileName": TEXTS["profile"], "WaId": PHONE.lstrip("+")}
    whatsapp |= {"NumMedia": "1", "MediaUrl0": "https://api.twilio.com/m/ME1"}
    sent = post_twilio(
        client,
        sender=f"whatsapp:{PHONE}",
        to="whatsapp:+15005550006",
        body=TEXTS["whatsapp"],
        extra=whatsapp,
    )
    assert sent.status_code == 200, sent.body
    assert post_twilio(client, sender=PHONE, body=TEXTS["sms"], sid=SMS_SID).status_code == 200
    assert post_twilio(client, sender=PHONE, body=TEXTS["sms"], sid=SMS_SID).status_code == 200
    assert post_twilio(client, sender=UNSUBSCRIBED, body=TEXTS["refused"]).status_code == 200
    mailed = post_parsed(
        client,
        sender=EMAIL,
        to=SUPPORT,
        subject=TEXTS["subject"],
        text=TEXTS["email"],
        message_id=MAIL_ID,
        sender_name=TEXTS["profile"],
    )
    assert mailed.status_code == 200, mailed.body
    # Rejections: a forged signature, a wrong Inbound Parse password, a forged reply token,
    # a malformed request, and an unknown store number.
    assert post_twilio(client, sender=PHONE, token="forged-token").status_code == 403
    wrong_password = post_parse(
        client, sender=AGENT, to=SUPPORT, text=TEXTS["email"], password="guessed-password"
    )
    assert wrong_password.status_code == 401
    forged = "reply+demo.0000000000000000.ffffffffffffffff@reply.relaydesk.test"
    assert post_parse(client, sender=AGENT, to=forged, text="hi").status_code == 403
    assert post_twilio(client, sender="", body=TEXTS["sms"]).status_code == 400
    assert post_twilio(client, sender=PHONE, to="+15559990000").status_code == 404
    drain(worker)  # notifications, the e-mail acknowledgement, timers scheduled

    for address, text in (
        (PHONE, TEXTS["answer sms"]),
        (EMAIL, TEXTS["answer mail"]),
        (UNSUBSCRIBED, TEXTS["answer refused"]),
    ):
        answered = post_parse(client, sender=AGENT, to=reply_address(container, address), text=text)
        assert answered.status_code == 200, answered.body
    drain(worker)  # the answers relayed; the refused one reported to the agent

    clock.advance(days=4)  # the WhatsApp promise, never kept: reminder, breach, escalations
    for _ in range(5):
        if timer_worker.poll_once() == 0:
            break


def test_logs_hold_no_secret_no_contact_detail_and_no_customer_text_at_info(
    client: Client,
    container: Container,
    worker: QueueWorker,
    timer_worker: QueueWorker,
    clock: FakeClock,
    captured: io.StringIO,
) -> None:
    realistic_run(client, container, worker, timer_worker, clock)
    output = captured.getvalue()
    records: list[dict[str, Any]] = [json.loads(line) for line in output.splitlines()]
    assert len(records) > 15, output  # the scan below looked at a real run's logs
    assert {r["level"] for r in records} >= {"INFO", "WARNING"}

    secrets = {name: container.secrets.get(name) for name in SECRET_NAMES}
    basic = base64.b64encode(f"parse:{secrets['INBOUND_PARSE_PASSWORD']}".encode()).decode()
    for name, value in [*secrets.items(), ("Basic credentials", basic)]:
        assert value not in output, f"{name} is in the logs"
    assert "guessed-password" not in output
    assert "forged-token" not in output

    for record, line in zip(records, output.splitlines(), strict=True):
        assert logs.mask(line) == line, f"an unmasked address: {record}"
    for fragment in ("777123456", "5550004", "jana.novak", "novak@"):
        assert fragment not in output

    shown = [r for r in records if logging.getLevelName(r["level"]) >= logging.INFO]
    for record in shown:
        text = json.dumps(record, ensure_ascii=False)
        for what, written in TEXTS.items():
            assert written not in text, f"the {what} text is logged at {record['level']}"


def test_a_message_and_the_jobs_it_causes_log_under_one_correlation_id(
    client: Client,
    container: Container,
    worker: QueueWorker,
    timer_worker: QueueWorker,
    clock: FakeClock,
    captured: io.StringIO,
) -> None:
    realistic_run(client, container, worker, timer_worker, clock)
    records = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert all(r["correlation_id"] for r in records), [
        r for r in records if not r["correlation_id"]
    ]
    ids = {r["correlation_id"] for r in records}
    # The notification and acknowledgement jobs log under the id of the message they are
    # about: the provider's id, hashed with the store (never the Message-ID itself).
    assert message_id_for("demo", SMS_SID) in ids
    assert message_id_for("demo", MAIL_ID) in ids
    assert not any("customer.example" in i for i in ids)
    # Each request, job and timer has its own: many ids, each on a few lines.
    assert len(ids) >= 10
