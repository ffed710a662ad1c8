"""Flow 3a: an agent answers from their mailbox. Commands at the top of the reply change
the thread (`#close`, `#assign sam`, ...); the rest goes to the customer, or, after
`#note`, stays on the thread as an internal note. Every change is recorded with who made it.

A reply that needs the store's shop (`#order 1042`, or a saved reply that uses `{order.*}`)
is checked here as far as it can be without the shop, then finished in a job
(`apply_agent_order`): no shop call is made on a webhook's path. If the shop has no such
order or cannot be reached, the agent is told by e-mail and nothing reaches the customer.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib import logs
from chalicelib.commerce.port import ShopRefused, ShopUnavailable
from chalicelib.domain import report_counts
from chalicelib.domain.automail import automatic_reason
from chalicelib.domain.commands import Command, CommandError, ParsedReply, help_text, parse_reply
from chalicelib.domain.customer_view import (
    OrderFacts,
    TemplateError,
    fill_order,
    order_line,
    order_placeholders,
)
from chalicelib.domain.errors import MalformedRequest
from chalicelib.domain.mail import InboundEmail, new_message_id
from chalicelib.domain.messages import contact_of, message_id_for
from chalicelib.domain.reply import visible_reply
from chalicelib.domain.sla import NEXT_RESPONSE, deadline
from chalicelib.domain.snooze import snooze_until
from chalicelib.domain.thread import Awaiting, ThreadStatus
from chalicelib.flows.agent_mail import mail_staff
from chalicelib.flows.customer_context import order_facts
from chalicelib.flows.deliver import queue_survey
from chalicelib.flows.promises import schedule_timers, schedule_wake
from chalicelib.flows.retention import retention_job_for
from chalicelib.queues import Job, JobKind
from chalicelib.store.models import MessageItem, ThreadItem
from chalicelib.store.repository import AlreadyRecorded
from chalicelib.stores import Agent, StoreConfig

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)


def accept_agent_reply(
    c: Container, store: StoreConfig, thread: ThreadItem, email: InboundEmail
) -> str:
    """The sender is a verified agent of this thread's store: apply, record, queue."""
    logs.bind_message(store.store_id, email.message_id)
    if reason := automatic_reason(email.headers, email.sender):
        log.info("automatic mail to a reply address ignored: %s", reason)
        return "ignored"
    agent = store.agent(email.sender)
    assert agent is not None  # the caller checked store.is_agent
    text = visible_reply(email.text)
    try:
        reply = parse_reply(text)
        resolved = _resolve(c, store, thread, agent, reply)
    except CommandError as exc:
        _tell_agent(c, store, thread, agent, exc.problems)
        return "rejected: " + "; ".join(exc.problems)
    if not reply.text and not reply.commands:
        raise MalformedRequest("the reply has no new text above the quoted message")
    if resolved.needs_shop:
        return _hold_for_the_shop(c, store, thread, email, agent, text)
    return _carry_out(
        c, store, thread, agent, _Mail(email.message_id, email.sender_name), reply, resolved
    )


@dataclass(frozen=True)
class _Mail:
    """What the rest of the flow needs of the agent's e-mail."""

    message_id: str
    sender_name: str | None


MAX_HELD_CHARS = 16_000
"""The visible reply travels in the job (SQS takes 256 KiB, JSON escapes a character in up
to 12 bytes); a longer answer with #order is refused with a reason, never cut."""


def _hold_for_the_shop(
    c: Container,
    store: StoreConfig,
    thread: ThreadItem,
    email: InboundEmail,
    agent: Agent,
    text: str,
) -> str:
    """Everything checked that can be checked without the shop: the rest runs in a job."""
    if len(text) > MAX_HELD_CHARS:
        problem = (
            f"#order: a reply that uses the shop can be at most {MAX_HELD_CHARS:,} characters "
            f"long (yours has {len(text):,}); send #order on its own first, then the answer"
        )
        _tell_agent(c, store, thread, agent, (problem,))
        return "rejected: " + problem
    detail = {
        "message_id": email.message_id,
        "sender": agent.email,
        "sender_name": email.sender_name,
        "text": text,
    }
    job = Job(
        JobKind.AGENT_ORDER,
        store.store_id,
        thread.thread_id,
        message_id_for(store.store_id, email.message_id),
        detail=json.dumps(detail),
    )
    c.jobs.send_all([job])
    return "queued for the shop"


def apply_agent_order(c: Container, job: Job) -> None:
    """The job: read the order from the store's shop (any order of the store: agents are
    not the customer), then do what the reply says. A missing order or a shop that cannot
    answer is told to the agent, once; nothing is sent to the customer."""
    store = c.stores.by_id(job.store_id)
    thread = c.repository.thread(job.store_id, job.thread_id) if store else None
    held = json.loads(job.detail or "{}")
    agent = store.agent(str(held.get("sender", ""))) if store else None
    if store is None or thread is None or agent is None:
        log.warning("agent order job dropped: unknown store, thread or agent %s", job.thread_id)
        return
    mail = _Mail(str(held["message_id"]), held.get("sender_name"))
    try:
        reply = parse_reply(str(held["text"]))
        order = _look_up(c, store, thread, reply)
        resolved = _resolve(c, store, thread, agent, reply, order=order)
    except CommandError as exc:
        if c.repository.claim(
            store.store_id, f"{mail.message_id}#told", thread.thread_id, c.clock()
        ):
            _tell_agent(c, store, thread, agent, exc.problems)
        log.info(
            "agent reply with #order refused: store=%s thread=%s", store.store_id, thread.thread_id
        )
        return
    _carry_out(c, store, thread, agent, mail, reply, resolved)


def _look_up(
    c: Container, store: StoreConfig, thread: ThreadItem, reply: ParsedReply
) -> OrderFacts:
    """The order the reply names, else the thread's attached one; CommandError if the shop
    has no such order or cannot say."""
    command = reply.get("order")
    number = command.argument if command else thread.attached_order
    said = f"#order {number}" if command else f"the attached order #{number}"
    if number is None:  # _resolve asked for the shop only with a number to look up
        raise CommandError(["no order is attached to this conversation: add #order <number>"])
    try:
        shop = c.shop_for(store)
        found = shop.order(number) if shop is not None else None
    except ShopUnavailable as exc:
        log.warning("shop unavailable for #order: store=%s %s", store.store_id, exc)
        raise CommandError(
            [f"{said}: the shop could not be reached just now; try again in a few minutes"]
        ) from exc
    except ShopRefused as exc:
        log.warning("shop refused #order: store=%s %s", store.store_id, exc)
        raise CommandError(
            [
                f"{said}: the shop refused relaydesk's request (the store's shop "
                "credentials may need attention)"
            ]
        ) from exc
    if found is None:
        raise CommandError([f"{said}: the shop of {store.name} has no such order"])
    return order_facts(found)


def _carry_out(
    c: Container,
    store: StoreConfig,
    thread: ThreadItem,
    agent: Agent,
    mail: _Mail,
    reply: ParsedReply,
    resolved: _Resolved,
) -> str:
    """Queue the answer (once per Message-ID) and apply the commands (once)."""
    answer = resolved.answer
    outcome = []
    if answer:
        outcome.append(_queue_answer(c, store, thread, mail, agent, answer, survey=resolved.closes))
    if not (reply.is_note or resolved.changes):
        return ", ".join(outcome)
    if not c.repository.claim(
        store.store_id, f"{mail.message_id}#commands", thread.thread_id, c.clock()
    ):
        return ", ".join([*outcome, "commands applied before"])
    if reply.is_note:
        _record(c, thread, agent, "note", reply.text)
        outcome.append("note")
    for command in resolved.changes:
        outcome.append(_apply(c, store, thread, agent, command, resolved, answered=bool(answer)))
    log.info("agent reply: store=%s thread=%s %s", store.store_id, thread.thread_id, outcome)
    return ", ".join(outcome)


@dataclass
class _Resolved:
    """The reply's commands checked against this store: agents, templates, times."""

    answer: str = ""
    assignee: Agent | None = None
    snooze_until: datetime | None = None
    changes: list[Command] = field(default_factory=list)
    order: OrderFacts | None = None
    """The order read from the shop, when the reply needed one."""
    needs_shop: bool = False
    """The reply names an order, or its saved reply uses one: a job finishes it."""

    @property
    def closes(self) -> bool:
        return any(command.name == "close" for command in self.changes)


def _resolve(
    c: Container,
    store: StoreConfig,
    thread: ThreadItem,
    agent: Agent,
    reply: ParsedReply,
    *,
    order: OrderFacts | None = None,
) -> _Resolved:
    """Raises CommandError with every problem that needs this store to see. Without
    `order`, a reply that needs the shop comes back `needs_shop` (its answer not yet made);
    with it (from the job), the saved reply's `{order.*}` are filled from it."""
    resolved, problems = _Resolved(order=order), []
    resolved.answer = "" if reply.is_note else reply.text
    resolved.changes = [
        cmd for cmd in reply.commands if cmd.name not in ("note", "template", "tag")
    ]
    if reply.tags:  # every #tag line at once
        resolved.changes.append(Command("tag", ", ".join(reply.tags)))
    names_order = reply.get("order") is not None
    if names_order and store.commerce is None:
        problems.append(f"#order: {store.name} has no shop connected to look orders up in")
    resolved.needs_shop = order is None and names_order
    if template := reply.get("template"):
        saved = store.reply_templates.get(template.argument)
        if saved is None:
            names = ", ".join(sorted(store.reply_templates)) or "none are configured"
            problems.append(f"#template {template.argument}: no such saved reply ({names})")
        elif order is None and order_placeholders(saved) and (names_order or thread.attached_order):
            resolved.needs_shop = store.commerce is not None
            if store.commerce is None:
                problems.append(f"#template {template.argument}: {store.name} has no shop")
        else:
            try:
                filled = fill_order(saved.strip(), order, timezone=store.calendar.timezone)
            except TemplateError as exc:
                problems.append(f"#template {template.argument}: {exc}")
            else:
                resolved.answer = "\n\n".join(p for p in (filled, reply.text) if p)
    if assign := reply.get("assign"):
        resolved.assignee = (
            agent if assign.argument.lower() == "me" else store.agent(assign.argument)
        )
        if resolved.assignee is None:
            team = ", ".join(f"{a.name} <{a.email}>" for a in store.team)
            problems.append(f"#assign {assign.argument}: not an agent of {store.name} ({team})")
    if snooze := reply.get("snooze"):
        try:
            resolved.snooze_until = snooze_until(
                snooze.argument, now=c.clock(), calendar=store.calendar
            )
        except ValueError as exc:
            problems.append(f"#snooze: {exc}")
    if problems:
        raise CommandError(problems)
    return resolved


def _apply(
    c: Container,
    store: StoreConfig,
    thread: ThreadItem,
    agent: Agent,
    command: Command,
    resolved: _Resolved,
    *,
    answered: bool,
) -> str:
    """One command, then the event that records it; returns what happened, for the log."""
    now = c.clock()
    name = command.name
    if name == "priority":
        _set_priority(c, store, thread, command.argument)
        said = f"priority set to {command.argument}"
    elif name == "tag":
        c.repository.add_tags(thread, command.argument.split(", "))
        said = f"tagged {command.argument}"
    elif name == "order":
        c.repository.attach_order(thread, command.argument)
        found = resolved.order
        details = f": {order_line(found, store.calendar.timezone)}" if found else ""
        said = f"order #{command.argument} attached"  # the details on the thread, not in logs
        _record(c, thread, agent, "event", said + details)
        return said
    elif name == "assign":
        assignee = resolved.assignee
        assert assignee is not None
        c.repository.assign(thread, assignee.email)
        said = f"assigned to {assignee.name} <{assignee.email}>"
        if assignee.email != agent.email:
            event = _record(c, thread, agent, "event", said)
            c.jobs.send_all(
                [Job(JobKind.NOTIFY_ASSIGNEE, store.store_id, thread.thread_id, event.sk)]
            )
            return said
    elif name == "close":
        c.repository.close_thread(thread, now, close_counts(store, thread, now))
        said = "closed"
        if not answered:  # with an answer, the survey follows the answer (deliver.py)
            closed = c.repository.thread(store.store_id, thread.thread_id)
            if closed is not None:
                queue_survey(c, store, closed)
    elif name == "pending":
        c.repository.pause_thread(thread, now)
        said = "pending: waiting on the customer"
    elif name == "snooze":
        until = resolved.snooze_until
        assert until is not None
        epoch = c.repository.snooze_thread(thread, until, now)
        schedule_wake(c, store, thread, epoch, until)
        said = f"snoozed until {until.isoformat(timespec='minutes')}"
    else:  # reopen
        c.repository.reopen_thread(thread, now)
        if thread.status == ThreadStatus.CLOSED:
            c.jobs.send_all([retention_job_for(store.store_id, thread.thread_id)])
        reopened = c.repository.thread(store.store_id, thread.thread_id)
        if reopened is not None:
            schedule_timers(c, store, reopened)
        said = "reopened"
    _record(c, thread, agent, "event", said)
    if name == "close":  # after the last item the close adds: each gets the expiry
        c.jobs.send_all([retention_job_for(store.store_id, thread.thread_id)])
    return said


def close_counts(
    store: StoreConfig, thread: ThreadItem, at: datetime
) -> report_counts.Counts | None:
    """The resolution promise, kept or broken when an agent closes the thread (a breach its
    timer counted already counts once); None when no resolution promise is running."""
    due = thread.resolution_due_at
    if thread.status == ThreadStatus.CLOSED or due is None or thread.resolution_breached_at:
        return None
    timezone = store.calendar.timezone
    kept = (thread.paused_at or at) <= due
    hour = report_counts.local_day_hour(due, timezone)[1]
    return report_counts.counts_at(
        at,
        timezone,
        thread.thread_id,
        report_counts.promise_outcome(report_counts.RESOLUTION, kept, hour),
        event=f"close:{thread.resolution_epoch}",
    )


def _record(c: Container, thread: ThreadItem, agent: Agent, kind: str, text: str) -> MessageItem:
    return c.repository.record_event(
        thread, kind=kind, author=agent.email, author_name=agent.name, body=text, at=c.clock()
    )


def _set_priority(c: Container, store: StoreConfig, thread: ThreadItem, priority: str) -> None:
    """Re-plan the running response promise with the priority's target, from its start."""
    due = None
    started = thread.promise_started_at
    if (
        thread.awaiting == Awaiting.AGENT
        and thread.status == ThreadStatus.OPEN
        and started is not None
    ):
        targets = store.sla.targets_for(thread.channel, priority)
        target = (
            targets.next_response
            if thread.response_target == NEXT_RESPONSE
            else targets.first_response
        )
        due = deadline(store.calendar, started, target)
    c.repository.set_priority(thread, priority, due)
    refreshed = c.repository.thread(store.store_id, thread.thread_id)
    if refreshed is not None:
        schedule_timers(c, store, refreshed)


def _queue_answer(
    c: Container,
    store: StoreConfig,
    thread: ThreadItem,
    mail: _Mail,
    agent: Agent,
    text: str,
    *,
    survey: bool,
) -> str:
    try:
        stored = c.repository.record_outbound(
            thread,
            provider_id=mail.message_id,
            author=agent.email,
            author_name=mail.sender_name or agent.name,
            body=text,
            at=c.clock(),
            email_message_id=new_message_id(store.support_address)
            if c.channels[thread.channel].threads_by_message_id
            else None,
            survey_after=survey and store.survey,
        )
        message_sk, outcome = stored.sk, "queued"
    except AlreadyRecorded as duplicate:
        message_sk, outcome = duplicate.message_sk, "duplicate"
    c.jobs.send_all([Job(JobKind.DELIVER_REPLY, store.store_id, thread.thread_id, message_sk)])
    return outcome


def _tell_agent(
    c: Container, store: StoreConfig, thread: ThreadItem, agent: Agent, problems: tuple[str, ...]
) -> None:
    """A wrong command: nothing reaches the customer, and the agent learns why at once."""
    listed = "\n".join(f"- {p}" for p in problems)
    text = (
        "Nothing was sent to the customer and the thread was not changed, because:\n"
        f"{listed}\n\nFix the command and reply to the original notification again.\n\n"
        f"{help_text()}"
    )
    subject = f"Not sent: your reply to {contact_of(thread.customer)}"
    mail_staff(c, store, (agent.email,), subject, text, auto_submitted="auto-replied")
