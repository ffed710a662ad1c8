"""DynamoDB's 400 KB per item counts UTF-8 bytes (moto's server checks it as DynamoDB
does): customer mail in Czech, Arabic or emoji, under the old 100,000-character cut but
over 400 KB in bytes, is stored cut by bytes, and the agent's long answer too."""

from __future__ import annotations

import json
import random
from email.message import EmailMessage

import pytest
from chalice.test import Client

from chalicelib.composition import Container
from chalicelib.domain.sizes import utf8_len
from chalicelib.store.messages import MAX_BODY_BYTES
from relaydesk import sandbox
from relaydesk.workers import QueueWorker
from tests.integration.conftest import drain
from tests.integration.email_posts import post_parsed, post_raw
from tests.integration.test_spine import post_parse, thread_of

JANA = "jana@customer.example"
ALEX = "alex@demo.relaydesk.test"


@pytest.mark.parametrize(
    "text",
    ["Příliš žluťoučký kůň úpěl ďábelské ódy. ", "أين طلبي؟ لم يصل الطرد بعد. ", "📦🙏👍🏽 "],
)
def test_multibyte_mail_near_the_limit_is_stored_cut_by_bytes(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox, text: str
) -> None:
    body = (text * 100_000)[:99_990]
    assert utf8_len(body) > MAX_BODY_BYTES  # kept whole by the old cut at 100,000 characters
    response = post_parsed(
        client,
        sender=JANA,
        to="support@demo.relaydesk.test",
        subject="Velká zpráva",
        text=body,
        message_id="<big.1@customer.example>",
    )
    assert response.status_code == 200, response.body
    assert json.loads(response.body) == {"status": "stored"}
    thread = thread_of(container, customer=JANA)
    [stored] = [
        m for m in container.repository.messages("demo", thread.thread_id) if m.direction == "in"
    ]
    assert MAX_BODY_BYTES - 4 < utf8_len(stored.body) <= MAX_BODY_BYTES
    assert body.startswith(stored.body)
    assert stored.dropped is not None
    assert "bytes" in stored.dropped

    drain(worker)
    [notice] = [m for m in outbox.entries(to=ALEX) if (m["reply_to"] or "").startswith("reply+")]
    answer = "Děkujeme 🙏 " * 30_000  # 390 KB of text in 330,000 characters
    response = post_parse(client, sender=ALEX, to=notice["reply_to"], text=answer)
    assert response.status_code == 200, response.body
    [queued] = [
        m
        for m in container.repository.messages("demo", thread.thread_id)
        if m.direction == "out" and not m.automatic
    ]
    assert utf8_len(queued.body) <= MAX_BODY_BYTES


def test_a_raw_mail_of_emoji_keeps_its_text_and_as_much_original_as_fits(
    client: Client, container: Container
) -> None:
    """Sent whole, the item would be ~400 KB of text plus the compressed original: over."""
    rng = random.Random(7)
    emoji = [chr(c) for c in range(0x1F300, 0x1F5FF)]
    body = "".join(rng.choice(emoji) for _ in range(99_000))
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = JANA, "support@demo.relaydesk.test", "Fotky 📷"
    mail["Message-ID"] = "<emoji.1@customer.example>"
    mail.set_content(body, cte="8bit")
    response = post_raw(client, mail.as_bytes(), "support@demo.relaydesk.test")
    assert response.status_code == 200, response.body
    thread = thread_of(container, customer=JANA)
    [stored] = [
        m for m in container.repository.messages("demo", thread.thread_id) if m.direction == "in"
    ]
    assert MAX_BODY_BYTES - 4 < utf8_len(stored.body) <= MAX_BODY_BYTES
    assert body.startswith(stored.body)
