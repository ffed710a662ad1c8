"""Twilio Programmable Voice: the number's Voice URL and the callbacks its TwiML names.

Every request is verified as the messaging webhooks are (`TwilioWebhook`, the signature
over the public URL and every parameter); this module reads the verified parameters into
plain values and renders TwiML with twilio's `VoiceResponse` (light: no REST client).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from twilio.twiml.voice_response import VoiceResponse

from chalicelib.domain.errors import MalformedRequest
from chalicelib.domain.voice import Forward, Speech, Voicemail

_SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
MAX_DURATION_SECONDS = 4 * 60 * 60  # Twilio ends any call after 4 hours
MAX_URL = 1000
MAX_TRANSCRIPT = 20_000


def _single(params: Mapping[str, list[str]], name: str) -> str:
    return (params.get(name) or [""])[0]


def _required(params: Mapping[str, list[str]], *names: str) -> None:
    missing = [n for n in names if not _single(params, n)]
    if missing:
        raise MalformedRequest(f"missing required field(s): {', '.join(missing)}")


def _sid(params: Mapping[str, list[str]], name: str, prefix: str) -> str:
    value = _single(params, name)
    if not _SID.match(value) or not value.startswith(prefix):
        raise MalformedRequest(f"{name} must be a Twilio id ({prefix} and 32 hex digits)")
    return value


def _country(params: Mapping[str, list[str]], name: str) -> str:
    value = _single(params, name).upper()
    return value if _COUNTRY.match(value) else ""


@dataclass(frozen=True)
class Call:
    """Who called which number: every voice request carries it."""

    call_sid: str
    caller: str
    """`From`: E.164, or what Twilio says for a withheld number ('anonymous', ...)."""
    number: str
    """`To`: the store's number."""
    caller_country: str
    number_country: str
    received_at: datetime


def to_call(params: Mapping[str, list[str]], received_at: datetime) -> Call:
    _required(params, "CallSid", "From", "To")
    return Call(
        call_sid=_sid(params, "CallSid", "CA"),
        caller=_single(params, "From")[:64],
        number=_single(params, "To")[:64],
        caller_country=_country(params, "FromCountry"),
        number_country=_country(params, "ToCountry"),
        received_at=received_at,
    )


@dataclass(frozen=True)
class DialResult:
    call: Call
    status: str
    """`DialCallStatus`: completed, busy, no-answer, failed or canceled."""


DIAL_STATUSES = frozenset({"completed", "answered", "busy", "no-answer", "failed", "canceled"})


def to_dial_result(params: Mapping[str, list[str]], received_at: datetime) -> DialResult:
    call = to_call(params, received_at)
    _required(params, "DialCallStatus")
    status = _single(params, "DialCallStatus").lower()
    if status not in DIAL_STATUSES:
        raise MalformedRequest(f"DialCallStatus {status[:40]!r} is not a Twilio dial status")
    return DialResult(call, status)


@dataclass(frozen=True)
class CallEnded:
    """The number's StatusCallback: the call is over (`CallStatus`, `CallDuration`)."""

    call: Call
    status: str
    duration_seconds: int


CALL_END_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


def _seconds(params: Mapping[str, list[str]], name: str) -> int:
    raw = _single(params, name) or "0"
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6):
        raise MalformedRequest(f"{name} must be a whole number of seconds")
    if int(raw) > MAX_DURATION_SECONDS:
        raise MalformedRequest(f"{name} is longer than any Twilio call")
    return int(raw)


def to_call_ended(params: Mapping[str, list[str]], received_at: datetime) -> CallEnded:
    call = to_call(params, received_at)
    _required(params, "CallStatus")
    status = _single(params, "CallStatus").lower()
    if status not in CALL_END_STATUSES:
        raise MalformedRequest(f"CallStatus {status[:40]!r} is not the status of an ended call")
    return CallEnded(call, status, _seconds(params, "CallDuration"))


@dataclass(frozen=True)
class Recording:
    """The `<Record>` action: a voicemail, or nothing recorded (no `RecordingSid`)."""

    call: Call
    recording_sid: str | None
    recording_url: str | None
    duration_seconds: int


def to_recording(params: Mapping[str, list[str]], received_at: datetime) -> Recording:
    call = to_call(params, received_at)
    duration = _seconds(params, "RecordingDuration")
    sid = _single(params, "RecordingSid")
    url = _single(params, "RecordingUrl")
    if sid:
        sid = _sid(params, "RecordingSid", "RE")
    if url and (not url.startswith("https://") and not url.startswith("http://")):
        raise MalformedRequest("RecordingUrl must be an http(s) URL")
    if len(url) > MAX_URL:
        raise MalformedRequest(f"RecordingUrl is longer than {MAX_URL} characters")
    if bool(sid) != bool(url):
        raise MalformedRequest("RecordingSid and RecordingUrl come together or not at all")
    return Recording(call, sid or None, url or None, duration)


@dataclass(frozen=True)
class Transcription:
    """Twilio's own transcription callback: no longer asked for (the TwiML has no
    `transcribeCallback`); still read for calls recorded before a deploy."""

    call: Call
    recording_sid: str
    text: str | None
    """None: Twilio could not transcribe it (`TranscriptionStatus` failed)."""


def to_transcription(params: Mapping[str, list[str]], received_at: datetime) -> Transcription:
    call = to_call(params, received_at)
    _required(params, "RecordingSid", "TranscriptionStatus")
    status = _single(params, "TranscriptionStatus").lower()
    if status not in ("completed", "failed"):
        raise MalformedRequest("TranscriptionStatus must be completed or failed")
    text = _single(params, "TranscriptionText")
    if len(text) > MAX_TRANSCRIPT:
        raise MalformedRequest(f"TranscriptionText is longer than {MAX_TRANSCRIPT} characters")
    return Transcription(
        call,
        _sid(params, "RecordingSid", "RE"),
        text.strip() if status == "completed" and text.strip() else None,
    )


@dataclass(frozen=True)
class CallbackUrls:
    """Where Twilio posts what follows in the call (absolute: Twilio signs them as called)."""

    dial: str
    recording: str


def _say(response: VoiceResponse, speech: Speech) -> None:
    if speech.play_url:
        response.play(speech.play_url)
    elif speech.voice is not None:
        response.say(speech.text, voice=speech.voice.name, language=speech.voice.language)


def twiml(plan: Forward | Voicemail, urls: CallbackUrls) -> str:
    """The call's TwiML: ring the store's phone, or greet and record."""
    response = VoiceResponse()
    if isinstance(plan, Forward):
        dial = response.dial(action=urls.dial, method="POST", timeout=plan.timeout_seconds)
        dial.number(plan.number)
        return str(response.to_xml(xml_declaration=True))
    _say(response, plan.greeting)
    record = {
        "action": urls.recording,
        "method": "POST",
        "max_length": plan.max_length,
        "timeout": plan.silence_timeout,
        "finish_on_key": plan.finish_key,
        "play_beep": True,
    }
    # No `transcribe`: Amazon Transcribe transcribes our copy (flows/voicemail.py), in
    # the caller's language; Twilio's transcription is English only and up to 2 minutes.
    response.record(**record)
    # Twilio skips the action when nothing was recorded and goes on to the next verb: the
    # same URL without a RecordingSid, which stores a missed call.
    response.redirect(urls.recording, method="POST")
    return str(response.to_xml(xml_declaration=True))


def fallback_twiml(plan: Voicemail, recording_url: str) -> str:
    """The Voice Fallback URL's answer: the greeting and `<Record>`, its action (and the
    `<Redirect>` for nothing recorded) to `recording_url`, the path that parks it (no
    TwiML asks Twilio for a transcription: Amazon Transcribe's comes by the jobs)."""
    return twiml(plan, CallbackUrls(dial=recording_url, recording=recording_url))


def goodbye(speech: Speech | None) -> str:
    """After the recording, or a forwarded call someone took: thanks, and hang up."""
    response = VoiceResponse()
    if speech is not None:
        _say(response, speech)
    response.hangup()
    return str(response.to_xml(xml_declaration=True))
