"""Twilio Lookup v2, Line Type Intelligence: is a caller's number a mobile or a landline?

`GET https://lookups.twilio.com/v2/PhoneNumbers/{number}?Fields=line_type_intelligence`,
through the twilio SDK (`client.lookups.v2.phone_numbers(n).fetch(fields=...)`) and the
same `http_client` seam as the messenger (the sandbox locally). Paid per request, asked only
by the job that sends a voice caller's text back, for stores that opt in; never on a webhook.
Vendor errors become `LookupFailed`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from chalicelib.channels.twilio_messaging import SEND_TIMEOUT_SECONDS
from chalicelib.domain.errors import LookupFailed

if TYPE_CHECKING:
    from twilio.http.http_client import TwilioHttpClient

log = logging.getLogger(__name__)

FIELDS = "line_type_intelligence"


class TwilioLineTypes:
    """The `LineTypes` port over Twilio Lookup v2."""

    def __init__(
        self, account_sid: str, auth_token: str, http_client: TwilioHttpClient | None = None
    ) -> None:
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._http_client = http_client
        self._client: Any = None

    def _rest(self) -> Any:
        if self._client is None:
            from twilio.http.http_client import TwilioHttpClient
            from twilio.rest import Client

            self._client = Client(
                self._account_sid,
                self._auth_token,
                http_client=self._http_client or TwilioHttpClient(timeout=SEND_TIMEOUT_SECONDS),
            )
        return self._client

    def line_type(self, number: str) -> str:
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            found = self._rest().lookups.v2.phone_numbers(number).fetch(fields=FIELDS)
        except TwilioRestException as exc:
            raise LookupFailed(
                f"Twilio Lookup refused: HTTP {exc.status}, code {exc.code}"
            ) from exc
        except (TwilioException, OSError) as exc:
            raise LookupFailed(f"Twilio Lookup could not be reached: {exc}") from exc
        intelligence = found.line_type_intelligence
        if not isinstance(intelligence, dict):
            raise LookupFailed("Twilio Lookup answered without line_type_intelligence")
        if intelligence.get("error_code"):
            raise LookupFailed(f"Twilio Lookup: line type error {intelligence['error_code']}")
        kind = intelligence.get("type")
        if not isinstance(kind, str) or not kind:
            return "unknown"
        return kind
