"""Twilio's Messages API, as the `twilio` SDK sees it, and the status callbacks that follow.

    POST /twilio/2010-04-01/Accounts/{AccountSid}/Messages.json   (form-encoded, Basic auth)

Given the auth token (`Sandbox(status_token=...)`, set by the local stack), a message sent
with a `StatusCallback` URL is followed by Twilio-signed callbacks, `sent` then `delivered`,
or `undelivered` (error 30003) for +15005550030; twilio's own `RequestValidator` signs them.

`deliver_inbound` is the other direction: what Twilio does with a customer's message, a
signed POST to the number's SMS URL, retried only as its connection overrides allow, then
one POST to its Fallback URL when that failed (the tests' and the CLI's Twilio).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import parse_qs, urlencode, urlsplit

from relaydesk.sandbox.base import (
    WHATSAPP_PREFIX,
    Fault,
    Outbox,
    Request,
    Response,
    iso,
    log,
    now,
    phrase,
)

TWILIO_API_VERSION: Final = "2010-04-01"

# Twilio's magic test numbers: with test credentials Twilio answers these with an error.
TWILIO_MAGIC_TO: Final[dict[str, tuple[int, str]]] = {
    "+15005550001": (21211, "The 'To' number {to} is not a valid phone number."),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number {to} is not a valid mobile number"),
}

# Twilio calls back after the send has returned; so does the sandbox.
CALLBACK_DELAY_SECONDS: Final = 0.5
# Accepted, then reported undelivered by a status callback: the phone is out of reach.
TWILIO_UNDELIVERED_TO: Final = "+15005550030"

_MESSAGES_PATH: Final = re.compile(
    rf"^/twilio/{TWILIO_API_VERSION}/Accounts/(?P<account>[^/]+)/Messages\.json$"
)


def twilio_error(status: int, code: int, message: str) -> dict[str, Any]:
    """Twilio's error body, which the SDK turns into `TwilioRestException`."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _has_basic_auth(request: Request) -> bool:
    """Any well-formed user:password will do: the sandbox checks the shape, not the secret."""
    scheme, _, credentials = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "basic" or not credentials.strip():
        return False
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    user, sep, _ = decoded.partition(":")
    return bool(user and sep)


def _problem(
    sender: str, to: str, text: str, media: list[str], content_sid: str
) -> tuple[int, str] | None:
    """The first thing Twilio would refuse in the message, as (error code, message)."""
    if not to:
        return (21604, "A 'To' phone number is required.")
    if not sender:
        return (21603, "A 'From' phone number is required.")
    if not text and not media and not content_sid:
        return (21602, "Message body is required.")
    magic = TWILIO_MAGIC_TO.get(to.removeprefix(WHATSAPP_PREFIX))
    if magic is not None:
        return (magic[0], magic[1].format(to=to))
    return None


class Twilio:
    """The Provider for Twilio's Messages API."""

    name: Final = "twilio"
    title: Final = "the Twilio Messages API"

    def handles(self, request: Request) -> bool:
        return request.method == "POST" and _MESSAGES_PATH.match(request.path) is not None

    def fault(self, fault: Fault) -> Response:
        """Twilio's error body; without a `code`, Twilio's own for the status (20429, 20500).
        `retry_after`: the `Retry-After` header Twilio sends with a 429."""
        status = fault.status
        code = fault.code if fault.code is not None else 20000 + status
        headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
        return Response(
            status, twilio_error(status, code, fault.message or phrase(status)), headers=headers
        )

    def handle(self, request: Request, outbox: Outbox) -> Response:
        matched = _MESSAGES_PATH.match(request.path)
        assert matched is not None, "handle() is only called when handles() said so"
        account_sid = matched.group("account")
        if not _has_basic_auth(request):
            return Response(
                HTTPStatus.UNAUTHORIZED,
                twilio_error(401, 20003, "Authenticate"),
                headers={"WWW-Authenticate": 'Basic realm="Twilio API"'},
            )
        try:
            form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
        except (UnicodeDecodeError, ValueError):
            return Response(400, twilio_error(400, 21100, "Request body is not valid form data"))
        sender = (form.get("From") or [""])[0]
        to = (form.get("To") or [""])[0]
        text = (form.get("Body") or [""])[0]
        media = [url for url in form.get("MediaUrl", []) if url]
        content_sid = (form.get("ContentSid") or [""])[0]
        content_variables = (form.get("ContentVariables") or [""])[0]
        callback = (form.get("StatusCallback") or [""])[0]
        problem = _problem(sender, to, text, media, content_sid)
        if problem is not None:
            return Response(HTTPStatus.BAD_REQUEST, twilio_error(400, *problem))

        sid = "SM" + uuid.uuid4().hex
        moment = now()
        outbox.record(
            [
                {
                    "provider": "twilio",
                    "channel": "whatsapp" if to.startswith(WHATSAPP_PREFIX) else "sms",
                    "from": sender,
                    "to": to,
                    "body": text,
                    "media_urls": media,
                    "content_sid": content_sid or None,
                    "content_variables": json.loads(content_variables)
                    if content_variables
                    else None,
                    "status_callback": callback or None,
                    "subject": None,
                    "text": None,
                    "html": None,
                    "reply_to": None,
                    "headers": {},
                    "time": iso(moment),
                    "id": sid,
                }
            ]
        )
        token = outbox.status_token
        if callback and token:
            threading.Thread(
                target=_status_callbacks,
                args=(callback, token, account_sid, sid, sender, to),
                daemon=True,
            ).start()
        uri = f"/{TWILIO_API_VERSION}/Accounts/{account_sid}/Messages/{sid}"
        return Response(
            HTTPStatus.CREATED,
            {
                "sid": sid,
                "account_sid": account_sid,
                "messaging_service_sid": None,
                "from": sender,
                "to": to,
                "body": text,
                "status": "queued",
                "direction": "outbound-api",
                "num_segments": "1",
                "num_media": str(len(media)),
                "date_created": format_datetime(moment),
                "date_updated": format_datetime(moment),
                "date_sent": None,
                "uri": f"{uri}.json",
                "error_code": None,
                "error_message": None,
                "price": None,
                "price_unit": "USD",
                "api_version": TWILIO_API_VERSION,
                "subresource_uris": {"media": f"{uri}/Media.json"},
            },
        )


def _status_callbacks(
    url: str, token: str, account_sid: str, sid: str, sender: str, to: str
) -> None:
    """What Twilio does after accepting a message: signed POSTs as its status changes."""
    from urllib.request import Request as UrlRequest
    from urllib.request import urlopen

    from twilio.request_validator import RequestValidator

    final = (
        {"MessageStatus": "undelivered", "ErrorCode": "30003"}
        if to.removeprefix(WHATSAPP_PREFIX) == TWILIO_UNDELIVERED_TO
        else {"MessageStatus": "delivered"}
    )
    for status in ({"MessageStatus": "sent"}, final):
        time.sleep(CALLBACK_DELAY_SECONDS)
        params = {
            "AccountSid": account_sid,
            "MessageSid": sid,
            "SmsSid": sid,
            "From": sender,
            "To": to,
            "ApiVersion": TWILIO_API_VERSION,
            **status,
        }
        request = UrlRequest(  # noqa: S310 (the app's own URL, given by the app)
            url,
            data=urlencode(params).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": RequestValidator(token).compute_signature(url, params),
            },
        )
        try:
            with urlopen(request, timeout=10) as response:  # noqa: S310
                log.debug("status callback %s: HTTP %s", status, response.status)
        except OSError as exc:
            log.warning("status callback to %s failed: %s", url, exc)
            return


# -- inbound: Twilio calling the store's webhooks ------------------------------------------

TWILIO_DEFAULT_OVERRIDES: Final = (1, frozenset({"ct"}))
"""A URL without overrides: one retry (rc's documented default), and only when the
connection could not be made. A messaging webhook that answers 5xx or times out is not
retried: Twilio logs error 11200 and calls the Fallback URL, if the number has one."""
MAX_RETRIES: Final = 5
FALLBACK_ERROR_CODE: Final = "11200"
"""Twilio's "HTTP retrieval failure", sent to the Fallback URL as ErrorCode."""

Post = Callable[[str, Mapping[str, str], Mapping[str, str]], tuple[int, str]]
"""(URL as requested, form, headers) -> (status, body). Raises TimeoutError when no answer
came in time (Twilio's `rt`) and ConnectionError when none could be opened (`ct`)."""


def retry_plan(url: str) -> tuple[int, frozenset[str]]:
    """(retries, the failures retried) that the URL's fragment asks of Twilio."""
    fragment = urlsplit(url).fragment
    if not fragment:
        return TWILIO_DEFAULT_OVERRIDES
    values = parse_qs(fragment)
    retries = int(values["rc"][0]) if "rc" in values else TWILIO_DEFAULT_OVERRIDES[0]
    policy = (
        frozenset(values["rp"][0].split(",")) if "rp" in values else TWILIO_DEFAULT_OVERRIDES[1]
    )
    return max(0, min(retries, MAX_RETRIES)), policy


def _failure(status: int) -> str | None:
    if 200 <= status < 300:
        return None
    return "4xx" if status < 500 else "5xx"


@dataclass
class InboundDelivery:
    """What became of one customer message at Twilio."""

    attempts: list[tuple[str, int | str]] = field(default_factory=list)
    """(URL requested, its status or `ct`/`rt`), in order."""
    answered_by: str | None = None
    """"primary", "fallback", or None: every attempt failed, the message is lost."""
    answer: str = ""
    """The TwiML Twilio acted on."""


def deliver_inbound(
    params: Mapping[str, str],
    *,
    primary_url: str,
    fallback_url: str | None,
    auth_token: str,
    post: Post,
) -> InboundDelivery:
    """Twilio's side of an incoming message: `params` signed over each URL it calls (the URL
    as requested: the fragment is Twilio's own and never sent), the SMS URL retried as its
    overrides allow, then the Fallback URL once, with ErrorCode and ErrorUrl added."""
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(auth_token)
    delivery = InboundDelivery()

    def attempt(url: str, form: Mapping[str, str]) -> tuple[str | None, str]:
        requested = url.split("#", 1)[0]
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": validator.compute_signature(requested, dict(form)),
        }
        try:
            status, body = post(requested, form, headers)
        except TimeoutError:
            delivery.attempts.append((requested, "rt"))
            return "rt", ""
        except ConnectionError:
            delivery.attempts.append((requested, "ct"))
            return "ct", ""
        delivery.attempts.append((requested, status))
        return _failure(status), body

    retries, policy = retry_plan(primary_url)
    for number in range(retries + 1):
        failed, body = attempt(primary_url, params)
        if failed is None:
            delivery.answered_by, delivery.answer = "primary", body
            return delivery
        if number == retries or not (failed in policy or "all" in policy):
            break
    if fallback_url:
        form = {
            **params,
            "ErrorCode": FALLBACK_ERROR_CODE,
            "ErrorUrl": primary_url.split("#", 1)[0],
        }
        failed, body = attempt(fallback_url, form)
        if failed is None:
            delivery.answered_by, delivery.answer = "fallback", body
    return delivery
