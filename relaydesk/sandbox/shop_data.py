"""The demo shop's customers and orders, the same in the sandbox's Shopify and WooCommerce.

Dates are relative to the day the sandbox starts (`STARTED`), so "fulfilled yesterday" stays
true whenever someone tries the demo. The README's table ("The shop connection") lists them.
Each platform module renders these in its own shapes; nothing here knows either API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from relaydesk.sandbox.base import now

STARTED: Final = now()
"""When this process's sandbox started: the demo dates count from its day."""


@dataclass(frozen=True)
class DemoCustomer:
    first_name: str
    last_name: str
    phone: str
    """E.164, as Shopify keeps it."""
    email: str
    country: str
    typed_phone: str
    """As the customer typed it at checkout (billing address; WooCommerce keeps only this)."""
    texts_ok: bool = False
    """Agreed to SMS at checkout (Shopify's SMS marketing state on their phone)."""

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class DemoShipment:
    carrier: str
    tracking_number: str
    tracking_url: str
    shipped_at: datetime
    event: str
    """The carrier's last event, in Shopify's words: IN_TRANSIT, DELAYED, DELIVERED."""
    estimated_delivery: datetime | None = None
    delivered_at: datetime | None = None
    event_at: datetime | None = None
    """When the last event happened (default: delivered, else shipped)."""


@dataclass(frozen=True)
class DemoOrder:
    number: str
    customer: DemoCustomer
    created_at: datetime
    total: str
    currency: str
    shipment: DemoShipment | None = None


JANA: Final = DemoCustomer(
    "Jana", "Nováková", "+420777123456", "jana@customer.example", "CZ", "777123456", True
)
PIOTR: Final = DemoCustomer(
    "Piotr", "Kowalski", "+48600100200", "piotr@customer.example", "PL", "+48 600100200", True
)
SARA: Final = DemoCustomer(
    "Sara", "Ahmadi", "+989121234567", "sara@customer.example", "IR", "09121234567"
)
CUSTOMERS: Final = (JANA, PIOTR, SARA)
NOBODY_PHONE: Final = "+420777999999"
"""A number the shop has never seen: no orders."""


SHOPIFY_ID_BASE: Final = 7_000_000_000
"""The demo shop's Shopify order ids: what its webhooks name an order by (`order_id`)."""


def shopify_order_id(number: str) -> int:
    return SHOPIFY_ID_BASE + int(number)


NEWS: Final[dict[str, tuple[str, datetime]]] = {}
"""Order number -> (the carrier's latest event in Shopify's words, or CANCELLED or REFUNDED;
when it happened): what `POST /sandbox/shop/news` set since the sandbox started or was
reset, so that an event simulated for an order is what the shop says when it is re-read."""


def set_news(number: str, event: str, at: datetime) -> None:
    NEWS[number] = (event, at)


def clear_news() -> None:
    NEWS.clear()


def _at(day: date, days: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day + timedelta(days=days), time(hour, minute), UTC)


def demo_orders(started: datetime = STARTED) -> tuple[DemoOrder, ...]:
    """Every demo order, newest first, dated from `started`'s day, with the news set."""
    return tuple(_with_news(order) for order in _orders(started))


@dataclass(frozen=True)
class DemoOrderNews:
    cancelled_at: datetime | None = None
    refunded_at: datetime | None = None


def order_news(number: str) -> DemoOrderNews:
    event, at = NEWS.get(number, ("", STARTED))
    if event == "CANCELLED":
        return DemoOrderNews(cancelled_at=at)
    if event == "REFUNDED":
        return DemoOrderNews(refunded_at=at)
    return DemoOrderNews()


def _with_news(order: DemoOrder) -> DemoOrder:
    from dataclasses import replace

    event, at = NEWS.get(order.number, ("", STARTED))
    if not event or event in ("CANCELLED", "REFUNDED") or order.shipment is None:
        return order
    delivered = at if event == "DELIVERED" else None
    shipment = replace(order.shipment, event=event, event_at=at, delivered_at=delivered)
    return replace(order, shipment=shipment)


def _orders(started: datetime) -> tuple[DemoOrder, ...]:
    day = started.astimezone(UTC).date()
    return (
        DemoOrder("1043", JANA, _at(day, -1, 18, 30), "459.00", "CZK"),
        DemoOrder(
            "1042",
            JANA,
            _at(day, -3, 9, 15),
            "1290.00",
            "CZK",
            DemoShipment(
                "PPL",
                "PPL123456789CZ",
                "https://tracking.example/PPL123456789CZ",
                shipped_at=_at(day, -1, 14),
                event="IN_TRANSIT",
                estimated_delivery=_at(day, 1, 12),
            ),
        ),
        DemoOrder(
            "1050",
            PIOTR,
            _at(day, -6, 11),
            "189.99",
            "PLN",
            DemoShipment(
                "InPost",
                "INP998877",
                "https://tracking.example/INP998877",
                shipped_at=_at(day, -4, 10),
                event="DELAYED",
            ),
        ),
        DemoOrder(
            "1060",
            SARA,
            _at(day, -7, 16),
            "64.50",
            "EUR",
            DemoShipment(
                "DHL",
                "DHL5566778899",
                "https://tracking.example/DHL5566778899",
                shipped_at=_at(day, -5, 9),
                event="DELIVERED",
                delivered_at=_at(day, -2, 11),
            ),
        ),
    )
