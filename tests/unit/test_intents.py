"""The pure decision of automatic answers: order numbers, a person, complaints, ambiguity."""

from __future__ import annotations

import subprocess
import sys

import pytest

from chalicelib.domain.answers import AnswersConfigError, StoreAnswer, parse_answers
from chalicelib.domain.intents import ORDER_STATUS, decide, extract_order_numbers, fold
from relaydesk.answer_quality import load_demo_answers
from tests.conftest import ROOT

DEMO = load_demo_answers()


def answer(answer_id: str, phrases: list[str], language: str = "en") -> StoreAnswer:
    return StoreAnswer(answer_id, {language: f"the {answer_id} answer"}, {language: tuple(phrases)})


# --- order numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("Where is #1042?", ("1042",)),
        ("status of order 1042 please", ("1042",)),
        ("order number 1042", ("1042",)),
        ("my order no. 1042", ("1042",)),
        ("Kde je objednávka 1042?", ("1042",)),
        ("objednavka c. 1042", ("1042",)),
        ("zamówienie nr 1050", ("1050",)),
        ("Bestellung Nr. 1043", ("1043",)),
        ("ma commande n°1042", ("1042",)),
        ("el pedido #1043", ("1043",)),
        ("الطلب رقم 1042", ("1042",)),
        ("سفارش ۱۰۶۰ کجاست", ("1060",)),
        ("1042", ("1042",)),
        ("#1042?", ("1042",)),
        ("order 1042 and order 1043, or #1042 again", ("1042", "1043")),
    ],
)
def test_order_numbers_are_read_where_they_are_named(text: str, numbers: tuple[str, ...]) -> None:
    assert extract_order_numbers(text) == numbers


@pytest.mark.parametrize(
    "text",
    [
        "call me on +420 777 123 456",
        "my number is +420777123456",
        "order +420777123456",
        "it cost 1042 Kč",
        "the order was 1500 CZK",
        "order 1042.50 EUR",
        "I ordered on 12.11.2026",
        "order 2026-11-12",
        "I ordered 3 items on 1/12",
        "order from 2025, ref 98765",
        "zamówienie 1200 zł",
    ],
)
def test_phone_numbers_prices_and_dates_are_not_order_numbers(text: str) -> None:
    assert extract_order_numbers(text) == ()


def test_an_order_number_alone_asks_for_its_status() -> None:
    decision = decide("#1042", DEMO)
    assert (decision.decision, decision.kind, decision.order_numbers) == (
        "answer",
        ORDER_STATUS,
        ("1042",),
    )


def test_the_decision_carries_the_order_numbers() -> None:
    assert decide("Where is my order 1043?", DEMO).order_numbers == ("1043",)


# --- a person ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("AGENT", "en"),
        ("I want to talk to a human", "en"),
        ("Chci mluvit s člověkem", "cs"),
        ("operátor prosím", "cs"),
        ("konsultant", "pl"),
        ("Ich möchte mit einem Menschen sprechen", "de"),
        ("Mitarbeiter bitte", "de"),
        ("Je veux parler à un humain", "fr"),
        ("un conseiller svp", "fr"),
        ("quiero hablar con una persona", "es"),
        ("agente por favor", "es"),
        ("أريد موظف", "ar"),
        ("أريد التحدث مع إنسان", "ar"),
        ("اپراتور", "fa"),
        ("می خوام با یه انسان صحبت کنم", "fa"),
    ],
)
def test_a_request_for_a_person_is_handed_off(text: str, language: str) -> None:
    decision = decide(text, DEMO, country={"en": "US"}.get(language))
    assert decision.decision == "handoff"
    assert decision.kind is None
    if language != "en":
        assert decision.language == language


def test_a_person_wins_over_a_question_automation_could_answer() -> None:
    assert decide("What are your opening hours? I'd rather ask a human", DEMO).decision == (
        "handoff"
    )


def test_agent_alone_takes_the_senders_language() -> None:
    assert decide("AGENT", DEMO, country="CZ").language == "cs"
    assert decide("AGENT", DEMO, previous_language="fr").language == "fr"


@pytest.mark.parametrize(
    "text", ["Can I pick up my order in person?", "¿Puedo recogerlo en persona?"]
)
def test_in_person_asks_for_nobody(text: str) -> None:
    assert decide(text, DEMO).decision != "handoff"


# --- complaints and negation -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "My refund has not arrived yet",
        "Where is my refund?",
        "The parcel arrived damaged",
        "I never got my order",
        "I haven't received my order",
        "What is your return policy? The zip is broken",
        "Moje objednávka nedorazila",
        "Das Paket ist nicht angekommen",
        "Je n'ai jamais reçu ma commande",
        "Mi pedido no ha llegado",
        "لم يصلني طلبي",
        "سفارشم نرسیده",
        "Where is my order?!!",
    ],
)
def test_complaints_and_specific_problems_go_to_a_person(text: str) -> None:
    decision = decide(text, DEMO)
    assert decision.decision == "handoff", decision


@pytest.mark.parametrize(
    "text",
    [
        "Please cancel my order",
        "Can I change the delivery address of order 1043?",
        "Kann ich die Lieferadresse ändern?",
    ],
)
def test_requests_to_change_something_are_not_answered(text: str) -> None:
    assert decide(text, DEMO).decision == "none"


def test_a_negated_question_is_not_the_question() -> None:
    decision = decide("Are you not open on Sunday?", DEMO)
    assert decision.decision == "none"
    assert "negated" in decision.reasons[0]


def test_a_negation_elsewhere_in_the_sentence_does_not_block() -> None:
    assert decide("Can I send back shoes that don't fit?", DEMO).kind == "returns"


# --- confidence, margin, ambiguity ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "language"),
    [
        ("Where is my order?", ORDER_STATUS, "en"),
        ("kde je moje objednavka", ORDER_STATUS, "cs"),
        ("Wo ist meine Bestellung?", ORDER_STATUS, "de"),
        ("What is your return policy?", "returns", "en"),
        ("Jakou máte otevírací dobu?", "hours", "cs"),
        ("¿Qué formas de pago aceptan?", "payment", "es"),
        ("هزینه ارسال چقدره؟", "shipping", "fa"),
    ],
)
def test_plain_questions_are_answered_in_the_language_that_matched(
    text: str, kind: str, language: str
) -> None:
    decision = decide(text, DEMO, country="CZ")
    assert (decision.decision, decision.kind, decision.language) == ("answer", kind, language)
    assert decision.confidence is not None
    assert 0.55 <= decision.confidence <= 1.0


def test_a_typo_in_a_long_word_is_forgiven() -> None:
    assert decide("Wie hoch sind die Versandksoten?", DEMO).kind == "shipping"
    assert decide("kde je moje objednavak", DEMO).kind == ORDER_STATUS


def test_two_questions_in_one_message_get_no_answer() -> None:
    decision = decide("What are your opening hours and which payment methods do you take?", DEMO)
    assert decision.decision == "none"


def test_two_answers_that_match_equally_are_ambiguous() -> None:
    answers = [answer("a", ["gift wrapping"]), answer("b", ["gift wrapping"])]
    decision = decide("gift wrapping?", answers, order_status=False)
    assert decision.decision == "none"
    assert decision.reasons[0].startswith("ambiguous")


def test_a_narrow_lead_is_not_enough() -> None:
    # a explains all three words (0.85), b two of them (0.85 x 0.9): a lead < MIN_MARGIN.
    answers = [answer("a", ["gift wrapping", "paper"]), answer("b", ["wrapping paper"])]
    decision = decide("gift wrapping paper?", answers, order_status=False)
    assert decision.decision == "none"
    assert decision.reasons[0].startswith("ambiguous")


def test_a_clear_lead_answers() -> None:
    # a explains all three words (1.0), b one of them (0.7 x 0.9 x 0.9).
    answers = [answer("a", ["gift wrapping paper"]), answer("b", ["paper"])]
    decision = decide("gift wrapping paper?", answers, order_status=False)
    assert (decision.decision, decision.kind) == ("answer", "a")


def test_a_keyword_in_passing_in_a_long_message_is_too_unsure() -> None:
    text = (
        "Hello, I bought a jacket from you last month for my brother's birthday and he "
        "loves it, his friend asked me about your return policy"
    )
    decision = decide(text, DEMO)
    assert decision.decision == "none"
    assert decision.reasons[0].startswith("too unsure")


@pytest.mark.parametrize("text", ["Hello", "Thanks a lot!", "ok", "", "  ", "👍"])
def test_greetings_thanks_and_nothing_get_nothing(text: str) -> None:
    assert decide(text, DEMO).decision == "none"


def test_order_status_can_be_switched_off() -> None:
    assert decide("Where is my order?", DEMO, order_status=False).decision == "none"


def test_languages_limit_what_is_matched() -> None:
    assert decide("Wo ist meine Bestellung?", DEMO, languages=["en"]).decision == "none"


# --- folding ------------------------------------------------------------------------------------


def test_folding_drops_diacritics_and_unifies_arabic_letters() -> None:
    assert fold("Objednávka ŘÍJEN") == "objednavka rijen"
    assert fold("كيف") == fold("کیف")
    assert fold("سفارش\u200cهای ۱۰۴۲") == "سفارش های 1042"


# --- the store's answers --------------------------------------------------------------------


def test_the_demo_answers_have_every_language() -> None:
    assert [a.id for a in DEMO] == ["returns", "shipping", "hours", "payment"]
    for item in DEMO:
        assert set(item.answers) == set(item.phrases) == {
            "en", "cs", "pl", "de", "fr", "es", "ar", "fa"
        }  # fmt: skip
    assert DEMO[0].text("xx", default="en") == DEMO[0].answers["en"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "must be a list"),
        ([{"id": "Bad Id", "answers": {"en": "x"}, "phrases": {"en": ["x"]}}], ".id"),
        ([{"id": "handoff", "answers": {"en": "x"}, "phrases": {"en": ["x"]}}], "reserved"),
        (
            [
                {"id": "a", "answers": {"en": "x"}, "phrases": {"en": ["x"]}},
                {"id": "a", "answers": {"en": "x"}, "phrases": {"en": ["x"]}},
            ],
            "twice",
        ),
        ([{"id": "a", "answers": {"en": "x"}, "phrases": {"cs": ["x"]}}], "no text for cs"),
        ([{"id": "a", "answers": {"en": ""}, "phrases": {"en": ["x"]}}], "answers.en"),
        ([{"id": "a", "answers": {"en": "x"}, "phrases": {"en": []}}], "phrases.en"),
    ],
)
def test_malformed_answers_are_refused_naming_the_field(raw: object, message: str) -> None:
    with pytest.raises(AnswersConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_answers(raw)


# --- cold start ------------------------------------------------------------------------------


def test_importing_the_decision_loads_no_matching_library() -> None:
    probe = (
        "import sys, chalicelib.domain.intents\n"
        "print(','.join(m for m in ('snowballstemmer', 'difflib') if m in sys.modules))"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


@pytest.mark.parametrize(
    "text",
    [
        "let me talk to someone please",
        "Můžu mluvit s někým z obchodu?",
        "Kann ich bitte mit jemandem sprechen?",
        "¿Puedo hablar con alguien?",
    ],
)
def test_asking_for_someone_is_asking_for_a_person(text: str) -> None:
    assert decide(text, DEMO).decision == "handoff"


def test_a_named_order_and_a_shipping_word_ask_for_its_status() -> None:
    for text in (
        "has #1043 been sent yet?",
        "ist Bestellung 1043 schon raus?",
        "هل خرج الطلب 1042؟",
    ):
        decision = decide(text, DEMO)
        assert (decision.decision, decision.kind) == ("answer", ORDER_STATUS), text
    # Without an order number, "sent" says nothing about an order.
    assert decide("has it been sent yet?", DEMO).decision == "none"


@pytest.mark.parametrize(
    "text",
    [
        "Balík přišel otevřený",  # "open" the parcel, not the shop
        "El paquete llegó abierto",
        "Das Paket kam geöffnet an",
        "What's the status of my return?",  # one return, not the policy
        "Has my return arrived?",
        "Returns are a pain, I want a refund now",
        "J'ai payé par virement, vous l'avez reçu ?",  # one payment, not the methods
        "Pagué por transferencia, ¿lo recibieron?",
        "I paid by bank transfer, did you get it?",
    ],
)
def test_look_alikes_of_a_store_answer_are_not_answered(text: str) -> None:
    assert decide(text, DEMO).decision != "answer"
