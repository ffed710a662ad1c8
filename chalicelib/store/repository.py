"""The repository: every DynamoDB read and write of the flows, scoped by store, on one
object (the container's `repository`). Its methods live with what they store:

- customers.py: the customer's item (profile, pointer to the open thread);
- inbound.py: the inbound transaction (marker, message, thread, pointer, counter);
- threads.py: a thread and its life (decided in domain/thread.py), assignment, timers;
- messages.py: messages, and an outbound message's delivery;
- markers.py: idempotency markers and once-only claims;
- follow_ups.py: messages whose follow-up jobs have not run yet (flows/recovery.py);
- retention.py: the TTL of closed threads;
- proactive.py: what each order's customer was told, and proactive threads;
- counters.py: the weekly report's counters (added inside the writes above).

(privacy.py, the GDPR export and erasure, is an admin command beside it.)
"""

from __future__ import annotations

from chalicelib.store.counters import CounterStore
from chalicelib.store.customers import CustomerStore
from chalicelib.store.errors import (
    AlreadyRecorded,
    ConcurrentChange,
    RateCapReached,
    StorageError,
    StoreCapReached,
    ThreadGone,
)
from chalicelib.store.follow_ups import FollowUpStore
from chalicelib.store.inbound import InboundStore
from chalicelib.store.markers import MarkerStore
from chalicelib.store.messages import MessageStore
from chalicelib.store.proactive import ProactiveStore
from chalicelib.store.retention import RetentionStore
from chalicelib.store.threads import ThreadStore

__all__ = [
    "AlreadyRecorded",
    "ConcurrentChange",
    "RateCapReached",
    "Repository",
    "StorageError",
    "StoreCapReached",
    "ThreadGone",
]


class Repository(
    CustomerStore,
    InboundStore,
    ThreadStore,
    MessageStore,
    MarkerStore,
    RetentionStore,
    FollowUpStore,
    ProactiveStore,
    CounterStore,
):
    """One door to the table. Built with the container's clock, the one time source of
    whatever it records."""
