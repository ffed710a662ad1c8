"""Meta (Messenger, Instagram): the signature, the subscription check, the payloads as
Meta's documentation shows them, the Send API adapter's window and errors, the config."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from chalicelib.channels.meta_send import (
    INSTAGRAM_TEXT_BYTES,
    MESSENGER_TEXT_CHARS,
    GraphClient,
    MetaChannel,
    instagram_parts,
    window,
)
from chalicelib.channels.meta_webhook import (
    MetaWebhook,
    challenge,
    signature,
    to_batch,
    verify_signature,
)
from chalicelib.channels.port import Answer, WebhookRequest
from chalicelib.domain.errors import (
    DeliveryError,
    FailureKind,
    MalformedRequest,
    SignatureRejected,
    VerificationFailed,
)
from chalicelib.domain.messages import Channel
from chalicelib.domain.meta_config import MetaConfig, page_token_name
from chalicelib.domain.provider_errors import classify_meta
from chalicelib.settings import ConfigError
from chalicelib.stores import Stores, parse_store
from tests.unit.fakes import Progress

APP_SECRET = "app-secret"
PROOF = "81205ce1732ef89e7b7c09662f2a9071ed6b7e3918de3586bb30608a30eabd62"
"""HMAC-SHA256 of "EAA-page-token" under APP_SECRET, from
`printf '%s' EAA-page-token | openssl dgst -sha256 -hmac app-secret`."""
NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
SECRET = "test-app-secret"

# -- the signature --------------------------------------------------------------------------

# Computed with `printf '%s' BODY | openssl dgst -sha256 -hmac test-app-secret`, not by us.
VECTORS = [
    (
        b'{"object":"page","entry":[]}',
        "1a82db3abc2fa71a3fffecfedef579a8468a44850cd8a83a0c56974faff81689",
    ),
    (
        b'{"object":"instagram","entry":[{"id":"17841400000000001","messaging":'
        b'[{"message":{"text":"Dobr\\u00fd den"}}]}]}',
        "4f3a9828f8bc1d1fc6ceaaa5d26347b26f031dac151d5d0ae2980e37de4ffdd4",
    ),
]


@pytest.mark.parametrize(("body", "digest"), VECTORS)
def test_signature_matches_openssl_vectors(body: bytes, digest: str) -> None:
    assert signature(SECRET, body) == f"sha256={digest}"
    verify_signature(SECRET, body, f"sha256={digest}")
    verify_signature(SECRET, body, f"sha256={digest.upper()}")  # hex in either case


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha1=" + "0" * 40,  # the old X-Hub-Signature form is not accepted
        "sha256=" + "0" * 64,
        "sha256=" + VECTORS[0][1][:-1],
        VECTORS[0][1],  # without its sha256= prefix
        "sha256=" + VECTORS[0][1] + "00",
    ],
)
def test_a_missing_or_wrong_signature_is_refused(header: str | None) -> None:
    with pytest.raises(SignatureRejected) as refused:
        verify_signature(SECRET, VECTORS[0][0], header)
    assert refused.value.status == 401


def test_a_body_changed_after_signing_is_refused() -> None:
    body, digest = VECTORS[0]
    with pytest.raises(SignatureRejected):
        verify_signature(SECRET, body + b" ", f"sha256={digest}")
    with pytest.raises(SignatureRejected):
        verify_signature("another-secret", body, f"sha256={digest}")


def test_the_webhook_verifies_before_it_parses() -> None:
    adapter = MetaWebhook(app_secret=lambda: SECRET, clock=lambda: NOW)
    garbage = b"not json at all"
    with pytest.raises(SignatureRejected):
        adapter.receive(WebhookRequest("/webhooks/meta", garbage, {}), {})
    signed = {"x-hub-signature-256": signature(SECRET, garbage)}
    with pytest.raises(MalformedRequest):
        adapter.receive(WebhookRequest("/webhooks/meta", garbage, signed), {})


# -- the subscription check ----------------------------------------------------------------

TOKEN = "the-verify-token"


def test_the_challenge_is_echoed_for_the_verify_token() -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": "1158201444"}
    assert challenge(params, TOKEN) == "1158201444"


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}, 403),
        ({"hub.mode": "unsubscribe", "hub.verify_token": TOKEN, "hub.challenge": "1"}, 400),
        ({"hub.verify_token": TOKEN, "hub.challenge": "1"}, 400),
        ({"hub.mode": "subscribe", "hub.challenge": "1"}, 400),
        ({"hub.mode": "subscribe", "hub.verify_token": TOKEN}, 400),
        ({"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": "<script>"}, 400),
    ],
)
def test_a_wrong_check_is_refused(params: dict[str, str], error: int) -> None:
    with pytest.raises((VerificationFailed, MalformedRequest)) as refused:
        challenge(params, TOKEN)
    assert refused.value.status == error


# -- payloads, shaped as in Meta's webhook reference ----------------------------------------

PAGE, PSID = "100000000000001", "24680135792468"
IG, IGSID = "17841400000000001", "55500011122233"


def post(obj: str, entries: list[dict[str, Any]]) -> bytes:
    return json.dumps({"object": obj, "entry": entries}).encode()


def entry(account: str, *events: object) -> dict[str, Any]:
    return {"id": account, "time": 1458692752478, "messaging": list(events)}


def event(sender: str, recipient: str, **fields: Any) -> dict[str, Any]:
    return {
        "sender": {"id": sender},
        "recipient": {"id": recipient},
        "timestamp": 1458692752478,
        **fields,
    }


def test_a_messenger_text_with_a_quick_reply() -> None:
    body = post(
        "page",
        [
            entry(
                PAGE,
                event(
                    PSID,
                    PAGE,
                    message={
                        "mid": "mid.1457764197618:41d102a3e1ae206a38",
                        "text": "Track my order",
                        "quick_reply": {"payload": "TRACK_ORDER"},
                    },
                ),
            )
        ],
    )
    facts: dict[str, str] = {}
    batch = to_batch(body, NOW, facts)
    [message] = batch.messages
    assert message.channel is Channel.MESSENGER
    assert message.provider_id == "mid.1457764197618:41d102a3e1ae206a38"
    assert (message.sender, message.recipient) == (f"messenger:{PSID}", f"messenger:{PAGE}")
    assert message.body == "Track my order\n[quick reply: TRACK_ORDER]"
    assert message.received_at == NOW
    assert facts == {"object": "messenger", "accounts": PAGE}  # no customer id logged


def test_attachments_are_kept_as_links_with_their_type() -> None:
    attachments = [
        {"type": "image", "payload": {"url": "https://scontent.xx.fbcdn.net/v/photo.jpg"}},
        {"type": "file", "payload": {"url": "https://cdn.fbsbx.com/v/invoice.pdf"}},
        {"type": "fallback", "payload": None},
    ]
    body = post(
        "page", [entry(PAGE, event(PSID, PAGE, message={"mid": "m_1", "attachments": attachments}))]
    )
    [message] = to_batch(body, NOW, {}).messages
    assert message.body == (
        "[image] https://scontent.xx.fbcdn.net/v/photo.jpg\n"
        "[file] https://cdn.fbsbx.com/v/invoice.pdf\n"
        "[fallback]"
    )
    assert message.media_urls == (
        "https://scontent.xx.fbcdn.net/v/photo.jpg",
        "https://cdn.fbsbx.com/v/invoice.pdf",
    )


def test_batched_entries_and_the_events_that_are_not_messages() -> None:
    body = post(
        "page",
        [
            entry(
                PAGE,
                event(PSID, PAGE, message={"mid": "m_a", "text": "one"}),
                event(
                    PAGE,
                    PSID,
                    message={"mid": "m_echo", "is_echo": True, "app_id": 1, "text": "ours"},
                ),
                event(PSID, PAGE, delivery={"mids": ["m_echo"], "watermark": 1458668856253}),
                event(PSID, PAGE, read={"watermark": 1458668856253}),
                event(
                    PSID,
                    PAGE,
                    reaction={
                        "mid": "m_echo",
                        "action": "react",
                        "emoji": "\u2764",
                        "reaction": "love",
                    },
                ),
                event(
                    PSID, PAGE, postback={"title": "Start", "payload": "GET_STARTED", "mid": "m_p"}
                ),
            ),
            entry(
                "200000000000002",
                event("1357924680", "200000000000002", message={"mid": "m_b", "text": "two"}),
            ),
        ],
    )
    facts: dict[str, str] = {}
    batch = to_batch(body, NOW, facts)
    assert [(m.provider_id, m.recipient, m.body) for m in batch.messages] == [
        ("m_a", f"messenger:{PAGE}", "one"),
        ("m_b", "messenger:200000000000002", "two"),
    ]
    assert batch.ignored == {"echo": 1, "delivery": 1, "read": 1, "reaction": 1, "postback": 1}
    assert facts["accounts"] == f"{PAGE},200000000000002"


def test_instagram_story_replies_mentions_and_unsends() -> None:
    story = {"url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1", "id": "1790"}
    body = post(
        "instagram",
        [
            entry(
                IG,
                event(
                    IGSID,
                    IG,
                    message={
                        "mid": "aWdfZAG1_reply",
                        "text": "Love it!",
                        "reply_to": {"story": story},
                    },
                ),
                event(
                    IGSID,
                    IG,
                    message={
                        "mid": "aWdfZAG1_mention",
                        "attachments": [
                            {"type": "story_mention", "payload": {"url": story["url"]}}
                        ],
                    },
                ),
                event(IGSID, IG, message={"mid": "aWdfZAG1_gone", "is_deleted": True}),
                event(IGSID, IG, message={"mid": "aWdfZAG1_odd", "is_unsupported": True}),
            )
        ],
    )
    batch = to_batch(body, NOW, {})
    assert [(m.channel, m.sender, m.body) for m in batch.messages] == [
        (
            Channel.INSTAGRAM,
            f"instagram:{IGSID}",
            f"Love it!\n[reply to your story] {story['url']}",
        ),
        (Channel.INSTAGRAM, f"instagram:{IGSID}", f"[story mention] {story['url']}"),
    ]
    assert batch.ignored == {"deleted": 1, "unsupported": 1}


def test_an_event_without_what_a_message_needs_is_skipped_not_refused() -> None:
    body = post(
        "page",
        [
            entry(
                PAGE,
                event(PSID, PAGE, message={"text": "no mid"}),
                event("not-digits", PAGE, message={"mid": "m_x", "text": "odd sender"}),
                {"message": {"mid": "m_y", "text": "no sender"}},
                "not an object",
                event(PSID, PAGE, message={"mid": "m_ok", "text": "fine"}),
            ),
            {"id": PAGE},  # no messaging (a `changes` entry)
        ],
    )
    batch = to_batch(body, NOW, {})
    assert [m.provider_id for m in batch.messages] == ["m_ok"]
    assert batch.ignored == {"unreadable": 3, "other": 1}


def test_other_objects_are_not_customer_messages() -> None:
    batch = to_batch(post("user", [{"id": "1", "changes": []}]), NOW, {})
    assert batch.messages == ()
    assert batch.ignored == {"object": 1}


@pytest.mark.parametrize("body", [b"", b"[]", b'{"object": "page"}', b'{"entry": {}}', b"\xff"])
def test_a_body_that_is_not_a_post_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedRequest):
        to_batch(body, NOW, {})


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "subcode", "kind"),
    [
        (400, 10, 2018278, FailureKind.PERMANENT),  # outside the window
        (400, 10, None, FailureKind.ACCOUNT),  # a permission
        (400, 10, 2018065, FailureKind.ACCOUNT),
        (400, 551, None, FailureKind.PERMANENT),
        (400, 100, 2018001, FailureKind.PERMANENT),
        (400, 100, None, FailureKind.PERMANENT),
        (401, 190, None, FailureKind.ACCOUNT),
        (403, 200, None, FailureKind.ACCOUNT),
        (400, 368, None, FailureKind.ACCOUNT),
        (400, 613, None, FailureKind.TRANSIENT),
        (400, 4, None, FailureKind.TRANSIENT),
        (500, 1200, None, FailureKind.TRANSIENT),
        (500, 2, None, FailureKind.TRANSIENT),
        (503, None, None, FailureKind.TRANSIENT),
        (429, None, None, FailureKind.TRANSIENT),
        (404, None, None, FailureKind.PERMANENT),
        (400, 99999, None, FailureKind.PERMANENT),
    ],
)
def test_meta_errors_are_classified(
    status: int, code: int | None, subcode: int | None, kind: FailureKind
) -> None:
    assert classify_meta(status, code, subcode).kind is kind


# -- the Send API ---------------------------------------------------------------------------


def store(**meta: Any) -> Any:
    raw = {
        "id": "demo",
        "name": "Demo Store",
        "timezone": "Europe/Prague",
        "business_hours": {"mon": ["09:00-17:00"]},
        "first_response_minutes": 60,
        "support_address": "support@demo.test",
        "agents": ["alex@demo.test"],
        "meta": {"page_id": PAGE, **meta},
    }
    return parse_store(raw)


def answer(
    body: str = "It ships today.", *, hours: float = 1, automatic: bool = False, **meta: Any
) -> Answer:
    return Answer(
        store=store(**meta),
        store_address=f"messenger:{PAGE}",
        customer=f"messenger:{PSID}",
        body=body,
        author_name=None if automatic else "Alex",
        automatic=automatic,
        subject="",
        profile_name=None,
        last_inbound_at=NOW - timedelta(hours=hours),
        email_message_id=None,
        parts_sent=0,
        last_part_id=None,
    )


class FakeSender:
    """Records what it was asked to send, as the page."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str | None]] = []

    def send_text(self, recipient: str, text: str, *, tag: str | None) -> str:
        self.sent.append((recipient, text, tag))
        return f"m_{len(self.sent)}"

    def profile_name(self, user_id: str, *, instagram: bool) -> str | None:
        raise AssertionError("sending an answer never asks for a name")


def channel(sender: FakeSender, name: str = "messenger") -> MetaChannel:
    return MetaChannel(lambda _store: sender, channel=name)


def test_within_24_hours_an_answer_is_a_response() -> None:
    sender, progress = FakeSender(), Progress(NOW)
    assert channel(sender).send_answer(answer(hours=23.9), progress) == "m_1"
    assert sender.sent == [(PSID, "It ships today.", None)]
    assert progress.parts == [(1, "m_1")]


def test_after_24_hours_an_agent_answers_with_the_human_agent_tag_where_permitted() -> None:
    sender = FakeSender()
    channel(sender).send_answer(answer(hours=30, human_agent_tag=True), Progress(NOW))
    assert sender.sent == [(PSID, "It ships today.", "HUMAN_AGENT")]


@pytest.mark.parametrize(
    ("hours", "automatic", "tagged"),
    [(30, False, False), (30, True, True), (24 * 7 + 1, False, True)],
)
def test_outside_the_window_nothing_is_sent_and_the_reason_is_given(
    hours: float, automatic: bool, tagged: bool
) -> None:
    sender = FakeSender()
    with pytest.raises(DeliveryError) as failed:
        channel(sender).send_answer(
            answer(hours=hours, automatic=automatic, human_agent_tag=tagged), Progress(NOW)
        )
    assert failed.value.permanent
    assert failed.value.code == 2018278
    assert "24 hours" in str(failed.value)
    if not tagged:
        assert "human_agent_tag" in str(failed.value)  # what the store owner can do
    assert sender.sent == []


def test_the_window_rules() -> None:
    last = NOW - timedelta(hours=24)
    assert window(last + timedelta(seconds=1), NOW, automatic=True, tagged=False) == "RESPONSE"
    assert window(last, NOW, automatic=False, tagged=False) == "closed"
    assert window(last, NOW, automatic=False, tagged=True) == "HUMAN_AGENT"
    assert window(last, NOW, automatic=True, tagged=True) == "closed"
    assert window(NOW - timedelta(days=7), NOW, automatic=False, tagged=True) == "closed"


def test_long_answers_go_in_parts_and_a_retry_skips_the_parts_sent() -> None:
    text = " ".join(["word"] * 900)  # 4,499 characters
    sender, progress = FakeSender(), Progress(NOW)
    channel(sender).send_answer(answer(text), progress)
    assert len(sender.sent) == 3
    assert all(len(t) <= MESSENGER_TEXT_CHARS for _, t, _ in sender.sent)
    assert " ".join(t for _, t, _ in sender.sent) == text
    retried = FakeSender()
    again = Answer(**{**answer(text).__dict__, "parts_sent": 2, "last_part_id": "m_2"})
    assert channel(retried).send_answer(again, Progress(NOW)) == "m_1"
    assert [t for _, t, _ in retried.sent] == [sender.sent[2][1]]


def test_instagram_parts_fit_its_1000_bytes() -> None:
    text = "Dobrý den, objednávka je na cestě. " * 60
    parts = instagram_parts(text)
    assert all(len(p.encode()) <= INSTAGRAM_TEXT_BYTES for p in parts)
    assert " ".join(parts) == text.strip()
    sender = FakeSender()
    channel(sender, "instagram").send_answer(answer(text), Progress(NOW))
    assert [t for _, t, _ in sender.sent] == parts


class RecordingSession:
    """Stands in for requests.Session: records each POST, answers with a real Response."""

    def __init__(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.status, self.payload, self.headers = status, payload, headers or {}

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.get(url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        self.calls.append({"url": url, **kwargs})
        response = requests.Response()
        response.status_code = self.status
        response._content = json.dumps(self.payload).encode()
        response.headers.update(self.headers)
        return response


def test_the_send_api_request() -> None:
    session = RecordingSession(200, {"recipient_id": PSID, "message_id": "m_AG5Hz2U"})
    client = GraphClient(
        "EAA-page-token", APP_SECRET, base_url="https://graph.test", session=session
    )
    assert client.send_text(PSID, "Hello", tag=None) == "m_AG5Hz2U"
    client.send_text(PSID, "Later", tag="HUMAN_AGENT")
    first, second = session.calls
    assert first["url"] == "https://graph.test/v21.0/me/messages"
    assert "EAA-page-token" not in first["url"]  # in the header, never in a URL
    assert first["headers"] == {"Authorization": "Bearer EAA-page-token"}
    assert first["params"] == {"appsecret_proof": PROOF}
    assert first["json"] == {
        "recipient": {"id": PSID},
        "message": {"text": "Hello"},
        "messaging_type": "RESPONSE",
    }
    assert second["json"]["messaging_type"] == "MESSAGE_TAG"
    assert second["json"]["tag"] == "HUMAN_AGENT"
    assert first["allow_redirects"] is False
    assert first["timeout"]


def graph_error(code: int, subcode: int | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {
        "message": "x",
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "Ab1",
    }
    if subcode:
        error["error_subcode"] = subcode
    return {"error": error}


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind", "wait"),
    [
        (400, graph_error(551), {}, FailureKind.PERMANENT, None),
        (400, graph_error(10, 2018278), {}, FailureKind.PERMANENT, None),
        (401, graph_error(190), {}, FailureKind.ACCOUNT, None),
        (400, graph_error(613), {}, FailureKind.TRANSIENT, 60.0),
        (
            400,
            graph_error(613),
            {
                "X-Business-Use-Case-Usage": json.dumps(
                    {
                        PAGE: [
                            {
                                "type": "messenger",
                                "call_count": 100,
                                "estimated_time_to_regain_access": 5,
                            }
                        ]
                    }
                )
            },
            FailureKind.TRANSIENT,
            300.0,
        ),
        (500, graph_error(1200), {}, FailureKind.TRANSIENT, None),
        (502, "<html>Bad Gateway</html>", {}, FailureKind.TRANSIENT, None),
        (200, {"unexpected": True}, {}, FailureKind.TRANSIENT, None),
    ],
)
def test_graph_errors_are_translated(
    status: int, body: object, headers: dict[str, str], kind: FailureKind, wait: float | None
) -> None:
    client = GraphClient("t", APP_SECRET, session=RecordingSession(status, body, headers))
    with pytest.raises(DeliveryError) as failed:
        client.send_text(PSID, "Hello", tag=None)
    assert failed.value.kind is kind
    assert failed.value.retry_after == wait
    assert failed.value.provider == "meta"
    assert PSID not in str(failed.value)


@pytest.mark.parametrize(
    ("instagram", "status", "payload", "name"),
    [
        (False, 200, {"first_name": "Jana", "last_name": "Nováková", "id": PSID}, "Jana Nováková"),
        (True, 200, {"name": "Sara Lind", "username": "sara.lind", "id": IGSID}, "Sara Lind"),
        (True, 200, {"username": "sara.lind", "id": IGSID}, "@sara.lind"),
        (False, 200, {"first_name": "Evil\r\nBcc: x@y", "id": PSID}, "Evil Bcc: x@y"),
        (False, 200, {"id": PSID}, None),
        (False, 400, graph_error(100, 33), None),
        (False, 500, "<html>", None),
    ],
)
def test_the_profile_name(instagram: bool, status: int, payload: object, name: str | None) -> None:
    session = RecordingSession(status, payload)
    client = GraphClient(
        "EAA-page-token", APP_SECRET, base_url="https://graph.test", session=session
    )
    assert client.profile_name(PSID, instagram=instagram) == name
    [call] = session.calls
    assert call["url"] == f"https://graph.test/v21.0/{PSID}"
    assert call["params"] == {
        "fields": "name,username" if instagram else "first_name,last_name",
        "appsecret_proof": PROOF,
    }
    assert call["headers"] == {"Authorization": "Bearer EAA-page-token"}


def test_an_unreachable_graph_is_transient() -> None:
    class Down:
        def post(self, url: str, **kwargs: Any) -> requests.Response:
            raise requests.ConnectionError("refused")

        get = post

    with pytest.raises(DeliveryError) as failed:
        GraphClient("t", APP_SECRET, session=Down()).send_text(PSID, "Hello", tag=None)
    assert failed.value.kind is FailureKind.TRANSIENT
    assert GraphClient("t", APP_SECRET, session=Down()).profile_name(PSID, instagram=False) is None


# -- configuration --------------------------------------------------------------------------


def test_the_meta_section() -> None:
    assert store().meta == MetaConfig(PAGE, None, False)
    assert store(instagram_id=IG, human_agent_tag=True).meta == MetaConfig(PAGE, IG, True)
    assert store().meta_addresses == (f"messenger:{PAGE}",)
    assert page_token_name("demo-woo") == "META_PAGE_TOKEN_DEMO_WOO"


@pytest.mark.parametrize(
    ("meta", "said"),
    [
        ({"page_id": 100000000000001}, "meta.page_id"),
        ({"page_id": "12ab"}, "meta.page_id"),
        ({"instagram_id": ""}, "meta.instagram_id"),
        ({}, "give page_id, instagram_id or both"),
        ({"page_id": PAGE, "human_agent_tag": "yes"}, "meta.human_agent_tag"),
        ({"page_id": PAGE, "token": "EAA"}, "unknown field(s) ['token']"),
        ("100000000000001", "meta: an object"),
    ],
)
def test_a_wrong_meta_section_names_the_store_and_the_field(meta: object, said: str) -> None:
    with pytest.raises(ConfigError) as wrong:
        parse_store(
            {
                "id": "demo",
                "name": "Demo",
                "timezone": "Europe/Prague",
                "business_hours": {"mon": ["09:00-17:00"]},
                "first_response_minutes": 60,
                "support_address": "support@demo.test",
                "agents": ["alex@demo.test"],
                "meta": meta,
            }
        )
    assert "store 'demo'" in str(wrong.value)
    assert said in str(wrong.value)


def test_one_page_belongs_to_one_store() -> None:
    first = store()
    second = parse_store(
        {
            "id": "other",
            "name": "Other",
            "timezone": "Europe/Prague",
            "business_hours": {"mon": ["09:00-17:00"]},
            "first_response_minutes": 60,
            "support_address": "support@other.test",
            "agents": ["pat@other.test"],
            "meta": {"page_id": PAGE},
        }
    )
    with pytest.raises(ConfigError) as twice:
        Stores([first, second])
    assert f"messenger account {PAGE} is configured twice" in str(twice.value)
    alone = Stores([first])
    assert alone.by_meta_account(f"messenger:{PAGE}") is first
    assert alone.by_meta_account(f"instagram:{PAGE}") is None


# -- the sandbox's Meta ---------------------------------------------------------------------


def sandbox_request(
    method: str,
    path: str,
    body: object = None,
    query: str = "",
    proof: str | None = None,
    **headers: str,
) -> Any:
    """A request to the sandbox's Graph API; with a bearer token, its `appsecret_proof`
    under the local app secret unless `proof` says otherwise ("" for none)."""
    import hashlib
    import hmac
    from email.message import Message

    from relaydesk.local_env import LOCAL_META_APP_SECRET
    from relaydesk.sandbox import Request

    token = headers.get("Authorization", "").removeprefix("Bearer ")
    if proof is None and token:
        proof = hmac.new(LOCAL_META_APP_SECRET.encode(), token.encode(), hashlib.sha256).hexdigest()
    if proof:
        query = "&".join(q for q in (query, f"appsecret_proof={proof}") if q)
    message = Message()
    for name, value in headers.items():
        message[name] = value
    raw = json.dumps(body).encode() if body is not None else b""
    return Request(method, path, query, message, raw)


def test_the_sandbox_send_api_records_what_was_sent_and_answers_as_graph() -> None:
    from relaydesk.sandbox import Sandbox, route

    sandbox = Sandbox()
    payload = {"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": {"text": "Hi"}}
    path = "/meta/v21.0/me/messages"
    answered = route(sandbox_request("POST", path, payload, Authorization="Bearer EAA1"), sandbox)
    assert answered.status == 200
    assert isinstance(answered.payload, dict)
    assert answered.payload["recipient_id"] == PSID
    [entry] = sandbox.entries(provider="meta")
    assert (entry["to"], entry["body"], entry["messaging_type"], entry["tag"]) == (
        PSID,
        "Hi",
        "RESPONSE",
        None,
    )
    assert entry["id"] == answered.payload["message_id"]
    refused = route(sandbox_request("POST", path, payload), sandbox)
    assert refused.status == 401
    untagged = {**payload, "messaging_type": "MESSAGE_TAG"}
    assert (
        route(sandbox_request("POST", path, untagged, Authorization="Bearer EAA1"), sandbox).status
        == 400
    )
    for proof, said in [
        ("", "API calls from the server require an appsecret_proof argument"),
        ("0" * 64, "Invalid appsecret_proof provided in the API argument"),
    ]:
        unproved = sandbox_request("POST", path, payload, proof=proof, Authorization="Bearer EAA1")
        answer = route(unproved, sandbox)
        assert answer.status == 400
        assert isinstance(answer.payload, dict)
        assert (answer.payload["error"]["code"], answer.payload["error"]["message"]) == (100, said)
    assert len(sandbox.entries(provider="meta")) == 1


def test_the_sandbox_faults_and_profiles_in_graphs_shape() -> None:
    from relaydesk.sandbox import Sandbox, route

    sandbox = Sandbox()
    sandbox.set_fault("meta", 400, 1, code=613, retry_after=120)
    path = "/meta/v21.0/me/messages"
    fault = route(sandbox_request("POST", path, {}, Authorization="Bearer EAA1"), sandbox)
    assert fault.status == 400
    assert isinstance(fault.payload, dict)
    assert fault.payload["error"]["code"] == 613
    usage = json.loads(fault.headers["X-Business-Use-Case-Usage"])
    assert usage["0"][0]["estimated_time_to_regain_access"] == 2
    known = route(
        sandbox_request(
            "GET",
            f"/meta/v21.0/{PSID}",
            query="fields=first_name,last_name",
            Authorization="Bearer EAA1",
        ),
        sandbox,
    )
    assert known.payload == {"first_name": "Jana", "last_name": "Nováková", "id": PSID}
    unknown = route(sandbox_request("GET", "/meta/v21.0/42", Authorization="Bearer EAA1"), sandbox)
    assert unknown.status == 400
