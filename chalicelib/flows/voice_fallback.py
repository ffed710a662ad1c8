"""Flow 1c, by phone: the number's Voice Fallback URL takes the voicemail when relaydesk's
own Voice URL cannot (a 5xx, a timeout: Twilio then posts the same call here, with
`ErrorCode` and `ErrorUrl`, and plays whatever TwiML this answers).

It depends on as little as the messaging fallback (web.twilio_fallback_webhook): the
signature, the stores' configuration file and, for a recording, one SQS send. No DynamoDB:

- the call itself: a greeting in the store's language (its `locale`: the caller's own,
  which their earlier messages tell, is in the table) and `<Record>`, whose action is
  `TWILIO_VOICE_FALLBACK_RECORDING`. The promise said is computed from the calendar alone
  (`fallback_deadline`), the later of the voice channel's first- and next-response targets
  from now: the fallback cannot read a promise already running on the caller's thread (an
  earlier message's, or a next-response one), so it says the more cautious of the two. No
  transcription (its callback would need the stored voicemail, which is still parked): the
  agents' notification says so.
- the recording (or, with nothing recorded, the `<Redirect>` that marks a missed call):
  parked whole on the inbox queue and thanked for; `on_parked` replays it through the normal
  recording handler (flows/replay.py), idempotent on RecordingSid (CallSid for a missed
  call): a voicemail the primary path stored before it failed is stored once.
- a request that failed on the primary's own recording URL comes here too (Twilio names it
  in `ErrorUrl`, with the recording's fields): parked as a recording, never greeted again;
  a forwarded call someone took (`DialCallStatus` completed) is hung up.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib import routes
from chalicelib.channels.port import WebhookRequest
from chalicelib.channels.twilio_messaging import parse_form
from chalicelib.channels.twilio_voice import Call, fallback_twiml, goodbye, to_call, to_recording
from chalicelib.domain.errors import UnknownDestination
from chalicelib.domain.messages import Channel
from chalicelib.domain.sla import deadline
from chalicelib.domain.voice import DIAL_ANSWERED, greeting, thanks
from chalicelib.queues import ParkedRequest
from chalicelib.settings import SecretsUnavailable
from chalicelib.stores import StoreConfig

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)


def is_recording(params: dict[str, list[str]]) -> bool:
    """A post that carries the caller's message (or its absence): the fallback's own
    recording action, or the primary's recording URL failed (Twilio names it in ErrorUrl)."""
    error_url = (params.get("ErrorUrl") or [""])[0].split("?", 1)[0].rstrip("/")
    return bool((params.get("RecordingSid") or [""])[0]) or error_url.endswith(
        routes.TWILIO_VOICE_RECORDING
    )


def fallback_deadline(store: StoreConfig, now: datetime) -> datetime:
    """The promise the fallback can say without reading the caller's thread: the later of
    the voice channel's first- and next-response targets from now (no priority)."""
    targets = store.sla.targets_for(Channel.VOICE.value, None)
    return max(
        deadline(store.calendar, now, targets.first_response),
        deadline(store.calendar, now, targets.next_response),
    )


def _store(c: Container, call: Call) -> StoreConfig:
    store = c.stores.by_number(call.number)
    if store is None:
        raise UnknownDestination("no store is configured for the number this call was made to")
    return store


def _read(c: Container, request: WebhookRequest, facts: dict[str, str]) -> tuple[Call, bool]:
    """The call, verified over the URL it was posted to. When the auth token cannot be read
    (SSM throttled), read unverified, and say so: the caller is on the line, the greeting
    reveals nothing but the store's name and hours, and a parked recording is verified
    again before anything is stored."""
    try:
        return c.twilio_voice_fallback_webhook.receive(request, facts), True
    except SecretsUnavailable as exc:
        log.warning("voice fallback: auth token unavailable, answered unverified: %s", exc)
        return to_call(parse_form(request.body), c.clock()), False


def answer_fallback(c: Container, request: WebhookRequest, facts: dict[str, str]) -> str:
    """The Voice Fallback URL (and its recording action): greet and record, park what was
    recorded, or hang up a call someone took."""
    call, verified = _read(c, request, facts)
    store = _store(c, call)
    params = parse_form(request.body)
    if request.path == routes.TWILIO_VOICE_FALLBACK_RECORDING or is_recording(params):
        to_recording(params, call.received_at)  # a malformed one is refused now, not parked
        parked = ParkedRequest(request.path, request.body, _signature(request), c.clock(), verified)
        c.inbox.send_all([parked])
        log.info("voice fallback: recording parked for replay: verified=%s", verified)
        return goodbye(thanks(store.locale))
    if (params.get("DialCallStatus") or [""])[0].lower() in (DIAL_ANSWERED, "answered"):
        return goodbye(None)
    plan = greeting(
        store_name=store.name,
        calendar=store.calendar,
        deadline=fallback_deadline(store, call.received_at),
        now=call.received_at,
        language=store.locale,
        settings=store.voice,
    )
    base = c.settings.public_base_url_for(request.base_url)
    log.info("voice fallback: call greeted: store=%s", store.store_id)
    return fallback_twiml(plan, base + routes.TWILIO_VOICE_FALLBACK_RECORDING)


def _signature(request: WebhookRequest) -> str | None:
    from chalicelib.channels.twilio_messaging import SIGNATURE_HEADER

    return request.headers.get(SIGNATURE_HEADER)
