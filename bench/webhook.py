"""`make bench`: the SMS webhook's server-side time and its AWS request count.

Everything runs on this machine: moto's server over HTTP (provisioned from the infra
template), the app's Lambda handler called through Chalice's test client. Absolute times
depend on the machine and the emulator, so each figure is also given as a ratio to a floor
measured in the same run:

- floor (I/O): the request budget itself, done by hand with boto3 against the same emulator:
  one GetItem, one TransactWriteItems of four items, one SendMessage;
- floor (import): `import botocore`, which any handler of ours needs.

Requests are counted with botocore's `before-send` event hook on every client the app uses.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_URL = "http://127.0.0.1:8000"
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "1000"))
BATCH = 50


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def import_seconds(statement: str, runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(  # noqa: S603 - our own interpreter
            [sys.executable, "-c", statement], cwd=ROOT, check=True
        )
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from relaydesk import emulator, sandbox
    from relaydesk.local_env import LOCAL_TWILIO_AUTH_TOKEN, local_environment

    moto_server, aws_url = emulator.start_moto()
    sandbox_server, sandbox_url = sandbox.start_in_thread()
    os.environ.update(
        local_environment(app_url=PUBLIC_URL, aws_url=aws_url, sandbox_url=sandbox_url)
    )
    outputs = emulator.provision(aws_url)

    import boto3
    from chalice.test import Client
    from twilio.request_validator import RequestValidator
    from urllib3 import encode_multipart_formdata

    from app import app
    from chalicelib.composition import Container, container, reset_container
    from chalicelib.config import Settings
    from chalicelib.domain import tokens
    from chalicelib.store.models import CustomerItem, MarkerItem, MessageItem, ThreadItem
    from relaydesk.local_env import LOCAL_PARSE_PASSWORD

    validator = RequestValidator(LOCAL_TWILIO_AUTH_TOKEN)
    url = PUBLIC_URL + "/webhooks/twilio/messaging"
    counts: Counter[str] = Counter()

    def count(request: Any, **_: Any) -> None:
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else target
        service = "sqs" if "AmazonSQS" in target or "sqs" in request.url else "dynamodb"
        counts[service] += 1

    def post(client: Client, sender: str, body: str) -> float:
        params = {
            "MessageSid": f"SM{uuid.uuid4().hex}",
            "From": sender,
            "To": "+15005550006",
            "Body": body,
        }
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": validator.compute_signature(url, params),
        }
        start = time.perf_counter()
        response = client.http.post(
            "/webhooks/twilio/messaging", headers=headers, body=urlencode(params)
        )
        elapsed = time.perf_counter() - start
        assert response.status_code == 200, response.body
        return elapsed

    parse_auth = "Basic " + base64.b64encode(f"parse:{LOCAL_PARSE_PASSWORD}".encode()).decode()

    def post_parse(client: Client, fields: dict[str, str]) -> float:
        body, content_type = encode_multipart_formdata(fields)
        headers = {"Content-Type": content_type, "Authorization": parse_auth}
        start = time.perf_counter()
        response = client.http.post("/webhooks/sendgrid/inbound", headers=headers, body=body)
        elapsed = time.perf_counter() - start
        assert response.status_code == 200, response.body
        return elapsed

    def email(client: Client, sender: str) -> float:
        return post_parse(
            client,
            {
                "headers": f"Message-ID: <{uuid.uuid4().hex}@customer.example>\n",
                "from": sender,
                "to": "support@demo.relaydesk.test",
                "subject": "Order 1042",
                "text": "Where is my parcel?\n\nThanks, Jana",
            },
        )

    def agent_reply(client: Client, customer: str) -> float:
        pointer = container().repository.customer("demo", customer)
        assert pointer is not None
        assert pointer.open_thread_id
        address = tokens.reply_address(
            container().reply_secret, "demo", pointer.open_thread_id, "reply.relaydesk.test"
        )
        return post_parse(
            client,
            {
                "headers": f"Message-ID: <{uuid.uuid4().hex}@demo.relaydesk.test>\n",
                "from": "alex@demo.relaydesk.test",
                "to": address,
                "subject": "Re: SMS",
                "text": "It ships today.\n\nOn Mon, Demo Store wrote:\n> Where is my order?\n",
            },
        )

    # Floor: the same budget by hand, against the same emulator.
    dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    table, queue_url = outputs["TableName"], outputs["JobsQueueUrl"]

    def floor_once() -> float:
        key = uuid.uuid4().hex
        item: Callable[[str], dict[str, Any]] = lambda sk: {  # noqa: E731
            "Put": {"TableName": table, "Item": {"pk": {"S": f"floor#{key}"}, "sk": {"S": sk}}}
        }
        start = time.perf_counter()
        dynamodb.get_item(TableName=table, Key={"pk": {"S": f"floor#{key}"}, "sk": {"S": "c"}})
        dynamodb.transact_write_items(TransactItems=[item("m"), item("t"), item("c"), item("x")])
        sqs.send_message(QueueUrl=queue_url, MessageBody="{}")
        return time.perf_counter() - start

    # Settings are read now: Chalice's test client would apply .chalice/config.json's stage.
    reset_container(Container(Settings.from_env()))
    floor_times: list[float] = []

    with Client(app) as client:
        post(client, "+420700000000", "warm-up")  # builds every client once
        c = container()
        clients = [
            m._get_connection().connection.client
            for m in (ThreadItem, MessageItem, CustomerItem, MarkerItem)
        ]
        clients += [c.repository.connection.client, c.jobs._client]
        for botocore_client in {id(x): x for x in clients}.values():
            botocore_client.meta.events.register("before-send", count)

        kinds: dict[str, Callable[[str], float]] = {
            "SMS, new thread (acknowledged)": lambda who: post(client, who, "Where is it?"),
            "SMS, follow-up (same thread)": lambda who: post(client, who, "Any news?"),
            "agent reply (Inbound Parse)": lambda who: agent_reply(client, who),
            "e-mail, new thread": lambda who: email(client, who.replace("+", "c") + "@x.test"),
        }
        times: dict[str, list[float]] = {kind: [] for kind in kinds}
        counted: dict[str, Counter[str]] = {kind: Counter() for kind in kinds}
        customers = [f"+4207{n:08d}" for n in range(REQUESTS)]
        for first in range(0, REQUESTS, BATCH):
            # moto deep-copies the table on every transaction, so a growing table makes the
            # emulator, not our code, slower and slower: start each batch on a fresh one.
            emulator.reset(aws_url)
            emulator.provision(aws_url)
            for kind, send in kinds.items():
                for who in customers[first : first + BATCH]:
                    if kind.startswith("SMS, new"):
                        floor_times.append(floor_once())  # interleaved with the webhook
                    counts.clear()
                    times[kind].append(send(who))
                    counted[kind].update(counts)

    sandbox_server.shutdown()
    moto_server.stop()

    app_import = import_seconds("import app")
    botocore_import = import_seconds("import botocore.session, botocore.client")
    python_start = import_seconds("pass")

    floor50, floor99 = percentile(floor_times, 0.5), percentile(floor_times, 0.99)
    n = len(customers)
    rows = [(kind, times[kind], counted[kind]) for kind in kinds]
    print(f"# Webhooks, {n} requests each, moto server over HTTP (fresh table every {BATCH})\n")
    print("| case | p50 ms | p99 ms | p50 / floor | DynamoDB req/msg | SQS req/msg |")
    print("|---|---|---|---|---|---|")
    for name, samples, by_service in rows:
        p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
        print(
            f"| {name} | {p50 * 1e3:.1f} | {p99 * 1e3:.1f} | {p50 / floor50:.2f} | "
            f"{by_service['dynamodb'] / n:.2f} | {by_service['sqs'] / n:.2f} |"
        )
    print(
        f"| floor: GetItem + TransactWriteItems + SendMessage by hand | {floor50 * 1e3:.1f} | "
        f"{floor99 * 1e3:.1f} | 1.00 | 2 | 1 |"
    )
    print("\n# Cold import (best of 5, includes interpreter start)\n")
    print("| what | seconds | ratio to `import botocore` |")
    print("|---|---|---|")
    print(f"| python -c pass | {python_start:.3f} | {python_start / botocore_import:.2f} |")
    print(f"| import botocore (floor) | {botocore_import:.3f} | 1.00 |")
    print(f"| import app | {app_import:.3f} | {app_import / botocore_import:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
