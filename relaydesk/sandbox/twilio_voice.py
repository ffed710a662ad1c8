"""Twilio Programmable Voice, both ways: its Recordings API, and Twilio's part in a call.

    GET    /twilio/2010-04-01/Accounts/{AccountSid}/Recordings/{RecordingSid}[.wav|.mp3]
    DELETE /twilio/2010-04-01/Accounts/{AccountSid}/Recordings/{RecordingSid}[.json]
    POST   /sandbox/recordings {"sid": "RE...", "words": "..."}   (Twilio recording a call)

Recordings are served as Twilio serves them by default (no credentials asked): a short WAV
file for any recording not deleted; a delete needs Basic auth and is recorded in the
outbox. A recording made by `play_call` carries the words the caller pretended to say in
the WAV itself (a RIFF LIST/INFO comment, `spoken_words` reads it back), so that the
sandbox's Transcribe (relaydesk/sandbox/transcribe.py) "hears" them in the bytes our job
copied to S3. `play_call` is the caller and Twilio together (the tests' and the CLI's): a
signed POST to the number's Voice URL, then whatever its TwiML names, each signed over its
URL as Twilio signs it: the forwarded call's result, the recording.
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

from relaydesk.sandbox.base import (
    BadRequest,
    Fault,
    Outbox,
    Request,
    Response,
    iso,
    json_object,
    now,
    phrase,
)
from relaydesk.sandbox.twilio import TWILIO_API_VERSION, twilio_error

_RECORDING_PATH: Final = re.compile(
    rf"^/twilio/{TWILIO_API_VERSION}/Accounts/(?P<account>[^/]+)/Recordings/"
    r"(?P<sid>RE[0-9a-fA-F]{32})(?:\.(?P<ext>wav|mp3|json))?$"
)
SAMPLE_RATE: Final = 8000
ACCOUNT_SID: Final = "AC00000000000000000000000000000000"
FALLBACK_ERROR_CODE: Final = "11200"
"""What Twilio reports when a URL did not answer TwiML (HTTP retrieval failure)."""
RECORD_PATH: Final = "/sandbox/recordings"
_SID: Final = re.compile(r"^RE[0-9a-fA-F]{32}$")
MAX_WORDS: Final = 20_000


def _chunk(tag: bytes, data: bytes) -> bytes:
    return tag + len(data).to_bytes(4, "little") + data + (b"\0" if len(data) % 2 else b"")


def recording_audio(seconds: float = 1.0, words: str | None = None) -> bytes:
    """A small WAV (8 kHz mono, a quiet 440 Hz tone): what the agents' link plays; with
    `words`, a LIST/INFO chunk whose comment (ICMT) says what the caller said."""
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
    audio = buffer.getvalue()
    if not words:
        return audio
    info = _chunk(b"LIST", b"INFO" + _chunk(b"ICMT", words.encode("utf-8") + b"\0"))
    body = audio[8:] + info
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def spoken_words(audio: bytes) -> str | None:
    """What `recording_audio` wrote in the WAV's LIST/INFO comment; None: no words there
    (not a WAV, or a recording of silence)."""
    if audio[:4] != b"RIFF" or audio[8:12] != b"WAVE":
        return None
    at = 12
    while at + 8 <= len(audio):
        tag, size = audio[at : at + 4], int.from_bytes(audio[at + 4 : at + 8], "little")
        data = audio[at + 8 : at + 8 + size]
        if tag == b"LIST" and data[:4] == b"INFO":
            inner = 4
            while inner + 8 <= len(data):
                sub, length = (
                    data[inner : inner + 4],
                    int.from_bytes(data[inner + 4 : inner + 8], "little"),
                )
                if sub == b"ICMT":
                    text = data[inner + 8 : inner + 8 + length].rstrip(b"\0")
                    return text.decode("utf-8", errors="replace")
                inner += 8 + length + (length % 2)
        at += 8 + size + (size % 2)
    return None


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
        self._words: dict[str, str] = {}
        self._lock = threading.Lock()
        self._audio = recording_audio()

    def handles(self, request: Request) -> bool:
        if request.method == "POST" and request.path == RECORD_PATH:
            return True
        return request.method in ("GET", "DELETE") and bool(_RECORDING_PATH.match(request.path))

    def _record(self, request: Request) -> Response:
        """Twilio's part during the call: the caller's words recorded under `sid`."""
        raw = json_object(request.body)
        sid, words = raw.get("sid"), raw.get("words")
        if not isinstance(sid, str) or not _SID.match(sid):
            raise BadRequest("sid must be a RecordingSid (RE and 32 hex digits)")
        if not isinstance(words, str) or len(words) > MAX_WORDS:
            raise BadRequest(f"words must be text of at most {MAX_WORDS} characters")
        with self._lock:
            self._words[sid] = words
        return Response(HTTPStatus.CREATED, {"sid": sid})

    def fault(self, fault: Fault) -> Response:
        status = fault.status
        code = fault.code if fault.code is not None else 20000 + status
        return Response(status, twilio_error(status, code, fault.message or phrase(status)))

    def handle(self, request: Request, outbox: Outbox) -> Response:
        if request.path == RECORD_PATH:
            return self._record(request)
        matched = _RECORDING_PATH.match(request.path)
        assert matched is not None, "handle() is only called when handles() said so"
        sid = matched.group("sid")
        with self._lock:
            gone = sid in self._deleted
            words = self._words.get(sid)
        if gone:
            return Response(
                HTTPStatus.NOT_FOUND,
                twilio_error(404, 20404, f"The requested resource {request.path} was not found"),
            )
        if request.method == "GET":
            kind = "audio/mpeg" if matched.group("ext") == "mp3" else "audio/x-wav"
            audio = recording_audio(words=words) if words else self._audio
            return Response(HTTPStatus.OK, headers={"Content-Type": kind}, raw=audio)
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


CALL_SECONDS = 5
"""The `CallDuration` the StatusCallback reports when the caller's `duration` is not given."""


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
    status_callback_url: str | None = None,
    hang_up_early: bool = False,
    status_first: bool = False,
) -> list[CallStep]:
    """Call `number` from `caller` as Twilio would: the Voice URL, then what its TwiML says.

    `voicemail`: the words the caller leaves after the tone (recorded in the WAV the
    sandbox serves for the recording); None: the caller says nothing (Twilio then follows
    the `<Redirect>` after `<Record>`).
    `answer_forward`: someone takes the forwarded call. `fallback_url`: the number's Voice
    Fallback URL, posted (with ErrorCode 11200 and ErrorUrl added) when a URL that should
    answer TwiML fails, and the call goes on with its answer (a step named "... fallback").
    `status_callback_url`: the number's StatusCallback, posted when the call is over (step
    "status"; `status_first`: before the recording callback, which Twilio does not promise
    to send first). `hang_up_early`: the caller hangs up during the greeting, before the
    tone: no `<Record>`, no recording callback; only the StatusCallback hears of it."""
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

    def ended() -> list[CallStep]:
        if status_callback_url and not any(s.name == "status" for s in steps):
            seconds = duration if duration is not None else CALL_SECONDS
            ending = {"CallStatus": "completed", "CallDuration": str(seconds)}
            step("status", status_callback_url, ending, twiml=False)
        return steps

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
        return ended()
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
            return ended()
    record = _verb(answer.body, "Record")
    if record is None or hang_up_early:
        return ended()
    if status_first:
        ended()
    if voicemail is None:
        redirect = _verb(answer.body, "Redirect")
        if redirect is not None and redirect.text:
            step("recording", redirect.text.strip(), {})
        return ended()
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
    _record_words(sandbox_url, sid, voicemail)
    step("recording", record.get("action", ""), recorded)
    return ended()


def _record_words(sandbox_url: str, sid: str, words: str) -> None:
    """Twilio records the caller: the sandbox keeps their words for the recording's WAV."""
    import requests

    requests.post(
        f"{sandbox_url.rstrip('/')}{RECORD_PATH}", json={"sid": sid, "words": words}, timeout=10
    ).raise_for_status()
