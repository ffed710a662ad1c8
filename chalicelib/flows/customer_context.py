"""Who the customer is, for the agents: the shop's record and orders, and what the store's
own table says of their other conversations. Jobs only: the shop is a network call (with
the adapters' timeouts and time budget), never made on a webhook's path.

What is read, all of it scoped by the store: one shop lookup of the customer's recent orders
(`Shop.recent_orders`, which only returns orders that belong to the thread's phone or e-mail
address), one more for an order an agent attached that is not among them, one BatchGetItem
of the customer items of every address linked to the customer (the same number on SMS and
WhatsApp; the phones and e-mail addresses of the shop's record), and one BatchGetItem of
their other open threads. No scan, no query across stores.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from chalicelib.commerce.port import (
    Contact,
    Order,
    Shop,
    ShopError,
    ShopRefused,
    ShopUnavailable,
)
from chalicelib.domain.customer_view import (
    CustomerView,
    History,
    OrderFacts,
    OtherThread,
    ShopAnswer,
    ShopRecord,
)
from chalicelib.domain.messages import (
    INSTAGRAM_PREFIX,
    MESSENGER_PREFIX,
    WHATSAPP_PREFIX,
    contact_of,
)
from chalicelib.domain.thread import ThreadStatus
from chalicelib.domain.webchat import is_visitor
from chalicelib.store.models import ThreadItem
from chalicelib.stores import StoreConfig

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)

RECENT_ORDERS = 3
MAX_ADDRESSES = 12
"""Addresses read for one customer: a shop record with many phones stays one small read."""
_CHANNEL_ORDER = ("sms", "whatsapp", "email", "messenger", "instagram", "web")


def order_facts(order: Order) -> OrderFacts:
    """The port's order in the wording's plain values; of several shipments, the latest."""
    shipment = order.shipments[-1] if order.shipments else None
    return OrderFacts(
        number=order.number,
        created_at=order.created_at,
        total=order.total,
        currency=order.currency,
        state=order.state.value,
        shop_status=order.shop_status,
        carrier=shipment.carrier if shipment else None,
        tracking_number=shipment.tracking_number if shipment else None,
        tracking_url=shipment.tracking_url if shipment else None,
        estimated_delivery=shipment.estimated_delivery if shipment else None,
        delivered_at=shipment.delivered_at if shipment else None,
        last_event=shipment.last_event.value if shipment and shipment.last_event else None,
    )


def channel_of(address: str) -> str:
    if address.startswith(WHATSAPP_PREFIX):
        return "whatsapp"
    if address.startswith((MESSENGER_PREFIX, INSTAGRAM_PREFIX)):
        return address.partition(":")[0]  # a Meta id: no phone, no e-mail
    if is_visitor(address):
        return "web"
    return "email" if "@" in address else "sms"


def customer_view(c: Container, store: StoreConfig, thread: ThreadItem) -> CustomerView:
    """Never raises for the shop: a shop that is down or refuses is said so in the view.
    (A DynamoDB failure raises StorageError, and the job is retried, as before.)"""
    contact = _contact(_shop_address(thread))
    answer, shop, orders = _recent_orders(c, store, contact)
    record = _record(orders)
    attached, theirs = None, True
    number = thread.attached_order
    if number is not None:
        attached, theirs = _attached(store, shop, contact, orders, number, answer)
    history, other_open = _history(c, store, thread, record, answer)
    return CustomerView(
        shop=answer,
        record=record,
        orders=tuple(order_facts(o) for o in orders),
        attached=attached,
        attached_number=number,
        attached_theirs=theirs,
        history=history,
        other_open=other_open,
    )


def _shop_address(thread: ThreadItem) -> str:
    """The address the shop knows the customer by. A web chat visitor's is the e-mail their
    shop signed for them (kept as the thread's profile name, flows/webchat.py), else none."""
    if is_visitor(thread.customer):
        return thread.profile_name or thread.customer
    return thread.customer


def _contact(address: str) -> Contact | None:
    try:
        return Contact.of(address)
    except ValueError:
        return None


def _recent_orders(
    c: Container, store: StoreConfig, contact: Contact | None
) -> tuple[ShopAnswer | None, Shop | None, list[Order]]:
    try:
        shop = c.shop_for(store)
    except ShopRefused:
        log.warning("shop credentials missing for the notification: store=%s", store.store_id)
        return ShopAnswer.REFUSED, None, []
    if shop is None:
        return None, None, []
    if contact is None:
        return ShopAnswer.NO_CONTACT, shop, []
    try:
        orders = shop.recent_orders(contact, limit=RECENT_ORDERS)
    except ShopUnavailable as exc:
        log.warning("shop unavailable, notifying without orders: store=%s %s", store.store_id, exc)
        return ShopAnswer.UNAVAILABLE, None, []
    except ShopRefused as exc:
        log.warning("shop refused, notifying without orders: store=%s %s", store.store_id, exc)
        return ShopAnswer.REFUSED, None, []
    # The port promises only the contact's own orders; the check costs nothing to repeat.
    orders = [o for o in orders if o.belongs_to(contact)][:RECENT_ORDERS]
    return (ShopAnswer.FOUND if orders else ShopAnswer.NO_ORDERS), shop, orders


def _record(orders: Sequence[Order]) -> ShopRecord | None:
    """The customer as their own orders name them: the newest name, every contact."""
    if not orders:
        return None
    name = next((o.customer.name for o in orders if o.customer.name), None)
    phones = sorted({p for o in orders for p in o.customer.phones})
    emails = sorted({e for o in orders for e in o.customer.emails})
    return ShopRecord(name=name, phones=tuple(phones), emails=tuple(emails))


def _attached(
    store: StoreConfig,
    shop: Shop | None,
    contact: Contact | None,
    orders: Sequence[Order],
    number: str,
    answer: ShopAnswer | None,
) -> tuple[OrderFacts | None, bool]:
    """The attached order, fresh from the shop (its tracking may have moved on)."""
    found = next((o for o in orders if o.number == number), None)
    asked = (ShopAnswer.FOUND, ShopAnswer.NO_ORDERS, ShopAnswer.NO_CONTACT)
    if found is None and shop is not None and answer in asked:
        try:
            found = shop.order(number)
        except ShopError as exc:
            log.warning("attached order not read: store=%s %s", store.store_id, exc)
    if found is None:
        return None, True
    return order_facts(found), contact is not None and found.belongs_to(contact)


def _linked_addresses(
    thread: ThreadItem, record: ShopRecord | None
) -> tuple[list[str], set[str], set[str]]:
    """Every address of the customer we can name, this thread's first; and which of them
    the same number gave, and which the shop's record."""
    addresses = [thread.customer]
    same_number: set[str] = set()
    if is_visitor(thread.customer):
        if (signed := _shop_address(thread)) != thread.customer:
            addresses.append(signed)  # the signed-in customer's e-mail conversations
    elif channel_of(thread.customer) in ("sms", "whatsapp"):
        phone = contact_of(thread.customer)
        same_number = {phone, f"{WHATSAPP_PREFIX}{phone}"} - {thread.customer}
        addresses += sorted(same_number)
    from_record: set[str] = set()
    if record is not None:
        for phone in record.phones:
            from_record |= {phone, f"{WHATSAPP_PREFIX}{phone}"}
        from_record |= set(record.emails)
        from_record -= {*addresses}
        addresses += sorted(from_record)
    return addresses[:MAX_ADDRESSES], same_number, from_record


def _history(
    c: Container,
    store: StoreConfig,
    thread: ThreadItem,
    record: ShopRecord | None,
    answer: ShopAnswer | None,
) -> tuple[History, tuple[OtherThread, ...]]:
    addresses, same_number, from_record = _linked_addresses(thread, record)
    items = c.repository.customers(store.store_id, addresses)
    found = [a for a in addresses if a in items]
    conversations, at_least = 0, False
    for address in found:
        item = items[address]
        known = int(item.threads) if item.threads is not None else int(bool(item.open_thread_id))
        conversations += known
        at_least |= bool(item.threads_before_count) or item.threads is None
    if thread.customer not in items:  # written just now, so this is only a stale read
        conversations, at_least = conversations + 1, True
    channels = {channel_of(a) for a in found} | {thread.channel}
    others = {
        a: items[a].open_thread_id
        for a in found
        if a != thread.customer
        and items[a].open_thread_id
        and items[a].open_thread_id != thread.thread_id
    }
    wanted = [t for t in others.values() if t] + (
        [thread.previous_thread_id] if thread.previous_thread_id else []
    )
    threads = c.repository.threads(store.store_id, wanted) if wanted else {}
    previous_at, previous_channel = None, None
    candidates = [(items[a].last_message_at, channel_of(a)) for a in found if a in others]
    if (before := threads.get(thread.previous_thread_id or "")) is not None:
        candidates.append((before.last_inbound_at or before.updated_at, before.channel))
    dated = [(at, channel) for at, channel in candidates if at is not None]
    if dated:
        previous_at, previous_channel = max(dated, key=lambda pair: pair[0])
    other_open = []
    for address, thread_id in others.items():
        other = threads.get(thread_id or "")
        if other is None or other.status == ThreadStatus.CLOSED.value:
            continue
        assignee = store.agent(other.assignee) if other.assignee else None
        other_open.append(
            OtherThread(
                channel=other.channel,
                thread_id=other.thread_id,
                status=other.status,
                last_at=other.last_inbound_at or items[address].last_message_at,
                assignee=assignee.name if assignee else other.assignee,
            )
        )
    linked_by = []
    if any(a in items for a in same_number):
        linked_by.append("the same number")
    if any(a in items for a in from_record):
        linked_by.append("the shop's record")
    unlinked = None
    if answer in (ShopAnswer.UNAVAILABLE, ShopAnswer.REFUSED):
        unlinked = "Other contacts from the shop's record are not linked: the shop did not answer."
    elif answer is ShopAnswer.NO_ORDERS:
        unlinked = "Other contacts are not linked: the shop has no record of this customer."
    history = History(
        conversations=conversations,
        at_least=at_least,
        channels=tuple(ch for ch in _CHANNEL_ORDER if ch in channels),
        previous_at=previous_at,
        previous_channel=previous_channel,
        linked_by=tuple(linked_by),
        unlinked=unlinked,
    )
    return history, tuple(other_open)
