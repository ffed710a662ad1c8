"""The store's `proactive` settings (stores.json), validated once when the configuration
is loaded. Apart from domain/proactive.py (the decisions and the words) so that reading the
configuration, which every handler does on its first request, does not import those."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Final, Literal

SPEAKING: Final = (
    "delayed",
    "failure",
    "attempted_delivery",
    "ready_for_pickup",
    "returning_to_sender",
    "cancelled",
    "refunded",
)
"""The news a message exists for (and the default `events`): the problems."""
SILENT: Final = ("confirmed", "in_transit", "out_for_delivery", "delivered")
"""News the shop's own e-mails already tell; a store may not turn these on (no words)."""
KNOWN: Final = frozenset(SPEAKING + SILENT)
DEFAULT_DAILY_CAP: Final = 2
DEFAULT_QUIET: Final = (time(21, 0), time(8, 0))
_SPAN: Final = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")

Channel = Literal["sms", "whatsapp", "email"]


class ProactiveConfigError(ValueError):
    """The store's `proactive` block is wrong; the message names the store and field."""


@dataclass(frozen=True)
class Proactive:
    """The store's `proactive` settings: off unless the store turns it on."""

    enabled: bool = False
    events: frozenset[str] = frozenset(SPEAKING)
    daily_cap: int = DEFAULT_DAILY_CAP
    quiet_start: time = DEFAULT_QUIET[0]
    quiet_end: time = DEFAULT_QUIET[1]
    text_new_customers: bool = False
    """SMS (or WhatsApp) to a customer who has never written to the store through us: only
    where the store has the customer's consent to be texted; otherwise they get e-mail."""
    messages: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """The store's own words: language -> news kind (or 'reply') -> text with {number}."""


def parse_proactive(raw: object, *, store_id: str) -> Proactive:
    where = f"store {store_id!r}: proactive"
    if raw is None:
        return Proactive()
    if not isinstance(raw, Mapping):
        raise ProactiveConfigError(f"{where}: must be an object")
    allowed = {"enabled", "events", "daily_cap", "quiet_hours", "text_new_customers", "messages"}
    if unknown := sorted(set(raw) - allowed):
        raise ProactiveConfigError(f"{where}: unknown field(s) {', '.join(unknown)}")
    for flag in ("enabled", "text_new_customers"):
        if not isinstance(raw.get(flag, False), bool):
            raise ProactiveConfigError(f"{where}.{flag}: true or false")
    listed = raw.get("events", list(SPEAKING))
    if not isinstance(listed, list) or not all(isinstance(e, str) for e in listed):
        raise ProactiveConfigError(f"{where}.events: a list such as {list(SPEAKING)}")
    events = frozenset(e.strip().lower() for e in listed)
    if wrong := sorted(events - frozenset(SPEAKING)):
        raise ProactiveConfigError(
            f"{where}.events: {wrong} cannot be told; choose from {list(SPEAKING)}"
        )
    cap = raw.get("daily_cap", DEFAULT_DAILY_CAP)
    if not isinstance(cap, int) or isinstance(cap, bool) or not 0 <= cap <= 20:
        raise ProactiveConfigError(f"{where}.daily_cap: a whole number from 0 to 20")
    quiet = raw.get("quiet_hours", "21:00-08:00")
    matched = _SPAN.match(quiet) if isinstance(quiet, str) else None
    if matched is None:
        raise ProactiveConfigError(f'{where}.quiet_hours: "HH:MM-HH:MM" such as "21:00-08:00"')
    h1, m1, h2, m2 = (int(g) for g in matched.groups())
    messages = _messages(raw.get("messages", {}), where)
    return Proactive(
        enabled=raw.get("enabled", True),
        events=events,
        daily_cap=cap,
        quiet_start=time(h1, m1),
        quiet_end=time(h2, m2),
        text_new_customers=raw.get("text_new_customers", False),
        messages=messages,
    )


def _messages(raw: object, where: str) -> dict[str, dict[str, str]]:
    """`messages`: {"pl": {"delayed": "Zamówienie nr {number} ..."}}, checked whole."""
    if not isinstance(raw, Mapping):
        raise ProactiveConfigError(f'{where}.messages: {{"<language>": {{"<news>": "text"}}}}')
    parsed: dict[str, dict[str, str]] = {}
    for language, texts in raw.items():
        if not isinstance(texts, Mapping):
            raise ProactiveConfigError(f"{where}.messages[{language!r}]: an object of texts")
        for kind, text in texts.items():
            here = f"{where}.messages[{language!r}][{kind!r}]"
            if kind not in (*SPEAKING, "reply"):
                raise ProactiveConfigError(f"{here}: one of {[*SPEAKING, 'reply']}")
            if not isinstance(text, str) or not text.strip():
                raise ProactiveConfigError(f"{here}: a non-empty text")
            try:
                text.format(number="1")
            except (KeyError, IndexError, ValueError) as exc:
                raise ProactiveConfigError(f"{here}: only {{number}} may be filled in") from exc
        parsed[str(language)] = {str(k): str(v) for k, v in texts.items()}
    return parsed
