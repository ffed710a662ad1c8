"""A job or timer whose send failed, by what the provider meant (chalicelib/domain/
provider_errors.py): held on its queue as long as the provider asked (Retry-After,
X-RateLimit-Reset) rather than retried at once; an account problem (a bad key, credits
spent, a suspended account) held longer, never failed against the customer, counted for
the store's alarm and logged once, as one clear line with no secret in it.

A held message is reported as a batch item failure (the event source reports them), not
raised: Lambda keeps it on the queue with the visibility we set, and the function's
Errors alarm stays for our own failures."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from chalicelib import metrics
from chalicelib.domain.errors import DeliveryError, FailureKind
from chalicelib.domain.provider_errors import retry_delay
from chalicelib.logs import correlation, job_correlation_id
from chalicelib.queues import Job, JobKind, JobQueue

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)

FOLLOWS_UP = frozenset({JobKind.NOTIFY_AGENTS, JobKind.ANSWER})
"""The job a stored message is followed up by; once it ran, its pending-follow-up marker
goes (flows/recovery.py)."""


def receive_count(record: Mapping[str, Any]) -> int:
    return int((record.get("attributes") or {}).get("ApproximateReceiveCount", 1))


def run_job_batch(c: Container, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The jobs queue's handler body; the held jobs as batch item failures."""
    held = [str(r["messageId"]) for r in records if run_job_record(c, r)]
    return {"batchItemFailures": [{"itemIdentifier": m} for m in held]}


def run_job_record(c: Container, record: Mapping[str, Any]) -> bool:
    """One SQS record of the jobs queue, as Lambda hands it over; True when it failed and
    is held on the queue. Raises on other failures, so that SQS redelivers the job after
    the queue's visibility timeout and finally dead-letters it."""
    from chalicelib.flows.jobs import run_job  # every flow: not for the timers' handler

    count = receive_count(record)
    try:
        run_job(c, record["body"], count)
        job = Job.decode(record["body"])
        if job.kind in FOLLOWS_UP:  # it ran: nothing left for the recovery sweep
            c.repository.follow_ups_done(job.store_id, job.message_sk)
    except DeliveryError as exc:
        job = Job.decode(record["body"])  # it decoded in run_job, before the send failed
        with correlation(job_correlation_id(job.message_sk)):
            held = hold_after(c, c.jobs, exc, record["receiptHandle"], count, job.store_id)
        if held is None:
            raise
        return True
    return False


def hold_after(
    c: Container,
    queue: JobQueue,
    exc: DeliveryError,
    receipt_handle: str,
    count: int,
    store_id: str,
) -> int | None:
    """Hold the message as the failure asks; the seconds it is held, None for the queue's
    own retry. An account problem is counted and logged here, once per failed attempt."""
    delay = retry_delay(exc.kind, exc.retry_after, count)
    held = queue.hold(receipt_handle, delay) if delay is not None else None
    if exc.kind is FailureKind.ACCOUNT:
        metrics.account_problem(
            provider=exc.provider or "unknown", store_id=store_id, code=exc.code, at=c.clock()
        )
        # One line that says what is wrong and what happens next: the error's text is
        # ours (the provider's meaning, its status and code), never a credential.
        log.error(
            "account problem at %s: %s; store=%s. The message is kept, not failed: "
            "retried in %s s (attempt %d). A person must fix the account.",
            exc.provider or "the provider",
            exc,
            store_id,
            held,
            count,
        )
    elif held is not None:
        log.warning("%s asked us to wait: retried in %s s (attempt %d)", exc.provider, held, count)
    return held
