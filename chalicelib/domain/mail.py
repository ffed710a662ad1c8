"""E-mail as relaydesk sees it, whoever delivers it: a customer's or agent's mail in, ours out."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from email.utils import getaddresses

from chalicelib.domain.headers import HEADER_LINE_MAX_CHARS, header_text
from chalicelib.domain.mail_auth import SenderAuthentication
from chalicelib.domain.messages import Attachment


@dataclass(frozen=True)
class InboundEmail:
    sender: str
    """The bare address of From, lower-cased: who is checked as agent or customer."""
    recipients: tuple[str, ...]
    """Every address it was delivered to: envelope, To and Cc, lower-cased."""
    subject: str
    text: str
    message_id: str
    sender_name: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    references: tuple[str, ...] = ()
    """Message-IDs this mail answers: In-Reply-To first, then References newest first."""
    attachments: tuple[Attachment, ...] = ()
    raw: bytes | None = None
    authentication: SenderAuthentication = field(default_factory=SenderAuthentication)
    """SendGrid's SPF/DKIM verdicts for From (not reported: neither passed nor failed)."""

    @property
    def reply_address(self) -> str:
        """Where the customer wants answers: a single Reply-To address, else the person a
        mailing group relayed (`X-Original-Sender`), else From."""
        for header in ("Reply-To", "X-Original-Sender"):
            found = addresses(self.headers.get(header))
            if len(found) == 1:
                return found[0]
        return self.sender


def addresses(*values: str | None) -> list[str]:
    """The bare addresses in address headers, lower-cased, in order."""
    return [addr.lower() for _, addr in getaddresses([v for v in values if v]) if addr]


_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


def message_ids(value: str) -> list[str]:
    """The ids in an In-Reply-To/References header, as `<id>`; tolerant of commas and junk."""
    return [f"<{found}>" for found in _MESSAGE_ID.findall(value or "")]


@dataclass(frozen=True)
class OutgoingEmail:
    """A mail we send (to a customer or to agents). Every header value is made safe here,
    once, whatever it was built from (a customer's subject, a display name, a Message-ID
    from the outside): one line, no control characters, bounded (domain/headers.py)."""

    from_email: str
    from_name: str
    to: tuple[str, ...]
    subject: str
    text: str
    reply_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    html: str | None = None
    """An HTML alternative to `text` (the weekly report); None: plain text only."""

    def __post_init__(self) -> None:
        safe = object.__setattr__  # frozen: the safe values replace what was given
        safe(self, "from_email", header_text(self.from_email))
        safe(self, "from_name", header_text(self.from_name))
        safe(self, "to", tuple(header_text(a) for a in self.to))
        safe(self, "subject", header_text(self.subject))
        safe(self, "reply_to", header_text(self.reply_to) if self.reply_to else self.reply_to)
        safe(
            self,
            "headers",
            {
                header_text(k): header_text(v, HEADER_LINE_MAX_CHARS)
                for k, v in self.headers.items()
            },
        )


def new_message_id(address: str) -> str:
    """A fresh Message-ID in the domain of our `address` (RFC 5322: unique, ours)."""
    return f"<{uuid.uuid4().hex}@{address.partition('@')[2]}>"
