"""How an early timer keeps waiting within SQS's 12 hours of visibility per receipt, with a
fake SQS client that records what it was asked (SQS itself: tests/integration)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.queues import (
    HOLD_MARGIN_SECONDS,
    MAX_VISIBILITY_SECONDS,
    JobQueue,
    Timer,
    TimerKind,
)

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


class RecordingSqs:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def change_message_visibility(self, **params: Any) -> None:
        self.calls.append(("hold", params))

    def send_message(self, **params: Any) -> None:
        self.calls.append(("send", params))


def wait_longer(due_in: timedelta, sent_ago: timedelta | None) -> list[tuple[str, int]]:
    sqs = RecordingSqs()
    queue = JobQueue(sqs, queue_name="timers", queue_url="https://sqs.test/timers")
    timer = Timer(TimerKind.BREACH, "demo", "t1", 0, NOW + due_in)
    sent_at = None if sent_ago is None else NOW - sent_ago
    held = queue.wait_longer("receipt", timer, sent_at=sent_at, now=NOW)
    [(kind, params)] = sqs.calls
    assert held == (kind == "hold")
    return [(kind, params.get("VisibilityTimeout", params.get("DelaySeconds", 0)))]


def test_a_fresh_timer_is_held_for_its_whole_wait_when_that_fits() -> None:
    assert wait_longer(timedelta(hours=4), timedelta(minutes=15)) == [("hold", 4 * 3600)]


def test_a_long_wait_is_held_only_as_far_as_twelve_hours_from_the_send_allow() -> None:
    # Sent 15 minutes ago (its delay): 12 h - 15 min of margin - 15 min already gone.
    limit = MAX_VISIBILITY_SECONDS - HOLD_MARGIN_SECONDS - 15 * 60
    assert wait_longer(timedelta(days=3), timedelta(minutes=15)) == [("hold", limit)]
    assert limit == 11 * 3600 + 30 * 60


@pytest.mark.parametrize("sent_ago", [timedelta(hours=11, minutes=45), timedelta(days=2)])
def test_a_message_whose_twelve_hours_are_spent_is_sent_again(sent_ago: timedelta) -> None:
    assert wait_longer(timedelta(days=3), sent_ago) == [("send", 15 * 60)]
    assert wait_longer(timedelta(minutes=5), sent_ago) == [("send", 5 * 60)]


def test_without_a_send_time_the_timer_is_sent_again_rather_than_held_blindly() -> None:
    assert wait_longer(timedelta(hours=1), None) == [("send", 15 * 60)]


def test_a_short_rest_is_held_even_late_in_the_messages_twelve_hours() -> None:
    # 11 h gone: 45 minutes of allowance left, enough for a 10-minute rest.
    assert wait_longer(timedelta(minutes=10), timedelta(hours=11)) == [("hold", 600)]
