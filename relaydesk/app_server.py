"""The Chalice app behind `chalice local`'s threaded HTTP server, as `relaydesk stack` and
the reliability suite both serve it (one place, so the suite tests what the stack runs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalice.app import Chalice
    from chalice.local import ChaliceRequestHandler, LocalDevServer

LISTEN_BACKLOG = 128
"""`chalice local` listens with socketserver's backlog of 5: a burst of webhooks (a
newsletter's replies) meets connection resets. API Gateway queues far more."""


def local_server(
    app: Chalice, host: str, port: int, handler_cls: type[ChaliceRequestHandler] | None = None
) -> LocalDevServer:
    """A threaded server for `app` on host:port (port 0: any free one), not yet serving.
    `handler_cls`: a request handler that plays more of API Gateway (relaydesk/apigateway.py)."""
    from chalice.config import Config
    from chalice.local import (
        ChaliceRequestHandler,
        CustomLocalChalice,
        LocalChalice,
        LocalDevServer,
        ThreadedHTTPServer,
    )

    ThreadedHTTPServer.request_queue_size = LISTEN_BACKLOG
    config = Config(chalice_stage="dev")
    if not isinstance(app, LocalChalice):  # made thread-safe once, as create_local_server does
        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
        app.__class__ = CustomLocalChalice
    return LocalDevServer(app, config, host, port, handler_cls or ChaliceRequestHandler)
