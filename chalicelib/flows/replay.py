"""Flow 1b (SQS `relaydesk-inbox`): a request Twilio's Fallback URL parked is handled again
(an SMS or WhatsApp message; or a voicemail the Voice Fallback URL parked, replayed through
the recording callback's flow, idempotent on its RecordingSid or, for a missed call, CallSid).

The parked request is verified again (its signature over the URL it was posted to), read
as the messaging webhook reads it, dated when Twilio delivered it, and stored by the same
flow, idempotent on its MessageSid: a message the messaging webhook stored before it failed
is stored once. Its TwiML answer went to Twilio long ago and was empty, so the
acknowledgement, when one is due, is queued as a job and sent by REST (flows/deliver.py).

Our infrastructure failing again raises, so that SQS delivers the request again later and,
after the queue's maxReceiveCount, moves it to the dead-letter queue (alarmed). A request
that can never succeed (a wrong signature, unreadable, a number no store has) is refused:
logged without the customer's text or number, counted (ParkedRequestsRefused, alarmed),
and dropped rather than looped.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from chalicelib import metrics, routes
from chalicelib.channels.port import WebhookRequest
from chalicelib.channels.twilio_messaging import SIGNATURE_HEADER
from chalicelib.domain.errors import RequestRejected, VerificationFailed
from chalicelib.flows.receive_inbound import receive_message
from chalicelib.queues import ParkedRequest

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)

REPLAYABLE = frozenset({routes.TWILIO_FALLBACK})
"""The routes whose requests are parked; the signature is over the public URL of one."""
VOICE_REPLAYABLE = frozenset({routes.TWILIO_VOICE_FALLBACK, routes.TWILIO_VOICE_FALLBACK_RECORDING})
"""The Voice Fallback URL's: only recordings are parked (flows/voice_fallback.py), replayed
through the recording callback's own flow."""


def replay_parked(c: Container, body: str) -> str:
    """'replayed', or 'refused' (reported, not retried). Raises on our own failures."""
    facts: dict[str, str] = {}
    try:
        parked = ParkedRequest.decode(body)
    except ValueError as exc:
        return _refuse(c, "unreadable", facts, str(exc))
    if parked.path not in REPLAYABLE | VOICE_REPLAYABLE:
        return _refuse(c, "unknown-route", facts, "parked from a route that is not replayed")
    headers = {SIGNATURE_HEADER: parked.signature} if parked.signature is not None else {}
    request = WebhookRequest(parked.path, parked.body, headers)
    try:
        if parked.path in VOICE_REPLAYABLE:
            _replay_recording(c, request, parked, facts)
        else:
            message = c.twilio_replay_webhook.receive(request, facts)
            message = replace(message, received_at=parked.received_at)
            receive_message(c, message, acknowledge_in_response=False)
    except VerificationFailed as exc:
        return _refuse(c, "signature", facts, str(exc), security=True)
    except RequestRejected as exc:
        return _refuse(c, type(exc).__name__, facts, str(exc))
    log.info(
        "parked request replayed: parked_at=%s verified_when_parked=%s%s",
        parked.received_at.isoformat(),
        parked.verified,
        _facts(facts),
    )
    return "replayed"


def _replay_recording(
    c: Container, request: WebhookRequest, parked: ParkedRequest, facts: dict[str, str]
) -> None:
    """A voicemail (or missed call) the Voice Fallback URL parked: stored by the recording
    callback's flow, dated when Twilio posted it; its text back and the agents' notification
    go by jobs as for any call. The TwiML it answers went to nobody: the call has ended."""
    from chalicelib.flows.receive_voice import recording

    done = c.twilio_voice_replay_webhook.receive(request, facts)
    call = replace(done.call, received_at=parked.received_at)
    recording(c, replace(done, call=call))


def _refuse(
    c: Container, reason: str, facts: dict[str, str], detail: str, *, security: bool = False
) -> str:
    prefix = "security: " if security else ""
    log.warning(
        "%sparked request refused at replay, dropped: reason=%s detail=%s%s",
        prefix,
        reason,
        detail[:200],
        _facts(facts),
    )
    metrics.parked_refused(reason=reason, at=c.clock())
    return "refused"


def _facts(facts: dict[str, str]) -> str:
    return "".join(f" {name}={value}" for name, value in facts.items())
