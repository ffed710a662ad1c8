"""Messenger and Instagram answers through Meta's Send API (`POST /me/messages`).

Our own small HTTP adapter over `requests`, not a Meta SDK: Meta publishes no maintained
Python SDK for the Messenger Platform (`facebook-sdk` is unmaintained since 2019, the
Business SDK is for the Marketing API), and one JSON POST needs no more than `requests`,
which the runtime already carries (twilio depends on it). It is imported when the first
message goes out, never on a webhook's path.

Meta's rules, which the adapter keeps before it asks:
- free-form messages (`messaging_type: RESPONSE`) only within 24 hours of the customer's
  last message (Meta's standard messaging window);
- after that, an agent's own answer goes with the `HUMAN_AGENT` tag up to 7 days after it,
  when the store's page has that permission (`meta.human_agent_tag`); an automatic one
  (an acknowledgement, a survey) never: the tag is for people;
- otherwise nothing is sent, and the agent is told why (as for WhatsApp's closed window);
- text in parts: Messenger takes 2,000 characters, Instagram 1,000 bytes;
- every call carries `appsecret_proof` (HMAC-SHA256 of the page token under the app
  secret), so that a page token that leaks is of no use without the app secret as well,
  and the app can turn on "Require App Secret" in its Meta settings.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.channels.port import Answer, SendProgress
from chalicelib.domain.errors import DeliveryError
from chalicelib.domain.outbound import split_message
from chalicelib.domain.provider_errors import META_WINDOW_SUBCODE, TRANSIENT, classify_meta

if TYPE_CHECKING:
    import requests

    from chalicelib.stores import StoreConfig

log = logging.getLogger(__name__)

GRAPH_URL = "https://graph.facebook.com"
GRAPH_VERSION = "v21.0"
CONNECT_TIMEOUT, READ_TIMEOUT = 3.05, 10.0
STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
MESSENGER_TEXT_CHARS = 2000
INSTAGRAM_TEXT_BYTES = 1000
RATE_LIMIT_WAIT_SECONDS = 60.0
"""Meta sends no Retry-After; without its usage header's estimate, wait a minute."""


class GraphSender(Protocol):
    """The Graph API as one page."""

    def send_text(self, recipient: str, text: str, *, tag: str | None) -> str:
        """Sends one text message: Meta's `message_id` for it; raises `DeliveryError`."""
        ...

    def profile_name(self, user_id: str, *, instagram: bool) -> str | None:
        """The person's name as Meta shows it to the page; None when Meta does not say."""
        ...


def window(last_inbound_at: datetime, now: datetime, *, automatic: bool, tagged: bool) -> str:
    """'RESPONSE', 'HUMAN_AGENT' (a tagged answer), or 'closed'."""
    since = now - last_inbound_at
    if since < STANDARD_WINDOW:
        return "RESPONSE"
    if tagged and not automatic and since < HUMAN_AGENT_WINDOW:
        return "HUMAN_AGENT"
    return "closed"


def instagram_parts(text: str) -> list[str]:
    """Parts of at most 1,000 UTF-8 bytes (split on words, as SMS parts are)."""
    limit = INSTAGRAM_TEXT_BYTES
    while True:
        parts = split_message(text, limit)
        if all(len(part.encode()) <= INSTAGRAM_TEXT_BYTES for part in parts):
            return parts
        limit = max(1, limit * 3 // 4)


def closed_window_text(store: StoreConfig, channel: str) -> str:
    name = "Instagram" if channel == "instagram" else "Messenger"
    if store.meta is not None and store.meta.human_agent_tag:
        return (
            f"{name} allows a page to answer within 24 hours of the customer's last message, "
            "and an agent's own answer with the Human Agent tag within 7 days; both have "
            "passed (automatic messages may use only the 24 hours). Answer when the "
            "customer writes again, or by another channel."
        )
    return (
        f"{name} allows a page to answer only within 24 hours of the customer's last message, "
        "and that has passed. If the store's page has Meta's Human Agent permission, the store "
        'owner can set "human_agent_tag": true in its meta configuration to answer for up to '
        "7 days; otherwise answer when the customer writes again, or by another channel."
    )


class MetaChannel:
    """Messenger or Instagram (by `channel`); the page's sender is looked up at each send,
    so that no token is read until a message goes out."""

    acknowledges_in_response = False
    threads_by_message_id = False

    def __init__(self, sender: Callable[[StoreConfig], GraphSender], *, channel: str) -> None:
        self._sender = sender
        self._channel = channel

    def send_answer(self, answer: Answer, progress: SendProgress) -> str:
        store = answer.store
        tagged = store.meta is not None and store.meta.human_agent_tag
        kind = window(
            answer.last_inbound_at, progress.now(), automatic=answer.automatic, tagged=tagged
        )
        if kind == "closed":
            raise DeliveryError(
                closed_window_text(store, self._channel),
                permanent=True,
                code=META_WINDOW_SUBCODE,
                provider="meta",
            )
        recipient = answer.customer.partition(":")[2]
        text = answer.body.strip()
        if self._channel == "instagram":
            parts = instagram_parts(text)
        else:
            parts = split_message(text, MESSENGER_TEXT_CHARS)
        message_id = answer.last_part_id or ""
        for number, part in enumerate(parts, start=1):
            if number <= answer.parts_sent:
                continue  # sent before a retry
            message_id = self._sender(store).send_text(
                recipient, part, tag=None if kind == "RESPONSE" else kind
            )
            progress.part_sent(number, message_id)
        return message_id


def _usage_wait(response: requests.Response) -> float | None:
    """Seconds until Meta lifts a rate limit: `estimated_time_to_regain_access` (minutes)
    in its X-Business-Use-Case-Usage (or X-Page-Usage / X-App-Usage) header."""
    for header in ("x-business-use-case-usage", "x-page-usage", "x-app-usage"):
        raw = response.headers.get(header)
        if not raw:
            continue
        try:
            usage = json.loads(raw)
        except ValueError:
            continue
        values = usage.values() if isinstance(usage, dict) else []
        entries = [e for v in values for e in (v if isinstance(v, list) else [v])]
        minutes = [
            e.get("estimated_time_to_regain_access")
            for e in (entries or [usage])
            if isinstance(e, dict)
        ]
        found = [m for m in minutes if isinstance(m, int | float) and m > 0]
        if found:
            return float(max(found) * 60)
    return None


@dataclass
class GraphClient:
    """The Send API for one page: its access token goes in the Authorization header, never
    in a URL (where proxies and logs would keep it); the proof of the app secret goes in the
    query, as Meta reads it (it is a keyed hash: neither the token nor the secret can be
    had from it)."""

    access_token: str
    app_secret: str
    base_url: str = GRAPH_URL
    version: str = GRAPH_VERSION
    session: Any = None

    def _session(self) -> requests.Session:
        if self.session is None:
            import requests

            self.session = requests.Session()
            self.session.headers["User-Agent"] = "relaydesk"
        session: requests.Session = self.session
        return session

    def _proof(self) -> dict[str, str]:
        digest = hmac.new(self.app_secret.encode(), self.access_token.encode(), hashlib.sha256)
        return {"appsecret_proof": digest.hexdigest()}

    def send_text(self, recipient: str, text: str, *, tag: str | None) -> str:
        import requests

        payload: dict[str, Any] = {"recipient": {"id": recipient}, "message": {"text": text}}
        if tag:
            payload |= {"messaging_type": "MESSAGE_TAG", "tag": tag}
        else:
            payload["messaging_type"] = "RESPONSE"
        url = f"{self.base_url.rstrip('/')}/{self.version}/me/messages"
        try:
            response = self._session().post(
                url,
                params=self._proof(),
                json=payload,
                headers={"Authorization": f"Bearer {self.access_token}"},
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise DeliveryError(
                f"Meta could not be reached: {type(exc).__name__}",
                permanent=False,
                provider="meta",
            ) from exc
        return self._message_id(response)

    def profile_name(self, user_id: str, *, instagram: bool) -> str | None:
        """Messenger's User Profile API (`first_name`, `last_name`) or Instagram's
        (`name`, `username`). Never raises: a name is a courtesy to the agents, and a job
        that cannot have it goes on without it (and asks again next time)."""
        import requests

        fields = "name,username" if instagram else "first_name,last_name"
        url = f"{self.base_url.rstrip('/')}/{self.version}/{user_id}"
        try:
            response = self._session().get(
                url,
                params={"fields": fields, **self._proof()},
                headers={"Authorization": f"Bearer {self.access_token}"},
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                allow_redirects=False,
            )
            body = response.json() if response.status_code == 200 else None
        except (requests.RequestException, ValueError) as exc:
            log.info("meta profile unavailable: %s", type(exc).__name__)
            return None
        if not isinstance(body, dict):
            log.info("meta profile unavailable: HTTP %s", response.status_code)
            return None
        parts = [body.get(k) for k in ("first_name", "last_name", "name")]
        name = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
        username = body.get("username")
        if not name and isinstance(username, str) and username.strip():
            name = "@" + username.strip()
        # Shown in e-mail subjects: one line, a sensible length.
        name = " ".join("".join(ch if ch.isprintable() else " " for ch in name).split())[:100]
        return name or None

    def _message_id(self, response: requests.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 200 and isinstance(body, dict) and body.get("message_id"):
            message_id = str(body["message_id"])
            log.info("meta message sent: %s", message_id[:80])
            return message_id
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        code = error.get("code") if isinstance(error.get("code"), int) else None
        subcode = error.get("error_subcode")
        subcode = subcode if isinstance(subcode, int) else None
        found = classify_meta(response.status_code, code, subcode)
        if response.status_code == 200:  # 200 without an id: not Meta's answer
            found = classify_meta(502, None, None)
        wait = _usage_wait(response) if found.kind is TRANSIENT else None
        if found.kind is TRANSIENT and wait is None and code in (4, 17, 32, 613):
            wait = RATE_LIMIT_WAIT_SECONDS
        trace = str(error.get("fbtrace_id", ""))[:40]
        raise DeliveryError(
            f"Meta refused the message: HTTP {response.status_code}, code {code}"
            f"{f'/{subcode}' if subcode else ''}: {found.meaning}"
            f"{f' (fbtrace_id {trace})' if trace else ''}",
            kind=found.kind,
            code=subcode or code,
            provider="meta",
            retry_after=wait,
        )
