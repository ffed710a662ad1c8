"""The signature both shop platforms put on their webhooks: base64 of HMAC-SHA256 over the
raw body, keyed with a secret we share with the shop, compared in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac

from chalicelib.domain.errors import SignatureRejected


def sign(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_hmac(secret: str, body: bytes, given: str, header: str) -> None:
    """Raises SignatureRejected (401, nothing read or stored) unless `given` signs `body`."""
    if not given:
        raise SignatureRejected(f"the {header} header is missing")
    if not hmac.compare_digest(given.encode(), sign(secret, body).encode()):
        raise SignatureRejected(f"the {header} signature does not match the body")
