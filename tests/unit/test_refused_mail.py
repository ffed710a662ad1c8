"""What a post too large to parse still tells: its fields, from its first bytes."""

from __future__ import annotations

import json
from typing import Any

from urllib3 import encode_multipart_formdata

from chalicelib.channels.sendgrid_inbound import head_form, to_inbound_email
from chalicelib.flows.refused_mail import refusal_text


def post(fields: dict[str, Any]) -> tuple[bytes, str]:
    return encode_multipart_formdata(fields, boundary="xYzZY")


def test_the_fields_before_the_attachments_are_read_from_the_head() -> None:
    body, content_type = post(
        {
            "headers": "Message-ID: <big@customer.test>\nSubject: =?utf-8?q?Fotky_bal=C3=ADku?=\n",
            "from": "Jana <jana@customer.test>",
            "to": "support@demo.relaydesk.test",
            "subject": "Fotky balíku",
            "envelope": json.dumps({"to": ["support@demo.relaydesk.test"]}),
            "attachment1": ("a.jpg", b"\xff" * 500_000, "image/jpeg"),
            "text": "said after the photo: never read",
        }
    )
    form = head_form(content_type, body[:200_000])  # cut inside the photo
    assert form.fields["from"] == "Jana <jana@customer.test>"
    assert form.fields["subject"] == "Fotky balíku"
    assert "text" not in form.fields  # after the cut
    assert form.files == ()  # never the attachments
    email = to_inbound_email(form)
    assert (email.sender, email.subject, email.message_id) == (
        "jana@customer.test",
        "Fotky balíku",
        "<big@customer.test>",
    )
    assert email.recipients == ("support@demo.relaydesk.test",)


def test_send_raw_mode_gives_its_header_block() -> None:
    raw = (
        b"From: Jana <jana@customer.test>\r\nTo: support@demo.relaydesk.test\r\n"
        b"Subject: =?utf-8?q?Fotky_bal=C3=ADku?=\r\nMessage-ID: <raw@customer.test>\r\n\r\n"
        + b"A"
        * 300_000
    )
    body, content_type = post({"email": raw, "to": "support@demo.relaydesk.test"})
    email = to_inbound_email(head_form(content_type, body[:100_000]))
    assert (email.sender, email.subject, email.message_id) == (
        "jana@customer.test",
        "Fotky balíku",
        "<raw@customer.test>",
    )


def test_a_head_without_a_boundary_or_fields_gives_nothing() -> None:
    assert head_form(None, b"junk").fields == {}
    assert head_form("multipart/form-data; boundary=q", b"\xff" * 1000).fields == {}


def test_the_agents_read_the_size_the_limit_and_what_to_do() -> None:
    text = refusal_text(12_345_678, 4_521_984, "/webhooks/sendgrid/inbound")
    assert "12,345,678 bytes (11.8 MB)" in text
    assert "4,521,984 bytes that /webhooks/sendgrid/inbound accepts" in text
    assert "send it again" in text
