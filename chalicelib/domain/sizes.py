"""DynamoDB counts an item's 400 KB in bytes (a string's UTF-8 bytes, names included), not
characters: a Czech or Arabic letter is 2 bytes, most emoji 4. Text is cut to fit by its
UTF-8 bytes, at a character's boundary, never inside one."""

from __future__ import annotations

DYNAMODB_ITEM_BYTES = 400 * 1024


def utf8_len(text: str | None) -> int:
    return len(text.encode("utf-8")) if text else 0


def cut_utf8(text: str, limit: int) -> str:
    """The longest start of `text` whose UTF-8 encoding takes at most `limit` bytes."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    # The bytes of the character the cut falls in are incomplete: "ignore" drops them.
    return encoded[: max(0, limit)].decode("utf-8", "ignore")
