"""WooCommerce through its REST API v3, behind the `Shop` port.

    GET {url}/wp-json/wc/v3/orders?search=<term>&orderby=date&order=desc&per_page=<n>
    GET {url}/wp-json/wc/v3/orders/<id>

Authenticated with the store's consumer key and secret as HTTP Basic auth, which WooCommerce
accepts over HTTPS only (over plain HTTP it wants OAuth 1.0a signatures); config.py therefore
insists on an https:// URL, and only the local sandbox is reached over http. Why `requests`
and not the `woocommerce` package: see http.py.

WooCommerce's `search` is a free-text match over the billing fields as customers typed them,
so it finds too much (another customer's note) and, for phones, too little ('777 123 456'):
we search for the national number's digits or the e-mail address, then keep only the orders
whose billing or shipping contact is the asker's, compared as E.164 and case-folded.

Core WooCommerce knows nothing of carriers: tracking comes from the order's meta data as the
Shipment Tracking extension (`_wc_shipment_tracking_items`) and TrackShip (`shipment_status`:
the carrier's last event and the estimated delivery) store it; an order without them has no
shipments, which the answer flow reads as "no tracking yet", never as a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from chalicelib.commerce import http
from chalicelib.commerce.fields import amount, as_dict, moment
from chalicelib.commerce.identity import normalise_email, normalise_phone
from chalicelib.commerce.port import (
    Contact,
    Customer,
    Order,
    OrderState,
    Shipment,
    ShipmentEvent,
    ShopUnavailable,
    newest_of_theirs,
    order_number,
)

if TYPE_CHECKING:
    import requests

API_PATH: Final = "/wp-json/wc/v3"
MAX_ATTEMPTS: Final = 3
BACKOFF_SECONDS: Final = 0.5
SEARCH_PAGE: Final = 20
"""Orders asked for per search: more than we show, as the search matches others' orders too."""

_STATES: Final = {
    "pending": OrderState.UNFULFILLED,
    "processing": OrderState.UNFULFILLED,
    "on-hold": OrderState.UNFULFILLED,
    "failed": OrderState.UNFULFILLED,
    "checkout-draft": OrderState.UNFULFILLED,
    "completed": OrderState.SHIPPED,
    "shipped": OrderState.SHIPPED,  # common plugins' own statuses
    "delivered": OrderState.DELIVERED,
    "cancelled": OrderState.CANCELLED,
    "trash": OrderState.CANCELLED,
    "refunded": OrderState.REFUNDED,
}
_EVENTS: Final = {
    "pre_transit": ShipmentEvent.CONFIRMED,
    "in_transit": ShipmentEvent.IN_TRANSIT,
    "out_for_delivery": ShipmentEvent.OUT_FOR_DELIVERY,
    "available_for_pickup": ShipmentEvent.READY_FOR_PICKUP,
    "attempted_delivery": ShipmentEvent.ATTEMPTED_DELIVERY,
    "failed_attempt": ShipmentEvent.ATTEMPTED_DELIVERY,
    "delayed": ShipmentEvent.DELAYED,
    "exception": ShipmentEvent.DELAYED,
    "on_hold": ShipmentEvent.DELAYED,
    "delivered": ShipmentEvent.DELIVERED,
    "failure": ShipmentEvent.FAILURE,
    "return_to_sender": ShipmentEvent.RETURNING_TO_SENDER,
}


class WooCommerceShop:
    """One WooCommerce shop. Built once per container; keeps its session."""

    def __init__(
        self,
        url: str,
        consumer_key: str,
        consumer_secret: str,
        *,
        base_url: str | None = None,
        session: requests.Session | None = None,
        timeouts: http.Timeouts = http.Timeouts(),  # noqa: B008 (frozen, shared safely)
        budget_seconds: float = http.BUDGET_SECONDS,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.shop = url.rstrip("/")
        self._auth = (consumer_key, consumer_secret)
        self.api = (base_url or self.shop).rstrip("/") + API_PATH
        self._session = session
        self._timeouts = timeouts
        self._budget_seconds = budget_seconds
        self._clock = clock
        self._sleep = sleep

    def __repr__(self) -> str:  # never the key or secret
        return f"WooCommerceShop({self.shop!r})"

    def recent_orders(self, contact: Contact, limit: int = 3) -> list[Order]:
        if limit < 1:
            return []
        found: dict[str, Order] = {}
        for term in _search_terms(contact):
            params = {"search": term, "orderby": "date", "order": "desc", "per_page": SEARCH_PAGE}
            body = self._get("/orders", params)
            found.update((o.number, o) for o in _orders(body))
        return newest_of_theirs(found.values(), contact, limit)

    def order(self, number: str) -> Order | None:
        wanted = order_number(number)
        if wanted is None:
            return None
        if wanted.isdigit():
            # Usually the number is the order's id; a sequential-numbers plugin makes it not.
            body = self._get(f"/orders/{wanted}", {}, missing_ok=True)
            if isinstance(body, dict):
                direct = order_from_rest(body)
                if direct is not None and direct.number == wanted:
                    return direct
        body = self._get("/orders", {"search": wanted, "per_page": SEARCH_PAGE})
        return next((o for o in _orders(body) if o.number.lower() == wanted.lower()), None)

    def order_by_id(self, order_id: str) -> Order | None:
        """By the post id WooCommerce's webhooks carry (`id`)."""
        wanted = order_id.strip()
        if not wanted.isdigit() or len(wanted) > 20:
            return None
        body = self._get(f"/orders/{wanted}", {}, missing_ok=True)
        return order_from_rest(body) if isinstance(body, dict) else None

    def _get(self, path: str, params: dict[str, Any], *, missing_ok: bool = False) -> Any:
        """One GET within the time budget; a 429 is waited out if the budget allows."""
        import time

        budget = http.Budget(
            self._budget_seconds, self._clock or time.monotonic, self._sleep or time.sleep
        )
        if self._session is None:
            self._session = http.new_session()
        for attempt in range(MAX_ATTEMPTS):
            response = http.send(
                self._session,
                "GET",
                self.api + path,
                shop=self.shop,
                timeout=self._timeouts.within(budget, self.shop),
                params=params,
                auth=self._auth,
            )
            if response.status_code == 429:
                wait = http.retry_after(response.headers, BACKOFF_SECONDS * 2**attempt)
                if budget.wait(wait):
                    continue
                raise ShopUnavailable(f"shop {self.shop}: throttled beyond the time budget")
            if missing_ok and response.status_code == 404:
                return None
            http.check_status(response, self.shop)
            return http.json_body(response, self.shop)
        raise ShopUnavailable(f"shop {self.shop}: throttled {MAX_ATTEMPTS} times")


def _search_terms(contact: Contact) -> list[str]:
    """What to search for: the e-mail address, and the phone's national digits (a shop rarely
    stores the +country form, and a substring match on the digits finds most others)."""
    terms = [contact.email] if contact.email else []
    if contact.phone:
        import phonenumbers

        try:
            national = str(phonenumbers.parse(contact.phone).national_number)
        except phonenumbers.NumberParseException:
            national = contact.phone.lstrip("+")
        terms.append(national)
    return terms


def _orders(body: object) -> list[Order]:
    if not isinstance(body, list):
        raise ShopUnavailable("the orders answer is not a list")
    orders = []
    for item in body:
        order = order_from_rest(item) if isinstance(item, dict) else None
        if order is not None:
            orders.append(order)
    return orders


def _timestamp(value: object) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(str(value)), UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def order_from_rest(item: dict[str, Any]) -> Order | None:
    """Our Order from one WooCommerce order object; None if it lacks a number or date."""
    number = str(item.get("number") or item.get("id") or "").strip().lstrip("#")
    created = moment(item.get("date_created_gmt"))
    if not number or created is None:
        return None
    total = amount(item.get("total"))
    shipments = _shipments(item.get("meta_data"))
    status = str(item.get("status") or "")
    state = _STATES.get(status, OrderState.UNKNOWN)
    delivered = bool(shipments) and all(s.last_event is ShipmentEvent.DELIVERED for s in shipments)
    if state is OrderState.SHIPPED and delivered:
        state = OrderState.DELIVERED
    return Order(
        number=number,
        created_at=created,
        total=total,
        currency=str(item.get("currency") or ""),
        state=state,
        customer=_customer(item),
        shipments=shipments,
        shop_status=status,
    )


def _customer(item: dict[str, Any]) -> Customer:
    billing, shipping = as_dict(item.get("billing")), as_dict(item.get("shipping"))
    name = " ".join(
        str(part).strip() for part in (billing.get("first_name"), billing.get("last_name")) if part
    ).strip()
    phones = {
        normalise_phone(billing.get("phone"), billing.get("country") or None),
        normalise_phone(shipping.get("phone"), shipping.get("country") or None),
    }
    return Customer(
        name=name or None,
        emails=frozenset(e for e in [normalise_email(billing.get("email"))] if e),
        phones=frozenset(p for p in phones if p),
    )


def _meta(meta_data: object, key: str) -> list[dict[str, Any]]:
    for entry in meta_data if isinstance(meta_data, list) else []:
        if isinstance(entry, dict) and entry.get("key") == key:
            value = entry.get("value")
            return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
    return []


def _shipments(meta_data: object) -> tuple[Shipment, ...]:
    """Shipment Tracking items, each with TrackShip's status at the same position, if any."""
    items = _meta(meta_data, "_wc_shipment_tracking_items")
    statuses = _meta(meta_data, "shipment_status")
    shipments = []
    for n, tracking in enumerate(items):
        status = statuses[n] if n < len(statuses) else {}
        event = _EVENTS.get(str(status.get("status") or ""))
        delivered = moment(status.get("status_date")) if event is ShipmentEvent.DELIVERED else None
        shipments.append(
            Shipment(
                carrier=tracking.get("custom_tracking_provider")
                or tracking.get("tracking_provider")
                or None,
                tracking_number=tracking.get("tracking_number") or None,
                tracking_url=tracking.get("custom_tracking_link")
                or tracking.get("formatted_tracking_link")
                or None,
                shipped_at=_timestamp(tracking.get("date_shipped")),
                estimated_delivery=moment(status.get("est_delivery_date")),
                delivered_at=delivered,
                last_event=event,
            )
        )
    return tuple(shipments)
