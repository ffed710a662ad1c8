"""Oversized bodies: a clear 413 before anything is parsed, nothing stored, and one
WARNING line with what is needed to follow up (route, size, limit, provider ids), never
the customer's text or address.

Lambda takes at most 6 MB per synchronous invocation and API Gateway 10 MB per request;
chalicelib/web.py explains the limits it derives from them.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.web import LAMBDA_EVENT_LIMIT, MAX_INBOUND_PARSE_BODY, MAX_TWILIO_BODY
from tests.reliability.helpers import (
    DEMO_NUMBER,
    DEMO_SUPPORT,
    FORM,
    TWILIO_PATH,
    Snapshot,
    assert_clean_rejection,
    assert_not_logged,
    basic_auth,
    multipart,
    post_parse_body,
    post_twilio_form,
    twilio_signature,
)

API_GATEWAY_LIMIT = 10 * 1024 * 1024
CUSTOMER = "+420777123456"
JANA = "jana.novakova@customer.test"


def too_large_lines(logs: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in logs.records
        if r.levelno == logging.WARNING and "payload too large" in r.getMessage()
    ]


def test_the_limits_fit_inside_lambdas_event() -> None:
    # base64 (4/3) of the largest Inbound Parse body still leaves room for the event.
    assert MAX_INBOUND_PARSE_BODY * 4 // 3 + 200 * 1024 < LAMBDA_EVENT_LIMIT
    assert MAX_TWILIO_BODY < MAX_INBOUND_PARSE_BODY


def twilio_params(body_text: str) -> dict[str, list[str]]:
    return {
        "MessageSid": [f"SM{uuid.uuid4().hex}"],
        "AccountSid": ["AC00000000000000000000000000000000"],
        "From": [CUSTOMER],
        "To": [DEMO_NUMBER],
        "Body": [body_text],
    }


@pytest.mark.parametrize("size", [MAX_TWILIO_BODY + 1, LAMBDA_EVENT_LIMIT, API_GATEWAY_LIMIT])
@pytest.mark.parametrize("path", [TWILIO_PATH, "/webhooks/twilio/status"])
def test_an_oversized_twilio_post_is_refused_unparsed(
    client: Client,
    snapshot: Callable[..., Snapshot],
    logs: pytest.LogCaptureFixture,
    size: int,
    path: str,
) -> None:
    params = twilio_params("")
    head = "&".join(f"{k}={v[0]}" for k, v in params.items() if k != "Body")
    body = (head + "&Body=").encode()
    body += b"x" * (size - len(body))
    assert len(body) == size
    before = snapshot()
    logs.clear()
    response = client.http.post(
        path,
        headers={"Content-Type": FORM, "X-Twilio-Signature": twilio_signature(params)},
        body=body,
    )
    assert response.status_code == 413
    assert str(size) in json.loads(response.body)["error"]
    assert_clean_rejection(response, before, snapshot())
    [line] = too_large_lines(logs)
    assert f"route={path}" in line
    assert f"bytes={size}" in line
    assert f"limit={MAX_TWILIO_BODY}" in line
    assert params["MessageSid"][0] in line
    assert "AC00000000000000000000000000000000" in line
    assert_not_logged(logs.records, CUSTOMER, "xxxxxxxxxxxxxxxx")


def test_a_twilio_post_just_under_the_limit_is_processed(client: Client) -> None:
    params = twilio_params("")
    overhead = len(json.dumps(params))  # generous: the form encoding is shorter
    params["Body"] = ["y" * (MAX_TWILIO_BODY - overhead)]
    response = post_twilio_form(client, params)
    assert response.status_code == 200


def parse_post(size: int) -> tuple[bytes, str]:
    """A customer mail with an attachment that makes the whole post `size` bytes."""
    fields: dict[str, Any] = {
        "headers": f"Message-ID: <big@customer.test>\nFrom: {JANA}\nTo: {DEMO_SUPPORT}\n",
        "from": JANA,
        "to": DEMO_SUPPORT,
        "subject": "Photos of the damage",
        "text": "The parcel arrived broken, photos attached.",
        "envelope": json.dumps({"to": [DEMO_SUPPORT], "from": JANA}),
    }
    boundary = "xYzZYrelaydesk"
    empty, _ = multipart({**fields, "attachment1": ("photo.jpg", b"", "image/jpeg")}, boundary)
    fields["attachment1"] = ("photo.jpg", b"\xff" * (size - len(empty)), "image/jpeg")
    body, content_type = multipart(fields, boundary)
    assert len(body) == size
    return body, content_type


@pytest.mark.parametrize(
    "size", [MAX_INBOUND_PARSE_BODY + 1, LAMBDA_EVENT_LIMIT, API_GATEWAY_LIMIT + 1]
)
def test_an_oversized_inbound_parse_post_is_refused_unparsed_and_recorded_for_the_agents(
    client: Client, snapshot: Callable[..., Snapshot], logs: pytest.LogCaptureFixture, size: int
) -> None:
    """Refused (413: SendGrid drops it), but never silently (issue #12): its sender,
    subject and size, read from its first bytes, are stored as the customer's message,
    not acknowledged, and the agents are told by the usual notification job."""
    body, content_type = parse_post(size)
    before = snapshot()
    logs.clear()
    response = post_parse_body(
        client,
        body,
        content_type,
        headers={"X-Amzn-Trace-Id": "Root=1-67891233-abcdef012345678912345678"},
    )
    assert response.status_code == 413
    assert str(MAX_INBOUND_PARSE_BODY) in json.loads(response.body)["error"]
    after = snapshot()
    [message] = [
        i
        for i in after.items
        if str(i["sk"]).startswith("MSG#") and i not in before.items and i["direction"] == "in"
    ]
    assert message["author"] == JANA
    assert message["subject"] == "Photos of the damage"
    assert f"{size:,} bytes" in message["body"]
    assert "The parcel arrived broken" not in message["body"]  # its text was never read
    assert "attachments" not in message  # nor its attachments
    assert not message["acknowledge"]  # we did not get it: no "thanks, we got it"
    assert message["automatic"] == "too large to take, not acknowledged"
    assert sum(after.queues) == sum(before.queues) + 1  # the agents' notification job
    assert after.sent == before.sent
    [line] = too_large_lines(logs)
    assert "route=/webhooks/sendgrid/inbound" in line
    assert f"bytes={size}" in line
    assert "message_id=<big@customer.test>" in line or "message_id=<b***@customer.test>" in line
    assert "trace=Root=1-67891233" in line
    assert_not_logged(logs.records, JANA, "The parcel arrived broken")


def test_credentials_are_checked_before_the_size(
    client: Client, snapshot: Callable[..., Snapshot]
) -> None:
    """An anonymous 10 MB post learns nothing but 401, and is not logged as a lost mail."""
    body, content_type = parse_post(API_GATEWAY_LIMIT)
    before = snapshot()
    response = post_parse_body(client, body, content_type, authorization=basic_auth("guess"))
    assert response.status_code == 401
    assert_clean_rejection(response, before, snapshot())


def test_an_inbound_parse_post_at_the_limit_is_stored_without_the_attachment(
    client: Client, snapshot: Callable[..., Snapshot]
) -> None:
    body, content_type = parse_post(MAX_INBOUND_PARSE_BODY)
    response = post_parse_body(client, body, content_type)
    assert response.status_code == 200, response.body
    assert json.loads(response.body) == {"status": "stored"}
    [message] = [
        i for i in snapshot().items if str(i["sk"]).startswith("MSG#") and i["direction"] == "in"
    ]
    [attachment] = json.loads(message["attachments"])
    assert attachment["filename"] == "photo.jpg"
    assert int(attachment["size"]) > 4_000_000


def test_an_oversized_meta_post_is_refused_unparsed(
    client: Client, snapshot: Callable[..., Snapshot], logs: pytest.LogCaptureFixture
) -> None:
    from chalicelib.web import MAX_META_BODY
    from relaydesk.local_env import LOCAL_META_APP_SECRET
    from relaydesk.sandbox.meta import signature

    assert MAX_META_BODY < LAMBDA_EVENT_LIMIT  # JSON is not base64-encoded into the event
    body = b'{"object": "page", "entry": [], "pad": "' + b"x" * MAX_META_BODY + b'"}'
    before = snapshot()
    logs.clear()
    response = client.http.post(
        "/webhooks/meta",
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature(LOCAL_META_APP_SECRET, body),
        },
        body=body,
    )
    assert response.status_code == 413
    assert_clean_rejection(response, before, snapshot())
    [line] = too_large_lines(logs)
    assert "route=/webhooks/meta" in line
    assert f"limit={MAX_META_BODY}" in line
