"""Privacy: export or erase what relaydesk holds about one customer (GDPR articles 15, 17
and 20). (The retention TTL that deletes a closed thread is in store/retention.py.)

Finding a customer's threads. The table has only `pk`/`sk` and no index: a thread lives
under `<store>#THREAD#<thread id>`, and its customer is an attribute. These admin commands
therefore Scan with a filter (`pk` begins with the store's thread prefix, `sk` is the
thread's, `store_id` is the store, `customer` is one of the address's forms), and a second
Scan finds the store's idempotency markers of those threads. The filter runs in DynamoDB,
so only the store's matching items come back, but a Scan reads (and bills) the whole
table: about $0.25 per million items read on demand (a GB of items costs ~$0.03 to read),
acceptable for a command that runs a few times a year. Should it ever need to be fast,
add a GSI on thread items, e.g. `customer_key = "<store>#<address>"` (projection: keys
only), written by `record_inbound`, and Query it; the markers can then be found from each
message's `provider_id`. Every key built and every filter applied here names the store.

An address has forms: a phone number is the same person on SMS (`+420...`) and WhatsApp
(`whatsapp:+420...`), so both are exported and erased together. E-mail addresses are
compared lower-cased, as inbound mail stores them.

Erasure keeps anonymous counts for reports (threads, message counts, directions,
timestamps, SLA fields, ratings) and removes the rest: message bodies (the customer's and
the agents'), subjects, media URLs, attachment metadata, the raw e-mail, profile names,
WhatsApp ids, and the customer's address wherever it is stored; the address is replaced
by a pseudonym, `erased:<16 hex>`, the same for every thread of that customer (so reports
can still count "customers"). The pseudonym is an HMAC keyed with a deployment secret:
a plain hash of a phone number can be reversed by hashing every number. The customer's
profile item (opt-out, language, pointer) is deleted, and so are the markers of the erased
threads, so that a later message cannot join an erased thread. An open thread is closed
(its timers then do nothing). Erasing twice is harmless: the second run finds nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import PynamoDBException
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from chalicelib.domain import thread as life
from chalicelib.domain.messages import WHATSAPP_PREFIX, contact_of
from chalicelib.logs import mask
from chalicelib.store import _dynamo
from chalicelib.store.errors import StorageError
from chalicelib.store.messages import all_messages
from chalicelib.store.models import (
    META,
    CustomerItem,
    MarkerItem,
    MessageItem,
    ThreadItem,
    customer_pk,
    marker_pk,
    thread_pk,
)
from chalicelib.store.threads import snapshot, transition_actions

PSEUDONYM_PREFIX = "erased:"
_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")
_SEPARATORS = re.compile(r"[\s().-]")
# A filter's IN takes at most 100 values.
_IN_CHUNK = 50


def address_forms(address: str) -> list[str]:
    """Every form the address is stored under; the first is the canonical one."""
    value = address.strip()
    if "@" in value:
        return [value.lower()]
    number = _SEPARATORS.sub("", contact_of(value))
    if _PHONE.match(number):
        return [number, WHATSAPP_PREFIX + number]
    return [value]


def pseudonym(key: bytes, store_id: str, address: str) -> str:
    """The stable stand-in for an erased address: the same for all its forms."""
    canonical = address_forms(address)[0]
    digest = hmac.new(key, f"erase\0{store_id}\0{canonical}".encode(), hashlib.sha256)
    return PSEUDONYM_PREFIX + digest.hexdigest()[:16]


# -- reading -------------------------------------------------------------------------------


def find_threads(store_id: str, address: str) -> list[ThreadItem]:
    """The store's threads with this customer, oldest first (a filtered Scan, see above)."""
    forms = address_forms(address)
    condition = (
        ThreadItem.pk.startswith(thread_pk(store_id, ""))
        & (ThreadItem.sk == META)
        & (ThreadItem.store_id == store_id)
        & ThreadItem.customer.is_in(*forms)
    )
    try:
        threads = list(ThreadItem.scan(condition, consistent_read=True))
    except PynamoDBException as exc:
        raise StorageError(f"finding the customer's threads failed: {exc}") from exc
    return sorted(threads, key=lambda t: (t.created_at, t.thread_id))


def _markers(store_id: str, thread_ids: Sequence[str]) -> list[MarkerItem]:
    """The store's idempotency markers that point into these threads (a filtered Scan)."""
    found: list[MarkerItem] = []
    for start in range(0, len(thread_ids), _IN_CHUNK):
        chunk = thread_ids[start : start + _IN_CHUNK]
        condition = MarkerItem.pk.startswith(marker_pk(store_id, "")) & MarkerItem.thread_id.is_in(
            *chunk
        )
        try:
            found += MarkerItem.scan(condition, consistent_read=True)
        except PynamoDBException as exc:
            raise StorageError(f"finding the threads' markers failed: {exc}") from exc
    return found


def _customers(store_id: str, forms: Iterable[str]) -> list[CustomerItem]:
    found = (_dynamo.get(CustomerItem, customer_pk(store_id, form), META) for form in forms)
    return [customer for customer in found if customer is not None]


def _plain(item: Model) -> dict[str, Any]:
    """Every stored attribute as JSON-ready values; the raw e-mail decompressed."""
    out: dict[str, Any] = {}
    for name in sorted(item.get_attributes()):
        value = getattr(item, name)
        if value is None:
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, set | frozenset):
            value = sorted(value)
        elif isinstance(value, bytes):
            try:
                value = zlib.decompress(value).decode("utf-8", errors="replace")
            except zlib.error:
                value = base64.b64encode(value).decode("ascii")
        out[name] = value
    return out


def export_customer(store_id: str, address: str, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything held about the customer at this store: their profile item(s), and every
    thread with them, each with all its messages (idempotency markers are left out:
    they hold only provider ids and pointers)."""
    forms = address_forms(address)
    threads = find_threads(store_id, address)
    return {
        "store_id": store_id,
        "address": forms[0],
        "addresses": forms,
        "exported_at": (now or datetime.now(UTC)).isoformat(),
        "customer": [_plain(c) for c in _customers(store_id, forms)],
        "threads": [
            {
                **_plain(thread),
                "messages": [_plain(m) for m in all_messages(store_id, thread.thread_id)],
            }
            for thread in threads
        ],
    }


# -- erasure -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Erasure:
    """What an erasure changed (counts only: this is printed and may be logged)."""

    store_id: str
    pseudonym: str
    threads: int
    messages: int
    markers: int
    customers: int
    files: int = 0
    """Attachments deleted from the mail bucket (mail that came through S3)."""


def _scrub(text: str, forms: Sequence[str], stand_in: str) -> str:
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, stand_in)
    return mask(text)


def _erase_message(
    message: MessageItem,
    key: bytes,
    store_id: str,
    forms: Sequence[str],
    stand_in: str,
    now: datetime,
) -> bool:
    actions: list[Action] = [
        MessageItem.body.set(""),
        MessageItem.media_urls.set([]),
        MessageItem.attachments.remove(),
        MessageItem.raw_email.remove(),
        MessageItem.call.remove(),  # a voicemail's recording link
        MessageItem.transcript.remove(),
        MessageItem.transcript_note.remove(),
        MessageItem.recording_key.remove(),  # its file deleted first (erase_customer)
        MessageItem.profile_name.remove(),
        MessageItem.wa_id.remove(),
        MessageItem.subject.remove(),
        MessageItem.dropped.set(f"erased on the customer's request on {now.date().isoformat()}"),
    ]
    if message.author in forms:
        actions.append(MessageItem.author.set(stand_in))
    if message.direction == "in":
        actions.append(MessageItem.author_name.remove())
        # A customer's Message-ID names their mail host, sometimes their address.
        for attribute in (MessageItem.provider_id, MessageItem.email_message_id):
            value = getattr(message, attribute.attr_name)
            if value and "@" in value:
                actions.append(attribute.set(pseudonym(key, store_id, value)))
    if message.delivery_error:
        actions.append(
            MessageItem.delivery_error.set(_scrub(message.delivery_error, forms, stand_in))
        )
    return _dynamo.update_existing(message, actions, "erasing a message")


def _erase_thread(thread: ThreadItem, stand_in: str, now: datetime) -> bool:
    actions: list[Action] = [
        ThreadItem.customer.set(stand_in),
        ThreadItem.profile_name.remove(),
        ThreadItem.subject.remove(),
        ThreadItem.attached_order.remove(),
        *transition_actions(life.erased(snapshot(thread), now)),
    ]
    return _dynamo.update_existing(thread, actions, "erasing a thread")


def _voicemail_files(store_id: str, message: MessageItem) -> list[str]:
    """A voicemail's copy and its transcript in the bucket (flows/voicemail.py)."""
    from chalicelib.domain.voice import transcript_key

    files = [message.recording_key] if message.recording_key else []
    if message.transcription_job and message.provider_id:
        files.append(transcript_key(store_id, message.provider_id))
    return files


def erase_customer(
    store_id: str,
    address: str,
    *,
    key: bytes,
    now: datetime | None = None,
    delete_file: Callable[[str], None] | None = None,
) -> Erasure:
    """Erase the customer from the store (see the module's docstring for what is kept).

    `key`: the deployment's reply-token secret (`REPLY_TOKEN_SECRET`), which keys the
    pseudonym. `delete_file`: deletes an attachment, a voicemail or its transcript kept in
    the bucket by its key
    (chalicelib/mail_files.py), called before its message forgets the key. The order makes
    a crash harmless: files and messages, then markers, then the threads (whose address is
    what finds them again), then the profile; run it again to finish."""
    now = now or datetime.now(UTC)
    forms = address_forms(address)
    stand_in = pseudonym(key, store_id, address)
    threads = find_threads(store_id, address)
    messages = files = 0
    for thread in threads:
        for message in all_messages(store_id, thread.thread_id):
            for attachment in message.attachments or []:
                if delete_file is not None and attachment.get("key"):
                    delete_file(str(attachment["key"]))
                    files += 1
            for kept in _voicemail_files(store_id, message):
                if delete_file is not None:
                    delete_file(kept)
                    files += 1
            messages += _erase_message(message, key, store_id, forms, stand_in, now)
    markers = _markers(store_id, [t.thread_id for t in threads])
    try:
        for marker in markers:
            marker.delete()
    except PynamoDBException as exc:
        raise StorageError(f"deleting the threads' markers failed: {exc}") from exc
    erased_threads = sum(_erase_thread(thread, stand_in, now) for thread in threads)
    customers = _customers(store_id, forms)
    try:
        for customer in customers:
            customer.delete(add_version_condition=False)
    except PynamoDBException as exc:
        raise StorageError(f"deleting the customer failed: {exc}") from exc
    return Erasure(
        store_id=store_id,
        pseudonym=stand_in,
        threads=erased_threads,
        messages=messages,
        markers=len(markers),
        customers=len(customers),
        files=files,
    )
