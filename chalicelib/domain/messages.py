"""The one shape every inbound customer message takes, whatever the provider."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


def message_id_for(store_id: str, provider_id: str) -> str:
    """A stable id: the same provider message always gets the same id (stored with the
    message, and the correlation id its log lines carry)."""
    return hashlib.sha256(f"{store_id}\0{provider_id}".encode()).hexdigest()[:16]


class Channel(StrEnum):
    SMS = "sms"
    WHATSAPP = "whatsapp"
    EMAIL = "email"
    MESSENGER = "messenger"
    INSTAGRAM = "instagram"
    VOICE = "voice"
    """A voicemail or missed call on the store's number; answered by SMS."""
    WEB = "web"


WHATSAPP_PREFIX = "whatsapp:"
"""Twilio's WhatsApp addresses are the number behind this prefix."""
MESSENGER_PREFIX = "messenger:"
INSTAGRAM_PREFIX = "instagram:"
"""Meta's ids (a Page-scoped id, an Instagram-scoped id, the page's or account's own id) are
bare digits: stored behind these prefixes, so that they never collide with each other or
with a phone number, and the address says its channel (channels/meta_webhook.py)."""
WEB_PREFIX = "web:"
"""A web chat visitor's address: the prefix and a hash of their token (domain/webchat.py)."""


def contact_of(address: str) -> str:
    """A customer's number or address as a person reads it (no 'whatsapp:' prefix; a web
    chat visitor, who has none, by the start of their token's hash)."""
    if address.startswith(WEB_PREFIX):
        return f"web visitor {address.removeprefix(WEB_PREFIX)[:8]}"
    return address.removeprefix(WHATSAPP_PREFIX)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    key: str | None = None
    """Where its bytes are in the mail bucket (a mail that came through S3); None when
    only its name, type and size were kept (every other path)."""


@dataclass(frozen=True)
class CallFacts:
    """What a voicemail or missed call adds to its message, for agents to read."""

    call_sid: str
    duration_seconds: int
    recording_url: str | None
    """None: a missed call, nothing recorded."""
    transcription: str
    """'pending' (the voicemail job asks Amazon Transcribe), or why there is none."""
    text_back: str | None
    """Why no text back is sent (None: one may be, within the caps)."""


@dataclass(frozen=True)
class InboundMessage:
    channel: Channel
    provider_id: str
    """The provider's id for this message (Twilio `MessageSid`, e-mail `Message-ID`)."""
    sender: str
    """The customer's address on that channel, as the provider gives it."""
    recipient: str
    """The store's address the customer wrote to."""
    body: str
    received_at: datetime
    media_urls: tuple[str, ...] = ()
    profile_name: str | None = None
    wa_id: str | None = None
    subject: str | None = None
    attachments: tuple[Attachment, ...] = ()
    automatic: str | None = None
    """Why a machine wrote this (auto-reply, bounce, list): stored, never answered."""
    raw: bytes | None = None
    """The original e-mail, kept so that nothing is lost if text extraction was wrong."""
    call: CallFacts | None = None
    """A voicemail or missed call (channel voice): its recording and what follows."""
    reply_to: str | None = None
    """Where the customer asked us to send answers too (web chat: an e-mail or a phone)."""
    language: str | None = None
    """The customer's language as their client told it (a browser's), when it knows."""
    identity: str | None = None
    """The customer's e-mail as their shop vouched for it (a signed-in web chat visitor)."""


# Carrier opt-out keywords (CTIA; Twilio's Advanced Opt-Out uses the same list).
OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
)
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP", "YES", "OPTIN"})


# Twilio's statuses for a message it accepted, in the order it moves through them; and
# the ones that mean it will not arrive.
DELIVERY_PROGRESS = ("sending", "sent", "delivered", "read")
DELIVERY_FAILURES = ("failed", "undelivered", "canceled")


def opt_keyword(body: str) -> str | None:
    """'out' or 'in' when the whole message is an opt-out/opt-in keyword."""
    word = body.strip().strip(".!").upper()
    if word in OPT_OUT_KEYWORDS:
        return "out"
    if word in OPT_IN_KEYWORDS:
        return "in"
    return None
