"""Signed reply tokens: `reply+<token>@<reply domain>` names a thread unforgeably.

The token is `<store>.<thread>.<mac>`, where mac is a truncated HMAC-SHA256 over store
and thread, base32 without padding and lower-cased (mail systems may fold case in the
local part, so verification is case-insensitive). 80 bits of MAC: guessing is hopeless
and the whole local part stays well under the 64 characters RFC 5321 allows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

_MAC_BYTES = 10
_TOKEN = re.compile(r"^([a-z0-9-]{1,20})\.([a-z0-9]{1,32})\.([a-z2-7]{16})$")


def _mac(secret: bytes, store_id: str, thread_id: str) -> str:
    digest = hmac.new(secret, f"{store_id}.{thread_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:_MAC_BYTES]).decode().lower()


def sign(secret: bytes, store_id: str, thread_id: str) -> str:
    return f"{store_id}.{thread_id}.{_mac(secret, store_id, thread_id)}"


def verify(secret: bytes, token: str) -> tuple[str, str] | None:
    """(store id, thread id) when the token is genuine, else None."""
    match = _TOKEN.match(token.strip().lower())
    if not match:
        return None
    store_id, thread_id, mac = match.groups()
    if not hmac.compare_digest(mac, _mac(secret, store_id, thread_id)):
        return None
    return store_id, thread_id


def reply_address(secret: bytes, store_id: str, thread_id: str, domain: str) -> str:
    return f"reply+{sign(secret, store_id, thread_id)}@{domain}"


def token_from_address(address: str, domain: str) -> str | None:
    """The token in `reply+<token>@<domain>`, or None for any other address."""
    local, _, host = address.strip().lower().rpartition("@")
    if host != domain.lower() or not local.startswith("reply+"):
        return None
    return local.removeprefix("reply+")
