"""Twilio's status callbacks: what became of each message we sent, and an agent told
when their answer did not arrive."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from typing import TYPE_CHECKING

from chalicelib import logs, metrics
from chalicelib.channels.twilio_messaging import StatusUpdate
from chalicelib.domain.errors import FailureKind, UnknownDestination
from chalicelib.domain.messages import DELIVERY_FAILURES, DELIVERY_PROGRESS
from chalicelib.domain.provider_errors import TWILIO_CODES, classify_twilio
from chalicelib.flows.deliver import job_subject, report_failure
from chalicelib.queues import Job, JobKind
from chalicelib.store.models import MessageItem

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)

EARLY_STATUS_DELAY_SECONDS = 30
EARLY_STATUS_ATTEMPTS = 10
"""About five minutes: a send is recorded within seconds of Twilio's answer, or never
(its job died after Twilio took it: the retried job sends again, under a new SID)."""


def record_status(c: Container, update: StatusUpdate) -> str:
    store = c.stores.by_number(update.store_address)
    if store is None:
        raise UnknownDestination("no store sends from the number in From")
    if update.status not in DELIVERY_PROGRESS and update.status not in DELIVERY_FAILURES:
        return "ignored"  # accepted/queued: nothing we did not know
    found = c.repository.message_for_provider_id(store.store_id, update.message_sid)
    if found is None:
        # Twilio may call back before the sending job has recorded the SID that Twilio's
        # answer gave it: kept on the queue, applied once the send is recorded.
        _try_later(c, store.store_id, update, attempt=1)
        return "kept until the send is recorded"
    return _apply(c, store.store_id, found, update)


def apply_early_status(c: Container, job: Job) -> None:
    """The job of a status that came before its send's record: apply it, or wait again."""
    raw = json.loads(job.detail)
    attempt = int(raw.pop("attempt"))
    update = StatusUpdate(**raw)
    found = c.repository.message_for_provider_id(job.store_id, update.message_sid)
    if found is not None:
        _apply(c, job.store_id, found, update)
    elif attempt < EARLY_STATUS_ATTEMPTS:
        _try_later(c, job.store_id, update, attempt=attempt + 1)
    else:
        log.warning("status for a message never recorded: %s", update.message_sid)


def _try_later(c: Container, store_id: str, update: StatusUpdate, *, attempt: int) -> None:
    detail = json.dumps({**asdict(update), "attempt": attempt}, sort_keys=True)
    job = Job(JobKind.APPLY_STATUS, store_id, "", update.message_sid, detail=detail)
    c.jobs.send_all([job], delay=EARLY_STATUS_DELAY_SECONDS)


def _apply(
    c: Container, store_id: str, found: tuple[str, MessageItem], update: StatusUpdate
) -> str:
    thread_id, message = found
    logs.set_correlation_id(message.message_id)
    failed = update.status in DELIVERY_FAILURES
    error = None
    if failed:
        error = failure_reason(update)
        if message.provider_status not in DELIVERY_FAILURES:
            account_problem_after_send(c, store_id, update)
        if message.provider_status not in DELIVERY_FAILURES and not message.automatic:
            # Queued before recording: at worst a retry reports twice, never zero times.
            # The reason travels with the job: it may run before the status below is written.
            report = Job(JobKind.REPORT_FAILURE, store_id, thread_id, message.sk, detail=error)
            c.jobs.send_all([report])
    recorded = c.repository.record_provider_status(message, update.status, error, failed=failed)
    return update.status if recorded or not failed else "failure recorded before"


def report_failure_job(c: Container, job: Job) -> None:
    if (subject := job_subject(c, job)) and subject[2].failure_reported_at is None:
        store, thread, message = subject
        reason = message.delivery_error or job.detail or "not delivered"
        report_failure(c, store, thread, message, reason)


def failure_reason(update: StatusUpdate) -> str:
    """What the agent is told, in plain words (chalicelib/domain/provider_errors.py)."""
    code = update.error_code
    meaning = TWILIO_CODES[code].meaning if code in TWILIO_CODES else "see Twilio's error reference"
    return f"Twilio reports the message {update.status} (error {code}: {meaning})"


def account_problem_after_send(c: Container, store_id: str, update: StatusUpdate) -> None:
    """An account problem that Twilio reports after taking the message (30001 queue
    overflow, 30002 suspended, 30034 unregistered 10DLC) reaches the store's alarm as a
    refused send does (flows/job_failures.py); its author is told as for any failure."""
    found = classify_twilio(None, update.error_code)
    if found.kind is FailureKind.ACCOUNT:
        code = update.error_code
        metrics.account_problem(provider="twilio", store_id=store_id, code=code, at=c.clock())
        log.error(
            "account problem at twilio: error %s (%s); store=%s", code, found.meaning, store_id
        )
