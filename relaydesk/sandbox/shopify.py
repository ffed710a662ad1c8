"""Shopify's Admin GraphQL API, the part relaydesk's adapter (chalicelib/commerce/shopify.py)
asks: a customer's orders by phone, orders by e-mail, an order by its name.

    POST /shopify/{shop}/admin/api/{version}/graphql.json   (JSON, X-Shopify-Access-Token)

The adapter is pointed here with `base_url=f"{sandbox}/shopify/{shop}"`. It serves the demo
shop (relaydesk/local_env.py: DEMO_SHOPIFY_SHOP, LOCAL_SHOPIFY_ACCESS_TOKEN) with the orders
of shop_data.py. Queries are told apart by their operation name, not parsed: the sandbox
answers the adapter's own queries, in the shapes the real API gives them, cost included.

An injected 429 (`POST /sandbox/faults {"provider": "shopify", "status": 429}`) is answered
as Shopify answers a query the bucket cannot pay for: HTTP 200 with a THROTTLED error and the
bucket's state in `extensions.cost`.
"""

from __future__ import annotations

import re
import uuid
from http import HTTPStatus
from typing import Any, Final

from relaydesk.local_env import DEMO_SHOPIFY_SHOP, LOCAL_SHOPIFY_ACCESS_TOKEN
from relaydesk.sandbox.base import (
    BadRequest,
    Fault,
    Outbox,
    Request,
    Response,
    iso,
    json_object,
    now,
    phrase,
)
from relaydesk.sandbox.shop_data import DemoOrder, demo_orders, order_news, shopify_order_id

SHOPS: Final = {DEMO_SHOPIFY_SHOP: LOCAL_SHOPIFY_ACCESS_TOKEN}
"""Shop domain -> the Admin API access token it accepts."""
BUCKET: Final = {"maximumAvailable": 2000.0, "restoreRate": 100.0}
QUERY_COST: Final = 52
THROTTLED_AVAILABLE: Final = 12.0
"""What the bucket holds in a THROTTLED answer: the adapter waits (52 - 12) / 100 s."""

_PATH: Final = re.compile(
    r"^/shopify/(?P<shop>[a-z0-9][a-z0-9.-]*)/admin/api/(?P<version>\d{4}-\d{2}|unstable)"
    r"/graphql\.json$"
)
_OPERATION: Final = re.compile(r"\b(?:query|mutation)\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)")
_TERM: Final = re.compile(r'^(?P<field>[a-z_]+):"?(?P<value>[^"]*)"?$')


def _cost(available: float, actual: int | None) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": QUERY_COST,
            "actualQueryCost": actual,
            "throttleStatus": {**BUCKET, "currentlyAvailable": available},
        }
    }


def throttled() -> dict[str, Any]:
    """Shopify's answer to a query the bucket cannot pay for."""
    return {
        "errors": [
            {
                "message": "Throttled",
                "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/limits",
                },
            }
        ],
        "extensions": _cost(THROTTLED_AVAILABLE, None),
    }


def _graphql_error(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


class Shopify:
    """The Provider for Shopify's Admin GraphQL API (orders and customers, read only)."""

    name: Final = "shopify"
    title: Final = "the Shopify Admin GraphQL API"

    def handles(self, request: Request) -> bool:
        return request.method == "POST" and _PATH.match(request.path) is not None

    def fault(self, fault: Fault) -> Response:
        status = fault.status
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            return Response(HTTPStatus.OK, throttled())
        return Response(status, {"errors": phrase(status)})

    def handle(self, request: Request, outbox: Outbox) -> Response:
        matched = _PATH.match(request.path)
        assert matched is not None, "handle() is only called when handles() said so"
        shop = matched.group("shop")
        if shop not in SHOPS:
            return Response(HTTPStatus.NOT_FOUND, {"errors": "Not Found"})
        if request.headers.get("X-Shopify-Access-Token") != SHOPS[shop]:
            return Response(
                HTTPStatus.UNAUTHORIZED,
                {
                    "errors": "[API] Invalid API key or access token "
                    "(unrecognized login or wrong password)"
                },
            )
        try:
            body = json_object(request.body)
        except BadRequest as exc:
            return Response(HTTPStatus.BAD_REQUEST, {"errors": str(exc)})
        query, variables = body.get("query"), body.get("variables") or {}
        operation = body.get("operationName") or _operation(query)
        if not isinstance(query, str) or not isinstance(variables, dict):
            return Response(HTTPStatus.OK, _graphql_error("Parse error", "PARSE_ERROR"))
        data = _answer(operation, variables)
        if data is None:
            return Response(
                HTTPStatus.OK,
                _graphql_error(f"the sandbox does not serve {operation!r}", "undefinedField"),
            )
        outbox.record(
            [
                {
                    "provider": self.name,
                    "channel": None,
                    "to": shop,
                    "api_version": matched.group("version"),
                    "operation": operation,
                    "variables": variables,
                    "time": iso(now()),
                    "id": uuid.uuid4().hex,
                }
            ]
        )
        return Response(
            HTTPStatus.OK,
            {"data": data, "extensions": _cost(BUCKET["maximumAvailable"] - 12, 12)},
        )


def _operation(query: object) -> str | None:
    matched = _OPERATION.search(query) if isinstance(query, str) else None
    return matched.group("name") if matched else None


def _search(variables: dict[str, Any]) -> tuple[str, str]:
    matched = _TERM.match(str(variables.get("search") or "").strip())
    return (matched.group("field"), matched.group("value")) if matched else ("", "")


def _first(variables: dict[str, Any]) -> int:
    first = variables.get("first")
    return first if isinstance(first, int) and 0 < first <= 250 else 10


SUBSCRIPTIONS: Final[list[dict[str, Any]]] = []
"""Webhook subscriptions made by `relaydesk commerce subscribe` (kept while the sandbox runs)."""


def _answer(operation: str | None, variables: dict[str, Any]) -> dict[str, Any] | None:
    """The `data` of one of the adapter's queries, or None for a query we do not serve."""
    if operation == "RelaydeskWebhookSubscriptions":
        return {"webhookSubscriptions": {"nodes": list(SUBSCRIPTIONS)}}
    if operation == "RelaydeskWebhookSubscribe":
        node = {
            "id": f"gid://shopify/WebhookSubscription/{len(SUBSCRIPTIONS) + 1}",
            "topic": str(variables.get("topic")),
            "endpoint": {
                "__typename": "WebhookHttpEndpoint",
                "callbackUrl": str(variables.get("url")),
            },
        }
        SUBSCRIPTIONS.append(node)
        created = {"id": node["id"], "topic": node["topic"]}
        return {"webhookSubscriptionCreate": {"webhookSubscription": created, "userErrors": []}}
    field, value = _search(variables)
    first, orders = _first(variables), demo_orders()
    if operation == "RelaydeskOrdersByPhone":
        customers = {o.customer for o in orders if field == "phone" and o.customer.phone == value}
        return {
            "customers": {
                "nodes": [
                    {
                        "orders": {
                            "nodes": [order_node(o) for o in orders if o.customer == customer][
                                :first
                            ]
                        }
                    }
                    for customer in sorted(customers, key=lambda c: c.email)
                ]
            }
        }
    if operation == "RelaydeskOrdersByEmail":
        found = [o for o in orders if field == "email" and o.customer.email == value.lower()]
        return {"orders": {"nodes": [order_node(o) for o in found[:first]]}}
    if operation == "RelaydeskOrderById":
        wanted = str(variables.get("id") or "")
        found_node: dict[str, Any] | None = next(
            (
                order_node(o)
                for o in orders
                if wanted == f"gid://shopify/Order/{shopify_order_id(o.number)}"
            ),
            None,
        )
        return {"order": found_node}
    if operation == "RelaydeskOrderByName":
        found = [o for o in orders if field == "name" and o.number == value.lstrip("#")]
        return {"orders": {"nodes": [order_node(o) for o in found[:first]]}}
    return None


def order_node(order: DemoOrder) -> dict[str, Any]:
    """One `Order` node with the fields the adapter's fragment selects."""
    customer, shipment = order.customer, order.shipment
    fulfillments = []
    if shipment is not None:
        fulfillments.append(
            {
                "status": "SUCCESS",
                "displayStatus": shipment.event,
                "createdAt": iso(shipment.shipped_at),
                "deliveredAt": iso(shipment.delivered_at) if shipment.delivered_at else None,
                "estimatedDeliveryAt": iso(shipment.estimated_delivery)
                if shipment.estimated_delivery
                else None,
                "trackingInfo": [
                    {
                        "company": shipment.carrier,
                        "number": shipment.tracking_number,
                        "url": shipment.tracking_url,
                    }
                ],
                "events": {
                    "nodes": [
                        {
                            "status": shipment.event,
                            "happenedAt": iso(
                                shipment.event_at or shipment.delivered_at or shipment.shipped_at
                            ),
                        }
                    ]
                },
            }
        )
    news = order_news(order.number)
    return {
        "id": f"gid://shopify/Order/{shopify_order_id(order.number)}",
        "name": f"#{order.number}",
        "createdAt": iso(order.created_at),
        "cancelledAt": iso(news.cancelled_at) if news.cancelled_at else None,
        "displayFinancialStatus": "REFUNDED" if news.refunded_at else "PAID",
        "displayFulfillmentStatus": "FULFILLED" if shipment else "UNFULFILLED",
        "email": customer.email,
        "phone": customer.phone,
        "totalPriceSet": {"shopMoney": {"amount": order.total, "currencyCode": order.currency}},
        "billingAddress": {"phone": customer.typed_phone, "countryCodeV2": customer.country},
        "customer": {
            "displayName": customer.name,
            "defaultEmailAddress": {"emailAddress": customer.email},
            "defaultPhoneNumber": {
                "phoneNumber": customer.phone,
                "marketingState": "SUBSCRIBED" if customer.texts_ok else "NOT_SUBSCRIBED",
            },
        },
        "fulfillments": fulfillments,
    }
