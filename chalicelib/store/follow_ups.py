"""Follow-ups pending: a marker written with each inbound message, in its transaction,
and deleted by the message's notification job once it ran. A marker older than a few
minutes is a message stored whose jobs never ran (the SQS send failed after the commit,
or the function died between the two) and that no provider redelivered: the recovery
sweep (flows/recovery.py) queues its jobs again.

The markers live under the store's own partition, sorted by the message's time, so that
the sweep reads the old ones with one Query per store and never scans the table."""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import PynamoDBException

from chalicelib.store import _dynamo
from chalicelib.store.errors import StorageError
from chalicelib.store.models import MESSAGE_PREFIX, MarkerItem, store_pk

PENDING_PREFIX = "PENDING#"
PENDING_LIFETIME = timedelta(days=3)
"""A marker nobody deleted expires on its own (DynamoDB TTL)."""


def _sk(message_sk: str) -> str:
    """`PENDING#<time>#<message id>`: the message's own sort key, re-prefixed."""
    return PENDING_PREFIX + message_sk.removeprefix(MESSAGE_PREFIX)


def pending_marker(store_id: str, thread_id: str, message_sk: str, at: datetime) -> MarkerItem:
    return MarkerItem(
        store_pk(store_id),
        _sk(message_sk),
        thread_id=thread_id,
        message_sk=message_sk,
        expires_at=int((at + PENDING_LIFETIME).timestamp()),
    )


class FollowUpStore(_dynamo.Table):
    def follow_ups_pending(
        self, store_id: str, *, stored_before: datetime, limit: int
    ) -> list[MarkerItem]:
        """The oldest markers of messages stored before `stored_before`, at most `limit`."""
        upper = _sk(f"{MESSAGE_PREFIX}{stored_before.strftime('%Y%m%dT%H%M%S.%fZ')}")
        try:
            return list(
                MarkerItem.query(
                    store_pk(store_id),
                    MarkerItem.sk.between(PENDING_PREFIX, upper),
                    limit=limit,
                    consistent_read=True,
                )
            )
        except PynamoDBException as exc:
            raise StorageError(f"reading the pending follow-ups failed: {exc}") from exc

    def follow_ups_done(self, store_id: str, message_sk: str) -> None:
        """The message's notification job ran: nothing left to recover."""
        try:
            MarkerItem(store_pk(store_id), _sk(message_sk)).delete()
        except PynamoDBException as exc:
            raise StorageError(f"clearing a pending follow-up failed: {exc}") from exc

    def follow_ups_requeued(self, store_id: str, message_sk: str) -> None:
        """Count a re-queue on the message's marker (if its job has not cleared it since)."""
        _dynamo.update_if(
            MarkerItem(store_pk(store_id), _sk(message_sk)),
            [MarkerItem.requeued.add(1)],
            MarkerItem.pk.exists(),
            "counting a re-queued follow-up",
        )
