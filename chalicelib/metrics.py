"""CloudWatch metrics in Embedded Metric Format: one JSON line on stdout, which Lambda's
log stream turns into a metric. No API call, no client, nothing to fail.

Each metric is published twice: without dimensions (what the alarms in infra/template.yaml
watch: an alarm sees only the exact dimension set it names) and by its one dimension (which
store, which route: for the person who looks after the alarm fired).
`tests/unit/test_alarms.py` checks every alarm against `PUBLISHED`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime

NAMESPACE = "relaydesk"


@dataclass(frozen=True)
class Metric:
    name: str
    dimension: str

    @property
    def dimension_sets(self) -> tuple[tuple[str, ...], ...]:
        return ((), (self.dimension,))


SLA_BREACHES = Metric("SlaBreaches", "Store")
"""A promise to a customer broken (a breach timer fired on an unkept promise)."""
WEBHOOK_FAILURES = Metric("WebhookFailures", "Route")
"""A webhook answered 5xx: our side failed and the provider must retry (Chalice turns an
exception into a 500 response, so Lambda's own Errors metric never counts these)."""
PARKED_REFUSED = Metric("ParkedRequestsRefused", "Reason")
"""A request parked by Twilio's Fallback URL was refused at replay (its signature failed, it
could not be read, or no store has its number) and dropped rather than retried."""
ACCOUNT_PROBLEMS = Metric("ProviderAccountProblems", "Provider")
"""Twilio or SendGrid refused the store's account (a bad key, credits spent, suspended,
a sender's queue full): messages wait and are retried, and a person must act."""
PUBLISHED = (SLA_BREACHES, WEBHOOK_FAILURES, PARKED_REFUSED, ACCOUNT_PROBLEMS)


def emit(metric: Metric, value: str, at: datetime, **context: str) -> None:
    """One count of `metric` for `value` of its dimension; `context` is logged beside it
    (ids only: no customer text or address)."""
    record = {
        "_aws": {
            "Timestamp": int(at.timestamp() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [list(s) for s in metric.dimension_sets],
                    "Metrics": [{"Name": metric.name, "Unit": "Count"}],
                }
            ],
        },
        **context,
        metric.dimension: value,
        metric.name: 1,
    }
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def sla_breach(*, store_id: str, promise: str, at: datetime) -> None:
    emit(SLA_BREACHES, store_id, at, Promise=promise)


def webhook_failure(*, route: str, at: datetime) -> None:
    emit(WEBHOOK_FAILURES, route, at)


def parked_refused(*, reason: str, at: datetime) -> None:
    emit(PARKED_REFUSED, reason, at)


def account_problem(*, provider: str, store_id: str, code: int | None, at: datetime) -> None:
    emit(ACCOUNT_PROBLEMS, provider, at, Store=store_id, Code=str(code or ""))
