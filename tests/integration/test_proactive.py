"""Proactive messages end to end: signed Shopify webhooks through the Chalice handler, the
proactive job re-reading the order from the sandbox's Shopify with the real adapter, the
customer's channel through the real SDKs, and their reply reaching the agents.

Store `answers` (tests/fixtures/stores.json) is connected to the sandbox's Shopify shop
and texts customers who never wrote (`proactive.text_new_customers`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.commerce.shopify_webhook import sign
from chalicelib.composition import Container
from relaydesk import sandbox
from relaydesk.local_env import (
    DEMO_SHOPIFY_SHOP,
    LOCAL_SHOPIFY_WEBHOOK_SECRET,
    LOCAL_WOO_WEBHOOK_SECRET,
)
from relaydesk.sandbox.shop_data import clear_news, set_news, shopify_order_id
from relaydesk.workers import QueueWorker
from tests.integration.conftest import FakeClock, drain, queue_depth, table_items
from tests.integration.test_spine import post_twilio

SHOP_NUMBER = "+15005550030"
PIOTR, JANA = "+48600100200", "+420777123456"
AGENT = "kim@answers.test"
PATH = "/webhooks/shopify"


@pytest.fixture
def outbox(sandbox_server: sandbox.SandboxServer) -> Iterator[sandbox.Sandbox]:
    sandbox_server.sandbox.clear()
    clear_news()
    yield sandbox_server.sandbox
    sandbox_server.sandbox.clear_faults()
    clear_news()


def post_event(
    client: Client,
    *,
    order: str = "1050",
    status: str = "delayed",
    topic: str = "fulfillment_events/create",
    event_id: str | None = None,
    happened_at: datetime | None = None,
    secret: str = LOCAL_SHOPIFY_WEBHOOK_SECRET,
    shop: str = DEMO_SHOPIFY_SHOP,
    body: bytes | None = None,
) -> Any:
    if body is None:
        payload: dict[str, Any] = {
            "id": 9_000_001,
            "fulfillment_id": 8_000_001,
            "order_id": shopify_order_id(order),
            "status": status,
            "happened_at": (happened_at or datetime.now(UTC)).isoformat(),
        }
        if topic == "orders/cancelled":
            payload = {"id": shopify_order_id(order), "name": f"#{order}"}
        body = json.dumps(payload).encode()
    return client.http.post(
        PATH,
        headers={
            "Content-Type": "application/json",
            "X-Shopify-Hmac-Sha256": sign(secret, body),
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": shop,
            "X-Shopify-Event-Id": event_id or uuid.uuid4().hex,
            "X-Shopify-Webhook-Id": uuid.uuid4().hex,
            "X-Shopify-API-Version": "2025-07",
        },
        body=body,
    )


def texts_to(outbox: sandbox.Sandbox, to: str) -> list[str]:
    return [m["body"] for m in outbox.entries(provider="twilio") if m["to"] == to]


def mails_to(outbox: sandbox.Sandbox, to: str) -> list[dict[str, Any]]:
    return [m for m in outbox.entries(provider="sendgrid") if m["to"] == to]


def status(response: Any) -> tuple[int, str]:
    return response.status_code, json.loads(response.body).get("status", "")


def test_a_forged_signature_is_401_and_stores_and_queues_nothing(
    client: Client, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    response = post_event(client, secret="not-the-app-secret")
    assert response.status_code == 401
    assert "WWW-Authenticate" not in response.headers
    unsigned = post_event(client, body=b'{"order_id": 7000001050}', secret="")
    assert unsigned.status_code == 401
    assert table_items() == []
    assert queue_depth(worker) == 0


def test_an_unknown_shop_is_404_a_topic_we_ignore_200_and_malformed_json_400(
    client: Client, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    assert post_event(client, shop="someone-else.myshopify.com").status_code == 404
    assert status(post_event(client, topic="products/update")) == (200, "ignored")
    assert post_event(client, body=b"{not json").status_code == 400
    assert post_event(client, body=b'{"status": "delayed"}').status_code == 400
    assert table_items() == []
    assert queue_depth(worker) == 0


def test_a_delay_reaches_a_customer_who_never_wrote_by_sms_in_polish_once(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    assert status(post_event(client, event_id="evt-1")) == (200, "queued")
    drain(worker)
    [text] = texts_to(outbox, PIOTR)
    assert text.startswith("Answer Shop: Twoje zamówienie nr 1050 jest opóźnione")
    assert "https://tracking.example/INP998877" in text
    assert text.endswith("Masz pytania? Po prostu odpowiedz na tę wiadomość.")
    [sms] = [m for m in outbox.entries(provider="twilio") if m["to"] == PIOTR]
    assert sms["from"] == SHOP_NUMBER

    # The same event again (Shopify's retry), and the same news in a new event: silence.
    assert status(post_event(client, event_id="evt-1")) == (200, "duplicate")
    assert status(post_event(client, event_id="evt-2")) == (200, "queued")
    drain(worker)
    assert len(texts_to(outbox, PIOTR)) == 1

    pointer = container.repository.customer("answers", PIOTR)
    assert pointer is not None
    assert pointer.open_thread_id
    thread = container.repository.thread("answers", pointer.open_thread_id)
    assert thread is not None
    assert (thread.proactive, thread.channel, thread.status, thread.attached_order) == (
        "order #1050: delayed",
        "sms",
        "pending",
        "1050",
    )
    [message] = container.repository.messages("answers", thread.thread_id)
    assert (message.direction, message.automatic, message.delivery_status) == (
        "out",
        "proactive:delayed",
        "sent",
    )


def test_the_customers_reply_continues_the_conversation_and_reaches_the_agents(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    post_event(client)
    drain(worker)
    pointer = container.repository.customer("answers", PIOTR)
    assert pointer is not None
    thread_id = pointer.open_thread_id
    reply = post_twilio(client, sender=PIOTR, to=SHOP_NUMBER, body="Kiedy dotrze?")
    assert reply.status_code == 200
    drain(worker)
    after = container.repository.customer("answers", PIOTR)
    assert after is not None
    assert after.open_thread_id == thread_id
    thread = container.repository.thread("answers", str(thread_id))
    assert thread is not None
    assert (thread.status, thread.awaiting) == ("open", "agent")
    [notice] = mails_to(outbox, AGENT)
    assert "Kiedy dotrze?" in notice["text"]
    assert "zamówienie nr 1050" in notice["text"]
    assert "Attached order: #1050" in notice["text"]


def test_a_customer_who_wrote_before_hears_on_their_own_thread(
    client: Client,
    container: Container,
    clock: FakeClock,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
) -> None:
    czech = "Dobrý den, mám dotaz k objednávce 1042, děkuji"
    post_twilio(client, sender=JANA, to=SHOP_NUMBER, body=czech)
    drain(worker)
    pointer = container.repository.customer("answers", JANA)
    assert pointer is not None
    before = len(texts_to(outbox, JANA))
    clock.advance(minutes=5)
    set_news("1042", "ATTEMPTED_DELIVERY", datetime.now(UTC))
    post_event(client, order="1042", status="attempted_delivery")
    drain(worker)
    texts = texts_to(outbox, JANA)
    assert len(texts) == before + 1
    assert texts[-1].startswith("Answer Shop: dopravce se pokusil doručit")
    thread_messages = container.repository.messages("answers", str(pointer.open_thread_id))
    assert [m.automatic for m in thread_messages if m.direction == "out"][-1] == (
        "proactive:attempted_delivery"
    )


def test_out_of_order_and_stale_events_tell_nothing_older_than_what_was_told(
    client: Client, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    now = datetime.now(UTC)
    set_news("1050", "FAILURE", now)
    post_event(client, status="failure", happened_at=now)
    drain(worker)
    [failed] = texts_to(outbox, PIOTR)
    assert "nie powiodło się" in failed
    # The earlier DELAYED event arrives late: the shop says FAILURE, told already.
    post_event(client, status="delayed", happened_at=now - timedelta(hours=5))
    drain(worker)
    assert texts_to(outbox, PIOTR) == [failed]
    # And the shop itself goes back to older news than what was told: still silence.
    set_news("1050", "DELAYED", now - timedelta(hours=5))
    post_event(client, status="delayed", happened_at=now - timedelta(hours=5))
    drain(worker)
    assert texts_to(outbox, PIOTR) == [failed]


def test_a_second_event_for_news_being_sent_leaves_the_live_send_alone(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    """Two events about one change (Shopify sends several topics for one fulfilment) make
    two jobs; the second finds the message recorded while the first still sends it. It
    must not take that send over (only SQS's redelivery of a job that died may)."""
    assert status(post_event(client, event_id="evt-1")) == (200, "queued")
    drain(worker)
    assert len(texts_to(outbox, PIOTR)) == 1
    pointer = container.repository.customer("answers", PIOTR)
    assert pointer is not None
    assert pointer.open_thread_id
    [message] = container.repository.messages("answers", pointer.open_thread_id)
    message.update(actions=[type(message).delivery_status.set("sending")])  # the first job, live
    assert status(post_event(client, event_id="evt-2")) == (200, "queued")
    drain(worker)
    assert len(texts_to(outbox, PIOTR)) == 1
    [still] = container.repository.messages("answers", pointer.open_thread_id)
    assert still.delivery_status == "sending"


def test_a_shop_that_is_down_when_the_job_re_reads_is_retried_and_tells_once(
    client: Client, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    outbox.set_fault("shopify", 503, count=2)
    assert status(post_event(client)) == (200, "queued")
    drain(worker)
    assert len(texts_to(outbox, PIOTR)) == 1


def test_a_cancelled_order_is_told_by_e_mail_where_texting_new_customers_is_off(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    from dataclasses import replace

    store = container.stores.by_id("answers")
    assert store is not None
    container.stores._by_id["answers"] = replace(  # a test's own copy of the store
        store, proactive=replace(store.proactive, text_new_customers=False)
    )
    set_news("1050", "CANCELLED", datetime.now(UTC))
    post_event(client, topic="orders/cancelled")
    drain(worker)
    assert texts_to(outbox, PIOTR) == []
    [mail] = mails_to(outbox, "piotr@customer.example")
    assert "zostało anulowane" in mail["text"]
    assert "1050" in mail["subject"]


def test_a_text_in_the_quiet_hours_waits_for_the_morning(
    client: Client,
    clock: FakeClock,
    worker: QueueWorker,
    timer_worker: QueueWorker,
    outbox: sandbox.Sandbox,
) -> None:
    clock.now = datetime(2026, 11, 20, 21, 30, tzinfo=UTC)  # 22:30 in Prague
    post_event(client)
    drain(worker)
    assert texts_to(outbox, PIOTR) == []
    clock.now = datetime(2026, 11, 21, 7, 1, tzinfo=UTC)  # 08:01 in Prague
    drain(timer_worker)
    assert len(texts_to(outbox, PIOTR)) == 1


def test_news_nobody_answers_is_resolved_three_days_later_and_a_reply_keeps_it_open(
    client: Client,
    container: Container,
    clock: FakeClock,
    worker: QueueWorker,
    timer_worker: QueueWorker,
    outbox: sandbox.Sandbox,
) -> None:
    clock.now = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # 11:00 in Prague
    post_event(client, order="1050")
    drain(worker)
    pointer = container.repository.customer("answers", PIOTR)
    assert pointer is not None
    assert pointer.open_thread_id
    thread_id = str(pointer.open_thread_id)

    clock.now += timedelta(days=2, hours=23)
    drain(timer_worker)
    thread = container.repository.thread("answers", thread_id)
    assert thread is not None
    assert thread.status == "pending"

    clock.now += timedelta(hours=1, minutes=1)
    drain(timer_worker)
    drain(worker)  # the retention job
    thread = container.repository.thread("answers", thread_id)
    assert thread is not None
    assert (thread.status, thread.expires_at is not None) == ("closed", True)
    history = container.repository.messages("answers", thread_id)
    assert [m.body for m in history if m.direction == "event"] == [
        "resolved automatically: no reply within 3 days of the shipment news"
    ]

    # Jana's news, then her reply within the three days: the thread is hers and the agents'.
    set_news("1042", "DELAYED", clock.now)
    post_event(client, order="1042")
    drain(worker)
    jana = container.repository.customer("answers", JANA)
    assert jana is not None
    assert jana.open_thread_id
    reply = post_twilio(client, sender=JANA, to=SHOP_NUMBER, body="Thanks, no rush.")
    assert reply.status_code == 200
    drain(worker)
    clock.now += timedelta(days=3, minutes=1)
    drain(timer_worker)
    kept = container.repository.thread("answers", str(jana.open_thread_id))
    assert kept is not None
    assert kept.status == "open"


# -- WooCommerce ------------------------------------------------------------------------------


def post_woo(
    client: Client,
    *,
    order: str = "1050",
    woo_status: str = "cancelled",
    delivery_id: str | None = None,
    secret: str = LOCAL_WOO_WEBHOOK_SECRET,
    source: str = "https://shop.woo.relaydesk.test/",
    body: bytes | None = None,
    topic: str = "order.updated",
) -> Any:
    if body is None:
        body = json.dumps(
            {"id": int(order), "number": order, "status": woo_status, "date_modified_gmt": None}
        ).encode()
    return client.http.post(
        "/webhooks/woocommerce",
        headers={
            "Content-Type": "application/json",
            "X-WC-Webhook-Signature": sign(secret, body),
            "X-WC-Webhook-Source": source,
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-ID": "1",
            "X-WC-Webhook-Delivery-ID": delivery_id or uuid.uuid4().hex,
        },
        body=body,
    )


def test_woocommerce_ping_signature_shop_and_a_cancelled_order(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    from dataclasses import replace

    store = container.stores.by_id("demo-woo")
    assert store is not None
    assert status(post_woo(client)) == (200, "off")  # the store does not tell: nothing queued
    assert table_items() == []
    container.stores._by_id["demo-woo"] = replace(  # a test's own copy of the store
        store, proactive=replace(store.proactive, enabled=True)
    )
    ping = client.http.post(
        "/webhooks/woocommerce",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=b"webhook_id=17",
    )
    assert status(ping) == (200, "ping")
    assert post_woo(client, secret="wrong").status_code == 401
    assert post_woo(client, source="https://elsewhere.example/").status_code == 404
    assert status(post_woo(client, topic="product.updated")) == (200, "ignored")
    assert table_items() == []

    set_news("1050", "CANCELLED", datetime.now(UTC))
    assert status(post_woo(client, delivery_id="d-1")) == (200, "queued")
    assert status(post_woo(client, delivery_id="d-1")) == (200, "duplicate")
    post_woo(client)  # another update of the same order: the same news, told once
    drain(worker)
    [mail] = mails_to(outbox, "piotr@customer.example")
    assert "zostało anulowane" in mail["text"]
    assert texts_to(outbox, PIOTR) == []


def test_commerce_subscribe_creates_the_webhooks_once_and_dry_run_changes_nothing(
    sandbox_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from relaydesk.cli import main
    from relaydesk.sandbox import shopify as sandbox_shopify
    from relaydesk.sandbox import woocommerce as sandbox_woo

    sandbox_shopify.SUBSCRIPTIONS.clear()
    sandbox_woo.WEBHOOKS.clear()
    base = ["--sandbox-url", sandbox_url, "commerce", "subscribe"]
    url = "https://hooks.example.test/api"
    assert main([*base, "demo", "--url", url, "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"would subscribe {topic} -> {url}/webhooks/shopify"
        for topic in (
            "FULFILLMENT_EVENTS_CREATE",
            "FULFILLMENTS_UPDATE",
            "ORDERS_CANCELLED",
            "REFUNDS_CREATE",
        )
    ]
    assert sandbox_shopify.SUBSCRIPTIONS == []
    assert main([*base, "demo", "--url", url]) == 0
    assert capsys.readouterr().out.count("subscribed ") == 4
    assert main([*base, "demo", "--url", url]) == 0
    assert capsys.readouterr().out.count("already subscribed ") == 4
    assert len(sandbox_shopify.SUBSCRIPTIONS) == 4

    assert main([*base, "demo-woo", "--url", url]) == 0
    assert capsys.readouterr().out.strip() == (
        f"subscribed order.updated -> {url}/webhooks/woocommerce"
    )
    assert [(w["topic"], w["delivery_url"]) for w in sandbox_woo.WEBHOOKS] == [
        ("order.updated", f"{url}/webhooks/woocommerce")
    ]
    # Five failed deliveries later WooCommerce has disabled it: subscribing again re-enables it.
    sandbox_woo.WEBHOOKS[0]["status"] = "disabled"
    assert main([*base, "demo-woo", "--url", url]) == 0
    assert capsys.readouterr().out.strip() == (
        f"re-enabled order.updated -> {url}/webhooks/woocommerce (was disabled)"
    )
    assert [w["status"] for w in sandbox_woo.WEBHOOKS] == ["active"]
    assert main([*base, "demo-woo", "--url", url]) == 0
    assert capsys.readouterr().out.startswith("already subscribed order.updated")
    assert main([*base, "demo-fast", "--url", url]) == 2
