"""Proactive messages: the store's switches, the decision (dedupe, ordering, cap 0), the
channel (last used, e-mail, texting new customers, opt-outs), quiet hours, the words, and
Shopify's webhook read into our event (signature first)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import pytest

from chalicelib.commerce.port import EventKind, ShipmentEvent, ShopEvent
from chalicelib.commerce.shopify_webhook import read_event, sign, verify
from chalicelib.domain.errors import MalformedRequest, SignatureRejected
from chalicelib.domain.proactive import (
    SPEAKING,
    Contacts,
    Known,
    News,
    Proactive,
    ProactiveConfigError,
    Told,
    choose_route,
    decide,
    language_for,
    message_text,
    parse_proactive,
    quiet_until,
)
from chalicelib.domain.proactive_words import WORDS

ON = Proactive(enabled=True)
T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)
PRAGUE = "Europe/Prague"


def news(kind: str = "delayed", at: datetime = T0) -> News:
    return News("1050", kind, at, tracking_url="https://tracking.example/INP998877")


# -- the store's switches -----------------------------------------------------------------


def test_absent_is_off_present_is_on_with_the_problems_by_default() -> None:
    assert parse_proactive(None, store_id="s") == Proactive()
    config = parse_proactive({}, store_id="s")
    assert config.enabled
    assert config.events == frozenset(SPEAKING)
    assert (config.daily_cap, config.quiet_start, config.quiet_end) == (2, time(21), time(8))
    assert not config.text_new_customers


def test_events_are_read_in_either_case() -> None:
    config = parse_proactive({"events": ["DELAYED", "cancelled"]}, store_id="s")
    assert config.events == {"delayed", "cancelled"}


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        ("yes", "must be an object"),
        ({"sms": True}, "unknown field(s) sms"),
        ({"events": ["DELIVERED"]}, "['delivered'] cannot be told"),
        ({"events": "DELAYED"}, "events: a list"),
        ({"daily_cap": -1}, "daily_cap"),
        ({"daily_cap": True}, "daily_cap"),
        ({"quiet_hours": "9pm-8am"}, "quiet_hours"),
        ({"enabled": "yes"}, "enabled: true or false"),
        ({"messages": []}, "messages"),
        ({"messages": {"pl": {"shipped": "x"}}}, "one of"),
        ({"messages": {"pl": {"delayed": ""}}}, "a non-empty text"),
        ({"messages": {"pl": {"delayed": "{order}"}}}, "only {number}"),
    ],
)
def test_a_wrong_block_names_the_store_and_field(raw: object, names: str) -> None:
    with pytest.raises(ProactiveConfigError, match="store 'shop': proactive") as caught:
        parse_proactive(raw, store_id="shop")
    assert names in str(caught.value)


# -- the decision ---------------------------------------------------------------------------


def test_a_problem_not_yet_told_is_told() -> None:
    assert decide(ON, news(), Told()).speak


@pytest.mark.parametrize(
    ("config", "told_news", "told", "reason"),
    [
        (Proactive(), news(), Told(), "off for this store"),
        (ON, None, Told(), "no news"),
        (ON, news("in_transit"), Told(), "not news this store tells"),
        (Proactive(enabled=True, events=frozenset({"cancelled"})), news(), Told(), "not news"),
        (ON, news(), Told(frozenset({"delayed"}), T0), "already told"),
        (ON, news("failure", T0), Told(frozenset({"delayed"}), T0 + timedelta(hours=1)), "older"),
        (Proactive(enabled=True, daily_cap=0), news(), Told(), "cap is 0"),
    ],
)
def test_silence(config: Proactive, told_news: News | None, told: Told, reason: str) -> None:
    verdict = decide(config, told_news, told)
    assert not verdict.speak
    assert reason in verdict.reason


def test_newer_news_of_another_kind_is_told_after_earlier_news() -> None:
    told = Told(frozenset({"delayed"}), T0)
    assert decide(ON, news("failure", T0 + timedelta(hours=3)), told).speak


# -- the channel ----------------------------------------------------------------------------

PIOTR = "+48600100200"
MAIL = "piotr@customer.example"


def test_the_channel_last_used_wins() -> None:
    known = (
        Known("sms", PIOTR, T0),
        Known("email", MAIL, T0 + timedelta(days=1)),
        Known("whatsapp", f"whatsapp:{PIOTR}", T0 - timedelta(days=3)),
    )
    route = choose_route(
        Contacts(emails=[MAIL], phones=[PIOTR], known=known), text_new_customers=True
    )
    assert route is not None
    assert (route.channel, route.address) == ("email", MAIL)


def test_someone_who_never_wrote_gets_e_mail_unless_the_store_texts_new_customers() -> None:
    contacts = Contacts(emails=[MAIL], phones=[PIOTR], text_consent=True)
    mail = choose_route(contacts, text_new_customers=False)
    text = choose_route(contacts, text_new_customers=True)
    assert mail is not None
    assert text is not None
    assert (mail.channel, text.channel, text.address) == ("email", "sms", PIOTR)
    assert choose_route(Contacts(phones=[PIOTR]), text_new_customers=False) is None


def test_a_customer_the_shop_has_no_consent_to_text_for_gets_e_mail() -> None:
    route = choose_route(Contacts(emails=[MAIL], phones=[PIOTR]), text_new_customers=True)
    assert route is not None
    assert route.channel == "email"
    assert choose_route(Contacts(phones=[PIOTR]), text_new_customers=True) is None


def test_an_opted_out_number_is_never_chosen_on_sms_or_whatsapp() -> None:
    known = (Known("sms", PIOTR, T0 + timedelta(days=1), opted_out=True),)
    known_wa = (*known, Known("whatsapp", f"whatsapp:{PIOTR}", T0 + timedelta(days=2)))
    route = choose_route(
        Contacts(emails=[MAIL], phones=[PIOTR], known=known_wa, text_consent=True),
        text_new_customers=True,
    )
    assert route is not None
    assert (route.channel, route.address) == ("email", MAIL)
    stopped = Contacts(phones=[PIOTR], known=known, text_consent=True)
    assert choose_route(stopped, text_new_customers=True) is None


def test_whatsapp_outside_its_24_hours_falls_back_unless_the_store_has_a_template() -> None:
    known = (Known("whatsapp", f"whatsapp:{PIOTR}", T0),)
    contacts = Contacts(emails=[MAIL], phones=[PIOTR], known=known)
    within = choose_route(contacts, text_new_customers=False, now=T0 + timedelta(hours=23))
    late = choose_route(contacts, text_new_customers=False, now=T0 + timedelta(hours=25))
    templated = choose_route(
        contacts, text_new_customers=False, now=T0 + timedelta(days=3), whatsapp_template=True
    )
    assert within is not None
    assert late is not None
    assert templated is not None
    assert (within.channel, late.channel, templated.channel) == ("whatsapp", "email", "whatsapp")


# -- quiet hours ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("utc", "wakes"),
    [
        (datetime(2026, 11, 20, 12, tzinfo=UTC), None),  # 13:00 in Prague
        (datetime(2026, 11, 20, 21, 30, tzinfo=UTC), datetime(2026, 11, 21, 7, tzinfo=UTC)),
        (datetime(2026, 11, 21, 5, tzinfo=UTC), datetime(2026, 11, 21, 7, tzinfo=UTC)),
        (datetime(2026, 11, 20, 20, tzinfo=UTC), datetime(2026, 11, 21, 7, tzinfo=UTC)),
        (datetime(2026, 11, 21, 7, tzinfo=UTC), None),  # 08:00 sharp: morning
        # Summer time: 08:00 in Prague is 06:00 UTC.
        (datetime(2026, 7, 1, 0, tzinfo=UTC), datetime(2026, 7, 1, 6, tzinfo=UTC)),
    ],
)
def test_quiet_hours_end_at_the_stores_morning(utc: datetime, wakes: datetime | None) -> None:
    assert quiet_until(utc, PRAGUE, ON) == wakes


def test_daytime_quiet_hours_and_none() -> None:
    lunch = Proactive(enabled=True, quiet_start=time(12), quiet_end=time(13))
    at = datetime(2026, 11, 20, 11, 30, tzinfo=UTC)  # 12:30 in Prague
    assert quiet_until(at, PRAGUE, lunch) == datetime(2026, 11, 20, 12, tzinfo=UTC)
    never = Proactive(enabled=True, quiet_start=time(0), quiet_end=time(0))
    assert quiet_until(at, PRAGUE, never) is None


# -- the words ------------------------------------------------------------------------------


def test_the_language_we_spoke_then_the_country_then_the_store() -> None:
    assert language_for("de", "PL", "en") == "de"
    assert language_for(None, "PL", "en") == "pl"
    assert language_for(None, "IR", "en") == "fa"
    assert language_for(None, "JP", "cs_CZ") == "cs"
    assert language_for(None, None, "ja") == "en"


@pytest.mark.parametrize("language", sorted(WORDS))
@pytest.mark.parametrize("kind", SPEAKING)
def test_every_problem_has_words_naming_the_order_and_the_reply(language: str, kind: str) -> None:
    text = message_text(news(kind), store_name="Demo Store", language=language)
    assert text.startswith("Demo Store: ")
    assert "1050" in text
    assert text.endswith(WORDS[language]["reply"])
    assert ("tracking.example" in text) == (kind not in ("cancelled", "refunded"))
    assert "{" not in text


def test_the_stores_own_words_win_per_language() -> None:
    config = parse_proactive(
        {"messages": {"pl": {"delayed": "paczka {number} się spóźni", "reply": "Pisz śmiało."}}},
        store_id="s",
    )
    polish = message_text(news(), store_name="S", language="pl", overrides=config.messages)
    english = message_text(news(), store_name="S", language="en", overrides=config.messages)
    assert polish.startswith("S: paczka 1050 się spóźni\n")
    assert polish.endswith("Pisz śmiało.")
    assert english.startswith("S: your order #1050 is delayed")


def test_the_words_cover_the_same_keys_in_every_language() -> None:
    keys = set(WORDS["en"])
    assert all(set(words) == keys for words in WORDS.values())


# -- Shopify's webhook -----------------------------------------------------------------------

SECRET = "local-shopify-secret"  # the local stack's, printed in the README


def headers(body: bytes, topic: str = "fulfillment_events/create", **extra: str) -> dict[str, str]:
    return {
        "X-Shopify-Hmac-Sha256": sign(SECRET, body),
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": "demo-store.myshopify.com",
        "X-Shopify-Webhook-Id": "wh-1",
        **extra,
    }


def test_the_signature_is_base64_hmac_sha256_of_the_raw_body() -> None:
    # A fixed vector: HMAC-SHA256("local-shopify-secret", b'{"a":1}') in base64.
    import base64
    import hashlib
    import hmac

    body = b'{"a":1}'
    expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    assert sign(SECRET, body) == expected
    verify(SECRET, body, {"x-shopify-hmac-sha256": expected})
    with pytest.raises(SignatureRejected):
        verify(SECRET, body + b" ", {"x-shopify-hmac-sha256": expected})
    with pytest.raises(SignatureRejected):
        verify(SECRET, body, {})
    with pytest.raises(SignatureRejected):
        verify("another-secret", body, {"X-Shopify-Hmac-Sha256": expected})


def test_a_fulfillment_event_is_read_into_our_event() -> None:
    body = json.dumps(
        {"order_id": 7000001050, "status": "delayed", "happened_at": "2026-11-20T10:00:00-05:00"}
    ).encode()
    event = read_event(headers(body, **{"X-Shopify-Event-Id": "ev-9"}), body)
    assert event == ShopEvent(
        "ev-9",
        EventKind.SHIPMENT,
        "7000001050",
        datetime(2026, 11, 20, 15, tzinfo=UTC),
        ShipmentEvent.DELAYED,
    )
    assert ShopEvent.decode(json.loads(json.dumps(event.encode()))) == event


def test_the_other_topics_and_the_webhook_id_fallback() -> None:
    cancelled = json.dumps({"id": 7000001050, "cancelled_at": "2026-11-20T10:00:00Z"}).encode()
    event = read_event(headers(cancelled, "orders/cancelled"), cancelled)
    assert event is not None
    assert (event.kind, event.order_id, event.event_id) == (
        EventKind.CANCELLED,
        "7000001050",
        "wh-1",
    )
    refund = json.dumps({"order_id": "7000001050"}).encode()
    refunded = read_event(headers(refund, "refunds/create"), refund)
    assert refunded is not None
    assert refunded.kind is EventKind.REFUNDED
    update = json.dumps({"order_id": 7000001050, "shipment_status": "failure"}).encode()
    updated = read_event(headers(update, "fulfillments/update"), update)
    assert updated is not None
    assert updated.status is ShipmentEvent.FAILURE
    assert read_event(headers(b"{}", "products/update"), b"{}") is None


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1]", b"{}", b'{"order_id": true}', b'{"order_id": "abc"}', b"\xff\xfe"],
)
def test_a_body_no_shopify_delivery_has_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedRequest):
        read_event(headers(body), body)


def test_a_delivery_without_an_id_is_malformed() -> None:
    body = b'{"order_id": 1}'
    bare = {k: v for k, v in headers(body).items() if k != "X-Shopify-Webhook-Id"}
    with pytest.raises(MalformedRequest, match="X-Shopify-Event-Id"):
        read_event(bare, body)
