"""Helpers for the reliability suite: sign as Twilio and SendGrid do, post, and check
what a request left behind."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

import boto3
from chalice.test import Client
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import settings
from twilio.request_validator import RequestValidator
from urllib3 import encode_multipart_formdata

from relaydesk.local_env import LOCAL_PARSE_PASSWORD, LOCAL_TWILIO_AUTH_TOKEN
from tests.integration.conftest import PUBLIC_URL

F = TypeVar("F", bound=Callable[..., Any])


def budget(share: float) -> Callable[[F], F]:
    """This test's examples: `share` of the profile's max_examples (40 in `make test`,
    400 in `make soak`)."""
    decorator: Callable[[F], F] = settings(
        max_examples=max(1, round(settings().max_examples * share))
    )
    return decorator


TWILIO_PATH = "/webhooks/twilio/messaging"
PARSE_PATH = "/webhooks/sendgrid/inbound"
DEMO_NUMBER = "+15005550006"
ACME_NUMBER = "+15550001111"
DEMO_SUPPORT = "support@demo.relaydesk.test"
ACME_SUPPORT = "help@acme.test"
DEMO_AGENTS = ("alex@demo.relaydesk.test", "sam@demo.relaydesk.test")
ACME_AGENT = "pat@acme.test"
REPLY_DOMAIN = "reply.relaydesk.test"
FORM = "application/x-www-form-urlencoded"


# -- Twilio ----------------------------------------------------------------------------


class FormValues(dict[str, list[str]]):
    """Signs every value of a repeated key, as Twilio's validator reads them."""

    def getlist(self, name: str) -> list[str]:
        return self[name]


def twilio_signature(
    params: Mapping[str, list[str]],
    url: str = PUBLIC_URL + TWILIO_PATH,
    token: str = LOCAL_TWILIO_AUTH_TOKEN,
) -> str:
    return str(RequestValidator(token).compute_signature(url, FormValues(params)))


SIGN = "sign"


def post_twilio_form(
    http: Client,
    params: Mapping[str, list[str]],
    *,
    signature: str | None = SIGN,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """A form post, signed as Twilio signs it unless `signature` is given (None: none)."""
    body = urlencode([(k, v) for k, values in params.items() for v in values])
    sent = {"Content-Type": FORM, **(headers or {})}
    if signature == SIGN:
        sent["X-Twilio-Signature"] = twilio_signature(params)
    elif signature is not None:
        sent["X-Twilio-Signature"] = signature
    return http.http.post(TWILIO_PATH, headers=sent, body=body.encode())


# -- SendGrid Inbound Parse ------------------------------------------------------------


def basic_auth(password: str = LOCAL_PARSE_PASSWORD, user: str = "parse") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def multipart(fields: Mapping[str, Any], boundary: str | None = None) -> tuple[bytes, str]:
    body, content_type = encode_multipart_formdata(dict(fields), boundary=boundary)
    return body, content_type


def post_parse_body(
    http: Client,
    body: bytes,
    content_type: str,
    *,
    authorization: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """A post to Inbound Parse; HTTP Basic with the local password unless
    `authorization` is given ("" sends none)."""
    sent = {"Content-Type": content_type, **(headers or {})}
    auth = basic_auth() if authorization is None else authorization
    if auth:
        sent["Authorization"] = auth
    return http.http.post(PARSE_PATH, headers=sent, body=body)


def post_parse_fields(http: Client, fields: Mapping[str, Any], **kw: Any) -> Any:
    body, content_type = multipart(fields)
    return post_parse_body(http, body, content_type, **kw)


@dataclass(frozen=True)
class ParseSigner:
    """SendGrid's signed webhooks: ECDSA P-256 over timestamp + body."""

    private: ec.EllipticCurvePrivateKey
    public_key: str
    """Base64 DER, as SendGrid's security policy API returns it."""

    def headers(self, body: bytes, timestamp: int | str) -> dict[str, str]:
        stamp = str(timestamp)
        signature = self.private.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        }


# -- what a request left behind --------------------------------------------------------


def scan_table() -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb").Table("relaydesk")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"ConsistentRead": True}
    while True:
        page = table.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return sorted(items, key=lambda i: (str(i["pk"]), str(i["sk"])))


def wipe_table(items: list[dict[str, Any]]) -> None:
    """Delete these items: fuzz tests keep the table small, since every example scans it."""
    table = boto3.resource("dynamodb").Table("relaydesk")
    with table.batch_writer() as batch:
        for item in items:
            batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})


def depth_of(aws: Mapping[str, str], key: str) -> int:
    """Messages on the queue `aws[key]` names, visible, in flight or delayed."""
    attributes: Any = boto3.client("sqs").get_queue_attributes(
        QueueUrl=aws[key],
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def queue_depths(aws: Mapping[str, str]) -> tuple[int, ...]:
    return tuple(depth_of(aws, key) for key in ("JobsQueueUrl", "TimersQueueUrl"))


@dataclass
class Snapshot:
    """Everything a webhook can change: the table, both queues, the provider outbox."""

    items: list[dict[str, Any]]
    queues: tuple[int, ...]
    sent: int


def error_message(response: Any) -> str:
    """A rejection's message: ours is {"error": ...}, Chalice's own {"Message": ...}."""
    text = str(response.body.decode("utf-8", errors="replace"))
    try:
        payload = json.loads(text)
    except ValueError:
        return text
    if isinstance(payload, dict):
        return str(payload.get("error") or payload.get("Message") or "")
    return text


def assert_clean_rejection(response: Any, before: Snapshot, after: Snapshot) -> None:
    """A 4xx that says why, and nothing stored, queued or sent."""
    assert 400 <= response.status_code < 500, (response.status_code, response.body[:300])
    assert error_message(response).strip(), response.body[:300]
    assert after.items == before.items, "a rejected request changed the table"
    assert after.queues == before.queues, "a rejected request queued a job or timer"
    assert after.sent == before.sent, "a rejected request sent something"


def assert_no_crash(response: Any, records: list[logging.LogRecord]) -> None:
    """Never a 5xx (a 503 would make the provider retry garbage for days) nor an
    unhandled exception (Chalice logs one at ERROR before answering 500)."""
    assert response.status_code < 500, (response.status_code, response.body[:500])
    errors = [r for r in records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage()[:500] for r in errors]


def security_lines(records: list[logging.LogRecord]) -> list[str]:
    return [
        r.getMessage()
        for r in records
        if r.levelno == logging.WARNING and r.getMessage().startswith("security:")
    ]


def assert_not_logged(records: list[logging.LogRecord], *private: str) -> None:
    """Customer text and addresses stay out of INFO and WARNING lines. Only distinctive
    values (12 characters or more) are looked for, so that none matches by chance."""
    for record in records:
        if record.levelno < logging.INFO:
            continue
        line = record.getMessage()
        for value in private:
            if len(value) >= 12:
                assert value not in line, (record.name, line[:300])
