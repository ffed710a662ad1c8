"""The webhook's cold start must not pay for what only some requests need."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

HEAVY = (
    "twilio.rest",
    "sendgrid",
    "python_http_client",
    "babel",
    "mailparser_reply",
    "boto3",
    "requests",
    "phonenumbers",
)


def test_importing_the_app_loads_no_heavy_module() -> None:
    probe = (
        "import sys, app\n"
        f"print(','.join(m for m in {HEAVY!r} if any(k == m or k.startswith(m + '.') "
        "for k in sys.modules)))"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
