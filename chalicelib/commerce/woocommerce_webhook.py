"""WooCommerce's webhooks in: the signature checked over the raw body, then `order.updated`
read into our own `ShopEvent` (commerce/port.py). Nothing past this module sees a
WooCommerce header or payload field.

    POST /webhooks/woocommerce
    X-WC-Webhook-Signature: base64(HMAC-SHA256(the webhook's secret, raw body))
    X-WC-Webhook-Source: https://shop.example/      (which store: its `commerce.url`)
    X-WC-Webhook-Topic: order.updated               (any other topic: 200, ignored)
    X-WC-Webhook-ID, X-WC-Webhook-Delivery-ID

WooCommerce fires `order.updated` for every change to an order, so the event names the
order only; the proactive job re-reads it (status cancelled or refunded, TrackShip's
shipment status) and its once-per-kind rule keeps a repeated update silent. When a webhook
is created WooCommerce posts an unsigned ping, `webhook_id=<id>` form-encoded, that must
be answered 200 (or the webhook is not saved): it is recognised exactly, nothing is stored.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Final

from chalicelib.commerce.fields import moment
from chalicelib.commerce.port import EventKind, ShopEvent
from chalicelib.commerce.signing import sign, verify_hmac
from chalicelib.domain.errors import MalformedRequest

SIGNATURE_HEADER: Final = "x-wc-webhook-signature"
SOURCE_HEADER: Final = "x-wc-webhook-source"
TOPIC_HEADER: Final = "x-wc-webhook-topic"
DELIVERY_HEADER: Final = "x-wc-webhook-delivery-id"
WEBHOOK_HEADER: Final = "x-wc-webhook-id"
ORDER_UPDATED: Final = "order.updated"
MAX_BODY: Final = 256 * 1024
PING: Final = re.compile(rb"^webhook_id=\d{1,20}$")

__all__ = ["is_ping", "read_event", "sign", "verify"]


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), "")
    return value.strip()


def is_ping(body: bytes) -> bool:
    """WooCommerce's creation ping (unsigned; answered 200, nothing stored)."""
    return PING.match(body.strip()) is not None


def source(headers: Mapping[str, str]) -> str:
    """The site's URL as the store's `commerce.url` is written (https, no trailing '/')."""
    return _header(headers, SOURCE_HEADER).rstrip("/").lower()


def topic(headers: Mapping[str, str]) -> str:
    return _header(headers, TOPIC_HEADER).lower()


def verify(secret: str, body: bytes, headers: Mapping[str, str]) -> None:
    verify_hmac(secret, body, _header(headers, SIGNATURE_HEADER), "X-WC-Webhook-Signature")


def read_event(headers: Mapping[str, str], body: bytes) -> ShopEvent | None:
    """A verified delivery as our event; None for a topic we do not act on."""
    if topic(headers) != ORDER_UPDATED:
        return None
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedRequest(f"the body is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise MalformedRequest("the body is not a JSON object")
    order_id = payload.get("id")
    if isinstance(order_id, bool) or not isinstance(order_id, int | str):
        raise MalformedRequest("order.updated: id is missing")
    if not str(order_id).isdigit() or len(str(order_id)) > 20:
        raise MalformedRequest("order.updated: id is not an order id")
    status = str(payload.get("status") or "")
    modified = payload.get("date_modified_gmt")
    event_id = _header(headers, DELIVERY_HEADER)[:100]
    if not event_id:
        # No delivery id: the same update delivered twice is the same event.
        facts = f"{_header(headers, WEBHOOK_HEADER)}\0{order_id}\0{modified}\0{status}"
        event_id = "wc-" + hashlib.sha256(facts.encode()).hexdigest()[:32]
    kind = {"cancelled": EventKind.CANCELLED, "refunded": EventKind.REFUNDED}.get(
        status, EventKind.SHIPMENT
    )
    return ShopEvent(
        event_id=event_id,
        kind=kind,
        order_id=str(order_id),
        happened_at=moment(modified),
    )
