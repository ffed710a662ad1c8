"""Local SQS workers: poll the emulated queue and call the exact handler Lambda calls.

`chalice local` runs no SQS handlers; these workers build the same event Lambda's SQS
event source builds and call the app's `on_job`. A job that raises stays on the queue
and comes back (locally after a short backoff rather than the full visibility timeout),
until the queue's redrive policy moves it to the dead-letter queue.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from chalicelib.queues import JobHeld

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]


def lambda_sqs_event(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    attributes = message.get("Attributes", {})
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": attributes,
                "messageAttributes": message.get("MessageAttributes", {}),
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": queue_arn.split(":")[3] if queue_arn.count(":") >= 5 else "",
            }
        ]
    }


def _reported_failed(result: Any, message_id: str) -> bool:
    failures = result.get("batchItemFailures", []) if isinstance(result, dict) else []
    return any(f.get("itemIdentifier") == message_id for f in failures)


class QueueWorker(threading.Thread):
    def __init__(
        self, sqs: Any, queue_url: str, handler: Handler, *, retry_backoff_seconds: int = 2
    ) -> None:
        super().__init__(daemon=True, name=f"worker:{queue_url.rsplit('/', 1)[-1]}")
        self._sqs = sqs
        self.queue_url = queue_url
        self._handler = handler
        self._backoff = retry_backoff_seconds
        self._stop = threading.Event()
        self._queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(wait_seconds=1)
            except Exception:
                log.exception("local worker could not poll %s", self.queue_url)
                self._stop.wait(1)

    def poll_once(self, wait_seconds: int = 0) -> int:
        """Handle what is on the queue now; the number of jobs that succeeded."""
        response = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
        )
        done = 0
        for message in response.get("Messages", []):
            try:
                result = self._handler(lambda_sqs_event(message, self._queue_arn), None)
                if _reported_failed(result, message["MessageId"]):
                    continue  # kept on the queue, as Lambda does with ReportBatchItemFailures
            except JobHeld as exc:
                log.warning("job failed, held on the queue for %s s: %s", exc.seconds, exc)
                continue  # as Lambda does: the visibility the handler set stands
            except Exception as exc:
                log.warning("job failed, it will be retried: %s", exc)
                self._sqs.change_message_visibility(
                    QueueUrl=self.queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=self._backoff,
                )
                continue
            self._sqs.delete_message(
                QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
            done += 1
        return done
