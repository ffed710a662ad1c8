"""What relaydesk needs to know about a shop's orders, in our own words, whatever the platform.

The adapters (shopify.py, woocommerce.py) translate the vendor's shapes and errors into these,
so the answer flow and the agents' notification never see a vendor's field name or exception.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from chalicelib.commerce.identity import normalise_email, normalise_phone


class ShopError(Exception):
    """A shop could not answer; the message names the shop and why, never a credential."""


class ShopUnavailable(ShopError):
    """Transient: 5xx, a timeout, the shop unreachable, or throttled beyond our time budget.

    The caller degrades to the acknowledgement and the agents, and may try again later."""


class ShopRefused(ShopError):
    """Permanent until someone changes the configuration: bad credentials, a missing scope,
    another 4xx. Retrying will not help; the store's owner must be told."""


class OrderState(enum.Enum):
    """An order's state as a customer understands it, from the platform's several statuses."""

    UNFULFILLED = "unfulfilled"
    """Paid or pending, not yet handed to a carrier."""
    SHIPPED = "shipped"
    """Handed to a carrier (wholly or partly), not known to be delivered."""
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    UNKNOWN = "unknown"
    """A status we cannot read (a plugin's own, say): prefer silence to a wrong answer."""


class ShipmentEvent(enum.Enum):
    """The carrier's latest news about a shipment, as far as the shop knows it."""

    CONFIRMED = "confirmed"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    READY_FOR_PICKUP = "ready_for_pickup"
    ATTEMPTED_DELIVERY = "attempted_delivery"
    DELAYED = "delayed"
    DELIVERED = "delivered"
    FAILURE = "failure"
    RETURNING_TO_SENDER = "returning_to_sender"
    """Shopify's newer API versions; a carrier sending the parcel back."""


@dataclass(frozen=True)
class Shipment:
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None
    shipped_at: datetime | None = None
    estimated_delivery: datetime | None = None
    delivered_at: datetime | None = None
    last_event: ShipmentEvent | None = None
    last_event_at: datetime | None = None
    """When the carrier's latest news happened, where the shop says (aware, UTC)."""


@dataclass(frozen=True)
class Customer:
    """The customer as the shop knows them: one name, every phone and address on record."""

    name: str | None
    emails: frozenset[str] = frozenset()
    """Case-folded."""
    phones: frozenset[str] = frozenset()
    """E.164; numbers the adapter could not read as E.164 are left out, not guessed."""
    text_consent: bool | None = None
    """The shop's record of the customer agreeing to be texted (Shopify: SMS marketing
    subscribed on their default phone); None where the platform records none."""

    @property
    def email(self) -> str | None:
        return min(self.emails) if self.emails else None

    @property
    def phone(self) -> str | None:
        return min(self.phones) if self.phones else None


@dataclass(frozen=True)
class Contact:
    """Who is asking: the sender's phone (E.164) and/or e-mail address, already normalised."""

    phone: str | None = None
    email: str | None = None

    def __post_init__(self) -> None:
        if self.phone is None and self.email is None:
            raise ValueError("a contact needs a phone or an e-mail address")

    @classmethod
    def of(cls, address: str) -> Contact:
        """From a channel address: '+420…', 'whatsapp:+420…' or an e-mail address."""
        if "@" in address:
            email = normalise_email(address)
            if email is None:
                raise ValueError("not an e-mail address")
            return cls(email=email)
        phone = normalise_phone(address.removeprefix("whatsapp:"))
        if phone is None:
            raise ValueError("not an E.164 phone number")
        return cls(phone=phone)


@dataclass(frozen=True)
class Order:
    number: str
    """As the customer sees it, without the '#': '1042'."""
    created_at: datetime
    """Aware, UTC."""
    total: Decimal
    currency: str
    """ISO 4217."""
    state: OrderState
    customer: Customer
    shipments: tuple[Shipment, ...] = ()
    shop_status: str = ""
    """The platform's own words for the state, for the agents (e.g. 'PAID/FULFILLED')."""

    def belongs_to(self, contact: Contact) -> bool:
        """Whether the asker is this order's customer: phones as E.164, e-mails case-folded.

        The one identity check: an order is never shown to anyone else."""
        return (contact.phone is not None and contact.phone in self.customer.phones) or (
            contact.email is not None and contact.email in self.customer.emails
        )


class Shop(Protocol):
    """One store's shop. Both methods raise ShopUnavailable or ShopRefused, nothing else."""

    def recent_orders(self, contact: Contact, limit: int = 3) -> list[Order]:
        """The contact's most recent orders, newest first, at most `limit`; only orders that
        `belong_to` the contact, whatever the platform's search matched."""
        ...

    def order(self, number: str) -> Order | None:
        """One order by its number ('1042' or '#1042'); None if the shop has no such order.
        Whose it is, is the caller's to check (`Order.belongs_to`)."""
        ...

    def order_by_id(self, order_id: str) -> Order | None:
        """One order by the platform's own id, as its webhooks name it (Shopify's numeric
        order id, WooCommerce's post id); None if the shop has no such order."""
        ...


class EventKind(enum.Enum):
    """What a shop's webhook says happened to an order, in our words."""

    SHIPMENT = "shipment"
    """The carrier's news about a shipment (its status, if the webhook carries one)."""
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


@dataclass(frozen=True)
class ShopEvent:
    """One verified shop webhook about an order, as the adapters read it. Only where to look:
    the proactive job re-reads the order's current state from the shop before it speaks."""

    event_id: str
    """The platform's id of this event: a redelivery carries the same one."""
    kind: EventKind
    order_id: str
    """The platform's id of the order (ShopOrder.order_by_id)."""
    happened_at: datetime | None = None
    status: ShipmentEvent | None = None
    """SHIPMENT: the carrier's status the webhook named, where it is one we read."""

    def encode(self) -> dict[str, str]:
        fields = {"event_id": self.event_id, "kind": self.kind.value, "order_id": self.order_id}
        if self.happened_at is not None:
            fields["happened_at"] = self.happened_at.isoformat()
        if self.status is not None:
            fields["status"] = self.status.value
        return fields

    @classmethod
    def decode(cls, raw: dict[str, object]) -> ShopEvent:
        """Raises ValueError (KeyError, TypeError included) for what `encode` did not write."""
        happened = raw.get("happened_at")
        status = raw.get("status")
        return cls(
            event_id=str(raw["event_id"]),
            kind=EventKind(raw["kind"]),
            order_id=str(raw["order_id"]),
            happened_at=datetime.fromisoformat(str(happened)) if happened else None,
            status=ShipmentEvent(status) if status else None,
        )


ORDER_NUMBER = re.compile(r"^[A-Za-z0-9-]{1,32}$")


def order_number(asked: str) -> str | None:
    """'#1042' or ' 1042' as '1042'; None for what cannot be an order number (so that no
    adapter sends it into a shop's search)."""
    wanted = asked.strip().lstrip("#")
    return wanted if ORDER_NUMBER.match(wanted) else None


def newest_of_theirs(found: Iterable[Order], contact: Contact, limit: int) -> list[Order]:
    """What a platform's search found, cut to the contact's own orders, newest first: the
    search is fuzzy (a phone's digits, a name), the identity check is not."""
    mine = [order for order in found if order.belongs_to(contact)]
    mine.sort(key=lambda order: order.created_at, reverse=True)
    return mine[:limit]
