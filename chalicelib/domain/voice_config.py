"""A store's `voice` settings (stores.json), parsed and validated once at load.

Apart from the call plan (domain/voice.py) so that loading the stores' configuration, which
every cold start does, does not load the greetings, voices and texts of a call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
FINISH_KEYS = frozenset("0123456789*#")


def _base(tag: str) -> str:
    return tag.replace("-", "_").partition("_")[0].strip().lower()


@dataclass(frozen=True)
class VoiceSettings:
    """A store's `voice` settings (stores.json); every field has a default."""

    forward_to: str | None = None
    """A phone that rings first while the store is open."""
    ring_seconds: int = 20
    max_message_seconds: int = 120
    silence_seconds: int = 5
    finish_key: str = "#"
    greeting_urls: Mapping[str, str] = field(default_factory=dict)
    """Language -> a recorded greeting (https), played instead of text-to-speech."""
    text_back: bool = True
    """The store-wide switch for the text after a voicemail or missed call."""
    sms_countries: frozenset[str] | None = None
    """ISO countries whose numbers may get the text back; None: the store number's own."""
    transcribe: bool = True
    """Transcribe voicemails with Amazon Transcribe, in the caller's language where it
    has one (TRANSCRIBE_LANGUAGES)."""
    lookup_line_type: bool = False
    """Ask Twilio Lookup (Line Type Intelligence, paid per request) before the text back,
    and text no landline (`line_type_refusal`)."""
    configured: bool = False
    """The store has a `voice` section: relaydesk takes the number's calls, and `relaydesk
    providers sync` sets its Voice URLs. Without one the number may keep its own phone
    system, and its Voice URL is left alone."""


class VoiceConfigError(ValueError):
    """A store's `voice` settings are wrong; the message names the field."""


def _whole(
    where: str, raw: Mapping[str, object], name: str, default: int, low: int, high: int
) -> int:
    value = raw.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise VoiceConfigError(
            f"{where}.{name}: a whole number from {low} to {high}, got {value!r}"
        )
    return value


def parse_voice(raw: object, *, store_id: str) -> VoiceSettings:
    """`voice` from stores.json, validated; absent: the defaults (voicemail, no forwarding)."""
    where = f"store {store_id!r}: voice"
    if raw is None:
        return VoiceSettings()
    if not isinstance(raw, dict):
        raise VoiceConfigError(f"{where}: expected an object")
    known = {
        "forward_to",
        "ring_seconds",
        "max_message_seconds",
        "silence_seconds",
        "finish_key",
        "greeting_urls",
        "text_back",
        "sms_countries",
        "transcribe",
        "lookup_line_type",
    }
    if unknown := set(raw) - known:
        raise VoiceConfigError(f"{where}: unknown field(s) {sorted(unknown)}")
    forward = raw.get("forward_to")
    if forward is not None and (not isinstance(forward, str) or not E164.match(forward)):
        raise VoiceConfigError(f"{where}.forward_to: {forward!r} is not an E.164 number")
    finish = raw.get("finish_key", "#")
    if not isinstance(finish, str) or len(finish) != 1 or finish not in FINISH_KEYS:
        raise VoiceConfigError(f"{where}.finish_key: one of 0-9, * or #, got {finish!r}")
    urls = raw.get("greeting_urls", {})
    if not isinstance(urls, dict):
        raise VoiceConfigError(f'{where}.greeting_urls: an object like {{"fa": "https://..."}}')
    for language, url in urls.items():
        if not isinstance(url, str) or not url.startswith("https://") or len(url) > 1000:
            raise VoiceConfigError(f"{where}.greeting_urls[{language!r}]: an https:// URL")
    countries = raw.get("sms_countries")
    if countries is not None and (
        not isinstance(countries, list)
        or not all(isinstance(c, str) and COUNTRY.match(c) for c in countries)
    ):
        raise VoiceConfigError(f'{where}.sms_countries: ISO codes like ["CZ", "SK"]')
    for name in ("text_back", "transcribe", "lookup_line_type"):
        if not isinstance(raw.get(name, True), bool):
            raise VoiceConfigError(f"{where}.{name}: true or false")
    return VoiceSettings(
        forward_to=forward,
        ring_seconds=_whole(where, raw, "ring_seconds", 20, 5, 60),
        max_message_seconds=_whole(where, raw, "max_message_seconds", 120, 5, 600),
        silence_seconds=_whole(where, raw, "silence_seconds", 5, 1, 30),
        finish_key=finish,
        greeting_urls={_base(k): v for k, v in urls.items()},
        text_back=raw.get("text_back", True),
        sms_countries=frozenset(countries) if countries is not None else None,
        transcribe=raw.get("transcribe", True),
        lookup_line_type=raw.get("lookup_line_type", False),
        configured=True,
    )
