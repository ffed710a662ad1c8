"""`make bench` (part 9): requests per call to the store's number (DynamoDB, SQS, Twilio),
and what 1,000 calls cost, on AWS and at Twilio.

Calls go through the app's own handler (Chalice's test client) with Twilio's part played
by the sandbox (relaydesk/sandbox/twilio_voice.py: each request signed as Twilio signs it),
and their jobs through the local worker, against moto's server over HTTP; the emulator's
recorder counts every AWS request (bench/flows.py's Meter). Two cases, out of hours at
the demo store: a voicemail with its transcript (the Voice URL, the recording, the
transcription, then the jobs: the agents' notification and the text back), and a caller
who hangs up at the tone (a missed call: texted back too). A forwarded call that someone
takes reads and writes nothing (tests/integration/test_voice.py counts it).
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
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
    "recording_minute": 0.0025,
    "transcription_minute": 0.05,
    "sms": 0.0083,  # one outbound segment (the text back), carrier fees on top
}


def main() -> int:
    stack = start_local_stack(PUBLIC_URL)
    aws_url = stack.aws_url
    sandbox_url = stack.sandbox_url
    outputs = stack.outputs
    import boto3
    from chalice.test import Client

    from app import app, on_job
    from chalicelib.composition import Container, reset_container
    from chalicelib.settings import Settings
    from relaydesk import emulator
    from relaydesk.local_env import LOCAL_TWILIO_AUTH_TOKEN
    from relaydesk.sandbox.twilio_voice import play_call
    from relaydesk.workers import QueueWorker

    clock = Clock()
    clock.now = datetime(2026, 11, 24, 19, 0, tzinfo=UTC)  # Tuesday 20:00 in Prague: closed
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

        call("warm-up", "+420700000000", number="+15005550006", voicemail="warm up")
        drain()
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
        handled["voicemail"] = measured("voicemail: its jobs (notify, text back)", drain)
        call("missed call", "+420777100300", number="+15005550006", voicemail=None)
        handled["missed call"] = measured("missed call: its jobs (notify, text back)", drain)

    stack.stop()

    columns = ["dynamodb requests", "dynamodb wru", "dynamodb rru", "sqs requests", "twilio calls"]
    rows = [[name, *(f"{counted.get(c, 0):g}" for c in columns)] for name, counted in flows.items()]
    webhook_ms = [1000 * t for k, t in durations.items() if "jobs" not in k]

    def aws_cost(prefix: str) -> tuple[float, int]:
        parts = [v for k, v in flows.items() if k.startswith(prefix)]
        webhooks = sum(1 for k in flows if k.startswith(prefix) and "jobs" not in k)
        invocations = webhooks + handled[prefix]  # one Lambda per webhook and per job
        wru = sum(p.get("dynamodb wru", 0) for p in parts)
        rru = sum(p.get("dynamodb rru", 0) for p in parts)
        sqs = sum(p.get("sqs requests", 0) for p in parts)
        seconds = sum(t for k, t in durations.items() if k.startswith(prefix))
        cost = (
            webhooks * PRICE["api_gateway_request"]
            + invocations * PRICE["lambda_request"]
            + seconds * LAMBDA_MEMORY_GB * PRICE["lambda_gb_second"]
            + wru * PRICE["dynamodb_wru"]
            + rru * PRICE["dynamodb_rru"]
            + sqs * PRICE["sqs_request"]
            + invocations * LOG_BYTES_PER_INVOCATION / 1e9 * PRICE["logs_gb"]
        )
        return cost, webhooks

    greeting_minutes = 0.5  # about 20 s of greeting, billed by the started minute with the rest
    voicemail_minutes = -(-(VOICEMAIL_SECONDS + 20) // 60)  # the call, rounded up per minute
    twilio_voicemail = (
        voicemail_minutes * TWILIO["inbound_minute"]
        + 1 * TWILIO["recording_minute"]
        + 1 * TWILIO["transcription_minute"]
        + TWILIO["sms"]
    )
    twilio_missed = 1 * TWILIO["inbound_minute"] + TWILIO["sms"]
    voicemail_aws, voicemail_hooks = aws_cost("voicemail")
    missed_aws, missed_hooks = aws_cost("missed call")
    body = [
        (__doc__ or "").split("\n\n", 1)[1].strip(),
        "### Requests per call (measured)",
        table(["flow", *columns], rows),
        "The webhook path's budget is 2 DynamoDB + 1 SQS requests: the Voice URL reads one "
        "item (the caller's language and promise), the recording is stored as an SMS is, "
        "the transcription reads the recording's marker, updates its message and queues a "
        "notification job (which tells the agents again only if they heard of the voicemail "
        "without its transcript).",
        "### What 1,000 calls cost",
        f"AWS: each webhook's handler {sum(webhook_ms) / len(webhook_ms):.0f} ms mean, the jobs "
        "as measured, at 512 MB (against the emulator: an upper bound); us-east-1 list "
        "prices as in bench/flows.py. Twilio: its US list prices "
        f"as assumptions ({', '.join(f'{k} ${v}' for k, v in TWILIO.items())}); a "
        f"{VOICEMAIL_SECONDS} s voicemail after a ~{greeting_minutes * 40:.0f} s greeting is "
        f"{voicemail_minutes} billed minute(s), its recording and transcript one minute each. "
        "S3 and Amazon Transcribe are not used yet (the recording stays at Twilio; Twilio "
        "transcribes).",
        table(
            ["1,000 calls that ...", "webhooks each", "AWS cost", "Twilio cost"],
            [
                [
                    "leave a voicemail (transcribed, texted back)",
                    voicemail_hooks,
                    f"${1000 * voicemail_aws:,.4f}",
                    f"${1000 * twilio_voicemail:,.2f}",
                ],
                [
                    "hang up at the tone (missed call, texted back)",
                    missed_hooks,
                    f"${1000 * missed_aws:,.4f}",
                    f"${1000 * twilio_missed:,.2f}",
                ],
            ],
        ),
    ]
    emit(Section("Calls: requests and cost per voicemail", "\n\n".join(body)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
