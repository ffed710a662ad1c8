"""Conformance over the public Chatwoot fixtures (../shared/corpus/chatwoot-eml): each real
mail posted in Inbound Parse's raw mode, checked against the behaviour the corpus README
expects of a support responder: which must not be acknowledged, which must thread, and
what text is kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.composition import Container
from relaydesk import sandbox
from relaydesk.workers import QueueWorker
from tests.conftest import CORPUS, corpus_path
from tests.integration.conftest import drain, table_items
from tests.integration.email_posts import post_parsed, post_raw

SUPPORT = "support@demo.relaydesk.test"
FILES = sorted(p.name for p in (CORPUS / "chatwoot-eml").glob("*.eml")) or ["(corpus missing)"]

# Auto-replies, bounces and machine notifications: stored (if they have a sender) and marked,
# never acknowledged.
NO_ACK = {
    "auto_reply.eml",
    "auto_reply_with_auto_submitted.eml",
    "bounced_gmail.eml",
    "bounced_with_no_from.eml",
    "non_utf_encoded_mail.eml",
    "notification.eml",
}
# A reply must join the thread of the message it names: seeded first with that Message-ID.
SEED_REFERENCE = {
    "in_reply_to.eml": "<0CB459E0-0336-41DA-BC88-E6E28C697DDB@chatwoot.com>",
    "mail_with_references.eml": "<test-reference-id>",
    "multiple_in_reply_to.eml": "<4e6e35f5a38b4_479f13bb90078131@small-app-01.mail>",
    "references.eml": "<test-reference-id>",
    "support_in_reply_to.eml": "<4e6e35f5a38b4_479f13bb90078178@small-app-01.mail>",
}
CONTACT = {
    "group_sender_support.eml": "jane@example.com",
    "support_uppercase.eml": "sony@chatwoot.com",
    "support_in_reply_to.eml": "sony@chatwoot.com",
    "multiple_in_reply_to.eml": "sony@chatwoot.com",
}
TEXT = {
    "only_text.eml": "text only mail",
    "only_html.eml": "This is html only mail",
    "non_utf_encoded_mail.eml": "أنظروا، أنا أحتاجها فقط لتقوم بالتدقيق في مقالتي الشخصية",
    "support.eml": "Let's talk about these images:",
    "html_and_attachments.eml": "This is html and attachments only mail",
}
ATTACHMENTS = {"multiple_attachments.eml": 30, "only_attachments.eml": 1}


def inbound_messages() -> list[dict[str, Any]]:
    return [i for i in table_items() if i["sk"].startswith("MSG#") and i["direction"] == "in"]


@pytest.mark.parametrize("name", FILES)
def test_chatwoot_fixture(
    name: str,
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
) -> None:
    path: Path = corpus_path("chatwoot-eml", name)
    raw = path.read_bytes()
    if name in SEED_REFERENCE:
        seeded = post_parsed(
            client,
            sender=CONTACT.get(name, "sony@chatwoot.com"),
            to=SUPPORT,
            subject="Earlier message",
            text="earlier",
            message_id=SEED_REFERENCE[name],
        )
        assert seeded.status_code == 200, seeded.body
    response = post_raw(client, raw, SUPPORT)
    assert response.status_code == 200, response.body
    status = json.loads(response.body)["status"]
    drain(worker)
    acks = [
        m
        for m in outbox.entries(provider="sendgrid")
        if m["headers"].get("Auto-Submitted") == "auto-replied"
    ]
    seeded_acks = 1 if name in SEED_REFERENCE else 0

    if name in NO_ACK:
        assert status in ("stored-automatic", "ignored")
        assert len(acks) == seeded_acks
    else:
        assert status == "stored"
        # Every new thread is acknowledged exactly once; a reply within the cool-down
        # (the seeded cases) is not acknowledged again.
        assert len(acks) == 1

    messages = inbound_messages()
    if name == "bounced_with_no_from.eml":
        assert messages == []  # no sender to file it under; logged and dropped
        return
    mail = next(m for m in messages if m["body"] != "earlier")
    if name in SEED_REFERENCE:
        threads = {m["pk"] for m in messages}
        assert len(threads) == 1, f"{name} did not join the thread of {SEED_REFERENCE[name]}"
    if name in CONTACT:
        assert mail["author"] == CONTACT[name]
    if name in TEXT:
        assert mail["body"].strip() == TEXT[name]
    if name in ATTACHMENTS:
        assert len(json.loads(mail["attachments"])) == ATTACHMENTS[name]
    assert mail["raw_email"] is not None or "original message" in (mail.get("dropped") or "")
