"""Meta's webhook for Messenger and Instagram Direct: verify, then read a batch of events.

`GET` answers Meta's subscription check (`hub.mode=subscribe`, `hub.verify_token`,
`hub.challenge`); `POST` carries `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the
raw body with the app secret, checked in constant time before a byte is parsed.

One post may hold several entries (pages or Instagram accounts), each with several
events. Only a customer's message becomes an `InboundMessage`; echoes of the page's own
sends (ours, or a person answering in Meta Business Suite), deliveries, reads, reactions,
postbacks, edits and unsends are counted and left alone. An event we cannot read in a
post that verified is Meta's own (a kind it added since), so it is skipped and counted,
never a reason to refuse the post: Meta retries a refused post and, after enough failures,
turns the app's webhook off for every store.

Standard library only: this is the webhook's path.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.channels.port import WebhookRequest
from chalicelib.domain.errors import MalformedRequest, SignatureRejected, VerificationFailed
from chalicelib.domain.messages import INSTAGRAM_PREFIX, MESSENGER_PREFIX, Channel, InboundMessage

SIGNATURE_HEADER = "x-hub-signature-256"
OBJECTS = {"page": Channel.MESSENGER, "instagram": Channel.INSTAGRAM}
"""Meta's `object` of a post -> our channel; other objects (a subscription to `user`, say)
are not customer messages."""
PREFIXES = {Channel.MESSENGER: MESSENGER_PREFIX, Channel.INSTAGRAM: INSTAGRAM_PREFIX}
MAX_MEDIA = 10
MAX_ID = 512
"""Meta's message ids are under 200 characters; a longer one is not Meta's."""
_ID = re.compile(r"^[0-9]{1,32}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9_.\-]{1,256}$")
_SIGNATURE = re.compile(r"^sha256=([0-9a-fA-F]{64})$")


def signature(app_secret: str, body: bytes) -> str:
    """The header value Meta sends with `body` (also the sandbox's and the tests' signer)."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(app_secret: str, body: bytes, header: str | None) -> None:
    """SignatureRejected (401) unless `header` is the body's HMAC with the app secret."""
    matched = _SIGNATURE.match((header or "").strip())
    if matched is None:
        raise SignatureRejected("missing or malformed X-Hub-Signature-256 header")
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, matched.group(1).lower()):
        raise SignatureRejected("X-Hub-Signature-256 does not match the body")


def challenge(params: Mapping[str, str], verify_token: str) -> str:
    """Meta's subscription check: the challenge to echo, or a refusal (400/403)."""
    mode, token = params.get("hub.mode"), params.get("hub.verify_token")
    echo = params.get("hub.challenge")
    if not mode or token is None or echo is None:
        raise MalformedRequest("hub.mode, hub.verify_token and hub.challenge are required")
    if mode != "subscribe":
        raise MalformedRequest(f"hub.mode must be 'subscribe', got {mode[:20]!r}")
    if not hmac.compare_digest(token.encode(), verify_token.encode()):
        raise VerificationFailed("hub.verify_token is not this deployment's verify token")
    if not _CHALLENGE.match(echo):
        # Meta's challenges are digits; anything else would be echoed into a page.
        raise MalformedRequest("hub.challenge must be 1-256 letters, digits, '.', '_' or '-'")
    return echo


@dataclass(frozen=True)
class MetaBatch:
    """What one verified post holds."""

    messages: tuple[InboundMessage, ...]
    ignored: Mapping[str, int] = field(default_factory=dict)
    """Events that are not customer messages, by kind (echo, delivery, read, ...)."""


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _kind(event: dict[str, Any]) -> str:
    """What an event is, by the key Meta names it with."""
    message = event.get("message")
    if isinstance(message, dict):
        if message.get("is_echo"):
            return "echo"
        if message.get("is_deleted"):
            return "deleted"
        if message.get("is_unsupported"):
            return "unsupported"
        return "message"
    for kind in ("delivery", "read", "reaction", "postback", "message_edit", "referral"):
        if kind in event:
            return kind
    return "other"


def _attachment_lines(message: dict[str, Any]) -> tuple[list[str], list[str]]:
    """("[image] <url>" lines for the agents; the links) of a message's attachments, and
    of the Instagram story it answers."""
    lines: list[str] = []
    urls: list[str] = []
    for attachment in _list(message.get("attachments"))[:MAX_MEDIA]:
        attachment = _obj(attachment)
        kind = _str(attachment.get("type")) or "attachment"
        url = _str(_obj(attachment.get("payload")).get("url"))
        label = "story mention" if kind == "story_mention" else kind.replace("_", " ")
        if url.startswith(("https://", "http://")):
            lines.append(f"[{label}] {url}")
            urls.append(url)
        else:
            lines.append(f"[{label}]")
    story = _obj(_obj(message.get("reply_to")).get("story"))
    if story:
        url = _str(story.get("url"))
        lines.append(f"[reply to your story] {url}".rstrip())
    quick = _str(_obj(message.get("quick_reply")).get("payload"))
    if quick:
        lines.append(f"[quick reply: {quick[:200]}]")
    return lines, urls


def read_event(
    channel: Channel, account: str, event: dict[str, Any], received_at: datetime
) -> InboundMessage | None:
    """One customer message, or None when the event lacks what a message must have."""
    message = _obj(event.get("message"))
    sender = _str(_obj(event.get("sender")).get("id"))
    recipient = _str(_obj(event.get("recipient")).get("id")) or account
    mid = _str(message.get("mid"))
    if not (_ID.match(sender) and _ID.match(recipient) and mid and len(mid) <= MAX_ID):
        return None
    lines, urls = _attachment_lines(message)
    text = "\n".join(part for part in (_str(message.get("text")), *lines) if part)
    prefix = PREFIXES[channel]
    return InboundMessage(
        channel=channel,
        provider_id=mid,
        sender=prefix + sender,
        recipient=prefix + recipient,
        body=text,
        received_at=received_at,
        media_urls=tuple(urls),
    )


def to_batch(body: bytes, received_at: datetime, facts: dict[str, str]) -> MetaBatch:
    """A verified post's customer messages, and what else it held."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedRequest(f"body is not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("entry"), list):
        raise MalformedRequest('body must be a JSON object with an "entry" list')
    channel = OBJECTS.get(_str(document.get("object")))
    if channel is None:
        return MetaBatch((), {"object": len(document["entry"])})
    messages: list[InboundMessage] = []
    ignored: Counter[str] = Counter()
    accounts: list[str] = []
    for entry in document["entry"]:
        entry = _obj(entry)
        account = _str(entry.get("id"))
        if _ID.match(account) and account not in accounts:
            accounts.append(account)
        for event in _list(entry.get("messaging")):
            event = _obj(event)
            kind = _kind(event)
            if kind != "message":
                ignored[kind] += 1
            elif (read := read_event(channel, account, event, received_at)) is not None:
                messages.append(read)
            else:
                ignored["unreadable"] += 1
    facts["object"] = channel.value
    if accounts:
        facts["accounts"] = ",".join(accounts[:5])  # the stores' own ids, not customers'
    return MetaBatch(tuple(messages), dict(ignored))


class MetaWebhook:
    """The webhook as an `InboundAdapter[MetaBatch]`; the app secret is read when a post
    comes, the clock after it verified."""

    def __init__(self, *, app_secret: Callable[[], str], clock: Callable[[], datetime]) -> None:
        self._app_secret = app_secret
        self._clock = clock

    def authenticate(self, request: WebhookRequest) -> None:
        """Nothing beside the body: Meta signs the body."""

    def receive(self, request: WebhookRequest, facts: dict[str, str]) -> MetaBatch:
        verify_signature(self._app_secret(), request.body, request.headers.get(SIGNATURE_HEADER))
        return to_batch(request.body, self._clock(), facts)
