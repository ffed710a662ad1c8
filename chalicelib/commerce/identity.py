"""Who an order belongs to: phone numbers compared as E.164, e-mail addresses case-folded.

Shops store phones as people type them ('777 123 456', '(555) 555-5555', '00420…'), with the
billing country as the only hint; reading those correctly takes libphonenumber's per-country
rules, so `phonenumbers` (the lite build, no geocoder) does it, imported on first use. A
number it cannot read as a valid number is None: an unreadable number never matches anyone.
"""

from __future__ import annotations

import re
from typing import Final

_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_E164: Final = re.compile(r"^\+[1-9][0-9]{6,14}$")


def normalise_email(raw: str | None) -> str | None:
    """The address trimmed and case-folded; None if it is not an address.

    The local part is case-sensitive by the letter of RFC 5321, but no shop or mailbox
    provider treats it so, and customers type it both ways."""
    if not raw:
        return None
    address = raw.strip().lower()
    return address if _EMAIL.match(address) else None


def normalise_phone(raw: str | None, region: str | None = None) -> str | None:
    """The number in E.164 ('+420777123456'), or None if it is not a valid number.

    `region` is the ISO 3166 country to read a national number in (the billing country);
    without it only international forms ('+…', '00…' is not guessed) can be read."""
    if not raw or not raw.strip():
        return None
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        # Twilio's test numbers (+1500555…) are not valid numbers, but they are E.164 and
        # they are what the sandbox and the tests use: keep an already-canonical number.
        canonical = raw.strip()
        return canonical if _E164.match(canonical) and region is None else None
    formatted: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return formatted


def phone_country(e164: str | None) -> str | None:
    """The ISO 3166 country of an E.164 number ('+48…' -> 'PL'); None if unknown."""
    if not e164 or not _E164.match(e164):
        return None
    import phonenumbers

    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return None
    return str(region) if region and region != "ZZ" else None
