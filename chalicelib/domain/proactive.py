"""Telling customers about a shipment problem before they ask: the store's switches
(`proactive` in stores.json), whether an order's news is worth a message, on which channel,
at what hour, and in which words. Pure: the proactive job (flows/proactive.py) reads the
shop and the table and acts on what is decided here.

    "proactive": {
      "enabled": true,                      // default once the section is there
      "events": ["DELAYED", "FAILURE", "ATTEMPTED_DELIVERY", "READY_FOR_PICKUP",
                 "RETURNING_TO_SENDER", "cancelled", "refunded"],   // (the default)
      "daily_cap": 2,                       // messages per customer per store-local day
      "quiet_hours": "21:00-08:00",         // store time: SMS/WhatsApp wait until its end
      "text_new_customers": false,          // SMS/WhatsApp to a customer who never wrote
      "messages": {"pl": {"delayed": "..."}}  // the store's own words ({number})
    }
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from chalicelib.domain.proactive_config import (
    DEFAULT_DAILY_CAP,
    DEFAULT_QUIET,
    KNOWN,
    SILENT,
    SPEAKING,
    Channel,
    Proactive,
    ProactiveConfigError,
    parse_proactive,
)
from chalicelib.domain.proactive_words import WORDS

__all__ = [
    "DEFAULT_DAILY_CAP",
    "DEFAULT_QUIET",
    "KNOWN",
    "SILENT",
    "SPEAKING",
    "Channel",
    "Proactive",
    "ProactiveConfigError",
    "parse_proactive",
]


@dataclass(frozen=True)
class News:
    """What the shop says now about one order: the kind of news (SPEAKING or SILENT, or
    '' when there is nothing to tell) and when it happened."""

    order_number: str
    kind: str
    at: datetime
    carrier: str | None = None
    tracking_url: str | None = None


@dataclass(frozen=True)
class Told:
    """What the customer was already told about this order (the order's record)."""

    kinds: frozenset[str] = frozenset()
    last_at: datetime | None = None
    """When the newest news we told them happened."""


@dataclass(frozen=True)
class Verdict:
    speak: bool
    reason: str


def decide(config: Proactive, news: News | None, told: Told) -> Verdict:
    """Whether this news is worth a message: on, a problem the store tells, not yet told,
    and not older than what was told. (The daily cap is counted when the message is made.)"""
    if not config.enabled:
        return Verdict(False, "proactive messages are off for this store")
    if news is None or not news.kind:
        return Verdict(False, "the shop's order has no news to tell")
    if news.kind not in config.events:
        return Verdict(False, f"{news.kind}: not news this store tells")
    if news.kind in told.kinds:
        return Verdict(False, f"{news.kind}: already told for this order")
    if told.last_at is not None and news.at < told.last_at:
        return Verdict(False, f"{news.kind}: older than what the customer was told")
    if config.daily_cap == 0:
        return Verdict(False, "the store's daily cap is 0")
    return Verdict(True, f"{news.kind}: tell the customer")


@dataclass(frozen=True)
class Known:
    """A contact of the order's customer that has written to the store through us."""

    channel: Channel
    address: str
    """As the customer's item is keyed: '+48…', 'whatsapp:+48…', or an e-mail address."""
    last_message_at: datetime | None
    opted_out: bool = False
    language: str | None = None


@dataclass(frozen=True)
class Route:
    channel: Channel
    address: str
    known: Known | None = None
    """The customer's item it came from; None for someone who never wrote."""


@dataclass(frozen=True)
class Contacts:
    """The order's customer as the shop records them (already normalised)."""

    emails: Sequence[str] = ()
    phones: Sequence[str] = ()
    known: Sequence[Known] = field(default_factory=tuple)
    text_consent: bool = False
    """The shop records their consent to be texted."""


WHATSAPP_WINDOW: Final = timedelta(hours=24)
"""WhatsApp allows free text this long after the customer's last message."""


def choose_route(
    contacts: Contacts,
    *,
    text_new_customers: bool,
    now: datetime | None = None,
    whatsapp_template: bool = False,
) -> Route | None:
    """The channel the customer last used with this store; else, where the store allows
    texting customers who never wrote and the shop records their consent, SMS; else e-mail
    to the order's address. A number
    that opted out is never chosen, on SMS or WhatsApp; WhatsApp outside its 24 hours only
    where the store has an approved template (otherwise the next channel, or e-mail)."""
    stopped = {k.address.removeprefix("whatsapp:") for k in contacts.known if k.opted_out}
    usable = [
        k
        for k in contacts.known
        if not k.opted_out
        and k.address.removeprefix("whatsapp:") not in stopped
        and not _whatsapp_closed(k, now, whatsapp_template)
    ]
    if usable:
        latest = max(usable, key=lambda k: (k.last_message_at is not None, k.last_message_at))
        return Route(latest.channel, latest.address, latest)
    phones = [p for p in sorted(contacts.phones) if p not in stopped]
    if text_new_customers and contacts.text_consent and phones:
        return Route("sms", phones[0])
    if contacts.emails:
        return Route("email", sorted(contacts.emails)[0])
    return None


def _whatsapp_closed(known: Known, now: datetime | None, template: bool) -> bool:
    if known.channel != "whatsapp" or template or now is None:
        return False
    return known.last_message_at is None or now - known.last_message_at > WHATSAPP_WINDOW


def quiet_until(now: datetime, timezone: str, config: Proactive) -> datetime | None:
    """The end of the store's quiet hours if `now` is inside them (a text then waits until
    it), else None."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    start, end, clock = config.quiet_start, config.quiet_end, local.time()
    if start == end:
        return None
    overnight = start > end
    inside = (clock >= start or clock < end) if overnight else (start <= clock < end)
    if not inside:
        return None
    wake = datetime.combine(local.date(), end, zone)
    if wake <= local:
        wake = datetime.combine(local.date() + timedelta(days=1), end, zone)
    return wake


_COUNTRY_LANGUAGES: Final = {
    "CZ": "cs",
    "SK": "cs",
    "PL": "pl",
    "DE": "de",
    "AT": "de",
    "CH": "de",
    "LI": "de",
    "FR": "fr",
    "BE": "fr",
    "LU": "fr",
    "MC": "fr",
    "ES": "es",
    "MX": "es",
    "AR": "es",
    "CO": "es",
    "CL": "es",
    "PE": "es",
    "IR": "fa",
    "AF": "fa",
    "SA": "ar",
    "AE": "ar",
    "EG": "ar",
    "JO": "ar",
    "MA": "ar",
    "QA": "ar",
    "KW": "ar",
}


def language_for(known: str | None, country: str | None, default: str) -> str:
    """The language we last wrote to them in; else their country's (the phone's or the
    billing address's), where it is one of ours; else the store's."""
    for candidate in (known, _COUNTRY_LANGUAGES.get((country or "").upper())):
        if candidate is not None and candidate in WORDS:
            return candidate
    base = default.split("_")[0].split("-")[0]
    return base if base in WORDS else "en"


def message_text(
    news: News,
    *,
    store_name: str,
    language: str,
    overrides: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """The order, what happened, what happens next, the tracking link, and that a reply
    reaches the store: short enough for one or two SMS. The store's own words win."""
    words = {**WORDS.get(language, WORDS["en"]), **(overrides or {}).get(language, {})}
    parts = [f"{store_name}: " + words[news.kind].format(number=news.order_number)]
    if news.tracking_url and news.kind not in ("cancelled", "refunded"):
        parts.append(words["tracking"].format(url=news.tracking_url))
    parts.append(words["reply"])
    return "\n".join(parts)


def subject_line(news: News, *, store_name: str, language: str) -> str:
    words = WORDS.get(language, WORDS["en"])
    return f"{store_name}: " + words["subject"].format(number=news.order_number)
