"""Shopify through its Admin GraphQL API, behind the `Shop` port.

    POST https://{shop}.myshopify.com/admin/api/{version}/graphql.json
    X-Shopify-Access-Token: <the custom app's Admin API access token>

The API version is pinned (`API_VERSION`; a store may pin another): Shopify keeps each
version for a year, and a pinned one changes only when we change it. The cost-based rate
limit is read from every answer's `extensions.cost.throttleStatus` and respected before the
next query; a `THROTTLED` answer is retried after the time the bucket needs to refill, with
exponential back-off, all inside one time budget (http.Budget) after which the shop counts as
unavailable. Why `requests` and not Shopify's library: see http.py.

Orders by phone go through the customer (the orders query has no phone filter); orders by
e-mail through the orders query's `email:` filter, which also finds a guest's orders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from chalicelib.commerce import http
from chalicelib.commerce.config import DEFAULT_SHOPIFY_API_VERSION
from chalicelib.commerce.fields import amount, as_dict, moment
from chalicelib.commerce.identity import normalise_email, normalise_phone
from chalicelib.commerce.port import (
    Contact,
    Customer,
    Order,
    OrderState,
    Shipment,
    ShipmentEvent,
    ShopRefused,
    ShopUnavailable,
    newest_of_theirs,
    order_number,
)

if TYPE_CHECKING:
    import requests

API_VERSION: Final = DEFAULT_SHOPIFY_API_VERSION
BACKOFF_SECONDS: Final = 0.25
"""The first wait after THROTTLED when the answer does not say how long; doubled each time."""
MAX_ATTEMPTS: Final = 6
DEFAULT_COST: Final = 60.0
"""What a lookup is assumed to cost before Shopify has told us (requestedQueryCost)."""

_ORDER_FIELDS: Final = """
fragment RelaydeskOrder on Order {
  name
  createdAt
  cancelledAt
  displayFinancialStatus
  displayFulfillmentStatus
  email
  phone
  totalPriceSet { shopMoney { amount currencyCode } }
  billingAddress { phone countryCodeV2 }
  customer {
    displayName
    defaultEmailAddress { emailAddress }
    defaultPhoneNumber { phoneNumber marketingState }
  }
  fulfillments(first: 5) {
    status
    displayStatus
    createdAt
    deliveredAt
    estimatedDeliveryAt
    trackingInfo(first: 1) { company number url }
    events(first: 1, sortKey: HAPPENED_AT, reverse: true) { nodes { status happenedAt } }
  }
}
"""

BY_PHONE: Final = (
    """
query RelaydeskOrdersByPhone($search: String!, $first: Int!) {
  customers(first: 3, query: $search) {
    nodes {
      orders(first: $first, sortKey: CREATED_AT, reverse: true) { nodes { ...RelaydeskOrder } }
    }
  }
}
"""
    + _ORDER_FIELDS
)
BY_EMAIL: Final = (
    """
query RelaydeskOrdersByEmail($search: String!, $first: Int!) {
  orders(first: $first, query: $search, sortKey: CREATED_AT, reverse: true) {
    nodes { ...RelaydeskOrder }
  }
}
"""
    + _ORDER_FIELDS
)
BY_ID: Final = (
    """
query RelaydeskOrderById($id: ID!) {
  order(id: $id) { ...RelaydeskOrder }
}
"""
    + _ORDER_FIELDS
)
BY_NAME: Final = (
    """
query RelaydeskOrderByName($search: String!, $first: Int!) {
  orders(first: $first, query: $search) { nodes { ...RelaydeskOrder } }
}
"""
    + _ORDER_FIELDS
)

_EVENTS: Final = {event.name: event for event in ShipmentEvent}
# Fulfillment.displayStatus values that say more than the last event may.
_DISPLAY_EVENTS: Final = {
    "ATTEMPTED_DELIVERY": ShipmentEvent.ATTEMPTED_DELIVERY,
    "DELAYED": ShipmentEvent.DELAYED,
    "DELIVERED": ShipmentEvent.DELIVERED,
    "FAILURE": ShipmentEvent.FAILURE,
    "IN_TRANSIT": ShipmentEvent.IN_TRANSIT,
    "OUT_FOR_DELIVERY": ShipmentEvent.OUT_FOR_DELIVERY,
    "READY_FOR_PICKUP": ShipmentEvent.READY_FOR_PICKUP,
    "CONFIRMED": ShipmentEvent.CONFIRMED,
    "NOT_DELIVERED": ShipmentEvent.FAILURE,
    "RETURNING_TO_SENDER": ShipmentEvent.RETURNING_TO_SENDER,
}
_SHIPPED: Final = frozenset({"FULFILLED", "PARTIALLY_FULFILLED"})
_NOT_SHIPPED: Final = frozenset(
    {
        "UNFULFILLED",
        "IN_PROGRESS",
        "ON_HOLD",
        "OPEN",
        "PENDING_FULFILLMENT",
        "SCHEDULED",
        "REQUEST_DECLINED",
        "RESTOCKED",
    }
)


@dataclass
class _Bucket:
    """The last throttle status Shopify reported, and when: enough to estimate it now."""

    maximum: float
    available: float
    restore_rate: float
    at: float

    def available_at(self, moment: float) -> float:
        return min(self.maximum, self.available + self.restore_rate * max(0.0, moment - self.at))


class ShopifyShop:
    """One Shopify shop. Built once per container; keeps its session and the bucket's state."""

    def __init__(
        self,
        shop: str,
        access_token: str,
        *,
        base_url: str | None = None,
        api_version: str = API_VERSION,
        session: requests.Session | None = None,
        timeouts: http.Timeouts = http.Timeouts(),  # noqa: B008 (frozen, shared safely)
        budget_seconds: float = http.BUDGET_SECONDS,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.shop = shop
        self._token = access_token
        base = (base_url or f"https://{shop}").rstrip("/")
        self.url = f"{base}/admin/api/{api_version}/graphql.json"
        self._session = session
        self._timeouts = timeouts
        self._budget_seconds = budget_seconds
        self._clock = clock
        self._sleep = sleep
        self._bucket: _Bucket | None = None
        self._costs: dict[str, float] = {}

    def __repr__(self) -> str:  # never the token
        return f"ShopifyShop({self.shop!r})"

    def recent_orders(self, contact: Contact, limit: int = 3) -> list[Order]:
        if limit < 1:
            return []
        found: dict[str, Order] = {}
        if contact.phone:
            data = self._query(BY_PHONE, {"search": f'phone:"{contact.phone}"', "first": limit})
            for customer in _nodes(data.get("customers")):
                found.update((o.number, o) for o in _orders(_nodes(_get(customer, "orders"))))
        if contact.email:
            data = self._query(BY_EMAIL, {"search": f'email:"{contact.email}"', "first": limit})
            found.update((o.number, o) for o in _orders(_nodes(data.get("orders"))))
        return newest_of_theirs(found.values(), contact, limit)

    def order(self, number: str) -> Order | None:
        wanted = order_number(number)
        if wanted is None:
            return None
        data = self._query(BY_NAME, {"search": f'name:"#{wanted}"', "first": 5})
        return next(
            (o for o in _orders(_nodes(data.get("orders"))) if o.number.lower() == wanted.lower()),
            None,
        )

    def order_by_id(self, order_id: str) -> Order | None:
        """By the numeric id the webhooks carry (`order_id`, the order's `id`)."""
        wanted = order_id.strip().removeprefix("gid://shopify/Order/")
        if not wanted.isdigit() or len(wanted) > 20:
            return None
        data = self._query(BY_ID, {"id": f"gid://shopify/Order/{wanted}"})
        node = data.get("order")
        return order_from_graphql(node) if isinstance(node, dict) else None

    def _query(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """Run one query within the budget: wait for the bucket, retry THROTTLED, map errors."""
        budget = http.Budget(self._budget_seconds, *self._timing())
        session = self._session or self._new_session()
        for attempt in range(MAX_ATTEMPTS):
            self._respect_bucket(query, budget)
            response = http.send(
                session,
                "POST",
                self.url,
                shop=self.shop,
                timeout=self._timeouts.within(budget, self.shop),
                json={"query": query, "variables": variables},
                headers={"X-Shopify-Access-Token": self._token},
            )
            backoff = BACKOFF_SECONDS * 2**attempt
            if response.status_code == 429:
                wait = http.retry_after(response.headers, backoff)
                if budget.wait(wait):
                    continue
                raise ShopUnavailable(f"shop {self.shop}: throttled beyond the time budget")
            http.check_status(response, self.shop)
            body = http.json_body(response, self.shop)
            if not isinstance(body, dict):
                raise ShopUnavailable(f"shop {self.shop}: unexpected answer")
            refill = self._note_cost(query, body, budget)
            errors = body.get("errors") or []
            if not errors:
                data = body.get("data")
                if not isinstance(data, dict):
                    raise ShopUnavailable(f"shop {self.shop}: an answer without data")
                return data
            codes = {_error_code(error) for error in errors}
            if "THROTTLED" in codes:
                if budget.wait(max(backoff, refill)):
                    continue
                raise ShopUnavailable(f"shop {self.shop}: throttled beyond the time budget")
            if codes & {"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT"}:
                raise ShopUnavailable(f"shop {self.shop}: {sorted(c for c in codes if c)}")
            # ACCESS_DENIED (a missing scope), a field this API version lacks, a bad query:
            # none of them goes away by asking again.
            raise ShopRefused(f"shop {self.shop}: GraphQL errors {sorted(c or '?' for c in codes)}")
        raise ShopUnavailable(f"shop {self.shop}: throttled {MAX_ATTEMPTS} times")

    def _timing(self) -> tuple[Callable[[], float], Callable[[float], None]]:
        import time

        return (self._clock or time.monotonic, self._sleep or time.sleep)

    def _new_session(self) -> requests.Session:
        self._session = http.new_session()
        return self._session

    def _respect_bucket(self, query: str, budget: http.Budget) -> None:
        """Wait until the bucket (as last reported) holds what this query will cost."""
        bucket = self._bucket
        if bucket is None or bucket.restore_rate <= 0:
            return
        needed = self._costs.get(query, DEFAULT_COST)
        deficit = needed - bucket.available_at(budget.clock())
        # Costs are whole points: less than one short is rounding, not a reason to wait.
        if deficit >= 1 and not budget.wait(deficit / bucket.restore_rate):
            raise ShopUnavailable(f"shop {self.shop}: rate limit leaves no time in the budget")

    def _note_cost(self, query: str, body: dict[str, Any], budget: http.Budget) -> float:
        """Remember the bucket and the query's cost; the seconds until it would fit again."""
        cost = _get(body.get("extensions"), "cost")
        status = _get(cost, "throttleStatus")
        try:
            requested = float(_get(cost, "requestedQueryCost") or DEFAULT_COST)
            maximum = float(_get(status, "maximumAvailable"))
            available = float(_get(status, "currentlyAvailable"))
            rate = float(_get(status, "restoreRate"))
        except (TypeError, ValueError):
            return 0.0
        self._costs[query] = requested
        self._bucket = _Bucket(maximum, available, rate, budget.clock())
        return max(0.0, requested - available) / rate if rate > 0 else 0.0


def _get(value: object, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


def _nodes(connection: object) -> list[dict[str, Any]]:
    nodes = _get(connection, "nodes")
    return [n for n in nodes if isinstance(n, dict)] if isinstance(nodes, list) else []


def _error_code(error: object) -> str:
    code = _get(_get(error, "extensions"), "code")
    if isinstance(code, str):
        return code
    message = _get(error, "message")
    return "THROTTLED" if isinstance(message, str) and message.lower() == "throttled" else ""


def _orders(nodes: Iterable[dict[str, Any]]) -> list[Order]:
    """The nodes we can read; a node missing what an order must have is skipped, not guessed."""
    orders = []
    for node in nodes:
        order = order_from_graphql(node)
        if order is not None:
            orders.append(order)
    return orders


def order_from_graphql(node: dict[str, Any]) -> Order | None:
    """Our Order from one `Order` node of the query above; None if it lacks a name or date."""
    name, created = node.get("name"), moment(node.get("createdAt"))
    if not isinstance(name, str) or not name.strip("#") or created is None:
        return None
    money = _get(_get(node.get("totalPriceSet"), "shopMoney"), "amount")
    total = amount(money)
    currency = _get(_get(node.get("totalPriceSet"), "shopMoney"), "currencyCode") or ""
    shipments = tuple(_shipment(f) for f in node.get("fulfillments") or [] if isinstance(f, dict))
    financial = str(node.get("displayFinancialStatus") or "")
    fulfillment = str(node.get("displayFulfillmentStatus") or "")
    return Order(
        number=name.strip().lstrip("#"),
        created_at=created,
        total=total,
        currency=str(currency),
        state=_state(financial, fulfillment, node.get("cancelledAt"), shipments),
        customer=_customer(node),
        shipments=shipments,
        shop_status=f"{financial}/{fulfillment}".strip("/"),
    )


def _customer(node: dict[str, Any]) -> Customer:
    customer, billing = as_dict(node.get("customer")), as_dict(node.get("billingAddress"))
    region = billing.get("countryCodeV2") if isinstance(billing.get("countryCodeV2"), str) else None
    emails = {
        normalise_email(node.get("email")),
        normalise_email(_get(customer.get("defaultEmailAddress"), "emailAddress")),
    }
    phones = {
        normalise_phone(node.get("phone")),
        normalise_phone(_get(customer.get("defaultPhoneNumber"), "phoneNumber")),
        normalise_phone(billing.get("phone"), region),
    }
    name = customer.get("displayName")
    state = _get(customer.get("defaultPhoneNumber"), "marketingState")
    return Customer(
        name=name if isinstance(name, str) and name.strip() else None,
        emails=frozenset(e for e in emails if e),
        phones=frozenset(p for p in phones if p),
        text_consent=state == "SUBSCRIBED" if isinstance(state, str) else None,
    )


def _shipment(fulfillment: dict[str, Any]) -> Shipment:
    tracking = fulfillment.get("trackingInfo") or []
    first = tracking[0] if tracking and isinstance(tracking[0], dict) else {}
    events = _nodes(fulfillment.get("events"))
    event = _EVENTS.get(str(events[0].get("status"))) if events else None
    event_at = moment(events[0].get("happenedAt")) if events else None
    shown = _DISPLAY_EVENTS.get(str(fulfillment.get("displayStatus")))
    # The display status is Shopify's summary; it wins when it says more (DELAYED, DELIVERED).
    if (
        shown in (ShipmentEvent.DELAYED, ShipmentEvent.DELIVERED, ShipmentEvent.FAILURE)
        or not event
    ):
        event = shown or event
    delivered = moment(fulfillment.get("deliveredAt"))
    if delivered is not None:
        event = ShipmentEvent.DELIVERED
    return Shipment(
        carrier=first.get("company") or None,
        tracking_number=first.get("number") or None,
        tracking_url=first.get("url") or None,
        shipped_at=moment(fulfillment.get("createdAt")),
        estimated_delivery=moment(fulfillment.get("estimatedDeliveryAt")),
        delivered_at=delivered,
        last_event=event,
        last_event_at=event_at,
    )


def _state(
    financial: str, fulfillment: str, cancelled_at: object, shipments: tuple[Shipment, ...]
) -> OrderState:
    if financial == "REFUNDED":
        return OrderState.REFUNDED
    if cancelled_at:
        return OrderState.CANCELLED
    if fulfillment in _SHIPPED:
        delivered = shipments and all(s.last_event is ShipmentEvent.DELIVERED for s in shipments)
        return (
            OrderState.DELIVERED if delivered and fulfillment == "FULFILLED" else OrderState.SHIPPED
        )
    if fulfillment in _NOT_SHIPPED:
        return OrderState.UNFULFILLED
    return OrderState.UNKNOWN
