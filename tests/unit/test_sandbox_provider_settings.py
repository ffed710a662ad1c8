"""The sandbox's Twilio numbers and SendGrid parse settings through its router (no socket):
refusals in the vendors' shapes, and every change recorded once. The SDKs' side is in
tests/integration/test_providers_sync.py."""

from __future__ import annotations

import base64
import json
from email.message import Message
from urllib.parse import urlencode

from relaydesk.sandbox import Request, Sandbox, route
from relaydesk.sandbox.provider_settings import DEMO_NUMBERS, NEW_NUMBER_SMS_URL, number_sid

ACCOUNT = "/twilio/2010-04-01/Accounts/AC1"
PARSE = "/sendgrid/v3/user/webhooks/parse/settings"
BASIC = "Basic " + base64.b64encode(b"AC1:token").decode()


def request(method: str, path: str, body: bytes = b"", query: str = "", **headers: str) -> Request:
    message = Message()
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    return Request(method, path, query, message, body)


def test_numbers_are_listed_by_number_and_updated_with_each_change_recorded() -> None:
    sandbox = Sandbox()
    listed = route(
        request(
            "GET",
            f"{ACCOUNT}/IncomingPhoneNumbers.json",
            query="PhoneNumber=%2B15005550006",
            Authorization=BASIC,
        ),
        sandbox,
    )
    assert listed.status == 200
    [number] = listed.payload["incoming_phone_numbers"]  # type: ignore[index]
    assert number["sms_url"] == NEW_NUMBER_SMS_URL
    assert number["sid"] == number_sid(DEMO_NUMBERS[0])

    path = f"{ACCOUNT}/IncomingPhoneNumbers/{number['sid']}.json"
    form = urlencode({"SmsUrl": "https://h.test/in#rc=1", "SmsMethod": "post"}).encode()
    updated = route(request("POST", path, form, Authorization=BASIC), sandbox)
    again = route(request("POST", path, form, Authorization=BASIC), sandbox)

    assert updated.status == again.status == 200
    assert updated.payload["sms_url"] == "https://h.test/in#rc=1"  # type: ignore[index]
    [change] = sandbox.accounts.changes()
    assert change["target"] == DEMO_NUMBERS[0]
    assert change["after"] == {"sms_url": "https://h.test/in#rc=1"}  # POST was already POST


def test_twilio_refuses_what_it_would_refuse() -> None:
    sandbox = Sandbox()
    path = f"{ACCOUNT}/IncomingPhoneNumbers/{number_sid(DEMO_NUMBERS[0])}.json"
    unsigned = route(request("POST", path, b"SmsUrl=https://h.test"), sandbox)
    bad_url = route(request("POST", path, b"SmsUrl=ftp%3A%2F%2Fh", Authorization=BASIC), sandbox)
    unknown = route(
        request(
            "POST",
            f"{ACCOUNT}/IncomingPhoneNumbers/PN{'0' * 32}.json",
            b"SmsUrl=",
            Authorization=BASIC,
        ),
        sandbox,
    )
    assert (unsigned.status, bad_url.status, unknown.status) == (401, 400, 404)
    assert bad_url.payload["code"] == 21502  # type: ignore[index]
    assert sandbox.accounts.changes() == []


def test_parse_settings_are_created_once_updated_and_deleted() -> None:
    sandbox = Sandbox()
    auth = {"Authorization": "Bearer SG.x"}
    setting = {"hostname": "Reply.Shop.Test", "url": "https://p:w@h.test/in"}

    created = route(request("POST", PARSE, json.dumps(setting).encode(), **auth), sandbox)
    twice = route(request("POST", PARSE, json.dumps(setting).encode(), **auth), sandbox)
    patched = route(
        request("PATCH", f"{PARSE}/reply.shop.test", b'{"url": "https://p:w@h.test/v2"}', **auth),
        sandbox,
    )
    missing = route(
        request("PATCH", f"{PARSE}/nope.test", b'{"url": "https://x.test"}', **auth), sandbox
    )
    no_url = route(request("POST", PARSE, b'{"hostname": "a.test"}', **auth), sandbox)
    unauthorised = route(request("GET", PARSE), sandbox)

    assert created.status == 201
    assert created.payload == {
        "hostname": "reply.shop.test",
        "url": "https://p:w@h.test/in",
        "spam_check": False,
        "send_raw": False,
    }
    assert (twice.status, patched.status, missing.status, no_url.status) == (400, 200, 404, 400)
    assert unauthorised.status == 401
    listed = route(request("GET", PARSE, b"", **auth), sandbox)
    assert isinstance(created.payload, dict)
    assert listed.payload == {"result": [{**created.payload, "url": "https://p:w@h.test/v2"}]}
    assert [c["after"].get("url") for c in sandbox.accounts.changes()] == [
        "https://p:w@h.test/in",
        "https://p:w@h.test/v2",
    ]
    assert route(request("DELETE", f"{PARSE}/reply.shop.test", b"", **auth), sandbox).status == 204
    assert sandbox.accounts.parse_settings() == []
