"""`relaydesk providers sync` with the real `twilio` and `sendgrid` SDKs against the sandbox
(relaydesk/sandbox/provider_settings.py records every change), for the local stack and for
a stage whose secrets are in (emulated) SSM; and the URLs it sets are ones the app takes:
Twilio, delivering to the number's SMS URL as configured, gets the acknowledgement."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from chalice.test import Client

from relaydesk import deploy, emulator, sandbox
from relaydesk.cli import twiml_messages
from relaydesk.local_env import LOCAL_PARSE_PASSWORD, LOCAL_TWILIO_AUTH_TOKEN
from relaydesk.providers_sync import sync
from relaydesk.sandbox.twilio import deliver_inbound
from tests.conftest import TEST_STORES
from tests.integration.conftest import PUBLIC_URL

FIXTURE_NUMBERS = ("+15005550006", "+15550001111", "+15005550020", "+15005550030", "+15005550008")


@pytest.fixture
def accounts(outbox: sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The sandbox's Twilio account owning the fixture stores' numbers, no parse setting."""
    monkeypatch.setenv("STORES_FILE", str(TEST_STORES))
    outbox.accounts.reset(FIXTURE_NUMBERS)
    yield outbox.accounts
    outbox.accounts.reset()


def run(sandbox_url: str, *, dry_run: bool, **kwargs: Any) -> tuple[int, str]:
    out = io.StringIO()
    kwargs.setdefault("stage", None)
    kwargs.setdefault("base_url", PUBLIC_URL)
    code = sync(dry_run=dry_run, sandbox_url=sandbox_url, out=out, **kwargs)
    return code, out.getvalue()


def test_a_dry_run_changes_nothing_a_sync_sets_everything_a_second_changes_nothing(
    accounts: Any, sandbox_url: str
) -> None:
    code, out = run(sandbox_url, dry_run=True)

    assert code == 0
    assert accounts.changes() == []
    assert "11 setting(s) would change" in out  # 5 numbers, the reply domain, 5 support hosts
    assert "note: store acme: no `voice` section, so the Voice URL of +15550001111 is left" in out
    assert LOCAL_PARSE_PASSWORD not in out

    code, out = run(sandbox_url, dry_run=False)

    assert code == 0
    assert "11 setting(s) changed" in out
    changes = accounts.changes()
    assert len(changes) == 11
    [number] = accounts.numbers("+15005550020")
    assert number["sms_url"] == (
        f"{PUBLIC_URL}/webhooks/twilio/messaging#ct=3000&rt=10000&tt=14000&rc=1&rp=ct,rt,5xx"
    )
    assert number["sms_fallback_url"] == f"{PUBLIC_URL}/webhooks/twilio/fallback"
    assert number["sms_method"] == number["sms_fallback_method"] == "POST"
    # corner has a `voice` section: its calls come to relaydesk, the fallback too.
    assert number["voice_url"] == f"{PUBLIC_URL}/webhooks/twilio/voice"
    assert number["voice_fallback_url"] == f"{PUBLIC_URL}/webhooks/twilio/voice/fallback"
    assert number["voice_method"] == number["voice_fallback_method"] == "POST"
    # ... and the ends of its calls (a caller who hangs up during the greeting).
    assert number["status_callback"] == f"{PUBLIC_URL}/webhooks/twilio/voice/status"
    assert number["status_callback_method"] == "POST"
    # acme has none: its number's calls stay with its own phone system, and the dry run said so.
    [acme] = accounts.numbers("+15550001111")
    assert acme["voice_url"] == acme["voice_fallback_url"] == acme["status_callback"] == ""
    hosts = {s["hostname"]: s for s in accounts.parse_settings()}
    assert set(hosts) == {
        "reply.relaydesk.test",
        "demo.relaydesk.test",
        "acme.test",
        "corner.test",
        "answers.test",
        "woo.test",
    }
    parse_url = (
        f"https://parse:{LOCAL_PARSE_PASSWORD}@hooks.example.test/api/webhooks/sendgrid/inbound"
    )
    assert hosts.pop("reply.relaydesk.test")["url"] == parse_url
    mail_url = parse_url.replace("/sendgrid/inbound", "/sendgrid/mail")
    assert all(s["url"] == mail_url for s in hosts.values())

    code, out = run(sandbox_url, dry_run=False)

    assert code == 0
    assert out.splitlines()[-1] == "nothing to change"
    assert accounts.changes() == changes


def test_the_number_as_wired_takes_a_customers_message(
    accounts: Any, sandbox_url: str, client: Client
) -> None:
    """Twilio signs the SMS URL it is configured with: the one sync set must verify."""
    assert run(sandbox_url, dry_run=False)[0] == 0
    [number] = accounts.numbers("+15005550006")
    params = {
        "MessageSid": "SM" + "7" * 32,
        "AccountSid": "AC00000000000000000000000000000000",
        "From": "+420777300400",
        "To": "+15005550006",
        "Body": "Hello, is anyone there?",
        "NumMedia": "0",
    }

    def post(url: str, form: Mapping[str, str], headers: Mapping[str, str]) -> tuple[int, str]:
        response = client.http.post(
            url.removeprefix(PUBLIC_URL), headers=dict(headers), body=urlencode(form).encode()
        )
        return response.status_code, response.body.decode()

    delivery = deliver_inbound(
        params,
        primary_url=number["sms_url"],
        fallback_url=number["sms_fallback_url"],
        auth_token=LOCAL_TWILIO_AUTH_TOKEN,
        post=post,
    )

    assert delivery.answered_by == "primary"
    assert delivery.attempts == [(f"{PUBLIC_URL}/webhooks/twilio/messaging", 200)]
    [ack] = twiml_messages(delivery.answer)
    assert "Demo Store" in ack


def test_the_number_as_wired_takes_a_call_and_its_fallback_takes_the_voicemail(
    accounts: Any, sandbox_url: str, client: Client, container: Any
) -> None:
    """Twilio signs the Voice URL and the Voice Fallback URL as configured: both verify."""
    from relaydesk.sandbox.twilio_voice import play_call

    assert run(sandbox_url, dry_run=False)[0] == 0
    [number] = accounts.numbers("+15005550006")

    def post(url: str, form: dict[str, str], signature: str) -> tuple[int, str]:
        response = client.http.post(
            url.removeprefix(PUBLIC_URL),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
            body=urlencode(form).encode(),
        )
        return response.status_code, response.body.decode()

    def dial(voice_url: str) -> list[Any]:
        return play_call(
            post,
            auth_token=LOCAL_TWILIO_AUTH_TOKEN,
            voice_url=voice_url,
            sandbox_url=sandbox_url,
            caller="+420777300401",
            number="+15005550006",
            voicemail=None,
        )

    assert [(s.name, s.status) for s in dial(number["voice_url"])] == [
        ("voice", 200),
        ("recording", 200),
    ]
    # Posted straight to the fallback (as Twilio does after the Voice URL failed).
    steps = dial(number["voice_fallback_url"])
    assert [(s.name, s.status) for s in steps] == [("voice", 200), ("recording", 200)]
    assert steps[1].url == f"{PUBLIC_URL}/webhooks/twilio/voice/fallback/recording"


def test_a_provider_that_fails_is_reported_and_nothing_is_changed(
    accounts: Any, sandbox_url: str, outbox: sandbox.Sandbox
) -> None:
    outbox.set_fault("sendgrid-parse", 503, 1)
    try:
        code, out = run(sandbox_url, dry_run=False)
    finally:
        outbox.clear_faults()

    assert code == 1
    assert "SendGrid: get parse settings: HTTP 503" in out
    assert "nothing was changed" in out
    assert accounts.changes() == []

    outbox.set_fault("twilio-numbers", 401, 1, code=20003)
    try:
        code, out = run(sandbox_url, dry_run=True)
    finally:
        outbox.clear_faults()
    assert code == 1
    assert "the account SID or auth token is wrong" in out


@pytest.fixture
def stage_secrets(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    emulator.reset(moto_url)
    deploy.put_secrets(
        boto3.client("ssm"),
        "prod",
        {
            "TWILIO_AUTH_TOKEN": LOCAL_TWILIO_AUTH_TOKEN,
            "SENDGRID_API_KEY": "SG.prod-key",
            "INBOUND_PARSE_PASSWORD": "prod-parse-password",
        },
    )
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    return moto_url


def test_a_stage_reads_its_secrets_from_ssm_and_needs_the_apis_url(
    accounts: Any, sandbox_url: str, stage_secrets: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage = {"stage": "prod", "base_url": None, "endpoint_url": stage_secrets}

    # Before the first deploy there is no API: a dry run shows the wiring with a placeholder,
    # a real sync says what to do.
    code, out = run(sandbox_url, dry_run=True, **stage)
    assert code == 0
    assert "https://<api-id>.execute-api.<region>.amazonaws.com/api/webhooks/twilio/fallback" in out
    assert "prod-parse-password" not in out
    code, out = run(sandbox_url, dry_run=False, **stage)
    assert code == 1
    assert "the API's URL is not known yet" in out
    assert accounts.changes() == []

    # A custom domain (PUBLIC_BASE_URL) is what the providers are pointed at.
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://help.shop.test")
    code, out = run(sandbox_url, dry_run=False, **stage)
    assert code == 0, out
    [number] = accounts.numbers("+15005550020")
    assert number["sms_fallback_url"] == "https://help.shop.test/webhooks/twilio/fallback"
    reply = next(s for s in accounts.parse_settings() if s["hostname"] == "reply.example.com")
    assert reply["url"] == (
        "https://parse:prod-parse-password@help.shop.test/webhooks/sendgrid/inbound"
    )


def test_a_stage_without_its_secrets_says_which_is_missing(
    accounts: Any, sandbox_url: str, moto_url: str
) -> None:
    emulator.reset(moto_url)
    code, out = run(sandbox_url, dry_run=True, stage="prod", base_url=None, endpoint_url=moto_url)
    assert code == 1
    assert "INBOUND_PARSE_PASSWORD is not set" in out
