"""DynamoDB's 400 KB per item is counted in UTF-8 bytes: Czech, Arabic and emoji text near
the limit is cut by bytes, at a character's boundary, and the whole message item fits."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime

import pytest

from chalicelib.domain.messages import Attachment, Channel, InboundMessage
from chalicelib.domain.sizes import DYNAMODB_ITEM_BYTES, cut_utf8, utf8_len
from chalicelib.store.inbound import (
    ITEM_BUDGET,
    MAX_ATTACHMENTS_LISTED,
    MAX_SUBJECT_BYTES,
    _fit,
    _subject,
)
from chalicelib.store.messages import MAX_BODY_BYTES

CZECH = "Příliš žluťoučký kůň úpěl ďábelské ódy. "
ARABIC = "أين طلبي؟ لم يصل الطرد بعد. "
EMOJI = "📦🙏👍🏽👨‍👩‍👧 "


@pytest.mark.parametrize("text", [CZECH, ARABIC, EMOJI, "plain ascii "])
@pytest.mark.parametrize("limit", [0, 1, 2, 3, 5, 17, 1000])
def test_a_cut_fits_its_bytes_and_never_splits_a_character(text: str, limit: int) -> None:
    long = text * 100
    cut = cut_utf8(long, limit)
    assert utf8_len(cut) <= limit
    assert long.startswith(cut)
    assert limit - utf8_len(cut) < 4  # at most one character short of the limit
    cut.encode("utf-8").decode("utf-8")  # whole characters only


def test_text_within_the_limit_is_kept_whole() -> None:
    assert cut_utf8(CZECH, utf8_len(CZECH)) == CZECH
    assert utf8_len(None) == 0
    assert utf8_len("ř") == 2
    assert utf8_len("📦") == 4


def mail(body: str, **fields: object) -> InboundMessage:
    fields.setdefault("subject", "Objednávka")
    return InboundMessage(
        channel=Channel.EMAIL,
        provider_id="<big@customer.example>",
        sender="jana@customer.example",
        recipient="support@demo.relaydesk.test",
        body=body,
        received_at=datetime(2026, 12, 1, tzinfo=UTC),
        **fields,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("text", [CZECH, ARABIC, EMOJI])
def test_a_body_under_the_old_character_limit_but_over_in_bytes_is_cut_by_bytes(
    text: str,
) -> None:
    body = (text * 100_000)[:99_999]  # under 100,000 characters, 2-4 times as many bytes
    assert utf8_len(body) > MAX_BODY_BYTES
    fitted = _fit(mail(body))
    assert utf8_len(fitted.body) <= MAX_BODY_BYTES
    assert utf8_len(fitted.body) > MAX_BODY_BYTES - 4
    assert body.startswith(fitted.body)
    assert fitted.dropped is not None
    assert f"text after {utf8_len(fitted.body)}" in fitted.dropped
    assert "bytes" in fitted.dropped


def test_body_original_subject_and_attachments_fit_one_item_together() -> None:
    rng = random.Random(12)
    body = "".join(rng.choice(CZECH + ARABIC + EMOJI) for _ in range(60_000))
    raw = os.urandom(249_000)  # incompressible: it would be kept on its own
    names = tuple(
        Attachment(f"fotka-{n}-{'ž' * 300}.jpg", f"image/{'x' * 300}", 3_000_000)
        for n in range(500)
    )
    message = mail(body, raw=raw, attachments=names, subject="Předmět " * 2_000)
    fitted = _fit(message)
    texts = [fitted.body, _subject(message) or "", message.sender, message.provider_id]
    texts += [str(a["filename"]) + str(a["content_type"]) for a in fitted.attachments]
    total = sum(utf8_len(t) for t in texts) + len(fitted.raw or b"")
    assert total <= ITEM_BUDGET < DYNAMODB_ITEM_BYTES
    assert utf8_len(_subject(message)) <= MAX_SUBJECT_BYTES
    assert len(fitted.attachments) == MAX_ATTACHMENTS_LISTED
    assert fitted.dropped is not None
    for said in ("the subject after", "more attachments", "the original message"):
        assert said in fitted.dropped
    # The customer's words come before the original's copy: the body keeps its full share.
    assert utf8_len(fitted.body) > MAX_BODY_BYTES - 4


def test_a_message_that_fits_loses_nothing() -> None:
    fitted = _fit(mail(CZECH * 100, raw=(CZECH * 100).encode()))
    assert fitted.body == CZECH * 100
    assert fitted.raw is not None
    assert fitted.dropped is None
