"""Flow 1 for Messenger and Instagram: a verified batch of customer messages is stored.

Each message is stored as an SMS is (the customer's open thread, once per Meta `mid`: a
retried post stores nothing twice), within the same budget: 2 DynamoDB requests and 1 SQS
request per message. Meta reads nothing from our answer, so the acknowledgement, when one
is due, is sent by a job through the Send API, as an e-mail's is.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING

from chalicelib import logs
from chalicelib.flows.receive_inbound import store_inbound

if TYPE_CHECKING:
    from chalicelib.channels.meta_webhook import MetaBatch
    from chalicelib.composition import Container

log = logging.getLogger(__name__)


def receive_batch(c: Container, batch: MetaBatch) -> dict[str, int]:
    """Store each message for the store that owns its page or account: how many were
    stored, redelivered, for no store of ours, and ignored (echoes, reads, ...).

    A message for a page no store is configured with is skipped, not refused: the post is
    signed by Meta for our app (a page subscribed but not yet in stores.json), and a refused
    post is retried by Meta and, failing long enough, gets the app's webhook switched off
    for every store (developers.facebook.com/docs/messenger-platform/faq)."""
    outcome: Counter[str] = Counter()
    for message in batch.messages:
        store = c.stores.by_meta_account(message.recipient)
        if store is None:
            log.warning("meta message for an account no store has: account=%s", message.recipient)
            outcome["unknown_account"] += 1
            continue
        logs.bind_message(store.store_id, message.provider_id)
        stored = store_inbound(
            c, store, message, follow_pointer=True, acknowledge_in_response=False
        )
        outcome["stored" if stored.plan is not None or stored.rating else "redelivered"] += 1
    outcome["ignored"] = sum(batch.ignored.values())
    return dict(outcome)
