"""Fuzzing Twilio's voice webhooks (the Voice URL, dial, recording and transcription
callbacks, the Voice Fallback URL and its recording action) through the real app.

Properties, for any form: never a 5xx, never an unhandled exception; unsigned or forged,
a 403 that changes nothing; signed with the auth token (so that it reaches the parser),
200 with TwiML (JSON for the transcription) or a clean 4xx that changes nothing; the
caller's number and words never logged.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from chalice.test import Client
from hypothesis import event, example, given
from hypothesis import strategies as st

from chalicelib import routes
from tests.integration.conftest import PUBLIC_URL
from tests.reliability.helpers import (
    DEMO_NUMBER,
    FORM,
    Snapshot,
    assert_clean_rejection,
    assert_no_crash,
    assert_not_logged,
    budget,
    twilio_signature,
)
from tests.reliability.test_fuzz_twilio import any_text, form_body, junk_numbers, mostly

VOICE_PATHS = [
    routes.TWILIO_VOICE,
    routes.TWILIO_VOICE_DIAL,
    routes.TWILIO_VOICE_RECORDING,
    routes.TWILIO_VOICE_TRANSCRIPTION,
    routes.TWILIO_VOICE_STATUS,
    routes.TWILIO_VOICE_FALLBACK,
    routes.TWILIO_VOICE_FALLBACK_RECORDING,
]
callers = st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True)
numbers = st.sampled_from([DEMO_NUMBER, "+15005550020", "+19999999999"])
call_sids = mostly(
    st.uuids().map(lambda u: f"CA{u.hex}"), st.one_of(st.text(max_size=40), st.just(""))
)
recording_sids = mostly(
    st.uuids().map(lambda u: f"RE{u.hex}"), st.one_of(st.text(max_size=40), st.just(""))
)
durations = mostly(
    st.integers(0, 600).map(str),
    st.sampled_from(["", "-1", "1.5", "٣", "9" * 50, "0x10", " 3"]),
)
urls = mostly(
    st.uuids().map(lambda u: f"https://api.twilio.com/2010-04-01/Recordings/RE{u.hex}"),
    st.one_of(st.text(max_size=60), st.just("ftp://x"), st.just("https://" + "x" * 2000)),
)


@st.composite
def voice_params(draw: st.DrawFn) -> dict[str, list[str]]:
    fields = {
        "CallSid": call_sids,
        "From": mostly(callers, junk_numbers),
        "To": mostly(numbers, junk_numbers),
        "FromCountry": st.sampled_from(["CZ", "US", "LT", "", "cz", "??"]),
        "ToCountry": st.sampled_from(["US", "", "CZ"]),
        "DialCallStatus": mostly(
            st.sampled_from(["completed", "no-answer", "busy", "failed"]), st.text(max_size=12)
        ),
        "CallStatus": mostly(
            st.sampled_from(["completed", "no-answer", "busy", "canceled"]), st.text(max_size=12)
        ),
        "CallDuration": durations,
        "RecordingSid": recording_sids,
        "RecordingUrl": urls,
        "RecordingDuration": durations,
        "TranscriptionStatus": mostly(
            st.sampled_from(["completed", "failed"]), st.text(max_size=12)
        ),
        "TranscriptionText": any_text,
    }
    params: dict[str, list[str]] = {}
    for key, values in fields.items():
        if draw(st.sampled_from([True] * 9 + [False])):
            params[key] = [draw(values) for _ in range(draw(st.integers(1, 2)))]
    return params


def private_values(params: dict[str, list[str]]) -> list[str]:
    return [v for key in ("From", "TranscriptionText") for v in params.get(key, []) if len(v) > 3]


@budget(1.0)
@given(data=st.data(), path=st.sampled_from(VOICE_PATHS))
def test_forged_voice_requests_are_refused_and_change_nothing(
    client: Client,
    snapshot: Callable[..., Snapshot],
    logs: pytest.LogCaptureFixture,
    data: st.DataObject,
    path: str,
) -> None:
    params = data.draw(voice_params())
    other = data.draw(st.sampled_from([p for p in VOICE_PATHS if p != path]))
    signature = data.draw(
        st.sampled_from(
            [
                None,
                "junk",
                twilio_signature(params, url=PUBLIC_URL + other),  # another voice route's
                twilio_signature(params, url=PUBLIC_URL + path, token="another-account"),
            ]
        )
    )
    headers = {"Content-Type": FORM}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    logs.clear()
    before = snapshot(tidy=True)
    response = client.http.post(path, headers=headers, body=form_body(params))
    event(f"HTTP {response.status_code}")
    assert_no_crash(response, logs.records)
    assert response.status_code in (400, 403, 413), response.body[:200]
    assert_clean_rejection(response, before, snapshot())
    assert_not_logged(logs.records, *private_values(params))


@budget(2.0)
@given(path=st.sampled_from(VOICE_PATHS), params=voice_params())
@example(
    path=routes.TWILIO_VOICE_RECORDING,
    params={
        "CallSid": ["CA" + "0" * 32],
        "From": ["+420777000111"],
        "To": [DEMO_NUMBER],
        "RecordingSid": ["RE" + "0" * 32],
        "RecordingUrl": ["https://api.twilio.com/r"],
        "RecordingDuration": ["1"],  # under 2 s: a missed call
    },
)
def test_signed_voice_garbage_reaches_the_parser_and_never_breaks_it(
    client: Client,
    snapshot: Callable[..., Snapshot],
    logs: pytest.LogCaptureFixture,
    path: str,
    params: dict[str, list[str]],
) -> None:
    headers = {
        "Content-Type": FORM,
        "X-Twilio-Signature": twilio_signature(params, url=PUBLIC_URL + path),
    }
    logs.clear()
    before = snapshot(tidy=True)
    response = client.http.post(path, headers=headers, body=form_body(params))
    event(f"HTTP {response.status_code}")
    assert_no_crash(response, logs.records)
    assert response.status_code != 403, "a correctly signed request failed verification"
    if response.status_code == 200:
        json_paths = (routes.TWILIO_VOICE_TRANSCRIPTION, routes.TWILIO_VOICE_STATUS)
        expected = b"{" if path in json_paths else b"<?xml"
        assert response.body.startswith(expected), response.body[:200]
    else:
        assert_clean_rejection(response, before, snapshot())
    assert_not_logged(logs.records, *private_values(params))
