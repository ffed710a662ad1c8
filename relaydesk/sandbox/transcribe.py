"""Amazon Transcribe (batch), where moto falls short: moto 5's Transcribe advances a job's
status on each Get but never writes a transcript, so the app's Transcribe client points
here in the local stack (chalicelib/composition.py), through the same boto3 calls.

    POST /transcribe/  X-Amz-Target: Transcribe.StartTranscriptionJob | GetTranscriptionJob

AWS's JSON 1.1 protocol, its error shapes (`__type`: ConflictException, BadRequest...).
A job reads its media from moto's S3 (the object our job copied there), "hears" the words
the sandbox's recording carries in its WAV (twilio_voice.spoken_words: the words
`simulate call --voicemail` pretended), and writes Amazon's transcript JSON
(results.transcripts[0].transcript) to the output bucket and key. Like the real service
it takes a while: IN_PROGRESS on the first look after the start, COMPLETED (or FAILED,
the media unreadable) from the second. Each start is recorded in the outbox
(provider "transcribe").
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Final

from relaydesk.sandbox.base import Fault, Outbox, Request, Response, iso, now, phrase
from relaydesk.sandbox.twilio_voice import spoken_words

PATH_PREFIX: Final = "/transcribe"
TARGET_PREFIX: Final = "Transcribe."
JSON_11: Final = "application/x-amz-json-1.1"


@dataclass
class _Job:
    name: str
    language: str
    media_uri: str
    bucket: str
    key: str
    created: float
    looks: int = 0
    status: str = "IN_PROGRESS"
    failure: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _error(status: int, kind: str, message: str) -> Response:
    body = json.dumps({"__type": kind, "message": message}).encode()
    return Response(status, headers={"Content-Type": JSON_11}, raw=body)


def _answer(payload: dict[str, Any]) -> Response:
    body = json.dumps(payload).encode()
    return Response(HTTPStatus.OK, headers={"Content-Type": JSON_11}, raw=body)


def _s3() -> Any:
    """moto's S3 (AWS_ENDPOINT_URL in the local stack's and the tests' environment)."""
    import boto3

    return boto3.client("s3")


class Transcribe:
    """The Provider for Amazon Transcribe's batch jobs (start, get)."""

    name: Final = "transcribe"
    title: Final = "Amazon Transcribe (batch jobs; moto writes no transcript)"

    def __init__(self) -> None:
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()

    def handles(self, request: Request) -> bool:
        target = request.headers.get("X-Amz-Target", "")
        return (
            request.method == "POST"
            and request.path.rstrip("/") == PATH_PREFIX
            and target.startswith(TARGET_PREFIX)
        )

    def fault(self, fault: Fault) -> Response:
        kind = "LimitExceededException" if fault.status == 429 else "InternalFailureException"
        if fault.status < 500 and fault.status != 429:
            kind = "BadRequestException"
        return _error(fault.status, kind, fault.message or phrase(fault.status))

    def handle(self, request: Request, outbox: Outbox) -> Response:
        operation = request.headers.get("X-Amz-Target", "").removeprefix(TARGET_PREFIX)
        try:
            raw = json.loads(request.body or b"{}")
        except ValueError:
            return _error(400, "SerializationException", "the body is not JSON")
        if not isinstance(raw, dict):
            return _error(400, "SerializationException", "the body is not a JSON object")
        if operation == "StartTranscriptionJob":
            return self._start(raw, outbox)
        if operation == "GetTranscriptionJob":
            return self._get(raw)
        return _error(400, "UnknownOperationException", f"{operation} is not emulated")

    def _start(self, raw: dict[str, Any], outbox: Outbox) -> Response:
        name = raw.get("TranscriptionJobName")
        language = raw.get("LanguageCode")
        uri = (raw.get("Media") or {}).get("MediaFileUri")
        bucket = raw.get("OutputBucketName")
        if not (
            isinstance(name, str)
            and name
            and isinstance(language, str)
            and language
            and isinstance(uri, str)
            and isinstance(bucket, str)
            and bucket
        ):
            return _error(
                400,
                "BadRequestException",
                "TranscriptionJobName, LanguageCode, Media.MediaFileUri and "
                "OutputBucketName are required here",
            )
        if not uri.startswith("s3://"):
            return _error(400, "BadRequestException", "Media.MediaFileUri must be s3://...")
        key = str(raw.get("OutputKey") or f"{name}.json")
        if key.endswith("/"):
            key += f"{name}.json"
        with self._lock:
            if name in self._jobs:
                return _error(400, "ConflictException", "The requested job name already exists.")
            job = _Job(name, language, uri, bucket, key, time.time())
            self._jobs[name] = job
        outbox.record(
            [
                {
                    "provider": self.name,
                    "channel": "voice",
                    "action": "start_transcription_job",
                    "id": name,
                    "language": language,
                    "media": uri,
                    "output": f"s3://{bucket}/{key}",
                    "time": iso(now()),
                }
            ]
        )
        return _answer({"TranscriptionJob": self._describe(job)})

    def _get(self, raw: dict[str, Any]) -> Response:
        name = raw.get("TranscriptionJobName")
        with self._lock:
            job = self._jobs.get(name) if isinstance(name, str) else None
        if job is None:
            return _error(
                400,
                "BadRequestException",
                "The requested job couldn't be found. Check the "
                "job name and try your request again.",
            )
        with self._lock:
            job.looks += 1
            first_look = job.looks == 1
        if first_look:
            self._transcribe(job)  # the work happens; it is reported done next time
            return _answer({"TranscriptionJob": self._describe(job, running=True)})
        return _answer({"TranscriptionJob": self._describe(job)})

    def _transcribe(self, job: _Job) -> None:
        """Read the media from S3, hear its words, write Amazon's transcript JSON."""
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, _, key = job.media_uri.removeprefix("s3://").partition("/")
        try:
            audio = _s3().get_object(Bucket=bucket, Key=key)["Body"].read()
        except (BotoCoreError, ClientError) as exc:
            job.status, job.failure = "FAILED", f"The media file could not be read: {exc}"
            return
        words = spoken_words(audio) or ""
        document = {
            "jobName": job.name,
            "accountId": "000000000000",
            "status": "COMPLETED",
            "results": {
                "language_code": job.language,
                "transcripts": [{"transcript": words}],
                "items": [],
            },
        }
        try:
            _s3().put_object(
                Bucket=job.bucket,
                Key=job.key,
                Body=json.dumps(document, ensure_ascii=False).encode("utf-8"),
                ContentType="application/json",
            )
        except (BotoCoreError, ClientError) as exc:
            job.status, job.failure = "FAILED", f"The output could not be written: {exc}"
            return
        job.status = "COMPLETED"

    def _describe(self, job: _Job, *, running: bool = False) -> dict[str, Any]:
        status = "IN_PROGRESS" if running or job.looks == 0 else job.status
        described: dict[str, Any] = {
            "TranscriptionJobName": job.name,
            "TranscriptionJobStatus": status,
            "LanguageCode": job.language,
            "MediaFormat": "wav",
            "Media": {"MediaFileUri": job.media_uri},
            "CreationTime": job.created,
            "StartTime": job.created,
        }
        if status == "COMPLETED":
            described["Transcript"] = {
                "TranscriptFileUri": f"https://s3.us-east-1.amazonaws.com/{job.bucket}/{job.key}"
            }
            described["CompletionTime"] = time.time()
        if status == "FAILED":
            described["FailureReason"] = job.failure
        return described
