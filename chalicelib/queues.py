"""SQS jobs: the only SQS code. A job names what to do and where; handlers re-read state."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class JobKind(StrEnum):
    NOTIFY_AGENTS = "notify_agents"
    DELIVER_REPLY = "deliver_reply"
    ACK_EMAIL = "ack_email"


class QueueError(Exception):
    """SQS refused or could not be reached: our infrastructure, so the caller answers 5xx."""


@dataclass(frozen=True)
class Job:
    kind: JobKind
    store_id: str
    thread_id: str
    message_sk: str

    def encode(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def decode(cls, body: str) -> Job:
        """Raises ValueError for a body that is not a job (it belongs in the dead-letter queue)."""
        try:
            raw = json.loads(body)
            return cls(
                kind=JobKind(raw["kind"]),
                store_id=str(raw["store_id"]),
                thread_id=str(raw["thread_id"]),
                message_sk=str(raw["message_sk"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a relaydesk job: {exc}") from exc


class JobQueue:
    """Sends jobs to the jobs queue; the URL is resolved once from the queue's name."""

    def __init__(self, client: Any, *, queue_name: str, queue_url: str | None = None) -> None:
        self._client = client
        self._queue_name = queue_name
        self._queue_url = queue_url

    def url(self) -> str:
        if self._queue_url is None:
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                response = self._client.get_queue_url(QueueName=self._queue_name)
            except (BotoCoreError, ClientError) as exc:
                raise QueueError(f"cannot find queue {self._queue_name}: {exc}") from exc
            self._queue_url = str(response["QueueUrl"])
        return self._queue_url

    def send_all(self, jobs: list[Job]) -> None:
        """All jobs in one request (SQS takes up to ten); any failure raises."""
        from botocore.exceptions import BotoCoreError, ClientError

        entries = [{"Id": str(i), "MessageBody": job.encode()} for i, job in enumerate(jobs)]
        try:
            if len(entries) == 1:
                self._client.send_message(
                    QueueUrl=self.url(), MessageBody=entries[0]["MessageBody"]
                )
                return
            response = self._client.send_message_batch(QueueUrl=self.url(), Entries=entries)
        except (BotoCoreError, ClientError) as exc:
            raise QueueError(f"cannot enqueue {len(jobs)} job(s): {exc}") from exc
        if response.get("Failed"):
            raise QueueError(f"SQS refused job(s): {response['Failed']}")
