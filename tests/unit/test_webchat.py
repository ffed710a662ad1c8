"""Web chat without an emulator: the visitor token, the identity hash, what a request may
carry, the store's `webchat` block, the widget's words, the web channel over recording
fakes, and the widget script's size budget."""

from __future__ import annotations

import gzip
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.channels.port import Answer
from chalicelib.channels.webchat import WebChannel
from chalicelib.domain.errors import DeliveryError, FailureKind, MalformedRequest
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.domain.messages import contact_of
from chalicelib.domain.webchat import (
    LANGUAGES,
    RTL_LANGUAGES,
    WORDS,
    identity_hash,
    is_token,
    language_of,
    new_token,
    parse_contact,
    parse_message,
    verified_email,
    visitor_address,
    widget_words,
)
from chalicelib.domain.webchat_config import WebchatConfigError, parse_webchat
from chalicelib.flows.webchat import session
from chalicelib.stores import load_stores
from chalicelib.webchat_web import WIDGET_FILE
from tests.conftest import ROOT
from tests.unit.fakes import Progress

SECRET = b"shop-widget-secret"
TOKEN = "A" * 43
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_tokens_are_256_random_bits_and_only_their_hash_names_the_visitor() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    assert all(is_token(t) and len(t) == 43 for t in tokens)
    token = tokens.pop()
    address = visitor_address("demo", token)
    assert address.startswith("web:")
    assert token not in address
    assert address == visitor_address("demo", token)
    # Scoped to the store: the same token names someone else at another store.
    assert visitor_address("acme", token) != address
    for bad in ("", "short", TOKEN + "A", "A" * 42 + "/", None, 12):
        assert not is_token(bad)


def test_agents_see_a_visitor_by_a_short_label_not_the_hash() -> None:
    address = visitor_address("demo", TOKEN)
    assert contact_of(address) == f"web visitor {address[4:12]}"


def test_a_signed_in_customer_is_verified_by_the_shops_hmac() -> None:
    email = "Jana.Novakova@Example.com"
    signed = hmac.new(SECRET, b"jana.novakova@example.com", hashlib.sha256).hexdigest()
    assert identity_hash(SECRET, email) == signed
    assert verified_email(SECRET, email, signed) == "jana.novakova@example.com"
    assert verified_email(SECRET, email, signed.upper()) == "jana.novakova@example.com"


@pytest.mark.parametrize(
    ("secret", "email", "given"),
    [
        (SECRET, "jana@example.com", identity_hash(b"another secret", "jana@example.com")),
        (SECRET, "eva@example.com", identity_hash(SECRET, "jana@example.com")),
        (SECRET, "jana@example.com", "not-hex"),
        (SECRET, "jana@example.com", identity_hash(SECRET, "jana@example.com")[:63]),
        (SECRET, "not an address", identity_hash(SECRET, "not an address")),
        (SECRET, ["jana@example.com"], identity_hash(SECRET, "jana@example.com")),
        (None, "jana@example.com", identity_hash(SECRET, "jana@example.com")),
    ],
)
def test_a_wrong_or_missing_identity_hash_leaves_the_chat_anonymous(
    secret: bytes | None, email: object, given: str
) -> None:
    assert verified_email(secret, email, given) is None


def _payload(**change: object) -> dict[str, object]:
    return {"token": TOKEN, "id": "msg-00000001", "text": "Hello there", **change}


def _parse(**change: object) -> Any:
    return parse_message(
        _payload(**change), max_chars=100, phones_allowed=True, supported=LANGUAGES
    )


def test_a_message_is_cleaned_and_keeps_what_scripts_need() -> None:
    persian = "سلام، می\u200cخواهم سفارشم را ببینم"  # the zero-width non-joiner stays
    parsed = _parse(text=f"  {persian}\x00\x1b  ", language="fa-IR", contact=" +420 777 123 456 ")
    assert parsed.text == persian
    assert parsed.language == "fa"
    assert parsed.contact == "+420777123456"
    assert _parse(contact="Jana@Example.COM").contact == "jana@example.com"
    assert _parse(language="pt-BR").language is None


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"website": "http://spam.example"}, "website"),
        ({"token": "guess"}, "token"),
        ({"token": None}, "token"),
        ({"id": "x"}, "id"),
        ({"text": ""}, "empty"),
        ({"text": " \x00 "}, "empty"),
        ({"text": 42}, "text"),
        ({"text": "x" * 101}, "at most 100"),
        ({"contact": "not a contact"}, "contact"),
        ({"contact": ["a@b.cz"]}, "contact"),
    ],
)
def test_bad_input_is_refused_with_what_was_wrong(change: dict[str, object], says: str) -> None:
    with pytest.raises(MalformedRequest, match=says):
        _parse(**change)


def test_a_store_without_a_number_takes_only_an_email_contact() -> None:
    with pytest.raises(MalformedRequest, match="e-mail only"):
        parse_contact("+420777123456", phones_allowed=False)
    assert parse_contact("", phones_allowed=False) is None


def test_the_webchat_block_is_validated_with_the_store_and_field_named() -> None:
    assert not parse_webchat(None, store_id="s").enabled
    chat = parse_webchat(
        {"enabled": True, "allowed_origins": ["https://shop.example"], "title": {"cs": "Ahoj"}},
        store_id="s",
    )
    assert chat.allowed_origins == {"https://shop.example"}
    assert chat.title == {"cs": "Ahoj"}
    for bad, says in (
        ({"enabled": True}, "allowed_origins: required"),
        ({"allowed_origins": ["https://shop.example/path"]}, "allowed_origins"),
        ({"allowed_origins": ["*"]}, "allowed_origins"),
        ({"colour": "blue"}, "colour"),
        ({"greeting": {"en": ""}}, "greeting"),
        ({"messages_per_ip_hour": 0}, "messages_per_ip_hour"),
        ({"identity_secret": "x"}, "unknown field"),
    ):
        with pytest.raises(WebchatConfigError, match=f"store 's': webchat: {says}"):
            parse_webchat(bad, store_id="s")


def test_eight_languages_with_every_word_and_right_to_left_for_arabic_and_persian() -> None:
    assert len(LANGUAGES) == 8
    keys = set(WORDS["en"])
    assert all(set(WORDS[lang]) == keys for lang in LANGUAGES)
    assert all(all(text.strip() for text in WORDS[lang].values()) for lang in LANGUAGES)
    assert {"ar", "fa"} == RTL_LANGUAGES
    store = load_stores(ROOT / "chalicelib" / "stores.json").by_id("demo")
    assert store is not None
    for lang in LANGUAGES:
        words = session(store, {"language": lang})
        assert words["dir"] == ("rtl" if lang in RTL_LANGUAGES else "ltr")
    assert session(store, {"language": "ja-JP"})["language"] == "en"
    kept = session(store, {"token": TOKEN})
    assert kept["token"] == TOKEN
    assert session(store, {"token": "guess"})["token"] != "guess"


def test_a_stores_own_title_and_greeting_win_in_their_language() -> None:
    words = widget_words("en", {"en": "Ask us"}, {"en": "Hello from us"}, "en")
    assert (words["title"], words["greeting"]) == ("Ask us", "Hello from us")
    assert widget_words("cs", {"en": "Ask us"}, {}, "en")["title"] == WORDS["cs"]["title"]
    assert language_of("AR_eg", LANGUAGES) == "ar"


@dataclass
class Mailer:
    sent: list[OutgoingEmail] = field(default_factory=list)
    fail: DeliveryError | None = None

    def send(self, mail: OutgoingEmail) -> None:
        if self.fail:
            raise self.fail
        self.sent.append(mail)


@dataclass
class Messenger:
    sent: list[dict[str, Any]] = field(default_factory=list)

    def send(self, **message: Any) -> str:
        self.sent.append(message)
        return f"SM{len(self.sent)}"


def _answer(automatic: bool = False) -> Answer:
    store = load_stores(ROOT / "chalicelib" / "stores.json").by_id("demo")
    assert store is not None
    return Answer(
        store=store,
        store_address="webchat",
        customer=visitor_address("demo", TOKEN),
        body="It ships today.",
        author_name=None if automatic else "Alex",
        automatic=automatic,
        subject="",
        profile_name=None,
        last_inbound_at=NOW,
        email_message_id="<reply.1@demo.relaydesk.test>",
        parts_sent=0,
        last_part_id=None,
    )


def _channel(contact: str | None, mailer: Mailer, messenger: Messenger) -> WebChannel:
    return WebChannel(lambda store, customer: contact, lambda: mailer, lambda: messenger)


def test_a_persons_answer_is_copied_to_the_address_the_visitor_left() -> None:
    mailer, messenger = Mailer(), Messenger()
    sent_id = _channel("jana@example.com", mailer, messenger).send_answer(_answer(), Progress(NOW))
    assert sent_id == "<reply.1@demo.relaydesk.test>"
    [mail] = mailer.sent
    assert mail.to == ("jana@example.com",)
    assert mail.headers["Message-ID"] == sent_id  # the customer's reply finds the thread
    assert mail.text.startswith("It ships today.")
    assert mail.from_name == "Alex (Demo Store)"
    progress = Progress(NOW)
    _channel("+420777123456", Mailer(), messenger).send_answer(_answer(), progress)
    assert messenger.sent[0]["to"] == "+420777123456"
    assert messenger.sent[0]["sender"] == "+15005550006"
    assert progress.parts == [(1, "SM1")]


def test_nothing_automatic_goes_to_an_address_a_visitor_typed() -> None:
    mailer, messenger = Mailer(), Messenger()
    _channel("victim@example.com", mailer, messenger).send_answer(_answer(True), Progress(NOW))
    _channel(None, mailer, messenger).send_answer(_answer(), Progress(NOW))
    assert mailer.sent == []
    assert messenger.sent == []


def test_a_copy_that_cannot_be_delivered_never_hides_the_answer_but_a_transient_one_retries() -> (
    None
):
    permanent = Mailer(fail=DeliveryError("no such mailbox", kind=FailureKind.PERMANENT))
    channel = _channel("gone@example.com", permanent, Messenger())
    assert channel.send_answer(_answer(), Progress(NOW)) == "<reply.1@demo.relaydesk.test>"
    transient = Mailer(fail=DeliveryError("busy", kind=FailureKind.TRANSIENT))
    with pytest.raises(DeliveryError):
        _channel("jana@example.com", transient, Messenger()).send_answer(_answer(), Progress(NOW))


def test_the_widget_is_small_and_asks_no_third_party() -> None:
    script = WIDGET_FILE.read_bytes()
    assert len(gzip.compress(script, 9)) <= 30 * 1024
    text = script.decode()
    assert "http://" not in text
    assert "https://" not in text.split("*/", 1)[1]
    assert "innerHTML = '<svg" in text
    assert text.count("innerHTML") == 1
    assert "document.cookie" not in text
