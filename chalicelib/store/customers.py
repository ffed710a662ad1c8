"""Customers: one item per address holds the profile and the pointer to the open thread,
so that an inbound message costs one read before its write."""

from __future__ import annotations

from collections.abc import Sequence

from pynamodb.expressions.update import Action

from chalicelib.domain.inbound import CustomerSnapshot
from chalicelib.store import _dynamo
from chalicelib.store.models import META, CustomerItem, ThreadItem, customer_pk


def snapshot(item: CustomerItem | None) -> CustomerSnapshot | None:
    """The item's values that the inbound decision reads, as plain data."""
    if item is None:
        return None
    return CustomerSnapshot(
        open_thread_id=item.open_thread_id,
        closed_at=item.closed_at,
        due_at=item.due_at,
        responded=bool(item.responded),
        priority=item.priority,
        opted_out=bool(item.opted_out),
        last_ack_at=item.last_ack_at,
        ack_day=item.ack_day,
        ack_count=int(item.ack_count),
        language=item.language,
        survey_thread_id=item.survey_thread_id,
        answered_automatically=bool(item.answered_automatically),
    )


def update_pointer_of(thread: ThreadItem, actions: list[Action]) -> None:
    """Change the customer's pointer only while it still points at this thread."""
    if not actions:
        return
    _dynamo.update_if(
        CustomerItem(customer_pk(thread.store_id, thread.customer), META),
        actions,
        CustomerItem.open_thread_id == thread.thread_id,
        "updating the customer",
        add_version_condition=False,
    )


class CustomerStore(_dynamo.Table):
    def customer(self, store_id: str, address: str) -> CustomerItem | None:
        return _dynamo.get(CustomerItem, customer_pk(store_id, address), META)

    def customers(self, store_id: str, addresses: Sequence[str]) -> dict[str, CustomerItem]:
        """The items of several addresses of one store (one BatchGetItem), by address;
        addresses nobody wrote from are absent."""
        prefix = customer_pk(store_id, "")
        found = _dynamo.get_many(
            CustomerItem, [(customer_pk(store_id, address), META) for address in addresses]
        )
        return {item.pk.removeprefix(prefix): item for item in found}
