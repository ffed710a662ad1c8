"""The sandbox's own routes, for people and tests: read the outbox, script faults.

    GET    /outbox[?provider=&to=&channel=]     DELETE /outbox
    POST   /sandbox/faults {"provider", "status", "count", "delay_seconds"}
    DELETE /sandbox/faults

A fault is a provider's name, an HTTP error status and a count: the next `count` requests to
that provider get that status in the vendor's error shape, before any auth check, each
`delay_seconds` late if given (0 to 10: a slow vendor, to time a client out). Shopify's 429
is its GraphQL THROTTLED answer (relaydesk/sandbox/shopify.py).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Final
from urllib.parse import parse_qs

from relaydesk.sandbox.base import BadRequest, Request, Response, json_object
from relaydesk.sandbox.recording import MAX_FAULT_DELAY_SECONDS, Sandbox
from relaydesk.sandbox.registry import PROVIDERS

OUTBOX_FILTERS: Final = ("provider", "to", "channel")


def handles(request: Request) -> bool:
    return (request.path == "/outbox" and request.method in ("GET", "DELETE")) or (
        request.path == "/sandbox/faults" and request.method in ("POST", "DELETE")
    )


def handle(request: Request, sandbox: Sandbox) -> Response:
    if request.path == "/outbox":
        return _outbox(request, sandbox)
    return _faults(request, sandbox)


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
    else:
        sandbox.set_fault(provider, status, count, float(delay))
        created: dict[str, object] = {"provider": provider, "status": status, "count": count}
        if delay:
            created["delay_seconds"] = delay
        return Response(HTTPStatus.CREATED, created)
    return Response(HTTPStatus.BAD_REQUEST, {"error": problem})


def _whole(value: object) -> int | None:
    """The value if it is a JSON integer (not a bool, which Python counts as one)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
