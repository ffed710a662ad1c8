"""The sandbox, driven through the real Twilio and SendGrid SDKs.

If these pass, the SDKs accept the sandbox's answers exactly as they would the vendors',
so anything the app sends to the sandbox is what it would send in production.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from python_http_client.exceptions import (
    BadRequestsError,
    ServiceUnavailableError,
    TooManyRequestsError,
    UnauthorizedError,
)
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import From, Header, Mail, ReplyTo, Subject, To
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from chalicelib.channels.twilio_messaging import sandbox_http_client
from relaydesk.sandbox import Sandbox, SandboxServer, main, make_server, start_in_thread

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "secret-auth-token-do-not-log"
SENDGRID_KEY = "SG.test-key-do-not-log"
SHOP_NUMBER = "+15005550006"
CUSTOMER = "+447700900123"
TIMEOUT = 5
SID = re.compile(r"^SM[0-9a-f]{32}$")


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    """A fresh sandbox per test, so no test sees another's outbox or faults."""
    running, _ = start_in_thread()
    yield running
    running.shutdown()
    running.server_close()


@pytest.fixture
def base(server: SandboxServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}"


@pytest.fixture
def twilio(base: str) -> Any:
    return Client(ACCOUNT_SID, AUTH_TOKEN, http_client=sandbox_http_client(base))


@pytest.fixture
def sendgrid(base: str) -> Any:
    return SendGridAPIClient(api_key=SENDGRID_KEY, host=base + "/sendgrid")


def outbox(base: str, **filters: str) -> list[dict[str, Any]]:
    response = requests.get(f"{base}/outbox", params=filters, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    entries: list[dict[str, Any]] = response.json()
    return entries


def settled(entries: list[dict[str, Any]], since: datetime) -> list[dict[str, Any]]:
    """Entries minus `time`, after checking it is an ISO-8601 UTC moment from this test."""
    stripped = []
    for entry in entries:
        moment = datetime.fromisoformat(entry["time"])
        assert moment.utcoffset() == timedelta(0)
        assert since - timedelta(seconds=1) <= moment <= datetime.now(UTC)
        stripped.append({key: value for key, value in entry.items() if key != "time"})
    return stripped


def twilio_messages_url(base: str) -> str:
    return f"{base}/twilio/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


def post_twilio(base: str, data: dict[str, str]) -> requests.Response:
    return requests.post(
        twilio_messages_url(base), data=data, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=TIMEOUT
    )


def post_sendgrid(base: str, payload: dict[str, Any]) -> requests.Response:
    return requests.post(
        f"{base}/sendgrid/v3/mail/send",
        json=payload,
        headers={"Authorization": f"Bearer {SENDGRID_KEY}"},
        timeout=TIMEOUT,
    )


def sms_entry(to: str, body: str, sid: str) -> dict[str, Any]:
    return {
        "provider": "twilio",
        "channel": "sms",
        "from": SHOP_NUMBER,
        "to": to,
        "body": body,
        "media_urls": [],
        "content_sid": None,
        "content_variables": None,
        "status_callback": None,
        "subject": None,
        "text": None,
        "html": None,
        "reply_to": None,
        "headers": {},
        "id": sid,
    }


def email_entry(message_id: str, **changes: Any) -> dict[str, Any]:
    """The entry `valid_mail()` records, minus `time`."""
    entry: dict[str, Any] = {
        "provider": "sendgrid",
        "channel": "email",
        "from": "help@shop.example",
        "from_name": None,
        "to": "ann@example.com",
        "subject": "Your order",
        "text": "Thanks!",
        "html": None,
        "reply_to": None,
        "headers": {},
        "body": "Thanks!",
        "media_urls": [],
        "id": f"{message_id}.0",
    }
    return {**entry, **changes}


def valid_mail() -> dict[str, Any]:
    return {
        "personalizations": [{"to": [{"email": "ann@example.com"}]}],
        "from": {"email": "help@shop.example"},
        "subject": "Your order",
        "content": [{"type": "text/plain", "value": "Thanks!"}],
    }


# -- Twilio ---------------------------------------------------------------------------------


def test_twilio_sms_is_recorded_and_parsed_by_the_sdk(
    server: SandboxServer, base: str, twilio: Any
) -> None:
    since = datetime.now(UTC)

    message = twilio.messages.create(from_=SHOP_NUMBER, to=CUSTOMER, body="Your parcel shipped")

    assert SID.match(message.sid)
    assert message.status == "queued"
    assert message.account_sid == ACCOUNT_SID
    assert message.direction == "outbound-api"
    assert message.num_segments == "1"
    assert message.body == "Your parcel shipped"
    assert message.error_code is None
    assert message.price is None
    assert message.api_version == "2010-04-01"
    assert message.uri == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message.sid}.json"
    assert message.subresource_uris == {
        "media": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message.sid}/Media.json"
    }
    assert isinstance(message.date_created, datetime)
    assert since - timedelta(seconds=1) <= message.date_created <= datetime.now(UTC)
    expected = [sms_entry(CUSTOMER, "Your parcel shipped", message.sid)]
    assert settled(outbox(base), since) == expected
    assert settled(server.sandbox.entries(), since) == expected


def test_twilio_raw_response_has_the_message_resource_shape(base: str) -> None:
    response = post_twilio(base, {"From": SHOP_NUMBER, "To": CUSTOMER, "Body": "hi"})

    assert response.status_code == 201
    resource = response.json()
    sid = resource.pop("sid")
    assert SID.match(sid)
    created = resource.pop("date_created")
    assert re.fullmatch(r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000", created)
    assert resource.pop("date_updated") == created
    uri = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}"
    assert resource == {
        "account_sid": ACCOUNT_SID,
        "messaging_service_sid": None,
        "from": SHOP_NUMBER,
        "to": CUSTOMER,
        "body": "hi",
        "status": "queued",
        "direction": "outbound-api",
        "num_segments": "1",
        "num_media": "0",
        "date_sent": None,
        "uri": f"{uri}.json",
        "error_code": None,
        "error_message": None,
        "price": None,
        "price_unit": "USD",
        "api_version": "2010-04-01",
        "subresource_uris": {"media": f"{uri}/Media.json"},
    }


def test_twilio_whatsapp_with_media_and_no_body(base: str, twilio: Any) -> None:
    since = datetime.now(UTC)
    media = ["https://cdn.example/a.jpg", "https://cdn.example/b.pdf"]

    first = twilio.messages.create(
        from_="whatsapp:" + SHOP_NUMBER, to="whatsapp:" + CUSTOMER, body="Invoice attached"
    )
    second = twilio.messages.create(
        from_="whatsapp:" + SHOP_NUMBER, to="whatsapp:" + CUSTOMER, media_url=media
    )

    assert second.status == "queued"
    assert second.num_media == "2"
    whatsapp: dict[str, Any] = {
        "provider": "twilio",
        "channel": "whatsapp",
        "from": "whatsapp:" + SHOP_NUMBER,
        "to": "whatsapp:" + CUSTOMER,
        "content_sid": None,
        "content_variables": None,
        "status_callback": None,
        "subject": None,
        "text": None,
        "html": None,
        "reply_to": None,
        "headers": {},
    }
    assert settled(outbox(base), since) == [
        {**whatsapp, "body": "Invoice attached", "media_urls": [], "id": first.sid},
        {**whatsapp, "body": "", "media_urls": media, "id": second.sid},
    ]


@pytest.mark.parametrize(
    ("to", "code"),
    [
        ("+15005550001", 21211),
        ("+15005550004", 21610),
        ("+15005550009", 21614),
        ("whatsapp:+15005550004", 21610),
        ("whatsapp:+15005550009", 21614),
    ],
)
def test_twilio_magic_numbers_fail_and_record_nothing(
    base: str, twilio: Any, to: str, code: int
) -> None:
    sender = ("whatsapp:" if to.startswith("whatsapp:") else "") + SHOP_NUMBER

    with pytest.raises(TwilioRestException) as caught:
        twilio.messages.create(from_=sender, to=to, body="hello")

    assert caught.value.status == 400
    assert caught.value.code == code
    assert caught.value.msg
    assert outbox(base) == []


def test_twilio_magic_error_body_is_twilio_shaped(base: str) -> None:
    response = post_twilio(base, {"From": SHOP_NUMBER, "To": "+15005550001", "Body": "x"})

    assert response.status_code == 400
    assert response.json() == {
        "code": 21211,
        "message": "The 'To' number +15005550001 is not a valid phone number.",
        "more_info": "https://www.twilio.com/docs/errors/21211",
        "status": 400,
    }


@pytest.mark.parametrize(
    "auth",
    [None, "Bearer abc", "Basic", "Basic !!!not-base64!!!", "Basic bm9jb2xvbg=="],
    ids=["missing", "bearer", "empty", "garbage", "no-colon"],
)
def test_twilio_requires_basic_auth(base: str, auth: str | None) -> None:
    headers = {} if auth is None else {"Authorization": auth}

    response = requests.post(
        twilio_messages_url(base),
        data={"From": SHOP_NUMBER, "To": CUSTOMER, "Body": "hi"},
        headers=headers,
        timeout=TIMEOUT,
    )

    assert response.status_code == 401
    assert response.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    assert outbox(base) == []


@pytest.mark.parametrize(
    ("data", "code", "field"),
    [
        ({"From": SHOP_NUMBER, "Body": "hi"}, 21604, "'To'"),
        ({"To": CUSTOMER, "Body": "hi"}, 21603, "'From'"),
        ({"From": SHOP_NUMBER, "To": CUSTOMER}, 21602, "body"),
        ({"From": SHOP_NUMBER, "To": CUSTOMER, "Body": ""}, 21602, "body"),
    ],
    ids=["no-to", "no-from", "no-body", "blank-body"],
)
def test_twilio_missing_fields_are_rejected(
    base: str, data: dict[str, str], code: int, field: str
) -> None:
    response = post_twilio(base, data)

    assert response.status_code == 400
    error = response.json()
    assert error["code"] == code
    assert error["status"] == 400
    assert error["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert field in error["message"]
    assert outbox(base) == []


# -- SendGrid -------------------------------------------------------------------------------


def test_sendgrid_mail_through_the_sdk_records_each_recipient(
    server: SandboxServer, base: str, sendgrid: Any
) -> None:
    since = datetime.now(UTC)
    mail = Mail(
        from_email=From("help@shop.example", "Shop Help"),
        to_emails=[To("ann@example.com", "Ann"), To("bob@example.com")],
        subject="Re: your order",
        plain_text_content="We are on it.",
        html_content="<p>We are on it.</p>",
        is_multiple=True,
    )
    mail.reply_to = ReplyTo("support@shop.example", "Support")
    mail.header = Header("Auto-Submitted", "auto-replied")
    # is_multiple puts the last recipient first: personalization 1 is Ann's.
    mail.header = Header("X-Ticket", "T-42", p=1)
    mail.subject = Subject("Re: your order #42", p=1)
    assert [p["to"][0]["email"] for p in mail.get()["personalizations"]] == [
        "bob@example.com",
        "ann@example.com",
    ]

    response = sendgrid.send(mail)

    assert response.status_code == 202
    assert response.body == b""
    message_id = response.headers["X-Message-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", message_id)
    common: dict[str, Any] = {
        "provider": "sendgrid",
        "channel": "email",
        "from": "help@shop.example",
        "from_name": "Shop Help",
        "text": "We are on it.",
        "html": "<p>We are on it.</p>",
        "reply_to": "support@shop.example",
        "body": "We are on it.",
        "media_urls": [],
    }
    expected = [
        {
            **common,
            "to": "bob@example.com",
            "subject": "Re: your order",
            "headers": {"Auto-Submitted": "auto-replied"},
            "id": f"{message_id}.0",
        },
        {
            **common,
            "to": "ann@example.com",
            "subject": "Re: your order #42",
            "headers": {"Auto-Submitted": "auto-replied", "X-Ticket": "T-42"},
            "id": f"{message_id}.1",
        },
    ]
    assert settled(outbox(base), since) == expected
    assert settled(server.sandbox.entries(), since) == expected


def test_sendgrid_several_recipients_in_one_personalization(base: str) -> None:
    since = datetime.now(UTC)
    payload = valid_mail()
    payload["personalizations"] = [
        {
            "to": [{"email": "ann@example.com"}, {"email": "cy@example.com"}],
            "headers": {"Auto-Submitted": "no"},
        }
    ]
    payload["headers"] = {"Auto-Submitted": "auto-replied", "X-Shop": "1"}

    response = post_sendgrid(base, payload)

    assert response.status_code == 202
    assert response.content == b""
    message_id = response.headers["X-Message-Id"]
    headers = {"Auto-Submitted": "no", "X-Shop": "1"}
    assert settled(outbox(base), since) == [
        email_entry(message_id, headers=headers),
        email_entry(message_id, headers=headers, to="cy@example.com", id=f"{message_id}.1"),
    ]


@pytest.mark.parametrize("auth", [None, "Bearer", "Bearer   ", "Basic abc", "bearer x"], ids=repr)
def test_sendgrid_requires_bearer_auth(base: str, auth: str | None) -> None:
    headers = {} if auth is None else {"Authorization": auth}

    response = requests.post(
        f"{base}/sendgrid/v3/mail/send", json=valid_mail(), headers=headers, timeout=TIMEOUT
    )

    assert response.status_code == 401
    assert response.json() == {
        "errors": [
            {
                "message": "The provided authorization grant is invalid, expired, or revoked",
                "field": None,
                "help": None,
            }
        ]
    }
    assert outbox(base) == []


def test_sendgrid_sdk_raises_on_401(base: str) -> None:
    client = SendGridAPIClient(api_key=SENDGRID_KEY, host=base + "/sendgrid")
    client.client.request_headers.pop("Authorization")

    with pytest.raises(UnauthorizedError) as caught:
        client.send(valid_mail())

    assert caught.value.status_code == 401
    assert outbox(base) == []


def _drop(key: str) -> Any:
    def change(mail: dict[str, Any]) -> None:
        del mail[key]

    return change


def _set(key: str, value: Any) -> Any:
    def change(mail: dict[str, Any]) -> None:
        mail[key] = value

    return change


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        (_drop("personalizations"), ["personalizations"]),
        (_set("personalizations", []), ["personalizations"]),
        (_set("personalizations", [{"to": []}]), ["personalizations.0.to"]),
        (_set("personalizations", [{"cc": [{"email": "a@b.c"}]}]), ["personalizations.0.to"]),
        (_set("personalizations", [{"to": [{"name": "x"}]}]), ["personalizations.0.to.0.email"]),
        (_drop("from"), ["from.email"]),
        (_set("from", {"name": "Shop"}), ["from.email"]),
        (_drop("subject"), ["subject"]),
        (_set("subject", ""), ["subject"]),
        (_drop("content"), ["content"]),
        (_set("content", []), ["content"]),
        (_set("content", [{"type": "text/plain", "value": ""}]), ["content.0"]),
        (_set("reply_to", {"name": "x"}), ["reply_to.email"]),
        (_set("headers", ["X-A"]), ["headers"]),
    ],
)
def test_sendgrid_invalid_mail_names_the_field(base: str, change: Any, fields: list[str]) -> None:
    payload = valid_mail()
    change(payload)

    response = post_sendgrid(base, payload)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [error["field"] for error in errors] == fields
    assert all(error["message"] and error["help"] is None for error in errors)
    assert outbox(base) == []


def test_sendgrid_reports_every_problem_at_once(base: str) -> None:
    response = post_sendgrid(base, {"personalizations": [{"to": []}]})

    assert response.status_code == 400
    fields = [error["field"] for error in response.json()["errors"]]
    assert fields == ["personalizations.0.to", "from.email", "subject", "content"]


def test_sendgrid_subject_may_come_from_every_personalization(base: str) -> None:
    since = datetime.now(UTC)
    payload = valid_mail()
    del payload["subject"]
    payload["personalizations"][0]["subject"] = "Per-recipient subject"

    response = post_sendgrid(base, payload)

    assert response.status_code == 202
    assert settled(outbox(base), since) == [
        email_entry(response.headers["X-Message-Id"], subject="Per-recipient subject")
    ]


def test_sendgrid_sdk_raises_on_400(base: str, sendgrid: Any) -> None:
    with pytest.raises(BadRequestsError) as caught:
        sendgrid.send({**valid_mail(), "content": []})

    assert caught.value.to_dict["errors"][0]["field"] == "content"
    assert outbox(base) == []


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe"], ids=repr)
def test_sendgrid_malformed_json_is_400(base: str, body: bytes) -> None:
    response = requests.post(
        f"{base}/sendgrid/v3/mail/send",
        data=body,
        headers={"Authorization": "Bearer x", "Content-Type": "application/json"},
        timeout=TIMEOUT,
    )

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] is None
    assert error["message"]
    assert outbox(base) == []


# -- fault injection ------------------------------------------------------------------------


def inject(base: str, **spec: Any) -> requests.Response:
    return requests.post(f"{base}/sandbox/faults", json=spec, timeout=TIMEOUT)


def test_twilio_fault_injection_two_503s_then_success(base: str, twilio: Any) -> None:
    since = datetime.now(UTC)
    answer = inject(base, provider="twilio", status=503, count=2)
    assert answer.status_code == 201
    assert answer.json() == {"provider": "twilio", "status": 503, "count": 2}

    for _ in range(2):
        with pytest.raises(TwilioRestException) as caught:
            twilio.messages.create(from_=SHOP_NUMBER, to=CUSTOMER, body="retry me")
        assert caught.value.status == 503
        assert caught.value.code == 20503
        assert caught.value.msg == "Unable to create record: Service Unavailable"
    assert outbox(base) == []

    message = twilio.messages.create(from_=SHOP_NUMBER, to=CUSTOMER, body="retry me")

    assert message.status == "queued"
    assert settled(outbox(base), since) == [sms_entry(CUSTOMER, "retry me", message.sid)]


def test_sendgrid_fault_injection_two_503s_then_success(base: str, sendgrid: Any) -> None:
    since = datetime.now(UTC)
    assert inject(base, provider="sendgrid", status=503, count=2).status_code == 201

    for _ in range(2):
        with pytest.raises(ServiceUnavailableError) as caught:
            sendgrid.send(valid_mail())
        assert caught.value.status_code == 503
        assert caught.value.to_dict == {
            "errors": [{"message": "Service Unavailable", "field": None, "help": None}]
        }
    assert outbox(base) == []

    response = sendgrid.send(valid_mail())

    assert response.status_code == 202
    assert settled(outbox(base), since) == [email_entry(response.headers["X-Message-Id"])]


def test_faults_only_hit_their_provider_and_default_to_one(
    base: str, twilio: Any, sendgrid: Any
) -> None:
    since = datetime.now(UTC)
    assert inject(base, provider="sendgrid", status=429).status_code == 201

    message = twilio.messages.create(from_=SHOP_NUMBER, to=CUSTOMER, body="unaffected")
    with pytest.raises(TooManyRequestsError) as caught:
        sendgrid.send(valid_mail())
    assert caught.value.status_code == 429
    response = sendgrid.send(valid_mail())

    assert response.status_code == 202
    assert settled(outbox(base), since) == [
        sms_entry(CUSTOMER, "unaffected", message.sid),
        email_entry(response.headers["X-Message-Id"]),
    ]


def test_delete_faults_clears_them(base: str, twilio: Any) -> None:
    since = datetime.now(UTC)
    assert inject(base, provider="twilio", status=500, count=5).status_code == 201

    response = requests.delete(f"{base}/sandbox/faults", timeout=TIMEOUT)

    assert response.status_code == 204
    assert response.content == b""
    message = twilio.messages.create(from_=SHOP_NUMBER, to=CUSTOMER, body="after")
    assert settled(outbox(base), since) == [sms_entry(CUSTOMER, "after", message.sid)]


@pytest.mark.parametrize(
    "spec",
    [
        {"provider": "mailgun", "status": 503},
        {"status": 503},
        {"provider": "twilio", "status": 200},
        {"provider": "twilio", "status": "503"},
        {"provider": "twilio", "status": True},
        {"provider": "twilio", "status": 503, "count": 0},
        {"provider": "twilio", "status": 503, "count": 1.5},
    ],
    ids=repr,
)
def test_invalid_fault_specs_are_rejected(base: str, twilio: Any, spec: dict[str, Any]) -> None:
    since = datetime.now(UTC)
    response = inject(base, **spec)

    assert response.status_code == 400
    assert response.json()["error"]
    message = twilio.messages.create(from_=SHOP_NUMBER, to=CUSTOMER, body="ok")
    assert settled(outbox(base), since) == [sms_entry(CUSTOMER, "ok", message.sid)]


def test_malformed_fault_json_is_400(base: str) -> None:
    response = requests.post(f"{base}/sandbox/faults", data=b"{oops", timeout=TIMEOUT)

    assert response.status_code == 400
    assert "JSON" in response.json()["error"]


# -- outbox ---------------------------------------------------------------------------------


def test_outbox_filters_and_delete(server: SandboxServer, base: str, twilio: Any) -> None:
    since = datetime.now(UTC)
    sms = twilio.messages.create(from_=SHOP_NUMBER, to=CUSTOMER, body="one")
    wa = twilio.messages.create(
        from_="whatsapp:" + SHOP_NUMBER, to="whatsapp:" + CUSTOMER, body="two"
    )
    other = twilio.messages.create(from_=SHOP_NUMBER, to="+15551230000", body="three")
    assert post_sendgrid(base, valid_mail()).status_code == 202

    everything = outbox(base)
    assert [(e["provider"], e["channel"], e["to"]) for e in everything] == [
        ("twilio", "sms", CUSTOMER),
        ("twilio", "whatsapp", "whatsapp:" + CUSTOMER),
        ("twilio", "sms", "+15551230000"),
        ("sendgrid", "email", "ann@example.com"),
    ]
    assert outbox(base, provider="twilio") == everything[:3]
    assert outbox(base, provider="sendgrid") == everything[3:]
    assert outbox(base, channel="sms") == [everything[0], everything[2]]
    assert settled(outbox(base, channel="whatsapp"), since) == [
        {
            **sms_entry("whatsapp:" + CUSTOMER, "two", wa.sid),
            "channel": "whatsapp",
            "from": "whatsapp:" + SHOP_NUMBER,
        }
    ]
    assert outbox(base, to=CUSTOMER) == [everything[0]]
    assert outbox(base, provider="twilio", to="+15551230000") == [everything[2]]
    assert outbox(base, provider="sendgrid", channel="sms") == []
    assert [e["id"] for e in everything[:3]] == [sms.sid, wa.sid, other.sid]
    assert server.sandbox.entries(channel="email") == everything[3:]

    response = requests.delete(f"{base}/outbox", timeout=TIMEOUT)

    assert response.status_code == 204
    assert response.content == b""
    assert outbox(base) == []
    assert server.sandbox.entries() == []


def test_outbox_rejects_unknown_filters(base: str) -> None:
    response = requests.get(f"{base}/outbox", params={"provder": "twilio"}, timeout=TIMEOUT)

    assert response.status_code == 400
    assert "provder" in response.json()["error"]


def test_entries_are_copies(server: SandboxServer, base: str) -> None:
    since = datetime.now(UTC)
    response = post_twilio(base, {"From": SHOP_NUMBER, "To": CUSTOMER, "Body": "x"})
    assert response.status_code == 201

    server.sandbox.entries()[0]["body"] = "tampered"

    expected = [sms_entry(CUSTOMER, "x", response.json()["sid"])]
    assert settled(server.sandbox.entries(), since) == expected


def test_sandbox_clear_empties_the_outbox(server: SandboxServer, base: str) -> None:
    assert post_twilio(base, {"From": SHOP_NUMBER, "To": CUSTOMER, "Body": "x"}).ok

    server.sandbox.clear()

    assert outbox(base) == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/twilio/2010-04-01/Accounts/AC1/Messages.json"),
        ("POST", "/outbox"),
        ("PUT", "/outbox"),
        ("GET", "/sandbox/faults"),
        ("POST", "/twilio/2010-04-01/Accounts/AC1/Calls.json"),
        ("POST", "/sendgrid/v3/mail/batch"),
    ],
)
def test_unknown_routes_are_404_json(base: str, method: str, path: str) -> None:
    response = requests.request(method, base + path, timeout=TIMEOUT)

    assert response.status_code == 404
    assert path in response.json()["error"]


def test_concurrent_sends_are_all_recorded(server: SandboxServer, base: str) -> None:
    since = datetime.now(UTC)
    bodies = [f"message {n}" for n in range(24)]
    sids: dict[str, str] = {}

    def send(body: str) -> None:
        response = post_twilio(base, {"From": SHOP_NUMBER, "To": CUSTOMER, "Body": body})
        assert response.status_code == 201
        sids[body] = response.json()["sid"]

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)

    entries = settled(server.sandbox.entries(), since)
    assert sorted(entries, key=lambda entry: str(entry["body"])) == sorted(
        (sms_entry(CUSTOMER, body, sids[body]) for body in bodies),
        key=lambda entry: str(entry["body"]),
    )
    assert len(set(sids.values())) == len(bodies)


def test_credentials_are_never_logged(
    base: str, twilio: Any, sendgrid: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="relaydesk.sandbox")

    twilio.messages.create(from_=SHOP_NUMBER, to=CUSTOMER, body="hi")
    sendgrid.send(valid_mail())
    requests.post(twilio_messages_url(base), data={}, timeout=TIMEOUT)

    ours = [record for record in caplog.records if record.name == "relaydesk.sandbox"]
    assert ours, "the request log should go to the module logger at DEBUG"
    logged = "\n".join(record.getMessage() for record in ours)
    assert AUTH_TOKEN not in logged
    assert SENDGRID_KEY not in logged
    assert "Basic" not in logged
    assert "Bearer" not in logged


# -- server helpers -------------------------------------------------------------------------


def test_start_in_thread_returns_a_loopback_base_url(server: SandboxServer, base: str) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base)
    assert server.server_address[1] != 0
    assert requests.get(f"{base}/outbox", timeout=TIMEOUT).json() == []


def test_make_server_shares_a_given_sandbox() -> None:
    since = datetime.now(UTC)
    sandbox = Sandbox()
    server = make_server("127.0.0.1", 0, sandbox)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        response = requests.post(
            f"http://{host!s}:{port}/sendgrid/v3/mail/send",
            data=json.dumps(valid_mail()),
            headers={"Authorization": "Bearer x"},
            timeout=TIMEOUT,
        )
        assert response.status_code == 202
        assert server.sandbox is sandbox
        expected = [email_entry(response.headers["X-Message-Id"])]
        assert settled(sandbox.entries(), since) == expected
    finally:
        server.shutdown()
        server.server_close()


def test_main_reports_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        assert main(["--port", str(port)]) == 1

    assert f"127.0.0.1:{port}" in capsys.readouterr().err


def test_a_whatsapp_template_is_accepted_without_a_body_and_recorded(
    base: str, twilio: Any
) -> None:
    twilio.messages.create(
        from_="whatsapp:" + SHOP_NUMBER,
        to="whatsapp:" + CUSTOMER,
        content_sid="HX" + "0" * 32,
        content_variables=json.dumps({"1": "Jana"}),
    )
    [entry] = outbox(base)
    assert (entry["body"], entry["content_sid"], entry["content_variables"]) == (
        "",
        "HX" + "0" * 32,
        {"1": "Jana"},
    )


def test_status_callbacks_are_signed_like_twilios_and_report_the_magic_failure() -> None:
    """With the auth token, the sandbox calls the StatusCallback URL as Twilio would."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qsl

    from twilio.request_validator import RequestValidator

    received: list[tuple[dict[str, str], bool]] = []
    done = threading.Event()
    port = 0

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            params = dict(parse_qsl(self.rfile.read(length).decode()))
            url = f"http://127.0.0.1:{port}{self.path}"
            valid = RequestValidator(AUTH_TOKEN).validate(
                url, params, self.headers["X-Twilio-Signature"]
            )
            received.append((params, bool(valid)))
            self.send_response(204)
            self.end_headers()
            if len(received) == 4:
                done.set()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    port = int(receiver.server_address[1])
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    callback = f"http://127.0.0.1:{port}/status"
    running, sandbox_base = start_in_thread(status_token=AUTH_TOKEN)
    try:
        client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=sandbox_http_client(sandbox_base))
        ok = client.messages.create(
            from_=SHOP_NUMBER, to=CUSTOMER, body="hi", status_callback=callback
        )
        lost = client.messages.create(
            from_=SHOP_NUMBER, to="+15005550030", body="hi", status_callback=callback
        )
        assert done.wait(10), received
    finally:
        running.shutdown()
        running.server_close()
        receiver.shutdown()
    assert all(valid for _, valid in received)
    by_sid: dict[str, list[tuple[str, str | None]]] = {}
    for params, _ in received:
        by_sid.setdefault(params["MessageSid"], []).append(
            (params["MessageStatus"], params.get("ErrorCode"))
        )
    assert by_sid == {
        ok.sid: [("sent", None), ("delivered", None)],
        lost.sid: [("sent", None), ("undelivered", "30003")],
    }
