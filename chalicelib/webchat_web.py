"""Web chat's HTTP side: the widget's script, and its three public endpoints.

The widget sends only CORS "simple" requests (POST, `text/plain` holding JSON, no custom
header), so no preflight round trip precedes a message. Each request names its store in
the path; the page's Origin must be one of that store's `allowed_origins` (403 otherwise,
nothing read or stored) and only that origin is echoed in Access-Control-Allow-Origin.
An Origin is only a browser's word: the caps, not the origin check, stop a script.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from chalice.app import Response

from chalicelib.composition import Container
from chalicelib.domain.errors import MalformedRequest, UnknownDestination, VerificationFailed
from chalicelib.domain.webchat import MAX_BODY_BYTES
from chalicelib.stores import StoreConfig
from chalicelib.web import guarded

log = logging.getLogger(__name__)

WIDGET_FILE = Path(__file__).parent / "static" / "widget.js"


@cache
def widget_script() -> str:
    """Text, not bytes: API Gateway's Lambda proxy takes a bytes body only as a binary
    (base64) media type, and JavaScript is not one of ours."""
    return WIDGET_FILE.read_text(encoding="utf-8")


def widget() -> Response:
    return Response(
        body=widget_script(),
        status_code=200,
        headers={
            "Content-Type": "application/javascript; charset=utf-8",
            "Cache-Control": "public, max-age=300",
            "X-Content-Type-Options": "nosniff",
        },
    )


def allowed_origins(c: Container, store: StoreConfig) -> frozenset[str]:
    """The store's shop origins; on the local stack (a sandbox configured, never in AWS)
    also the app's own origin, where `relaydesk stack` serves the demo shop page."""
    origins = store.webchat.allowed_origins
    if c.settings.sandbox_url:
        own = urlsplit(c.settings.public_base_url)
        origins |= {f"{own.scheme}://{own.netloc}"}
    return origins


Action = Callable[[Container, StoreConfig, Mapping[str, object], str], Mapping[str, object]]


def webchat_request(
    c: Container,
    action: str,
    *,
    store_id: str,
    body: bytes,
    headers: Mapping[str, str],
    source_ip: str,
) -> Response:
    """One widget request: store, origin, size, JSON, then the flow; errors are 4xx with a
    message (in JSON), carrying the CORS header when the origin is allowed, so that the
    widget can read them."""
    cors: dict[str, str] = {"Vary": "Origin"}
    route = f"/webchat/{action}"

    def handle() -> Response:
        store = c.stores.by_id(store_id)
        if store is None or not store.webchat.enabled:
            raise UnknownDestination("no store with web chat has this id")
        origin = headers.get("origin", "")
        if origin not in allowed_origins(c, store):
            raise VerificationFailed("the page's Origin is not one of the store's allowed_origins")
        cors["Access-Control-Allow-Origin"] = origin
        if len(body) > MAX_BODY_BYTES:
            raise MalformedRequest(f"the request body is over {MAX_BODY_BYTES} bytes")
        try:
            payload = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise MalformedRequest("the body is not JSON") from None
        if not isinstance(payload, dict):
            raise MalformedRequest("the body is not a JSON object")
        result = _ACTIONS[action](c, store, payload, source_ip)
        return Response(
            body=json.dumps(result, ensure_ascii=False),
            status_code=200,
            headers={"Content-Type": "application/json; charset=utf-8", **cors},
        )

    response = guarded(c, handle, route)
    response.headers = {**cors, **(response.headers or {})}
    return response


def _session(
    c: Container, store: StoreConfig, payload: Mapping[str, object], ip: str
) -> Mapping[str, object]:
    from chalicelib.flows.webchat import session

    return session(store, payload)


def _send(
    c: Container, store: StoreConfig, payload: Mapping[str, object], ip: str
) -> Mapping[str, object]:
    from chalicelib.flows.webchat import send

    return send(c, store, payload, ip)


def _poll(
    c: Container, store: StoreConfig, payload: Mapping[str, object], ip: str
) -> Mapping[str, object]:
    from chalicelib.flows.webchat import poll

    return poll(c, store, payload)


_ACTIONS: Mapping[str, Action] = {"session": _session, "send": _send, "poll": _poll}
