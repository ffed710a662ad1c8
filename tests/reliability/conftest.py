"""Reliability fixtures: the integration suite's (moto's server over HTTP, the provider
sandbox, the app through Chalice's test client) plus a Parse signing key, the app with a
Parse security policy, and a snapshot of everything a webhook can change.

Hypothesis profiles: `relaydesk` (the default, `make test`) and `relaydesk-soak` (ten
times the examples, `make soak`), chosen with HYPOTHESIS_PROFILE. No example database is
kept; a failure prints the `@reproduce_failure` blob that replays it.
"""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, settings

from chalicelib.composition import Container, reset_container
from chalicelib.settings import Settings
from relaydesk import emulator
from relaydesk.sandbox import Sandbox
from tests.integration import conftest as integration
from tests.integration.conftest import FakeClock
from tests.reliability import summary
from tests.reliability.helpers import (
    ParseSigner,
    Snapshot,
    queue_depths,
    scan_table,
    wipe_table,
)

settings.register_profile(
    "relaydesk",
    max_examples=40,
    deadline=None,  # every example is several HTTP round trips to the emulator
    database=None,
    print_blob=True,
    # One app, table and queue serve all examples of a test, and each example checks
    # what it changed itself: the function-scoped fixtures are deliberate.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
settings.register_profile("relaydesk-soak", settings.get_profile("relaydesk"), max_examples=400)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "relaydesk"))

# The run's own summary of its figures (RELAYDESK_SUMMARY=<path>; `make soak` sets it).
if summary.summary_path() is not None:
    summary.start()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if summary.summary_path() is not None:
        summary.note_report(report.nodeid, report.when, report.outcome, report.duration)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = summary.summary_path()
    if path is not None:
        summary.write(path)


# pytest finds fixtures by name in a conftest's namespace: the integration suite's own,
# shared rather than copied (moto_url is replaced below).
aws = integration.aws
client = integration.client
clock = integration.clock
container = integration.container
outbox = integration.outbox
sandbox_server = integration.sandbox_server
sandbox_url = integration.sandbox_url
worker = integration.worker


@pytest.fixture(scope="package")
def moto_url() -> Iterator[str]:
    """The emulator on the fixed test port. When tests/integration ran first in the same
    session its (session-scoped) server is still there, and a second one could not bind:
    reuse it. Ours stops after this package, so that tests/integration can start its own
    when it runs later."""
    import requests

    url = os.environ["AWS_ENDPOINT_URL"]
    try:
        requests.get(f"{url}/moto-api/data.json", timeout=2).raise_for_status()
    except requests.RequestException:
        parts = urlsplit(url)
        server, bound = emulator.start_moto(parts.hostname or "127.0.0.1", parts.port or 0)
        yield bound
        server.stop()
    else:
        yield url


@pytest.fixture(scope="session")
def parse_signer() -> ParseSigner:
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return ParseSigner(private, base64.b64encode(der).decode())


@pytest.fixture
def signed_parse(
    container: Container, clock: FakeClock, parse_signer: ParseSigner
) -> Iterator[Container]:
    """The app with a Parse security policy: every post must carry a fresh signature."""
    environ = {**container.settings.environ, "SENDGRID_PARSE_PUBLIC_KEY": parse_signer.public_key}
    built = Container(Settings(environ), clock=clock)
    reset_container(built)
    yield built
    reset_container(container)


@pytest.fixture
def snapshot(aws: dict[str, str], outbox: Sandbox) -> Callable[[], Snapshot]:
    """Take one before and one after a request. `snapshot(tidy=True)` first empties the
    table once it holds more than 30 items: every example scans it twice, and examples
    do not depend on each other's data (tests that seed data re-seed when it is gone)."""

    def take(tidy: bool = False) -> Snapshot:
        items = scan_table()
        if tidy and len(items) > 30:
            wipe_table(items)
            items = scan_table()
        return Snapshot(items, queue_depths(aws), len(outbox.entries()))

    return take


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record, ours included: the `chalicelib` logger does not propagate to the
    root logger where caplog listens (chalicelib/logs.py), so its handler is added there.
    Records arrive unmasked: what the code asked to log, before the masking filter."""
    logger = logging.getLogger("chalicelib")
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO)
    yield caplog
    logger.removeHandler(caplog.handler)
