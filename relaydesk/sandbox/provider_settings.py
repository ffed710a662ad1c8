"""The provider settings `relaydesk providers sync` reads and writes, as the SDKs see them.

Twilio's IncomingPhoneNumbers (a number's webhooks), through the `twilio` SDK:

    GET  /twilio/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json[?PhoneNumber=]
    POST /twilio/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{PN...}.json  (form)

SendGrid's Inbound Parse settings, through the `sendgrid` SDK:

    GET  | POST                 /sendgrid/v3/user/webhooks/parse/settings
    GET  | PATCH | DELETE       /sendgrid/v3/user/webhooks/parse/settings/{hostname}

The account starts as a new one does: the demo stores' numbers as Twilio leaves a number
it has just sold (its demo SMS reply URL, no fallback), and no Inbound Parse setting. Every
change is recorded in order; `GET /sandbox/settings` shows the numbers, the parse settings
and the changes, `DELETE /sandbox/settings` starts the account over.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import parse_qs, unquote

from relaydesk.sandbox.base import (
    BadRequest,
    Fault,
    Outbox,
    Request,
    Response,
    iso,
    json_object,
    now,
    phrase,
)
from relaydesk.sandbox.sendgrid import sendgrid_errors
from relaydesk.sandbox.twilio import TWILIO_API_VERSION, _has_basic_auth, twilio_error

DEMO_NUMBERS: Final = ("+15005550006", "+15005550007", "+15005550008")
"""The demo stores' numbers (chalicelib/stores.json): the sandbox's Twilio account owns them."""
NEW_NUMBER_SMS_URL: Final = "https://demo.twilio.com/welcome/sms/reply"
"""What Twilio sets on a number it has just sold."""

# The IncomingPhoneNumber fields a webhook setting lives in: form name -> JSON name.
NUMBER_FIELDS: Final = {
    "FriendlyName": "friendly_name",
    "SmsUrl": "sms_url",
    "SmsMethod": "sms_method",
    "SmsFallbackUrl": "sms_fallback_url",
    "SmsFallbackMethod": "sms_fallback_method",
    "SmsApplicationSid": "sms_application_sid",
    "StatusCallback": "status_callback",
    "StatusCallbackMethod": "status_callback_method",
    "VoiceUrl": "voice_url",
    "VoiceMethod": "voice_method",
    "VoiceFallbackUrl": "voice_fallback_url",
    "VoiceFallbackMethod": "voice_fallback_method",
    "VoiceApplicationSid": "voice_application_sid",
}
_URL_FIELDS: Final = ("SmsUrl", "SmsFallbackUrl", "StatusCallback", "VoiceUrl", "VoiceFallbackUrl")
_METHOD_FIELDS: Final = tuple(name for name in NUMBER_FIELDS if name.endswith("Method"))

_ACCOUNT: Final = rf"/twilio/{TWILIO_API_VERSION}/Accounts/(?P<account>[^/]+)"
_NUMBERS_PATH: Final = re.compile(rf"^{_ACCOUNT}/IncomingPhoneNumbers\.json$")
_NUMBER_PATH: Final = re.compile(
    rf"^{_ACCOUNT}/IncomingPhoneNumbers/(?P<sid>PN[0-9a-f]{{32}})\.json$"
)
_PARSE_PATH: Final = "/sendgrid/v3/user/webhooks/parse/settings"


def number_sid(number: str) -> str:
    """A stable PN sid for a number, as Twilio gives each number one of its own."""
    return "PN" + hashlib.md5(number.encode(), usedforsecurity=False).hexdigest()


def _new_number(number: str) -> dict[str, Any]:
    return {
        "phone_number": number,
        "friendly_name": number,
        "sms_url": NEW_NUMBER_SMS_URL,
        "sms_method": "POST",
        "sms_fallback_url": "",
        "sms_fallback_method": "POST",
        "sms_application_sid": "",
        "status_callback": "",
        "status_callback_method": "POST",
        "voice_url": "",
        "voice_method": "POST",
        "voice_fallback_url": "",
        "voice_fallback_method": "POST",
        "voice_application_sid": "",
    }


class ProviderAccounts:
    """The sandbox's Twilio numbers and SendGrid parse settings, and every change made to
    them; shared by all request threads, so every method takes the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._numbers: dict[str, dict[str, Any]] = {}
        self._parse: dict[str, dict[str, Any]] = {}
        self._changes: list[dict[str, Any]] = []
        self.reset()

    def reset(self, numbers: tuple[str, ...] = DEMO_NUMBERS) -> None:
        """The account as it starts: `numbers` as Twilio sells them, no parse setting."""
        with self._lock:
            self._numbers = {number_sid(n): _new_number(n) for n in numbers}
            self._parse = {}
            self._changes = []

    def numbers(self, phone_number: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"sid": sid, **copy.deepcopy(number)}
                for sid, number in self._numbers.items()
                if phone_number in (None, number["phone_number"])
            ]

    def update_number(self, sid: str, fields: dict[str, str]) -> dict[str, Any] | None:
        """Set the fields; the number as it is now, None if there is no such number."""
        with self._lock:
            number = self._numbers.get(sid)
            if number is None:
                return None
            changed = {k: v for k, v in fields.items() if number.get(k) != v}
            if changed:
                before = {k: number.get(k) for k in changed}
                number.update(changed)
                self._log("twilio", number["phone_number"], before, changed)
            return {"sid": sid, **copy.deepcopy(number)}

    def parse_settings(self) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(setting) for setting in self._parse.values()]

    def parse_setting(self, hostname: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._parse.get(hostname.lower())
            return copy.deepcopy(found) if found is not None else None

    def put_parse_setting(self, setting: dict[str, Any], *, create: bool) -> bool:
        """Create (False if the hostname has one) or update (False if it has none)."""
        hostname = str(setting["hostname"]).lower()
        with self._lock:
            old = self._parse.get(hostname)
            if (old is None) == (not create):
                return False
            merged = {**(old or {}), **setting, "hostname": hostname}
            changed = {k: v for k, v in merged.items() if (old or {}).get(k) != v}
            self._parse[hostname] = merged
            if changed:
                before = {k: (old or {}).get(k) for k in changed}
                self._log("sendgrid", hostname, before, changed)
            return True

    def delete_parse_setting(self, hostname: str) -> bool:
        with self._lock:
            old = self._parse.pop(hostname.lower(), None)
            if old is not None:
                self._log("sendgrid", hostname.lower(), old, {})
            return old is not None

    def changes(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._changes)

    def _log(
        self, provider: str, target: str, before: dict[str, Any], after: dict[str, Any]
    ) -> None:
        self._changes.append(
            {
                "provider": provider,
                "target": target,
                "before": before,
                "after": after,
                "time": iso(now()),
            }
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "numbers": self.numbers(),
            "parse_settings": self.parse_settings(),
            "changes": self.changes(),
        }


def _number_payload(account_sid: str, number: dict[str, Any]) -> dict[str, Any]:
    moment = format_datetime(now())
    uri = f"/{TWILIO_API_VERSION}/Accounts/{account_sid}/IncomingPhoneNumbers/{number['sid']}.json"
    return {
        **number,
        "account_sid": account_sid,
        "api_version": TWILIO_API_VERSION,
        "capabilities": {"sms": True, "mms": True, "voice": True, "fax": False},
        "date_created": moment,
        "date_updated": moment,
        "status": "in-use",
        "uri": uri,
    }


class TwilioNumbers:
    """The Provider for Twilio's IncomingPhoneNumbers: list (by number) and update."""

    name: Final = "twilio-numbers"
    title: Final = "Twilio's IncomingPhoneNumbers API"

    def handles(self, request: Request) -> bool:
        return (request.method == "GET" and _NUMBERS_PATH.match(request.path) is not None) or (
            request.method == "POST" and _NUMBER_PATH.match(request.path) is not None
        )

    def fault(self, fault: Fault) -> Response:
        code = fault.code if fault.code is not None else 20000 + fault.status
        return Response(
            fault.status, twilio_error(fault.status, code, fault.message or phrase(fault.status))
        )

    def handle(self, request: Request, outbox: Outbox) -> Response:
        if not _has_basic_auth(request):
            return Response(HTTPStatus.UNAUTHORIZED, twilio_error(401, 20003, "Authenticate"))
        listed = _NUMBERS_PATH.match(request.path)
        if listed is not None:
            account = listed.group("account")
            query = parse_qs(request.query)
            wanted = query["PhoneNumber"][0] if query.get("PhoneNumber") else None
            found = outbox.accounts.numbers(wanted)
            base = f"/{TWILIO_API_VERSION}/Accounts/{account}/IncomingPhoneNumbers.json"
            return Response(
                HTTPStatus.OK,
                {
                    "incoming_phone_numbers": [_number_payload(account, n) for n in found],
                    "start": 0,
                    "end": max(len(found) - 1, 0),
                    "page": 0,
                    "page_size": 50,
                    "uri": base,
                    "first_page_uri": base,
                    "next_page_uri": None,
                    "previous_page_uri": None,
                },
            )
        matched = _NUMBER_PATH.match(request.path)
        assert matched is not None, "handle() is only called when handles() said so"
        try:
            form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
        except (UnicodeDecodeError, ValueError):
            return Response(400, twilio_error(400, 21100, "Request body is not valid form data"))
        fields: dict[str, str] = {}
        for name, values in form.items():
            if name not in NUMBER_FIELDS:
                continue  # Twilio ignores what it does not know; so does the sandbox
            value = values[0]
            if name in _URL_FIELDS and value and not re.match(r"^https?://[^\s]+$", value):
                return Response(
                    400, twilio_error(400, 21502, f"{name} is not a valid URL: {value}")
                )
            if name in _METHOD_FIELDS and value.upper() not in ("GET", "POST"):
                return Response(400, twilio_error(400, 21503, f"{name} must be GET or POST"))
            fields[NUMBER_FIELDS[name]] = value.upper() if name in _METHOD_FIELDS else value
        updated = outbox.accounts.update_number(matched.group("sid"), fields)
        if updated is None:
            return Response(
                HTTPStatus.NOT_FOUND,
                twilio_error(404, 20404, f"The requested resource {request.path} was not found"),
            )
        return Response(HTTPStatus.OK, _number_payload(matched.group("account"), updated))


class SendGridParse:
    """The Provider for SendGrid's Inbound Parse settings."""

    name: Final = "sendgrid-parse"
    title: Final = "SendGrid's Inbound Parse settings API"

    def handles(self, request: Request) -> bool:
        if request.path == _PARSE_PATH:
            return request.method in ("GET", "POST")
        return request.path.startswith(_PARSE_PATH + "/") and request.method in (
            "GET",
            "PATCH",
            "DELETE",
        )

    def fault(self, fault: Fault) -> Response:
        return Response(
            fault.status, sendgrid_errors((fault.message or phrase(fault.status), None))
        )

    def handle(self, request: Request, outbox: Outbox) -> Response:
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        if scheme != "Bearer" or not token.strip():
            return Response(
                HTTPStatus.UNAUTHORIZED,
                sendgrid_errors(("authorization required", None)),
            )
        accounts = outbox.accounts
        if request.path == _PARSE_PATH:
            if request.method == "GET":
                return Response(HTTPStatus.OK, {"result": accounts.parse_settings()})
            try:
                setting = _setting(json_object(request.body), require=("hostname", "url"))
            except BadRequest as exc:
                return Response(HTTPStatus.BAD_REQUEST, sendgrid_errors((str(exc), None)))
            if not accounts.put_parse_setting(setting, create=True):
                return Response(
                    HTTPStatus.BAD_REQUEST,
                    sendgrid_errors(("A setting for this hostname already exists", "hostname")),
                )
            created = accounts.parse_setting(str(setting["hostname"]))
            return Response(HTTPStatus.CREATED, created)
        hostname = unquote(request.path[len(_PARSE_PATH) + 1 :])
        missing = Response(HTTPStatus.NOT_FOUND, sendgrid_errors(("setting not found", "hostname")))
        if request.method == "GET":
            found = accounts.parse_setting(hostname)
            return missing if found is None else Response(HTTPStatus.OK, found)
        if request.method == "DELETE":
            return (
                Response(HTTPStatus.NO_CONTENT)
                if accounts.delete_parse_setting(hostname)
                else missing
            )
        try:
            setting = _setting(json_object(request.body), require=())
        except BadRequest as exc:
            return Response(HTTPStatus.BAD_REQUEST, sendgrid_errors((str(exc), None)))
        if not accounts.put_parse_setting({**setting, "hostname": hostname}, create=False):
            return missing
        return Response(HTTPStatus.OK, accounts.parse_setting(hostname))


def _setting(body: dict[str, Any], *, require: tuple[str, ...]) -> dict[str, Any]:
    """The fields SendGrid keeps for a hostname, checked as it checks them."""
    for name in require:
        if not isinstance(body.get(name), str) or not body[name].strip():
            raise BadRequest(f"{name} is required")
    setting: dict[str, Any] = {}
    for name in ("hostname", "url"):
        if name in body:
            if not isinstance(body[name], str) or not body[name].strip():
                raise BadRequest(f"{name} must be a non-empty string")
            setting[name] = body[name]
    if "url" in setting and not re.match(r"^https?://[^\s]+$", setting["url"]):
        raise BadRequest(f"url is not a valid URL: {json.dumps(setting['url'])}")
    for name in ("spam_check", "send_raw"):
        if name in body:
            if not isinstance(body[name], bool):
                raise BadRequest(f"{name} must be true or false")
            setting[name] = body[name]
        elif "hostname" in require:
            setting[name] = False
    return setting
