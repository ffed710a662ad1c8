"""Retention: DynamoDB's TTL deletes a closed thread and its messages the store's
`retention_days` after it closed (domain.thread.expires_at); a reopen takes it off again.
The one home of the TTL: the flows that close, reopen, rate or redeliver call it here."""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.thread import ThreadStatus, expires_at
from chalicelib.store import _dynamo
from chalicelib.store.messages import all_messages
from chalicelib.store.models import META, MessageItem, ThreadItem, thread_pk


def _set_messages_ttl(store_id: str, thread_id: str, value: int | None) -> int:
    attribute = MessageItem.expires_at
    action = attribute.remove() if value is None else attribute.set(value)
    return sum(
        _dynamo.update_existing(m, [action], "setting the expiry")
        for m in all_messages(store_id, thread_id)
    )


class RetentionStore(_dynamo.Table):
    def expire_closed_thread(
        self, store_id: str, thread_id: str, closed_at: datetime, retention_days: int
    ) -> bool:
        """Let DynamoDB's TTL delete the thread and all its messages `retention_days` after
        `closed_at` (the `closed_at` the close recorded). Idempotent. False, and nothing
        set, when the thread is gone or no longer closed (it was reopened meanwhile).

        Costs one write per item: DynamoDB's TTL works item by item. The messages go first
        and the thread last, on the condition that it is still closed; if a reopen got in
        between, the messages' TTL is taken back. Call it again after adding an item to a
        closed thread (a rating, a note): new items do not inherit the TTL."""
        value = expires_at(closed_at, retention_days)
        _set_messages_ttl(store_id, thread_id, value)
        if _dynamo.update_if(
            ThreadItem(thread_pk(store_id, thread_id), META),
            [ThreadItem.expires_at.set(value)],
            ThreadItem.pk.exists() & (ThreadItem.status == ThreadStatus.CLOSED.value),
            "setting the thread's expiry",
        ):
            return True
        _set_messages_ttl(store_id, thread_id, None)
        return False

    def keep_thread(self, store_id: str, thread_id: str) -> None:
        """The thread was reopened: take the TTL off it and all its messages. Idempotent.

        A keep cut short leaves TTLs a whole retention period away: calling it again (the
        reopen's retry) finishes it long before any of them comes due."""
        _set_messages_ttl(store_id, thread_id, None)
        _dynamo.update_existing(
            ThreadItem(thread_pk(store_id, thread_id), META),
            [ThreadItem.expires_at.remove()],
            "keeping the thread",
        )
