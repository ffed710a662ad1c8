"""`relaydesk providers sync` with fakes that record what they were asked (no socket): the
plan, the dry run's output, idempotence, a number not in the account, no password printed.
The same against the sandbox with the real SDKs: tests/integration/test_providers_sync.py."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from chalicelib.stores import StoreConfig, load_stores
from relaydesk.providers_sync import (
    NUMBER_SETTINGS,
    Endpoints,
    SendGridParse,
    TwilioNumbers,
    Wiring,
    run_sync,
)
from tests.conftest import ROOT

BASE = "https://abc123.execute-api.eu-central-1.amazonaws.com/api"
PASSWORD = "s3cret-parse-pw"
ENDPOINTS = Endpoints(
    base_url=BASE, reply_domain="reply.shop.test", parse_user="parse", parse_password=PASSWORD
)
MESSAGING = f"{BASE}/webhooks/twilio/messaging#ct=3000&rt=10000&tt=14000&rc=1&rp=ct,rt,5xx"
VOICE, VOICE_FALLBACK = f"{BASE}/webhooks/twilio/voice", f"{BASE}/webhooks/twilio/voice/fallback"
CALL_STATUS = f"{BASE}/webhooks/twilio/voice/status"
PARSE_URL = f"https://parse:{PASSWORD}@abc123.execute-api.eu-central-1.amazonaws.com/api/webhooks/sendgrid/inbound"


def stores() -> list[StoreConfig]:
    return load_stores(ROOT / "chalicelib" / "stores.json").all()


class FakeTwilio:
    """Twilio's IncomingPhoneNumbers as the SDK's client exposes them; records updates."""

    account_sid = "AC00000000000000000000000000000000"

    def __init__(self, numbers: list[str]) -> None:
        self.numbers = {
            f"PN{i:032d}": SimpleNamespace(
                sid=f"PN{i:032d}",
                phone_number=n,
                sms_url="https://demo.twilio.com/welcome/sms/reply",
                sms_method="POST",
                sms_fallback_url="",
                sms_fallback_method="POST",
                sms_application_sid="",
                voice_url="",
                voice_method="POST",
                voice_fallback_url="",
                voice_fallback_method="POST",
                status_callback="",
                status_callback_method="POST",
                voice_application_sid="",
            )
            for i, n in enumerate(numbers)
        }
        self.updates: list[tuple[str, dict[str, str]]] = []
        self.incoming_phone_numbers = self

    def list(self, phone_number: str, limit: int) -> list[Any]:
        return [n for n in self.numbers.values() if phone_number in n.phone_number]

    def __call__(self, sid: str) -> Any:
        def update(**fields: str) -> Any:
            self.updates.append((sid, fields))
            for name, value in fields.items():
                setattr(self.numbers[sid], name, value)
            return self.numbers[sid]

        return SimpleNamespace(update=update)


@dataclass
class Answer:
    status_code: int
    body: bytes


class FakeSendGrid:
    """The SDK's fluent client down to `user.webhooks.parse.settings`; records each call."""

    def __init__(self, settings: list[dict[str, Any]] | None = None) -> None:
        self.settings = {s["hostname"]: dict(s) for s in settings or []}
        self.calls: list[tuple[str, str | None, dict[str, Any] | None]] = []
        fake = self

        class Resource:
            def __init__(self, host: str | None = None) -> None:
                self.host = host

            def _(self, host: str) -> Resource:
                return Resource(host)

            def get(self) -> Answer:
                fake.calls.append(("get", self.host, None))
                return Answer(200, json.dumps({"result": list(fake.settings.values())}).encode())

            def post(self, request_body: dict[str, Any]) -> Answer:
                fake.calls.append(("post", None, request_body))
                fake.settings[request_body["hostname"]] = dict(request_body)
                return Answer(201, b"{}")

            def patch(self, request_body: dict[str, Any]) -> Answer:
                assert self.host is not None
                fake.calls.append(("patch", self.host, request_body))
                fake.settings[self.host].update(request_body)
                return Answer(200, b"{}")

        self.client = SimpleNamespace(
            user=SimpleNamespace(
                webhooks=SimpleNamespace(parse=SimpleNamespace(settings=Resource()))
            )
        )

    def changes(self) -> list[tuple[str, str | None, dict[str, Any] | None]]:
        return [call for call in self.calls if call[0] != "get"]


def demo_numbers() -> list[str]:
    return sorted(n for store in stores() for n in store.phone_numbers)


def run(wirings: list[Wiring], *, dry_run: bool) -> tuple[int, str]:
    out = io.StringIO()
    code = run_sync(wirings, stores(), ENDPOINTS, dry_run=dry_run, out=out)
    return code, out.getvalue()


def test_the_dry_run_prints_exactly_what_would_change_and_changes_nothing() -> None:
    twilio, sendgrid = (
        FakeTwilio(demo_numbers()),
        FakeSendGrid(
            [{"hostname": "demo.relaydesk.test", "url": "https://parse:old-pw@old.example/in"}]
        ),
    )

    code, out = run([TwilioNumbers(twilio), SendGridParse(sendgrid)], dry_run=True)

    assert code == 0
    assert twilio.updates == []
    assert sendgrid.changes() == []
    lines = out.splitlines()
    assert lines[0] == f"providers sync for {BASE} (dry run, nothing is changed):"
    shown_parse = PARSE_URL.replace(PASSWORD, "<INBOUND_PARSE_PASSWORD>")
    assert lines[1:14] == [
        "  twilio +15005550006 (store demo): would change",
        f"      sms_url: 'https://demo.twilio.com/welcome/sms/reply' -> '{MESSAGING}'",
        f"      sms_fallback_url: '' -> '{BASE}/webhooks/twilio/fallback'",
        # demo has a `voice` section: its calls come to relaydesk, with the fallback, and
        # their ends (a caller who hangs up during the greeting is a missed call).
        f"      voice_url: '' -> '{VOICE}'",
        f"      voice_fallback_url: '' -> '{VOICE_FALLBACK}'",
        f"      status_callback: '' -> '{CALL_STATUS}'",
        "  twilio +15005550007 (store demo-fast): would change",
        f"      sms_url: 'https://demo.twilio.com/welcome/sms/reply' -> '{MESSAGING}'",
        f"      sms_fallback_url: '' -> '{BASE}/webhooks/twilio/fallback'",
        "  twilio +15005550008 (store demo-woo): would change",
        f"      sms_url: 'https://demo.twilio.com/welcome/sms/reply' -> '{MESSAGING}'",
        f"      sms_fallback_url: '' -> '{BASE}/webhooks/twilio/fallback'",
        "  sendgrid inbound parse reply.shop.test (the reply domain): would create",
    ]
    assert lines[14] == f"      url: (none) -> '{shown_parse}'"
    # An existing setting with another URL: its password masked too, never printed.
    assert lines[15] == (
        "  sendgrid inbound parse demo.relaydesk.test (store demo's support address): would change"
    )
    shown_mail = shown_parse.replace("/sendgrid/inbound", "/sendgrid/mail")
    assert lines[16] == f"      url: 'https://parse:***@old.example/in' -> '{shown_mail}'"
    # The stores without a `voice` section: their numbers' calls are left where they go.
    for store, number in (("demo-fast", "+15005550007"), ("demo-woo", "+15005550008")):
        assert (
            f"  note: store {store}: no `voice` section, so the Voice URL of {number} is left "
            "as it is (its calls keep going where they go now); add a `voice` section to the "
            f"store for relaydesk to take them ({VOICE})"
        ) in lines
    assert lines[-1] == "7 setting(s) would change; run without --dry-run to change them"
    assert PASSWORD not in out
    assert "old-pw" not in out


def test_a_sync_makes_the_changes_and_a_second_one_finds_nothing_to_change() -> None:
    twilio, sendgrid = FakeTwilio(demo_numbers()), FakeSendGrid()
    wirings: list[Wiring] = [TwilioNumbers(twilio), SendGridParse(sendgrid)]

    code, out = run(wirings, dry_run=False)

    assert code == 0
    assert out.splitlines()[-1] == "7 setting(s) changed"
    assert len(twilio.updates) == 3
    assert twilio.updates[0][1] == {
        "sms_url": MESSAGING,
        "sms_fallback_url": f"{BASE}/webhooks/twilio/fallback",
        "voice_url": VOICE,
        "voice_fallback_url": VOICE_FALLBACK,
        "status_callback": CALL_STATUS,
    }
    # Only demo has a `voice` section: the others' Voice URLs and StatusCallback are not touched.
    assert all("voice_url" not in fields for _, fields in twilio.updates[1:])
    assert all("status_callback" not in fields for _, fields in twilio.updates[1:])
    assert {n.phone_number: n.voice_url for n in twilio.numbers.values()} == {
        "+15005550006": VOICE,
        "+15005550007": "",
        "+15005550008": "",
    }
    created = {body["hostname"]: body for verb, _, body in sendgrid.changes() if body}
    assert set(created) == {
        "reply.shop.test",
        "demo.relaydesk.test",
        "fast.relaydesk.test",
        "woo.relaydesk.test",
    }
    # The reply domain to the Lambda route, support mail to the one API Gateway stores in S3.
    assert created.pop("reply.shop.test")["url"] == PARSE_URL
    mail_url = PARSE_URL.replace("/sendgrid/inbound", "/sendgrid/mail")
    assert all(b["url"] == mail_url for b in created.values())
    assert all(b["send_raw"] is False for b in created.values())

    code, out = run(wirings, dry_run=False)

    assert code == 0
    assert out.splitlines()[-1] == "nothing to change"
    assert len(twilio.updates) == 3
    assert len(sendgrid.changes()) == 4
    assert out.count("already right") == 7


def test_a_twiml_app_on_the_number_is_cleared_it_would_override_the_urls() -> None:
    twilio = FakeTwilio(["+15005550006", "+15005550007", "+15005550008"])
    for number in twilio.numbers.values():
        number.sms_url, number.sms_fallback_url = MESSAGING, f"{BASE}/webhooks/twilio/fallback"
        number.voice_url, number.voice_fallback_url = VOICE, VOICE_FALLBACK
        number.status_callback = CALL_STATUS
    twilio.numbers["PN" + "0" * 32].sms_application_sid = "AP" + "1" * 32
    # A voice TwiML App is cleared on demo's number (relaydesk takes its calls), and left
    # on demo-fast's (no `voice` section: the store's own phone system).
    twilio.numbers["PN" + "0" * 32].voice_application_sid = "AP" + "2" * 32
    twilio.numbers["PN" + "1".zfill(32)].voice_application_sid = "AP" + "3" * 32

    code, out = run([TwilioNumbers(twilio)], dry_run=False)

    assert code == 0
    assert twilio.updates == [
        ("PN" + "0" * 32, {"sms_application_sid": "", "voice_application_sid": ""})
    ]
    assert f"sms_application_sid: 'AP{'1' * 32}' -> ''" in out
    assert twilio.numbers["PN" + "1".zfill(32)].voice_application_sid == "AP" + "3" * 32


def test_a_number_not_in_the_account_is_an_error_naming_the_store_and_nothing_changes() -> None:
    twilio, sendgrid = FakeTwilio(["+15005550006", "+15005550008"]), FakeSendGrid()

    code, out = run([TwilioNumbers(twilio), SendGridParse(sendgrid)], dry_run=False)

    assert code == 1
    assert "store 'demo-fast': +15005550007 is not a number of the Twilio account" in out
    assert out.splitlines()[-1] == "providers sync: nothing was changed"
    assert twilio.updates == []
    assert sendgrid.changes() == []


def test_a_channel_adds_its_number_settings_in_one_function() -> None:
    """As the voice channel wires its Voice URLs (voice_settings): one more entry in
    NUMBER_SETTINGS, here a field every number gets."""

    def named(store: StoreConfig, endpoints: Endpoints) -> dict[str, str]:
        return {"friendly_name": f"relaydesk {store.store_id}"}

    twilio = FakeTwilio(demo_numbers())

    code, _ = run([TwilioNumbers(twilio, [*NUMBER_SETTINGS, named])], dry_run=False)

    assert code == 0
    assert [u["friendly_name"] for _, u in twilio.updates] == [
        "relaydesk demo",
        "relaydesk demo-fast",
        "relaydesk demo-woo",
    ]


def test_printed_urls_never_carry_a_password() -> None:
    assert ENDPOINTS.shown(PARSE_URL) == PARSE_URL.replace(PASSWORD, "<INBOUND_PARSE_PASSWORD>")
    assert ENDPOINTS.shown("https://u:other@h.test/x") == "https://u:***@h.test/x"
    assert ENDPOINTS.shown(MESSAGING) == MESSAGING
