"""The name of a Messenger or Instagram customer, for the agents' notification.

Meta's webhook carries only the customer's scoped id. Their name comes from Meta's profile
API, asked in the notification job (never on the webhook's path: it is another service),
once per thread: kept on the thread, where the notification and the answers read it. Not
kept on the customer's own item, so that a name Meta changes is read again on the next
conversation, and erasure (store/privacy.py) already covers where it lives.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from chalicelib.domain.messages import Channel

if TYPE_CHECKING:
    from chalicelib.composition import Container
    from chalicelib.store.models import ThreadItem
    from chalicelib.stores import StoreConfig

log = logging.getLogger(__name__)
META_CHANNELS = (Channel.MESSENGER.value, Channel.INSTAGRAM.value)


def with_name(c: Container, store: StoreConfig, thread: ThreadItem) -> ThreadItem:
    """`thread`, with the customer's name if it was missing and Meta gives it."""
    if thread.channel not in META_CHANNELS or thread.profile_name or store.meta is None:
        return thread
    from chalicelib.settings import ConfigError

    try:
        graph = c.graph_sender(store)
    except ConfigError:
        log.warning("store %s: its page token is not set", store.store_id)
        return thread
    user_id = thread.customer.partition(":")[2]
    name = graph.profile_name(user_id, instagram=thread.channel == Channel.INSTAGRAM.value)
    if name:
        c.repository.set_profile_name(thread, name)
        thread.profile_name = name
    return thread
