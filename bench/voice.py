"""`make bench` (part 9): requests per call to the store's number (DynamoDB, SQS, Twilio),
and what 1,000 calls cost, on AWS and at Twilio.

Calls go through the app's own handler (Chalice's test client) with Twilio's part played
by the sandbox (relaydesk/sandbox/twilio_voice.py: each request signed as Twilio signs it),
and their jobs through the local worker, against moto's server over HTTP; the emulator's
recorder counts every AWS request (bench/flows.py's Meter), the sandbox every Twilio and
Transcribe call (Transcribe is the sandbox's stand-in locally; its S3 reads and writes of
our bucket are counted as S3 requests, as AWS bills them to the bucket's owner). Two
cases, out of hours at the demo store: a voicemail (the Voice URL, the recording, then
the jobs: the recording kept in S3 and deleted at Twilio, Transcribe started, the agents'
notification, the text back; later the looks at the transcription and the agents'
second notification with the transcript), and a caller who hangs up at the tone (a
missed call: texted back too). A forwarded call that someone takes reads and writes
nothing (tests/integration/test_voice.py counts it).
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from bench.flows import LAMBDA_MEMORY_GB, LOG_BYTES_PER_INVOCATION, PRICE, Clock, Meter
from bench.local import start_local_stack
from bench.report import Section, emit, table

PUBLIC_URL = "http://127.0.0.1:8000"
VOICEMAIL_SECONDS = 30
# Twilio's US list prices (twilio.com/en-us/voice/pricing/us, /sms/pricing/us), per minute
# or message, as assumptions to check against the store's own country and contract.
TWILIO = {
    "inbound_minute": 0.0085,  # a local number receiving a call
    "recording_minute": 0.0025,  # storage is free to 10,000 minutes; ours is deleted at once
    "sms": 0.0083,  # one outbound segment (the text back), carrier fees on top
}
# Amazon's us-east-1 list prices (aws.amazon.com/transcribe/pricing, /s3/pricing).
AMAZON = {
    "transcribe_minute": 0.024,  # batch, tier 1 (first 250,000 minutes a month)
    "s3_put": 0.005 / 1000,
    "s3_get": 0.0004 / 1000,
    "s3_gb_month": 0.023,  # S3 Standard, first 50 TB
}
TRANSCRIBE_MINIMUM_SECONDS = 15  # billed per second, 15 s at least
WAV_BYTES_PER_SECOND = 8000 * 2  # Twilio's recordings: 8 kHz, 16-bit, mono
RETENTION_MONTHS = 12  # MailRetentionDays' default, 365 days


def main() -> int:
    stack = start_local_stack(PUBLIC_URL)
    aws_url = stack.aws_url
    sandbox_url = stack.sandbox_url
    outputs = stack.outputs
    import boto3
    from chalice.test import Client

    from app import app, on_job
    from chalicelib.composition import Container, reset_container
    from chalicelib.domain.voice import TRANSCRIBE_POLL_DELAYS
    from chalicelib.settings import Settings
    from relaydesk import emulator
    from relaydesk.local_env import LOCAL_TWILIO_AUTH_TOKEN
    from relaydesk.sandbox.twilio_voice import play_call
    from relaydesk.workers import QueueWorker

    clock = Clock()
    clock.now = datetime(2026, 11, 24, 19, 0, tzinfo=UTC)  # Tuesday 20:00 in Prague: closed
    os.environ["MAIL_BUCKET"] = outputs["MailBucketName"]
    reset_container(Container(Settings.from_env(), clock=clock))
    meter = Meter(aws_url, stack.sandbox)
    jobs = QueueWorker(boto3.client("sqs"), outputs["JobsQueueUrl"], on_job)
    durations: dict[str, float] = {}
    flows: dict[str, dict[str, float]] = {}
    handled: dict[str, int] = {}

    def measured(name: str, action: Any) -> Any:
        meter.start()
        started = time.perf_counter()
        result = action()
        durations[name] = time.perf_counter() - started
        flows[name] = meter.stop()
        return result

    with emulator.sqs_follows(clock), Client(app) as client:

        def post(url: str, params: dict[str, str], signature: str) -> tuple[int, str]:
            response = client.http.post(
                url.removeprefix(PUBLIC_URL),
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Twilio-Signature": signature,
                },
                body=urlencode(params),
            )
            assert response.status_code == 200, response.body
            return response.status_code, response.body.decode()

        def one_step(name: str) -> Any:
            """`post` that measures each of Twilio's requests as its own flow."""

            def step(url: str, params: dict[str, str], signature: str) -> tuple[int, str]:
                kind = url.rsplit("/", 1)[-1]
                answer: tuple[int, str] = measured(
                    f"{name}: {kind}", lambda: post(url, params, signature)
                )
                return answer

            return step

        def call(name: str, caller: str, **options: Any) -> None:
            play_call(
                one_step(name),
                auth_token=LOCAL_TWILIO_AUTH_TOKEN,
                voice_url=PUBLIC_URL + "/webhooks/twilio/voice",
                sandbox_url=sandbox_url,
                caller=caller,
                **options,
            )

        def drain() -> int:
            done = 0
            while count := jobs.poll_once():
                done += count
            return done

        def transcript() -> int:
            """The looks at the transcription, as SQS delays them (the clock moves)."""
            done = 0
            for wait in TRANSCRIBE_POLL_DELAYS[:2]:  # the sandbox's is done at the 2nd look
                clock.now += timedelta(seconds=wait)
                done += drain()
            return done

        call("warm-up", "+420700000000", number="+15005550006", voicemail="warm up")
        drain()
        transcript()
        flows.clear()  # the clients are built: what follows is a warm container
        durations.clear()
        emulator.reset(aws_url)
        emulator.provision(aws_url)
        words = "Hello, my parcel 1042 did not come, please call me back. " * 6
        call(
            "voicemail",
            "+420777100200",
            number="+15005550006",
            voicemail=words,
            duration=VOICEMAIL_SECONDS,
        )
        handled["voicemail"] = measured(
            "voicemail: its jobs (keep, delete at Twilio, transcribe, notify, text back)", drain
        )
        handled["voicemail"] += measured(
            "voicemail: its transcript's jobs (2 looks, notify again)", transcript
        )
        call("missed call", "+420777100300", number="+15005550006", voicemail=None)
        handled["missed call"] = measured("missed call: its jobs (notify, text back)", drain)

    stack.stop()

    columns = [
        "dynamodb requests",
        "dynamodb wru",
        "dynamodb rru",
        "sqs requests",
        "s3 requests",
        "twilio calls",
        "twilio-voice calls",
        "transcribe calls",
    ]
    rows = [[name, *(f"{counted.get(c, 0):g}" for c in columns)] for name, counted in flows.items()]
    webhook_ms = [1000 * t for k, t in durations.items() if "jobs" not in k]

    def aws_cost(prefix: str) -> tuple[float, int]:
        parts = [v for k, v in flows.items() if k.startswith(prefix)]
        webhooks = sum(1 for k in flows if k.startswith(prefix) and "jobs" not in k)
        invocations = webhooks + handled[prefix]  # one Lambda per webhook and per job
        wru = sum(p.get("dynamodb wru", 0) for p in parts)
        rru = sum(p.get("dynamodb rru", 0) for p in parts)
        sqs = sum(p.get("sqs requests", 0) for p in parts)
        s3 = sum(p.get("s3 requests", 0) for p in parts)
        seconds = sum(t for k, t in durations.items() if k.startswith(prefix))
        cost = (
            webhooks * PRICE["api_gateway_request"]
            + invocations * PRICE["lambda_request"]
            + seconds * LAMBDA_MEMORY_GB * PRICE["lambda_gb_second"]
            + wru * PRICE["dynamodb_wru"]
            + rru * PRICE["dynamodb_rru"]
            + sqs * PRICE["sqs_request"]
            + s3 * AMAZON["s3_put"]  # every request at PUT's price: an upper bound
            + invocations * LOG_BYTES_PER_INVOCATION / 1e9 * PRICE["logs_gb"]
        )
        return cost, webhooks

    greeting_minutes = 0.5  # about 20 s of greeting, billed by the started minute with the rest
    voicemail_minutes = -(-(VOICEMAIL_SECONDS + 20) // 60)  # the call, rounded up per minute
    twilio_voicemail = (
        voicemail_minutes * TWILIO["inbound_minute"]
        + 1 * TWILIO["recording_minute"]
        + TWILIO["sms"]
    )
    transcribe = max(VOICEMAIL_SECONDS, TRANSCRIBE_MINIMUM_SECONDS) / 60
    transcribe_cost = transcribe * AMAZON["transcribe_minute"]
    kept_gb = VOICEMAIL_SECONDS * WAV_BYTES_PER_SECOND / 1e9
    storage_cost = kept_gb * AMAZON["s3_gb_month"] * RETENTION_MONTHS
    twilio_missed = 1 * TWILIO["inbound_minute"] + TWILIO["sms"]
    voicemail_aws, voicemail_hooks = aws_cost("voicemail")
    missed_aws, missed_hooks = aws_cost("missed call")
    body = [
        (__doc__ or "").split("\n\n", 1)[1].strip(),
        "### Requests per call (measured)",
        table(["flow", *columns], rows),
        "The webhook path's budget is 2 DynamoDB + 1 SQS requests: the Voice URL reads one "
        "item (the caller's language and promise), the recording is stored as an SMS is. "
        "Everything else is jobs: the recording fetched from Twilio (a GET the sandbox does "
        "not count), written to S3, deleted at Twilio (the twilio-voice call), Transcribe "
        "started on it (the transcribe call; its S3 read of the WAV and write of the "
        "transcript are among the S3 requests), the agents notified with a presigned link; "
        "then the delayed looks (GetTranscriptionJob, not counted by the sandbox), the "
        "transcript read from S3 and the agents told again.",
        "### What 1,000 calls cost",
        f"AWS: each webhook's handler {sum(webhook_ms) / len(webhook_ms):.0f} ms mean, the jobs "
        "as measured, at 512 MB (against the emulator: an upper bound); us-east-1 list "
        "prices as in bench/flows.py, S3 requests at PUT's price. Twilio: its US list prices "
        f"as assumptions ({', '.join(f'{k} ${v}' for k, v in TWILIO.items())}); a "
        f"{VOICEMAIL_SECONDS} s voicemail after a ~{greeting_minutes * 40:.0f} s greeting is "
        f"{voicemail_minutes} billed minute(s), its recording one minute. Amazon Transcribe "
        f"batch at ${AMAZON['transcribe_minute']}/min, per second with a "
        f"{TRANSCRIBE_MINIMUM_SECONDS} s minimum: ${transcribe_cost:.4f} a voicemail; the "
        f"WAV ({kept_gb * 1e3:.2f} MB) kept {RETENTION_MONTHS} months in S3 Standard at "
        f"${AMAZON['s3_gb_month']}/GB-month: ${storage_cost:.6f} a voicemail.",
        table(
            [
                "1,000 calls that ...",
                "webhooks each",
                "AWS requests and Lambda",
                "Transcribe",
                "S3 storage",
                "Twilio cost",
            ],
            [
                [
                    "leave a voicemail (kept, transcribed, texted back)",
                    voicemail_hooks,
                    f"${1000 * voicemail_aws:,.4f}",
                    f"${1000 * transcribe_cost:,.2f}",
                    f"${1000 * storage_cost:,.4f}",
                    f"${1000 * twilio_voicemail:,.2f}",
                ],
                [
                    "hang up at the tone (missed call, texted back)",
                    missed_hooks,
                    f"${1000 * missed_aws:,.4f}",
                    "$0.00",
                    "$0.0000",
                    f"${1000 * twilio_missed:,.2f}",
                ],
            ],
        ),
    ]
    emit(Section("Calls: requests and cost per voicemail", "\n\n".join(body)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
