"""CloudWatch metrics in Embedded Metric Format: one JSON line on stdout, which Lambda's
log stream turns into a metric. No API call, no client, nothing to fail."""

from __future__ import annotations

import json
import sys
from datetime import datetime

NAMESPACE = "relaydesk"


def sla_breach(*, store_id: str, promise: str, at: datetime) -> None:
    """One broken promise; the SlaBreach alarm in infra/template.yaml watches the sum."""
    record = {
        "_aws": {
            "Timestamp": int(at.timestamp() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [["Store"]],
                    "Metrics": [{"Name": "SlaBreaches", "Unit": "Count"}],
                }
            ],
        },
        "Store": store_id,
        "Promise": promise,
        "SlaBreaches": 1,
    }
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()
