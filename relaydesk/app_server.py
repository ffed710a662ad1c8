"""The Chalice app behind `chalice local`'s threaded HTTP server, as `relaydesk stack` and
the reliability suite both serve it (one place, so the suite tests what the stack runs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalice.app import Chalice
    from chalice.local import LocalDevServer

LISTEN_BACKLOG = 128
"""`chalice local` listens with socketserver's backlog of 5: a burst of webhooks (a
newsletter's replies) meets connection resets. API Gateway queues far more."""


def local_server(app: Chalice, host: str, port: int) -> LocalDevServer:
    """A threaded server for `app` on host:port (port 0: any free one), not yet serving."""
    from chalice.config import Config
    from chalice.local import LocalChalice, LocalDevServer, ThreadedHTTPServer, create_local_server

    ThreadedHTTPServer.request_queue_size = LISTEN_BACKLOG
    config = Config(chalice_stage="dev")
    if isinstance(app, LocalChalice):  # already made thread-safe by an earlier server
        return LocalDevServer(app, config, host, port)
    return create_local_server(app, config, host, port)
