"""The SQS jobs handler: the same function in Lambda and in the local workers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.flows.agent_reply import deliver_agent_reply, send_email_ack
from chalicelib.flows.notify_agents import notify_agents
from chalicelib.queues import Job, JobKind

if TYPE_CHECKING:
    from chalicelib.composition import Container


def run_job(c: Container, body: str) -> None:
    """Raises on failure, so that SQS redelivers the job and finally dead-letters it."""
    job = Job.decode(body)
    if job.kind is JobKind.NOTIFY_AGENTS:
        notify_agents(c, job)
    elif job.kind is JobKind.DELIVER_REPLY:
        deliver_agent_reply(c, job)
    elif job.kind is JobKind.ACK_EMAIL:
        send_email_ack(c, job)
