"""Web chat's three requests: a session (the widget's words and a token), a visitor's
message (stored like any customer's, acknowledged with the same promise), and a poll
(the conversation's messages since the widget's cursor).

Every read and write is scoped by the store and the hash of the visitor's token: a
response carries only that visitor's conversation. The send costs what every inbound
message costs (2 DynamoDB requests, 1 SQS): its caps ride the message's transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib import logs
from chalicelib.domain.ack import BUILTIN_LANGUAGES, acknowledgement, next_opening
from chalicelib.domain.errors import MalformedRequest
from chalicelib.domain.messages import Channel, InboundMessage, message_id_for
from chalicelib.domain.webchat import (
    LANGUAGES,
    RTL_LANGUAGES,
    OverCap,
    ip_key,
    is_token,
    is_visitor,
    language_of,
    new_token,
    parse_message,
    verified_email,
    visitor_address,
    widget_words,
)
from chalicelib.flows.receive_inbound import store_inbound
from chalicelib.store.inbound import RateCap
from chalicelib.store.models import MessageItem, ThreadItem, message_sort_key
from chalicelib.store.repository import RateCapReached
from chalicelib.stores import StoreConfig

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)

RECIPIENT = "webchat"
"""The store's 'address' on this channel, as its threads record it."""
POLL_MIN_SECONDS, POLL_MAX_SECONDS = 3, 30
"""The widget polls at the first while the panel is open and something is awaited,
backing off (x1.5) to the second; never while the panel is closed or the page hidden."""
HISTORY = 50
_UNSHOWN = frozenset({"queued", "sending", "failed"})
REWIND = timedelta(minutes=2)
MAX_CURSOR_CHARS = 120


def _language(store: StoreConfig, asked: object) -> str:
    fallback = store.locale.split("_")[0] if store.locale.split("_")[0] in LANGUAGES else "en"
    return language_of(asked, LANGUAGES) or fallback


def session(store: StoreConfig, payload: Mapping[str, object]) -> dict[str, object]:
    """The widget's words for the browser's language, and its token: the one it has if it
    is well-formed (nothing is looked up: an unknown token is an empty conversation), else
    a new one. Nothing is stored until the visitor writes."""
    token = payload.get("token")
    language = _language(store, payload.get("language"))
    chat = store.webchat
    return {
        "token": token if is_token(token) else new_token(),
        "store": store.name,
        "language": language,
        "dir": "rtl" if language in RTL_LANGUAGES else "ltr",
        "colour": chat.colour,
        "text_colour": chat.text_colour,
        "words": widget_words(language, chat.title, chat.greeting, store.locale),
        "max_chars": chat.max_message_chars,
        "poll": {"min": POLL_MIN_SECONDS, "max": POLL_MAX_SECONDS},
    }


def send(
    c: Container, store: StoreConfig, payload: Mapping[str, object], ip: str
) -> dict[str, object]:
    """Store the visitor's message on their conversation and acknowledge it as any channel
    would; the acknowledgement comes back at once (and is recorded by its job, under the id
    given here, so that the poll shows it once)."""
    chat = store.webchat
    supported = BUILTIN_LANGUAGES | frozenset(store.ack_templates)
    parsed = parse_message(
        payload,
        max_chars=chat.max_message_chars,
        phones_allowed=bool(store.phone_numbers),
        supported=frozenset(supported),
    )
    secret = c.webchat_identity_secret(store) if chat.identity and parsed.email else None
    identity = verified_email(secret, parsed.email, parsed.email_hash)
    if parsed.email and identity is None:
        log.info("web chat: identity hash did not verify, chat stays anonymous")
    address = visitor_address(store.store_id, parsed.token)
    message = InboundMessage(
        channel=Channel.WEB,
        provider_id=f"web.{address.removeprefix('web:')}.{parsed.client_id}",
        sender=address,
        recipient=RECIPIENT,
        body=parsed.text,
        received_at=c.clock(),
        profile_name=identity,
        reply_to=parsed.contact,
        language=parsed.language,
        identity=identity,
    )
    logs.bind_message(store.store_id, message.provider_id)
    where = ip_key(store.store_id, ip)
    caps = (
        RateCap(f"webchat-conversations#{where}", chat.conversations_per_ip_hour, True),
        RateCap(f"webchat-ip#{where}", chat.messages_per_ip_hour),
        RateCap("webchat-store", chat.messages_per_store_hour),
    )
    try:
        stored = store_inbound(c, store, message, follow_pointer=True, caps=caps)
    except RateCapReached as full:
        log.warning("web chat cap reached: store=%s cap=%s", store.store_id, full.key.split("#")[0])
        raise OverCap("too many messages this hour; please wait a little and try again") from None
    mid = message_id_for(store.store_id, message.provider_id)
    mine = {"id": mid, "from": "you", "text": parsed.text, "at": message.received_at.isoformat()}
    plan = stored.plan
    ack = None
    if plan is not None and plan.acknowledged_at and not plan.answer_by_job:
        # The id flows/deliver.py `send_email_ack` records it under (a channel that threads
        # by Message-ID), so that the widget, polling, recognises it.
        ack_id = f"<ack.{mid}@{store.support_address.partition('@')[2]}>"
        ack = {
            "id": message_id_for(store.store_id, ack_id),
            "from": "store",
            "name": store.name,
            "at": message.received_at.isoformat(),
            "text": acknowledgement(
                store_name=store.name,
                deadline=plan.due_at,
                opens=next_opening(store.calendar, message.received_at),
                timezone=store.calendar.timezone,
                language=plan.language or store.locale,
                now=message.received_at,
                overrides=store.ack_templates,
            ),
        }
    return {"message": mine, "ack": ack, "duplicate": plan is None}


def _rewound(cursor: str) -> str:
    """The cursor, REWIND earlier: messages sort by the time their writer's clock gave them,
    and two writers' clocks (or one instant) need not order them as they were written. What
    the window shows again, the widget knows by its id."""
    if not cursor:
        return ""
    try:
        at = datetime.strptime(cursor.split("#")[1], "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
    except (IndexError, ValueError):
        raise MalformedRequest("after: the cursor a previous poll returned") from None
    return message_sort_key(at - REWIND, "")


def _shown(item: MessageItem) -> bool:
    """What the visitor sees: their messages, and ours once delivered (not notes, events,
    nor an answer still queued, held or failed)."""
    if item.direction == "in":
        # Not a machine's mail from the address they left (an out-of-office answering our
        # copy): their own words only, a survey rating included.
        return item.automatic is None or item.automatic == "survey rating"
    return item.direction == "out" and item.delivery_status not in _UNSHOWN


def poll(c: Container, store: StoreConfig, payload: Mapping[str, object]) -> dict[str, object]:
    """The conversation's messages after `after` (a cursor this returned before), oldest
    first: one read of the visitor's item, one query of their thread."""
    token = payload.get("token")
    if not is_token(token):
        raise MalformedRequest("token: the conversation token from /session is required")
    after = payload.get("after") or ""
    if not isinstance(after, str) or len(after) > MAX_CURSOR_CHARS:
        raise MalformedRequest("after: the cursor a previous poll returned")
    assert isinstance(token, str)
    visitor = c.repository.customer(store.store_id, visitor_address(store.store_id, token))
    if visitor is None or not visitor.open_thread_id:
        return {"messages": [], "cursor": after}
    items = c.repository.messages(store.store_id, visitor.open_thread_id, limit=HISTORY)
    floor = _rewound(after)
    cursor, held = after, False
    shown = []
    for item in items:
        if item.sk <= floor:
            continue
        # An answer still on its way keeps the cursor before it: it is shown when it is
        # delivered, and what is shown again meanwhile the widget knows by its id.
        held = held or (item.direction == "out" and item.delivery_status in ("queued", "sending"))
        if not held:
            cursor = max(cursor, item.sk)
        if not _shown(item):
            continue
        ours = item.direction == "out"
        shown.append(
            {
                "id": item.message_id,
                "from": "store" if ours else "you",
                "name": (item.author_name or store.name) if ours else None,
                "text": item.body,
                "at": item.created_at.isoformat(),
            }
        )
    return {"messages": shown, "cursor": cursor}


def continues_by_email(c: Container, thread: ThreadItem, sender: str) -> bool:
    """The mail's sender is the address this thread's visitor left for answers: their reply
    to the copy we mailed continues the chat's thread (and shows in the panel)."""
    if not is_visitor(thread.customer):
        return False
    visitor = c.repository.customer(thread.store_id, thread.customer)
    return visitor is not None and visitor.reply_to == sender.strip().lower()
