"""SendGrid Mail Send v3 out: our `OutgoingEmail`, vendor errors as `DeliveryError`.

The `sendgrid` SDK is imported when the first mail is sent, never at module load.
"""

from __future__ import annotations

import logging
from typing import Any

from chalicelib.domain.errors import DeliveryError
from chalicelib.domain.mail import OutgoingEmail

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
            raise DeliveryError(
                f"SendGrid refused the mail: HTTP {status}",
                permanent=400 <= status < 500 and status != 429,
            ) from exc
        except OSError as exc:
            raise DeliveryError(f"SendGrid could not be reached: {exc}", permanent=False) from exc
        log.info("sendgrid mail accepted: HTTP %s", response.status_code)
