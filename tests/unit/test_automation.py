"""Automatic answers without sockets: the store's switches, which messages the webhook
leaves to the answer job, and the words of an order's state in the eight languages."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chalicelib.domain import order_answer
from chalicelib.domain.answers import AnswersConfigError
from chalicelib.domain.automation import Automation, decide_message, parse_automation
from chalicelib.domain.inbound import CustomerSnapshot, plan_inbound
from chalicelib.domain.messages import Channel, InboundMessage
from chalicelib.domain.order_answer import OrderFacts, order_status_answer
from chalicelib.settings import DEFAULT_STORES_FILE, ConfigError
from chalicelib.stores import StoreConfig, load_stores

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
PRAGUE = "Europe/Prague"
ANSWER = {
    "id": "returns",
    "answers": {"en": "30 days."},
    "phrases": {"en": ["return"]},
}


@pytest.fixture(scope="module")
def demo() -> StoreConfig:
    store = load_stores(DEFAULT_STORES_FILE).by_id("demo")
    assert store is not None
    return store


def message(body: str = "Where is my order?", automatic: str | None = None) -> InboundMessage:
    return InboundMessage(
        channel=Channel.SMS,
        provider_id="SM1",
        sender="+420777123456",
        recipient="+15005550006",
        body=body,
        received_at=NOW,
        automatic=automatic,
    )


# --- configuration ------------------------------------------------------------------------


def test_without_the_section_automation_is_off() -> None:
    assert parse_automation(None, store_id="s") == Automation()
    assert not Automation().may_try(has_shop=True)


def test_the_section_turns_it_on_and_each_kind_can_be_switched_off() -> None:
    on = parse_automation({"answers": [ANSWER]}, store_id="s")
    assert on.enabled
    assert on.may_try(has_shop=False)  # the store's own answers need no shop
    assert [a.id for a in on.answers] == ["returns"]
    no_orders = parse_automation({"order_status": False}, store_id="s")
    assert not no_orders.may_try(has_shop=True)  # nothing left to answer
    switched_off = parse_automation({"answers": [{**ANSWER, "enabled": False}]}, store_id="s")
    assert switched_off.answers == ()
    assert not parse_automation({"enabled": False, "answers": [ANSWER]}, store_id="s").may_try(
        has_shop=True
    )


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"enable": True}, "unknown field(s) enable"),
        ({"notify_agents": "sometimes"}, "automation.notify_agents"),
        ({"enabled": "yes"}, "automation.enabled"),
        ({"answers": [], "answers_file": "a.json"}, "answers or answers_file"),
        ({"answers": [{"id": "x"}]}, "automation.answers[x].answers"),
        ({"answers": [{**ANSWER, "id": "order_status"}]}, "'order_status' is reserved"),
    ],
)
def test_a_bad_section_names_the_store_and_the_field(raw: dict[str, object], named: str) -> None:
    with pytest.raises(AnswersConfigError, match="store 'shop'") as error:
        parse_automation(raw, store_id="shop")
    assert named in str(error.value)


def test_the_answers_file_is_read_beside_the_stores_file(tmp_path: Path) -> None:
    raw = json.loads(DEFAULT_STORES_FILE.read_text(encoding="utf-8"))
    demo = next(s for s in raw["stores"] if s["id"] == "demo")
    demo["automation"] = {"answers_file": "mine.json"}
    (tmp_path / "stores.json").write_text(json.dumps({"stores": [demo]}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"store 'demo': automation.answers_file: cannot read"):
        load_stores(tmp_path / "stores.json")
    (tmp_path / "mine.json").write_text(json.dumps({"answers": [ANSWER]}), encoding="utf-8")
    loaded = load_stores(tmp_path / "stores.json").by_id("demo")
    assert loaded is not None
    assert [a.id for a in loaded.automation.answers] == ["returns"]


def test_the_demo_store_answers_orders_and_its_four_questions(demo: StoreConfig) -> None:
    assert demo.automation.may_answer_orders(demo.has_shop)
    assert [a.id for a in demo.automation.answers] == ["returns", "shipping", "hours", "payment"]
    for answer in demo.automation.answers:
        assert set(answer.answers) == set(order_answer.LANGUAGES)


def test_the_decision_reads_an_empty_bodys_subject_and_nothing_when_off(demo: StoreConfig) -> None:
    decided = decide_message(
        demo.automation, body="", subject="Where is my order 1042?", has_shop=True
    )
    assert decided is not None
    assert (decided.decision, decided.kind) == ("answer", "order_status")
    beside_a_body = decide_message(
        demo.automation,
        body="Can you send it to my office instead?",
        subject="Order 1042",
        has_shop=True,
    )
    assert beside_a_body is not None
    assert beside_a_body.decision == "none"
    assert (
        decide_message(Automation(), body="Where is my order?", subject=None, has_shop=True) is None
    )


# --- what the webhook leaves to the job ---------------------------------------------------


def test_a_new_conversation_of_a_store_with_automation_is_for_the_answer_job(
    demo: StoreConfig,
) -> None:
    plan = plan_inbound(demo, None, message(), thread_id=None, pending_due=None)
    assert plan.answer_by_job
    assert plan.acknowledged_at == NOW  # counted by the caps whichever the job sends


def test_what_automation_may_not_answer_stays_with_the_webhook(demo: StoreConfig) -> None:
    follow_up = CustomerSnapshot(open_thread_id="t1", last_ack_at=NOW - timedelta(hours=1))
    cases = [
        plan_inbound(demo, follow_up, message(), thread_id="t1", pending_due=None),
        plan_inbound(demo, None, message(automatic="auto-reply"), thread_id=None, pending_due=None),
        plan_inbound(demo, None, message("STOP"), thread_id=None, pending_due=None),
        plan_inbound(
            demo, CustomerSnapshot(opted_out=True), message(), thread_id=None, pending_due=None
        ),
        plan_inbound(demo, None, message(), thread_id=None, pending_due=None, store_capped=True),
        plan_inbound(
            dataclasses.replace(demo, automation=Automation()),
            None,
            message(),
            thread_id=None,
            pending_due=None,
        ),
    ]
    assert [plan.answer_by_job for plan in cases] == [False] * len(cases)


def test_after_an_automatic_answer_the_next_message_is_acknowledged_with_a_new_promise(
    demo: StoreConfig,
) -> None:
    answered = CustomerSnapshot(
        open_thread_id="t1", last_ack_at=NOW - timedelta(minutes=5), answered_automatically=True
    )
    plan = plan_inbound(demo, answered, message("AGENT"), thread_id="t1", pending_due=None)
    assert plan.acknowledged_at == NOW  # despite the cool-down
    assert not plan.answer_by_job  # a person's now
    assert plan.new_promise
    assert plan.response_target == "first_response"


# --- the words ----------------------------------------------------------------------------

SHIPPED = OrderFacts(
    number="1042",
    created_at=NOW - timedelta(days=2),
    state="shipped",
    carrier="PPL",
    tracking_url="https://tracking.example/PPL1",
    estimated_delivery=datetime(2026, 11, 24, 11, 0, tzinfo=UTC),
)


def words(facts: list[OrderFacts], language: str = "en") -> str | None:
    composed = order_status_answer(facts, language=language, default="en", timezone=PRAGUE)
    return None if composed is None else composed[1]


def test_one_order_on_its_way_with_carrier_date_and_link() -> None:
    assert words([SHIPPED]) == (
        "Order #1042 is on its way with PPL. Expected delivery: 24 November. "
        "Track it: https://tracking.example/PPL1\n\nReply AGENT to talk to our team."
    )
    assert words([SHIPPED], "de") == (
        "Bestellung Nr. 1042 ist unterwegs (Versand mit PPL). Voraussichtliche Zustellung: "
        "24. November. Sendungsverfolgung: https://tracking.example/PPL1\n\n"
        "Antworten Sie AGENT, um mit unserem Team zu sprechen."
    )


def test_each_state_in_plain_words() -> None:
    delivered = OrderFacts(
        "1060", NOW, "delivered", delivered_at=datetime(2026, 11, 21, 10, tzinfo=UTC)
    )
    assert (
        words([delivered])
        == "Order #1060 was delivered on 21 November.\n\nReply AGENT to talk to our team."
    )
    for state, text in [
        ("unfulfilled", "Order #7 has not shipped yet."),
        ("cancelled", "Order #7 was cancelled."),
        ("refunded", "Order #7 was refunded."),
    ]:
        assert words([OrderFacts("7", NOW, state)]) == f"{text}\n\nReply AGENT to talk to our team."  # type: ignore[arg-type]
    delayed = dataclasses.replace(
        SHIPPED, progress="delayed", tracking_url=None, tracking_number="T9"
    )
    assert words([delayed]) == (
        "Order #1042 is on its way with PPL, but the carrier reports a delay. Expected delivery: "
        "24 November. Tracking number: T9\n\nReply AGENT to talk to our team."
    )


def test_uncertain_states_are_left_to_a_person() -> None:
    assert words([OrderFacts("1", NOW, "unknown")]) is None
    assert words([dataclasses.replace(SHIPPED, progress="problem")]) is None
    assert words([OrderFacts("2", NOW, "delivered")]) is None  # delivered when?
    assert words([SHIPPED, OrderFacts("1", NOW, "unknown")]) is None  # one doubt spoils the list
    assert words([]) is None


def test_several_orders_are_listed_newest_first_at_most_three() -> None:
    orders = [OrderFacts(str(n), NOW - timedelta(days=n), "unfulfilled") for n in range(1, 6)]
    text = words(orders)
    assert text is not None
    assert text.splitlines()[:4] == [
        "Your recent orders:",
        "- Order #1 has not shipped yet.",
        "- Order #2 has not shipped yet.",
        "- Order #3 has not shipped yet.",
    ]


def test_every_language_has_every_phrase_with_the_same_placeholders() -> None:
    english = order_answer._WORDS["en"]
    for language in order_answer.LANGUAGES:
        table = order_answer._WORDS[language]
        assert set(table) == set(english), language
        for key, text in table.items():
            assert _fields(text) == _fields(english[key]), (language, key)


def test_an_unknown_language_falls_back_to_the_stores_then_english() -> None:
    assert order_status_answer([SHIPPED], language="it", default="cs", timezone=PRAGUE) is not None
    written, _ = order_status_answer([SHIPPED], language="it", default="cs", timezone=PRAGUE) or (
        "",
        "",
    )
    assert written == "cs"
    written, _ = order_status_answer([SHIPPED], language=None, default="it", timezone=PRAGUE) or (
        "",
        "",
    )
    assert written == "en"


def _fields(text: str) -> set[str]:
    from string import Formatter

    return {name for _, name, _, _ in Formatter().parse(text) if name}
