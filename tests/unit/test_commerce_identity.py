"""Who an order belongs to: phones as E.164 whatever the shop stored, e-mails case-folded."""

from __future__ import annotations

import pytest

from chalicelib.commerce.identity import normalise_email, normalise_phone
from chalicelib.commerce.port import Contact, Customer, Order, OrderState


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+420777123456", None, "+420777123456"),
        ("+420 777 123 456", None, "+420777123456"),
        ("777 123 456", "CZ", "+420777123456"),
        ("777123456", "cz", "+420777123456"),
        ("00420 777 123 456", "CZ", "+420777123456"),
        ("+48 600-100-200", "PL", "+48600100200"),
        ("09121234567", "IR", "+989121234567"),
        ("(201) 555-0123", "US", "+12015550123"),
        ("+15005550006", None, "+15005550006"),
    ],
)
def test_a_phone_in_any_common_form_reads_as_e164(
    raw: str, region: str | None, expected: str
) -> None:
    assert normalise_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("777 123 456", None),  # national, no country to read it in
        ("12", "CZ"),
        ("call me", None),
        ("", "CZ"),
        (None, None),
        ("+420 12", None),
    ],
)
def test_a_phone_that_cannot_be_read_is_none_and_matches_nobody(
    raw: str | None, region: str | None
) -> None:
    assert normalise_phone(raw, region) is None


def test_emails_are_trimmed_and_case_folded() -> None:
    assert normalise_email("  Jana@Customer.EXAMPLE ") == "jana@customer.example"
    assert normalise_email("not an address") is None
    assert normalise_email(None) is None


def test_a_contact_is_read_from_a_channel_address() -> None:
    assert Contact.of("whatsapp:+420777123456") == Contact(phone="+420777123456")
    assert Contact.of("+420 777 123 456") == Contact(phone="+420777123456")
    assert Contact.of("JANA@customer.example") == Contact(email="jana@customer.example")
    with pytest.raises(ValueError, match=r"E\.164"):
        Contact.of("nobody")
    with pytest.raises(ValueError, match="phone or an e-mail"):
        Contact()


def _order(emails: set[str], phones: set[str]) -> Order:
    from datetime import UTC, datetime
    from decimal import Decimal

    return Order(
        number="1042",
        created_at=datetime(2026, 11, 28, tzinfo=UTC),
        total=Decimal("1290.00"),
        currency="CZK",
        state=OrderState.SHIPPED,
        customer=Customer("Jana Nováková", frozenset(emails), frozenset(phones)),
    )


def test_an_order_belongs_only_to_its_customers_phone_or_address() -> None:
    order = _order({"jana@customer.example"}, {"+420777123456"})

    assert order.belongs_to(Contact(phone="+420777123456"))
    assert order.belongs_to(Contact(email="jana@customer.example"))
    assert order.belongs_to(Contact(phone="+420777999999", email="jana@customer.example"))
    assert not order.belongs_to(Contact(phone="+420777999999"))
    assert not order.belongs_to(Contact(email="piotr@customer.example"))
    # A shop that knows no contact for the order reveals it to nobody.
    assert not _order(set(), set()).belongs_to(Contact(phone="+420777123456"))
