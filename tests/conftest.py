"""Shared test setup.

The emulator's address is fixed here, before any test module imports the app: the
PynamoDB models read their endpoint when they are defined. Credentials are fake, so no
test can ever reach a real AWS account.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from hypothesis import settings

# No timing in tests: Hypothesis's default 200 ms deadline per example is one, and fails
# on a machine that is busy with something else (speed is measured in bench/).
settings.register_profile("relaydesk", deadline=None)
settings.load_profile("relaydesk")

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
TEST_STORES = Path(__file__).resolve().parent / "fixtures" / "stores.json"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if "RELAYDESK_TEST_AWS_URL" not in os.environ:
    os.environ["RELAYDESK_TEST_AWS_URL"] = f"http://127.0.0.1:{free_port()}"
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": os.environ["RELAYDESK_TEST_AWS_URL"],
        "TABLE_NAME": "relaydesk",
        "JOBS_QUEUE_NAME": "relaydesk-jobs",
        "TIMERS_QUEUE_NAME": "relaydesk-timers",
    }
)


def corpus_path(*parts: str) -> Path:
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared corpus not found at {path} (it sits beside the clone in CI)")
    return path
