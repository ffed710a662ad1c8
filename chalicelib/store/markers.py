"""Markers: a provider's message id (or any once-only key) seen once in a store. They make
redelivery harmless, thread e-mail replies (In-Reply-To names a stored Message-ID), let
Twilio's status callbacks find their message, and claim once-only side effects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from pynamodb.exceptions import DoesNotExist, PutError, PynamoDBException, UpdateError

from chalicelib.store import _dynamo
from chalicelib.store.errors import AlreadyRecorded, StorageError
from chalicelib.store.models import META, MarkerItem, MessageItem, marker_pk, thread_pk

# Markers also thread e-mail replies, so they live far longer than any provider's retry
# window.
MARKER_LIFETIME = timedelta(days=400)
MAX_REFERENCES = 20


def marker(store_id: str, key: str, thread_id: str, message_sk: str, at: datetime) -> MarkerItem:
    """The marker of `key`, pointing at a message (or at none: `message_sk` empty)."""
    return MarkerItem(
        marker_pk(store_id, key),
        META,
        thread_id=thread_id,
        message_sk=message_sk,
        expires_at=int((at + MARKER_LIFETIME).timestamp()),
    )


def already_recorded(marker_key: str) -> AlreadyRecorded:
    """The marker that refused our write, read consistently: it was just written."""
    try:
        existing = MarkerItem.get(marker_key, META, consistent_read=True)
    except PynamoDBException as exc:  # DoesNotExist included: it expired in between
        raise StorageError(f"reading the marker of a redelivery failed: {exc}") from exc
    return AlreadyRecorded(existing.thread_id, existing.message_sk)


class Transcribed(NamedTuple):
    thread_id: str
    message_sk: str
    added: bool
    """False: it had a transcript already (a redelivery), or is no voicemail."""


class MarkerStore(_dynamo.Table):
    def claim(self, store_id: str, key: str, thread_id: str, at: datetime) -> bool:
        """True the first time `key` is claimed in this store: once-only side effects."""
        claimed = marker(store_id, key, thread_id, "", at)
        try:
            claimed.save(condition=MarkerItem.pk.does_not_exist())
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise StorageError(f"recording {key} failed: {exc}") from exc
        return True

    def marked(self, store_id: str, key: str) -> bool:
        """Whether `key` is marked (a message's provider id, or claimed) in this store."""
        try:
            MarkerItem.get(marker_pk(store_id, key), META, consistent_read=True)
        except DoesNotExist:
            return False
        except PynamoDBException as exc:
            raise StorageError(f"reading a marker failed: {exc}") from exc
        return True

    def thread_for_message_ids(self, store_id: str, ids: Sequence[str]) -> str | None:
        """The thread of the first id (in the given order) that names a stored message."""
        wanted = list(dict.fromkeys(ids))[:MAX_REFERENCES]
        if not wanted:
            return None
        try:
            found = {
                m.pk: m.thread_id
                # Consistent: a quick follow-up whose original was stored a moment ago must
                # find it, or it starts a second thread.
                for m in MarkerItem.batch_get(
                    [(marker_pk(store_id, i), META) for i in wanted], consistent_read=True
                )
            }
        except PynamoDBException as exc:
            raise StorageError(f"looking up referenced messages failed: {exc}") from exc
        return next((found[k] for i in wanted if (k := marker_pk(store_id, i)) in found), None)

    def add_transcript(
        self, store_id: str, provider_id: str, text: str | None, note: str | None = None
    ) -> Transcribed | None:
        """A voicemail's transcript ("" when none could be made, `note` saying why) on the
        message the provider knows by `provider_id`, once; its agents are to be told again
        (its notification is cleared). Two requests: the marker, one conditional update.
        None when no message is stored under `provider_id`."""
        try:
            found = MarkerItem.get(marker_pk(store_id, provider_id), META, consistent_read=True)
        except DoesNotExist:
            return None
        except PynamoDBException as exc:
            raise StorageError(f"reading a marker failed: {exc}") from exc
        item = MessageItem(thread_pk(store_id, found.thread_id), found.message_sk)
        try:
            item.update(
                actions=[
                    MessageItem.transcript.set(text or ""),
                    MessageItem.notified_at.remove(),
                    *([MessageItem.transcript_note.set(note)] if note and not text else []),
                ],
                condition=MessageItem.call.exists() & MessageItem.transcript.does_not_exist(),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                # It has one already, or is no voicemail.
                return Transcribed(found.thread_id, found.message_sk, False)
            raise StorageError(f"adding a transcript failed: {exc}") from exc
        return Transcribed(found.thread_id, found.message_sk, True)

    def message_for_provider_id(
        self, store_id: str, provider_id: str
    ) -> tuple[str, MessageItem] | None:
        """(thread id, message) of the message a provider knows by `provider_id`."""
        try:
            found = MarkerItem.get(marker_pk(store_id, provider_id), META, consistent_read=True)
        except DoesNotExist:
            return None
        except PynamoDBException as exc:
            raise StorageError(f"reading a marker failed: {exc}") from exc
        message = _dynamo.get(MessageItem, thread_pk(store_id, found.thread_id), found.message_sk)
        return (found.thread_id, message) if message else None
