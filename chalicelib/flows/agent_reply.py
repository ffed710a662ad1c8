"""Flow 3a: an agent answers from their mailbox. Commands at the top of the reply change
the thread (`#close`, `#assign sam`, ...); the rest goes to the customer, or, after
`#note`, stays on the thread as an internal note. Every change is recorded with who made it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib import logs
from chalicelib.domain.automail import automatic_reason
from chalicelib.domain.commands import Command, CommandError, ParsedReply, help_text, parse_reply
from chalicelib.domain.errors import MalformedRequest
from chalicelib.domain.mail import InboundEmail, new_message_id
from chalicelib.domain.messages import contact_of
from chalicelib.domain.reply import visible_reply
from chalicelib.domain.sla import NEXT_RESPONSE, deadline
from chalicelib.domain.snooze import snooze_until
from chalicelib.domain.thread import Awaiting, ThreadStatus
from chalicelib.flows.agent_mail import mail_staff
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
    try:
        reply = parse_reply(visible_reply(email.text))
        resolved = _resolve(c, store, agent, reply)
    except CommandError as exc:
        _tell_agent(c, store, thread, agent, exc.problems)
        return "rejected: " + "; ".join(exc.problems)
    if not reply.text and not reply.commands:
        raise MalformedRequest("the reply has no new text above the quoted message")
    answer = resolved.answer
    outcome = []
    if answer:
        outcome.append(
            _queue_answer(c, store, thread, email, agent, answer, survey=resolved.closes)
        )
    if not (reply.is_note or resolved.changes):
        return ", ".join(outcome)
    if not c.repository.claim(
        store.store_id, f"{email.message_id}#commands", thread.thread_id, c.clock()
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

    @property
    def closes(self) -> bool:
        return any(command.name == "close" for command in self.changes)


def _resolve(c: Container, store: StoreConfig, agent: Agent, reply: ParsedReply) -> _Resolved:
    """Raises CommandError with every problem that needs this store to see."""
    resolved, problems = _Resolved(), []
    resolved.answer = "" if reply.is_note else reply.text
    resolved.changes = [
        cmd for cmd in reply.commands if cmd.name not in ("note", "template", "tag")
    ]
    if reply.tags:  # every #tag line at once
        resolved.changes.append(Command("tag", ", ".join(reply.tags)))
    if template := reply.get("template"):
        saved = store.reply_templates.get(template.argument)
        if saved is None:
            names = ", ".join(sorted(store.reply_templates)) or "none are configured"
            problems.append(f"#template {template.argument}: no such saved reply ({names})")
        else:
            resolved.answer = "\n\n".join(p for p in (saved.strip(), reply.text) if p)
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
        c.repository.close_thread(thread, now)
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
    email: InboundEmail,
    agent: Agent,
    text: str,
    *,
    survey: bool,
) -> str:
    try:
        stored = c.repository.record_outbound(
            thread,
            provider_id=email.message_id,
            author=agent.email,
            author_name=email.sender_name or agent.name,
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
