"""Twilio Programmable Voice, both ways: its Recordings API, and Twilio's part in a call.

    GET    /twilio/2010-04-01/Accounts/{AccountSid}/Recordings/{RecordingSid}[.wav|.mp3]
    DELETE /twilio/2010-04-01/Accounts/{AccountSid}/Recordings/{RecordingSid}[.json]

Recordings are served as Twilio serves them by default (no credentials asked): a short WAV
file for any recording not deleted; a delete needs Basic auth and is recorded in the
outbox. `play_call` is the caller and Twilio together (the tests' and the CLI's): a signed
POST to the number's Voice URL, then whatever its TwiML names, each signed over its URL
as Twilio signs it: the forwarded call's result, the recording, its transcription.
"""

from __future__ import annotations

import io
import re
import threading
import uuid
import wave
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Final
from xml.etree import ElementTree

from relaydesk.sandbox.base import Fault, Outbox, Request, Response, iso, now, phrase
from relaydesk.sandbox.twilio import TWILIO_API_VERSION, twilio_error

_RECORDING_PATH: Final = re.compile(
    rf"^/twilio/{TWILIO_API_VERSION}/Accounts/(?P<account>[^/]+)/Recordings/"
    r"(?P<sid>RE[0-9a-fA-F]{32})(?:\.(?P<ext>wav|mp3|json))?$"
)
SAMPLE_RATE: Final = 8000
ACCOUNT_SID: Final = "AC00000000000000000000000000000000"
FALLBACK_ERROR_CODE: Final = "11200"
"""What Twilio reports when a URL did not answer TwiML (HTTP retrieval failure)."""


def recording_audio(seconds: float = 1.0) -> bytes:
    """A small WAV (8 kHz mono, a quiet 440 Hz tone): what the agents' link plays."""
    frames = bytearray()
    for n in range(int(SAMPLE_RATE * seconds)):
        # A square wave keeps it dependency-free and audible.
        frames += (2000 if (n * 440 * 2 // SAMPLE_RATE) % 2 else -2000).to_bytes(
            2, "little", signed=True
        )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(bytes(frames))
    return buffer.getvalue()


def recording_url(sandbox_url: str, recording_sid: str, account_sid: str = ACCOUNT_SID) -> str:
    return (
        f"{sandbox_url.rstrip('/')}/twilio/{TWILIO_API_VERSION}/Accounts/{account_sid}"
        f"/Recordings/{recording_sid}"
    )


class TwilioRecordings:
    """The Provider for Twilio's Recordings API (fetch, delete)."""

    name: Final = "twilio-voice"
    title: Final = "the Twilio Recordings API"

    def __init__(self) -> None:
        self._deleted: set[str] = set()
        self._lock = threading.Lock()
        self._audio = recording_audio()

    def handles(self, request: Request) -> bool:
        return request.method in ("GET", "DELETE") and bool(_RECORDING_PATH.match(request.path))

    def fault(self, fault: Fault) -> Response:
        status = fault.status
        code = fault.code if fault.code is not None else 20000 + status
        return Response(status, twilio_error(status, code, fault.message or phrase(status)))

    def handle(self, request: Request, outbox: Outbox) -> Response:
        matched = _RECORDING_PATH.match(request.path)
        assert matched is not None, "handle() is only called when handles() said so"
        sid = matched.group("sid")
        with self._lock:
            gone = sid in self._deleted
        if gone:
            return Response(
                HTTPStatus.NOT_FOUND,
                twilio_error(404, 20404, f"The requested resource {request.path} was not found"),
            )
        if request.method == "GET":
            kind = "audio/mpeg" if matched.group("ext") == "mp3" else "audio/x-wav"
            return Response(HTTPStatus.OK, headers={"Content-Type": kind}, raw=self._audio)
        if not request.headers.get("Authorization", "").startswith("Basic "):
            return Response(HTTPStatus.UNAUTHORIZED, twilio_error(401, 20003, "Authenticate"))
        with self._lock:
            self._deleted.add(sid)
        outbox.record(
            [
                {
                    "provider": self.name,
                    "channel": "voice",
                    "action": "delete_recording",
                    "id": sid,
                    "time": iso(now()),
                }
            ]
        )
        return Response(HTTPStatus.NO_CONTENT)


Post = Callable[[str, dict[str, str], str], tuple[int, str]]
"""(public URL, form, X-Twilio-Signature) -> (status, body): how a step reaches the app."""


@dataclass(frozen=True)
class CallStep:
    """One request Twilio made during the call, and the app's answer."""

    name: str
    url: str
    status: int
    body: str


def _sign(auth_token: str, url: str, params: dict[str, str]) -> str:
    from twilio.request_validator import RequestValidator

    return str(RequestValidator(auth_token).compute_signature(url, params))


def _verb(twiml: str, tag: str) -> ElementTree.Element | None:
    try:
        root = ElementTree.fromstring(twiml)  # noqa: S314 (our own app's TwiML)
    except ElementTree.ParseError:
        return None
    return root.find(tag)


def play_call(
    post: Post,
    *,
    auth_token: str,
    voice_url: str,
    sandbox_url: str,
    caller: str,
    number: str,
    voicemail: str | None,
    answer_forward: bool = False,
    caller_country: str = "CZ",
    number_country: str = "US",
    duration: int | None = None,
    call_sid: str | None = None,
    recording_sid: str | None = None,
    fallback_url: str | None = None,
) -> list[CallStep]:
    """Call `number` from `caller` as Twilio would: the Voice URL, then what its TwiML says.

    `voicemail`: the words the caller leaves after the tone (also Twilio's transcript);
    None: the caller says nothing (Twilio then follows the `<Redirect>` after `<Record>`).
    `answer_forward`: someone takes the forwarded call. `fallback_url`: the number's Voice
    Fallback URL, posted (with ErrorCode 11200 and ErrorUrl added) when a URL that should
    answer TwiML fails, and the call goes on with its answer (a step named "... fallback")."""
    base = {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": TWILIO_API_VERSION,
        "CallSid": call_sid or f"CA{uuid.uuid4().hex}",
        "CallStatus": "ringing",
        "Direction": "inbound",
        "From": caller,
        "To": number,
        "FromCountry": caller_country,
        "ToCountry": number_country,
    }
    steps: list[CallStep] = []

    def step(name: str, url: str, extra: dict[str, str], *, twiml: bool = True) -> CallStep:
        params = {**base, **extra}
        status, body = post(url, params, _sign(auth_token, url, params))
        steps.append(CallStep(name, url, status, body))
        if twiml and fallback_url and not 200 <= status < 300 and url != fallback_url:
            failed = {**params, "ErrorCode": FALLBACK_ERROR_CODE, "ErrorUrl": url}
            status, body = post(fallback_url, failed, _sign(auth_token, fallback_url, failed))
            steps.append(CallStep(f"{name} fallback", fallback_url, status, body))
        return steps[-1]

    answer = step("voice", voice_url, {})
    if answer.status != HTTPStatus.OK:
        return steps
    base["CallStatus"] = "in-progress"
    dial = _verb(answer.body, "Dial")
    if dial is not None:
        taken = "completed" if answer_forward else "no-answer"
        answer = step(
            "dial",
            dial.get("action", ""),
            {"DialCallStatus": taken, "DialCallDuration": "42" if answer_forward else "0"},
        )
        if answer_forward or answer.status != HTTPStatus.OK:
            return steps
    record = _verb(answer.body, "Record")
    if record is None:
        return steps
    if voicemail is None:
        redirect = _verb(answer.body, "Redirect")
        if redirect is not None and redirect.text:
            step("recording", redirect.text.strip(), {})
        return steps
    sid = recording_sid or f"RE{uuid.uuid4().hex}"
    url = recording_url(sandbox_url, sid)
    limit = int(record.get("maxLength", "3600"))
    seconds = duration if duration is not None else min(limit, 2 + len(voicemail.split()) // 2)
    recorded = {
        "RecordingSid": sid,
        "RecordingUrl": url,
        "RecordingDuration": str(seconds),
        "Digits": "hangup",
    }
    answer = step("recording", record.get("action", ""), recorded)
    if answer.status != HTTPStatus.OK or record.get("transcribe") != "true":
        return steps
    step(
        "transcription",
        record.get("transcribeCallback", ""),
        {
            "RecordingSid": sid,
            "RecordingUrl": url,
            "TranscriptionSid": f"TR{uuid.uuid4().hex}",
            "TranscriptionStatus": "completed",
            "TranscriptionText": voicemail,
            "TranscriptionType": "fast",
            "TranscriptionUrl": f"{url}/Transcriptions",
            "CallStatus": "completed",
        },
        twiml=False,  # a callback, not TwiML: Twilio has no fallback for it
    )
    return steps
