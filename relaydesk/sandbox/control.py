"""The sandbox's own routes, for people and tests: read the outbox, script faults.

    GET    /outbox[?provider=&to=&channel=]     DELETE /outbox
    POST   /sandbox/faults {"provider", "status", "count", "delay_seconds",
                            "code", "message", "retry_after"}
    DELETE /sandbox/faults
    POST   /sandbox/shop/news {"order": "1050", "event": "DELAYED", "happened_at": ISO}
    DELETE /sandbox/shop/news
    GET    /sandbox/settings                    DELETE /sandbox/settings
                          (the Twilio numbers and parse settings, and their changes:
                           relaydesk/sandbox/provider_settings.py)

A fault is a provider's name, an HTTP error status and a count: the next `count` requests to
that provider get that status in the vendor's error shape, before any auth check, each
`delay_seconds` late if given (0 to 10: a slow vendor, to time a client out). Shopify's 429
is its GraphQL THROTTLED answer (relaydesk/sandbox/shopify.py). Optional, in the vendor's
words: its error `code` (Twilio's 21611 with status 400, 20003 with 401), the error
`message` (SendGrid's 401 "Maximum credits exceeded"), and `retry_after` seconds (Twilio's
`Retry-After`, SendGrid's `X-RateLimit-Reset`).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Final
from urllib.parse import parse_qs

from relaydesk.sandbox.base import BadRequest, Request, Response, json_object
from relaydesk.sandbox.recording import MAX_FAULT_DELAY_SECONDS, Sandbox
from relaydesk.sandbox.registry import PROVIDERS

OUTBOX_FILTERS: Final = ("provider", "to", "channel")
MAX_RETRY_AFTER: Final = 86_400


SETTINGS_PATH: Final = "/sandbox/settings"


def handles(request: Request) -> bool:
    return (request.path in ("/outbox", SETTINGS_PATH) and request.method in ("GET", "DELETE")) or (
        request.path in ("/sandbox/faults", NEWS_PATH) and request.method in ("POST", "DELETE")
    )


def handle(request: Request, sandbox: Sandbox) -> Response:
    if request.path == "/outbox":
        return _outbox(request, sandbox)
    if request.path == SETTINGS_PATH:
        if request.method == "DELETE":
            sandbox.accounts.reset()
            return Response(HTTPStatus.NO_CONTENT)
        return Response(HTTPStatus.OK, sandbox.accounts.snapshot())
    if request.path == NEWS_PATH:
        return _news(request)
    return _faults(request, sandbox)


NEWS_PATH: Final = "/sandbox/shop/news"
NEWS_EVENTS: Final = (
    "CONFIRMED",
    "IN_TRANSIT",
    "OUT_FOR_DELIVERY",
    "READY_FOR_PICKUP",
    "ATTEMPTED_DELIVERY",
    "DELAYED",
    "DELIVERED",
    "FAILURE",
    "RETURNING_TO_SENDER",
    "CANCELLED",
    "REFUNDED",
)


def _news(request: Request) -> Response:
    """What the demo shop says next about an order (its Shopify stand-in reads it)."""
    from datetime import datetime

    from relaydesk.sandbox.base import now
    from relaydesk.sandbox.shop_data import clear_news, demo_orders, set_news

    if request.method == "DELETE":
        clear_news()
        return Response(HTTPStatus.NO_CONTENT)
    try:
        spec = json_object(request.body)
        order, event = str(spec.get("order", "")).lstrip("#"), str(spec.get("event", "")).upper()
        at = datetime.fromisoformat(str(spec["happened_at"])) if spec.get("happened_at") else now()
    except (BadRequest, ValueError) as exc:
        return Response(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
    if order not in {o.number for o in demo_orders()}:
        return Response(HTTPStatus.BAD_REQUEST, {"error": f"no demo order {order!r}"})
    if event not in NEWS_EVENTS or at.tzinfo is None:
        return Response(
            HTTPStatus.BAD_REQUEST,
            {"error": f"event: one of {', '.join(NEWS_EVENTS)}; happened_at with a zone"},
        )
    set_news(order, event, at)
    created = {"order": order, "event": event, "happened_at": at.isoformat()}
    return Response(HTTPStatus.CREATED, created)


def _outbox(request: Request, sandbox: Sandbox) -> Response:
    if request.method == "DELETE":
        sandbox.clear()
        return Response(HTTPStatus.NO_CONTENT)
    query = parse_qs(request.query, keep_blank_values=True)
    unknown = sorted(set(query) - set(OUTBOX_FILTERS))
    if unknown:
        # A mistyped filter silently matching everything would mislead whoever reads it.
        return Response(
            HTTPStatus.BAD_REQUEST,
            {"error": f"unknown filter(s): {', '.join(unknown)}; use {OUTBOX_FILTERS}"},
        )
    filters = {key: values[0] for key, values in query.items()}
    return Response(HTTPStatus.OK, sandbox.entries(**filters))


def _faults(request: Request, sandbox: Sandbox) -> Response:
    if request.method == "DELETE":
        sandbox.clear_faults()
        return Response(HTTPStatus.NO_CONTENT)
    try:
        spec = json_object(request.body)
    except BadRequest as exc:
        return Response(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
    provider = spec.get("provider")
    status, count = _whole(spec.get("status")), _whole(spec.get("count", 1))
    delay = spec.get("delay_seconds", 0)
    code, message = spec.get("code"), spec.get("message")
    retry_after = spec.get("retry_after")
    if provider not in PROVIDERS:
        problem = f"provider must be one of {', '.join(PROVIDERS)}"
    elif status is None or not 400 <= status <= 599:
        problem = "status must be an HTTP error status (400-599)"
    elif count is None or count < 1:
        problem = "count must be a positive whole number"
    elif (
        not isinstance(delay, int | float)
        or isinstance(delay, bool)
        or not 0 <= delay <= MAX_FAULT_DELAY_SECONDS
    ):
        problem = f"delay_seconds must be a number from 0 to {MAX_FAULT_DELAY_SECONDS:g}"
    elif code is not None and _whole(code) is None:
        problem = "code must be a whole number (the vendor's error code)"
    elif message is not None and not (isinstance(message, str) and 0 < len(message) <= 500):
        problem = "message must be a text of 1 to 500 characters"
    elif retry_after is not None and not (
        (seconds := _whole(retry_after)) is not None and 0 <= seconds <= MAX_RETRY_AFTER
    ):
        problem = f"retry_after must be a whole number of seconds from 0 to {MAX_RETRY_AFTER}"
    else:
        sandbox.set_fault(
            provider,
            status,
            count,
            float(delay),
            code=code,
            message=message,
            retry_after=retry_after,
        )
        created: dict[str, object] = {"provider": provider, "status": status, "count": count}
        extras = {"delay_seconds": delay, "code": code, "message": message}
        created.update({k: v for k, v in extras.items() if v})
        if retry_after is not None:
            created["retry_after"] = retry_after
        return Response(HTTPStatus.CREATED, created)
    return Response(HTTPStatus.BAD_REQUEST, {"error": problem})


def _whole(value: object) -> int | None:
    """The value if it is a JSON integer (not a bool, which Python counts as one)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
