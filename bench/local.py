"""The local stack a bench module measures against: moto's server over HTTP, provisioned
from infra/template.yaml, and the sandbox in a thread, with the local environment set.

One home for the setup that every flow-measuring module needs, so that each measures the
same stack. moto's recorder file is set before moto is first imported (it reads the path
then): the modules that count AWS requests read it through `bench.flows.Meter`.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class LocalStack:
    aws_url: str
    sandbox_url: str
    outputs: dict[str, str]
    """The template's outputs (queue URLs, the mail bucket, ...)."""
    sandbox: Any
    """The sandbox's recorder (`GET /outbox` in process)."""
    _moto: Any
    _sandbox_server: Any

    def stop(self) -> None:
        self._sandbox_server.shutdown()
        self._moto.stop()


def start_local_stack(public_url: str) -> LocalStack:
    """Start moto and the sandbox, point the app's environment at them, provision."""
    os.environ["MOTO_RECORDER_FILEPATH"] = str(Path(tempfile.mkdtemp()) / "aws-calls.jsonl")
    sys.path.insert(0, str(ROOT))
    from relaydesk import emulator, sandbox
    from relaydesk.local_env import local_environment

    moto_server, aws_url = emulator.start_moto()
    sandbox_server, sandbox_url = sandbox.start_in_thread()
    os.environ.update(
        local_environment(app_url=public_url, aws_url=aws_url, sandbox_url=sandbox_url)
    )
    outputs = emulator.provision(aws_url)
    return LocalStack(
        aws_url=aws_url,
        sandbox_url=sandbox_url,
        outputs=outputs,
        sandbox=sandbox_server.sandbox,
        _moto=moto_server,
        _sandbox_server=sandbox_server,
    )
