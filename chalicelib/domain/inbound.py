"""What one inbound message does to its thread: decided here from plain values, stored by
the repository in one transaction (store/inbound.py)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from chalicelib.domain.ack import BUILTIN_LANGUAGES, should_acknowledge
from chalicelib.domain.automation import Automation
from chalicelib.domain.calendar import BusinessCalendar
from chalicelib.domain.language import choose_language
from chalicelib.domain.messages import Channel, InboundMessage, opt_keyword
from chalicelib.domain.sla import FIRST_RESPONSE, NEXT_RESPONSE, SlaPolicy, deadline
from chalicelib.domain.thread import CLEAR, Awaiting, ThreadStatus, Transition


class InboundRules(Protocol):
    """The store settings an inbound decision reads (a StoreConfig has them all)."""

    @property
    def sla(self) -> SlaPolicy: ...
    @property
    def calendar(self) -> BusinessCalendar: ...
    @property
    def ack_cooldown_minutes(self) -> int: ...
    @property
    def ack_daily_cap(self) -> int: ...
    @property
    def ack_templates(self) -> Mapping[str, str]: ...
    @property
    def auto_replies_per_hour(self) -> int: ...
    @property
    def locale(self) -> str: ...
    @property
    def automation(self) -> Automation: ...
    @property
    def has_shop(self) -> bool: ...


@dataclass(frozen=True)
class CustomerSnapshot:
    """What the customer's item says about them and their open thread: the one read an
    inbound message costs, as plain values."""

    open_thread_id: str | None = None
    closed_at: datetime | None = None
    """The open thread was closed then: a message within the reopen window reopens it."""
    due_at: datetime | None = None
    """The answer promised on the open thread and not yet given."""
    responded: bool = False
    priority: str | None = None
    opted_out: bool = False
    last_ack_at: datetime | None = None
    ack_day: str | None = None
    ack_count: int = 0
    language: str | None = None
    survey_thread_id: str | None = None
    answered_automatically: bool = False
    """The open thread was answered automatically: the next message is for a person."""


@dataclass(frozen=True)
class InboundPlan:
    """What the flow decided for one inbound message; the repository makes it so."""

    thread_id: str
    new_thread: bool
    due_at: datetime
    acknowledged_at: datetime | None
    opted_out: bool
    ack_day: str | None = None
    ack_count: int = 0
    previous_thread_id: str | None = None
    new_promise: bool = True
    """A new response promise starts (rather than a follow-up while one runs): new SLA epoch."""
    language: str | None = None
    """The acknowledgement's language, chosen only when there is one to write."""
    response_target: str = "first_response"
    resolution_due_at: datetime | None = None
    store_hourly_cap: int | None = None
    """With an acknowledgement: the store's cap on automatic messages per hour."""
    answer_by_job: bool = False
    """Automation may answer: no acknowledgement in the webhook's response; the answer job
    sends the answer or else the acknowledgement (the caps count it either way)."""

    def follow_up(self, at: datetime) -> Transition:
        """What the message does to the thread it joins (a new thread is created whole):
        open again, the agent's turn, and a new promise unless one is running."""
        return Transition(
            status=ThreadStatus.OPEN,
            awaiting=Awaiting.AGENT,
            updated_at=at,
            closed_at=CLEAR,
            snoozed_until=CLEAR,
            response_due_at=self.due_at,
            resolution_due_at=self.resolution_due_at,
            new_promise=self.new_promise,
            promise_started_at=at if self.new_promise else None,
            response_target=self.response_target if self.new_promise else None,
        )


def plan_inbound(
    store: InboundRules,
    customer: CustomerSnapshot | None,
    message: InboundMessage,
    *,
    thread_id: str | None,
    pending_due: datetime | None,
    answered_before: bool = False,
    priority: str | None = None,
    previous_thread_id: str | None = None,
    reopening: bool = False,
    store_capped: bool = False,
    may_acknowledge: bool = True,
) -> InboundPlan:
    """Which thread, what is promised, and whether to acknowledge: decided, not yet stored.

    `thread_id` is the thread the message joins (None: a new one); `pending_due` the
    promise already running on it, which a follow-up keeps rather than restarts;
    `answered_before`: we have answered on that thread, so a new promise is a next response;
    `reopening`: the thread was closed, and the message opens it again;
    `store_capped`: the store sent all the automatic messages it may this hour;
    `may_acknowledge=False`: the channel's own rules forbid it (a call's text back to a
    country outside the store's list).
    """
    now = message.received_at
    texted = message.channel not in (Channel.EMAIL, Channel.WEB)  # carriers' STOP words
    keyword = opt_keyword(message.body) if texted else None
    opted_out = (keyword == "out") if keyword else bool(customer and customer.opted_out)
    targets = store.sla.targets_for(message.channel.value, priority)
    next_response = thread_id is not None and answered_before
    target_name = NEXT_RESPONSE if next_response else FIRST_RESPONSE
    target = targets.next_response if next_response else targets.first_response
    due = pending_due or deadline(store.calendar, now, target)
    resolution_due = (
        deadline(store.calendar, now, targets.resolution)
        if (thread_id is None or reopening) and targets.resolution
        else None
    )
    today = now.astimezone(ZoneInfo(store.calendar.timezone)).date().isoformat()
    acks_today = customer.ack_count if customer and customer.ack_day == today else 0
    # After an automatic answer, the customer's next message is the start of a person's
    # promise, and is told so as a new thread would be.
    starts_promise = (
        thread_id is None or reopening or bool(customer and customer.answered_automatically)
    )
    # A call's text back (channel voice) goes out at most once a day per number: the
    # defence against SMS pumping that any caller could otherwise trigger.
    daily_cap = min(store.ack_daily_cap, 1) if message.channel is Channel.VOICE else None
    acknowledge = (
        keyword is None
        and may_acknowledge
        and not store_capped
        and message.automatic is None
        and acks_today < (store.ack_daily_cap if daily_cap is None else daily_cap)
        and should_acknowledge(
            new_thread=starts_promise,
            opted_out=opted_out,
            last_ack_at=customer.last_ack_at if customer else None,
            now=now,
            cooldown_minutes=store.ack_cooldown_minutes,
        )
    )
    language = None
    if acknowledge:
        language = choose_language(
            previous=customer.language if customer else None,
            text=message.body if message.channel is not Channel.VOICE else "",
            default=message.language or store.locale,
            supported=BUILTIN_LANGUAGES | store.ack_templates.keys(),
        )
    # A new conversation where the store lets automation answer: the answer job decides
    # (the matcher is not for the webhook's path); a follow-up, or a reopened thread, is
    # for a person.
    # A call's message is ours ("Voicemail (14 s)"), nothing for the matcher to answer.
    answer_by_job = (
        acknowledge
        and thread_id is None
        and message.channel is not Channel.VOICE
        and store.automation.may_try(store.has_shop)
    )
    return InboundPlan(
        thread_id=thread_id or secrets.token_hex(8),
        new_thread=thread_id is None,
        due_at=due,
        acknowledged_at=now if acknowledge else None,
        opted_out=opted_out,
        ack_day=today,
        ack_count=acks_today + 1 if acknowledge else acks_today,
        previous_thread_id=previous_thread_id,
        new_promise=pending_due is None,
        language=language,
        response_target=target_name,
        resolution_due_at=resolution_due,
        store_hourly_cap=store.auto_replies_per_hour,
        answer_by_job=answer_by_job,
    )
