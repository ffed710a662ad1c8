"""Fuzzing Twilio's webhooks (messaging and status callbacks) through the real app.

Properties, for any body and header set:
- never a 5xx, never an unhandled exception;
- a refusal is a 4xx with a message, and leaves the table, the queues and the outbox as
  they were; a refused signature is logged as a security event (WARNING);
- a request signed with the auth token (so that it passes verification and reaches the
  parser) is answered 200 with TwiML or refused as above, whatever its fields hold.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.test import Client
from hypothesis import event, example, given
from hypothesis import strategies as st

from tests.integration.conftest import PUBLIC_URL
from tests.reliability.helpers import (
    ACME_NUMBER,
    DEMO_NUMBER,
    FORM,
    TWILIO_PATH,
    Snapshot,
    assert_clean_rejection,
    assert_no_crash,
    assert_not_logged,
    budget,
    security_lines,
    twilio_signature,
)

STATUS_PATH = "/webhooks/twilio/status"

# What an HTTP header can carry: printable ASCII (no CR/LF, which no client can send).
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=120)
extra_headers = st.dictionaries(
    st.from_regex(r"X-[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True), header_text, max_size=4
)
content_types = st.sampled_from(
    [
        FORM,
        FORM + "; charset=utf-8",
        FORM + "; charset=iso-8859-1",
        "text/plain",
        "application/json",
        "multipart/form-data; boundary=x",
    ]
)

# Phone-ish addresses. Mostly the shapes Twilio sends, so that signed requests get past
# the parser to the store (its numbers are in the mix) and into storage; then junk.
customer_numbers = st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True)
store_numbers = st.sampled_from([DEMO_NUMBER, ACME_NUMBER, "+19999999999"])


def mostly(usual: st.SearchStrategy[str], rare: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """`usual` about nine times in ten (hypothesis favours boundary integers, so the odds
    are set by sampling, which shrinks towards `usual`)."""
    return st.sampled_from([True] * 9 + [False]).flatmap(lambda u: usual if u else rare)


junk_numbers = st.one_of(
    st.sampled_from(["", "whatsapp:", "+", "whatsapp:+15005550006 ", DEMO_NUMBER + "\n"]),
    st.text(max_size=30),
)
sids = mostly(
    st.uuids().map(lambda u: f"SM{u.hex}"),
    st.one_of(st.from_regex(r"(SM|MM|AC)[0-9a-f]{32}", fullmatch=True), st.text(max_size=40)),
)
num_media = mostly(
    st.integers(0, 10).map(str),
    st.one_of(
        st.integers(-3, 12).map(str),
        st.sampled_from(["", " 2 ", "+1", "1e3", "0x10", "٣", "²", "9" * 5000]),
        st.text(max_size=8),
    ),
)
# Arbitrary text, lone surrogates excluded: they cannot be UTF-8 encoded, so no client
# can send them (the raw-bytes bodies cover undecodable input).
any_text = st.text(st.characters(codec="utf-8"), max_size=300)
param_values = st.lists(any_text, min_size=1, max_size=2)
TWILIO_KEYS = [
    "Body",
    "ProfileName",
    "WaId",
    "MediaUrl0",
    "MediaUrl1",
    "MediaContentType0",
    "AccountSid",
    "SmsSid",
    "NumSegments",
    "ButtonPayload",
    "Latitude",
    "MessageStatus",
    "ErrorCode",
]


@st.composite
def messaging_params(draw: st.DrawFn) -> dict[str, list[str]]:
    """Twilio's messaging fields with fuzzed values (required ones sometimes missing,
    repeated or blank), plus fields Twilio never sends."""
    params: dict[str, list[str]] = {}
    whatsapp = draw(st.sampled_from([False, False, False, True]))
    prefix = "whatsapp:" if whatsapp else ""
    for key, values in [
        ("MessageSid", sids),
        ("From", mostly(customer_numbers.map(lambda n: prefix + n), junk_numbers)),
        ("To", mostly(store_numbers.map(lambda n: prefix + n), junk_numbers)),
        ("NumMedia", num_media),
    ]:
        if draw(st.sampled_from([True] * 19 + [False])):  # present 19 times in 20
            params[key] = [draw(values) for _ in range(draw(st.integers(1, 2)))]
    for key in draw(st.lists(st.sampled_from(TWILIO_KEYS), max_size=5, unique=True)):
        params[key] = draw(param_values)
    extra = draw(st.dictionaries(st.text(min_size=1, max_size=12), param_values, max_size=2))
    for key, value in extra.items():
        params.setdefault(key, value)
    return params


@st.composite
def status_params(draw: st.DrawFn) -> dict[str, list[str]]:
    """A status callback: From is the store's number we sent from (mostly)."""
    params = draw(messaging_params())
    params["From"] = [draw(mostly(store_numbers, junk_numbers))]
    if draw(st.sampled_from([True] * 9 + [False])):
        params["MessageStatus"] = [
            draw(
                mostly(
                    st.sampled_from(["sent", "delivered", "failed", "undelivered", "read"]),
                    st.text(max_size=12),
                )
            )
        ]
    if draw(st.booleans()):
        params["ErrorCode"] = [
            draw(
                st.one_of(
                    st.sampled_from(["30003", "", "١٢", "²", "9" * 5000, "30003x", "-1"]),
                    header_text,
                )
            )
        ]
    return params


def private_values(params: dict[str, list[str]]) -> list[str]:
    """What must never be logged: the customer's text, number and name."""
    return [v for key in ("Body", "From", "ProfileName", "WaId") for v in params.get(key, [])]


def form_body(params: dict[str, list[str]]) -> bytes:
    return urlencode([(k, v) for k, values in params.items() for v in values]).encode()


@st.composite
def forged_signatures(draw: st.DrawFn, body_params: dict[str, list[str]], path: str) -> str | None:
    """No signature, junk, or a genuine one over something else: another URL (the other
    Twilio route, http instead of https, another host, the host without the stage path),
    other parameters, another account's token."""
    own = PUBLIC_URL + path
    kind = draw(st.sampled_from(["none", "junk", "url", "params", "token"]))
    if kind == "none":
        return None
    if kind == "junk":
        return draw(st.one_of(header_text, st.binary(min_size=20, max_size=20).map(_b64)))
    if kind == "url":
        other_route = PUBLIC_URL + (STATUS_PATH if path == TWILIO_PATH else TWILIO_PATH)
        other = draw(
            st.sampled_from(
                [
                    other_route,
                    own.replace("https://", "http://"),
                    own.replace("hooks.example.test", "evil.example"),
                    PUBLIC_URL.removesuffix("/api") + path,
                    "http://127.0.0.1:8000" + path,
                ]
            )
        )
        return twilio_signature(body_params, url=other)
    if kind == "params":
        changed = dict(body_params)
        changed["Body"] = [*changed.get("Body", []), "tampered"]
        return twilio_signature(changed, url=own)
    return twilio_signature(body_params, url=own, token="another-accounts-auth-token")


def _b64(raw: bytes) -> str:
    import base64

    return base64.b64encode(raw).decode()


def post(client: Client, path: str, body: bytes, headers: dict[str, str]) -> Any:
    return client.http.post(path, headers=headers, body=body)


@budget(1.0)
@given(data=st.data(), path=st.sampled_from([TWILIO_PATH, STATUS_PATH]))
def test_unsigned_and_forged_posts_are_refused_and_change_nothing(
    client: Client,
    snapshot: Callable[..., Snapshot],
    logs: pytest.LogCaptureFixture,
    data: st.DataObject,
    path: str,
) -> None:
    params = data.draw(messaging_params() if path == TWILIO_PATH else status_params())
    body = data.draw(st.one_of(st.just(form_body(params)), st.binary(max_size=2048)))
    signature = data.draw(forged_signatures(params, path))
    headers = {"Content-Type": data.draw(content_types), **data.draw(extra_headers)}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    logs.clear()
    before = snapshot(tidy=True)
    response = post(client, path, body, headers)
    event(f"HTTP {response.status_code}")
    assert_no_crash(response, logs.records)
    assert_clean_rejection(response, before, snapshot())
    if response.status_code == 403:
        assert security_lines(logs.records), "a refused signature must be logged (WARNING)"
    assert_not_logged(logs.records, *private_values(params))


@budget(2.0)
@given(params=messaging_params())
@example(params={"MessageSid": ["SMx"], "From": ["+420777000111"], "To": [DEMO_NUMBER]})
@example(
    params={
        "MessageSid": ["SMy"],
        "From": ["whatsapp:+420777000111"],
        "To": [DEMO_NUMBER],  # WhatsApp from, SMS to
    }
)
def test_signed_garbage_reaches_the_parser_and_never_breaks_it(
    client: Client,
    snapshot: Callable[..., Snapshot],
    logs: pytest.LogCaptureFixture,
    params: dict[str, list[str]],
) -> None:
    headers = {"Content-Type": FORM, "X-Twilio-Signature": twilio_signature(params)}
    logs.clear()
    before = snapshot(tidy=True)
    response = post(client, TWILIO_PATH, form_body(params), headers)
    event(f"HTTP {response.status_code}")
    assert_no_crash(response, logs.records)
    assert response.status_code != 403, "a correctly signed request failed verification"
    if response.status_code == 200:
        assert response.body.startswith(b"<?xml"), response.body[:200]
    else:
        assert_clean_rejection(response, before, snapshot())
    assert_not_logged(logs.records, *private_values(params))


@budget(1.0)
@given(params=status_params())
def test_signed_garbage_status_callbacks_never_break_the_parser(
    client: Client,
    snapshot: Callable[..., Snapshot],
    logs: pytest.LogCaptureFixture,
    params: dict[str, list[str]],
) -> None:
    headers = {
        "Content-Type": FORM,
        "X-Twilio-Signature": twilio_signature(params, url=_status_url()),
    }
    logs.clear()
    before = snapshot(tidy=True)
    response = post(client, STATUS_PATH, form_body(params), headers)
    event(f"HTTP {response.status_code}")
    assert_no_crash(response, logs.records)
    assert response.status_code != 403, "a correctly signed request failed verification"
    if response.status_code == 200:
        assert json.loads(response.body)["status"]
    else:
        assert_clean_rejection(response, before, snapshot())


def _status_url() -> str:
    return PUBLIC_URL + STATUS_PATH


def test_the_logs_of_a_refused_signature_name_the_route_and_the_claimed_sid(
    client: Client, snapshot: Callable[..., Snapshot], logs: pytest.LogCaptureFixture
) -> None:
    params = {
        "MessageSid": ["SM0123456789abcdef0123456789abcdef"],
        "From": ["+420777123456"],
        "To": [DEMO_NUMBER],
        "Body": ["my card number is 4111 1111 1111 1111"],
    }
    before = snapshot(tidy=True)
    response = post(
        client,
        TWILIO_PATH,
        form_body(params),
        {"Content-Type": FORM, "X-Twilio-Signature": twilio_signature(params, token="wrong")},
    )
    assert_clean_rejection(response, before, snapshot())
    assert response.status_code == 403
    [line] = security_lines(logs.records)
    assert TWILIO_PATH in line
    assert "SM0123456789abcdef0123456789abcdef" in line
    assert "+420777123456" not in line
    assert "4111" not in line
    assert all(r.levelno < logging.ERROR for r in logs.records)


# Found by this suite (str.isdigit accepts '²' and 5,000-digit strings), fixed in
# twilio_messaging.to_status_update.
@pytest.mark.parametrize("code", ["²", "9" * 5000])
def test_a_status_error_code_int_cannot_read_is_a_400(
    client: Client, snapshot: Callable[..., Snapshot], logs: pytest.LogCaptureFixture, code: str
) -> None:
    params = {
        "MessageSid": ["SM0123456789abcdef0123456789abcdef"],
        "MessageStatus": ["failed"],
        "From": [DEMO_NUMBER],
        "ErrorCode": [code],
    }
    headers = {
        "Content-Type": FORM,
        "X-Twilio-Signature": twilio_signature(params, url=_status_url()),
    }
    before = snapshot()
    response = post(client, STATUS_PATH, form_body(params), headers)
    assert_no_crash(response, logs.records)
    assert_clean_rejection(response, before, snapshot())
