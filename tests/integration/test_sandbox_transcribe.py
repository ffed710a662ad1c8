"""The sandbox's Amazon Transcribe, driven through boto3 as the app drives it, with its
media in moto's S3: if these pass, boto3 takes its answers as Amazon's, and the words it
"hears" are the ones carried by the bytes in the bucket."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from relaydesk.sandbox.twilio_voice import recording_audio, spoken_words


@pytest.fixture
def transcribe(sandbox_url: str) -> Any:
    return boto3.client("transcribe", endpoint_url=f"{sandbox_url}/transcribe")


def test_a_job_reads_the_words_in_the_s3_object_and_writes_amazons_transcript(
    aws: dict[str, str], transcribe: Any, outbox: Any
) -> None:
    bucket = aws["MailBucketName"]
    s3 = boto3.client("s3")
    audio = recording_audio(words="Dobrý den, kde je balík?")
    assert spoken_words(audio) == "Dobrý den, kde je balík?"
    assert audio[:4] == b"RIFF"
    assert int.from_bytes(audio[4:8], "little") == len(audio) - 8  # a well-formed RIFF
    s3.put_object(Bucket=bucket, Key="recordings/demo/REx.wav", Body=audio)
    started = transcribe.start_transcription_job(
        TranscriptionJobName="relaydesk-demo-REx",
        LanguageCode="cs-CZ",
        MediaFormat="wav",
        Media={"MediaFileUri": f"s3://{bucket}/recordings/demo/REx.wav"},
        OutputBucketName=bucket,
        OutputKey="transcripts/demo/REx.json",
    )
    assert started["TranscriptionJob"]["TranscriptionJobStatus"] == "IN_PROGRESS"
    with pytest.raises(ClientError) as twice:
        transcribe.start_transcription_job(
            TranscriptionJobName="relaydesk-demo-REx",
            LanguageCode="cs-CZ",
            Media={"MediaFileUri": f"s3://{bucket}/recordings/demo/REx.wav"},
            OutputBucketName=bucket,
        )
    assert twice.value.response["Error"]["Code"] == "ConflictException"
    first = transcribe.get_transcription_job(TranscriptionJobName="relaydesk-demo-REx")
    assert first["TranscriptionJob"]["TranscriptionJobStatus"] == "IN_PROGRESS"
    done = transcribe.get_transcription_job(TranscriptionJobName="relaydesk-demo-REx")
    job = done["TranscriptionJob"]
    assert job["TranscriptionJobStatus"] == "COMPLETED"
    assert job["Transcript"]["TranscriptFileUri"].endswith(f"/{bucket}/transcripts/demo/REx.json")
    written = s3.get_object(Bucket=bucket, Key="transcripts/demo/REx.json")["Body"].read()
    assert json.loads(written)["results"]["transcripts"][0]["transcript"] == (
        "Dobrý den, kde je balík?"
    )
    (entry,) = outbox.entries(provider="transcribe")
    assert (entry["id"], entry["language"]) == ("relaydesk-demo-REx", "cs-CZ")


def test_a_missing_media_fails_the_job_and_an_unknown_job_is_refused(
    aws: dict[str, str], transcribe: Any
) -> None:
    bucket = aws["MailBucketName"]
    transcribe.start_transcription_job(
        TranscriptionJobName="relaydesk-demo-missing",
        LanguageCode="en-US",
        Media={"MediaFileUri": f"s3://{bucket}/recordings/demo/none.wav"},
        OutputBucketName=bucket,
    )
    transcribe.get_transcription_job(TranscriptionJobName="relaydesk-demo-missing")
    failed = transcribe.get_transcription_job(TranscriptionJobName="relaydesk-demo-missing")
    assert failed["TranscriptionJob"]["TranscriptionJobStatus"] == "FAILED"
    assert "could not be read" in failed["TranscriptionJob"]["FailureReason"]
    with pytest.raises(ClientError) as unknown:
        transcribe.get_transcription_job(TranscriptionJobName="never-started")
    assert unknown.value.response["Error"]["Code"] == "BadRequestException"
