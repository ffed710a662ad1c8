"""Amazon Transcribe (batch), the only Transcribe code: a job started on a voicemail kept
in the private bucket, its transcript written back to the same bucket, and its status.

The client is built on first use, in a job: never on a webhook's path (boto3's
Transcribe model is not loaded by the API's cold start). Locally, its endpoint is the
sandbox's stand-in (relaydesk/sandbox/transcribe.py), which reads the same S3 object.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TRANSCRIBE_CLIENT_LIMITS: dict[str, Any] = {
    "connect_timeout": 2,
    "read_timeout": 10,
    "retries": {"mode": "standard", "total_max_attempts": 3},
}

DONE = frozenset({"COMPLETED", "FAILED"})


class TranscribeError(Exception):
    """Transcribe refused or did not answer: our infrastructure, the job is retried."""


@dataclass(frozen=True)
class JobStatus:
    state: str
    """QUEUED, IN_PROGRESS, COMPLETED or FAILED (Transcribe's TranscriptionJobStatus)."""
    failure: str | None = None


class Transcriber:
    """Starts and reads Transcribe jobs whose media and output are in `bucket`."""

    def __init__(self, client: Callable[[], Any], bucket: str) -> None:
        self._client = client
        self.bucket = bucket

    def start(self, name: str, media_key: str, language_code: str, output_key: str) -> None:
        """Start job `name` on s3://bucket/media_key; one of that name already is it (a
        retried job), so that a voicemail is transcribed (and paid for) once."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client().start_transcription_job(
                TranscriptionJobName=name,
                LanguageCode=language_code,
                MediaFormat="wav",
                Media={"MediaFileUri": f"s3://{self.bucket}/{media_key}"},
                OutputBucketName=self.bucket,
                OutputKey=output_key,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConflictException":
                return
            raise TranscribeError(f"cannot start transcription {name}: {exc}") from exc
        except BotoCoreError as exc:
            raise TranscribeError(f"cannot start transcription {name}: {exc}") from exc

    def status(self, name: str) -> JobStatus:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            job = self._client().get_transcription_job(TranscriptionJobName=name)
        except (BotoCoreError, ClientError) as exc:
            raise TranscribeError(f"cannot read transcription {name}: {exc}") from exc
        found = job.get("TranscriptionJob", {})
        return JobStatus(str(found.get("TranscriptionJobStatus", "")), found.get("FailureReason"))


def transcript_text(document: bytes) -> str:
    """The words of Transcribe's output JSON (results.transcripts[].transcript)."""
    try:
        parsed = json.loads(document)
        parts = parsed["results"]["transcripts"]
        return " ".join(str(p["transcript"]).strip() for p in parts).strip()
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a Transcribe transcript: {exc}") from exc
