"""What every store module shares: one transaction connection, reads and updates that turn
DynamoDB's failures into StorageError, and the names of a cancelled transaction's parts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import TypeVar

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.store.errors import StorageError
from chalicelib.store.models import (
    CustomerItem,
    MarkerItem,
    MessageItem,
    ReportSentItem,
    StoreItem,
    ThreadItem,
    dynamodb_host,
    region,
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Table:
    """The base of every part of the repository: the clock and the connection they share."""

    def __init__(self, clock: Callable[[], datetime] = _utc_now) -> None:
        self.clock = clock

    @cached_property
    def connection(self) -> Connection:
        """For transactions; built once, so its HTTP connections are reused across requests."""
        # The items' own timeouts (models.py), not PynamoDB's 15 s / 30 s defaults: a stall
        # must fail inside the webhook's budget (Twilio waits 15 s).
        meta = CustomerItem.Meta
        return Connection(
            region=region(),
            host=dynamodb_host(),
            connect_timeout_seconds=meta.connect_timeout_seconds,
            read_timeout_seconds=meta.read_timeout_seconds,
        )


_Item = TypeVar("_Item", CustomerItem, ThreadItem, MessageItem)


def get(model: type[_Item], pk: str, sk: str) -> _Item | None:
    """A consistent read of one item; None when absent, StorageError when DynamoDB fails."""
    try:
        return model.get(pk, sk, consistent_read=True)
    except DoesNotExist:
        return None
    except PynamoDBException as exc:
        raise StorageError(f"reading a {model.__name__} failed: {exc}") from exc


def get_many(model: type[_Item], keys: Sequence[tuple[str, str]]) -> list[_Item]:
    """Consistent reads of several items in one BatchGetItem (up to 100 keys a page);
    absent ones are left out, StorageError when DynamoDB fails."""
    if not keys:
        return []
    try:
        return list(model.batch_get(list(dict.fromkeys(keys)), consistent_read=True))
    except PynamoDBException as exc:
        raise StorageError(f"reading {model.__name__}s failed: {exc}") from exc


def update(
    item: ThreadItem | MessageItem | StoreItem | ReportSentItem, actions: list[Action], what: str
) -> None:
    """Update `item`; StorageError (the provider retries) when DynamoDB fails."""
    try:
        item.update(actions=actions)
    except PynamoDBException as exc:
        raise StorageError(f"{what} failed: {exc}") from exc


def update_if(
    item: ThreadItem | MessageItem | CustomerItem | MarkerItem | ReportSentItem,
    actions: list[Action],
    condition: Condition,
    what: str,
    *,
    add_version_condition: bool = True,
) -> bool:
    """Update `item` only when `condition` holds: False when it did not (someone else got
    there first, or the item is gone), StorageError when DynamoDB failed."""
    try:
        item.update(
            actions=actions, condition=condition, add_version_condition=add_version_condition
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise StorageError(f"{what} failed: {exc}") from exc
    except PynamoDBException as exc:
        raise StorageError(f"{what} failed: {exc}") from exc
    return True


def update_existing(item: ThreadItem | MessageItem, actions: list[Action], what: str) -> bool:
    """Update unless the item is gone (TTL, or another run); never recreate it."""
    return update_if(item, actions, type(item).pk.exists(), what)


def failed_parts(exc: TransactWriteError, parts: Sequence[str]) -> frozenset[str]:
    """The named parts of a cancelled transaction whose condition failed; `parts` names
    its items in the order they were added."""
    reasons = exc.cancellation_reasons or []
    return frozenset(
        name
        for name, reason in zip(parts, reasons, strict=False)
        if reason and reason.code == "ConditionalCheckFailed"
    )


def conflicted(exc: TransactWriteError) -> bool:
    """Cancelled because another transaction was writing one of its items then."""
    return any(r and r.code == "TransactionConflict" for r in exc.cancellation_reasons or [])
