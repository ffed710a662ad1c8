"""When a promise starts, its timers are queued: the reminder, the breach and the escalation
ladder of each running promise, once per promise; a snooze queues its wake-up.

Two families: the *response* promise (the next answer: first or next response; its epoch
is `sla_epoch`) and the *resolution* promise (the thread's close, paused while pending;
its epoch is `resolution_epoch`). The timers fire in `flows/timers.py`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.domain.sla import (
    NEXT_RESPONSE,
    Target,
    checkpoints,
    deadline,
    minutes_left,
)
from chalicelib.domain.thread import Awaiting, ThreadStatus
from chalicelib.queues import Timer, TimerKind
from chalicelib.store.models import ThreadItem
from chalicelib.stores import StoreConfig

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)

RESPONSE, RESOLUTION, SNOOZE = "response", "resolution", "snooze"


def running_promises(
    store: StoreConfig, thread: ThreadItem
) -> list[tuple[str, int, datetime, datetime, Target]]:
    """(family, epoch, started, due, target) of each promise running on the thread."""
    targets = store.sla.targets_for(thread.channel, thread.priority)
    running = []
    due, started = thread.response_due_at, thread.promise_started_at
    if thread.awaiting == Awaiting.AGENT and thread.status == ThreadStatus.OPEN and due and started:
        target = (
            targets.next_response
            if thread.response_target == NEXT_RESPONSE
            else targets.first_response
        )
        running.append((RESPONSE, int(thread.sla_epoch), started, due, target))
    resolution_due = thread.resolution_due_at
    if (
        targets.resolution
        and resolution_due
        and thread.status == ThreadStatus.OPEN
        and not thread.paused_at
    ):
        running.append(
            (
                RESOLUTION,
                int(thread.resolution_epoch),
                thread.created_at,
                resolution_due,
                targets.resolution,
            )
        )
    return running


def schedule_timers(c: Container, store: StoreConfig, thread: ThreadItem) -> None:
    """Queue the timers of each running promise, once per promise (idempotent)."""
    if thread.status == ThreadStatus.OPEN and thread.paused_at is not None:
        _resume(c, store, thread)
        refreshed = c.repository.thread(store.store_id, thread.thread_id)
        if refreshed is None:
            return
        thread = refreshed
    scheduled = thread.scheduled_timers or set()
    for family, epoch, started, due, target in running_promises(store, thread):
        key = f"{family}:{epoch}"
        if key in scheduled:
            continue
        points = checkpoints(
            store.calendar, store.sla, started_at=started, due_at=due, target=target
        )
        timers = [
            Timer(TimerKind(p.kind), store.store_id, thread.thread_id, epoch, p.at, p.step, family)
            for p in points
        ]
        c.timers.send_all(timers, now=c.clock())
        c.repository.timers_scheduled(thread, key)
        log.info("timers scheduled: thread=%s %s count=%s", thread.thread_id, key, len(timers))


def schedule_wake(
    c: Container, store: StoreConfig, thread: ThreadItem, epoch: int, until: datetime
) -> None:
    """A snoozed thread wakes at `until`, unless something wakes it earlier."""
    timer = Timer(TimerKind.WAKE, store.store_id, thread.thread_id, epoch, until, family=SNOOZE)
    c.timers.send_all([timer], now=c.clock())


def _resume(c: Container, store: StoreConfig, thread: ThreadItem) -> None:
    """A pending thread heard from its customer: the resolution clock runs on."""
    target = store.sla.targets_for(thread.channel, thread.priority).resolution
    due = thread.resolution_due_at
    new_due = None
    if target and due and thread.paused_at:
        left = minutes_left(store.calendar, thread.paused_at, due, target)
        new_due = deadline(store.calendar, thread.updated_at, Target(left, target.business_hours))
    c.repository.resume_resolution(thread, new_due)
