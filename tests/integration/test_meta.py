"""Messenger and Instagram through the real handler, emulated AWS over HTTP and the sandbox's
Meta (signed posts in, the Send API out): stored once, acknowledged by the Send API, the
agents told, their e-mailed answers relayed within Meta's windows, Meta's errors handled."""

from __future__ import annotations

import json
from typing import Any

import requests
from chalice.test import Client

from chalicelib.composition import Container
from relaydesk import sandbox
from relaydesk.local_env import LOCAL_META_APP_SECRET, LOCAL_META_VERIFY_TOKEN
from relaydesk.sandbox.meta import (
    META_CLOSED_WINDOW_RECIPIENT,
    META_UNAVAILABLE_RECIPIENT,
    messaging_event,
    signature,
    webhook_body,
)
from relaydesk.workers import QueueWorker
from tests.integration.conftest import FakeClock, conversation, drain, queue_depth, table_items
from tests.integration.test_spine import post_parse, reply_to_of

META_PATH = "/webhooks/meta"
PAGE, IG, ACME_PAGE = "100000000000001", "17841400000000001", "200000000000002"
PSID, IGSID = "24680135792468", "55500011122233"


def post_meta(client: Client, body: bytes, secret: str = LOCAL_META_APP_SECRET) -> Any:
    return client.http.post(
        META_PATH,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature(secret, body),
        },
        body=body,
    )


def message(
    text: str = "Where is my order?",
    *,
    sender: str = PSID,
    page: str = PAGE,
    mid: str | None = None,
) -> bytes:
    event = messaging_event(sender=sender, recipient=page, text=text, mid=mid)
    return webhook_body("page", {page: [event]})


def thread_of(container: Container, customer: str, store: str = "demo") -> Any:
    pointer = container.repository.customer(store, customer)
    assert pointer is not None
    assert pointer.open_thread_id
    thread = container.repository.thread(store, pointer.open_thread_id)
    assert thread is not None
    return thread


def sent(outbox: sandbox.Sandbox) -> list[tuple[str, str, str | None]]:
    return [(e["to"], e["body"], e["tag"]) for e in outbox.entries(provider="meta")]


def test_the_subscription_check_echoes_the_challenge_for_the_verify_token(
    client: Client, container: Container
) -> None:
    query = (
        f"hub.mode=subscribe&hub.verify_token={LOCAL_META_VERIFY_TOKEN}&hub.challenge=1158201444"
    )
    response = client.http.get(f"{META_PATH}?{query}")
    assert response.status_code == 200
    assert response.body == b"1158201444"
    assert response.headers["Content-Type"] == "text/plain"
    wrong = client.http.get(f"{META_PATH}?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1")
    assert wrong.status_code == 403
    assert client.http.get(META_PATH).status_code == 400


def test_a_messenger_message_is_stored_acknowledged_and_the_agents_told(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    response = post_meta(client, message(mid="m_first"))
    assert response.status_code == 200, response.body
    assert json.loads(response.body) == {"status": "ok", "stored": 1, "ignored": 0}
    thread = thread_of(container, f"messenger:{PSID}")
    assert (thread.channel, thread.store_address) == ("messenger", f"messenger:{PAGE}")
    assert [m.body for m in conversation(container, thread.thread_id)] == ["Where is my order?"]
    drain(worker)
    [(to, ack, tag)] = sent(outbox)
    assert to == PSID
    assert "Demo Store" in ack
    assert tag is None
    assert outbox.entries(provider="meta")[0]["messaging_type"] == "RESPONSE"
    [notice] = outbox.entries(provider="sendgrid")
    assert "Messenger" in notice["subject"]
    assert "Where is my order?" in notice["text"]
    # The name from Meta's profile API (the sandbox knows this customer), asked by the job.
    assert "Jana Nováková" in notice["subject"]
    assert thread_of(container, f"messenger:{PSID}").profile_name == "Jana Nováková"


def test_a_customer_meta_does_not_name_is_shown_by_their_id(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    post_meta(client, message(sender="97531864200"))
    drain(worker)
    [notice] = outbox.entries(provider="sendgrid")
    assert "messenger:97531864200" in notice["subject"]
    assert thread_of(container, "messenger:97531864200").profile_name is None


def test_forged_posts_store_nothing(
    client: Client, container: Container, worker: QueueWorker
) -> None:
    body = message()
    assert post_meta(client, body, secret="not-the-app-secret").status_code == 401
    unsigned = client.http.post(META_PATH, headers={"Content-Type": "application/json"}, body=body)
    assert unsigned.status_code == 401
    tampered = client.http.post(
        META_PATH,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature(LOCAL_META_APP_SECRET, body),
        },
        body=body.replace(b"Where", b"Whither"),
    )
    assert tampered.status_code == 401
    assert table_items() == []
    assert queue_depth(worker) == 0


def test_a_redelivered_post_and_a_repeated_mid_store_once_and_acknowledge_once(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    event = messaging_event(sender=PSID, recipient=PAGE, text="Hello?", mid="m_twice")
    body = webhook_body("page", {PAGE: [event, event]})
    assert json.loads(post_meta(client, body).body)["stored"] == 1
    assert json.loads(post_meta(client, body).body)["redelivered"] == 2
    drain(worker)
    thread = thread_of(container, f"messenger:{PSID}")
    assert [m.body for m in conversation(container, thread.thread_id)][:1] == ["Hello?"]
    assert len([m for m in conversation(container, thread.thread_id) if m.direction == "in"]) == 1
    assert len(sent(outbox)) == 1
    assert len(outbox.entries(provider="sendgrid")) == 1


def test_echoes_reads_deliveries_and_reactions_store_nothing(
    client: Client, container: Container, worker: QueueWorker
) -> None:
    echo = messaging_event(sender=PAGE, recipient=PSID, text="Our own answer", echo=True)
    read = {
        "sender": {"id": PSID},
        "recipient": {"id": PAGE},
        "timestamp": 1,
        "read": {"watermark": 1},
    }
    delivery = {**read, "delivery": {"mids": ["m_x"], "watermark": 1}}
    delivery.pop("read")
    reaction = {**read, "reaction": {"mid": "m_x", "action": "react", "reaction": "love"}}
    reaction.pop("read")
    response = post_meta(client, webhook_body("page", {PAGE: [echo, read, delivery, reaction]}))
    assert json.loads(response.body) == {"status": "ok", "ignored": 4}
    assert table_items() == []
    assert queue_depth(worker) == 0


def test_a_batch_for_two_stores_lands_in_each_store_and_an_unknown_page_is_skipped(
    client: Client, container: Container
) -> None:
    body = webhook_body(
        "page",
        {
            PAGE: [messaging_event(sender=PSID, recipient=PAGE, text="for demo")],
            ACME_PAGE: [messaging_event(sender=PSID, recipient=ACME_PAGE, text="for acme")],
            "999999999999999": [
                messaging_event(sender=PSID, recipient="999999999999999", text="?")
            ],
        },
    )
    response = post_meta(client, body)
    assert response.status_code == 200  # Meta would retry, then switch the webhook off
    assert json.loads(response.body) == {
        "status": "ok",
        "stored": 2,
        "unknown_account": 1,
        "ignored": 0,
    }
    demo = thread_of(container, f"messenger:{PSID}", "demo")
    acme = thread_of(container, f"messenger:{PSID}", "acme")
    assert [m.body for m in conversation(container, demo.thread_id)] == ["for demo"]
    assert [m.body for m in conversation(container, acme.thread_id, "acme")] == ["for acme"]
    assert {item["pk"].split("#")[0] for item in table_items()} == {"demo", "acme"}


def test_an_instagram_message_and_the_agents_answer_round_trip(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    event = messaging_event(
        sender=IGSID,
        recipient=IG,
        text="Is the blue one in stock?",
        story={"url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1", "id": "1790"},
    )
    assert post_meta(client, webhook_body("instagram", {IG: [event]})).status_code == 200
    drain(worker)
    thread = thread_of(container, f"instagram:{IGSID}")
    assert thread.channel == "instagram"
    assert thread.profile_name == "Sara Lind"
    body = conversation(container, thread.thread_id)[0].body
    assert body.startswith("Is the blue one in stock?\n[reply to your story] https://lookaside")
    response = post_parse(
        client, sender="alex@demo.relaydesk.test", to=reply_to_of(outbox), text="Yes, size M too."
    )
    assert response.status_code == 200, response.body
    drain(worker)
    assert sent(outbox)[-1] == (IGSID, "Yes, size M too.", None)
    [reply] = [m for m in conversation(container, thread.thread_id) if m.body == "Yes, size M too."]
    assert reply.delivery_status == "sent"
    assert reply.outbound_provider_id == outbox.entries(provider="meta")[-1]["id"]


def test_after_24_hours_the_answer_goes_with_the_human_agent_tag(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
) -> None:
    post_meta(client, message())
    drain(worker)
    clock.advance(hours=30)
    post_parse(
        client, sender="alex@demo.relaydesk.test", to=reply_to_of(outbox), text="Sorry, late."
    )
    drain(worker)
    assert sent(outbox)[-1] == (PSID, "Sorry, late.", "HUMAN_AGENT")
    assert outbox.entries(provider="meta")[-1]["messaging_type"] == "MESSAGE_TAG"


def test_outside_the_window_nothing_is_sent_and_the_agent_is_told_why(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
) -> None:
    # acme's page has no Human Agent permission: 24 hours, then nothing.
    post_meta(client, message(page=ACME_PAGE))
    drain(worker)
    acks = len(sent(outbox))
    clock.advance(hours=25)
    post_parse(client, sender="pat@acme.test", to=reply_to_of(outbox), text="Here you go.")
    drain(worker)
    assert len(sent(outbox)) == acks
    notice = outbox.entries(to="pat@acme.test")[-1]
    assert notice["subject"].startswith("Not delivered")
    assert "24 hours" in notice["text"]
    assert "human_agent_tag" in notice["text"]
    thread = thread_of(container, f"messenger:{PSID}", "acme")
    [reply] = [
        m for m in conversation(container, thread.thread_id, "acme") if m.body == "Here you go."
    ]
    assert reply.delivery_status == "failed"
    assert thread.awaiting == "agent"


def test_meta_refusals_are_permanent_or_retried(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    sandbox_url: str,
    clock: FakeClock,
) -> None:
    # 551: this person is not available; told to the agent, never retried.
    post_meta(client, message(sender=META_UNAVAILABLE_RECIPIENT))
    drain(worker)
    post_parse(client, sender="alex@demo.relaydesk.test", to=reply_to_of(outbox), text="Hello?")
    drain(worker)
    assert sent(outbox) == []
    assert "551" in outbox.entries(to="alex@demo.relaydesk.test")[-1]["text"]
    # Meta's own closed-window answer (a clock that disagrees with ours) is permanent too.
    post_meta(client, message(sender=META_CLOSED_WINDOW_RECIPIENT))
    drain(worker)
    thread = thread_of(container, f"messenger:{META_CLOSED_WINDOW_RECIPIENT}")
    failed = [m for m in conversation(container, thread.thread_id) if m.direction == "out"]
    assert [m.delivery_status for m in failed] == ["failed"]  # the acknowledgement
    # A rate limit (613) waits as Meta says, then goes through.
    post_meta(client, message(sender="13579246801"))
    drain(worker)
    assert [to for to, _, _ in sent(outbox)] == ["13579246801"]  # the acknowledgement
    requests.post(
        f"{sandbox_url}/sandbox/faults",
        json={"provider": "meta", "status": 400, "code": 613, "count": 1},
        timeout=5,
    ).raise_for_status()
    post_parse(client, sender="alex@demo.relaydesk.test", to=reply_to_of(outbox), text="Soon!")
    drain(worker)
    assert len(sent(outbox)) == 1  # held for Meta's minute, not failed
    clock.advance(minutes=2)
    drain(worker)
    assert sent(outbox)[-1] == ("13579246801", "Soon!", None)


def test_a_deployment_without_a_meta_app_answers_404(
    client: Client, container: Container, clock: FakeClock
) -> None:
    from chalicelib.composition import reset_container
    from chalicelib.settings import Settings

    environ = {k: v for k, v in container.settings.environ.items() if not k.startswith("META_")}
    reset_container(Container(Settings(environ), clock=clock))
    response = post_meta(client, message())
    assert response.status_code == 404
    assert "no Meta app" in json.loads(response.body)["error"]
    query = "hub.mode=subscribe&hub.verify_token=x&hub.challenge=1"
    assert client.http.get(f"{META_PATH}?{query}").status_code == 404
    assert table_items() == []
