"""Threads: reading one, and applying the changes its life goes through. What changes is
decided in domain/thread.py; this module turns a Transition into DynamoDB actions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from pynamodb.attributes import Attribute
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.domain import thread as life
from chalicelib.domain.report_counts import Counts
from chalicelib.domain.thread import Clear, ThreadSnapshot, ThreadStatus, Transition
from chalicelib.store import _dynamo
from chalicelib.store.counters import with_counts
from chalicelib.store.customers import update_pointer_of
from chalicelib.store.models import (
    META,
    CustomerItem,
    StoreItem,
    ThreadItem,
    store_pk,
    thread_pk,
)


def snapshot(item: ThreadItem) -> ThreadSnapshot:
    """The item's values that the thread's decisions read, as plain data."""
    return ThreadSnapshot(
        status=ThreadStatus(item.status),
        paused_at=item.paused_at,
        first_response_at=item.first_response_at,
    )


def _set(attribute: Attribute[Any], value: object) -> list[Action]:
    """None: unchanged; CLEAR: removed; anything else: set."""
    if value is None:
        return []
    if isinstance(value, Clear):
        return [attribute.remove()]
    return [attribute.set(value.value if isinstance(value, StrEnum) else value)]


def transition_actions(t: Transition) -> list[Action]:
    """The thread item's actions for `t`. The only place an epoch is bumped."""
    actions = [
        *_set(ThreadItem.status, t.status),
        *_set(ThreadItem.awaiting, t.awaiting),
        *_set(ThreadItem.updated_at, t.updated_at),
        *_set(ThreadItem.closed_at, t.closed_at),
        *_set(ThreadItem.snoozed_until, t.snoozed_until),
        *_set(ThreadItem.paused_at, t.paused_at),
        *_set(ThreadItem.resolution_due_at, t.resolution_due_at),
        *_set(ThreadItem.response_due_at, t.response_due_at),
        *_set(ThreadItem.first_response_at, t.first_response_at),
        *_set(ThreadItem.last_response_at, t.last_response_at),
        *_set(ThreadItem.promise_started_at, t.promise_started_at),
        *_set(ThreadItem.response_target, t.response_target),
    ]
    if t.new_promise:
        actions.append(ThreadItem.sla_epoch.add(1))
    if t.resolution_changed:
        actions.append(ThreadItem.resolution_epoch.add(1))
    if t.new_snooze:
        actions.append(ThreadItem.snooze_epoch.add(1))
    return actions


def apply_locally(thread: ThreadItem, t: Transition) -> None:
    """What `update` does to the item after an update: `t`'s values on the local item, for
    a transition stored in a transaction (which returns no values)."""
    for name in (
        "status",
        "awaiting",
        "updated_at",
        "closed_at",
        "snoozed_until",
        "paused_at",
        "resolution_due_at",
        "response_due_at",
        "first_response_at",
        "last_response_at",
        "promise_started_at",
        "response_target",
    ):
        value = getattr(t, name)
        if value is None:
            continue
        value = None if isinstance(value, Clear) else value
        setattr(thread, name, value.value if isinstance(value, StrEnum) else value)
    if t.new_promise:
        thread.sla_epoch = int(thread.sla_epoch) + 1
    if t.resolution_changed:
        thread.resolution_epoch = int(thread.resolution_epoch) + 1
    if t.new_snooze:
        thread.snooze_epoch = int(thread.snooze_epoch) + 1


def pointer_actions(t: Transition) -> list[Action]:
    """The customer's pointer's actions for `t`."""
    actions = _set(CustomerItem.closed_at, t.pointer_closed_at)
    if t.owes_nothing:
        actions.append(CustomerItem.due_at.remove())
    return actions


def apply(thread: ThreadItem, t: Transition, what: str) -> None:
    """Store `t` on the thread, then on the customer's pointer (while it names the thread)."""
    _dynamo.update(thread, transition_actions(t), what)
    update_pointer_of(thread, pointer_actions(t))


class ThreadStore(_dynamo.Table):
    def thread(self, store_id: str, thread_id: str) -> ThreadItem | None:
        return _dynamo.get(ThreadItem, thread_pk(store_id, thread_id), META)

    def threads(self, store_id: str, thread_ids: Sequence[str]) -> dict[str, ThreadItem]:
        """Several threads of one store (one BatchGetItem), by id; missing ones are absent."""
        found = _dynamo.get_many(
            ThreadItem, [(thread_pk(store_id, thread_id), META) for thread_id in thread_ids]
        )
        return {item.thread_id: item for item in found}

    # -- its life (decided in domain/thread.py) -------------------------------------------

    def close_thread(self, thread: ThreadItem, at: datetime, counts: Counts | None = None) -> None:
        """Closed (life.close); the retention TTL is set apart (RetentionStore). The
        report's `counts` (the resolution promise kept or broken) are added with the close,
        once: only while the thread is not closed yet."""
        t = life.close(snapshot(thread), at)
        if counts is not None:

            def write(tx: TransactWrite, counted: list[Action], cond: Condition | None) -> None:
                still_open = ThreadItem.status != ThreadStatus.CLOSED.value
                tx.update(
                    thread,
                    actions=[*transition_actions(t), *counted],
                    condition=still_open if cond is None else still_open & cond,
                )

            if with_counts(self.connection, thread.store_id, counts, write, "closing the thread"):
                apply_locally(thread, t)
                update_pointer_of(thread, pointer_actions(t))
                return
        apply(thread, t, "closing the thread")

    def answered_automatically(
        self, thread: ThreadItem, last_inbound_at: datetime, at: datetime
    ) -> int | None:
        """Automation answered (life.answered_automatically) the thread's last message,
        received at `last_inbound_at`; returns the SLA epoch that the resolve timer
        carries (any later change outdates it), or None if the customer wrote since."""
        t = life.answered_automatically(at)
        answered = _dynamo.update_if(
            thread,
            transition_actions(t),
            (ThreadItem.last_inbound_at == last_inbound_at)
            & ThreadItem.status.is_in(ThreadStatus.OPEN.value, ThreadStatus.PENDING.value),
            "recording the automatic answer",
        )
        if not answered:
            return None
        update_pointer_of(
            thread, [*pointer_actions(t), CustomerItem.answered_automatically.set(True)]
        )
        return int(thread.sla_epoch)

    def resolve_automatically(self, thread: ThreadItem, epoch: int, at: datetime) -> bool:
        """Closed (life.close) if nothing happened since the automatic answer: still
        pending at `epoch`. False when the customer or an agent got there first."""
        t = life.close(snapshot(thread), at)
        closed = _dynamo.update_if(
            thread,
            transition_actions(t),
            (ThreadItem.status == ThreadStatus.PENDING.value) & (ThreadItem.sla_epoch == epoch),
            "resolving the thread",
        )
        if closed:
            update_pointer_of(thread, pointer_actions(t))
        return closed

    def reopen_thread(self, thread: ThreadItem, at: datetime) -> None:
        """An agent's `#reopen` (life.reopen)."""
        apply(thread, life.reopen(snapshot(thread), at), "reopening the thread")

    def pause_thread(self, thread: ThreadItem, at: datetime) -> None:
        """Pending: waiting on the customer (life.pause)."""
        apply(thread, life.pause(snapshot(thread), at), "pausing the thread")

    def snooze_thread(self, thread: ThreadItem, until: datetime, at: datetime) -> int:
        """Snoozed until `until` (life.snooze); returns the snooze's epoch, which its
        wake-up timer carries."""
        apply(thread, life.snooze(snapshot(thread), until, at), "snoozing the thread")
        return int(thread.snooze_epoch)

    def wake_thread(self, thread: ThreadItem, epoch: int, at: datetime) -> bool:
        """The snooze is over, unless the customer, an agent or a later snooze changed it."""
        return _dynamo.update_if(
            thread,
            transition_actions(life.wake(at)),
            (ThreadItem.status == ThreadStatus.SNOOZED.value) & (ThreadItem.snooze_epoch == epoch),
            "waking the thread",
        )

    def resume_resolution(self, thread: ThreadItem, due: datetime | None) -> None:
        """The customer wrote again: the resolution clock runs on from where it stopped."""
        _dynamo.update(
            thread, transition_actions(life.resume_resolution(due)), "resuming the thread"
        )

    def set_priority(
        self, thread: ThreadItem, priority: str, response_due: datetime | None
    ) -> None:
        """A new priority re-plans the running response promise (life.reprioritised)."""
        t = life.reprioritised(response_due)
        _dynamo.update(
            thread,
            [ThreadItem.priority.set(priority), *transition_actions(t)],
            "setting the priority",
        )
        pointer: list[Action] = [CustomerItem.priority.set(priority)]
        if response_due is not None:
            pointer.append(CustomerItem.due_at.set(response_due))
        update_pointer_of(thread, pointer)

    def survey_sent(self, thread: ThreadItem, at: datetime) -> None:
        """The customer's next message on this thread may be their rating."""
        _dynamo.update(thread, [ThreadItem.survey_sent_at.set(at)], "recording the survey")
        pointer: list[Action] = [CustomerItem.survey_thread_id.set(thread.thread_id)]
        # The rating counts for the thread's assignee (read here: the rating's webhook
        # must not read the thread too).
        if thread.assignee:
            pointer.append(CustomerItem.survey_agent.set(thread.assignee))
        else:
            pointer.append(CustomerItem.survey_agent.remove())
        update_pointer_of(thread, pointer)

    # -- the agents' side -----------------------------------------------------------------

    def next_assignment(self, store_id: str) -> int:
        """A counter per store: the round-robin's turn (1, 2, 3, ...)."""
        counter = StoreItem(store_pk(store_id), META)
        _dynamo.update(counter, [StoreItem.assignments.add(1)], "counting assignments")
        return int(counter.assignments)

    def assign(self, thread: ThreadItem, agent: str, *, only_if_unassigned: bool = False) -> bool:
        """False when `only_if_unassigned` and someone else assigned it first."""
        condition = (
            ThreadItem.assignee.does_not_exist() if only_if_unassigned else ThreadItem.pk.exists()
        )
        return _dynamo.update_if(
            thread, [ThreadItem.assignee.set(agent)], condition, "assigning the thread"
        )

    def attach_order(self, thread: ThreadItem, number: str) -> None:
        """An agent's `#order`: the thread's attached order from now on."""
        _dynamo.update(thread, [ThreadItem.attached_order.set(number)], "attaching the order")

    def set_profile_name(self, thread: ThreadItem, name: str) -> None:
        """The customer's name as their channel knows it (Meta's profile), for the agents."""
        _dynamo.update(thread, [ThreadItem.profile_name.set(name)], "recording the name")

    def add_tags(self, thread: ThreadItem, tags: Sequence[str]) -> None:
        _dynamo.update(thread, [ThreadItem.tags.add(set(tags))], "tagging the thread")

    # -- timers ---------------------------------------------------------------------------

    def timers_scheduled(self, thread: ThreadItem, key: str) -> None:
        _dynamo.update(thread, [ThreadItem.scheduled_timers.add({key})], "recording the timers")

    def timer_fired(
        self,
        thread: ThreadItem,
        key: str,
        *,
        breached: bool = False,
        counts: Counts | None = None,
    ) -> bool:
        """Claim a timer before it acts (and, for a breach, record by the injected clock
        when the promise was broken, with the report's `counts`, once even when a failed
        alert releases the claim for its retry); False if another delivery already has."""
        actions: list[Action] = [ThreadItem.fired_timers.add({key})]
        if breached:
            attribute = (
                ThreadItem.resolution_breached_at
                if key.startswith("resolution:")
                else ThreadItem.response_breached_at
            )
            actions.append(attribute.set(self.clock()))
        unclaimed = ThreadItem.fired_timers.does_not_exist() | ~ThreadItem.fired_timers.contains(
            key
        )
        if counts is not None:

            def write(tx: TransactWrite, counted: list[Action], cond: Condition | None) -> None:
                both = unclaimed if cond is None else unclaimed & cond
                tx.update(thread, actions=[*actions, *counted], condition=both)

            if with_counts(self.connection, thread.store_id, counts, write, "recording the timer"):
                thread.fired_timers = {*(thread.fired_timers or set()), key}
                return True
        return _dynamo.update_if(
            thread, actions, ~ThreadItem.fired_timers.contains(key), "recording the timer"
        )

    def timer_unfired(self, thread: ThreadItem, key: str) -> None:
        """The timer claimed but could not act (a provider failed): its retry may act."""
        _dynamo.update(thread, [ThreadItem.fired_timers.delete({key})], "releasing the timer")
