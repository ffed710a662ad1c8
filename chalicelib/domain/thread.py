"""A thread's life: its states, the epochs that keep its timers honest, and the changes an
agent or a delivery makes to it, decided here from a plain snapshot and applied by the
repository (store/threads.py), which is the only code that touches the stored item.

The epochs. A timer carries the epoch of the promise it watches and acts only while the
thread still holds that epoch (flows/timers.py), so a change that ends or re-plans a
promise only has to bump the epoch to make every timer of the old promise do nothing:

- the SLA epoch (`new_promise`): the response promise started, was kept, re-planned with
  a new deadline, or stopped (pending, snoozed, closed);
- the resolution epoch (`resolution_changed`): the resolution clock paused, resumed or
  stopped;
- the snooze epoch (`new_snooze`): a snooze began; only the latest one's wake-up acts.

Every decision below says which it bumps; nothing else does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum, StrEnum


class ThreadStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    """Waiting on the customer: no response is owed, the resolution clock stands still."""
    SNOOZED = "snoozed"
    """Like pending, until a set time; then open again."""
    CLOSED = "closed"


class Awaiting(StrEnum):
    """Who must answer next."""

    AGENT = "agent"
    CUSTOMER = "customer"


class Clear(Enum):
    """A transition's value that removes the attribute (None leaves it as it is)."""

    CLEAR = "clear"


CLEAR = Clear.CLEAR


@dataclass(frozen=True)
class ThreadSnapshot:
    """What the thread's decisions read: plain values, copied from the stored item."""

    status: ThreadStatus
    paused_at: datetime | None = None
    first_response_at: datetime | None = None


@dataclass(frozen=True)
class Transition:
    """One change of the thread, decided and not yet stored. For each value: None leaves
    the attribute alone, CLEAR removes it, anything else sets it."""

    status: ThreadStatus | None = None
    awaiting: Awaiting | None = None
    updated_at: datetime | None = None
    closed_at: datetime | Clear | None = None
    snoozed_until: datetime | Clear | None = None
    paused_at: datetime | Clear | None = None
    resolution_due_at: datetime | Clear | None = None
    response_due_at: datetime | None = None
    first_response_at: datetime | None = None
    last_response_at: datetime | None = None
    promise_started_at: datetime | None = None
    """The running promise began here: its reminder is a share of the time from here."""
    response_target: str | None = None
    """Which promise `response_due_at` is: 'first_response' or 'next_response'."""
    new_promise: bool = False
    """Bump the SLA epoch: the response promise started, was kept, re-planned or stopped."""
    resolution_changed: bool = False
    """Bump the resolution epoch: the resolution clock paused, resumed or stopped."""
    new_snooze: bool = False
    """Bump the snooze epoch: earlier snoozes' wake-ups do nothing."""
    pointer_closed_at: datetime | Clear | None = None
    """The customer's pointer: when their open thread closed (a follow-up reopens it)."""
    owes_nothing: bool = False
    """The customer's pointer: no answer is owed them any longer."""


def close(thread: ThreadSnapshot, at: datetime) -> Transition:
    """Closed: no promise runs; the customer's next message reopens it within the store's
    reopen window, and starts a new, linked thread after it."""
    return Transition(
        status=ThreadStatus.CLOSED,
        closed_at=at,
        snoozed_until=CLEAR,
        updated_at=at,
        new_promise=True,
        resolution_changed=True,
        pointer_closed_at=at,
        owes_nothing=True,
    )


def reopen(thread: ThreadSnapshot, at: datetime) -> Transition:
    """An agent's `#reopen`: open again. A closed thread's resolution promise was settled
    when it closed and does not run again; a pending or snoozed thread's resolution clock
    runs on (the timers resume it)."""
    closed = thread.status is ThreadStatus.CLOSED
    return Transition(
        status=ThreadStatus.OPEN,
        updated_at=at,
        snoozed_until=CLEAR,
        resolution_changed=True,
        closed_at=CLEAR if closed else None,
        resolution_due_at=CLEAR if closed else None,
        pointer_closed_at=CLEAR,
    )


def pause(thread: ThreadSnapshot, at: datetime) -> Transition:
    """Pending: we wait on the customer; no response is owed and the resolution clock
    stands still until they write again."""
    return Transition(
        status=ThreadStatus.PENDING,
        paused_at=at,
        awaiting=Awaiting.CUSTOMER,
        updated_at=at,
        new_promise=True,
        resolution_changed=True,
        owes_nothing=True,
    )


def snooze(thread: ThreadSnapshot, until: datetime, at: datetime) -> Transition:
    """Snoozed until `until`: like pending, no clock runs (it stopped when the snooze or
    an earlier pause began); the new snooze epoch is what its wake-up timer carries."""
    return Transition(
        status=ThreadStatus.SNOOZED,
        snoozed_until=until,
        new_snooze=True,
        awaiting=Awaiting.CUSTOMER,
        updated_at=at,
        new_promise=True,
        resolution_changed=True,
        paused_at=at if thread.paused_at is None else None,
        owes_nothing=True,
    )


def wake(at: datetime) -> Transition:
    """The snooze is over: open again (the repository checks it is still that snooze)."""
    return Transition(status=ThreadStatus.OPEN, snoozed_until=CLEAR, updated_at=at)


def resume_resolution(due: datetime | None) -> Transition:
    """The customer wrote again: the resolution clock runs on from where it stopped."""
    return Transition(paused_at=CLEAR, resolution_changed=True, resolution_due_at=due)


def answered(thread: ThreadSnapshot, at: datetime) -> Transition:
    """A person's answer went out: the promise is kept and the clock stops. (An automatic
    acknowledgement changes nothing on the thread.)"""
    return Transition(
        awaiting=Awaiting.CUSTOMER,
        updated_at=at,
        last_response_at=at,
        first_response_at=at if thread.first_response_at is None else None,
        new_promise=True,
        owes_nothing=True,
    )


def answered_automatically(at: datetime) -> Transition:
    """Automation answered: nothing is owed while the customer reads it, and no person's
    promise has started. Pending, so that the clocks stand still; the customer's next
    message opens it for a person, and silence resolves it (`resolved_automatically`)."""
    return Transition(
        status=ThreadStatus.PENDING,
        paused_at=at,
        awaiting=Awaiting.CUSTOMER,
        updated_at=at,
        new_promise=True,
        resolution_changed=True,
        owes_nothing=True,
    )


def reprioritised(response_due: datetime | None) -> Transition:
    """A new priority re-plans the running response promise (new deadline, new epoch);
    with no promise running there is nothing to re-plan."""
    if response_due is None:
        return Transition()
    return Transition(response_due_at=response_due, new_promise=True)


def erased(thread: ThreadSnapshot, at: datetime) -> Transition:
    """The customer's data was erased: an open thread is closed, so its timers do nothing.
    (Unlike an agent's close, this is no activity on the thread.)"""
    if thread.status is ThreadStatus.CLOSED:
        return Transition()
    return Transition(
        status=ThreadStatus.CLOSED, closed_at=at, new_promise=True, resolution_changed=True
    )


# -- retention -------------------------------------------------------------------------------


def expires_at(closed_at: datetime, retention_days: int) -> int:
    """The TTL value (epoch seconds) of a thread closed at `closed_at`: DynamoDB deletes it
    and its messages then (store/retention.py)."""
    return int((closed_at + timedelta(days=retention_days)).timestamp())
