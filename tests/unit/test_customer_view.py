"""What agents read about a customer, and saved replies filled from an order (no sockets)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from chalicelib.domain.customer_view import (
    ORDER_FIELDS,
    CustomerView,
    History,
    OrderFacts,
    OtherThread,
    ShopAnswer,
    ShopRecord,
    TemplateError,
    context_lines,
    fill_order,
    order_line,
    unknown_placeholders,
)
from chalicelib.domain.notification import (
    first_words,
    notification_subject,
    notification_text,
    subject_words,
)

TZ = "Europe/Prague"
SHIPPED = OrderFacts(
    number="1042",
    created_at=datetime(2026, 11, 29, 9, 0, tzinfo=UTC),
    total=Decimal("1290.00"),
    currency="CZK",
    state="shipped",
    shop_status="PAID/FULFILLED",
    carrier="PPL",
    tracking_number="PPL123456789CZ",
    tracking_url="https://tracking.example/PPL123456789CZ",
    estimated_delivery=datetime(2026, 12, 2, 12, 0, tzinfo=UTC),
    last_event="in_transit",
)
UNSHIPPED = OrderFacts(
    number="1043",
    created_at=datetime(2026, 11, 30, 23, 30, tzinfo=UTC),  # 1 Dec in Prague
    total=Decimal("459.00"),
    currency="CZK",
    state="unfulfilled",
    shop_status="PAID/UNFULFILLED",
)
JANA = ShopRecord("Jana Nováková", ("+420777123456",), ("jana@customer.example",))


def lines(view: CustomerView) -> list[str]:
    return context_lines(view, store_name="Demo Store", timezone=TZ)


def test_the_customer_and_their_orders_newest_first() -> None:
    view = CustomerView(
        shop=ShopAnswer.FOUND,
        record=JANA,
        orders=(UNSHIPPED, SHIPPED),
        history=History(conversations=1, channels=("sms",)),
    )
    assert lines(view) == [
        "Customer (the shop's record): Jana Nováková, +420777123456, jana@customer.example",
        "Last 2 orders, newest first:",
        "  #1043, 01 Dec 2026, 459.00 CZK, not yet shipped (PAID/UNFULFILLED)",
        "  #1042, 29 Nov 2026, 1,290.00 CZK, on its way (PAID/FULFILLED); "
        "PPL PPL123456789CZ: https://tracking.example/PPL123456789CZ; expected 02 Dec 2026",
        "History with Demo Store: 1 conversation (SMS); this is the first.",
    ]


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (ShopAnswer.UNAVAILABLE, "Orders: not shown, the shop could not be reached just now."),
        (ShopAnswer.REFUSED, "Orders: not shown, the shop refused relaydesk's request"),
        (ShopAnswer.NO_ORDERS, "Orders: the shop has none for this customer's address."),
        (ShopAnswer.NO_CONTACT, "Orders: not looked up"),
    ],
)
def test_what_the_shop_could_not_tell_is_one_line(answer: ShopAnswer, said: str) -> None:
    [line] = lines(CustomerView(shop=answer))
    assert line.startswith(said)


def test_a_store_without_a_shop_says_nothing_about_orders() -> None:
    assert lines(CustomerView()) == []


def test_history_is_honest_about_what_it_counts_and_links() -> None:
    history = History(
        conversations=3,
        at_least=True,
        channels=("sms", "whatsapp", "email"),
        previous_at=datetime(2026, 11, 20, 15, 40, tzinfo=UTC),
        previous_channel="whatsapp",
        linked_by=("the same number", "the shop's record"),
    )
    [line] = lines(CustomerView(history=history))
    assert line == (
        "History with Demo Store: at least 3 conversations (SMS, WhatsApp, e-mail); before "
        "this one, the last was Fri 20 Nov 16:40 (WhatsApp). Addresses linked by the same "
        "number and the shop's record."
    )
    unlinked = History(conversations=1, unlinked="Other contacts … the shop did not answer.")
    [line] = lines(CustomerView(history=unlinked))
    assert line.endswith("this is the first. Other contacts … the shop did not answer.")


def test_other_open_threads_and_an_attached_order() -> None:
    other = OtherThread(
        channel="email",
        thread_id="577cfed953e6b85f",
        status="pending",
        last_at=datetime(2026, 11, 20, 15, 30, tzinfo=UTC),
        assignee="Sam",
    )
    view = CustomerView(
        other_open=(other,), attached=SHIPPED, attached_number="1042", attached_theirs=False
    )
    attached, also = lines(view)
    assert attached.startswith("Attached order (not this customer's order, per the shop): #1042,")
    assert also == (
        "Also open: e-mail conversation #577cfe (pending, assigned to Sam, "
        "last message Fri 20 Nov 16:30)."
    )
    [unread] = lines(CustomerView(attached_number="1042"))
    assert unread == "Attached order: #1042 (not shown, the shop did not answer)."


def test_shop_data_stays_on_one_line() -> None:
    odd = OrderFacts(
        number="1",
        created_at=SHIPPED.created_at,
        total=Decimal("1"),
        currency="EUR",
        state="shipped",
        carrier="Post\r\nBcc: x@y.example",
    )
    assert "\n" not in order_line(odd, TZ)
    assert "\r" not in order_line(odd, TZ)


@pytest.mark.parametrize(
    ("event", "status"),
    [
        ("in_transit", "on its way"),
        ("delayed", "on its way, delayed"),
        ("out_for_delivery", "on its way, out for delivery"),
        (None, "on its way"),
    ],
)
def test_a_shipped_orders_status_says_the_carriers_news(event: str | None, status: str) -> None:
    order = OrderFacts("1", SHIPPED.created_at, Decimal("1"), "EUR", "shipped", last_event=event)
    assert order.status == status


# -- the subject ---------------------------------------------------------------------------


def test_the_subject_carries_the_customers_first_words_channel_and_name() -> None:
    words = subject_words(
        email_subject=None, first_message="Where is my order #1042?\nThanks", media=False
    )
    subject = notification_subject(
        store_name="Demo Store",
        channel="sms",
        words=words,
        who="Jana Nováková",
        thread_id="3f9a1c22",
    )
    assert subject == "[Demo Store] Where is my order #1042? (SMS, Jana Nováková, #3f9a1c)"


def test_an_email_subject_is_used_without_its_reply_prefixes() -> None:
    assert subject_words(email_subject="Re: FWD: Order 1042", first_message="x", media=False) == (
        "Order 1042"
    )
    assert subject_words(email_subject="Re:", first_message="\n\n  My parcel", media=False) == (
        "My parcel"
    )
    assert subject_words(email_subject=None, first_message="", media=True) == "(attachment only)"
    assert subject_words(email_subject=None, first_message=" ", media=False) == "(no text)"


def test_long_words_are_cut_at_a_word_and_nothing_breaks_the_header() -> None:
    words = first_words("Hello " + "word " * 30)
    assert len(words) <= 60
    assert words.endswith("word…")
    subject = notification_subject(
        store_name="Demo Store",
        channel="email",
        words=subject_words(
            email_subject="Order\r\nBcc: victim@example.com", first_message=None, media=False
        ),
        who="Eve\nTo: x@y.example" + "x" * 100,
        thread_id="abcdef",
    )
    assert "\r" not in subject
    assert "\n" not in subject
    assert subject.startswith("[Demo Store] Order Bcc: victim@example.com (e-mail, Eve To: ")
    assert len(subject) < 160


def test_the_context_sits_between_the_threads_facts_and_the_conversation() -> None:
    text = notification_text(
        store_name="Demo Store",
        channel="sms",
        customer="+420777123456",
        profile_name=None,
        due_at=None,
        timezone=TZ,
        transcript=[],
        context=["Orders: not shown, the shop could not be reached just now."],
    )
    assert text.index("Status: open.") < text.index("Orders: not shown") < text.index("--- Conv")
    assert "#order <number>" in text


# -- saved replies with {order.*} -----------------------------------------------------------


def test_a_saved_reply_is_filled_from_the_order() -> None:
    template = (
        "Order #{order.number} of {order.date} ({order.total}) is {order.status}: "
        "{order.carrier} {order.tracking_number} {order.tracking_url}, by "
        "{order.estimated_delivery}. {not.ours} {order}"
    )
    assert fill_order(template, SHIPPED, timezone=TZ) == (
        "Order #1042 of 29 Nov 2026 (1,290.00 CZK) is on its way: PPL PPL123456789CZ "
        "https://tracking.example/PPL123456789CZ, by 02 Dec 2026. {not.ours} {order}"
    )


def test_a_reply_without_placeholders_needs_no_order() -> None:
    assert fill_order("Orders ship in 2 days.", None, timezone=TZ) == "Orders ship in 2 days."


def test_without_an_order_or_a_value_nothing_is_half_filled() -> None:
    with pytest.raises(TemplateError, match="no order is attached"):
        fill_order("{order.tracking_url}", None, timezone=TZ)
    with pytest.raises(TemplateError, match=r"order #1043 \(not yet shipped\) has no tracking url"):
        fill_order("Track it: {order.tracking_url}", UNSHIPPED, timezone=TZ)


def test_unknown_placeholders_are_found_for_the_configuration_check() -> None:
    assert unknown_placeholders("{order.number} {order.colour} {order.size}") == ("colour", "size")
    assert unknown_placeholders(" ".join(f"{{order.{f}}}" for f in ORDER_FIELDS)) == ()
