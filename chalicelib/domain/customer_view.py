"""What agents see of a customer above the conversation, and the order an agent attached.

Pure wording over plain facts: the flow (flows/customer_context.py) asks the shop and the
repository and hands the answers over in these shapes; nothing here knows a platform or a
table. Everything is said for what it is: what the shop could not tell is said so, a count
that began after the customer's first conversation is "at least", and a link between two
addresses names what made it (the same number, or the shop's record).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from chalicelib.domain.headers import header_text
from chalicelib.domain.notification import CHANNEL_NAMES

STATE_WORDS = {
    "unfulfilled": "not yet shipped",
    "shipped": "on its way",
    "delivered": "delivered",
    "cancelled": "cancelled",
    "refunded": "refunded",
    "unknown": "state unknown",
}
"""`OrderState` values (chalicelib/commerce/port.py) as a person says them."""

EVENT_WORDS = {
    "out_for_delivery": "out for delivery",
    "ready_for_pickup": "ready for pickup",
    "attempted_delivery": "delivery attempted",
    "delayed": "delayed",
    "failure": "delivery failed",
}
"""A shipped order's latest carrier news (`ShipmentEvent` values) worth saying; 'confirmed'
and 'in_transit' add nothing to 'on its way', and 'delivered' is the order's own state."""


@dataclass(frozen=True)
class OrderFacts:
    """One order as the shop reported it, in plain values."""

    number: str
    created_at: datetime
    total: Decimal
    currency: str
    state: str
    """An `OrderState` value: 'unfulfilled', 'shipped', ..."""
    shop_status: str = ""
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    estimated_delivery: datetime | None = None
    delivered_at: datetime | None = None
    last_event: str | None = None
    """The carrier's latest news ('delayed', 'in_transit', ...), when the shop has it."""

    @property
    def status(self) -> str:
        """'on its way', 'on its way, delayed', 'delivered': what a customer may read too."""
        words = STATE_WORDS.get(self.state, self.state)
        if self.state == "shipped" and (news := EVENT_WORDS.get(self.last_event or "")):
            words += f", {news}"
        return words


class ShopAnswer(StrEnum):
    FOUND = "found"
    NO_ORDERS = "no_orders"
    UNAVAILABLE = "unavailable"
    REFUSED = "refused"
    NO_CONTACT = "no_contact"
    """The thread's address is neither a phone number nor an e-mail address we can read."""


@dataclass(frozen=True)
class ShopRecord:
    """The customer as the shop knows them (from their own orders)."""

    name: str | None
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()


@dataclass(frozen=True)
class OtherThread:
    """An open conversation of the same customer at another address (another channel)."""

    channel: str
    thread_id: str
    status: str
    last_at: datetime | None
    assignee: str | None = None


@dataclass(frozen=True)
class History:
    conversations: int
    """Conversations with the store on every address linked to the customer, this one too."""
    at_least: bool = False
    """Some address was in use before conversations were counted: the number is a floor."""
    channels: tuple[str, ...] = ()
    previous_at: datetime | None = None
    """The latest message of the customer's latest other conversation, if we know one."""
    previous_channel: str | None = None
    linked_by: tuple[str, ...] = ()
    """What linked the addresses: 'the same number', 'the shop's record'."""
    unlinked: str | None = None
    """Why addresses may be missing (the shop could not be asked), said to the agents."""


@dataclass(frozen=True)
class CustomerView:
    """Everything above the conversation; empty parts are left out."""

    shop: ShopAnswer | None = None
    """None: the store has no shop connected."""
    record: ShopRecord | None = None
    orders: tuple[OrderFacts, ...] = ()
    attached: OrderFacts | None = None
    """The order an agent attached with `#order`, re-read from the shop."""
    attached_number: str | None = None
    attached_theirs: bool = True
    """Whether the attached order is this customer's (agents may attach any order)."""
    history: History | None = None
    other_open: tuple[OtherThread, ...] = ()

    @property
    def name(self) -> str | None:
        return self.record.name if self.record else None


def _day(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%d %b %Y")


def _stamp(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%a %d %b %H:%M")


def order_line(order: OrderFacts, timezone: str) -> str:
    """'#1042, 29 Nov 2026, 1,290.00 CZK, on its way (PAID/FULFILLED); PPL PPL1…: <url>'"""
    tz = ZoneInfo(timezone)
    status = order.status + (f" ({order.shop_status})" if order.shop_status else "")
    line = f"#{order.number}, {_day(order.created_at, tz)}, {order.total:,} {order.currency}, "
    line += status
    tracking = " ".join(p for p in (order.carrier, order.tracking_number) if p)
    if order.tracking_url:
        tracking = f"{tracking}: {order.tracking_url}" if tracking else order.tracking_url
    if tracking:
        line += f"; {tracking}"
    if order.delivered_at:
        line += f"; delivered {_day(order.delivered_at, tz)}"
    elif order.estimated_delivery and order.state == "shipped":
        line += f"; expected {_day(order.estimated_delivery, tz)}"
    return header_text(line, 500)  # shop data on one line, whatever the shop holds


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def context_lines(view: CustomerView, *, store_name: str, timezone: str) -> list[str]:
    """The block above the conversation, one fact per line; [] when there is nothing."""
    tz = ZoneInfo(timezone)
    lines: list[str] = []
    if view.record is not None:
        contacts = [*view.record.phones, *view.record.emails]
        who = [view.record.name or "(no name)", *contacts]
        lines.append("Customer (the shop's record): " + header_text(", ".join(who), 300))
    if view.shop is ShopAnswer.FOUND and view.orders:
        shown = len(view.orders)
        lines.append(f"Last {shown} order{'s' if shown > 1 else ''}, newest first:")
        lines.extend(f"  {order_line(order, timezone)}" for order in view.orders)
    elif view.shop is ShopAnswer.NO_ORDERS:
        lines.append("Orders: the shop has none for this customer's address.")
    elif view.shop is ShopAnswer.UNAVAILABLE:
        lines.append("Orders: not shown, the shop could not be reached just now.")
    elif view.shop is ShopAnswer.REFUSED:
        lines.append(
            "Orders: not shown, the shop refused relaydesk's request "
            "(the store's shop credentials may need attention)."
        )
    elif view.shop is ShopAnswer.NO_CONTACT:
        lines.append("Orders: not looked up, the customer's address is not one the shop can find.")
    if view.attached_number is not None:
        if view.attached is None:
            lines.append(
                f"Attached order: #{view.attached_number} (not shown, the shop did not answer)."
            )
        else:
            whose = "" if view.attached_theirs else " (not this customer's order, per the shop)"
            lines.append(f"Attached order{whose}: {order_line(view.attached, timezone)}")
    if view.history is not None:
        lines.append(_history_line(view.history, store_name, tz))
    for other in view.other_open:
        channel = CHANNEL_NAMES.get(other.channel, other.channel)
        facts = [other.status]
        if other.assignee:
            facts.append(f"assigned to {other.assignee}")
        if other.last_at:
            facts.append(f"last message {_stamp(other.last_at, tz)}")
        ref = f"#{other.thread_id[:6]}"
        lines.append(f"Also open: {channel} conversation {ref} ({', '.join(facts)}).")
    return lines


def _history_line(history: History, store_name: str, tz: ZoneInfo) -> str:
    count = history.conversations
    number = f"at least {count}" if history.at_least else str(count)
    noun = "conversation" if count == 1 and not history.at_least else "conversations"
    line = f"History with {store_name}: {number} {noun}"
    if history.channels:
        line += " (" + ", ".join(CHANNEL_NAMES.get(c, c) for c in history.channels) + ")"
    if history.previous_at is not None:
        channel = CHANNEL_NAMES.get(history.previous_channel or "", history.previous_channel)
        line += f"; before this one, the last was {_stamp(history.previous_at, tz)}"
        line += f" ({channel})" if channel else ""
    elif count <= 1 and not history.at_least:
        line += "; this is the first"
    line += "."
    if history.linked_by:
        line += f" Addresses linked by {_join(list(history.linked_by))}."
    if history.unlinked:
        line += f" {history.unlinked}"
    return line


# -- placeholders in saved replies ---------------------------------------------------------

ORDER_FIELDS = (
    "number",
    "date",
    "total",
    "status",
    "carrier",
    "tracking_number",
    "tracking_url",
    "estimated_delivery",
    "delivered_on",
)
_PLACEHOLDER = re.compile(r"\{order\.([A-Za-z_]+)\}")


def order_placeholders(template: str) -> tuple[str, ...]:
    """The `{order.<field>}` names a saved reply uses, in order, each once."""
    return tuple(dict.fromkeys(m.group(1) for m in _PLACEHOLDER.finditer(template)))


def unknown_placeholders(template: str) -> tuple[str, ...]:
    return tuple(f for f in order_placeholders(template) if f not in ORDER_FIELDS)


class TemplateError(ValueError):
    """The saved reply cannot be filled from this order; the message says which field."""


def fill_order(template: str, order: OrderFacts | None, *, timezone: str) -> str:
    """The saved reply with `{order.<field>}` replaced; any other text, braces included,
    is left as written. Raises TemplateError naming what the order lacks: nothing half
    filled reaches a customer."""
    wanted = order_placeholders(template)
    if not wanted:
        return template
    if order is None:
        raise TemplateError(
            f"it uses {', '.join('{order.' + f + '}' for f in wanted)}, and no order is "
            "attached to this conversation: add #order <number> to your reply"
        )
    tz = ZoneInfo(timezone)
    values: dict[str, str | None] = {
        "number": order.number,
        "date": _day(order.created_at, tz),
        "total": f"{order.total:,} {order.currency}",
        "status": order.status,
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "tracking_url": order.tracking_url,
        "estimated_delivery": _day(order.estimated_delivery, tz)
        if order.estimated_delivery
        else None,
        "delivered_on": _day(order.delivered_at, tz) if order.delivered_at else None,
    }
    if unknown := [f for f in wanted if f not in values]:
        raise TemplateError(f"{{order.{unknown[0]}}} is not an order field")
    if missing := [f for f in wanted if not values[f]]:
        raise TemplateError(
            f"order #{order.number} ({order.status}) has no "
            f"{_join([f.replace('_', ' ') for f in missing])} for "
            f"{', '.join('{order.' + f + '}' for f in missing)}"
        )
    return _PLACEHOLDER.sub(lambda m: header_text(values[m.group(1)] or "", 500), template)
