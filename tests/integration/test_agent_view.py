"""The agents' view through the real handler: the notification's customer block from the
real Shopify and WooCommerce adapters against the sandbox's demo shops (stores `demo` and
`demo-woo` of chalicelib/stores.json), the customer's words in the subject, and `#order`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.composition import Container, reset_container
from chalicelib.settings import Secrets, Settings
from relaydesk import sandbox
from relaydesk.local_env import local_environment
from relaydesk.workers import QueueWorker
from tests.conftest import ROOT
from tests.integration.conftest import PUBLIC_URL, FakeClock, conversation, drain
from tests.integration.email_posts import post_parsed
from tests.integration.test_spine import post_parse, post_twilio, thread_of

JANA, JANA_EMAIL = "+420777123456", "jana@customer.example"
PIOTR = "+48600100200"
NOBODY = "+420777999999"
STORES = {
    # store: (its number, its support address, the sandbox provider of its shop)
    "demo": ("+15005550006", "support@demo.relaydesk.test", "shopify"),
    "demo-woo": ("+15005550008", "support@woo.relaydesk.test", "woocommerce"),
}
NAMES = {"demo": "Demo Store", "demo-woo": "Demo Woo Store"}


@pytest.fixture
def stores_file(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """The real stores.json (demo and demo-woo have their sandbox shops connected), with
    automatic answers off unless the test asks for "automation": every message then
    reaches the agents."""
    shipped = ROOT / "chalicelib" / "stores.json"
    if getattr(request, "param", None) == "automation":
        return shipped
    document = json.loads(shipped.read_text(encoding="utf-8"))
    for store in document["stores"]:
        if "automation" in store:
            store["automation"] = {"enabled": False}
    path = tmp_path / "stores.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.fixture
def container(
    aws: dict[str, str], sandbox_url: str, clock: FakeClock, stores_file: Path
) -> Iterator[Container]:
    environ = {
        **os.environ,
        **local_environment(
            app_url=PUBLIC_URL, aws_url=os.environ["AWS_ENDPOINT_URL"], sandbox_url=sandbox_url
        ),
        "STORES_FILE": str(stores_file),
    }
    built = Container(Settings(environ), clock=clock)
    reset_container(built)
    yield built
    reset_container(None)


@pytest.fixture(autouse=True)
def no_faults_left(outbox: sandbox.Sandbox) -> Iterator[None]:
    outbox.clear()
    yield
    outbox.clear_faults()


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def notices(outbox: sandbox.Sandbox) -> list[dict[str, Any]]:
    return [m for m in outbox.entries(provider="sendgrid") if m["reply_to"]]


def sms(client: Client, store: str, body: str, sender: str = JANA) -> None:
    response = post_twilio(client, sender=sender, to=STORES[store][0], body=body)
    assert response.status_code == 200, response.body


def test_the_notification_shows_the_customer_as_the_shop_knows_them(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    store: str,
) -> None:
    sms(client, store, "Where is my order #1042?\r\nBcc: someone@else.example\nThanks")
    drain(worker)
    [mail] = notices(outbox)
    thread = thread_of(container, store, JANA)
    name = NAMES[store]
    assert mail["subject"] == (
        f"[{name}] Where is my order #1042? (SMS, Jana Nováková, #{thread.thread_id[:6]})"
    )
    text = mail["text"]
    assert "Customer (the shop's record): Jana Nováková, +420777123456, jana@customer.example" in (
        text
    )
    assert "Last 2 orders, newest first:\n  #1043, " in text
    assert re.search(r"\n  #1043, \d\d \w{3} \d{4}, 459\.00 CZK, not yet shipped", text)
    assert re.search(
        r"\n  #1042, \d\d \w{3} \d{4}, 1,290\.00 CZK, on its way \([^)]*\); "
        r"PPL PPL123456789CZ: https://tracking\.example/PPL123456789CZ; expected ",
        text,
    )
    assert f"History with {name}: 1 conversation (SMS); this is the first." in text
    # The block sits above the conversation.
    assert text.index("Last 2 orders") < text.index("--- Conversation ---")
    lookups = outbox.entries(provider=STORES[store][2])
    assert lookups, "the shop was asked in the job"


def test_another_customer_sees_only_their_own_orders(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox, store: str
) -> None:
    sms(client, store, "Hello, any news?", sender=PIOTR)
    sms(client, store, "Hi", sender=NOBODY)
    drain(worker)
    piotr, nobody = sorted(notices(outbox), key=lambda m: "Piotr" not in m["subject"])
    assert "(SMS, Piotr Kowalski, #" in piotr["subject"]
    assert "#1050, " in piotr["text"]
    assert "on its way, delayed (" in piotr["text"]
    assert "1042" not in piotr["text"]
    assert "Nováková" not in piotr["text"]
    assert f"(SMS, {NOBODY}, #" in nobody["subject"]
    assert "Orders: the shop has none for this customer's address." in nobody["text"]
    assert "the shop has no record of this customer" in nobody["text"]


def test_a_shop_that_is_down_still_notifies_without_orders(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox, store: str
) -> None:
    outbox.set_fault(STORES[store][2], 503, 50)
    sms(client, store, "Where is my order?")
    assert drain(worker) == 1  # the job succeeded: no retry, no dead letter
    [mail] = notices(outbox)
    assert f"(SMS, {JANA}, #" in mail["subject"]  # no name without the shop
    assert "Orders: not shown, the shop could not be reached just now." in mail["text"]
    assert "the shop did not answer" in mail["text"]
    assert "Customer (the shop's record)" not in mail["text"]
    thread = thread_of(container, store, JANA)
    assert all(m.notified_at for m in conversation(container, thread.thread_id, store))


def test_bad_shop_credentials_are_said_and_do_not_stop_the_notification(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
) -> None:
    wrong = {**container.settings.environ, "SHOPIFY_ACCESS_TOKEN_DEMO": "shpat_wrong"}
    container.secrets = Secrets(wrong)
    sms(client, "demo", "Where is my order?")
    drain(worker)
    [mail] = notices(outbox)
    assert "Orders: not shown, the shop refused relaydesk's request" in mail["text"]
    assert "shpat_wrong" not in mail["text"]


def test_other_channels_are_linked_by_number_and_by_the_shops_record(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
    store: str,
) -> None:
    support = STORES[store][1]
    response = post_parsed(
        client,
        sender=JANA_EMAIL,
        to=support,
        subject="Re: Order 1042",
        text="Where is it?",
        message_id="<jana-1@customer.example>",
    )
    assert response.status_code == 200, response.body
    clock.advance(minutes=10)
    whatsapp = post_twilio(
        client, sender=f"whatsapp:{JANA}", to=f"whatsapp:{STORES[store][0]}", body="Ahoj"
    )
    assert whatsapp.status_code == 200
    clock.advance(minutes=10)
    sms(client, store, "Anyone there?")
    drain(worker)
    by_channel = {m["subject"].rsplit("(", 1)[1].split(",")[0]: m for m in notices(outbox)}
    assert by_channel["e-mail"]["subject"].startswith(f"[{NAMES[store]}] Order 1042 (e-mail, ")
    text = by_channel["SMS"]["text"]
    email_thread = thread_of(container, store, JANA_EMAIL)
    whatsapp_thread = thread_of(container, store, f"whatsapp:{JANA}")
    assert f"History with {NAMES[store]}: 3 conversations (SMS, WhatsApp, e-mail)" in text
    assert "before this one, the last was" in text
    assert "(WhatsApp)." in text
    assert "Addresses linked by the same number and the shop's record." in text
    assert f"Also open: e-mail conversation #{email_thread.thread_id[:6]} (open, assigned to" in (
        text
    )
    assert f"Also open: WhatsApp conversation #{whatsapp_thread.thread_id[:6]} (open" in text


@pytest.mark.parametrize("stores_file", ["automation"], indirect=True)
def test_a_hand_off_after_an_automatic_answer_shows_the_customer_and_the_answer(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
) -> None:
    sms(client, "demo", "Where is my order #1042?")
    drain(worker)
    assert notices(outbox) == []  # answered automatically; nobody mailed yet
    clock.advance(minutes=2)  # (messages of one instant sort by their random ids)
    sms(client, "demo", "AGENT")
    drain(worker)
    [mail] = notices(outbox)
    thread = thread_of(container, "demo", JANA)
    assert mail["subject"] == (
        f"[Demo Store] Where is my order #1042? (SMS, Jana Nováková, #{thread.thread_id[:6]})"
    )
    assert "Customer (the shop's record): Jana Nováková" in mail["text"]
    assert "\n  #1042, " in mail["text"]
    assert "[answered automatically: order status]" in mail["text"]


def reply(client: Client, outbox: sandbox.Sandbox, text: str, agent: str) -> Any:
    to = notices(outbox)[-1]["reply_to"]
    response = post_parse(client, sender=agent, to=to, text=text)
    assert response.status_code == 200, response.body
    return response


def test_order_attaches_and_templates_use_it(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox, store: str
) -> None:
    number = STORES[store][0]
    sms(client, store, "Where is my parcel?", sender=PIOTR)
    drain(worker)
    agent = notices(outbox)[-1]["to"]
    response = reply(client, outbox, "#order 1042", agent)
    assert b"queued for the shop" in response.body
    drain(worker)
    thread = thread_of(container, store, PIOTR)
    assert thread.attached_order == "1042"
    assert outbox.entries(provider="twilio") == []  # nothing to the customer
    events = [m.body for m in container.repository.messages(store, thread.thread_id)]
    assert any(e.startswith("order #1042 attached: #1042, ") for e in events), events
    # Agents may look up any order of their store; the notification says whose it is not.
    sms(client, store, "Hello?", sender=PIOTR)
    drain(worker)
    text = notices(outbox)[-1]["text"]
    assert "Attached order (not this customer's order, per the shop): #1042, " in text

    reply(client, outbox, "#template tracking\nSorry it took so long.", agent)
    drain(worker)
    [sent] = outbox.entries(provider="twilio")
    assert (sent["from"], sent["to"]) == (number, PIOTR)
    assert sent["body"] == (
        "Your order #1042 is on its way. Track it with PPL: "
        "https://tracking.example/PPL123456789CZ\n\nSorry it took so long."
    )


def test_an_unknown_order_or_a_shop_down_is_told_to_the_agent_and_nothing_is_sent(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox, store: str
) -> None:
    sms(client, store, "Where is my order?")
    drain(worker)
    agent = notices(outbox)[-1]["to"]
    reply(client, outbox, "#order 9999\n#template tracking\nSorry for the wait.", agent)
    drain(worker)
    [told] = [m for m in outbox.entries(to=agent) if m["subject"].startswith("Not sent")]
    assert "#order 9999: the shop of" in told["text"]
    assert "has no such order" in told["text"]
    outbox.set_fault(STORES[store][2], 503, 50)
    reply(client, outbox, "#order 1043\nHere is your order.", agent)
    drain(worker)
    told = [m for m in outbox.entries(to=agent) if m["subject"].startswith("Not sent")][-1]
    assert "#order 1043: the shop could not be reached just now" in told["text"]
    outbox.clear_faults()
    thread = thread_of(container, store, JANA)
    assert thread.attached_order is None
    assert outbox.entries(provider="twilio") == []
    # A saved reply with {order.*} and no order attached is refused at once (no job).
    response = reply(client, outbox, "#template tracking", agent)
    assert b"no order is attached" in response.body
