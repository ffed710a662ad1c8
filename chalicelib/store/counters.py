"""The weekly report's counters: per store, per store-local day (spread over a few shard
items), added inside the writes that record the events they count, and read back with one
Query per report (never a scan).

Idempotency: a counter is added in the same DynamoDB transaction as the write that
records its event, so it is added exactly when that write happens. Where that write is
once-only already (an inbound message's marker, a rating's marker), nothing more is
needed; where it is not (a delivery, a breach timer, a close), the event's key goes into
the thread's `counted` set in the same transaction, on the condition that it is not there
yet: a retry finds it and writes without the counters (`with_counts`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.operand import Path
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.domain.report_counts import Counts
from chalicelib.store import _dynamo
from chalicelib.store.errors import StorageError
from chalicelib.store.models import ReportDayItem, ReportSentItem, ThreadItem, report_pk, report_sk

KEEP_DAYS = 800
"""Counters expire (DynamoDB TTL) after a bit more than two years: a year on year compare."""


def counter_update(store_id: str, counts: Counts) -> tuple[ReportDayItem, list[Action]]:
    """The day's shard item and the ADDs of `counts` (ADD creates what is missing)."""
    item = ReportDayItem(report_pk(store_id), report_sk(counts.day, counts.shard))
    actions: list[Action] = [Path([name]).add(n) for name, n in sorted(counts.adds.items())]
    if counts.low is not None:
        actions.append(ReportDayItem.low.add({counts.low}))
    expires = datetime.combine(counts.day, datetime.min.time()) + timedelta(days=KEEP_DAYS)
    actions.append(ReportDayItem.expires_at.set(int(expires.timestamp())))
    return item, actions


def add_counts(tx: TransactWrite, store_id: str, counts: Counts | None) -> None:
    """Put `counts` into a transaction being built (nothing for None)."""
    if counts is not None:
        item, actions = counter_update(store_id, counts)
        tx.update(item, actions=actions)


def counted_actions(counts: Counts | None) -> tuple[list[Action], Condition | None]:
    """The thread's side of counting an event: its key added to `counted`, on the
    condition that it is not there yet."""
    if counts is None or counts.event is None:
        return [], None
    return (
        [ThreadItem.counted.add({counts.event})],
        ThreadItem.counted.does_not_exist() | ~ThreadItem.counted.contains(counts.event),
    )


def with_counts(
    connection: Any,
    store_id: str,
    counts: Counts | None,
    write: Callable[[TransactWrite, list[Action], Condition | None], None],
    what: str,
) -> bool:
    """Run `write` (the event's own items) in one transaction with `counts`; True when the
    counts were added. A transaction cancelled by the `counted` condition means a retry:
    the caller writes again without counts (returns False). `write` gets the thread's extra
    actions and condition to add to its thread update."""
    thread_actions, condition = counted_actions(counts)
    try:
        with TransactWrite(connection=connection) as tx:
            write(tx, thread_actions, condition)
            add_counts(tx, store_id, counts)
    except TransactWriteError as exc:
        if any(r and r.code == "ConditionalCheckFailed" for r in exc.cancellation_reasons or []):
            return False
        raise StorageError(f"{what} failed: {exc}") from exc
    except PynamoDBException as exc:
        raise StorageError(f"{what} failed: {exc}") from exc
    return True


def _number(value: Mapping[str, Any]) -> int | None:
    raw = value.get("N")
    return None if raw is None else int(float(raw))


class CounterStore(_dynamo.Table):
    def claim_report(self, store_id: str, week: str, at: datetime) -> bool:
        """True when this run is the one to send `week`'s report (never claimed, or its
        last send failed)."""
        item = ReportSentItem(report_pk(store_id), f"SENT#{week}")
        return _dynamo.update_if(
            item,
            [
                ReportSentItem.state.set("sending"),
                ReportSentItem.claimed_at.set(at),
                ReportSentItem.expires_at.set(int((at + timedelta(days=KEEP_DAYS)).timestamp())),
            ],
            ReportSentItem.state.does_not_exist() | (ReportSentItem.state == "failed"),
            f"claiming the report of {week}",
        )

    def report_sent(self, store_id: str, week: str, *, sent: bool) -> None:
        """The claimed report went out (`sent`), or failed: the next run may try again."""
        item = ReportSentItem(report_pk(store_id), f"SENT#{week}")
        _dynamo.update(
            item, [ReportSentItem.state.set("sent" if sent else "failed")], "recording the report"
        )

    def report_days(
        self, store_id: str, first: date, last: date
    ) -> list[tuple[date, dict[str, object]]]:
        """Every counter item of `store_id` from `first` to `last` (store-local days), as
        (day, {name: number, 'low': set}); one Query, paged by DynamoDB's 1 MB."""
        condition = Path("sk").between(f"DAY#{first.isoformat()}", f"DAY#{last.isoformat()}#~")
        found: list[tuple[date, dict[str, object]]] = []
        start: dict[str, Any] | None = None
        try:
            while True:
                # The model's connection knows the table's keys: no DescribeTable first.
                page = ReportDayItem._get_connection().query(
                    report_pk(store_id),
                    range_key_condition=condition,
                    exclusive_start_key=start,
                    consistent_read=True,
                )
                for raw in page.get("Items", []):
                    day = date.fromisoformat(raw["sk"]["S"].split("#")[1])
                    values: dict[str, object] = {}
                    for name, value in raw.items():
                        if name in ("pk", "sk", "expires_at"):
                            continue
                        if "SS" in value:
                            values[name] = set(value["SS"])
                        elif (number := _number(value)) is not None:
                            values[name] = number
                    found.append((day, values))
                start = page.get("LastEvaluatedKey")
                if not start:
                    return found
        except PynamoDBException as exc:
            raise StorageError(f"reading the report's counters failed: {exc}") from exc
