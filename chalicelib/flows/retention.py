"""The store's retention, applied in a job: DynamoDB's TTL is set (on close) or taken off
(on reopen) item by item, one write per message, which a long thread would spend a
webhook's whole time on (API Gateway stops at 29 s, and the retry finds the commands'
claim taken and the work half done). The job reads the thread's status when it runs, so
a close and a quick reopen, in any order of their jobs, end as the thread ends."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from chalicelib.domain.thread import ThreadStatus
from chalicelib.queues import Job, JobKind

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)


def retention_job_for(store_id: str, thread_id: str) -> Job:
    return Job(JobKind.APPLY_RETENTION, store_id, thread_id, "")


def apply_retention(c: Container, job: Job) -> None:
    store = c.stores.by_id(job.store_id)
    thread = c.repository.thread(job.store_id, job.thread_id) if store else None
    if store is None or thread is None:
        return  # gone already: nothing left to expire
    if thread.status == ThreadStatus.CLOSED and thread.closed_at is not None:
        c.repository.expire_closed_thread(
            store.store_id, thread.thread_id, thread.closed_at, store.retention_days
        )
        log.info("retention set: thread=%s", thread.thread_id)
    elif thread.expires_at is not None:  # reopened (a keep cut short clears it last)
        c.repository.keep_thread(store.store_id, thread.thread_id)
