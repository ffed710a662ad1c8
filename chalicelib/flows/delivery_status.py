"""Twilio's status callbacks: what became of each message we sent, and an agent told
when their answer did not arrive."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from chalicelib import logs
from chalicelib.channels.twilio_messaging import StatusUpdate
from chalicelib.domain.errors import UnknownDestination
from chalicelib.domain.messages import DELIVERY_FAILURES, DELIVERY_PROGRESS
from chalicelib.flows.deliver import job_subject, report_failure
from chalicelib.queues import Job, JobKind

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)

# Twilio's delivery error codes an agent most often meets, said plainly.
ERROR_MEANINGS = {
    30003: "the phone is switched off or out of reach",
    30004: "the recipient blocked messages from this number",
    30005: "the number does not exist",
    30006: "the number is a landline or cannot receive this channel",
    30007: "the carrier filtered the message as spam",
    30008: "the carrier gave no reason",
    63016: "WhatsApp's 24-hour window had closed",
}


def record_status(c: Container, update: StatusUpdate) -> str:
    store = c.stores.by_number(update.store_address)
    if store is None:
        raise UnknownDestination("no store sends from the number in From")
    if update.status not in DELIVERY_PROGRESS and update.status not in DELIVERY_FAILURES:
        return "ignored"  # accepted/queued: nothing we did not know
    found = c.repository.message_for_provider_id(store.store_id, update.message_sid)
    if found is None:
        log.info("status for a message we did not record: %s", update.message_sid)
        return "unknown message"
    thread_id, message = found
    logs.set_correlation_id(message.message_id)
    failed = update.status in DELIVERY_FAILURES
    error = None
    if failed:
        meaning = ERROR_MEANINGS.get(update.error_code or 0, "see Twilio's error reference")
        error = f"Twilio reports the message {update.status} (error {update.error_code}: {meaning})"
        if message.provider_status not in DELIVERY_FAILURES and not message.automatic:
            # Queued before recording: at worst a retry reports twice, never zero times.
            c.jobs.send_all([Job(JobKind.REPORT_FAILURE, store.store_id, thread_id, message.sk)])
    recorded = c.repository.record_provider_status(message, update.status, error, failed=failed)
    return update.status if recorded or not failed else "failure recorded before"


def report_failure_job(c: Container, job: Job) -> None:
    if (subject := job_subject(c, job)) and subject[2].failure_reported_at is None:
        store, thread, message = subject
        report_failure(c, store, thread, message, message.delivery_error or "not delivered")
