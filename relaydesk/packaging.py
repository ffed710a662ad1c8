"""`relaydesk package OUT`: `chalice package`, then what Chalice has no switch for.

The timers handler reports partial batch failures (held and failed timers stay on the
queue); Lambda honours that only when the event source has
`FunctionResponseTypes: [ReportBatchItemFailures]`. Deploy the patched template
(`aws cloudformation deploy --template-file OUT/sam.json ...`), not `chalice deploy`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

BATCH_FAILURE_QUEUES = ("relaydesk-timers",)


def enable_batch_item_failures(template: dict[str, Any], queues: tuple[str, ...]) -> int:
    """Turn on ReportBatchItemFailures for the SQS events of these queues; how many."""
    changed = 0
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") != "SQS":
                continue
            queue = json.dumps(event["Properties"].get("Queue"))
            if any(f":{name}" in queue for name in queues):
                event["Properties"]["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
                changed += 1
    return changed


def package(out: Path, stage: str = "dev") -> int:
    chalice = Path(sys.executable).with_name("chalice")
    subprocess.run(  # noqa: S603 - chalice, from this venv
        [str(chalice), "package", "--stage", stage, str(out)], check=True
    )
    sam = out / "sam.json"
    template = json.loads(sam.read_text())
    changed = enable_batch_item_failures(template, BATCH_FAILURE_QUEUES)
    if changed != len(BATCH_FAILURE_QUEUES):
        raise SystemExit(
            f"expected {len(BATCH_FAILURE_QUEUES)} timer event source(s), found {changed}"
        )
    sam.write_text(json.dumps(template, indent=2))
    print(f"{sam}: ReportBatchItemFailures enabled for {', '.join(BATCH_FAILURE_QUEUES)}")
    return 0
