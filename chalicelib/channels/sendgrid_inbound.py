"""SendGrid Inbound Parse in: the post authenticated (HTTP Basic, optional signature),
its multipart form parsed, and the mail read into one `InboundEmail`.

Parsing uses the standard library's `email` package; the `sendgrid` SDK (and
`cryptography`) are imported only when a signature is actually checked.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import collapse_rfc2231_value, parseaddr
from typing import Any

from chalicelib.channels.port import WebhookRequest
from chalicelib.domain.errors import MalformedRequest, NotAuthenticated, VerificationFailed
from chalicelib.domain.mail import InboundEmail, addresses, message_ids
from chalicelib.domain.mail_auth import SenderAuthentication, aligned
from chalicelib.domain.messages import Attachment

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
# timestamp, so a captured post cannot be re-dated. SendGrid retries a post that got a
# 5xx for 72 hours (every 5-10 minutes in the first hour, then about every 3 hours) and
# does not document that a retry is signed afresh: a retry may carry the first attempt's
# timestamp. A 5-minute window would turn our own brief outage into a 403 on the retry,
# which SendGrid treats as final (the mail dropped, nobody told). So a signature is good
# for SendGrid's whole retry window and an hour more; a replay inside it is harmless,
# because mail is stored once per Message-ID (a Message-ID-less mail gets a stable one
# from its content). Ahead of our clock only skew is plausible: five minutes.
SIGNATURE_MAX_AGE = timedelta(hours=73)
SIGNATURE_MAX_AHEAD = timedelta(minutes=5)


def check_signature(
    public_key: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    now: datetime,
    max_age: timedelta = SIGNATURE_MAX_AGE,
    max_ahead: timedelta = SIGNATURE_MAX_AHEAD,
) -> None:
    """SendGrid's signed webhooks (a Parse security policy): ECDSA over timestamp + body,
    the timestamp at most `max_age` before `now` and `max_ahead` after it (a replay or a
    forged date otherwise). `now` is when the post reached us: for a post stored in S3
    and read later, the time it was stored, not the time it is read.

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
    age = now.timestamp() - signed_at
    if age > max_age.total_seconds():
        raise VerificationFailed(
            f"the SendGrid signature is {age:.0f} s old, more than the "
            f"{max_age.total_seconds():.0f} s allowed: a replayed or delayed post"
        )
    if -age > max_ahead.total_seconds():
        raise VerificationFailed(
            f"the SendGrid signature is dated {-age:.0f} s ahead of our clock, more than "
            f"the {max_ahead.total_seconds():.0f} s allowed"
        )


@dataclass(frozen=True)
class FormData:
    fields: dict[str, str]
    files: tuple[Attachment, ...] = ()
    raw_email: bytes | None = None
    """"Send Raw" mode: the whole MIME message, byte for byte."""
    contents: tuple[bytes, ...] = ()
    """Each of `files`' bytes, in order (kept only where they are stored: the S3 path)."""


def _header_text(value: object) -> str | None:
    """A header parameter as text (an RFC 2231 value collapsed)."""
    if isinstance(value, tuple):
        value = collapse_rfc2231_value(value)
    return value if isinstance(value, str) else None


def parse_form_data(
    content_type: str | None, body: bytes, *, keep_contents: bool = False
) -> FormData:
    """A multipart/form-data post: text fields, attachment metadata, the raw message, and
    with `keep_contents` the attachments' bytes."""
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
    contents: list[bytes] = []
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
            if keep_contents:
                contents.append(payload)
        elif name == "email":
            raw_email = payload
        else:
            fields[name] = payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    return FormData(fields, tuple(files), raw_email, tuple(contents))


_PART_NAME = re.compile(rb'\bname="([^"\r\n]{1,60})"', re.IGNORECASE)
_PART_FILENAME = re.compile(rb"\bfilename\*?=", re.IGNORECASE)
_BOUNDARY = re.compile(r'boundary="?([^";]{1,200})"?', re.IGNORECASE)


def head_form(content_type: str | None, head: bytes) -> FormData:
    """The text fields of a post that is too large to parse, from its first bytes: each
    complete form field, and in "Send Raw" mode the message's header block. Enough to
    know who wrote, to whom, and about what; never the attachments."""
    found = _BOUNDARY.search(content_type or "")
    if not found:
        return FormData({})
    delimiter = b"--" + found.group(1).encode("ascii", errors="replace")
    parts = head.split(delimiter)[1:]
    fields: dict[str, str] = {}
    for index, part in enumerate(parts):
        complete = index < len(parts) - 1
        part_headers, _, value = part.partition(b"\r\n\r\n")
        name = _PART_NAME.search(part_headers)
        if name is None or _PART_FILENAME.search(part_headers):
            continue
        key = name.group(1).decode("utf-8", errors="replace")
        if key == "email":  # the MIME message: its headers are all we need of it
            block, _, _ = value.replace(b"\r\n", b"\n").partition(b"\n\n")
            fields["headers"] = block.decode("utf-8", errors="replace")
            raw = message_from_bytes(block + b"\n\n", policy=policy.compat32)
            for header in ("to", "cc"):  # From and Subject: decoded from `headers`
                if raw.get(header) is not None:
                    fields[header] = str(raw.get(header))
        elif complete:
            fields[key] = value.removesuffix(b"\r\n").decode("utf-8", errors="replace")
    return FormData(fields)


_DKIM_RESULT = re.compile(r"@([^\s:,{}@]+)\s*:\s*([a-z]+)", re.IGNORECASE)


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
        spf_aligned=aligned(envelope_domain, from_domain),
        dkim=dkim,
        from_domain=from_domain,
    )


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
    return tuple(attachment for attachment, _ in _mime_parts(message))


def _mime_parts(message: EmailMessage) -> list[tuple[Attachment, bytes]]:
    found = []
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        name = part.get_filename() or f"unnamed.{part.get_content_subtype()}"
        found.append((Attachment(name, part.get_content_type(), len(data)), data))
    return found


def attachment_contents(form: FormData) -> tuple[bytes, ...]:
    """The bytes of each attachment `to_inbound_email(form)` lists, in its order: the
    form's files, or in "Send Raw" mode the MIME message's attachments."""
    if form.raw_email is None:
        return form.contents
    message = message_from_bytes(form.raw_email, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return tuple(data for _, data in _mime_parts(message))


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
    recipients = tuple(dict.fromkeys(addresses(*envelope_rcpts, to_header, cc_header)))
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


class SendGridInbound:
    """Inbound Parse as an `InboundAdapter`: HTTP Basic first (it needs no parsing), then
    SendGrid's signature when the deployment configured its key, then the mail.

    Credentials and key are looked up when a request comes, the clock when it is checked."""

    def __init__(
        self,
        *,
        user: Callable[[], str],
        password: Callable[[], str],
        public_key: Callable[[], str | None],
        clock: Callable[[], datetime],
    ) -> None:
        self._user = user
        self._password = password
        self._public_key = public_key
        self._clock = clock

    def authenticate(self, request: WebhookRequest) -> None:
        check_basic_auth(request.headers.get("authorization"), self._user(), self._password())

    def receive(self, request: WebhookRequest, facts: dict[str, str]) -> InboundEmail:
        if public_key := self._public_key():
            check_signature(
                public_key,
                request.body,
                request.headers.get(SIGNATURE_HEADER),
                request.headers.get(TIMESTAMP_HEADER),
                now=self._clock(),
            )
        form = parse_form_data(request.headers.get("content-type"), request.body)
        return to_inbound_email(form)

    def verify(self, body: bytes, headers: Mapping[str, str], received_at: datetime) -> None:
        """SendGrid's signature over `body`, when the deployment configured its key, as of
        `received_at` (when the post reached us)."""
        if public_key := self._public_key():
            check_signature(
                public_key,
                body,
                headers.get(SIGNATURE_HEADER),
                headers.get(TIMESTAMP_HEADER),
                now=received_at,
            )

    def receive_stored(
        self, body: bytes, headers: Mapping[str, str], received_at: datetime
    ) -> tuple[InboundEmail, tuple[bytes, ...]]:
        """A post that API Gateway stored in S3 after the Basic check (web.py's
        authorizer): its signature checked as of when it was stored (`received_at`), so
        that the time it waited in the queue does not count; the mail and the bytes of
        each of its attachments."""
        self.verify(body, headers, received_at)
        form = parse_form_data(headers.get("content-type"), body, keep_contents=True)
        return to_inbound_email(form), attachment_contents(form)
