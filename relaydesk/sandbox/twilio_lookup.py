"""Twilio Lookup v2, as the `twilio` SDK calls it (`client.lookups.v2.phone_numbers(n)`):

    GET /twilio/v2/PhoneNumbers/{PhoneNumber}[?Fields=line_type_intelligence]   (Basic auth)

Every number is a mobile but the ones in `LINE_TYPES` (a landline for the tests and for
`relaydesk simulate call --from +420222333444`); a number that is not E.164 is answered as
Twilio answers it (`valid: false`, no line type). Each lookup is recorded in the outbox
(provider `twilio-lookup`), so that a test counts the paid requests; a fault injected for
`twilio-lookup` answers as Twilio's errors do.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import parse_qs, unquote

from relaydesk.sandbox.base import Fault, Outbox, Request, Response, iso, now, phrase
from relaydesk.sandbox.twilio import _has_basic_auth, twilio_error

LANDLINE: Final = "+420222333444"
"""A Prague landline: Twilio Lookup says `landline`, so the caller is not texted back."""
LINE_TYPES: Final[dict[str, str]] = {LANDLINE: "landline", "+18005550100": "tollFree"}
_PATH: Final = re.compile(r"^/twilio/v2/PhoneNumbers/(?P<number>[^/]+)$")
_E164: Final = re.compile(r"^\+[1-9][0-9]{6,14}$")


class TwilioLookup:
    """The Provider for Twilio's Lookup v2 (Line Type Intelligence)."""

    name: Final = "twilio-lookup"
    title: Final = "Twilio's Lookup v2 API"

    def handles(self, request: Request) -> bool:
        return request.method == "GET" and _PATH.match(request.path) is not None

    def fault(self, fault: Fault) -> Response:
        code = fault.code if fault.code is not None else 20000 + fault.status
        return Response(
            fault.status, twilio_error(fault.status, code, fault.message or phrase(fault.status))
        )

    def handle(self, request: Request, outbox: Outbox) -> Response:
        if not _has_basic_auth(request):
            return Response(HTTPStatus.UNAUTHORIZED, twilio_error(401, 20003, "Authenticate"))
        matched = _PATH.match(request.path)
        assert matched is not None, "handle() is only called when handles() said so"
        number = unquote(matched.group("number"))
        fields = ",".join(parse_qs(request.query).get("Fields", [])).split(",")
        valid = bool(_E164.match(number))
        intelligence: dict[str, Any] | None = None
        if "line_type_intelligence" in fields:
            kind = LINE_TYPES.get(number, "mobile") if valid else None
            intelligence = {
                "mobile_country_code": "230" if kind == "mobile" else None,
                "mobile_network_code": "01" if kind == "mobile" else None,
                "carrier_name": "Sandbox Mobile" if kind == "mobile" else None,
                "type": kind,
                "error_code": None if valid else 60600,
            }
        outbox.record(
            [
                {
                    "provider": self.name,
                    "channel": "lookup",
                    "to": number,
                    "fields": [f for f in fields if f],
                    "type": intelligence["type"] if intelligence else None,
                    "time": iso(now()),
                }
            ]
        )
        return Response(
            HTTPStatus.OK,
            {
                "calling_country_code": None,
                "country_code": None,
                "phone_number": number,
                "national_format": None,
                "valid": valid,
                "validation_errors": [] if valid else ["NOT_A_NUMBER"],
                "caller_name": None,
                "sim_swap": None,
                "call_forwarding": None,
                "line_type_intelligence": intelligence,
                "identity_match": None,
                "url": f"https://lookups.twilio.com/v2/PhoneNumbers/{number}",
            },
        )
