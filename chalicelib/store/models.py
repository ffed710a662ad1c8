"""The one DynamoDB table and the kinds of item in it.

Every key starts with the store id, so that no key built here can reach another
store's items. Keys are built only by the functions below.
"""

from __future__ import annotations

import os
from datetime import date, datetime

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.models import Model

from chalicelib.domain.thread import Awaiting, ThreadStatus

META = "#META"
MESSAGE_PREFIX = "MSG#"


def thread_pk(store_id: str, thread_id: str) -> str:
    return f"{store_id}#THREAD#{thread_id}"


def customer_pk(store_id: str, address: str) -> str:
    return f"{store_id}#CUSTOMER#{address}"


def store_pk(store_id: str) -> str:
    return f"{store_id}#STORE"


def order_pk(store_id: str, order_number: str) -> str:
    return f"{store_id}#ORDER#{order_number}"


def marker_pk(store_id: str, provider_id: str) -> str:
    return f"{store_id}#PROVIDER#{provider_id}"


def message_sort_key(at: datetime, message_id: str) -> str:
    """Messages sort by time under their thread."""
    return f"{MESSAGE_PREFIX}{at.strftime('%Y%m%dT%H%M%S.%fZ')}#{message_id}"


def table_name() -> str:
    return os.environ.get("TABLE_NAME", "relaydesk")


def dynamodb_host() -> str | None:
    """The emulator's URL locally and in tests; None in AWS."""
    return os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL")


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


class _Item(Model):
    class Meta:
        table_name = table_name()
        host = dynamodb_host()
        region = region()
        connect_timeout_seconds = 2
        read_timeout_seconds = 5

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class ThreadItem(_Item):
    """One conversation with one customer on one channel."""

    store_id = UnicodeAttribute()
    thread_id = UnicodeAttribute()
    channel = UnicodeAttribute()
    customer = UnicodeAttribute()
    store_address = UnicodeAttribute()
    """The number (or address) the customer wrote to; replies go out from it."""
    status = UnicodeAttribute(default=ThreadStatus.OPEN.value)
    """One of domain.thread.ThreadStatus."""
    awaiting = UnicodeAttribute(default=Awaiting.AGENT.value)
    """Who must answer next: 'agent' or 'customer'."""
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    response_due_at = UTCDateTimeAttribute(null=True)
    first_response_at = UTCDateTimeAttribute(null=True)
    sla_epoch = NumberAttribute(default=0)
    """Bumped whenever the promise changes, so that stale timers know to do nothing."""
    message_count = NumberAttribute(default=0)
    profile_name = UnicodeAttribute(null=True)
    subject = UnicodeAttribute(null=True)
    """E-mail threads: the subject replies carry as `Re: ...`."""
    closed_at = UTCDateTimeAttribute(null=True)
    priority = UnicodeAttribute(null=True)
    """Set by an agent (#priority); chooses the store's targets for that priority."""
    response_target = UnicodeAttribute(default="first_response")
    """Which promise `response_due_at` is: 'first_response' or 'next_response'."""
    response_breached_at = UTCDateTimeAttribute(null=True)
    last_response_at = UTCDateTimeAttribute(null=True)
    """When the latest promise was kept (`first_response_at` keeps the first one)."""
    resolution_due_at = UTCDateTimeAttribute(null=True)
    resolution_epoch = NumberAttribute(default=0)
    """Bumped when the resolution clock pauses, resumes or stops."""
    resolution_breached_at = UTCDateTimeAttribute(null=True)
    paused_at = UTCDateTimeAttribute(null=True)
    """Pending (waiting on the customer): the resolution clock stands still from here."""
    promise_started_at = UTCDateTimeAttribute(null=True)
    """When the running promise began: its reminder is a share of the time from here."""
    scheduled_timers = UnicodeSetAttribute(null=True)
    """`family:epoch` of every promise whose timers are on the queue."""
    fired_timers = UnicodeSetAttribute(null=True)
    """`epoch:kind:step` of every timer that acted: each acts at most once."""
    previous_thread_id = UnicodeAttribute(null=True)
    """A reply to a thread closed too long ago starts this one, linked to the old."""
    assignee = UnicodeAttribute(null=True)
    """The agent who owns the thread (round-robin on arrival, or `#assign`)."""
    tags = UnicodeSetAttribute(null=True)
    last_inbound_at = UTCDateTimeAttribute(null=True)
    """The customer's latest message: WhatsApp allows free text for 24 hours after it."""
    snoozed_until = UTCDateTimeAttribute(null=True)
    snooze_epoch = NumberAttribute(default=0)
    """Bumped by every snooze, so that only the latest snooze's wake-up timer acts."""
    survey_sent_at = UTCDateTimeAttribute(null=True)
    rating = NumberAttribute(null=True)
    """The customer's 1-5 answer to the satisfaction survey."""
    rated_at = UTCDateTimeAttribute(null=True)
    attached_order = UnicodeAttribute(null=True)
    """The shop's order number an agent attached with `#order` (the latest one): shown in
    the notifications, and what `{order.*}` in a saved reply is filled from."""
    proactive = UnicodeAttribute(null=True)
    """Started by a proactive message (flows/proactive.py): the order and the news told."""
    expires_at = NumberAttribute(null=True)
    """DynamoDB TTL (epoch seconds): set when the thread closes, for the store's
    `retention_days`; removed when it reopens (store/retention.py)."""
    counted = UnicodeSetAttribute(null=True)
    """Events of this thread already added to the report's counters (store/counters.py):
    a retried write that finds its event here adds nothing."""


class MessageItem(_Item):
    """One message, sorted by time under its thread."""

    message_id = UnicodeAttribute()
    direction = UnicodeAttribute()
    """'in' from the customer, 'out' to the customer, 'note' an agent's internal note,
    'event' a change to the thread (who did what)."""
    author = UnicodeAttribute()
    body = UnicodeAttribute(default="")
    media_urls = ListAttribute(of=UnicodeAttribute, default=list)
    provider_id = UnicodeAttribute(null=True)
    profile_name = UnicodeAttribute(null=True)
    wa_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    delivery_status = UnicodeAttribute(null=True)
    """Outbound only: 'queued', 'sending' (claimed by a job), 'sent' or 'failed'."""
    provider_status = UnicodeAttribute(null=True)
    """Twilio's status callbacks: 'sending', 'sent', 'delivered', 'read', or a failure."""
    survey_after = BooleanAttribute(default=False)
    """This answer closed the thread: the satisfaction survey follows once it is sent."""
    parts_sent = NumberAttribute(default=0)
    """A long SMS goes out in parts; a retry resumes after the parts already sent."""
    delivery_error = UnicodeAttribute(null=True)
    outbound_provider_id = UnicodeAttribute(null=True)
    notified_at = UTCDateTimeAttribute(null=True)
    subject = UnicodeAttribute(null=True)
    email_message_id = UnicodeAttribute(null=True)
    """E-mail only: this message's Message-ID, for threading replies."""
    author_name = UnicodeAttribute(null=True)
    attachments = JSONAttribute(null=True)
    """Names, types and sizes; attachment contents are not stored."""
    raw_email = BinaryAttribute(null=True, legacy_encoding=False)
    """The original e-mail, zlib-compressed, when it fits in the item."""
    dropped = UnicodeAttribute(null=True)
    """What could not be stored (said plainly, never silently truncated)."""
    automatic = UnicodeAttribute(null=True)
    """Why this was machine-written: an auto-reply we received, or our own acknowledgement."""
    acknowledge = BooleanAttribute(default=False)
    """Inbound: we decided to acknowledge it (a redelivered e-mail re-queues its ack job)."""
    answer_by_job = BooleanAttribute(default=False)
    """Inbound: automation may answer it; the answer job sends the answer, or else the
    acknowledgement, and tells the agents (flows/answer.py)."""
    failure_reported_at = UTCDateTimeAttribute(null=True)
    """Outbound: when its author was told it could not be delivered."""
    call = JSONAttribute(null=True)
    """Inbound, channel voice: the call's facts (domain/messages.CallFacts, as a dict)."""
    transcript = UnicodeAttribute(null=True)
    """Inbound, a voicemail: its transcript, added when the provider has it ("": none)."""
    text_back_refused = UnicodeAttribute(null=True)
    """Inbound, a call: why the caller got no text back after all, decided by the job that
    would have sent it (a line-type lookup said landline); the agents are told."""
    transcript_note = UnicodeAttribute(null=True)
    """Why a voicemail has no transcript (Transcribe lacks the language, failed...)."""
    recording_state = UnicodeAttribute(null=True)
    """A voicemail's recording: None (at Twilio only), 'kept' (copied to `recording_key`),
    'deleted' (kept, and deleted at Twilio) or 'gone' (Twilio had lost it)."""
    recording_key = UnicodeAttribute(null=True)
    """Where our copy is in the private bucket (chalicelib/mail_files.py)."""
    recording_note = UnicodeAttribute(null=True)
    """Why there is no copy ('gone')."""
    transcription_job = UnicodeAttribute(null=True)
    """The Amazon Transcribe job started on our copy."""
    expires_at = NumberAttribute(null=True)
    """DynamoDB TTL: the thread's, copied to each of its messages (store/retention.py)."""


class CustomerItem(_Item):
    """The customer's profile and the pointer to their open thread.

    One item holds both, so that an inbound message costs one read before its write.
    """

    open_thread_id = UnicodeAttribute(null=True)
    due_at = UTCDateTimeAttribute(null=True)
    """The answer we have promised and not yet given; None while nothing is owed."""
    last_ack_at = UTCDateTimeAttribute(null=True)
    opted_out = BooleanAttribute(default=False)
    priority = UnicodeAttribute(null=True)
    """The open thread's priority, kept here so that a follow-up needs no second read."""
    responded = BooleanAttribute(default=False)
    """We have answered on the open thread: the customer's next message starts a
    next-response promise rather than a first-response one."""
    language = UnicodeAttribute(null=True)
    """The language we last answered in: later acknowledgements keep to it."""
    ack_day = UnicodeAttribute(null=True)
    """The store-local date of `ack_count`: the per-address daily cap resets with it."""
    ack_count = NumberAttribute(default=0)
    last_message_at = UTCDateTimeAttribute(null=True)
    closed_at = UTCDateTimeAttribute(null=True)
    """The open thread was closed: a message within the reopen window reopens it."""
    survey_thread_id = UnicodeAttribute(null=True)
    """We asked for a rating on this thread; the customer's next message may be it."""
    answered_automatically = BooleanAttribute(default=False)
    """The open thread was answered automatically: the customer's next message goes to a
    person and is acknowledged with the promise that starts then."""
    threads = NumberAttribute(null=True)
    """Conversations started at this address, counted as they start (the agents see how
    many a customer had, without a scan)."""
    survey_agent = UnicodeAttribute(null=True)
    """The assignee of the thread we asked a rating for: the rating counts for them."""
    threads_before_count = BooleanAttribute(default=False)
    """The address had a conversation before `threads` was counted: the count is a floor."""
    reply_to = UnicodeAttribute(null=True)
    """Web chat: the e-mail or phone the visitor asked answers to go to as well."""
    verified_email = UnicodeAttribute(null=True)
    """Web chat: the signed-in customer's e-mail, as their shop signed it."""
    version = VersionAttribute()


class StoreItem(_Item):
    """Per-store counters."""

    assignments = NumberAttribute(default=0)
    """How many threads were assigned: the round-robin's position."""


class CounterItem(_Item):
    """How many automatic messages a store sent in one hour: the store-wide cap that stops
    relaydesk from being used to send SMS en masse (SMS pumping)."""

    sent = NumberAttribute(default=0)
    expires_at = NumberAttribute()


def report_pk(store_id: str) -> str:
    return f"{store_id}#REPORT"


def report_sk(day: date, shard: int) -> str:
    return f"DAY#{day.isoformat()}#{shard}"


class ReportDayItem(_Item):
    """One store-local day's report counters (one of its shards). Its other attributes are
    named by domain/report.py (`conv_sms`, `frt_3`, `agent:<address>:threads`, ...): plain
    numbers, no customer's data, so that erasing a customer keeps them."""

    low = UnicodeSetAttribute(null=True)
    """Low ratings of the day: `rating|channel|thread id`."""
    expires_at = NumberAttribute(null=True)


class ReportSentItem(_Item):
    """A weekly report's once-only claim (`sk` SENT#<week>): 'sending' while one run sends
    it, 'sent' after, 'failed' when the send failed and the next run may claim it again.
    Released by an update, not a delete: the functions may delete only pending markers."""

    state = UnicodeAttribute()
    claimed_at = UTCDateTimeAttribute()
    expires_at = NumberAttribute()


class MarkerItem(_Item):
    """A provider's message id, seen once: what makes redelivery harmless."""

    thread_id = UnicodeAttribute()
    message_sk = UnicodeAttribute()
    expires_at = NumberAttribute()
    """DynamoDB TTL; kept well past every provider's retry window (SendGrid: 3 days)."""
    requeued = NumberAttribute(null=True)
    """A pending follow-up (store/follow_ups.py): how often the sweep queued its jobs again."""


class OrderNewsItem(_Item):
    """What a store's customer was told about one order by proactive messages: each kind of
    news at most once, and never news older than the newest told (flows/proactive.py)."""

    told = UnicodeSetAttribute(null=True)
    """The kinds of news told ('delayed', 'cancelled', ...)."""
    last_news_at = UTCDateTimeAttribute(null=True)
    """When the newest news told happened."""
    claimed_by = UnicodeAttribute(null=True)
    """The message that the latest claim is for: its job's retry may claim again."""
    expires_at = NumberAttribute()
    """DynamoDB TTL: a year after the latest news; an order's shipping is long over by then."""
