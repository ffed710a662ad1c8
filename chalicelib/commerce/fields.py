"""Reading the loose JSON both shop platforms send: a field that may be missing, null or
of the wrong type is read as empty, never trusted to be what its name says."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def moment(value: object) -> datetime | None:
    """An ISO 8601 time, aware in UTC; one without an offset (WooCommerce's `*_gmt`) is
    UTC already. None for anything else."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def amount(value: object) -> Decimal:
    """A money amount as the platform wrote it (a string or a number); 0 when missing or
    unreadable."""
    if value is None or value == "":
        return Decimal(0)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)
