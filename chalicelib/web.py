"""HTTP entrypoints: turn a verified request into a flow call, and errors into statuses.

Rejections are 4xx with a message saying what was wrong; our own infrastructure
failures are 503 (a bug 500) so that Twilio and SendGrid retry, and counted for the
WebhookFailures alarm; nothing is stored for a 4xx.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from chalice.app import Response

from chalicelib import metrics, routes
from chalicelib.channels import twilio_messaging
from chalicelib.channels.port import WebhookRequest
from chalicelib.composition import Container
from chalicelib.domain.errors import (
    NotAuthenticated,
    RequestRejected,
    UnknownDestination,
    VerificationFailed,
)
from chalicelib.flows.receive_inbound import receive_message
from chalicelib.queues import ParkedRequest, QueueError
from chalicelib.settings import ConfigError, SecretsUnavailable
from chalicelib.store.repository import StorageError

if TYPE_CHECKING:
    from chalice.app import AuthResponse

    from chalicelib.commerce.port import ShopEvent
    from chalicelib.stores import StoreConfig


class ShopWebhooks(Protocol):
    """What a shop platform's webhook module offers (commerce/shopify_webhook.py,
    commerce/woocommerce_webhook.py)."""

    def verify(self, secret: str, body: bytes, headers: Mapping[str, str]) -> None: ...

    def read_event(self, headers: Mapping[str, str], body: bytes) -> ShopEvent | None: ...


log = logging.getLogger(__name__)


def _json(
    status: int, payload: Mapping[str, object], headers: dict[str, str] | None = None
) -> Response:
    return Response(
        body=json.dumps(payload),
        status_code=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


# Request size limits, checked before a byte is parsed. In production every request
# comes through API Gateway (10 MB) into a synchronous Lambda invocation, whose whole
# event must fit in 6 MB. Inbound Parse posts are a binary media type, so API Gateway
# base64-encodes them into that event (4/3 of the body) beside the headers and request
# context: no multipart body above ~4.5 MB can reach the function in AWS at all. The
# same limit here makes the local stack (and any other front end) behave the same way,
# and keeps a 128 MB function from parsing tens of megabytes.
LAMBDA_EVENT_LIMIT = 6 * 1024 * 1024
MAX_INBOUND_PARSE_BODY = (LAMBDA_EVENT_LIMIT - 256 * 1024) * 3 // 4
# A Twilio messaging webhook is a few kilobytes: even a 4,096-character WhatsApp body of
# 4-byte characters is under 50 KB percent-encoded, with ten media URLs and WhatsApp's
# extra fields on top. 128 KiB is twice the worst genuine case; anything larger is not
# Twilio, and is refused before its signature is computed over it.
MAX_TWILIO_BODY = 128 * 1024
# Meta batches up to 1,000 events in a post, each a kilobyte or two: what a Lambda event
# can carry is the only limit worth setting (a genuine post refused would be retried).
MAX_META_BODY = LAMBDA_EVENT_LIMIT - 256 * 1024

_TWILIO_IDS = re.compile(rb"(?:^|&)(MessageSid|SmsSid|AccountSid)=([A-Za-z0-9]{1,64})(?=&|$)")
_MESSAGE_ID = re.compile(rb"\nMessage-ID:[ \t]*(<[^<>\s]{1,200}>)", re.IGNORECASE)


def _twilio_ids(body: bytes) -> dict[str, str]:
    """Twilio's ids from an unparsed form body: a cheap scan, no decoding."""
    return {name.decode(): value.decode() for name, value in _TWILIO_IDS.findall(body[:65536])}


def _mail_ids(body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
    """The mail's Message-ID (from the first 64 KiB, where SendGrid puts the headers) and
    the API Gateway trace id, to find the post in SendGrid's activity and in our logs."""
    found: dict[str, str] = {}
    if match := _MESSAGE_ID.search(body[:65536]):
        found["message_id"] = match.group(1).decode("ascii", errors="replace")
    if trace := headers.get("x-amzn-trace-id"):
        found["trace"] = trace[:100]
    return found


def _facts(facts: Mapping[str, str]) -> str:
    return "".join(f" {name}={value}" for name, value in facts.items())


def _too_large(route: str, size: int, limit: int, facts: Mapping[str, str]) -> Response:
    log.warning(
        "payload too large, refused unparsed: route=%s bytes=%d limit=%d%s",
        route,
        size,
        limit,
        _facts(facts),
    )
    return _json(
        413,
        {"error": f"the request body is {size} bytes; this webhook accepts at most {limit}"},
    )


def guarded(
    c: Container,
    handler: Callable[[], Response],
    route: str = "",
    facts: Mapping[str, str] | None = None,
) -> Response:
    """Run a webhook; refusals become 4xx, our infrastructure's failures 503.

    `facts` are ids the handler learnt (provider ids, never addresses or text) that make a
    log line traceable; the handler may add to them as it goes. A refused credential,
    signature or sender is a security event, logged at WARNING.
    """
    facts = facts if facts is not None else {}
    try:
        return handler()
    except RequestRejected as exc:
        if isinstance(exc, NotAuthenticated | VerificationFailed):
            log.warning(
                "security: request refused: route=%s status=%s reason=%s%s",
                route,
                exc.status,
                exc,
                _facts(facts),
            )
        else:
            log.info(
                "request rejected: route=%s status=%s reason=%s%s",
                route,
                exc.status,
                exc,
                _facts(facts),
            )
        basic = isinstance(exc, NotAuthenticated)
        headers = {"WWW-Authenticate": 'Basic realm="relaydesk"'} if basic else None
        return _json(exc.status, {"error": str(exc)}, headers)
    except (StorageError, QueueError, SecretsUnavailable) as exc:
        log.error("infrastructure failure, the provider will retry: %s%s", exc, _facts(facts))
        metrics.webhook_failure(route=route, at=c.clock())
        return _json(503, {"error": "temporarily unavailable, please retry"})
    except Exception:
        # A bug: Chalice would answer 500 too, but unseen by any alarm.
        log.exception("webhook failed, the provider will retry: route=%s%s", route, _facts(facts))
        metrics.webhook_failure(route=route, at=c.clock())
        return _json(500, {"error": "internal error, please retry"})


def twilio_messaging_webhook(
    c: Container,
    *,
    body: bytes,
    signature: str | None,
    resource_path: str,
    context: Mapping[str, Any] | None = None,
) -> Response:
    facts: dict[str, str] = {}

    def handle() -> Response:
        if len(body) > MAX_TWILIO_BODY:
            return _too_large(resource_path, len(body), MAX_TWILIO_BODY, _twilio_ids(body))
        adapter = c.twilio_messaging_webhook
        request = _twilio_request(resource_path, body, signature, context)
        adapter.authenticate(request)
        ack = receive_message(c, adapter.receive(request, facts))
        return Response(
            body=twilio_messaging.twiml(ack),
            status_code=200,
            headers={"Content-Type": "text/xml"},
        )

    return guarded(c, handle, resource_path, facts)


def twilio_fallback_webhook(
    c: Container,
    *,
    body: bytes,
    signature: str | None,
    resource_path: str,
    context: Mapping[str, Any] | None = None,
) -> Response:
    """The number's SMS Fallback URL: Twilio calls it when the messaging webhook failed
    (a 5xx, a timeout, no answer) and does not retry it. It needs only SQS: the request is
    verified over this URL, parked whole on the inbox queue, and answered with empty TwiML
    (the acknowledgement goes out by REST when `on_parked` replays it; flows/replay.py).

    No DynamoDB: when the table is what failed, this path still works. When the auth token
    cannot be read (SSM throttled), the request is parked unverified rather than lost; the
    replay verifies it before anything is stored. A wrong signature is a 403, nothing parked.
    """
    facts: dict[str, str] = {}

    def handle() -> Response:
        if len(body) > MAX_TWILIO_BODY:
            return _too_large(resource_path, len(body), MAX_TWILIO_BODY, _twilio_ids(body))
        request = _twilio_request(resource_path, body, signature, context)
        verified = True
        try:
            c.twilio_fallback_webhook.receive(request, facts)
        except SecretsUnavailable as exc:
            verified = False
            log.warning("fallback: auth token unavailable, parked to verify at replay: %s", exc)
        c.inbox.send_all([ParkedRequest(resource_path, body, signature, c.clock(), verified)])
        log.info("twilio request parked for replay: verified=%s%s", verified, _facts(facts))
        return Response(
            body=twilio_messaging.twiml(None),
            status_code=200,
            headers={"Content-Type": "text/xml"},
        )

    return guarded(c, handle, resource_path, facts)


def _twilio_request(
    path: str, body: bytes, signature: str | None, context: Mapping[str, Any] | None
) -> WebhookRequest:
    headers = {twilio_messaging.SIGNATURE_HEADER: signature} if signature is not None else {}
    return WebhookRequest(path, body, headers, base_url=received_base_url(context, path))


_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?")


def received_base_url(context: Mapping[str, Any] | None, resource_path: str) -> str | None:
    """The public base URL a request was received on, from API Gateway's request context:
    `https://<domainName><path>` without the route. `path` is the path as the client
    called it, the stage (`/api`, execute-api) or a custom domain's base path included, so
    the URL is exactly the one Twilio signed. None when the context does not say (Chalice's
    local server and test client): then only PUBLIC_BASE_URL can."""
    if not context:
        return None
    domain, path = context.get("domainName"), context.get("path")
    if not (isinstance(domain, str) and isinstance(path, str) and _HOST.fullmatch(domain)):
        return None
    if not path.endswith(resource_path):
        return None
    return f"https://{domain}{path[: len(path) - len(resource_path)]}"


def twilio_status_webhook(
    c: Container,
    *,
    body: bytes,
    signature: str | None,
    resource_path: str,
    context: Mapping[str, Any] | None = None,
) -> Response:
    """Twilio's delivery status callbacks, verified like every other Twilio request."""

    def handle() -> Response:
        if len(body) > MAX_TWILIO_BODY:
            return _too_large(resource_path, len(body), MAX_TWILIO_BODY, _twilio_ids(body))
        adapter = c.twilio_status_webhook
        request = _twilio_request(resource_path, body, signature, context)
        adapter.authenticate(request)
        # Imported by the route that needs it: a cold start that serves a customer's SMS
        # (Twilio waits 15 s) does not load the status or e-mail flows.
        from chalicelib.flows.delivery_status import record_status

        outcome = record_status(c, adapter.receive(request, {}))
        return _json(200, {"status": outcome})

    return guarded(c, handle, resource_path)


def twilio_voice_webhook(
    c: Container,
    *,
    body: bytes,
    signature: str | None,
    resource_path: str,
    context: Mapping[str, Any] | None = None,
) -> Response:
    """The number's Voice URL and the callbacks its TwiML names (flows/receive_voice.py),
    told apart by their path; each verified over its own URL, answered with TwiML (the
    transcription, which ends nothing on the call, with JSON)."""
    from chalicelib.flows import receive_voice as voice

    facts: dict[str, str] = {}

    def handle() -> Response:
        if len(body) > MAX_TWILIO_BODY:
            return _too_large(resource_path, len(body), MAX_TWILIO_BODY, _twilio_ids(body))
        request = _twilio_request(resource_path, body, signature, context)
        if resource_path == routes.TWILIO_VOICE_TRANSCRIPTION:
            done = c.twilio_transcription_webhook.receive(request, facts)
            return _json(200, {"status": voice.transcription(c, done)})
        if resource_path == routes.TWILIO_VOICE_STATUS:
            ended = c.twilio_call_status_webhook.receive(request, facts)
            return _json(200, {"status": voice.call_ended(c, ended)})
        if resource_path == routes.TWILIO_VOICE_DIAL:
            dialed = c.twilio_dial_webhook.receive(request, facts)
            xml = voice.dial_result(c, dialed, received_base=request.base_url)
        elif resource_path == routes.TWILIO_VOICE_RECORDING:
            xml = voice.recording(c, c.twilio_recording_webhook.receive(request, facts))
        else:
            call = c.twilio_voice_webhook.receive(request, facts)
            xml = voice.answer_call(c, call, received_base=request.base_url)
        return Response(body=xml, status_code=200, headers={"Content-Type": "text/xml"})

    return guarded(c, handle, resource_path, facts)


def twilio_voice_fallback_webhook(
    c: Container,
    *,
    body: bytes,
    signature: str | None,
    resource_path: str,
    context: Mapping[str, Any] | None = None,
) -> Response:
    """The number's Voice Fallback URL and its recording action (flows/voice_fallback.py):
    Twilio calls it when the Voice URL or a URL its TwiML named failed. It greets and
    records without DynamoDB, and parks the recording on the inbox queue for replay."""
    from chalicelib.flows.voice_fallback import answer_fallback

    facts: dict[str, str] = {}

    def handle() -> Response:
        if len(body) > MAX_TWILIO_BODY:
            return _too_large(resource_path, len(body), MAX_TWILIO_BODY, _twilio_ids(body))
        request = _twilio_request(resource_path, body, signature, context)
        xml = answer_fallback(c, request, facts)
        return Response(body=xml, status_code=200, headers={"Content-Type": "text/xml"})

    return guarded(c, handle, resource_path, facts)


def sendgrid_inbound_webhook(c: Container, *, body: bytes, headers: Mapping[str, str]) -> Response:
    facts: dict[str, str] = {}
    route = routes.SENDGRID_INBOUND

    def handle() -> Response:
        adapter, request = c.sendgrid_inbound_webhook, WebhookRequest(route, body, headers)
        # HTTP Basic first: it needs no parsing, and a 413 logged after it is SendGrid's
        # own post (a customer's mail we could not take), worth following up.
        adapter.authenticate(request)
        facts.update(_mail_ids(body, headers))
        if len(body) > MAX_INBOUND_PARSE_BODY:
            # Still refused (SendGrid drops a 4xx), but recorded from its first bytes for
            # the agents, never silently: flows/refused_mail.py.
            from chalicelib.flows.refused_mail import record_too_large

            facts["recorded"] = record_too_large(
                c,
                body=body,
                headers=headers,
                received_at=c.clock(),
                limit=MAX_INBOUND_PARSE_BODY,
                route=route,
            )
            return _too_large(route, len(body), MAX_INBOUND_PARSE_BODY, facts)
        from chalicelib.flows.receive_email import route_email  # as in the status webhook

        outcome = route_email(c, adapter.receive(request, facts))
        return _json(200, {"status": outcome})

    return guarded(c, handle, route, facts)


@contextmanager
def _meta_configured() -> Iterator[None]:
    """A deployment without a Meta app (its secrets unset) has no Meta webhook: 404, as
    for a shop no store has, not a 500 that reads as our failure."""
    try:
        yield
    except ConfigError as exc:
        log.warning("the Meta webhook was called, but %s", exc)
        raise UnknownDestination("this deployment has no Meta app configured") from exc


def meta_verification(c: Container, *, params: Mapping[str, str]) -> Response:
    """Meta's subscription check when the callback URL is saved: the challenge echoed as
    plain text for the deployment's verify token, 403 for another."""
    from chalicelib.channels.meta_webhook import challenge

    def handle() -> Response:
        with _meta_configured():
            token = c.meta_verify_token
        echo = challenge(params, token)
        return Response(body=echo, status_code=200, headers={"Content-Type": "text/plain"})

    return guarded(c, handle, routes.META)


def meta_webhook(c: Container, *, body: bytes, headers: Mapping[str, str]) -> Response:
    """Messenger and Instagram events: the signature over the raw body first (401, nothing
    read or stored), then each customer message stored once; 200 for the rest."""
    route = routes.META
    facts: dict[str, str] = {}

    def handle() -> Response:
        if len(body) > MAX_META_BODY:
            return _too_large(route, len(body), MAX_META_BODY, facts)
        with _meta_configured():
            batch = c.meta_webhook.receive(WebhookRequest(route, body, headers), facts)
        from chalicelib.flows.receive_meta import receive_batch  # as in the status webhook

        return _json(200, {"status": "ok", **receive_batch(c, batch)})

    return guarded(c, handle, route, facts)


def sendgrid_parse_authorizer(c: Container, authorization: str) -> AuthResponse:
    """The HTTP Basic check of routes.SENDGRID_MAIL, as API Gateway's token authorizer: the
    same credentials as the webhook's, checked before API Gateway stores the post. Allowed:
    that route only. Refused (403 from API Gateway, nothing stored): logged as a security
    event. Secrets unavailable: raised, so that API Gateway answers 500 and SendGrid retries.
    """
    from chalice.app import AuthResponse, AuthRoute

    from chalicelib.channels.sendgrid_inbound import check_basic_auth

    try:
        check_basic_auth(authorization, c.settings.inbound_parse_user, c.inbound_parse_password)
    except NotAuthenticated as exc:
        log.warning("security: request refused: route=%s reason=%s", routes.SENDGRID_MAIL, exc)
        return AuthResponse(routes=[], principal_id="refused")
    return AuthResponse(
        routes=[AuthRoute(routes.SENDGRID_MAIL, ["POST"])], principal_id="sendgrid-parse"
    )


def shopify_webhook(c: Container, *, body: bytes, headers: Mapping[str, str]) -> Response:
    """A Shopify shop's webhook: the HMAC over the raw body first (401, nothing read or
    stored), then the shop (404), then the topic; a topic we do not act on is 200."""
    from chalicelib.commerce import shopify_webhook as shopify

    route = routes.SHOPIFY
    facts: dict[str, str] = {}

    def handle() -> Response:
        if len(body) > shopify.MAX_BODY:
            return _too_large(route, len(body), shopify.MAX_BODY, facts)
        domain = shopify.shop_domain(headers)
        facts.update(shop=domain[:100], topic=shopify.topic(headers)[:60])
        store = c.stores.by_shopify_shop(domain)
        if store is None:
            # Nothing to verify against: no store of ours knows this shop, or its secret.
            raise UnknownDestination("no store is configured for this shop")
        return _shop_event(c, store, shopify, body=body, headers=headers, facts=facts)

    return guarded(c, handle, route, facts)


def _shop_event(
    c: Container,
    store: StoreConfig,
    platform: ShopWebhooks,
    *,
    body: bytes,
    headers: Mapping[str, str],
    facts: dict[str, str],
) -> Response:
    """Both shops' webhooks once the store is known: the HMAC (401), the topic, the job."""
    secret = c.shop_webhook_secret(store)
    if not secret:
        raise UnknownDestination("this store's shop has no webhook secret")
    platform.verify(secret, body, headers)
    event = platform.read_event(headers, body)
    if event is None:
        return _json(200, {"status": "ignored"})
    if not store.proactive.enabled:
        return _json(200, {"status": "off"})  # nothing queued: the store does not tell
    facts["event"] = event.event_id[:100]
    from chalicelib.flows.proactive import queue_event

    return _json(200, {"status": queue_event(c, store, event)})


def woocommerce_webhook(c: Container, *, body: bytes, headers: Mapping[str, str]) -> Response:
    """A WooCommerce shop's webhook: its creation ping answered 200 (nothing stored); else
    the shop (404, from X-WC-Webhook-Source), the HMAC (401), the topic."""
    from chalicelib.commerce import woocommerce_webhook as woo

    route = routes.WOOCOMMERCE
    facts: dict[str, str] = {}

    def handle() -> Response:
        if len(body) > woo.MAX_BODY:
            return _too_large(route, len(body), woo.MAX_BODY, facts)
        if woo.is_ping(body):
            return _json(200, {"status": "ping"})
        facts.update(source=woo.source(headers)[:100], topic=woo.topic(headers)[:60])
        store = c.stores.by_woocommerce_url(woo.source(headers))
        if store is None:
            raise UnknownDestination("no store is configured for this shop")
        return _shop_event(c, store, woo, body=body, headers=headers, facts=facts)

    return guarded(c, handle, route, facts)
