"""Flow 1, by phone: a call nobody can take becomes a conversation.

Twilio asks the number's Voice URL what to do (`answer_call`), then the URLs its TwiML
names: the forwarded call's result (`dial_result`) and the voicemail or the lack of one
(`recording`). The recording is kept in our bucket, deleted at Twilio and transcribed by
Amazon Transcribe in jobs (flows/voicemail.py), never here. What each costs on the
webhook's path:

- voice, dial: one DynamoDB read (the caller's item: their language and any running
  promise) when the greeting is played, none while the call is forwarded; a forward
  someone took writes one claim on the CallSid (see status); no SQS: the same request
  twice gets the same TwiML.
- recording: the inbound path's own 2 DynamoDB (the caller's item, one transaction) and
  1 SQS (its jobs: keep the recording, which then notifies the agents; text the caller
  back); idempotent on `RecordingSid` (a missed call on `CallSid`).
- status (the number's StatusCallback, the end of every call): 0 DynamoDB, 1 SQS: a job
  delayed by CALL_ENDED_DELAY_SECONDS, which stores a missed call (as the recording
  callback does without a recording, under the CallSid) unless something is marked under
  the CallSid by then: the voicemail's transaction marks it too, a missed call is stored
  under it, and a forward someone took claims it (dial: 1 DynamoDB write). So a caller who
  hung up during the greeting (no `<Record>`, no recording callback) is a missed call,
  and the recording callback, in either order within the delay, is never doubled.
- transcription: nothing. Twilio's transcription is no longer asked for; the route stays
  for calls recorded by the TwiML of the release before, whose transcription Twilio posts
  minutes later: verified and answered 200, nothing stored (Amazon Transcribe makes the
  transcript), so that Twilio's debugger sees no failures across a deploy.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib import logs, routes
from chalicelib.channels.twilio_voice import (
    Call,
    CallbackUrls,
    CallEnded,
    DialResult,
    Recording,
    Transcription,
    goodbye,
    twiml,
)
from chalicelib.domain.errors import UnknownDestination
from chalicelib.domain.messages import CallFacts, Channel, InboundMessage
from chalicelib.domain.sla import deadline
from chalicelib.domain.voice import (
    CALL_ENDED_DELAY_SECONDS,
    DIAL_ANSWERED,
    MIN_VOICEMAIL_SECONDS,
    Forward,
    Voicemail,
    call_body,
    greeting,
    plan_call,
    text_back_refusal,
    thanks,
)
from chalicelib.domain.voice_config import E164
from chalicelib.flows.receive_inbound import store_inbound
from chalicelib.queues import Job, JobKind
from chalicelib.store import customers
from chalicelib.stores import StoreConfig

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)


def _store(c: Container, call: Call) -> StoreConfig:
    store = c.stores.by_number(call.number)
    if store is None:
        raise UnknownDestination("no store is configured for the number this call was made to")
    return store


def _urls(c: Container, received_base: str | None) -> CallbackUrls:
    """The callbacks under the base URL the request's signature was checked over."""
    base = c.settings.public_base_url_for(received_base)
    return CallbackUrls(
        dial=base + routes.TWILIO_VOICE_DIAL,
        recording=base + routes.TWILIO_VOICE_RECORDING,
    )


def _promise(c: Container, store: StoreConfig, call: Call) -> tuple[str, datetime]:
    """The caller's language and when they will be answered: the promise running on their
    open thread, else the one a message now would get (the same `deadline` function)."""
    customer = customers.snapshot(c.repository.customer(store.store_id, call.caller))
    open_thread = customer is not None and bool(customer.open_thread_id)
    open_thread = open_thread and customer is not None and customer.closed_at is None
    targets = store.sla.targets_for(
        Channel.VOICE.value, customer.priority if customer and open_thread else None
    )
    answered = open_thread and customer is not None and customer.responded
    target = targets.next_response if answered else targets.first_response
    pending = customer.due_at if customer and open_thread else None
    language = (customer.language if customer else None) or store.locale
    return language, pending or deadline(store.calendar, call.received_at, target)


def _voicemail(c: Container, store: StoreConfig, call: Call) -> Voicemail:
    language, due = _promise(c, store, call)
    return greeting(
        store_name=store.name,
        calendar=store.calendar,
        deadline=due,
        now=call.received_at,
        language=language,
        settings=store.voice,
    )


def answer_call(c: Container, call: Call, *, received_base: str | None = None) -> str:
    """The Voice URL: ring the store's phone while it is open, else greet and record."""
    store = _store(c, call)
    logs.bind_message(store.store_id, call.call_sid)
    if store.voice.forward_to and store.calendar.is_open(call.received_at):
        plan = plan_call(
            store_name=store.name,
            calendar=store.calendar,
            deadline=call.received_at,  # not said: the call is forwarded
            now=call.received_at,
            language=store.locale,
            settings=store.voice,
        )
    else:
        plan = _voicemail(c, store, call)
    log.info("call answered: store=%s forwarded=%s", store.store_id, isinstance(plan, Forward))
    return twiml(plan, _urls(c, received_base))


def dial_result(c: Container, result: DialResult, *, received_base: str | None = None) -> str:
    """The forwarded call ended: someone took it (hang up), or nobody did (voicemail)."""
    store = _store(c, result.call)
    logs.bind_message(store.store_id, result.call.call_sid)
    if result.status in (DIAL_ANSWERED, "answered"):
        # Someone took it: the StatusCallback's job finds the CallSid taken (no missed call).
        c.repository.claim(store.store_id, result.call.call_sid, "", result.call.received_at)
        return goodbye(None)
    log.info("forwarded call not taken: store=%s status=%s", store.store_id, result.status)
    return twiml(_voicemail(c, store, result.call), _urls(c, received_base))


def call_ended(c: Container, ended: CallEnded) -> str:
    """The StatusCallback: the call is over; whether it was missed is decided by a job a
    little later, when its recording callback (if any) has been stored."""
    store = _store(c, ended.call)
    logs.bind_message(store.store_id, ended.call.call_sid)
    call = ended.call
    detail = {
        "call_sid": call.call_sid,
        "caller": call.caller,
        "number": call.number,
        "caller_country": call.caller_country,
        "number_country": call.number_country,
        "received_at": call.received_at.isoformat(),
        "status": ended.status,
    }
    job = Job(JobKind.CALL_ENDED, store.store_id, "", call.call_sid, json.dumps(detail))
    c.jobs.send_all([job], delay=CALL_ENDED_DELAY_SECONDS)
    log.info("call ended: store=%s status=%s", store.store_id, ended.status)
    return "queued"


def call_ended_job(c: Container, job: Job) -> None:
    """A missed call for a call with nothing marked under its CallSid (no voicemail, no
    missed call, not taken by the store's phone); a redelivered job finds its own mark."""
    raw = json.loads(job.detail)
    call = Call(
        call_sid=str(raw["call_sid"]),
        caller=str(raw["caller"]),
        number=str(raw["number"]),
        caller_country=str(raw["caller_country"]),
        number_country=str(raw["number_country"]),
        received_at=datetime.fromisoformat(str(raw["received_at"])),
    )
    if c.repository.marked(job.store_id, call.call_sid):
        log.info("ended call already on its thread or taken: store=%s", job.store_id)
        return
    recording(c, Recording(call, None, None, 0))


def recording(c: Container, done: Recording) -> str:
    """The voicemail (or, with nothing recorded, a missed call) on the caller's thread; the
    text back and the agents' notification by jobs. Thanks, and hang up. A voicemail the
    Voice Fallback URL took (parked, replayed by flows/replay.py) is kept and transcribed
    as any: Amazon Transcribe works on our copy, whichever TwiML recorded it."""
    call = done.call
    store = _store(c, call)
    voicemail = done.recording_url is not None and done.duration_seconds >= MIN_VOICEMAIL_SECONDS
    provider_id = done.recording_sid if voicemail and done.recording_sid else call.call_sid
    logs.bind_message(store.store_id, provider_id)
    refusal = text_back_refusal(
        store.voice,
        caller=call.caller,
        caller_country=call.caller_country,
        store_country=call.number_country,
    )
    if not voicemail:
        transcription = "nothing was recorded"
    elif store.voice.transcribe:
        # The language is the voicemail job's to check; a voicemail the Voice Fallback URL
        # took is kept and transcribed as well, once replayed.
        transcription = "pending"
    else:
        transcription = "transcription is off for this store"
    facts = CallFacts(
        call_sid=call.call_sid,
        duration_seconds=done.duration_seconds,
        recording_url=done.recording_url if voicemail else None,
        transcription=transcription,
        text_back=refusal,
    )
    message = InboundMessage(
        channel=Channel.VOICE,
        provider_id=provider_id,
        sender=call.caller,
        recipient=call.number,
        body=call_body(facts),
        received_at=call.received_at,
        call=facts,
    )
    # A withheld number ("anonymous") is not one caller: each such call is a thread.
    stored = store_inbound(
        c,
        store,
        message,
        follow_pointer=bool(E164.match(call.caller)),
        may_acknowledge=refusal is None,
    )
    if refusal is not None:
        log.info("no text back: store=%s reason=%s", store.store_id, refusal)
    language = (stored.plan.language if stored.plan else None) or store.locale
    return goodbye(thanks(language) if voicemail else None)


def transcription(c: Container, done: Transcription) -> str:
    """Twilio's transcription of a call recorded before this release asked for none:
    verified (by the route), acknowledged, nothing stored; Amazon Transcribe transcribes
    every voicemail kept (flows/voicemail.py)."""
    store = _store(c, done.call)
    logs.bind_message(store.store_id, done.recording_sid)
    log.info("Twilio transcription ignored: store=%s", store.store_id)
    return "ignored"
