"""What the server and the provider modules share: one request, one response, one port.

A provider sees a parsed `Request` and returns a `Response`; it never touches the socket, so
the HTTP plumbing (body limits, HEAD, Content-Length) is written once, in `server.py`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final, Protocol

if TYPE_CHECKING:
    from relaydesk.sandbox.provider_settings import ProviderAccounts

# One logger for the whole sandbox, whichever module logs: one switch (and one name for
# tests to capture) covers every provider, as it did when the sandbox was one module.
log: Final = logging.getLogger("relaydesk.sandbox")

WHATSAPP_PREFIX: Final = "whatsapp:"

Entry = dict[str, Any]
"""One recorded outbound message, as `GET /outbox` lists it."""


class BadRequest(Exception):
    """A request the sandbox cannot even parse; answered with 400."""


@dataclass(frozen=True)
class Request:
    """One HTTP request, body already read whole."""

    method: str
    path: str
    query: str
    headers: Message
    body: bytes


@dataclass(frozen=True)
class Fault:
    """One injected failure: answer `status`, after `delay_seconds` (a slow vendor); in the
    vendor's shape, with its error `code` and `message` when given (Twilio's 21611, SendGrid's
    "Maximum credits exceeded"), and `retry_after` seconds as the vendor says it
    (Twilio's `Retry-After`, SendGrid's `X-RateLimit-Reset`)."""

    status: int
    delay_seconds: float = 0.0
    code: int | None = None
    message: str | None = None
    retry_after: int | None = None


@dataclass(frozen=True)
class Response:
    """What to answer: a JSON payload (None: no body) and any extra headers."""

    status: int
    payload: object = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    """A body that is not JSON (a recording's audio); its type is in `headers`."""


class Outbox(Protocol):
    """The part of the `Sandbox` a provider may use: record what it accepted."""

    @property
    def status_token(self) -> str | None:
        """Twilio's auth token, for signing status callbacks; None: make none."""
        ...

    def record(self, entries: list[Entry]) -> None: ...

    @property
    def accounts(self) -> ProviderAccounts:
        """The provider settings (Twilio numbers, SendGrid parse settings) and their changes."""
        ...


class Provider(Protocol):
    """One emulated vendor API. Adding a provider: one module and one entry in `registry`."""

    @property
    def name(self) -> str:
        """The `provider` of its outbox entries and faults."""
        ...

    @property
    def title(self) -> str:
        """What it stands in for, for `--help`."""
        ...

    def handles(self, request: Request) -> bool:
        """Whether the request is for this provider (method and path)."""
        ...

    def fault(self, fault: Fault) -> Response:
        """An injected failure, in the vendor's own error shape."""
        ...

    def handle(self, request: Request, outbox: Outbox) -> Response:
        """Answer as the vendor would, recording what it accepts."""
        ...


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def phrase(status: int) -> str:
    """The reason phrase of an HTTP status, for fault bodies; a made-up code gets a generic one."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Injected fault"


def json_object(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise BadRequest("body must be a JSON object")
    return parsed
