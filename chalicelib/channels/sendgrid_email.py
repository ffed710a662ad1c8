"""SendGrid: Inbound Parse posts in (authenticated, parsed), e-mail out (Mail Send v3).

Parsing uses the standard library's `email` package; the `sendgrid` SDK is imported
only when a mail is actually sent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import collapse_rfc2231_value, getaddresses, parseaddr
from typing import Any

from chalicelib.domain.errors import (
    DeliveryError,
    MalformedRequest,
    NotAuthenticated,
    VerificationFailed,
)
from chalicelib.domain.messages import Attachment

log = logging.getLogger(__name__)

MAX_POST_BYTES = 30 * 1024 * 1024  # SendGrid Inbound Parse's own limit for a whole message


def check_basic_auth(authorization: str | None, user: str, password: str) -> None:
    """Inbound Parse carries `https://user:password@host/...` credentials as HTTP Basic."""
    if not authorization or not authorization.lower().startswith("basic "):
        raise NotAuthenticated("HTTP Basic credentials are required")
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise NotAuthenticated("HTTP Basic credentials are not valid base64") from exc
    given_user, _, given_password = decoded.partition(":")
    user_ok = hmac.compare_digest(given_user.encode(), user.encode())
    password_ok = hmac.compare_digest(given_password.encode(), password.encode())
    if not (user_ok and password_ok):
        raise NotAuthenticated("wrong HTTP Basic credentials")


SIGNATURE_HEADER = "x-twilio-email-event-webhook-signature"
TIMESTAMP_HEADER = "x-twilio-email-event-webhook-timestamp"

# How far a signed post's timestamp may be from our clock. The signature covers the
# timestamp, so a captured post cannot be re-dated: outside this window it is refused as
# a replay. Five minutes (as Stripe and Slack use) absorbs clock skew and slow delivery;
# SendGrid signs every delivery attempt afresh, so its own retries are not affected.
# Inside the window a replay is harmless: mail is stored once per Message-ID.
SIGNATURE_TOLERANCE = timedelta(minutes=5)


def check_signature(
    public_key: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    now: datetime,
    tolerance: timedelta = SIGNATURE_TOLERANCE,
) -> None:
    """SendGrid's signed webhooks (a Parse security policy): ECDSA over timestamp + body,
    and the timestamp no further than `tolerance` from `now` (a replay otherwise).

    The key is loaded by the SDK's own helper; the check is done on the raw bytes,
    because a multipart body with attachments need not be UTF-8.
    """
    if not signature or not timestamp:
        raise VerificationFailed("the SendGrid signature headers are missing")
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from sendgrid.helpers.eventwebhook import EventWebhook

    try:
        key = EventWebhook(public_key).public_key
        key.verify(
            base64.b64decode(signature), timestamp.encode() + body, ec.ECDSA(hashes.SHA256())
        )
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise VerificationFailed("the SendGrid signature does not match") from exc
    try:
        signed_at = int(timestamp)
    except ValueError as exc:
        raise VerificationFailed("the SendGrid signature timestamp is not a Unix time") from exc
    age, window = now.timestamp() - signed_at, tolerance.total_seconds()
    if age > window:
        raise VerificationFailed(
            f"the SendGrid signature is {age:.0f} s old, more than the {window:.0f} s "
            "allowed: a replayed or delayed post"
        )
    if -age > window:
        raise VerificationFailed(
            f"the SendGrid signature is dated {-age:.0f} s ahead of our clock, more than "
            f"the {window:.0f} s allowed"
        )


@dataclass(frozen=True)
class FormData:
    fields: dict[str, str]
    files: tuple[Attachment, ...] = ()
    raw_email: bytes | None = None
    """"Send Raw" mode: the whole MIME message, byte for byte."""


def _header_text(value: object) -> str | None:
    """A header parameter as text (an RFC 2231 value collapsed)."""
    if isinstance(value, tuple):
        value = collapse_rfc2231_value(value)
    return value if isinstance(value, str) else None


def parse_form_data(content_type: str | None, body: bytes) -> FormData:
    """A multipart/form-data post: text fields, attachment metadata, the raw message."""
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        raise MalformedRequest("expected a multipart/form-data body")
    if "boundary=" not in content_type:
        raise MalformedRequest("multipart/form-data without a boundary")
    if len(body) > MAX_POST_BYTES:
        raise MalformedRequest("the post is larger than 30 MB")
    envelope = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode() + body
    # compat32 first: form-data part headers are plain ASCII almost always, and the modern
    # policy's header registry costs ~2 ms a post (bench/RESULTS.md). Raw UTF-8 in a part's
    # headers (an attachment's name) needs the modern policy to decode it: parse again.
    document = message_from_bytes(envelope, policy=policy.compat32)
    if document.is_multipart() and any(
        not value.isascii()
        for part in document.get_payload()
        if isinstance(part, Message)
        for _, value in part.raw_items()
    ):
        document = message_from_bytes(envelope, policy=policy.HTTP)
    if not document.is_multipart() or document.defects:
        raise MalformedRequest("the multipart/form-data body could not be parsed")
    fields: dict[str, str] = {}
    files: list[Attachment] = []
    raw_email: bytes | None = None
    for part in document.get_payload():
        if not isinstance(part, Message):
            continue
        name = _header_text(part.get_param("name", header="content-disposition"))
        payload = part.get_payload(decode=True)
        if not name or not isinstance(payload, bytes):
            continue
        if filename := _header_text(part.get_filename()):
            files.append(Attachment(filename, part.get_content_type(), len(payload)))
        elif name == "email":
            raw_email = payload
        else:
            fields[name] = payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    return FormData(fields, tuple(files), raw_email)


SPF_FAILURES = frozenset({"fail", "softfail"})
_DKIM_RESULT = re.compile(r"@([^\s:,{}@]+)\s*:\s*([a-z]+)", re.IGNORECASE)


def _aligned(domain: str, from_domain: str) -> bool:
    """Relaxed alignment without a public-suffix list: the same domain, or one a
    subdomain of the other (`mail.shop.example` speaks for `shop.example`)."""
    if not domain or not from_domain:
        return False
    return (
        domain == from_domain
        or domain.endswith("." + from_domain)
        or from_domain.endswith("." + domain)
    )


@dataclass(frozen=True)
class SenderAuthentication:
    """SendGrid's SPF and DKIM verdicts for a mail, read against its From domain.

    Inbound Parse posts them (both modes) as `SPF`, one word for the envelope sender
    (`pass`, `softfail`, `fail`, `neutral`, `none`, `temperror`, `permerror`), and `dkim`,
    one result per signature (`{@shop.example : pass, @esp.example : fail}`, or `none`).
    SPF speaks for the envelope sender's domain, DKIM for the signing domain: either
    counts for From only when that domain is aligned with From's (as DMARC reads them).
    """

    reported: bool = False
    """SendGrid posted an SPF or dkim verdict (it does unless the Parse setup is old)."""
    spf: str = ""
    spf_aligned: bool = False
    """The envelope sender's domain is aligned with From's (an empty one never is)."""
    dkim: tuple[tuple[str, str], ...] = ()
    """(signing domain, result) per signature."""
    from_domain: str = ""

    @property
    def authenticated(self) -> bool:
        """An aligned SPF or DKIM pass: From's domain vouched for this mail."""
        return (self.spf == "pass" and self.spf_aligned) or any(
            result == "pass" and _aligned(domain, self.from_domain) for domain, result in self.dkim
        )

    @property
    def failed(self) -> bool:
        """SendGrid reported a failure and nothing authenticates From: SPF failed
        (fail/softfail), an aligned DKIM signature failed, or the only passes are for
        other domains (someone vouched for the mail, but not From's domain).

        Not a failure: nothing reported, or only inconclusive verdicts (`none`,
        `neutral`, temporary errors): the sender's domain publishes nothing to check.
        """
        if not self.reported or self.authenticated:
            return False
        aligned_dkim = [r for d, r in self.dkim if _aligned(d, self.from_domain)]
        someone_else_passed = self.spf == "pass" or any(r == "pass" for _, r in self.dkim)
        return (
            self.spf in SPF_FAILURES
            or any(r in ("fail", "permerror") for r in aligned_dkim)
            or someone_else_passed
        )

    def summary(self) -> str:
        """For logs: the verdicts and domains, never an address."""
        dkim = ", ".join(f"{d}:{r}" for d, r in self.dkim) or "none"
        aligned = "aligned" if self.spf_aligned else "unaligned"
        return f"spf={self.spf or 'none'} ({aligned}) dkim={dkim} from-domain={self.from_domain}"


def sender_authentication(
    fields: Mapping[str, str], sender: str, envelope_from: str | None
) -> SenderAuthentication:
    """Read SendGrid's `SPF` and `dkim` fields against the From address `sender`."""
    lowered = {name.lower(): value for name, value in fields.items()}
    spf_field, dkim_field = lowered.get("spf", "").strip(), lowered.get("dkim", "").strip()
    from_domain = sender.rpartition("@")[2].strip().lower() if "@" in sender else ""
    envelope_domain = (
        (envelope_from or "").strip().strip("<>").rpartition("@")[2].lower()
        if "@" in (envelope_from or "")
        else ""
    )
    dkim = tuple(
        (domain.lower().rstrip("."), result.lower())
        for domain, result in _DKIM_RESULT.findall(dkim_field)
    )
    return SenderAuthentication(
        reported=bool(spf_field or dkim_field),
        spf=(spf_field.split() or [""])[0].lower(),
        spf_aligned=_aligned(envelope_domain, from_domain),
        dkim=dkim,
        from_domain=from_domain,
    )


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
            found = _addresses(self.headers.get(header))
            if len(found) == 1:
                return found[0]
        return self.sender


def _addresses(*values: str | None) -> list[str]:
    return [addr.lower() for _, addr in getaddresses([v for v in values if v]) if addr]


_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


def message_ids(value: str) -> list[str]:
    """The ids in an In-Reply-To/References header, as `<id>`; tolerant of commas and junk."""
    return [f"<{found}>" for found in _MESSAGE_ID.findall(value or "")]


def _text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeDecodeError):  # an unknown or lying charset
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    if part.get_content_type() == "text/html":
        return html_to_text(str(content))
    return str(content)


def _mime_attachments(message: EmailMessage) -> tuple[Attachment, ...]:
    found = []
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else 0
        name = part.get_filename() or f"unnamed.{part.get_content_subtype()}"
        found.append(Attachment(name, part.get_content_type(), size))
    return tuple(found)


def html_to_text(html: str) -> str:
    from html.parser import HTMLParser

    class _Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.chunks: list[str] = []
            self._skip = 0

        def handle_starttag(self, tag: str, attrs: Any) -> None:
            if tag in ("script", "style", "head"):
                self._skip += 1
            elif tag in ("br", "p", "div", "tr", "li", "blockquote"):
                self.chunks.append("\n")

        def handle_endtag(self, tag: str) -> None:
            if tag in ("script", "style", "head") and self._skip:
                self._skip -= 1

        def handle_data(self, data: str) -> None:
            if not self._skip:
                self.chunks.append(data)

    parser = _Text()
    parser.feed(html)
    lines = (" ".join(line.split()) for line in "".join(parser.chunks).splitlines())
    return "\n".join(line for line in lines if line).strip()


def _header_values(message: EmailMessage) -> dict[str, str]:
    """Each header's first value, decoded; a header the policy cannot parse keeps its raw
    text. Parsed one by one: `message.items()` parses them all at once, and the standard
    library's header parser raises on malformed input (`Message-ID: <>` is an IndexError,
    found by tests/reliability), which would sink the whole mail for one bad header."""
    headers: dict[str, str] = {}
    for name, raw in message.raw_items():
        if name in headers:
            continue
        try:
            headers[name] = str(message.policy.header_fetch_parse(name, raw))
        except Exception:  # any parser failure: keep the raw text instead
            headers[name] = " ".join(str(raw).split())
    return headers


def to_inbound_email(form: FormData) -> InboundEmail:
    """Both Inbound Parse modes: parsed fields, or the raw MIME message in `email`."""
    fields = form.fields
    try:
        envelope = json.loads(fields.get("envelope") or "{}")
    except json.JSONDecodeError as exc:
        raise MalformedRequest("the envelope field is not JSON") from exc
    envelope_to = envelope.get("to") if isinstance(envelope, dict) else None
    if isinstance(envelope_to, str):
        envelope_to = [envelope_to]
    # Only a list of strings is an envelope: `{"to": 1}` once answered 500 (found by
    # tests/reliability).
    envelope_rcpts = (
        [a for a in envelope_to if isinstance(a, str)] if isinstance(envelope_to, list) else []
    )
    envelope_from = envelope.get("from") if isinstance(envelope, dict) else None

    if form.raw_email is not None:
        message = message_from_bytes(form.raw_email, policy=policy.default)
        assert isinstance(message, EmailMessage)
        text = _text_of(message)
        attachments = _mime_attachments(message)
    else:
        message = message_from_bytes(fields.get("headers", "").encode(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        text = fields.get("text") or html_to_text(fields.get("html", ""))
        attachments = form.files
    headers = _header_values(message)
    from_header = fields.get("from") if form.raw_email is None else None
    sender_name, sender = parseaddr(from_header or headers.get("From", ""))
    sender = sender.lower() if "@" in sender else ""
    to_header = fields.get("to") if form.raw_email is None else headers.get("To")
    cc_header = fields.get("cc") if form.raw_email is None else headers.get("Cc")
    recipients = tuple(dict.fromkeys(_addresses(*envelope_rcpts, to_header, cc_header)))
    if not recipients:
        raise MalformedRequest("the mail has no recipient (envelope, To or Cc)")
    subject = fields.get("subject") if form.raw_email is None else None
    subject = subject if subject is not None else headers.get("Subject", "")
    message_id = next(iter(message_ids(headers.get("Message-ID", ""))), "")
    if not message_id:
        # A stable id from the content, so that a redelivery is still recognised.
        digest = hashlib.sha256(f"{sender}\0{subject}\0{text}".encode()).hexdigest()[:32]
        message_id = f"<{digest}@relaydesk.generated>"
    references = message_ids(headers.get("In-Reply-To", "")) + list(
        reversed(message_ids(headers.get("References", "")))
    )
    return InboundEmail(
        sender=sender,
        recipients=recipients,
        subject=subject,
        text=text,
        message_id=message_id,
        sender_name=sender_name,
        headers=headers,
        references=tuple(dict.fromkeys(references)),
        attachments=attachments,
        raw=form.raw_email,
        authentication=sender_authentication(
            fields, sender, envelope_from if isinstance(envelope_from, str) else None
        ),
    )


@dataclass(frozen=True)
class OutgoingEmail:
    from_email: str
    from_name: str
    to: tuple[str, ...]
    subject: str
    text: str
    reply_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


SEND_TIMEOUT_SECONDS = 10


class SendGridMailer:
    """Sends e-mail through SendGrid's v3 API; vendor errors become `DeliveryError`."""

    def __init__(self, api_key: str, host: str | None = None) -> None:
        self._api_key = api_key
        self._host = host
        self._client: Any = None

    def _sdk(self) -> Any:
        if self._client is None:
            from sendgrid import SendGridAPIClient

            kwargs = {"host": self._host} if self._host else {}
            self._client = SendGridAPIClient(self._api_key, **kwargs)
            # python-http-client waits for ever by default: a SendGrid that never answers
            # would hold the job until Lambda's timeout (tests/reliability/README.md, B9).
            self._client.client.timeout = SEND_TIMEOUT_SECONDS
        return self._client

    def send(self, mail: OutgoingEmail) -> None:
        """One personalization per recipient: agents do not see each other's address."""
        from python_http_client.exceptions import HTTPError
        from sendgrid.helpers.mail import From, Header, Mail, Personalization, ReplyTo, To

        message = Mail()
        message.from_email = From(mail.from_email, mail.from_name)
        message.subject = mail.subject
        message.add_content(mail.text, "text/plain")
        for address in mail.to:
            personalization = Personalization()
            personalization.add_to(To(address))
            message.add_personalization(personalization)
        if mail.reply_to:
            message.reply_to = ReplyTo(mail.reply_to)
        for name, value in mail.headers.items():
            message.add_header(Header(name, value))
        try:
            response = self._sdk().send(message)
        except HTTPError as exc:
            status = int(getattr(exc, "status_code", 0) or 0)
            raise DeliveryError(
                f"SendGrid refused the mail: HTTP {status}",
                permanent=400 <= status < 500 and status != 429,
            ) from exc
        except OSError as exc:
            raise DeliveryError(f"SendGrid could not be reached: {exc}", permanent=False) from exc
        log.info("sendgrid mail accepted: HTTP %s", response.status_code)
