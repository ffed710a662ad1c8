"""Twilio's Messages API, as the `twilio` SDK sees it, and the status callbacks that follow.

    POST /twilio/2010-04-01/Accounts/{AccountSid}/Messages.json   (form-encoded, Basic auth)

Given the auth token (`Sandbox(status_token=...)`, set by the local stack), a message sent
with a `StatusCallback` URL is followed by Twilio-signed callbacks, `sent` then `delivered`,
or `undelivered` (error 30003) for +15005550030; twilio's own `RequestValidator` signs them.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
import uuid
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import parse_qs, urlencode

from relaydesk.sandbox.base import (
    WHATSAPP_PREFIX,
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

    def fault(self, status: int) -> Response:
        return Response(status, twilio_error(status, 20000 + status, phrase(status)))

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
