"""Inbound Parse posts as SendGrid sends them, through the app's Lambda handler."""

from __future__ import annotations

import base64
import json
from typing import Any

from chalice.test import Client
from urllib3 import encode_multipart_formdata

from relaydesk.local_env import LOCAL_PARSE_PASSWORD

PARSE_PATH = "/webhooks/sendgrid/inbound"


def post_form(client: Client, fields: dict[str, Any], password: str = LOCAL_PARSE_PASSWORD) -> Any:
    body, content_type = encode_multipart_formdata(fields)
    auth = base64.b64encode(f"parse:{password}".encode()).decode()
    return client.http.post(
        PARSE_PATH,
        headers={"Content-Type": content_type, "Authorization": f"Basic {auth}"},
        body=body,
    )


def post_parsed(
    client: Client,
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    message_id: str,
    headers: str = "",
    sender_name: str = "",
) -> Any:
    """Inbound Parse's default mode: the mail already split into fields."""
    from_header = f"{sender_name} <{sender}>" if sender_name else sender
    header_block = f"From: {from_header}\nTo: {to}\nSubject: {subject}\nMessage-ID: {message_id}\n"
    return post_form(
        client,
        {
            "headers": header_block + headers,
            "from": from_header,
            "to": to,
            "subject": subject,
            "text": text,
            "envelope": json.dumps({"to": [to], "from": sender}),
        },
    )


def post_raw(client: Client, raw: bytes, envelope_to: str) -> Any:
    """ "Send Raw" mode: the whole MIME message in the `email` field."""
    return post_form(
        client,
        {
            "email": raw,
            "envelope": json.dumps({"to": [envelope_to], "from": ""}),
        },
    )
