from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from chalicelib.channels.twilio_messaging import (
    parse_form,
    signature_is_valid,
    to_inbound,
    twiml,
)
from chalicelib.domain.errors import MalformedRequest
from chalicelib.domain.messages import Channel
from tests.conftest import corpus_path

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
URL = "https://example.execute-api.eu-central-1.amazonaws.com/api/webhooks/twilio/messaging"
TOKEN = "test-auth-token"


def _vectors() -> list[dict[str, object]]:
    data = json.loads(corpus_path("twilio-signature-vectors.json").read_text())
    vectors: list[dict[str, object]] = data["vectors"]
    return [{**v, "auth_token": data["auth_token"]} for v in vectors]


def test_corpus_signature_vectors_verify_through_our_code() -> None:
    checked = 0
    for vector in _vectors():
        if vector["kind"] == "json_body":
            continue  # messaging webhooks are form-encoded; no JSON-body endpoint exists
        if vector["kind"] == "form_params_multi":
            params = parse_form(str(vector["params_query_string"]).encode())
        else:
            params = {k: [v] for k, v in dict(vector["params"]).items()}  # type: ignore[call-overload]
        token, url, sig = (
            str(vector["auth_token"]),
            str(vector["url"]),
            str(vector["expected_signature"]),
        )
        assert signature_is_valid(token, url, params, sig), vector["name"]
        assert not signature_is_valid(token + "x", url, params, sig), vector["name"]
        checked += 1
    assert checked == 6


def _signed(params: dict[str, str]) -> tuple[dict[str, list[str]], str]:
    signature = RequestValidator(TOKEN).compute_signature(URL, params)
    return parse_form(urlencode(params).encode()), signature


def test_blank_values_are_signed_and_kept() -> None:
    params, signature = _signed({"MessageSid": "SM1", "From": "+4207", "To": "+1500", "Body": ""})
    assert params["Body"] == [""]
    assert signature_is_valid(TOKEN, URL, params, signature)


@pytest.mark.parametrize("tamper", ["Body", "From", "extra"])
def test_any_change_to_the_signed_form_fails(tamper: str) -> None:
    params, signature = _signed({"MessageSid": "SM1", "From": "+4207", "To": "+1500", "Body": "hi"})
    params[tamper] = ["changed"]
    assert not signature_is_valid(TOKEN, URL, params, signature)


def test_missing_signature_or_other_url_fails() -> None:
    params, signature = _signed({"MessageSid": "SM1", "From": "+4207", "To": "+1500"})
    assert not signature_is_valid(TOKEN, URL, params, None)
    assert not signature_is_valid(TOKEN, URL, params, "")
    assert not signature_is_valid(TOKEN, URL.replace("/api/", "/dev/"), params, signature)


def test_sms_webhook_maps_to_inbound_message() -> None:
    params = parse_form(
        urlencode(
            {
                "MessageSid": "SM123",
                "From": "+420777123456",
                "To": "+15005550006",
                "Body": "Where is my order?",
                "NumMedia": "2",
                "MediaUrl0": "https://api.twilio.com/m0",
                "MediaUrl1": "https://api.twilio.com/m1",
            }
        ).encode()
    )
    message = to_inbound(params, NOW)
    assert message.channel is Channel.SMS
    assert (message.provider_id, message.sender, message.recipient) == (
        "SM123",
        "+420777123456",
        "+15005550006",
    )
    assert message.body == "Where is my order?"
    assert message.media_urls == ("https://api.twilio.com/m0", "https://api.twilio.com/m1")
    assert message.received_at == NOW


def test_whatsapp_webhook_keeps_profile_and_wa_id() -> None:
    params = parse_form(
        urlencode(
            {
                "MessageSid": "SM9",
                "From": "whatsapp:+420777123456",
                "To": "whatsapp:+15005550006",
                "Body": "Ahoj",
                "ProfileName": "Jana",
                "WaId": "420777123456",
            }
        ).encode()
    )
    message = to_inbound(params, NOW)
    assert message.channel is Channel.WHATSAPP
    assert (message.profile_name, message.wa_id) == ("Jana", "420777123456")


@pytest.mark.parametrize(
    ("form", "complaint"),
    [
        ({"From": "+1", "To": "+2"}, "MessageSid"),
        ({"MessageSid": "SM1", "To": "+2"}, "From"),
        ({"MessageSid": "SM1", "From": "whatsapp:+1", "To": "+2"}, "WhatsApp"),
        ({"MessageSid": "SM1", "From": "+1", "To": "+2", "NumMedia": "x"}, "NumMedia"),
    ],
)
def test_malformed_webhooks_say_what_is_wrong(form: dict[str, str], complaint: str) -> None:
    with pytest.raises(MalformedRequest, match=complaint):
        to_inbound(parse_form(urlencode(form).encode()), NOW)


def test_undecodable_form_is_malformed() -> None:
    with pytest.raises(MalformedRequest):
        parse_form(b"\xff\xfe=1")
    with pytest.raises(MalformedRequest):
        parse_form(b"no-equals-sign")


def test_twiml_carries_the_acknowledgement_or_nothing() -> None:
    assert "<Message>Thanks &amp; see you</Message>" in twiml("Thanks & see you")
    assert twiml(None).endswith("<Response />")


def test_a_huge_num_media_costs_no_more_than_twilios_ten() -> None:
    params = {
        "MessageSid": ["SM1"],
        "From": ["+420777123456"],
        "To": ["+15005550006"],
        "NumMedia": ["999999999"],
        **{f"MediaUrl{i}": [f"https://api.twilio.com/m/{i}"] for i in range(12)},
    }
    message = to_inbound(params, NOW)
    assert message.media_urls == tuple(f"https://api.twilio.com/m/{i}" for i in range(10))
