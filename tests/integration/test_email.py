"""E-mail as a customer channel: threaded acknowledgements and answers, no loops."""

from __future__ import annotations

import json
import zlib
from email.message import EmailMessage
from typing import Any

from chalice.test import Client

from chalicelib.composition import Container
from relaydesk import sandbox
from relaydesk.workers import QueueWorker
from tests.integration.conftest import FakeClock, conversation, drain, table_items
from tests.integration.email_posts import post_parsed, post_raw

SUPPORT = "support@demo.relaydesk.test"
JANA = "jana@customer.test"
ACK = "Thanks, we got your message. Someone from Demo Store will reply by Monday 12:30."


def status_of(response: Any) -> str:
    assert response.status_code == 200, response.body
    status: str = json.loads(response.body)["status"]
    return status


def first_mail(client: Client, message_id: str = "<c1@customer.test>", **kw: str) -> Any:
    fields = {"sender": JANA, "to": SUPPORT, "subject": "Order 1042", "text": "Where is it?"}
    fields.update(kw)
    return post_parsed(client, message_id=message_id, sender_name="Jana", **fields)


def threads(container: Container) -> list[Any]:
    return [i for i in table_items() if "#THREAD#" in i["pk"] and i["sk"] == "#META"]


def acks_to(outbox: sandbox.Sandbox, address: str = JANA) -> list[dict[str, Any]]:
    return [m for m in outbox.entries(to=address) if m["headers"].get("Auto-Submitted")]


def test_a_customer_email_gets_an_acknowledgement_that_threads(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    assert status_of(first_mail(client)) == "stored"
    drain(worker)
    [ack] = acks_to(outbox)
    assert ack["from"] == SUPPORT
    assert ack["subject"] == "Re: Order 1042"
    assert ack["text"] == ACK
    assert ack["headers"]["In-Reply-To"] == "<c1@customer.test>"
    assert ack["headers"]["References"] == "<c1@customer.test>"
    assert ack["headers"]["Auto-Submitted"] == "auto-replied"
    assert ack["headers"]["Message-ID"].endswith("@demo.relaydesk.test>")
    notices = outbox.entries(to="alex@demo.relaydesk.test")
    assert notices[0]["subject"].startswith("[Demo Store] Order 1042 (e-mail, Jana, #")
    assert "Where is it?" in notices[0]["text"]


def test_replies_join_their_thread_and_new_subjects_start_new_ones(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
) -> None:
    first_mail(client)
    drain(worker)
    ack_id = acks_to(outbox)[0]["headers"]["Message-ID"]
    clock.advance(minutes=5)
    reply = post_parsed(
        client,
        sender=JANA,
        to=SUPPORT,
        subject="Re: Order 1042",
        message_id="<c2@customer.test>",
        text="Any news?\n\nOn Fri, Demo Store wrote:\n> Thanks, we got your message.\n",
        headers=f"In-Reply-To: {ack_id}\nReferences: <c1@customer.test> {ack_id}\n",
    )
    assert status_of(reply) == "stored"
    assert len(threads(container)) == 1
    # "Re:" alone does not join a thread; a new subject starts a new one.
    first_mail(client, message_id="<c3@customer.test>", subject="Re: Order 1042")
    first_mail(client, message_id="<c4@customer.test>", subject="Return of order 977")
    assert len(threads(container)) == 3
    drain(worker)
    thread_id = container.repository.customer("demo", JANA).open_thread_id  # type: ignore[union-attr]
    assert thread_id is not None
    [original] = [
        t for t in threads(container) if t["subject"] == "Order 1042" and t["message_count"] == 2
    ]
    bodies = [m.body for m in conversation(container, original["thread_id"])]
    assert bodies == ["Where is it?", ACK, "Any news?"]


def test_the_agent_answer_threads_in_the_customers_mail_client(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    first_mail(client)
    drain(worker)
    reply_to = outbox.entries(to="alex@demo.relaydesk.test")[0]["reply_to"]
    response = post_parsed(
        client,
        sender="alex@demo.relaydesk.test",
        sender_name="Alex Novak",
        to=reply_to,
        subject="Re: [Demo Store] e-mail",
        message_id="<a1@demo.test>",
        text="It ships today.\n\nOn Fri, Demo Store wrote:\n> Where is it?\n",
    )
    assert status_of(response) == "queued"
    drain(worker)
    answer = [m for m in outbox.entries(to=JANA) if "Auto-Submitted" not in m["headers"]]
    assert len(answer) == 1
    mail = answer[0]
    assert (mail["from"], mail["from_name"]) == (SUPPORT, "Alex Novak (Demo Store)")
    assert mail["subject"] == "Re: Order 1042"
    assert mail["text"] == "It ships today."
    assert mail["headers"]["In-Reply-To"] == "<c1@customer.test>"
    ack_id = acks_to(outbox)[0]["headers"]["Message-ID"]
    assert mail["headers"]["References"] == f"<c1@customer.test> {ack_id}"
    # The customer's answer to it comes back to the same thread.
    post_parsed(
        client,
        sender=JANA,
        to=SUPPORT,
        subject="Re: Order 1042",
        message_id="<c9@customer.test>",
        text="Thanks!",
        headers=f"In-Reply-To: {mail['headers']['Message-ID']}\n",
    )
    assert len(threads(container)) == 1
    [thread] = threads(container)
    assert thread["awaiting"] == "agent"
    assert thread["first_response_at"] is not None


def test_machine_mail_is_stored_and_marked_but_never_answered(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    cases = {
        "<auto@x>": "Auto-Submitted: auto-replied\n",
        "<ooo@x>": "X-Autoreply: yes\n",
        "<list@x>": "List-Id: <news.shop.test>\n",
        "<bulk@x>": "Precedence: bulk\n",
        "<loop@x>": "X-Loop: helpdesk@other-shop.test\n",
    }
    for message_id, header in cases.items():
        response = first_mail(client, message_id=message_id, headers=header, subject=message_id)
        assert status_of(response) == "stored-automatic"
    ours = post_parsed(
        client,
        sender="sam@demo.relaydesk.test",
        to=SUPPORT,
        subject="loop?",
        text="x",
        message_id="<own@x>",
    )
    assert status_of(ours) == "stored"  # an agent writing to support is a person...
    looped = post_parsed(
        client, sender=SUPPORT, to=SUPPORT, subject="loop", text="x", message_id="<self@x>"
    )
    assert status_of(looped) == "stored-automatic"  # ...but our own address never is
    drain(worker)
    assert acks_to(outbox) == []
    assert acks_to(outbox, SUPPORT) == []
    stored = [
        i
        for i in table_items()
        if i["sk"].startswith("MSG#") and i["direction"] == "in" and i.get("automatic")
    ]
    assert sorted(i["automatic"] for i in stored) == sorted(
        [
            "Auto-Submitted: auto-replied",
            "x-autoreply header",
            "list-id header",
            "Precedence: bulk",
            "x-loop header",
            "sent from one of our own addresses",
        ]
    )


def test_mail_from_an_unattended_mailbox_reaches_the_agents_and_gets_no_answer(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    """A carrier's noreply@ writes about a lost parcel: the agents must see it; an
    acknowledgement would only bounce, or answer a robot that answers back."""
    senders = ["noreply@carrier.test", "No-Reply@shop-platform.test", "postmaster@isp.test"]
    for n, sender in enumerate(senders):
        response = first_mail(
            client, message_id=f"<unattended{n}@x>", sender=sender, subject=f"Parcel {n}"
        )
        assert status_of(response) == "stored-automatic"
    drain(worker)
    assert [acks_to(outbox, s.lower()) for s in senders] == [[], [], []]
    notices = [m["text"] for m in outbox.entries(to="alex@demo.relaydesk.test")]
    notices += [m["text"] for m in outbox.entries(to="sam@demo.relaydesk.test")]
    # 'e-mail from noreply@carrier.test (Jana) to Demo Store.'
    assert sorted(s.split(" from ")[1].split(" ")[0] for s in notices) == sorted(
        s.lower() for s in senders
    )


def test_at_most_three_acknowledgements_per_address_per_day(
    client: Client, worker: QueueWorker, outbox: sandbox.Sandbox, clock: FakeClock
) -> None:
    for n in range(5):
        first_mail(client, message_id=f"<n{n}@customer.test>", subject=f"Question {n}")
    drain(worker)
    assert len(acks_to(outbox)) == 3
    clock.advance(days=1)
    first_mail(client, message_id="<next-day@customer.test>", subject="Next day")
    drain(worker)
    assert len(acks_to(outbox)) == 4


def test_a_redelivered_mail_is_stored_and_acknowledged_once(
    client: Client, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    assert status_of(first_mail(client)) == "stored"
    assert status_of(first_mail(client)) == "duplicate"
    drain(worker)
    assert len(acks_to(outbox)) == 1
    said = [i for i in table_items() if i["sk"].startswith("MSG#") and i["direction"] != "event"]
    assert len(said) == 2  # mail + ack


def test_raw_mode_keeps_charset_attachments_and_the_original(
    client: Client, container: Container, worker: QueueWorker
) -> None:
    mime = EmailMessage()
    mime["From"] = "Jiří <jiri@customer.test>"
    mime["To"] = SUPPORT
    mime["Subject"] = "Reklamace"
    mime["Message-ID"] = "<raw1@customer.test>"
    mime.set_content("Dobrý den, posílám fotku.", charset="iso-8859-2")
    mime.add_attachment(
        b"\x89PNG" + b"\0" * 100, maintype="image", subtype="png", filename="foto.png"
    )
    raw = mime.as_bytes()
    assert status_of(post_raw(client, raw, SUPPORT)) == "stored"
    [item] = [i for i in table_items() if i["sk"].startswith("MSG#")]
    assert item["body"] == "Dobrý den, posílám fotku."
    assert json.loads(item["attachments"] or "null") == [
        {"filename": "foto.png", "content_type": "image/png", "size": 104}
    ]
    assert "attachment contents" in item["dropped"]
    assert zlib.decompress(bytes(item["raw_email"])) == raw
    drain(worker)


def test_unknown_recipients_and_malformed_posts_store_nothing(client: Client) -> None:
    response = post_parsed(
        client, sender=JANA, to="someone@else.test", subject="s", text="t", message_id="<x@y>"
    )
    assert response.status_code == 404
    response = post_parsed(
        client, sender="not an address", to=SUPPORT, subject="s", text="t", message_id="<x@y>"
    )
    assert response.status_code == 400
    assert "From" in json.loads(response.body)["error"]
    assert table_items() == []


def test_close_then_reply_reopens_within_the_window_and_links_a_new_thread_after(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
) -> None:
    first_mail(client)
    drain(worker)
    reply_to = outbox.entries(to="alex@demo.relaydesk.test")[0]["reply_to"]
    closing = post_parsed(
        client,
        sender="alex@demo.relaydesk.test",
        to=reply_to,
        subject="Re",
        message_id="<close1@demo.test>",
        text="#close\nGlad it arrived!",
    )
    assert status_of(closing) == "queued, closed"
    [thread] = threads(container)
    assert thread["status"] == "closed"
    clock.advance(days=2)
    post_parsed(
        client,
        sender=JANA,
        to=SUPPORT,
        subject="Re: Order 1042",
        text="One more thing",
        message_id="<late1@customer.test>",
        headers="In-Reply-To: <c1@customer.test>\n",
    )
    [thread] = threads(container)
    assert thread["status"] == "open"  # reopened within the 7-day window
    post_parsed(
        client,
        sender="alex@demo.relaydesk.test",
        to=reply_to,
        subject="Re",
        message_id="<close2@demo.test>",
        text="#close",
    )
    clock.advance(days=8)
    post_parsed(
        client,
        sender=JANA,
        to=SUPPORT,
        subject="Re: Order 1042",
        text="Months later",
        message_id="<late2@customer.test>",
        headers="In-Reply-To: <c1@customer.test>\n",
    )
    assert len(threads(container)) == 2
    [new] = [t for t in threads(container) if t["thread_id"] != thread["thread_id"]]
    assert new["previous_thread_id"] == thread["thread_id"]
    unknown = post_parsed(
        client,
        sender="alex@demo.relaydesk.test",
        to=reply_to,
        subject="Re",
        message_id="<bad@demo.test>",
        text="#frobnicate\nhi",
    )
    # A wrong command changes nothing and sends nothing to the customer; the agent is told.
    assert unknown.status_code == 200
    assert "#frobnicate" in status_of(unknown)
    [told] = [
        m for m in outbox.entries(to="alex@demo.relaydesk.test") if "Not sent" in m["subject"]
    ]
    assert "#frobnicate" in told["text"]
    assert "#assign" in told["text"]
    assert not [m for m in table_items() if m.get("body") == "hi"]


def test_a_customer_writing_to_the_threads_reply_address_joins_it(
    client: Client, container: Container, worker: QueueWorker
) -> None:
    from chalicelib.domain import tokens

    first_mail(client)
    [thread] = threads(container)
    address = tokens.reply_address(
        container.reply_secret, "demo", thread["thread_id"], "reply.relaydesk.test"
    )
    response = post_parsed(
        client,
        sender=JANA,
        to=address,
        subject="More",
        text="Also this",
        message_id="<via-reply@customer.test>",
    )
    assert status_of(response) == "stored"
    assert len(threads(container)) == 1
    # Anyone else writing to it is refused and nothing is stored.
    before = table_items()
    stranger = post_parsed(
        client,
        sender="eve@evil.test",
        to=address,
        subject="x",
        text="x",
        message_id="<eve@evil.test>",
    )
    assert stranger.status_code == 403
    assert table_items() == before


def test_the_thread_a_reply_names_is_read_consistently(
    client: Client, container: Container, worker: QueueWorker
) -> None:
    """A follow-up sent seconds after the first mail must find the first one's marker: an
    eventually consistent read may miss it and start a second thread (issue #12)."""
    from chalicelib.store.models import MarkerItem

    asked: list[dict[str, Any]] = []
    dynamodb = MarkerItem._get_connection().connection.client
    hook = "relaydesk-test-batch-get"

    def record(params: dict[str, Any], **_: Any) -> None:
        asked.append(params)

    dynamodb.meta.events.register("provide-client-params.dynamodb.BatchGetItem", record, hook)
    try:
        first_mail(client)
        reply = first_mail(
            client,
            message_id="<c2@customer.test>",
            subject="Re: Order 1042",
            headers="In-Reply-To: <c1@customer.test>\n",
        )
    finally:
        dynamodb.meta.events.unregister(
            "provide-client-params.dynamodb.BatchGetItem", unique_id=hook
        )
    assert status_of(reply) == "stored"
    assert len(threads(container)) == 1
    assert asked
    assert all(r["ConsistentRead"] for p in asked for r in p["RequestItems"].values())


def test_a_subject_carrying_line_breaks_cannot_add_a_header_to_our_mail(
    client: Client, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    """An RFC 2047 encoded word can decode to CR/LF: `=?utf-8?b?SGVsbG8NCkJjYzogc29tZW9u
    ZUBleGFtcGxlLmNvbQ==?=` is "Hello\\r\\nBcc: someone@example.com". Our acknowledgement and
    the agents' notification keep the words on one line, and nobody else is written to."""
    injected = "Hello\r\nBcc: someone@example.com"
    response = post_parsed(
        client,
        message_id="<inj@customer.test>",
        sender=JANA,
        sender_name="Jana",
        to=SUPPORT,
        subject=injected,
        text="Where is it?",
    )
    assert status_of(response) == "stored"
    drain(worker)
    [ack] = acks_to(outbox)
    assert ack["subject"] == "Re: Hello Bcc: someone@example.com"
    sent = outbox.entries(provider="sendgrid")
    for mail in sent:
        values = [mail["subject"], mail["from"], *mail["headers"].values()]
        assert not any(ch in v for v in values for ch in "\r\n"), mail
    assert {m["to"] for m in sent} <= {JANA, "alex@demo.relaydesk.test", "sam@demo.relaydesk.test"}
    [notice] = [m for m in sent if m["to"] != JANA]
    assert "Subject: Hello Bcc: someone@example.com\n" in notice["text"]  # one line there too
