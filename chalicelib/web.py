"""HTTP entrypoints: turn a verified request into a flow call, and errors into statuses.

Rejections are 4xx with a message saying what was wrong; our own infrastructure
failures are 503 so that Twilio and SendGrid retry; nothing is stored for a 4xx.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping

from chalice.app import Response

from chalicelib.channels import sendgrid_email, twilio_messaging
from chalicelib.composition import Container
from chalicelib.domain.errors import RequestRejected, VerificationFailed
from chalicelib.flows.receive_email import route_email
from chalicelib.flows.receive_inbound import receive_message
from chalicelib.queues import QueueError
from chalicelib.store.repository import StorageError

log = logging.getLogger(__name__)


def _json(
    status: int, payload: Mapping[str, object], headers: dict[str, str] | None = None
) -> Response:
    return Response(
        body=json.dumps(payload),
        status_code=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def guarded(handler: Callable[[], Response]) -> Response:
    try:
        return handler()
    except RequestRejected as exc:
        log.info("request rejected: %s %s", exc.status, exc)
        headers = {"WWW-Authenticate": 'Basic realm="relaydesk"'} if exc.status == 401 else None
        return _json(exc.status, {"error": str(exc)}, headers)
    except (StorageError, QueueError) as exc:
        log.error("infrastructure failure, the provider will retry: %s", exc)
        return _json(503, {"error": "temporarily unavailable, please retry"})


def twilio_messaging_webhook(
    c: Container, *, body: bytes, signature: str | None, resource_path: str
) -> Response:
    def handle() -> Response:
        params = twilio_messaging.parse_form(body)
        url = c.settings.public_base_url + resource_path
        if not twilio_messaging.signature_is_valid(c.twilio_auth_token, url, params, signature):
            raise VerificationFailed("X-Twilio-Signature is missing or does not match")
        message = twilio_messaging.to_inbound(params, c.clock())
        ack = receive_message(c, message)
        return Response(
            body=twilio_messaging.twiml(ack),
            status_code=200,
            headers={"Content-Type": "text/xml"},
        )

    return guarded(handle)


def sendgrid_inbound_webhook(c: Container, *, body: bytes, headers: Mapping[str, str]) -> Response:
    def handle() -> Response:
        sendgrid_email.check_basic_auth(
            headers.get("authorization"), c.settings.inbound_parse_user, c.inbound_parse_password
        )
        if public_key := c.settings.sendgrid_parse_public_key:
            sendgrid_email.check_signature(
                public_key,
                body,
                headers.get(sendgrid_email.SIGNATURE_HEADER),
                headers.get(sendgrid_email.TIMESTAMP_HEADER),
            )
        form = sendgrid_email.parse_form_data(headers.get("content-type"), body)
        outcome = route_email(c, sendgrid_email.to_inbound_email(form))
        return _json(200, {"status": outcome})

    return guarded(handle)
