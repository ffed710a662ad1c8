"""Shopify's webhooks in: the signature checked over the raw body, then the topics relaydesk
listens to read into our own `ShopEvent` (commerce/port.py). Nothing past this module sees a
Shopify header or payload field.

    POST /webhooks/shopify
    X-Shopify-Hmac-Sha256: base64(HMAC-SHA256(app secret, raw body))
    X-Shopify-Topic: fulfillment_events/create | fulfillments/update | orders/cancelled |
                     refunds/create   (any other topic is acknowledged and ignored)
    X-Shopify-Shop-Domain: <name>.myshopify.com
    X-Shopify-Event-Id (newer deliveries), X-Shopify-Webhook-Id: the delivery's id; a retry
                     carries the same one

The payloads are the REST resources' shapes: a fulfillment event (`order_id`, `status` in
lower case, `happened_at`), a fulfillment (`order_id`, `shipment_status`), an order (`id`,
`cancelled_at`), a refund (`order_id`, `created_at`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final

from chalicelib.commerce.fields import moment
from chalicelib.commerce.port import EventKind, ShipmentEvent, ShopEvent
from chalicelib.commerce.signing import sign, verify_hmac
from chalicelib.domain.errors import MalformedRequest

__all__ = ["read_event", "sign", "verify"]

HMAC_HEADER: Final = "x-shopify-hmac-sha256"
TOPIC_HEADER: Final = "x-shopify-topic"
SHOP_HEADER: Final = "x-shopify-shop-domain"
EVENT_ID_HEADER: Final = "x-shopify-event-id"
WEBHOOK_ID_HEADER: Final = "x-shopify-webhook-id"

FULFILLMENT_EVENT: Final = "fulfillment_events/create"
FULFILLMENT_UPDATE: Final = "fulfillments/update"
ORDER_CANCELLED: Final = "orders/cancelled"
REFUND_CREATED: Final = "refunds/create"
TOPICS: Final = (FULFILLMENT_EVENT, FULFILLMENT_UPDATE, ORDER_CANCELLED, REFUND_CREATED)
MAX_BODY: Final = 256 * 1024
"""An order webhook is a few tens of kilobytes; a large order with hundreds of lines stays
well under this. Anything larger is refused before its HMAC is computed."""

_STATUSES: Final = {
    # A fulfillment event's `status` and a fulfillment's `shipment_status` (REST, lower case).
    "confirmed": ShipmentEvent.CONFIRMED,
    "label_printed": ShipmentEvent.CONFIRMED,
    "label_purchased": ShipmentEvent.CONFIRMED,
    "carrier_picked_up": ShipmentEvent.IN_TRANSIT,
    "in_transit": ShipmentEvent.IN_TRANSIT,
    "out_for_delivery": ShipmentEvent.OUT_FOR_DELIVERY,
    "ready_for_pickup": ShipmentEvent.READY_FOR_PICKUP,
    "attempted_delivery": ShipmentEvent.ATTEMPTED_DELIVERY,
    "delayed": ShipmentEvent.DELAYED,
    "delivered": ShipmentEvent.DELIVERED,
    "picked_up": ShipmentEvent.DELIVERED,
    "failure": ShipmentEvent.FAILURE,
    "returning_to_sender": ShipmentEvent.RETURNING_TO_SENDER,
}


def _header(headers: Mapping[str, str], name: str) -> str:
    """Case-insensitive (API Gateway and Chalice's local server differ in case)."""
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), "")
    return value.strip()


def shop_domain(headers: Mapping[str, str]) -> str:
    return _header(headers, SHOP_HEADER).lower()


def topic(headers: Mapping[str, str]) -> str:
    return _header(headers, TOPIC_HEADER).lower()


def delivery_id(headers: Mapping[str, str]) -> str:
    """The event's id (X-Shopify-Event-Id), else the delivery's (X-Shopify-Webhook-Id)."""
    return _header(headers, EVENT_ID_HEADER) or _header(headers, WEBHOOK_ID_HEADER)


def verify(secret: str, body: bytes, headers: Mapping[str, str]) -> None:
    """Raises SignatureRejected unless the body carries the store's app secret's HMAC."""
    verify_hmac(secret, body, _header(headers, HMAC_HEADER), "X-Shopify-Hmac-Sha256")


def read_event(headers: Mapping[str, str], body: bytes) -> ShopEvent | None:
    """A verified delivery as our event; None for a topic we do not act on. Raises
    MalformedRequest for a body or headers no Shopify delivery has."""
    name = topic(headers)
    if name not in TOPICS:
        return None
    event_id = delivery_id(headers)
    if not event_id or len(event_id) > 100:
        raise MalformedRequest("X-Shopify-Event-Id or X-Shopify-Webhook-Id is required")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedRequest(f"the body is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise MalformedRequest("the body is not a JSON object")
    order_field = "id" if name == ORDER_CANCELLED else "order_id"
    order_id = payload.get(order_field)
    if isinstance(order_id, bool) or not isinstance(order_id, int | str) or not str(order_id):
        raise MalformedRequest(f"{name}: {order_field} is missing")
    if not str(order_id).isdigit() or len(str(order_id)) > 20:
        raise MalformedRequest(f"{name}: {order_field} is not an order id")
    if name == FULFILLMENT_EVENT:
        kind, status, at = (
            EventKind.SHIPMENT,
            payload.get("status"),
            payload.get("happened_at") or payload.get("created_at"),
        )
    elif name == FULFILLMENT_UPDATE:
        kind, status, at = (
            EventKind.SHIPMENT,
            payload.get("shipment_status"),
            payload.get("updated_at"),
        )
    elif name == ORDER_CANCELLED:
        kind, status, at = EventKind.CANCELLED, None, payload.get("cancelled_at")
    else:
        kind, status, at = EventKind.REFUNDED, None, payload.get("created_at")
    return ShopEvent(
        event_id=event_id,
        kind=kind,
        order_id=str(order_id),
        happened_at=moment(at),
        status=_STATUSES.get(status.lower()) if isinstance(status, str) else None,
    )
