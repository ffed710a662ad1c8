"""Stored but not queued: a message whose follow-up jobs never ran is not lost.

The webhook stores a message, then queues its jobs (the agents' notification, which also
starts the SLA timers; the e-mail acknowledgement). If the SQS send fails after the
commit, or the function dies between the two, the webhook answers 5xx or nothing, and a
provider that redelivers finds the message stored and queues the jobs again
(receive_inbound `_finish_redelivery`). Twilio does not redeliver (only to a fallback URL,
if one is set), so the store keeps its own record: a pending-follow-up marker written in
the message's own transaction (no extra request on the webhook) and deleted by the
notification or answer job when it ran (flows/job_failures.py, store/follow_ups.py).

Every 5 minutes an EventBridge rule puts `{"sweep": "follow-ups"}` on the timers queue
(infra/template.yaml; locally relaydesk/workers.py plays the rule). Its handler reads each
store's markers older than `RECOVER_AFTER` (one Query per store, no scan) and queues their
jobs again, as a redelivery would: the jobs are idempotent, so a job that was only slow
is harmless. After `MAX_REQUEUES` a marker is dropped with an ERROR line: its jobs are
failing, and wait in the jobs dead-letter queue (whose alarm fires).
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from chalicelib.flows.receive_inbound import requeue_follow_ups

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)

SWEEP = {"sweep": "follow-ups"}
RECOVER_AFTER = timedelta(minutes=5)
"""Far longer than a webhook takes to queue its jobs (and a job to start), far shorter
than the first SLA reminder."""
MAX_REQUEUES = 3
PER_STORE = 100
"""Markers handled per store per sweep: a backlog drains over a few sweeps."""


def is_sweep(body: str) -> bool:
    try:
        return bool(json.loads(body) == SWEEP)
    except ValueError:
        return False


def sweep_follow_ups(c: Container) -> int:
    """Queue again the jobs of every message stored but never followed up; how many."""
    now = c.clock()
    requeued = 0
    for store in c.stores.all():
        pending = c.repository.follow_ups_pending(
            store.store_id, stored_before=now - RECOVER_AFTER, limit=PER_STORE
        )
        for marker in pending:
            if int(marker.requeued or 0) >= MAX_REQUEUES:
                log.error(
                    "follow-ups of a stored message never ran after %d re-queues: store=%s "
                    "thread=%s (see the jobs dead-letter queue)",
                    MAX_REQUEUES,
                    store.store_id,
                    marker.thread_id,
                )
                c.repository.follow_ups_done(store.store_id, marker.message_sk)
                continue
            requeue_follow_ups(c, store, marker.thread_id, marker.message_sk)
            c.repository.follow_ups_requeued(store.store_id, marker.message_sk)
            requeued += 1
        if pending:
            log.warning(
                "stored but not followed up: %d message(s) re-queued: store=%s",
                len(pending),
                store.store_id,
            )
    return requeued
