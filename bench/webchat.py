"""`make bench` (part 9): the web chat widget's size, and the requests each chat request
makes (DynamoDB, SQS, SendGrid).

The widget is chalicelib/static/widget.js as `GET /widget.js` serves it: its bytes, and
gzipped (level 6, what a CDN or API Gateway's compression sends, and level 9). Its CSS is
inside it; it loads nothing else. The requests: the demo store's widget endpoints through
the app's own handler (Chalice's test client) and the jobs through the local worker,
against moto's server over HTTP and the sandbox; the emulator's recorder counts every AWS
request (bench/flows.py's Meter). One conversation: the session, the first message (a new
thread), its jobs (the answer job acknowledges and notifies the agents), a poll, the
agent's e-mailed answer and its delivery, a poll that fetches it, a follow-up message.
"""

from __future__ import annotations

import base64
import gzip
import json
import sys
import uuid
from typing import Any

from bench.flows import ROOT, Clock, Meter
from bench.local import start_local_stack
from bench.report import Section, Target, emit, table

PUBLIC_URL = "http://127.0.0.1:8000"
WIDGET_BUDGET_BYTES = 30 * 1024


def widget_sizes() -> dict[str, int]:
    raw = (ROOT / "chalicelib" / "static" / "widget.js").read_bytes()
    return {
        "bytes": len(raw),
        "gzip -6": len(gzip.compress(raw, 6)),
        "gzip -9": len(gzip.compress(raw, 9)),
    }


def main() -> int:
    stack = start_local_stack(PUBLIC_URL)
    aws_url = stack.aws_url
    outputs = stack.outputs
    import boto3
    from chalice.test import Client
    from urllib3 import encode_multipart_formdata

    from app import app, on_job
    from chalicelib.composition import Container, reset_container
    from chalicelib.settings import Settings
    from relaydesk import emulator
    from relaydesk.local_env import LOCAL_PARSE_PASSWORD
    from relaydesk.workers import QueueWorker

    clock = Clock()  # Tuesday 10:00 in Prague: the store is open
    reset_container(Container(Settings.from_env(), clock=clock))
    meter = Meter(aws_url, stack.sandbox)
    jobs = QueueWorker(boto3.client("sqs"), outputs["JobsQueueUrl"], on_job)
    headers = {"Origin": PUBLIC_URL, "Content-Type": "text/plain"}

    def call(client: Client, action: str, payload: dict[str, Any]) -> Any:
        response = client.http.post(
            f"/webchat/demo/{action}", headers=headers, body=json.dumps(payload)
        )
        assert response.status_code == 200, response.body
        return json.loads(response.body)

    def drain() -> None:
        while jobs.poll_once():
            pass

    notices: list[dict[str, Any]] = []

    def agent_reply(client: Client) -> None:
        notice = notices[-1]
        fields = {
            "headers": f"Message-ID: <{uuid.uuid4().hex}@demo.relaydesk.test>\n",
            "from": notice["to"],
            "to": notice["reply_to"],
            "subject": "Re: web chat",
            "text": "Yes, we gift-wrap for free.",
        }
        body, content_type = encode_multipart_formdata(fields)
        response = client.http.post(
            "/webhooks/sendgrid/inbound",
            headers={
                "Content-Type": content_type,
                "Authorization": "Basic "
                + base64.b64encode(f"parse:{LOCAL_PARSE_PASSWORD}".encode()).decode(),
            },
            body=body,
        )
        assert response.status_code == 200, response.body

    def measure(action: Any) -> dict[str, float]:
        meter.start()
        action()
        return meter.stop()

    flows: dict[str, dict[str, float]] = {}
    with emulator.sqs_follows(clock), Client(app) as client:
        warm = call(client, "session", {"language": "en"})["token"]  # clients built once
        call(client, "messages", {"token": warm, "id": uuid.uuid4().hex, "text": "warm-up"})
        drain()
        emulator.reset(aws_url)
        emulator.provision(aws_url)
        token = ""

        def session() -> None:
            nonlocal token
            token = call(client, "session", {"language": "en"})["token"]

        def send(text: str) -> None:
            call(client, "messages", {"token": token, "id": uuid.uuid4().hex, "text": text})

        flows["session (words and token)"] = measure(session)
        flows["message, new conversation"] = measure(lambda: send("Can you gift-wrap it?"))
        flows["its jobs (answer job: acknowledgement, agents' e-mail)"] = measure(drain)
        notices.extend(stack.sandbox.entries(provider="sendgrid"))
        flows["poll"] = measure(lambda: call(client, "poll", {"token": token}))
        flows["agent's e-mailed answer (Inbound Parse)"] = measure(lambda: agent_reply(client))
        flows["its delivery job"] = measure(drain)
        flows["poll that fetches the answer"] = measure(
            lambda: call(client, "poll", {"token": token})
        )
        flows["message, follow-up"] = measure(lambda: send("Thank you!"))

    stack.stop()

    sizes = widget_sizes()
    columns = ["dynamodb requests", "sqs requests", "sendgrid calls"]
    rows = [[name, *(f"{counted.get(c, 0):g}" for c in columns)] for name, counted in flows.items()]
    sends = [flows["message, new conversation"], flows["message, follow-up"]]
    worst_dynamodb = max(s.get("dynamodb requests", 0) for s in sends)
    worst_sqs = max(s.get("sqs requests", 0) for s in sends)
    markdown = "\n\n".join(
        [
            __doc__.split("\n\n", 1)[1].strip(),
            table(
                ("chalicelib/static/widget.js", "bytes"),
                ((name, f"{size:,}") for name, size in sizes.items()),
            ),
            table(("request", *columns), rows),
            "A poll while the panel is open costs one read of the visitor's item and one "
            "query of the thread; the widget polls every 3 s at first, backing off x1.5 to "
            "30 s, and not at all while the panel is closed or the page hidden.",
        ]
    )
    emit(
        Section(
            title="Web chat: widget size and requests per chat request",
            markdown=markdown,
            targets=(
                Target(
                    "widget.js with its CSS, gzipped",
                    f"{sizes['gzip -6']:,} bytes",
                    f"{WIDGET_BUDGET_BYTES:,} bytes",
                    sizes["gzip -6"] <= WIDGET_BUDGET_BYTES,
                ),
                Target(
                    "requests per chat message (DynamoDB + SQS)",
                    f"{worst_dynamodb:g} + {worst_sqs:g}",
                    "2 + 1",
                    worst_dynamodb <= 2 and worst_sqs <= 1,
                ),
            ),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
