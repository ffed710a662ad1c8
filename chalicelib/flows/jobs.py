"""The SQS jobs handler: the same function in Lambda and in the local workers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.flows.agent_reply import apply_agent_order
from chalicelib.flows.answer import answer_job
from chalicelib.flows.deliver import deliver_job, send_email_ack
from chalicelib.flows.delivery_status import apply_early_status, report_failure_job
from chalicelib.flows.notify_agents import notify_agents, notify_assignee
from chalicelib.flows.retention import apply_retention
from chalicelib.logs import correlation, job_correlation_id
from chalicelib.queues import Job, JobKind

if TYPE_CHECKING:
    from chalicelib.composition import Container


def run_job(c: Container, body: str, receive_count: int = 1) -> None:
    """Raises on failure, so that SQS redelivers the job and finally dead-letters it.

    `receive_count` > 1: SQS redelivers a job whose earlier run failed or died, so that
    run holds nothing any more; a first delivery found work claimed by a twin running at
    the same moment (SQS delivers at least once) and leaves it to the twin.
    Logs under the id of the message the job is about (chalicelib/logs.py)."""
    job = Job.decode(body)
    redelivered = receive_count > 1
    with correlation(job_correlation_id(job.message_sk)):
        if job.kind is JobKind.NOTIFY_AGENTS:
            notify_agents(c, job, redelivered=redelivered)
        elif job.kind is JobKind.DELIVER_REPLY:
            deliver_job(c, job, redelivered=redelivered)
        elif job.kind is JobKind.REPORT_FAILURE:
            report_failure_job(c, job)
        elif job.kind is JobKind.NOTIFY_ASSIGNEE:
            notify_assignee(c, job)
        elif job.kind is JobKind.ACK_EMAIL:
            send_email_ack(c, job, redelivered=redelivered)
        elif job.kind is JobKind.APPLY_STATUS:
            apply_early_status(c, job)
        elif job.kind is JobKind.APPLY_RETENTION:
            apply_retention(c, job)
        elif job.kind is JobKind.ANSWER:
            answer_job(c, job, redelivered=redelivered)
        elif job.kind is JobKind.AGENT_ORDER:
            apply_agent_order(c, job)
        elif job.kind is JobKind.KEEP_RECORDING:
            from chalicelib.flows.voicemail import keep_recording

            keep_recording(c, job, receive_count=receive_count)
        elif job.kind is JobKind.COLLECT_TRANSCRIPT:
            from chalicelib.flows.voicemail import collect_transcript

            collect_transcript(c, job)
        elif job.kind is JobKind.CALL_ENDED:
            from chalicelib.flows.receive_voice import call_ended_job

            call_ended_job(c, job)
        elif job.kind is JobKind.PROACTIVE:
            from chalicelib.flows.proactive import proactive_job

            proactive_job(c, job, redelivered=redelivered)
