"""Fuzzing Meta's webhook (Messenger, Instagram) through the real app.

Properties, for any body and header set:
- never a 5xx, never an unhandled exception;
- unsigned or forged: 401 with a message, nothing stored, queued or sent, and a security
  line at WARNING;
- signed with the app secret (so that it reaches the parser): 200 or a 4xx, whatever the
  body holds; a 4xx changes nothing; a 200 stores only well-formed customer messages for a
  configured page, and never logs what the customer wrote;
- the subscription check: 200 only for the verify token, else a 4xx.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from chalice.test import Client
from hypothesis import given
from hypothesis import strategies as st

from relaydesk.local_env import LOCAL_META_APP_SECRET, LOCAL_META_VERIFY_TOKEN
from relaydesk.sandbox.meta import signature
from tests.reliability.helpers import (
    Snapshot,
    assert_clean_rejection,
    assert_no_crash,
    assert_not_logged,
    budget,
    security_lines,
)

META_PATH = "/webhooks/meta"
PAGES = ["100000000000001", "17841400000000001", "200000000000002", "999"]

header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=30)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=10,
)
ids = st.sampled_from(PAGES) | st.from_regex(r"\A[0-9]{1,20}\Z") | json_values
message = st.fixed_dictionaries(
    {},
    optional={
        "mid": st.text(min_size=1, max_size=40) | json_values,
        "text": st.text(max_size=60) | json_values,
        "is_echo": st.booleans() | json_values,
        "attachments": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "type": st.sampled_from(["image", "story_mention", "file"]) | json_values,
                    "payload": st.fixed_dictionaries(
                        {}, optional={"url": st.just("https://cdn.test/x.jpg") | json_values}
                    )
                    | json_values,
                },
            )
            | json_values,
            max_size=3,
        )
        | json_values,
        "reply_to": json_values,
        "quick_reply": json_values,
    },
)
events = st.fixed_dictionaries(
    {},
    optional={
        "sender": st.fixed_dictionaries({}, optional={"id": ids}) | json_values,
        "recipient": st.fixed_dictionaries({}, optional={"id": ids}) | json_values,
        "timestamp": json_values,
        "message": message | json_values,
        "read": json_values,
        "delivery": json_values,
    },
)
posts = st.fixed_dictionaries(
    {
        "object": st.sampled_from(["page", "instagram", "user"]) | json_values,
        "entry": st.lists(
            st.fixed_dictionaries(
                {}, optional={"id": ids, "messaging": st.lists(events, max_size=3) | json_values}
            )
            | json_values,
            max_size=3,
        )
        | json_values,
    }
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    posts.map(lambda v: json.dumps(v).encode()),
)


def post(client: Client, body: bytes, sent_signature: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if sent_signature is not None:
        headers["X-Hub-Signature-256"] = sent_signature
    return client.http.post(META_PATH, headers=headers, body=body)


@budget(1.0)
@given(body=bodies, forged=st.none() | header_text | st.just("sha256=" + "0" * 64))
def test_unsigned_and_forged_posts_are_refused_and_change_nothing(
    client: Client,
    snapshot: Callable[..., Snapshot],
    logs: pytest.LogCaptureFixture,
    body: bytes,
    forged: str | None,
) -> None:
    logs.clear()
    before = snapshot(tidy=True)
    response = post(client, body, forged)
    assert_no_crash(response, logs.records)
    assert response.status_code == 401
    assert_clean_rejection(response, before, snapshot())
    assert security_lines(logs.records)


@budget(1.0)
@given(body=bodies)
def test_signed_garbage_reaches_the_parser_and_never_breaks_it(
    client: Client,
    snapshot: Callable[..., Snapshot],
    logs: pytest.LogCaptureFixture,
    body: bytes,
) -> None:
    logs.clear()
    before = snapshot(tidy=True)
    response = post(client, body, signature(LOCAL_META_APP_SECRET, body))
    assert_no_crash(response, logs.records)
    if response.status_code != 200:
        assert_clean_rejection(response, before, snapshot())
        return
    outcome = json.loads(response.body)
    assert outcome["status"] == "ok"
    if not outcome.get("stored") and not outcome.get("redelivered"):
        assert snapshot().items == before.items
    texts = [
        str(e.get("message", {}).get("text"))
        for entry in (json.loads(body).get("entry") or [])
        if isinstance(entry, dict) and isinstance(entry.get("messaging"), list)
        for e in entry["messaging"]
        if isinstance(e, dict) and isinstance(e.get("message"), dict)
    ]
    assert_not_logged(logs.records, *texts)


@budget(0.5)
@given(
    params=st.dictionaries(
        st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge", "x"]),
        st.sampled_from(["subscribe", LOCAL_META_VERIFY_TOKEN, "1158201444"]) | header_text,
        max_size=4,
    )
)
def test_the_subscription_check_never_breaks(
    client: Client, logs: pytest.LogCaptureFixture, params: dict[str, str]
) -> None:
    from urllib.parse import urlencode

    logs.clear()
    response = client.http.get(f"{META_PATH}?{urlencode(params)}")
    assert_no_crash(response, logs.records)
    right = (
        params.get("hub.mode") == "subscribe"
        and params.get("hub.verify_token") == LOCAL_META_VERIFY_TOKEN
        and "hub.challenge" in params
    )
    if response.status_code == 200:
        assert right
        assert response.body.decode() == params["hub.challenge"]
    else:
        assert 400 <= response.status_code < 500
