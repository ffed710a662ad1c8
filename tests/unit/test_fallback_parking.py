"""The messaging URL's connection overrides (Twilio's limits, and signatures with a fragment
present, checked with twilio's own RequestValidator), and the parked request's encoding."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from chalicelib import routes
from chalicelib.channels.port import WebhookRequest
from chalicelib.channels.twilio_messaging import (
    CONNECTION_OVERRIDES,
    SIGNATURE_HEADER,
    TwilioWebhook,
    override_fragment,
    signed_urls,
    to_inbound,
)
from chalicelib.domain.errors import VerificationFailed
from chalicelib.domain.messages import InboundMessage
from chalicelib.queues import ParkedRequest
from relaydesk.sandbox.twilio import TWILIO_DEFAULT_OVERRIDES, retry_plan

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
BASE = "https://abc123.execute-api.eu-central-1.amazonaws.com/api"
TOKEN = "test-auth-token"
FORM = {"MessageSid": "SM" + "a" * 32, "From": "+420777100200", "To": "+15005550006", "Body": "Hi"}


def test_the_overrides_are_within_twilios_documented_limits() -> None:
    fragment = override_fragment()
    assert fragment == "ct=3000&rt=10000&tt=14000&rc=1&rp=ct,rt,5xx"
    assert int(CONNECTION_OVERRIDES["tt"]) <= 15000  # Twilio stops waiting at 15 s in all


@pytest.mark.parametrize(
    "overrides",
    [{"rc": 6}, {"rc": -1}, {"ct": 50}, {"ct": 10001}, {"rt": 15001}, {"tt": 99}, {"rp": "ct,xx"}],
)
def test_overrides_outside_twilios_limits_are_refused(overrides: dict[str, int | str]) -> None:
    with pytest.raises(ValueError, match=r"limits|must be one of"):
        override_fragment(overrides)


def _webhook(fragment: str = "") -> TwilioWebhook[InboundMessage]:
    return TwilioWebhook(
        auth_token=lambda: TOKEN,
        public_base_url=lambda _received: BASE,
        clock=lambda: NOW,
        read=to_inbound,
        fragment=fragment,
    )


def _request(path: str, signature: str) -> WebhookRequest:
    return WebhookRequest(path, urlencode(FORM).encode(), {SIGNATURE_HEADER: signature})


def test_a_signature_with_or_without_the_fragment_verifies() -> None:
    """The fragment never reaches us; Twilio's validator gives a different signature with and
    without it, and either one made with the auth token is accepted."""
    path, fragment = routes.TWILIO_MESSAGING, override_fragment()
    url = BASE + path
    validator = RequestValidator(TOKEN)
    plain = validator.compute_signature(url, FORM)
    with_fragment = validator.compute_signature(f"{url}#{fragment}", FORM)
    assert plain != with_fragment
    assert validator.validate(f"{url}#{fragment}", FORM, with_fragment)
    assert not validator.validate(url, FORM, with_fragment)  # the validator does not strip it
    assert signed_urls(url, fragment) == (url, f"{url}#{fragment}")
    for signature in (plain, with_fragment):
        message = _webhook(fragment).receive(_request(path, signature), {})
        assert message.provider_id == FORM["MessageSid"]


def test_a_signature_over_another_url_or_fragment_is_refused() -> None:
    path, fragment = routes.TWILIO_MESSAGING, override_fragment()
    validator = RequestValidator(TOKEN)
    wrong = [
        validator.compute_signature(f"{BASE}{path}#rc=5&rp=all", FORM),
        validator.compute_signature(BASE + routes.TWILIO_FALLBACK, FORM),
        RequestValidator(TOKEN + "x").compute_signature(f"{BASE}{path}#{fragment}", FORM),
    ]
    for signature in wrong:
        with pytest.raises(VerificationFailed):
            _webhook(fragment).receive(_request(path, signature), {})
    # The fallback URL carries no overrides: only its own plain URL is signed.
    fallback = validator.compute_signature(BASE + routes.TWILIO_FALLBACK, FORM)
    assert _webhook().receive(_request(routes.TWILIO_FALLBACK, fallback), {})
    with pytest.raises(VerificationFailed):
        _webhook().receive(_request(routes.TWILIO_MESSAGING, fallback), {})


def test_a_parked_request_survives_its_encoding_byte_for_byte() -> None:
    body = urlencode({**FORM, "Body": "Příliš žluťoučký kůň 🐎 & = %"}).encode()
    parked = ParkedRequest(routes.TWILIO_FALLBACK, body, "c2ln+/=", NOW, verified=False)
    assert ParkedRequest.decode(parked.encode()) == parked
    assert "žluť" not in parked.encode()  # the body travels base64-encoded, as Twilio sent it


@pytest.mark.parametrize(
    "body",
    [
        "",
        "[]",
        '{"kind": "notify_agents"}',
        '{"parked": 2, "path": "/x", "body": "", "received_at": "2026-11-20T15:30:00+00:00"}',
        '{"parked": 1, "path": "/x", "body": "!!", "received_at": "2026-11-20T15:30:00+00:00"}',
        '{"parked": 1, "path": "/x", "body": "", "received_at": "2026-11-20T15:30:00"}',
    ],
)
def test_what_is_not_a_parked_request_is_a_value_error(body: str) -> None:
    with pytest.raises(ValueError, match="not a parked request"):
        ParkedRequest.decode(body)


def test_the_sandbox_retries_as_the_fragment_says_and_by_default_not_on_5xx() -> None:
    assert retry_plan(f"{BASE}/webhooks/twilio/messaging") == TWILIO_DEFAULT_OVERRIDES
    assert retry_plan(f"{BASE}/x#{override_fragment()}") == (1, frozenset({"ct", "rt", "5xx"}))
    assert retry_plan(f"{BASE}/x#rc=9&rp=all") == (5, frozenset({"all"}))  # Twilio's maximum
