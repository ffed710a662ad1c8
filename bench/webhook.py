"""`make bench` (part 1): each webhook's server-side time and its AWS request count.

Everything runs on this machine: moto's server over HTTP (provisioned from the infra
template), the app's Lambda handler called through Chalice's test client. Absolute times
depend on the machine and the emulator, so each figure is also given as a ratio to a floor
measured in the same run: the request budget itself, done by hand with boto3 against the same
emulator (one GetItem, one TransactWriteItems of four items, one SendMessage).

How the run is laid out, and why (none of it inside a timed call):

- moto's server runs in a process of its own (`python -m moto.server`), as DynamoDB and
  SQS run on other machines than Lambda: the emulator's work and its garbage collections
  do not pause the process that holds the handler, and the other way round.
- customers go one after another, each through the floor and every kind in the order a
  conversation has them (new SMS thread, follow-up, agent reply, new e-mail thread), so
  that every kind and the floor see the same emulator state.
- after each customer the table and the queues are emptied (scan + BatchWriteItem,
  PurgeQueue), and every STATE_EVERY customers the emulator is reset and provisioned
  again. moto deep-copies the whole table four times per four-item `TransactWriteItems`
  and walks the whole queue on every `SendMessage`, and keeps an empty entry for every
  partition key ever deleted: its cost grows with the data it holds, where DynamoDB's and
  SQS's does not. Left to grow, that growth was most of the wall time and put the kinds
  measured on a fuller table at a disadvantage against the floor.
- the app logs as deployed (LOG_LEVEL INFO, JSON lines, masking) into /dev/null instead
  of the terminal: formatting is still paid, the terminal's scrolling is not.

Requests are counted with botocore's `before-send` event hook on every client the app uses.
REQUESTS (environment `BENCH_REQUESTS`, default 1000) requests of each kind, and as many floors.
The section it renders (`render`, for bench/RESULTS.md) repeats what a reader needs of this.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.report import Section, Target, emit, table

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_URL = "http://127.0.0.1:8000"
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "1000"))
STATE_EVERY = int(os.environ.get("BENCH_STATE_EVERY", "20"))
FLOOR = "floor: GetItem + TransactWriteItems + SendMessage by hand"
MESSENGER = "Messenger, new thread"
BATCH = 3
MESSENGER_BATCH = f"Messenger, {BATCH} customers in one post (per message)"


def per_post(kind: str) -> int:
    """Messages in one request of `kind`: its requests are counted per message."""
    return BATCH if kind == MESSENGER_BATCH else 1


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextmanager
def moto_process() -> Iterator[str]:
    """moto's server in a process of its own; its URL."""
    import requests

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(  # noqa: S603 - moto's server, from this venv
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Emptying a queue between customers is bookkeeping, not a measured call.
        env={**os.environ, "MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR": "false"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{url}/moto-api/", timeout=1)
                break
            except requests.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("moto's server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            # On a loaded machine moto can outlive SIGTERM's 10 s: the figures are taken.
            server.kill()
            server.wait(timeout=10)


def forget(dynamodb: Any, table: str, sqs: Any, queues: list[str]) -> None:
    """Empty the table and the queues (what one customer left behind)."""
    keys = [
        {"pk": item["pk"], "sk": item["sk"]}
        for page in dynamodb.get_paginator("scan").paginate(
            TableName=table, ProjectionExpression="pk, sk"
        )
        for item in page["Items"]
    ]
    for first in range(0, len(keys), 25):
        batch = [{"DeleteRequest": {"Key": key}} for key in keys[first : first + 25]]
        dynamodb.batch_write_item(RequestItems={table: batch})
    for queue in queues:
        sqs.purge_queue(QueueUrl=queue)


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from relaydesk import sandbox
    from relaydesk.local_env import local_environment

    sandbox_server, sandbox_url = sandbox.start_in_thread()
    with moto_process() as aws_url:
        os.environ.update(
            local_environment(app_url=PUBLIC_URL, aws_url=aws_url, sandbox_url=sandbox_url)
        )
        kinds = measure(aws_url)
    sandbox_server.shutdown()
    emit(render(kinds, REQUESTS, STATE_EVERY))
    return 0


def fresh_state(aws_url: str) -> dict[str, str]:
    """Reset the emulator and create the infra template on it again (what
    `relaydesk.emulator` does, without importing moto into the measured process)."""
    import boto3
    import requests

    from relaydesk.deploy import deploy_stack

    requests.post(f"{aws_url}/moto-api/reset", timeout=10).raise_for_status()
    return deploy_stack(boto3.client("cloudformation"), "relaydesk", {})


def measure(aws_url: str) -> list[Kind]:
    outputs = fresh_state(aws_url)

    from chalice.test import Client
    from twilio.request_validator import RequestValidator
    from urllib3 import encode_multipart_formdata

    from app import app
    from chalicelib.composition import Container, container, reset_container
    from chalicelib.domain import tokens
    from chalicelib.settings import Settings
    from chalicelib.store.models import CustomerItem, MarkerItem, MessageItem, ThreadItem
    from relaydesk.local_env import (
        DEMO_PAGE_ID,
        LOCAL_META_APP_SECRET,
        LOCAL_PARSE_PASSWORD,
        LOCAL_TWILIO_AUTH_TOKEN,
    )
    from relaydesk.sandbox.meta import messaging_event, signature, webhook_body

    validator = RequestValidator(LOCAL_TWILIO_AUTH_TOKEN)
    url = PUBLIC_URL + "/webhooks/twilio/messaging"
    counts: Counter[str] = Counter()
    captured: list[tuple[Any, Any]] = []
    """(HTTP session, prepared request) of every AWS request since `reset()`."""

    def reset() -> None:
        counts.clear()
        captured.clear()

    def record(session: Any, request: Any, **_: Any) -> None:
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else target
        service = "sqs" if "AmazonSQS" in target or "sqs" in request.url else "dynamodb"
        counts[service] += 1
        captured.append((session, request))

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

    def messenger(client: Client, who: str, count: int = 1) -> float:
        """`count` customers' messages in one post, as Meta batches them."""
        psid = who.lstrip("+")
        events = [
            messaging_event(sender=f"{psid}{n}", recipient=DEMO_PAGE_ID, text="Where is it?")
            for n in range(count)
        ]
        body = webhook_body("page", {DEMO_PAGE_ID: events})
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature(LOCAL_META_APP_SECRET, body),
        }
        start = time.perf_counter()
        response = client.http.post("/webhooks/meta", headers=headers, body=body)
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
        reset()  # the lookup above is the bench's, not the webhook's
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

    # Floor: the same budget by hand, against the same emulator, through the app's own
    # DynamoDB and SQS clients (set below): same configuration, same connection pools,
    # and no second copy of botocore's models and endpoint tables in this process.
    dynamodb: Any = None
    sqs: Any = None
    table, queue_url = outputs["TableName"], outputs["JobsQueueUrl"]

    def floor_once(_: str) -> float:
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

    with Client(app) as client, open(os.devnull, "w") as devnull, redirect_stderr(devnull):
        post(client, "+420700000000", "warm-up")  # builds every client once
        c = container()
        clients = [
            m._get_connection().connection.client
            for m in (ThreadItem, MessageItem, CustomerItem, MarkerItem)
        ]
        dynamodb, sqs = c.repository.connection.client, c.jobs._client
        clients += [dynamodb, sqs]
        for botocore_client in {id(x): x for x in clients}.values():
            session = botocore_client._endpoint.http_session
            botocore_client.meta.events.register("before-send", partial(record, session))

        kinds: dict[str, Callable[[str], float]] = {
            FLOOR: floor_once,
            "SMS, new thread": lambda who: post(client, who, "Where is it?"),
            "SMS, follow-up (same thread)": lambda who: post(client, who, "Any news?"),
            "agent reply (Inbound Parse)": lambda who: agent_reply(client, who),
            "e-mail, new thread": lambda who: email(client, who.replace("+", "c") + "@x.test"),
            MESSENGER: lambda who: messenger(client, who),
            MESSENGER_BATCH: lambda who: messenger(client, who, BATCH),
        }
        times: dict[str, list[float]] = {kind: [] for kind in kinds}
        replayed: dict[str, list[float]] = {kind: [] for kind in kinds}
        counted: dict[str, Counter[str]] = {kind: Counter() for kind in kinds}
        queues = [queue_url, outputs["TimersQueueUrl"]]
        for send in kinds.values():  # each kind once, for its lazy imports
            send("+420700000001")
        forget(dynamodb, table, sqs, queues)
        customers = [f"+4207{n:08d}" for n in range(REQUESTS)]
        for n, who in enumerate(customers):
            if n % STATE_EVERY == 0 and n:
                fresh_state(aws_url)
            requests: dict[str, list[tuple[Any, Any]]] = {}
            for kind, send in kinds.items():
                reset()
                times[kind].append(send(who))
                counted[kind].update(counts)
                requests[kind] = list(captured)
            forget(dynamodb, table, sqs, queues)
            # The replay floor: the very requests each webhook made, byte for byte, sent
            # again through the same HTTP sessions against the same emulator state.
            for kind, sent in requests.items():
                start = time.perf_counter()
                for http_session, request in sent:
                    http_session.send(request).content  # noqa: B018 - read, as botocore does
                replayed[kind].append(time.perf_counter() - start)
            forget(dynamodb, table, sqs, queues)

    return [
        Kind(
            name=kind,
            p50=percentile(times[kind], 0.5),
            p99=percentile(times[kind], 0.99),
            replay_p50=percentile(replayed[kind], 0.5) if kind != FLOOR else None,
            dynamodb_per_message=counted[kind]["dynamodb"] / len(customers) / per_post(kind),
            sqs_per_message=counted[kind]["sqs"] / len(customers) / per_post(kind),
        )
        for kind in kinds
    ]


@dataclass(frozen=True)
class Kind:
    """One webhook kind (or the floor): its times in seconds and its requests."""

    name: str
    p50: float
    p99: float
    replay_p50: float | None  # None for the by-hand floor (it is its own replay)
    dynamodb_per_message: float
    sqs_per_message: float


METHOD = """\
What it measures: the server-side time of each webhook kind (Twilio messaging, Inbound Parse
for agent replies and customer e-mails, Meta's webhook for Messenger, one message in a post or
three customers' in one, as Meta batches them: its requests are counted per message, its
times are per post; the Lambda handler called through Chalice's
test client, signature and credential checks included), {requests:,} requests of each kind,
against moto's server over HTTP, and the DynamoDB and SQS requests each makes, counted with
botocore's `before-send` hook on every client the app uses. The app logs as deployed (INFO,
JSON lines, masking) into /dev/null. `BENCH_REQUESTS=N` runs fewer.

How the run is laid out (none of it inside a timed call): moto's server runs in a process of
its own, as DynamoDB and SQS are not in Lambda's process; customers go one after another,
each through the floor and every kind in the order a conversation has them, so that every
kind and the floor see the same emulator state; after each customer the table and the queues
are emptied, and every {state_every} customers the emulator is reset and provisioned again
from the infra template. moto's cost grows with the data it holds (it deep-copies the table
per item of a `TransactWriteItems`, walks the whole queue on every `SendMessage`, keeps an
entry for every partition key ever deleted), where DynamoDB's and SQS's does not: left to
grow, that growth would be most of the wall time and would favour whichever kind ran first.

Two floors, both measured in this run against the same emulator:

- **by hand** (`p50 / floor`): the request budget itself (one `GetItem`, one four-item
  `TransactWriteItems`, one `SendMessage`) with bare items (keys only), through the app's own
  DynamoDB and SQS clients (same configuration, same connection pools). It understates the
  I/O: moto's cost grows with the size and number of the items a transaction writes, and the
  webhooks write real items (the message with its text, the thread with its SLA fields, the
  customer, the marker, and with an acknowledgement the store's hourly counter).
- **replay** (`p50 / replay`): the very requests each webhook made, captured with botocore's
  `before-send` hook and sent again byte for byte through the same HTTP sessions, after the
  table and queues were emptied, so against the same state. It is the webhook's I/O with none
  of its own work, and none of botocore's either (no serialising, signing or response
  parsing), so the ratio over it counts botocore's share as ours: a strict bound.

p99 is mostly the garbage collector of the bench process (the app's heap plus the harness,
much of it botocore's loaded models and endpoint tables): a generation-2 collection during a
request is what the slowest 1 % of a kind are made of.
"""

TARGET_DYNAMODB = 2
TARGET_SQS = 1
TARGET_REPLAY_RATIO = 1.5  # issue #5: our own work under 50 % of the webhook's I/O


def render(kinds: list[Kind], requests: int, state_every: int) -> Section:
    floor = next(k for k in kinds if k.name == FLOOR)
    rows = []
    for k in [*(k for k in kinds if k.name != FLOOR), floor]:
        replay = k.replay_p50 if k.replay_p50 is not None else k.p50
        rows.append(
            (
                k.name,
                f"{k.p50 * 1e3:.1f}",
                f"{k.p99 * 1e3:.1f}",
                f"{k.p50 / floor.p50:.2f}",
                f"{replay * 1e3:.1f}",
                f"{k.p50 / replay:.2f}",
                f"{k.dynamodb_per_message:.2f}",
                f"{k.sqs_per_message:.2f}",
            )
        )
    body = [
        METHOD.format(requests=requests, state_every=state_every),
        table(
            (
                "case",
                "p50 ms",
                "p99 ms",
                "p50 / floor",
                "replay p50 ms",
                "p50 / replay",
                "DynamoDB req/msg",
                "SQS req/msg",
            ),
            rows,
        ),
    ]
    webhooks = [k for k in kinds if k.name != FLOOR]
    targets = [
        Target(
            f"{k.name}: requests per message {TARGET_DYNAMODB} DynamoDB + {TARGET_SQS} SQS",
            f"{k.dynamodb_per_message:g} + {k.sqs_per_message:g}",
            f"{TARGET_DYNAMODB} + {TARGET_SQS}",
            k.dynamodb_per_message <= TARGET_DYNAMODB and k.sqs_per_message <= TARGET_SQS,
        )
        for k in webhooks
    ]
    targets += [
        Target(
            f"{k.name}: p50 / replay (our own work over the webhook's I/O)",
            f"{k.p50 / k.replay_p50:.2f}",
            f"<= {TARGET_REPLAY_RATIO:.2f}",
            k.p50 / k.replay_p50 <= TARGET_REPLAY_RATIO,
        )
        for k in webhooks
        if k.replay_p50
    ]
    return Section(
        "Webhooks: server-side time and requests per message", "\n\n".join(body), tuple(targets)
    )


if __name__ == "__main__":
    sys.exit(main())
