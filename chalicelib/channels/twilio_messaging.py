"""Twilio Programmable Messaging (SMS and WhatsApp): verify, parse, answer, send.

Only `twilio.request_validator` and TwiML are imported at module load: they are light.
The REST client (`twilio.rest`) is imported when the first message is actually sent,
so that the webhook's cold start never pays for it.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import parse_qs, urlsplit

from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from chalicelib.channels.port import WebhookRequest
from chalicelib.domain.errors import DeliveryError, MalformedRequest, VerificationFailed
from chalicelib.domain.messages import (
    DELIVERY_FAILURES,
    DELIVERY_PROGRESS,
    WHATSAPP_PREFIX,
    Channel,
    InboundMessage,
)
from chalicelib.domain.provider_errors import TWILIO_CODES, classify_twilio, seconds_until

if TYPE_CHECKING:
    from twilio.http.http_client import TwilioHttpClient

log = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 10
MAX_MEDIA = 10


def parse_form(body: bytes) -> dict[str, list[str]]:
    """Decode an x-www-form-urlencoded body, keeping blank values (they are signed too)."""
    try:
        text = body.decode("utf-8")
        return parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedRequest(f"body is not valid form data: {exc}") from exc


class _FormValues(dict[str, list[str]]):
    """A dict whose `getlist` the validator uses, as with Django's QueryDict: every
    value of a repeated key is signed."""

    def getlist(self, name: str) -> list[str]:
        return self[name]


def signature_is_valid(
    auth_token: str, url: str, params: Mapping[str, list[str]], signature: str | None
) -> bool:
    """Twilio's own validator over every received parameter, repeated keys included."""
    if not signature:
        return False
    return bool(RequestValidator(auth_token).validate(url, _FormValues(params), signature))


# Twilio's connection overrides for the messaging webhook, carried in its URL's fragment
# (https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides): Twilio reads
# them and never sends the fragment. By default Twilio retries a messaging webhook only when
# it cannot connect, and a 5xx goes straight to the Fallback URL; with these it also retries
# once on a read timeout or a 5xx (a throttled moment) before it falls back, all within 14 s.
CONNECTION_OVERRIDES: dict[str, int | str] = {
    "ct": 3000,  # connect timeout, ms (Twilio: 100-10000, default 5000)
    "rt": 10000,  # read timeout, ms (100-15000, default 15000)
    "tt": 14000,  # every attempt together, ms (100-15000, default 15000)
    "rc": 1,  # retries (0-5, default 1)
    "rp": "ct,rt,5xx",  # which failures are retried: connect/read timeout, a 5xx answer
}
_OVERRIDE_LIMITS = {"ct": (100, 10000), "rt": (100, 15000), "tt": (100, 15000), "rc": (0, 5)}
_RETRY_POLICIES = frozenset({"4xx", "5xx", "ct", "rt", "all"})


def override_fragment(overrides: Mapping[str, int | str] = CONNECTION_OVERRIDES) -> str:
    """The fragment (without `#`) for `overrides`; ValueError outside Twilio's limits."""
    for name, value in overrides.items():
        if name == "rp":
            policies = set(str(value).split(","))
            if not policies or not policies <= _RETRY_POLICIES:
                raise ValueError(f"rp={value}: each must be one of {sorted(_RETRY_POLICIES)}")
            continue
        if name not in _OVERRIDE_LIMITS or not isinstance(value, int):
            raise ValueError(f"{name}={value!r} is not a numeric Twilio connection override")
        low, high = _OVERRIDE_LIMITS[name]
        if not low <= value <= high:
            raise ValueError(f"{name}={value} is outside Twilio's limits ({low}-{high})")
    return "&".join(f"{name}={value}" for name, value in overrides.items())


def signed_urls(url: str, fragment: str) -> tuple[str, ...]:
    """The URLs a signature for a webhook configured as `url#fragment` may be over. The
    fragment is never sent to us; whether Twilio's signature covers it is not documented, so
    both are accepted: each needs the auth token, so neither is weaker than the other."""
    return (url, f"{url}#{fragment}") if fragment else (url,)


def _single(params: Mapping[str, list[str]], name: str) -> str:
    values = params.get(name) or [""]
    return values[0]


def to_inbound(params: Mapping[str, list[str]], received_at: datetime) -> InboundMessage:
    """Map a Twilio messaging webhook onto our one inbound shape."""
    missing = [name for name in ("MessageSid", "From", "To") if not _single(params, name)]
    if missing:
        raise MalformedRequest(f"missing required field(s): {', '.join(missing)}")
    sender, recipient = _single(params, "From"), _single(params, "To")
    if sender.startswith(WHATSAPP_PREFIX) != recipient.startswith(WHATSAPP_PREFIX):
        raise MalformedRequest("From and To must both be WhatsApp addresses or both phone numbers")
    try:
        num_media = int(_single(params, "NumMedia") or "0")
    except ValueError as exc:
        raise MalformedRequest("NumMedia must be a whole number") from exc
    # Twilio sends at most 10 media; a larger NumMedia must not cost a loop per unit.
    media = tuple(
        url for i in range(min(num_media, MAX_MEDIA)) if (url := _single(params, f"MediaUrl{i}"))
    )
    return InboundMessage(
        channel=Channel.WHATSAPP if sender.startswith(WHATSAPP_PREFIX) else Channel.SMS,
        provider_id=_single(params, "MessageSid"),
        sender=sender,
        recipient=recipient,
        body=_single(params, "Body"),
        received_at=received_at,
        media_urls=media,
        profile_name=_single(params, "ProfileName") or None,
        wa_id=_single(params, "WaId") or None,
    )


@dataclass(frozen=True)
class StatusUpdate:
    """Twilio's status callback for a message we sent."""

    message_sid: str
    status: str
    store_address: str
    """`From` of the message we sent: the store's number, which names the store."""
    error_code: int | None


# Before Twilio sends: nothing we did not know.
ACCEPTED_STATUSES = ("accepted", "queued")


def to_status_update(params: Mapping[str, list[str]]) -> StatusUpdate:
    missing = [n for n in ("MessageSid", "MessageStatus", "From") if not _single(params, n)]
    if missing:
        raise MalformedRequest(f"missing required field(s): {', '.join(missing)}")
    status = _single(params, "MessageStatus").lower()
    if status not in (*ACCEPTED_STATUSES, *DELIVERY_PROGRESS, *DELIVERY_FAILURES):
        raise MalformedRequest(f"MessageStatus {status!r} is not a Twilio message status")
    code = _single(params, "ErrorCode")
    if code and not (code.isascii() and code.isdigit() and len(code) <= 9):
        raise MalformedRequest("ErrorCode must be a whole number of at most 9 digits")
    return StatusUpdate(
        message_sid=_single(params, "MessageSid"),
        status=status,
        store_address=_single(params, "From"),
        error_code=int(code) if code else None,
    )


SIGNATURE_HEADER = "x-twilio-signature"
_SID = re.compile(r"[A-Za-z0-9]{1,64}")
Read = TypeVar("Read")


class TwilioWebhook(Generic[Read]):
    """A Twilio webhook as an `InboundAdapter`: every parameter signed over the public URL
    (`X-Twilio-Signature`), then read by `read` (`to_inbound`, `to_status_update`).

    The token and the URL are looked up when a request comes, the clock after it verified."""

    def __init__(
        self,
        *,
        auth_token: Callable[[], str],
        public_base_url: Callable[[str | None], str],
        clock: Callable[[], datetime],
        read: Callable[[Mapping[str, list[str]], datetime], Read],
        logged_ids: tuple[str, ...] = (),
        fragment: str = "",
    ) -> None:
        """`fragment`: the connection overrides the route's URL is configured with.
        `public_base_url`: the base URL the signature is over, given the one the request
        was received on (`Settings.public_base_url_for`: a configured one wins)."""
        self._auth_token = auth_token
        self._fragment = fragment
        self._public_base_url = public_base_url
        self._clock = clock
        self._read = read
        self._logged_ids = logged_ids

    def authenticate(self, request: WebhookRequest) -> None:
        """Nothing beside the body: Twilio signs the body and the URL."""

    def receive(self, request: WebhookRequest, facts: dict[str, str]) -> Read:
        params = parse_form(request.body)
        for name in self._logged_ids:
            if value := (params.get(name) or [""])[0]:
                # Unverified: logged only in Twilio's own alphabet, never as sent.
                facts[name] = value if _SID.fullmatch(value) else "(malformed)"
        url = self._public_base_url(request.base_url) + request.path
        signature = request.headers.get(SIGNATURE_HEADER)
        token = self._auth_token()
        if not any(
            signature_is_valid(token, signed, params, signature)
            for signed in signed_urls(url, self._fragment)
        ):
            raise VerificationFailed("X-Twilio-Signature is missing or does not match")
        return self._read(params, self._clock())


def twiml(reply: str | None) -> str:
    """The webhook's answer: the acknowledgement itself, or an empty response."""
    response = MessagingResponse()
    if reply:
        response.message(reply)
    return str(response.to_xml(xml_declaration=True))


def sandbox_http_client(base_url: str) -> TwilioHttpClient:
    """An SDK HTTP client that sends every Twilio API call to a local sandbox instead.

    This is the SDK's documented seam (`Client(http_client=...)`); the SDK builds the
    requests exactly as in production, only the scheme and host are swapped.
    """
    from twilio.http.http_client import TwilioHttpClient

    class SandboxHttpClient(TwilioHttpClient):  # type: ignore[misc]
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            path = urlsplit(url).path
            return super().request(method, f"{base_url.rstrip('/')}/twilio{path}", *args, **kwargs)

    return SandboxHttpClient(timeout=SEND_TIMEOUT_SECONDS)


class _Answers:
    """The last answer's headers, per thread: the SDK's exception carries no headers, and
    Twilio says in `Retry-After` how long a 429 should wait."""

    def __init__(self) -> None:
        self._local = threading.local()

    def retry_after(self) -> str | None:
        headers = getattr(self._local, "headers", None) or {}
        return next((str(v) for k, v in headers.items() if k.lower() == "retry-after"), None)

    def keep(self, headers: Mapping[str, Any] | None) -> None:
        self._local.headers = dict(headers or {})


def _keeping_headers(inner: Any, answers: _Answers) -> Any:
    """An SDK HTTP client that asks `inner` and remembers each answer's headers; the
    SDK's documented seam (`Client(http_client=...)`), no SDK internals touched."""
    from twilio.http import HttpClient

    class HeaderKeepingClient(HttpClient):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(logger=inner.logger, is_async=False, timeout=inner.timeout)

        def request(self, *args: Any, **kwargs: Any) -> Any:
            answers.keep(None)
            response = inner.request(*args, **kwargs)
            answers.keep(getattr(response, "headers", None))
            return response

    return HeaderKeepingClient()


class TwilioMessenger:
    """Sends SMS/WhatsApp messages; vendor errors become `DeliveryError`, classified by
    Twilio's error code (chalicelib/domain/provider_errors.py)."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        http_client: TwilioHttpClient | None = None,
        status_callback: str | None = None,
    ) -> None:
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._http_client = http_client
        self._status_callback = status_callback
        self._answers = _Answers()
        self._client: Any = None

    def _rest(self) -> Any:
        if self._client is None:
            from twilio.http.http_client import TwilioHttpClient
            from twilio.rest import Client

            # The SDK waits for ever by default: a Twilio that never answers would hold
            # the job until Lambda's timeout instead of failing it for SQS to retry.
            http_client = self._http_client or TwilioHttpClient(timeout=SEND_TIMEOUT_SECONDS)
            self._client = Client(
                self._account_sid,
                self._auth_token,
                http_client=_keeping_headers(http_client, self._answers),
            )
        return self._client

    def send(
        self,
        *,
        sender: str,
        to: str,
        body: str = "",
        media_urls: Sequence[str] = (),
        content_sid: str | None = None,
        content_variables: Mapping[str, str] | None = None,
    ) -> str:
        """Send one message and return Twilio's message SID.

        `content_sid`: an approved WhatsApp template (Content API) instead of free text,
        the only kind of message WhatsApp allows outside the 24-hour window."""
        from twilio.base.exceptions import TwilioException, TwilioRestException

        params: dict[str, Any] = {"from_": sender, "to": to}
        if content_sid:
            params["content_sid"] = content_sid
            params["content_variables"] = json.dumps(dict(content_variables or {}))
        else:
            params["body"] = body
        if media_urls:
            params["media_url"] = list(media_urls)
        if self._status_callback:
            params["status_callback"] = self._status_callback
        try:
            message = self._rest().messages.create(**params)
        except TwilioRestException as exc:
            found = classify_twilio(exc.status, exc.code)
            said = found.meaning if exc.code in TWILIO_CODES else (exc.msg or found.meaning)
            raise DeliveryError(
                f"Twilio refused the message: HTTP {exc.status}, code {exc.code}: {said}",
                kind=found.kind,
                code=exc.code,
                provider="twilio",
                retry_after=seconds_until(self._answers.retry_after(), datetime.now(UTC)),
            ) from exc
        except (TwilioException, OSError) as exc:
            raise DeliveryError(
                f"Twilio could not be reached: {exc}",
                permanent=False,
                provider="twilio",
            ) from exc
        log.info("twilio message sent: %s", message.sid)
        return str(message.sid)
