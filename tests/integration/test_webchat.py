"""Web chat's endpoints through the real handler, emulated AWS over HTTP and the sandbox:
token and scope, the acknowledgement and the agents' answer, the caps, CORS, the identity
hash, and bad or fuzzed input (4xx, nothing stored, never a 5xx)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.composition import Container, reset_container
from chalicelib.domain.webchat import identity_hash, visitor_address
from chalicelib.settings import Settings
from chalicelib.webchat_web import webchat_request
from relaydesk import sandbox
from relaydesk.local_env import local_environment
from relaydesk.workers import QueueWorker
from tests.conftest import TEST_STORES
from tests.integration.conftest import PUBLIC_URL, FakeClock, drain, table_items
from tests.integration.email_posts import post_parsed
from tests.integration.test_spine import post_parse

SHOP = "https://shop.demo.example"
OTHER_SHOP = "https://shop.acme.example"
SECRET = "demo-widget-secret"
LIMITS = {"conversations_per_ip_hour": 2, "messages_per_ip_hour": 5, "messages_per_store_hour": 8}


@pytest.fixture
def container(
    aws: dict[str, str], sandbox_url: str, clock: FakeClock, tmp_path: Path
) -> Iterator[Container]:
    """The fixture stores with web chat on for demo (small caps) and acme (its own shop)."""
    raw = json.loads(TEST_STORES.read_text())
    for store in raw["stores"]:
        automation = store.get("automation") or {}
        if "answers_file" in automation:  # named relative to the fixture's own folder
            automation["answers_file"] = str(TEST_STORES.parent / automation["answers_file"])
        if store["id"] == "demo":
            store["webchat"] = {
                "enabled": True,
                "allowed_origins": [SHOP],
                "identity": True,
                **LIMITS,
            }
        elif store["id"] == "acme":
            store["webchat"] = {"enabled": True, "allowed_origins": [OTHER_SHOP]}
    stores = tmp_path / "stores.json"
    stores.write_text(json.dumps(raw))
    environ = {
        **os.environ,
        **local_environment(
            app_url=PUBLIC_URL, aws_url=os.environ["AWS_ENDPOINT_URL"], sandbox_url=sandbox_url
        ),
        "STORES_FILE": str(stores),
        "WEBCHAT_IDENTITY_SECRET_DEMO": SECRET,
    }
    built = Container(Settings(environ), clock=clock)
    reset_container(built)
    yield built
    reset_container(None)


def call(
    client: Client, action: str, payload: Any, *, store: str = "demo", origin: str = SHOP
) -> tuple[int, dict[str, Any], dict[str, str]]:
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    response = client.http.post(
        f"/webchat/{store}/{action}",
        headers={"Origin": origin, "Content-Type": "text/plain;charset=UTF-8"},
        body=body,
    )
    return response.status_code, json.loads(response.body or b"{}"), dict(response.headers)


def token_of(client: Client, **payload: Any) -> str:
    status, body, _ = call(client, "session", {"language": "en", **payload})
    assert status == 200, body
    return str(body["token"])


def send(client: Client, token: str, text: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    payload = {"token": token, "id": uuid.uuid4().hex, "text": text, **extra}
    status, body, _ = call(client, "messages", payload)
    return status, body


def poll(client: Client, token: str, after: str = "", **kw: Any) -> dict[str, Any]:
    status, body, _ = call(client, "poll", {"token": token, "after": after}, **kw)
    assert status == 200, body
    return body


def test_a_chat_is_acknowledged_answered_by_email_and_read_back(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
) -> None:
    status, session, headers = call(client, "session", {"language": "cs-CZ"})
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == SHOP
    assert session["language"] == "cs"
    assert session["dir"] == "ltr"
    token = session["token"]
    assert table_items() == []  # a session stores nothing

    status, sent = send(client, token, "Dobrý den, můžete mi dárkově zabalit objednávku?")
    assert status == 200, sent
    ack = sent["ack"]
    assert ack["text"].startswith("Děkujeme")  # in the customer's language, with a deadline
    assert "do " in ack["text"]

    address = visitor_address("demo", token)
    visitor = container.repository.customer("demo", address)
    assert visitor is not None
    assert visitor.open_thread_id
    thread = container.repository.thread("demo", visitor.open_thread_id)
    assert thread is not None
    assert thread.channel == "web"
    assert thread.customer == address
    assert token not in json.dumps(table_items(), default=str)  # only its hash is kept

    drain(worker)
    [notice] = outbox.entries(provider="sendgrid")
    assert "web chat" in notice["text"]
    assert "dárkově" in notice["text"]
    assert token not in notice["text"]

    # The acknowledgement the job recorded is the one the send returned: shown once.
    first = poll(client, token)
    ids = [m["id"] for m in first["messages"]]
    assert ids == [sent["message"]["id"], ack["id"]]
    assert first["messages"][1]["text"] == ack["text"]
    again = poll(client, token, first["cursor"])["messages"]  # a window shown again,
    assert {m["id"] for m in again} <= set(ids)  # by the ids the widget already has

    clock.advance(minutes=20)  # the agent answers later (the same instant sorts by id)
    reply = post_parse(
        client, sender=notice["to"], to=notice["reply_to"], text="Ano, zabalíme ji zdarma."
    )
    assert reply.status_code == 200, reply.body
    drain(worker)
    later = poll(client, token, first["cursor"])
    [answer] = [m for m in later["messages"] if m["id"] not in ids]
    assert answer["text"] == "Ano, zabalíme ji zdarma."
    assert answer["from"] == "store"
    assert answer["name"] == "Agent"  # the name the agent signs with, never their address
    # The whole conversation survives a reload (a poll from the start).
    assert [m["id"] for m in poll(client, token)["messages"]] == [*ids, answer["id"]]


def test_the_answer_goes_to_the_address_left_and_an_emailed_reply_continues_the_chat(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
) -> None:
    token = token_of(client)
    status, _ = send(client, token, "Is the mug dishwasher safe?", contact="Jana@Example.com")
    assert status == 200
    drain(worker)
    notice = outbox.entries(provider="sendgrid")[-1]
    post_parse(client, sender=notice["to"], to=notice["reply_to"], text="Yes, it is.")
    drain(worker)
    [copy] = outbox.entries(provider="sendgrid", to="jana@example.com")
    assert "Yes, it is." in copy["text"]
    assert copy["from"] == "support@demo.relaydesk.test"
    assert all(
        "Thanks, we got your message" not in m["text"] for m in outbox.entries(to=copy["to"])
    )

    clock.advance(minutes=30)  # the customer reads the mail later, and answers it
    response = post_parsed(
        client,
        sender="jana@example.com",
        to="support@demo.relaydesk.test",
        subject="Re: Demo Store: your chat",
        text="Great, thank you!\n\nOn Tue, Demo Store wrote:\n> Yes, it is.",
        message_id=f"<{uuid.uuid4().hex}@example.com>",
        headers=f"In-Reply-To: {copy['headers']['Message-ID']}\n",
    )
    assert response.status_code == 200, response.body
    texts = [m["text"] for m in poll(client, token)["messages"]]
    assert texts[-1] == "Great, thank you!"  # on the chat's thread, shown in the panel
    # Her mailbox's out-of-office, answering our copy, is kept for the agents, not shown.
    response = post_parsed(
        client,
        sender="jana@example.com",
        to="support@demo.relaydesk.test",
        subject="Out of office",
        text="I am away until Monday.",
        message_id=f"<{uuid.uuid4().hex}@example.com>",
        headers=f"In-Reply-To: {copy['headers']['Message-ID']}\nAuto-Submitted: auto-replied\n",
    )
    assert response.status_code == 200, response.body
    assert "I am away until Monday." not in [m["text"] for m in poll(client, token)["messages"]]


def test_a_token_sees_only_its_own_conversation_at_its_own_store(client: Client) -> None:
    mine, theirs = token_of(client), token_of(client)
    assert mine != theirs
    send(client, mine, "My private question about my order")
    assert poll(client, theirs)["messages"] == []
    assert [m["text"] for m in poll(client, mine)["messages"]] == [
        "My private question about my order"
    ]
    # The same token at another store (on that store's own shop) is nobody there.
    assert poll(client, mine, store="acme", origin=OTHER_SHOP)["messages"] == []
    # And one store's shop cannot read the other's chat.
    status, _body, headers = call(client, "poll", {"token": mine}, store="acme")
    assert status == 403
    assert "Access-Control-Allow-Origin" not in headers


@pytest.mark.parametrize(
    ("store", "origin", "status"),
    [
        ("demo", "https://evil.example", 403),
        ("demo", "", 403),
        ("demo", SHOP + ":8443", 403),
        ("corner", SHOP, 404),  # web chat is off for this store
        ("nobody", SHOP, 404),
    ],
)
def test_only_the_stores_own_origins_may_call(
    client: Client, store: str, origin: str, status: int
) -> None:
    token = "A" * 43
    got, body, headers = call(
        client,
        "messages",
        {"token": token, "id": "abcdefgh", "text": "hi"},
        store=store,
        origin=origin,
    )
    assert got == status
    assert body["error"]
    assert "Access-Control-Allow-Origin" not in headers
    assert table_items() == []


def _direct(c: Container, ip: str, token: str, text: str = "Hello") -> Any:
    """The handler as API Gateway calls it, with the caller's IP address."""
    body = json.dumps({"token": token, "id": uuid.uuid4().hex, "text": text}).encode()
    return webchat_request(
        c, "send", store_id="demo", body=body, headers={"origin": SHOP}, source_ip=ip
    )


def test_caps_per_ip_and_per_store_refuse_politely_and_store_nothing(
    container: Container, clock: FakeClock
) -> None:
    first, second, third = (f"{n}" * 43 for n in "ABC")
    assert _direct(container, "203.0.113.5", first).status_code == 200
    assert _direct(container, "203.0.113.5", second).status_code == 200
    before = len(table_items())
    refused = _direct(container, "203.0.113.5", third)  # a third new conversation
    assert refused.status_code == 429
    assert "try again" in json.loads(refused.body)["error"]
    assert len(table_items()) == before
    # Messages on a conversation this IP has: up to its message cap (5 this hour).
    for _ in range(3):
        assert _direct(container, "203.0.113.5", first).status_code == 200
    assert _direct(container, "203.0.113.5", first).status_code == 429
    # Another IP is not capped by this one; the store's cap (8) then stops everyone.
    assert _direct(container, "198.51.100.7", third).status_code == 200
    assert _direct(container, "198.51.100.7", third).status_code == 200
    assert _direct(container, "198.51.100.7", third).status_code == 200
    assert _direct(container, "198.51.100.8", "D" * 43).status_code == 429
    clock.advance(hours=1)  # a new hour, new counters
    assert _direct(container, "203.0.113.5", first).status_code == 200


def test_a_valid_identity_hash_links_the_chat_and_an_invalid_one_is_ignored(
    client: Client, container: Container
) -> None:
    signed, forged = token_of(client), token_of(client)
    email = "jana.novakova@example.com"
    good = identity_hash(SECRET.encode(), email)
    assert send(client, signed, "Where is my order?", email=email, hash=good)[0] == 200
    bad = identity_hash(b"guessed", email)
    assert send(client, forged, "Where is my order?", email=email, hash=bad)[0] == 200
    linked = container.repository.customer("demo", visitor_address("demo", signed))
    anonymous = container.repository.customer("demo", visitor_address("demo", forged))
    assert linked is not None
    assert linked.verified_email == email
    assert anonymous is not None
    assert anonymous.verified_email is None
    assert linked.open_thread_id
    thread = container.repository.thread("demo", linked.open_thread_id)
    assert thread is not None
    assert thread.profile_name == email


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        (b"\xff\xfe", "not JSON"),
        ({"token": "A" * 43, "id": "abcdefgh", "text": "hi", "website": "x"}, "website"),
        ({"token": "A" * 43, "id": "abcdefgh", "text": "x" * 2001}, "at most 2000"),
        ({"token": "A" * 43, "id": "abcdefgh"}, "text"),
        ({"id": "abcdefgh", "text": "hi"}, "token"),
        ("x" * 70_000, "over 65536 bytes"),
    ],
)
def test_bad_input_is_a_4xx_with_a_message_and_stores_nothing(
    client: Client, payload: Any, says: str
) -> None:
    status, body, headers = call(client, "messages", payload)
    assert status == 400
    assert says in body["error"]
    assert headers["Access-Control-Allow-Origin"] == SHOP  # the widget can read why
    assert table_items() == []


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    action=st.sampled_from(["session", "messages", "poll"]),
    body=st.one_of(
        st.binary(max_size=200),
        st.dictionaries(
            st.sampled_from(["token", "id", "text", "contact", "after", "language", "hash"]),
            _json_values,
        ).map(json.dumps),
    ),
)
def test_fuzzed_bodies_never_get_a_5xx(client: Client, action: str, body: Any) -> None:
    status, _, _ = call(client, action, body)
    assert status < 500


def test_the_widget_script_is_served_as_javascript(client: Client) -> None:
    response = client.http.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/javascript; charset=utf-8"
    assert b"relaydesk web chat" in response.body
