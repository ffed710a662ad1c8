"""The thread's life decided without storage: transitions from plain snapshots, and the
inbound plan from the customer's snapshot (domain/thread.py, domain/inbound.py)."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain import thread as life
from chalicelib.domain.inbound import CustomerSnapshot, plan_inbound
from chalicelib.domain.messages import Channel, InboundMessage
from chalicelib.domain.thread import CLEAR, Awaiting, ThreadSnapshot, ThreadStatus, Transition
from chalicelib.settings import DEFAULT_STORES_FILE
from chalicelib.stores import StoreConfig, load_stores

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=2)
OPEN = ThreadSnapshot(ThreadStatus.OPEN)
CLOSED = ThreadSnapshot(ThreadStatus.CLOSED)
PENDING = ThreadSnapshot(ThreadStatus.PENDING, paused_at=NOW - timedelta(hours=1))


def test_the_status_values_are_the_stored_strings() -> None:
    assert [s.value for s in ThreadStatus] == ["open", "pending", "snoozed", "closed"]
    assert ThreadStatus("closed") is ThreadStatus.CLOSED
    assert Awaiting("agent") is Awaiting.AGENT


def test_closing_stops_every_clock_and_tells_the_pointer() -> None:
    t = life.close(OPEN, NOW)
    assert t.status is ThreadStatus.CLOSED
    assert (t.closed_at, t.pointer_closed_at, t.snoozed_until) == (NOW, NOW, CLEAR)
    assert t.new_promise
    assert t.resolution_changed
    assert t.owes_nothing
    assert not t.new_snooze


@pytest.mark.parametrize("decide", [life.pause, lambda s, at: life.snooze(s, LATER, at)])
def test_waiting_on_the_customer_owes_nothing_and_stops_both_clocks(decide: object) -> None:
    assert callable(decide)
    t: Transition = decide(OPEN, NOW)
    assert t.awaiting is Awaiting.CUSTOMER
    assert t.new_promise
    assert t.resolution_changed
    assert t.owes_nothing
    assert t.paused_at == NOW


def test_a_snooze_keeps_an_earlier_pause_and_gets_its_own_epoch() -> None:
    t = life.snooze(PENDING, LATER, NOW)
    assert t.status is ThreadStatus.SNOOZED
    assert t.paused_at is None  # the resolution clock stopped at the earlier pause
    assert t.snoozed_until == LATER
    assert t.new_snooze
    assert life.pause(PENDING, NOW).paused_at == NOW  # a pause records its own time


def test_reopening_a_closed_thread_settles_its_resolution_promise() -> None:
    closed = life.reopen(CLOSED, NOW)
    assert closed.status is ThreadStatus.OPEN
    assert (closed.closed_at, closed.resolution_due_at, closed.pointer_closed_at) == (
        CLEAR,
        CLEAR,
        CLEAR,
    )
    pending = life.reopen(PENDING, NOW)
    assert (pending.closed_at, pending.resolution_due_at) == (None, None)
    for t in (closed, pending):
        assert t.resolution_changed
        assert not t.new_promise


def test_an_answer_keeps_the_promise_and_the_first_answer_is_remembered() -> None:
    first = life.answered(OPEN, NOW)
    assert (first.first_response_at, first.last_response_at) == (NOW, NOW)
    assert first.new_promise
    assert first.owes_nothing
    assert not first.resolution_changed
    again = life.answered(ThreadSnapshot(ThreadStatus.OPEN, first_response_at=NOW), LATER)
    assert (again.first_response_at, again.last_response_at) == (None, LATER)


def test_only_a_running_promise_is_re_planned_by_a_priority() -> None:
    assert life.reprioritised(None) == Transition()
    assert life.reprioritised(LATER) == Transition(response_due_at=LATER, new_promise=True)


def test_an_erasure_closes_only_what_is_open() -> None:
    assert life.erased(CLOSED, NOW) == Transition()
    t = life.erased(OPEN, NOW)
    assert (t.status, t.closed_at, t.updated_at) == (ThreadStatus.CLOSED, NOW, None)
    assert t.new_promise
    assert t.resolution_changed


def test_a_wake_and_a_resume() -> None:
    assert life.wake(NOW) == Transition(
        status=ThreadStatus.OPEN, snoozed_until=CLEAR, updated_at=NOW
    )
    assert life.resume_resolution(None) == Transition(paused_at=CLEAR, resolution_changed=True)


def test_retention_counts_whole_days_from_the_close() -> None:
    assert life.expires_at(NOW, 30) == int((NOW + timedelta(days=30)).timestamp())


# -- the inbound plan ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> StoreConfig:
    store = load_stores(DEFAULT_STORES_FILE).by_id("demo")
    assert store is not None
    return store


def message(body: str = "Where is my order?", at: datetime = NOW) -> InboundMessage:
    return InboundMessage(
        channel=Channel.SMS,
        provider_id="SM1",
        sender="+420777000111",
        recipient="+15005550006",
        body=body,
        received_at=at,
    )


def test_a_first_message_starts_a_thread_and_is_acknowledged(demo: StoreConfig) -> None:
    plan = plan_inbound(demo, None, message(), thread_id=None, pending_due=None)
    assert plan.new_thread
    assert plan.new_promise
    assert plan.acknowledged_at == NOW
    assert plan.ack_count == 1
    assert plan.response_target == "first_response"
    assert plan.due_at > NOW


def test_a_follow_up_keeps_the_running_promise(demo: StoreConfig) -> None:
    due = NOW + timedelta(hours=3)
    customer = CustomerSnapshot(open_thread_id="t1", due_at=due, last_ack_at=NOW)
    plan = plan_inbound(
        demo, customer, message(at=NOW + timedelta(minutes=1)), thread_id="t1", pending_due=due
    )
    assert (plan.thread_id, plan.new_thread, plan.new_promise) == ("t1", False, False)
    assert plan.due_at == due
    assert plan.acknowledged_at is None  # within the cool-down
    follow_up = plan.follow_up(NOW)
    assert not follow_up.new_promise
    assert (follow_up.promise_started_at, follow_up.response_target) == (None, None)
    assert follow_up.status is ThreadStatus.OPEN
    assert follow_up.awaiting is Awaiting.AGENT
    assert (follow_up.closed_at, follow_up.snoozed_until) == (CLEAR, CLEAR)


def test_a_message_after_an_answer_starts_a_next_response_promise(demo: StoreConfig) -> None:
    customer = CustomerSnapshot(open_thread_id="t1", responded=True)
    plan = plan_inbound(
        demo, customer, message(), thread_id="t1", pending_due=None, answered_before=True
    )
    assert plan.response_target == "next_response"
    follow_up = plan.follow_up(NOW)
    assert follow_up.new_promise
    assert (follow_up.promise_started_at, follow_up.response_target) == (NOW, "next_response")


def test_the_daily_cap_counts_the_store_local_day(demo: StoreConfig) -> None:
    today = NOW.astimezone(ZoneInfo(demo.calendar.timezone)).date().isoformat()
    capped = CustomerSnapshot(ack_day=today, ack_count=demo.ack_daily_cap)
    plan = plan_inbound(demo, capped, message(), thread_id=None, pending_due=None)
    assert plan.acknowledged_at is None
    assert plan.ack_count == demo.ack_daily_cap
    yesterday = CustomerSnapshot(ack_day="2000-01-01", ack_count=demo.ack_daily_cap)
    plan = plan_inbound(demo, yesterday, message(), thread_id=None, pending_due=None)
    assert plan.ack_count == 1


def test_stop_opts_out_and_is_not_acknowledged(demo: StoreConfig) -> None:
    plan = plan_inbound(demo, None, message("STOP"), thread_id=None, pending_due=None)
    assert plan.opted_out
    assert plan.acknowledged_at is None


def test_the_thread_domain_imports_no_storage() -> None:
    domain = Path(life.__file__).parent
    for name in ("thread.py", "inbound.py"):
        tree = ast.parse((domain / name).read_text())
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not {m for m in modules if m.split(".")[0] in {"pynamodb", "boto3", "botocore"}}
        assert not {m for m in modules if m.startswith(("chalicelib.store", "chalicelib.settings"))}
