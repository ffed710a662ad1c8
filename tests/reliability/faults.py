"""Fault injection for the reliability suite: what can go wrong, made to go wrong on cue.

Nothing here replaces our own code. Faults are injected where the world meets it:

- AWS (DynamoDB, SQS): handlers on botocore's event system of the very clients the app
  uses in this process (every PynamoDB model's connection, the repository's transaction
  connection, both queues' boto3 clients). `before-call` answers with an error response
  instead of sending the request (a throttle, a 500, a cancelled transaction: nothing was
  written); `after-call` raises after a request that DID take effect (the write happened,
  the response was lost: a timeout); a stale read answers an eventually consistent GetItem
  as a replica that has not seen the latest write yet.
- Providers: the sandbox's own fault script (`Sandbox.set_fault`) for HTTP errors, and a
  TCP proxy in front of the sandbox that swallows connections (a timeout).
- A crash right after a side effect: a real adapter method (repository, queue, messenger,
  mailer) is wrapped so that it does its real work and then raises, as a Lambda killed
  at that instant would leave things.
- Concurrency: `pause_after` holds every caller of a real method at a barrier after the
  call, which forces the interleaving two concurrent Lambdas can produce.

`Env` bundles the fixtures a scenario needs and the end-state checks (stored once, sent
once or reported, nothing stuck outside a dead-letter queue).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import ReadTimeoutError
from chalice.test import Client
from pynamodb.models import Model

from chalicelib.composition import Container
from chalicelib.store import models
from relaydesk.sandbox import Sandbox
from relaydesk.workers import QueueWorker
from tests.integration.conftest import FakeClock, queue_depth
from tests.reliability.helpers import scan_table

# -- known bugs and windows -------------------------------------------------------------


def bug(ref: str, what: str) -> pytest.MarkDecorator:
    """A test that proves a bug reported to the lead (tests/reliability/README.md lists
    them): it fails today, and strict xfail turns it red once the fix lands, so that the
    marker is removed with the fix."""
    return pytest.mark.xfail(strict=True, reason=f"{ref}: {what}")


# -- AWS faults through botocore's events ---------------------------------------------

THROTTLED = ("ProvisionedThroughputExceededException", 400)
DYNAMO_500 = ("InternalServerError", 500)
SQS_500 = ("InternalError", 500)
SQS_THROTTLED = ("RequestThrottled", 403)


@dataclass
class AwsFault:
    """One injected AWS failure, `count` times, after letting `skip` matching calls pass.

    kind: "error" (an error response, nothing done), "cancelled" (TransactWriteItems
    cancelled because the item whose pk contains `where` failed its condition: another
    writer got there first), "lost-response" (the request took effect, then the client
    timed out), "stale-read" (an eventually consistent GetItem that misses the item),
    "partial-batch" (SendMessageBatch accepts all entries but the last)."""

    service: str
    operation: str
    kind: str = "error"
    code: str = ""
    status: int = 400
    count: int = 1
    skip: int = 0
    where: str = "#CUSTOMER#"
    every: int = 1
    """Strike only every `every`-th matching call (1: each one)."""
    injected: int = 0
    seen: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _take(self) -> bool:
        with self._lock:
            self.seen += 1
            if self.seen <= self.skip or self.injected >= self.count:
                return False
            if (self.seen - self.skip) % self.every:
                return False
            self.injected += 1
            return True

    def label(self) -> str:
        what = self.code or self.kind
        return f"{self.service}.{self.operation}:{what}x{self.count}"


def aws_error(
    service: str, operation: str, error: tuple[str, int], count: int = 1, skip: int = 0
) -> AwsFault:
    code, status = error
    return AwsFault(service, operation, "error", code, status, count, skip)


def cancelled(count: int = 1, where: str = "#CUSTOMER#") -> AwsFault:
    return AwsFault(
        "dynamodb",
        "TransactWriteItems",
        "cancelled",
        "TransactionCanceledException",
        400,
        count,
        where=where,
    )


def conflicts(every: int, count: int = 1_000_000, where: str = "#STORE") -> AwsFault:
    """Every `every`-th TransactWriteItems that writes an item whose pk contains `where`
    (the store's hourly counter) is cancelled with reason TransactionConflict, as DynamoDB
    cancels one of two transactions writing one item at once; nothing is written."""
    return AwsFault(
        "dynamodb",
        "TransactWriteItems",
        "conflict",
        "TransactionCanceledException",
        400,
        count,
        where=where,
        every=every,
    )


def lost_response(service: str, operation: str, count: int = 1, skip: int = 0) -> AwsFault:
    return AwsFault(service, operation, "lost-response", count=count, skip=skip)


def stale_read(count: int = 1) -> AwsFault:
    return AwsFault("dynamodb", "GetItem", "stale-read", count=count)


def partial_batch(count: int = 1) -> AwsFault:
    return AwsFault("sqs", "SendMessageBatch", "partial-batch", count=count)


def _metadata(status: int) -> dict[str, Any]:
    return {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0}


def _request_json(params: Mapping[str, Any]) -> dict[str, Any]:
    body = params.get("body") or b"{}"
    decoded: dict[str, Any] = json.loads(body)
    return decoded


def _error_response(fault: AwsFault, params: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    parsed: dict[str, Any] = {
        "Error": {"Code": fault.code, "Message": f"injected: {fault.label()}"},
        "ResponseMetadata": _metadata(fault.status),
    }
    if fault.kind == "conflict":
        reasons = [
            {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
            if fault.where in _pk(item)
            else {"Code": "None"}
            for item in _request_json(params).get("TransactItems", [])
        ]
        parsed["CancellationReasons"] = reasons
        parsed["Error"]["Message"] = "Transaction cancelled (injected conflict)"
    if fault.kind == "cancelled":
        reasons = []
        for item in _request_json(params).get("TransactItems", []):
            op = next(iter(item.values()))
            key = op.get("Key") or op.get("Item") or {}
            pk = str(key.get("pk", {}).get("S", ""))
            failed = fault.where in pk
            reasons.append(
                {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
                if failed
                else {"Code": "None"}
            )
        assert any(r["Code"] != "None" for r in reasons), f"no item matches {fault.where}"
        parsed["CancellationReasons"] = reasons
        parsed["Error"]["Message"] = "Transaction cancelled (injected)"
    return AWSResponse("https://injected.invalid", fault.status, HTTPHeaders(), None), parsed


def _pk(item: Mapping[str, Any]) -> str:
    op = next(iter(item.values()))
    key = op.get("Key") or op.get("Item") or {}
    return str(key.get("pk", {}).get("S", ""))


def _writes(params: Mapping[str, Any], where: str) -> bool:
    return any(where in _pk(item) for item in _request_json(params).get("TransactItems", []))


def dynamodb_clients(container: Container) -> list[Any]:
    """Every botocore client the app reads and writes the table with, in this process."""
    found: dict[int, Any] = {}
    for value in vars(models).values():
        if (
            isinstance(value, type)
            and issubclass(value, Model)
            and value.__module__ == models.__name__
        ):
            client = value._get_connection().connection.client
            found[id(client)] = client
    client = container.repository.connection.client
    found[id(client)] = client
    return list(found.values())


def sqs_clients(container: Container) -> list[Any]:
    return [container.sqs]  # both queues share it


@contextlib.contextmanager
def inject(container: Container, *faults: AwsFault) -> Iterator[tuple[AwsFault, ...]]:
    """Arm the faults on the app's own clients for the duration of the block."""
    registered: list[tuple[Any, str, str]] = []

    def register(client: Any, event: str, handler: Callable[..., Any]) -> None:
        unique = f"relaydesk-fault-{uuid.uuid4().hex}"
        client.meta.events.register_first(event, handler, unique_id=unique)
        registered.append((client, event, unique))

    for fault in faults:
        if fault.service == "dynamodb":
            clients = dynamodb_clients(container)
        else:
            clients = sqs_clients(container)
        for client in clients:
            service = client.meta.service_model.service_id.hyphenize()
            for kind, handler in _handlers(fault):
                register(client, f"{kind}.{service}.{fault.operation}", handler)
    try:
        yield faults
    finally:
        for client, event, unique in registered:
            client.meta.events.unregister(event, unique_id=unique)


@dataclass
class Outage:
    """A service that answers every call with an error while `down()` holds (a span of the
    test's clock), optionally only for calls `hits(operation, request)` picks."""

    service: str
    down: Callable[[], bool]
    code: str
    status: int
    hits: Callable[[str, dict[str, Any]], bool] = lambda operation, request: True
    refused: dict[str, int] = field(default_factory=dict)
    """Operation -> calls refused."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


@contextlib.contextmanager
def outage(container: Container, fault: Outage) -> Iterator[Outage]:
    """Every call of the service (any operation) on the app's own clients fails while
    `fault.down()`: nothing is sent, botocore gets the error as the service's answer."""
    registered: list[tuple[Any, str, str]] = []
    clients = dynamodb_clients(container) if fault.service == "dynamodb" else sqs_clients(container)

    def refuse(params: Mapping[str, Any], model: Any, **_: Any) -> Any:
        if not fault.down() or not fault.hits(model.name, _request_json(params)):
            return None
        with fault._lock:
            fault.refused[model.name] = fault.refused.get(model.name, 0) + 1
        parsed = {
            "Error": {"Code": fault.code, "Message": f"injected: {fault.service} unavailable"},
            "ResponseMetadata": _metadata(fault.status),
        }
        return AWSResponse("https://injected.invalid", fault.status, HTTPHeaders(), None), parsed

    for client in clients:
        service = client.meta.service_model.service_id.hyphenize()
        unique = f"relaydesk-outage-{uuid.uuid4().hex}"
        client.meta.events.register_first(f"before-call.{service}", refuse, unique_id=unique)
        registered.append((client, f"before-call.{service}", unique))
    try:
        yield fault
    finally:
        for client, event, unique in registered:
            client.meta.events.unregister(event, unique_id=unique)


def _handlers(fault: AwsFault) -> list[tuple[str, Callable[..., Any]]]:
    if fault.kind == "conflict":

        def conflict(params: Mapping[str, Any], **_: Any) -> Any:
            if not _writes(params, fault.where) or not fault._take():
                return None
            return _error_response(fault, params)

        return [("before-call", conflict)]
    if fault.kind in ("error", "cancelled"):

        def refuse(params: Mapping[str, Any], **_: Any) -> Any:
            return _error_response(fault, params) if fault._take() else None

        return [("before-call", refuse)]
    if fault.kind == "stale-read":

        def stale(params: Mapping[str, Any], **_: Any) -> Any:
            if _request_json(params).get("ConsistentRead"):
                return None
            if not fault._take():
                return None
            return AWSResponse("https://injected.invalid", 200, HTTPHeaders(), None), {
                "ResponseMetadata": _metadata(200)
            }

        return [("before-call", stale)]
    if fault.kind == "lost-response":

        def lose(http_response: Any, **_: Any) -> None:
            if http_response.status_code < 300 and fault._take():
                raise ReadTimeoutError(endpoint_url=f"injected://{fault.label()}")

        return [("after-call", lose)]
    if fault.kind == "partial-batch":
        dropped_key = f"relaydesk-dropped-{id(fault)}"

        def drop(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            entries = params.get("Entries") or []
            if len(entries) > 1 and fault._take():
                context[dropped_key] = entries.pop()["Id"]

        def report(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            if dropped := context.get(dropped_key):
                parsed.setdefault("Failed", []).append(
                    {
                        "Id": dropped,
                        "SenderFault": False,
                        "Code": "InternalError",
                        "Message": "injected: one entry of the batch was not accepted",
                    }
                )

        return [("before-parameter-build", drop), ("after-call", report)]
    raise ValueError(fault.kind)


# -- crashes and pauses around real adapter methods -----------------------------------


class Crash(RuntimeError):
    """Injected: the handler died right after a side effect."""


@dataclass
class Wrapped:
    calls: int = 0
    crashed: int = 0
    met: int = 0
    """`pause_after`: callers that reached the barrier together (the race really ran)."""


def crash_after(
    monkeypatch: pytest.MonkeyPatch, target: object, name: str, times: int = 1
) -> Wrapped:
    """`target.name` does its real work, then raises `Crash` the first `times` calls."""
    real = getattr(target, name)
    record = Wrapped()
    lock = threading.Lock()

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        with lock:
            record.calls += 1
            crash = record.crashed < times
            record.crashed += crash
        if crash:
            raise Crash(f"injected crash after {type(target).__name__}.{name}")
        return result

    monkeypatch.setattr(target, name, wrapper)
    return record


def pause_after(
    monkeypatch: pytest.MonkeyPatch, target: object, name: str, parties: int, timeout: float = 3
) -> Wrapped:
    """Every call of `target.name` does its real work, then waits until `parties` calls
    have got that far (or `timeout` passed): concurrent callers all read before any acts.
    A race test must assert `met == parties`: a barrier that timed out proves nothing."""
    real = getattr(target, name)
    record = Wrapped()
    barrier = threading.Barrier(parties, timeout=timeout)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        record.calls += 1
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
            record.met += 1
        return result

    monkeypatch.setattr(target, name, wrapper)
    return record


# -- a network that swallows requests -------------------------------------------------


class BlackholeProxy:
    """A TCP proxy to `target`: the first `swallow` connections are accepted and never
    answered (the client times out); later ones are passed through both ways."""

    def __init__(self, target_host: str, target_port: int, swallow: int) -> None:
        self._target = (target_host, target_port)
        self._swallow = swallow
        self.swallowed = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()
        self._held: list[socket.socket] = []
        self.port = int(self._listener.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, daemon=True, name="blackhole")
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.swallowed < self._swallow:
                self.swallowed += 1
                self._held.append(conn)  # never read, never answered
                continue
            upstream = socket.create_connection(self._target)
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        for conn in self._held:
            conn.close()
        self._thread.join(timeout=2)


PROVIDER_TIMEOUT_SECONDS = 3.0
"""Long enough that only a swallowed request times out: a passed-through one that took
this long on a loaded machine would be sent twice and fail a `sent=1` row by load, not by
the fault (at 0.5 s it did). Each swallowed request costs the test this much."""


@contextlib.contextmanager
def provider_timeouts(
    monkeypatch: pytest.MonkeyPatch,
    container: Container,
    sandbox_url: str,
    *,
    twilio: int = 0,
    sendgrid: int = 0,
) -> Iterator[tuple[BlackholeProxy, BlackholeProxy]]:
    """The app's Twilio and SendGrid adapters, built as the composition root builds them
    but reaching the sandbox through proxies that swallow the first requests, with a
    client timeout shorter than production's (SEND_TIMEOUT_SECONDS; B9 in the README)."""
    from chalicelib import routes
    from chalicelib.channels.sendgrid_send import SendGridMailer
    from chalicelib.channels.twilio_messaging import TwilioMessenger, sandbox_http_client

    host, _, port = sandbox_url.removeprefix("http://").partition(":")
    proxies = (BlackholeProxy(host, int(port), twilio), BlackholeProxy(host, int(port), sendgrid))
    try:
        http_client = sandbox_http_client(proxies[0].url)
        http_client.timeout = PROVIDER_TIMEOUT_SECONDS
        messenger = TwilioMessenger(
            container.settings.twilio_account_sid,
            container.twilio_auth_token,
            http_client=http_client,
            status_callback=f"{container.settings.public_base_url}{routes.TWILIO_STATUS}",
        )
        mailer = SendGridMailer(
            container.secrets.get("SENDGRID_API_KEY"), host=f"{proxies[1].url}/sendgrid"
        )
        mailer._sdk().client.timeout = PROVIDER_TIMEOUT_SECONDS
        monkeypatch.setattr(container, "messenger", messenger)
        monkeypatch.setattr(container, "mailer", mailer)
        yield proxies
    finally:
        for proxy in proxies:
            proxy.close()


# -- moto as atomic as DynamoDB --------------------------------------------------------


@contextlib.contextmanager
def serialized_dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto's DynamoDB backend made as atomic as DynamoDB for this test (the local stack
    runs its emulator so always: relaydesk/emulator.py `atomic_dynamodb`)."""
    from relaydesk.emulator import atomic_dynamodb

    atomic_dynamodb(monkeypatch.setattr)
    yield


# -- the world a scenario runs in, and what it must leave behind ------------------------


@dataclass
class Env:
    client: Client
    container: Container
    worker: QueueWorker
    timer_worker: QueueWorker
    outbox: Sandbox
    clock: FakeClock
    aws: dict[str, str]
    monkeypatch: pytest.MonkeyPatch
    sandbox_url: str

    # -- running the queues as Lambda would --

    def drain(self, rounds: int = 12) -> None:
        """Deliver jobs until the queue is empty; a failing job is redelivered at once
        and, after the queue's maxReceiveCount (5), moved to the dead-letter queue."""
        for _ in range(rounds):
            self.worker.poll_once()
            if not queue_depth(self.worker):
                return

    def tick(self, rounds: int = 4) -> None:
        """Deliver the timers queue `rounds` times. Timers wait on the fake clock, so an
        early one comes back at once; every delivery counts towards the queue's
        maxReceiveCount (30), as each 12-hour hold does in AWS."""
        for _ in range(rounds):
            self.timer_worker.poll_once()

    def dead_letters(self) -> tuple[int, int]:
        """(jobs, timers) on the dead-letter queues."""
        sqs = boto3.client("sqs")
        counts = []
        for key in ("JobsDeadLetterQueueUrl", "TimersDeadLetterQueueUrl"):
            attributes: Any = sqs.get_queue_attributes(
                QueueUrl=self.aws[key],
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            counts.append(sum(int(v) for v in attributes.values()))
        return counts[0], counts[1]

    def jobs_waiting(self) -> int:
        return queue_depth(self.worker)

    # -- what was stored and sent --

    @staticmethod
    def stored(provider_id: str, direction: str = "in") -> list[dict[str, Any]]:
        """Every message item (any store, any thread) with this provider id."""
        return [
            item
            for item in scan_table()
            if str(item["sk"]).startswith(models.MESSAGE_PREFIX)
            and item.get("provider_id") == provider_id
            and item.get("direction") == direction
        ]

    @staticmethod
    def threads(store: str | None = None) -> list[dict[str, Any]]:
        return [
            item
            for item in scan_table()
            if item["sk"] == models.META
            and "#THREAD#" in str(item["pk"])
            and (store is None or item.get("store_id") == store)
        ]

    def sms(self, *, to: str | None = None, body: str = "") -> list[dict[str, Any]]:
        return [m for m in self.outbox.entries(provider="twilio", to=to) if body in m["body"]]


class Inbox(QueueWorker):
    """The inbox queue's worker (`on_parked`), counting the requests it handled (`runs`):
    Twilio's requests parked by the Fallback URL, the mail route's stored posts."""

    def __init__(self, queue_url: str) -> None:
        from app import on_parked

        self.runs = 0

        def handler(event: dict[str, Any], context: Any) -> Any:
            self.runs += 1
            return on_parked(event, context)

        super().__init__(boto3.client("sqs"), queue_url, handler, retry_backoff_seconds=0)


@pytest.fixture
def env(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: Sandbox,
    clock: FakeClock,
    aws: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    sandbox_url: str,
) -> Iterator[Env]:
    """The app through its Lambda handler, both queues' workers, the sandbox, the clock.
    Provider faults left over by a failing test are cleared."""
    from app import on_timer

    # A timer reported as a batch item failure stays invisible for the queue's visibility
    # timeout (180 s) before SQS delivers it again. The fault tests retry without moving
    # the clock, so that wait is over at once here; held timers wait on the clock.
    boto3.client("sqs").set_queue_attributes(
        QueueUrl=aws["TimersQueueUrl"], Attributes={"VisibilityTimeout": "0"}
    )
    timers = QueueWorker(
        boto3.client("sqs"), aws["TimersQueueUrl"], on_timer, retry_backoff_seconds=0
    )
    yield Env(client, container, worker, timers, outbox, clock, aws, monkeypatch, sandbox_url)
    outbox.clear_faults()


# -- the app over HTTP, as `make run` serves it ---------------------------------------


class LocalApp:
    """The Chalice app behind `chalice local`'s threaded HTTP server (what `relaydesk
    stack` runs), in this process, so that concurrent requests are really concurrent and
    still reach the test's container, emulator and sandbox. (Chalice's test client is
    not thread-safe: it keeps the current request on the shared app object.)"""

    def __init__(self) -> None:
        import app as relaydesk_app
        from relaydesk.app_server import local_server

        self.server = local_server(relaydesk_app.app, "127.0.0.1", 0)
        host, port = self.server.server.server_address[:2]
        self.url = f"http://{host!s}:{port}"
        self._thread = threading.Thread(
            target=self.server.server.serve_forever, daemon=True, name="local-app"
        )
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def local_app(container: Container) -> Iterator[LocalApp]:
    served = LocalApp()
    yield served
    served.close()
