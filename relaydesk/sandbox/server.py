"""The sandbox's HTTP server: read the request whole, route it, write the response.

The router tries each registered provider, then the sandbox's own routes; a pending fault
for a provider is answered before the provider sees the request (faults model an outage,
which comes before auth).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import urlsplit

from relaydesk.sandbox import control
from relaydesk.sandbox.base import BadRequest, Provider, Request, Response, log
from relaydesk.sandbox.recording import Sandbox
from relaydesk.sandbox.registry import REGISTRY

MAX_BODY_BYTES: Final = 10 * 1024 * 1024


def route(request: Request, sandbox: Sandbox, providers: Sequence[Provider] = REGISTRY) -> Response:
    """The response to one request: a provider's, a fault, a control route's, or 404."""
    for provider in providers:
        if provider.handles(request):
            fault = sandbox.take(provider.name)
            if fault is not None:
                if fault.delay_seconds:
                    time.sleep(fault.delay_seconds)  # this request's thread only
                return provider.fault(fault)
            return provider.handle(request, sandbox)
    if control.handles(request):
        return control.handle(request, sandbox)
    return _not_found(request.method, request.path)


def _not_found(method: str, path: str) -> Response:
    return Response(HTTPStatus.NOT_FOUND, {"error": f"no route for {method} {path}"})


class SandboxHandler(BaseHTTPRequestHandler):
    """Turns one HTTP exchange into a `Request` and back; all state lives on the `Sandbox`."""

    server: SandboxServer
    server_version = "relaydesk-sandbox/1"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean; the request line carries no credentials."""
        log.debug("%s - " + format, self.address_string(), *args)

    def _read_body(self) -> bytes:
        raw = self.headers.get("Content-Length") or "0"
        try:
            length = int(raw)
        except ValueError as exc:
            raise BadRequest("Content-Length is not a number") from exc
        if length < 0 or length > MAX_BODY_BYTES:
            raise BadRequest("Content-Length out of range")
        return self.rfile.read(length) if length else b""

    def _send(self, response: Response, *, body: bool = True) -> None:
        payload = response.payload
        data = b"" if payload is None else json.dumps(payload).encode("utf-8")
        data = response.raw if response.raw is not None else data
        self.send_response(response.status)
        if payload is not None and response.raw is None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body and data:
            self.wfile.write(data)

    def _dispatch(self) -> None:
        """Read the whole body first: the connection must be left clean whatever we answer."""
        url = urlsplit(self.path)
        try:
            body = self._read_body()
        except BadRequest as exc:
            self.close_connection = True
            self._send(Response(HTTPStatus.BAD_REQUEST, {"error": str(exc)}))
            return
        request = Request(self.command, url.path, url.query, self.headers, body)
        response = route(request, self.server.sandbox)
        try:
            self._send(response)
        except (BrokenPipeError, ConnectionResetError):
            # A client that timed out on a delayed fault has gone: nothing to answer.
            self.close_connection = True
            log.debug("%s %s: the client went away before the answer", self.command, url.path)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_OPTIONS = _dispatch

    def do_HEAD(self) -> None:
        """Nothing is served by HEAD; answer 404 without a body, as HEAD requires."""
        self._send(_not_found(self.command, urlsplit(self.path).path), body=False)


class SandboxServer(ThreadingHTTPServer):
    """A threading HTTP server that carries the `Sandbox` its handlers record into."""

    daemon_threads = True
    # socketserver's default backlog of 5 drops bursts of parallel sends (1 s SYN retries).
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        super().__init__(address, SandboxHandler)


def make_server(host: str, port: int, sandbox: Sandbox | None = None) -> SandboxServer:
    """A bound, listening server (port 0 lets the OS pick), not yet serving."""
    return SandboxServer((host, port), sandbox if sandbox is not None else Sandbox())


def _base_url(server: SandboxServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}"


def start_in_thread(
    host: str = "127.0.0.1", port: int = 0, status_token: str | None = None
) -> tuple[SandboxServer, str]:
    """Serve from a daemon thread, for tests; stop with `shutdown()` then `server_close()`."""
    server = make_server(host, port, Sandbox(status_token))
    # A short poll interval keeps `shutdown()` (a per-test teardown) from costing 0.5 s.
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="relaydesk-sandbox", daemon=True
    )
    thread.start()
    return server, _base_url(server)


def _description() -> str:
    """`--help`'s first line, naming every registered provider."""
    titles = [provider.title for provider in REGISTRY]
    named = ", ".join(titles[:-1]) + " and " + titles[-1] if len(titles) > 1 else titles[0]
    return f"A local stand-in for {named}."


def main(argv: list[str] | None = None) -> int:
    """Serve in the foreground until Ctrl-C, for trying the app by hand."""
    parser = argparse.ArgumentParser(description=_description())
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8025, help="port to listen on (0: any)")
    args = parser.parse_args(argv)
    try:
        server = make_server(args.host, args.port)
    except OSError as exc:
        print(f"sandbox: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    base = _base_url(server)
    print(f"relaydesk sandbox listening on {base} (outbox: {base}/outbox); Ctrl-C to stop")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
