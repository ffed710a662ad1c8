"""WooCommerce's REST API v3, the part relaydesk's adapter (chalicelib/commerce/woocommerce.py)
reads: orders by a search term, one order by id.

    GET /woocommerce/{host}/wp-json/wc/v3/orders[?search=&per_page=&orderby=date&order=desc]
    GET /woocommerce/{host}/wp-json/wc/v3/orders/{id}

The adapter is pointed here with `base_url=f"{sandbox}/woocommerce/{host}"`. It serves the
demo shop (relaydesk/local_env.py: DEMO_WOO_URL and its consumer key and secret, as HTTP Basic
auth or as `consumer_key`/`consumer_secret` query parameters, as WooCommerce takes them over
HTTPS) with the orders of shop_data.py; `search` is a case-insensitive substring match over
the number and the billing fields, as typed, like WooCommerce's own.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from relaydesk.local_env import DEMO_WOO_URL, LOCAL_WOO_CONSUMER_KEY, LOCAL_WOO_CONSUMER_SECRET
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
from relaydesk.sandbox.shop_data import DemoOrder, demo_orders, order_news

SHOPS: Final = {
    urlsplit(DEMO_WOO_URL).hostname or "": (LOCAL_WOO_CONSUMER_KEY, LOCAL_WOO_CONSUMER_SECRET)
}
"""Shop host -> the (consumer key, consumer secret) it accepts."""

_PATH: Final = re.compile(
    r"^/woocommerce/(?P<host>[a-z0-9][a-z0-9.-]*)/wp-json/wc/v3/orders(?:/(?P<id>\d+))?/?$"
)
# TrackShip's word for each demo event.
_TRACKSHIP: Final = {
    "CONFIRMED": "pre_transit",
    "IN_TRANSIT": "in_transit",
    "OUT_FOR_DELIVERY": "out_for_delivery",
    "READY_FOR_PICKUP": "available_for_pickup",
    "ATTEMPTED_DELIVERY": "attempted_delivery",
    "DELAYED": "exception",
    "DELIVERED": "delivered",
    "FAILURE": "failure",
    "RETURNING_TO_SENDER": "return_to_sender",
}


def woo_error(code: str, message: str, status: int) -> dict[str, Any]:
    """WooCommerce's (WordPress's) error body."""
    return {"code": code, "message": message, "data": {"status": status}}


def _credentials(request: Request, query: dict[str, list[str]]) -> tuple[str, str] | None:
    scheme, _, encoded = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() == "basic":
        try:
            user, sep, password = (
                base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            return None
        return (user, password) if sep else None
    key, secret = query.get("consumer_key"), query.get("consumer_secret")
    return (key[0], secret[0]) if key and secret else None


class WooCommerce:
    """The Provider for WooCommerce's REST API v3 (orders, read only)."""

    name: Final = "woocommerce"
    title: Final = "the WooCommerce REST API"

    def handles(self, request: Request) -> bool:
        if _WEBHOOKS.match(request.path):
            return request.method in ("GET", "POST", "PUT")
        return request.method == "GET" and _PATH.match(request.path) is not None

    def fault(self, fault: Fault) -> Response:
        status = fault.status
        return Response(status, woo_error("sandbox_injected_fault", phrase(status), status))

    def handle(self, request: Request, outbox: Outbox) -> Response:
        hook = _WEBHOOKS.match(request.path)
        if hook is not None:
            return _webhooks(request, hook.group("host"), hook.group("id"))
        matched = _PATH.match(request.path)
        assert matched is not None, "handle() is only called when handles() said so"
        host, order_id = matched.group("host"), matched.group("id")
        if host not in SHOPS:
            return Response(
                HTTPStatus.NOT_FOUND, woo_error("rest_no_route", "No route was found.", 404)
            )
        query = parse_qs(request.query, keep_blank_values=True)
        if _credentials(request, query) != SHOPS[host]:
            return Response(
                HTTPStatus.UNAUTHORIZED,
                woo_error(
                    "woocommerce_rest_authentication_error",
                    "Consumer key is invalid.",
                    HTTPStatus.UNAUTHORIZED,
                ),
            )
        outbox.record(
            [
                {
                    "provider": self.name,
                    "channel": None,
                    "to": host,
                    "path": request.path.split("/wp-json", 1)[1],
                    "params": {k: v[0] for k, v in query.items() if not k.startswith("consumer_")},
                    "time": iso(now()),
                    "id": uuid.uuid4().hex,
                }
            ]
        )
        orders = demo_orders()
        if order_id is not None:
            found = next((o for o in orders if o.number == order_id), None)
            if found is None:
                return Response(
                    HTTPStatus.NOT_FOUND,
                    woo_error("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404),
                )
            return Response(HTTPStatus.OK, order_json(found))
        term = (query.get("search") or [""])[0].strip().lower()
        try:
            per_page = int((query.get("per_page") or ["10"])[0])
        except ValueError:
            per_page = 0
        if not 1 <= per_page <= 100:
            return Response(
                HTTPStatus.BAD_REQUEST,
                woo_error(
                    "rest_invalid_param", "Invalid parameter(s): per_page", HTTPStatus.BAD_REQUEST
                ),
            )
        found_all = [o for o in orders if not term or term in _searchable(o)]
        return Response(
            HTTPStatus.OK,
            [order_json(o) for o in found_all[:per_page]],
            headers={"X-WP-Total": str(len(found_all)), "X-WP-TotalPages": "1"},
        )


_WEBHOOKS: Final = re.compile(
    r"^/woocommerce/(?P<host>[a-z0-9][a-z0-9.-]*)/wp-json/wc/v3/webhooks(?:/(?P<id>[0-9]+))?/?$"
)
WEBHOOKS: Final[list[dict[str, Any]]] = []
"""Webhooks made by `relaydesk commerce subscribe` (kept while the sandbox runs)."""


def _webhooks(request: Request, host: str, hook_id: str | None) -> Response:
    query = parse_qs(request.query, keep_blank_values=True)
    if host not in SHOPS or _credentials(request, query) != SHOPS[host]:
        return Response(
            HTTPStatus.UNAUTHORIZED,
            woo_error("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", 401),
        )
    if request.method == "GET" and hook_id is None:
        return Response(HTTPStatus.OK, list(WEBHOOKS))
    try:
        spec = json_object(request.body) if request.method != "GET" else {}
    except BadRequest as exc:
        return Response(HTTPStatus.BAD_REQUEST, woo_error("rest_invalid_json", str(exc), 400))
    if hook_id is not None:
        found = next((w for w in WEBHOOKS if str(w["id"]) == hook_id), None)
        if found is None or request.method == "POST":
            return Response(
                HTTPStatus.NOT_FOUND,
                woo_error("woocommerce_rest_shop_webhook_invalid_id", "Invalid ID.", 404),
            )
        if request.method == "PUT":
            found.update({k: spec[k] for k in ("status", "name", "delivery_url") if k in spec})
        return Response(HTTPStatus.OK, found)
    hook = {
        "id": len(WEBHOOKS) + 1,
        "name": spec.get("name"),
        "status": spec.get("status", "active"),
        "topic": spec.get("topic"),
        "delivery_url": spec.get("delivery_url"),
    }
    WEBHOOKS.append(hook)
    return Response(HTTPStatus.CREATED, hook)


def _searchable(order: DemoOrder) -> str:
    customer = order.customer
    fields = (order.number, customer.first_name, customer.last_name, customer.email)
    return " ".join((*fields, customer.typed_phone)).lower()


def _local(moment: Any) -> str:
    return str(iso(moment))[:19]


def _status(order: DemoOrder) -> str:
    news = order_news(order.number)
    if news.refunded_at:
        return "refunded"
    if news.cancelled_at:
        return "cancelled"
    return "completed" if order.shipment else "processing"


def order_json(order: DemoOrder) -> dict[str, Any]:
    """One order as `GET /orders/{id}` gives it (the fields the adapter reads, and a few)."""
    customer, shipment = order.customer, order.shipment
    meta: list[dict[str, Any]] = []
    if shipment is not None:
        meta.append(
            {
                "id": 1,
                "key": "_wc_shipment_tracking_items",
                "value": [
                    {
                        "tracking_provider": "",
                        "custom_tracking_provider": shipment.carrier,
                        "tracking_number": shipment.tracking_number,
                        "custom_tracking_link": shipment.tracking_url,
                        "date_shipped": str(int(shipment.shipped_at.timestamp())),
                        "tracking_id": uuid.uuid5(uuid.NAMESPACE_URL, shipment.tracking_url).hex,
                    }
                ],
            }
        )
        status: dict[str, Any] = {"status": _TRACKSHIP.get(shipment.event, "unknown")}
        if shipment.estimated_delivery is not None:
            status["est_delivery_date"] = _local(shipment.estimated_delivery)
        if shipment.delivered_at is not None:
            status["status_date"] = _local(shipment.delivered_at)
        meta.append({"id": 2, "key": "shipment_status", "value": [status]})
    address = {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "country": customer.country,
        "phone": customer.typed_phone,
    }
    return {
        "id": int(order.number),
        "number": order.number,
        "status": _status(order),
        "currency": order.currency,
        "date_created": _local(order.created_at),
        "date_created_gmt": _local(order.created_at),
        "total": order.total,
        "customer_id": 0,
        "billing": {**address, "email": customer.email},
        "shipping": address,
        "meta_data": meta,
        "line_items": [],
    }
