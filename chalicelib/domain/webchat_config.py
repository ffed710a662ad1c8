"""The store's `webchat` settings (stores.json), validated once when the configuration is
loaded. Apart from domain/webchat.py (tokens, identity, the widget's words) so that reading
the configuration, which every handler does on its first request, imports no more than this."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

_COLOUR: Final = re.compile(r"^#[0-9a-fA-F]{6}$")
_ORIGIN: Final = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$")
_LANGUAGE: Final = re.compile(r"^[a-z]{2,3}$")
MAX_TITLE_CHARS: Final = 60
MAX_GREETING_CHARS: Final = 500


class WebchatConfigError(ValueError):
    """The store's `webchat` block is wrong; the message names the store and field."""


@dataclass(frozen=True)
class Webchat:
    """The store's web chat: off unless the store turns it on and names its shop's origins."""

    enabled: bool = False
    allowed_origins: frozenset[str] = frozenset()
    """`scheme://host[:port]` of the pages the widget may be embedded in (the shop's)."""
    colour: str = "#1f6feb"
    text_colour: str = "#ffffff"
    title: Mapping[str, str] = field(default_factory=dict)
    """Language -> the panel's title; the built-in one for languages not listed."""
    greeting: Mapping[str, str] = field(default_factory=dict)
    """Language -> the store's greeting; the built-in one for languages not listed."""
    identity: bool = False
    """Signed-in customers are named by the shop's theme with an HMAC-SHA256 of their
    e-mail under the secret WEBCHAT_IDENTITY_SECRET_<STORE> (never in this file)."""
    conversations_per_ip_hour: int = 5
    messages_per_ip_hour: int = 60
    messages_per_store_hour: int = 2000
    max_message_chars: int = 2000


def parse_webchat(raw: object, *, store_id: str) -> Webchat:
    where = f"store {store_id!r}: webchat"
    if raw is None:
        return Webchat()
    if not isinstance(raw, Mapping):
        raise WebchatConfigError(f"{where}: must be an object")
    defaults = Webchat()
    allowed = {
        "enabled",
        "allowed_origins",
        "colour",
        "text_colour",
        "title",
        "greeting",
        "identity",
        "conversations_per_ip_hour",
        "messages_per_ip_hour",
        "messages_per_store_hour",
        "max_message_chars",
    }
    if unknown := sorted(set(raw) - allowed):
        raise WebchatConfigError(f"{where}: unknown field(s) {', '.join(unknown)}")
    enabled = raw.get("enabled", False)
    identity = raw.get("identity", False)
    if not isinstance(enabled, bool) or not isinstance(identity, bool):
        raise WebchatConfigError(f"{where}: enabled and identity are true or false")
    origins = raw.get("allowed_origins", [])
    if not isinstance(origins, list) or not all(
        isinstance(o, str) and _ORIGIN.match(o) for o in origins
    ):
        raise WebchatConfigError(
            f"{where}: allowed_origins: a list of 'https://shop.example' origins "
            "(scheme and host, an optional port, lower case, no path)"
        )
    if enabled and not origins:
        raise WebchatConfigError(f"{where}: allowed_origins: required when enabled")
    colours = {}
    for name in ("colour", "text_colour"):
        value = raw.get(name, getattr(defaults, name))
        if not isinstance(value, str) or not _COLOUR.match(value):
            raise WebchatConfigError(f"{where}: {name}: '#rrggbb', got {value!r}")
        colours[name] = value
    texts = {}
    for name, limit in (("title", MAX_TITLE_CHARS), ("greeting", MAX_GREETING_CHARS)):
        value = raw.get(name, {})
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and _LANGUAGE.match(k) and isinstance(v, str) and 0 < len(v) <= limit
            for k, v in value.items()
        ):
            raise WebchatConfigError(
                f"{where}: {name}: language code -> text of 1 to {limit} characters"
            )
        texts[name] = dict(value)
    limits = {}
    for name in (
        "conversations_per_ip_hour",
        "messages_per_ip_hour",
        "messages_per_store_hour",
        "max_message_chars",
    ):
        value = raw.get(name, getattr(defaults, name))
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise WebchatConfigError(f"{where}: {name}: a positive whole number, got {value!r}")
        limits[name] = value
    if limits["max_message_chars"] > 20_000:
        raise WebchatConfigError(f"{where}: max_message_chars: at most 20000")
    return Webchat(
        enabled=enabled,
        allowed_origins=frozenset(origins),
        colour=colours["colour"],
        text_colour=colours["text_colour"],
        title=texts["title"],
        greeting=texts["greeting"],
        identity=identity,
        conversations_per_ip_hour=limits["conversations_per_ip_hour"],
        messages_per_ip_hour=limits["messages_per_ip_hour"],
        messages_per_store_hour=limits["messages_per_store_hour"],
        max_message_chars=limits["max_message_chars"],
    )
