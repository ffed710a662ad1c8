"""What the repository raises: our own failures, and the outcomes a flow acts on."""

from __future__ import annotations


class StorageError(Exception):
    """Our own infrastructure failed: the caller answers 5xx so that the provider retries."""


class TransactionConflict(StorageError):
    """DynamoDB cancelled the transaction because another one was writing one of its items
    at that instant (reason `TransactionConflict`): nothing was written. Retried at once,
    with jitter, inside a bounded time (store/inbound.py); a StorageError when that is spent."""


class AlreadyRecorded(Exception):
    """This provider message id was stored before: a redelivery."""

    def __init__(self, thread_id: str, message_sk: str) -> None:
        super().__init__(thread_id)
        self.thread_id = thread_id
        self.message_sk = message_sk


class ThreadGone(Exception):
    """The thread a follow-up joins no longer exists (the store's retention expired it)."""


class StoreCapReached(Exception):
    """The store sent as many automatic messages this hour as it allows."""


class RateCapReached(Exception):
    """A caller's own rate cap (web chat: per visitor IP, per store) was full: nothing was
    stored."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class ConcurrentChange(Exception):
    """Another request changed the customer's pointer between our read and our write."""
