"""Automatic answers end to end: the webhook, the answer job with the real shop adapters
against the sandbox's Shopify and WooCommerce, the channel's real SDK, and the agents.

Store `answers` (tests/fixtures/stores.json) is connected to the sandbox Shopify shop, store
`demo-woo` to the sandbox WooCommerce shop (its agents hear of every thread, answered or
not); both answer with the demo store's four answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.composition import Container
from relaydesk import sandbox
from relaydesk.sandbox.shop_data import STARTED
from relaydesk.workers import QueueWorker
from tests.integration.conftest import FakeClock, drain, queue_depth
from tests.integration.email_posts import post_form
from tests.integration.test_spine import ack_of, post_twilio

SHOP_NUMBER, WOO_NUMBER = "+15005550030", "+15005550008"
JANA, PIOTR, SARA, NOBODY = "+420777123456", "+48600100200", "+989121234567", "+420777999999"
AGENT = "kim@answers.test"
FOOTER = "Reply AGENT to talk to our team."


@pytest.fixture
def outbox(sandbox_server: sandbox.SandboxServer) -> Iterator[sandbox.Sandbox]:
    sandbox_server.sandbox.clear()
    yield sandbox_server.sandbox
    sandbox_server.sandbox.clear_faults()


def texts_to(outbox: sandbox.Sandbox, to: str) -> list[str]:
    return [m["body"] for m in outbox.entries(provider="twilio") if m["to"] == to]


def mails_to(outbox: sandbox.Sandbox, to: str) -> list[dict[str, Any]]:
    return [m for m in outbox.entries(provider="sendgrid") if m["to"] == to]


def thread_of(container: Container, store: str, customer: str) -> Any:
    pointer = container.repository.customer(store, customer)
    assert pointer is not None
    assert pointer.open_thread_id
    thread = container.repository.thread(store, pointer.open_thread_id)
    assert thread is not None
    return thread


def day(days: int) -> str:
    """The demo data's dates as the English answer writes them ('2 December')."""
    from datetime import timedelta

    moment = STARTED + timedelta(days=days)
    return f"{moment.day} {moment.strftime('%B')}"


def test_where_is_my_order_is_answered_by_sms_from_the_shop_and_nobody_is_mailed(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    response = post_twilio(client, sender=JANA, to=SHOP_NUMBER, body="Where is my order #1042?")
    assert ack_of(response) is None  # the job answers, not the TwiML
    assert outbox.entries(provider="shopify") == []  # no shop call on the webhook's path
    drain(worker)
    [answer] = texts_to(outbox, JANA)
    assert answer == (
        f"Order #1042 is on its way with PPL. Expected delivery: {day(1)}. "
        f"Track it: https://tracking.example/PPL123456789CZ\n\n{FOOTER}"
    )
    assert mails_to(outbox, AGENT) == []
    thread = thread_of(container, "answers", JANA)
    assert (thread.status, thread.awaiting) == ("pending", "customer")
    [out] = [
        m
        for m in container.repository.messages("answers", thread.thread_id)
        if m.direction == "out"
    ]
    assert (out.automatic, out.delivery_status) == ("answer:order_status", "sent")
    assert container.repository.customer("answers", JANA).due_at is None  # type: ignore[union-attr]
    assert queue_depth(worker) == 0


def test_several_recent_orders_and_none_named_are_listed_newest_first(
    client: Client, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    post_twilio(client, sender=JANA, to=SHOP_NUMBER, body="Kde je moje objednávka?")
    drain(worker)
    [answer] = texts_to(outbox, JANA)
    lines = answer.splitlines()
    assert lines[0] == "Vaše poslední objednávky:"
    assert lines[1] == "- Objednávka č. 1043 zatím nebyla odeslána."
    assert lines[2].startswith("- Objednávka č. 1042 je na cestě (dopravce PPL).")
    assert lines[-1] == "Chcete-li mluvit s naším týmem, odpovězte AGENT."


def test_the_language_whose_phrasing_matched_is_the_answers_language(
    client: Client, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    post_twilio(client, sender=JANA, to=SHOP_NUMBER, body="Wo ist meine Bestellung 1042?")
    drain(worker)
    [answer] = texts_to(outbox, JANA)
    assert answer.startswith("Bestellung Nr. 1042 ist unterwegs (Versand mit PPL).")
    assert answer.endswith("Antworten Sie AGENT, um mit unserem Team zu sprechen.")


def test_another_customers_order_number_reveals_nothing_and_goes_to_the_agents(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    post_twilio(client, sender=PIOTR, to=SHOP_NUMBER, body="Where is my order #1042?")
    drain(worker)
    [ack] = texts_to(outbox, PIOTR)
    assert ack.startswith("Thanks, we got your message. Someone from Answer Shop will reply")
    assert "1042" not in ack
    assert "PPL" not in ack
    [notice] = mails_to(outbox, AGENT)
    assert "does not belong to this sender" in notice["text"]
    thread = thread_of(container, "answers", PIOTR)
    assert (thread.status, thread.awaiting) == ("open", "agent")


def test_a_contact_the_shop_does_not_know_gets_the_acknowledgement_and_the_agents(
    client: Client, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    post_twilio(client, sender=NOBODY, to=SHOP_NUMBER, body="Where is my order?")
    drain(worker)
    [ack] = texts_to(outbox, NOBODY)
    assert ack.startswith("Thanks, we got your message.")
    assert len(mails_to(outbox, AGENT)) == 1
    assert outbox.entries(provider="shopify")  # it did ask the shop


def test_a_shop_that_is_down_degrades_to_the_acknowledgement_never_to_silence(
    client: Client, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    outbox.set_fault("shopify", 503, count=100)
    post_twilio(client, sender=JANA, to=SHOP_NUMBER, body="Where is my order #1042?")
    drain(worker)
    [ack] = texts_to(outbox, JANA)
    assert ack.startswith("Thanks, we got your message.")
    [notice] = mails_to(outbox, AGENT)
    assert "the shop could not be reached" in notice["text"]


def test_agent_hands_off_with_a_new_promise_and_the_agents_see_the_automatic_answer(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    post_twilio(client, sender=JANA, to=SHOP_NUMBER, body="Where is my order #1042?")
    drain(worker)
    ack = ack_of(post_twilio(client, sender=JANA, to=SHOP_NUMBER, body="AGENT"))
    assert ack is not None
    assert ack.startswith("Thanks, we got your message.")
    drain(worker)
    [notice] = mails_to(outbox, AGENT)
    assert "Order #1042 is on its way with PPL" in notice["text"]
    assert "AGENT" in notice["text"]
    thread = thread_of(container, "answers", JANA)
    assert (thread.status, thread.awaiting, thread.response_target) == (
        "open",
        "agent",
        "first_response",
    )
    assert container.repository.customer("answers", JANA).due_at == thread.response_due_at  # type: ignore[union-attr]


def test_a_day_of_silence_resolves_the_thread_automatically(
    client: Client,
    container: Container,
    worker: QueueWorker,
    timer_worker: QueueWorker,
    clock: FakeClock,
    outbox: sandbox.Sandbox,
) -> None:
    post_twilio(client, sender=SARA, to=SHOP_NUMBER, body="Where is my order?")
    drain(worker)
    [answer] = texts_to(outbox, SARA)
    assert answer.startswith(f"Order #1060 was delivered on {day(-2)}.")
    clock.advance(hours=23)
    drain(timer_worker)
    assert thread_of(container, "answers", SARA).status == "pending"
    clock.advance(hours=1, minutes=1)
    drain(timer_worker)
    thread = thread_of(container, "answers", SARA)
    assert thread.status == "closed"
    events = [
        m.body
        for m in container.repository.messages("answers", thread.thread_id)
        if m.direction == "event"
    ]
    assert events == ["resolved automatically: no reply within 24 hours"]
    assert mails_to(outbox, AGENT) == []


def test_a_store_answer_by_email_is_threaded_under_the_customers_mail(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    fields = {
        "headers": "Message-ID: <ask-1@customer.example>\nSubject: Returns",
        "from": "Jana Novakova <jana@customer.example>",
        "to": "help@answers.test",
        "subject": "Returns",
        "text": "Hello, how can I return an item?",
        "envelope": '{"to": ["help@answers.test"], "from": "jana@customer.example"}',
    }
    assert post_form(client, fields).status_code == 200
    drain(worker)
    [mail] = mails_to(outbox, "jana@customer.example")
    assert mail["text"].startswith("You can return anything within 30 days of delivery")
    assert mail["text"].rstrip().endswith(FOOTER)
    assert mails_to(outbox, AGENT) == []


def test_woocommerce_reports_the_carriers_delay(
    client: Client, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    post_twilio(client, sender=PIOTR, to=WOO_NUMBER, body="Gdzie jest moja paczka?")
    drain(worker)
    [answer] = texts_to(outbox, PIOTR)
    assert answer.startswith(
        "Zamówienie nr 1050 jest w drodze (przewoźnik InPost), ale przewoźnik zgłasza opóźnienie."
    )
    assert outbox.entries(provider="woocommerce")
    # demo-woo asks to hear of every thread (`notify_agents: "always"`), answered ones too.
    [notice] = mails_to(outbox, "kim@woo.test")
    assert "Zamówienie nr 1050 jest w drodze" in notice["text"]


def test_a_question_for_a_person_gets_the_acknowledgement_from_the_job_and_no_shop_call(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    """The webhook does not run the matcher: every new conversation of a store with
    automation goes to the answer job, which acknowledges what it does not answer."""
    response = post_twilio(client, sender=JANA, to=SHOP_NUMBER, body="My parcel arrived damaged!")
    assert ack_of(response) is None
    drain(worker)
    # Automation did not ask the shop; the agents' notification did, once, for her orders.
    assert len(outbox.entries(provider="shopify")) == 1
    [ack] = texts_to(outbox, JANA)
    assert ack.startswith("Thanks, we got your message. Someone from Answer Shop will reply")
    [notice] = mails_to(outbox, AGENT)
    assert "#1042, " in notice["text"]
    thread = thread_of(container, "answers", JANA)
    assert (thread.status, thread.awaiting) == ("open", "agent")
    assert thread.scheduled_timers  # the promise's reminder and breach are queued


def test_answers_try_runs_the_jobs_decision_and_stores_nothing(
    sandbox_url: str,
    outbox: sandbox.Sandbox,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`relaydesk answers try` on the demo store (chalicelib/stores.json), its shop the
    sandbox's: one JSON object per message, as the README promises."""
    import io
    import json

    from relaydesk.cli import main

    lines = "Where is my order #1042?\nWhere is my order #1050?\nAGENT\nHello\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    argv = ["--sandbox-url", sandbox_url, "answers", "try", "demo", "--from", JANA]
    assert main([*argv, "--json", "--batch"]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["decision"], r["kind"], r["language"]) for r in results] == [
        ("answer", "order_status", "en"),
        ("none", None, "en"),
        ("handoff", None, "en"),
        ("none", None, None),
    ]
    assert results[0]["text"].startswith("Order #1042 is on its way with PPL.")
    assert results[1]["text"] is None
    assert results[1]["reasons"][-1] == "order #1050 is not the sender's"
    assert outbox.entries(provider="twilio") == []
    assert outbox.entries(provider="sendgrid") == []
    assert main([*argv, "Do you take cash on delivery?"]) == 0
    printed = capsys.readouterr().out
    assert "decision: answer payment (en" in printed
    assert "would send:\n  You can pay by card" in printed
