"""SendGrid Mail Send v3 out: our `OutgoingEmail`, vendor errors as `DeliveryError`,
classified by what SendGrid means (chalicelib/domain/provider_errors.py): a 401 for
spent credits is the account's problem, not the customer's.

The `sendgrid` SDK is imported when the first mail is sent, never at module load.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from chalicelib.domain.errors import DeliveryError
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.domain.provider_errors import classify_sendgrid, seconds_until, seconds_until_epoch

log = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 10


class SendGridMailer:
    """Sends e-mail through SendGrid's v3 API; vendor errors become `DeliveryError`."""

    def __init__(self, api_key: str, host: str | None = None) -> None:
        self._api_key = api_key
        self._host = host
        self._client: Any = None

    def _sdk(self) -> Any:
        if self._client is None:
            from sendgrid import SendGridAPIClient

            kwargs = {"host": self._host} if self._host else {}
            self._client = SendGridAPIClient(self._api_key, **kwargs)
            # python-http-client waits for ever by default: a SendGrid that never answers
            # would hold the job until Lambda's timeout (tests/reliability/README.md, B9).
            self._client.client.timeout = SEND_TIMEOUT_SECONDS
        return self._client

    def send(self, mail: OutgoingEmail) -> None:
        """One personalization per recipient: agents do not see each other's address."""
        from python_http_client.exceptions import HTTPError
        from sendgrid.helpers.mail import From, Header, Mail, Personalization, ReplyTo, To

        message = Mail()
        message.from_email = From(mail.from_email, mail.from_name)
        message.subject = mail.subject
        message.add_content(mail.text, "text/plain")
        if mail.html:
            message.add_content(mail.html, "text/html")
        for address in mail.to:
            personalization = Personalization()
            personalization.add_to(To(address))
            message.add_personalization(personalization)
        if mail.reply_to:
            message.reply_to = ReplyTo(mail.reply_to)
        for name, value in mail.headers.items():
            message.add_header(Header(name, value))
        try:
            response = self._sdk().send(message)
        except HTTPError as exc:
            status = int(getattr(exc, "status_code", 0) or 0)
            found = classify_sendgrid(status, error_messages(getattr(exc, "body", b"")))
            raise DeliveryError(
                f"SendGrid refused the mail: HTTP {status}: {found.meaning}",
                kind=found.kind,
                code=status,
                provider="sendgrid",
                retry_after=retry_after(getattr(exc, "headers", None), datetime.now(UTC)),
            ) from exc
        except OSError as exc:
            raise DeliveryError(
                f"SendGrid could not be reached: {exc}", permanent=False, provider="sendgrid"
            ) from exc
        log.info("sendgrid mail accepted: HTTP %s", response.status_code)


def error_messages(body: object) -> tuple[str, ...]:
    """The `message` of each entry in SendGrid's `{"errors": [...]}` body; () if unreadable."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else str(body or "")
        errors = json.loads(text).get("errors") or []
        return tuple(str(e.get("message", "")) for e in errors if isinstance(e, dict))
    except (UnicodeDecodeError, ValueError, AttributeError):
        return ()


class Headers(Protocol):
    """A dict, or the `http.client.HTTPMessage` that the SDK's HTTPError carries."""

    def items(self) -> Iterable[tuple[str, str]]: ...


def retry_after(headers: Headers | None, now: datetime) -> float | None:
    """`Retry-After` if SendGrid sent one, else its `X-RateLimit-Reset` (a Unix time)."""
    if headers is None:
        return None
    found = {k.lower(): v for k, v in headers.items()}
    wait = seconds_until(found.get("retry-after"), now)
    return wait if wait is not None else seconds_until_epoch(found.get("x-ratelimit-reset"), now)
