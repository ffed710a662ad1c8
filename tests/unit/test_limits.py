"""Limits the deployment must respect (issue #12, part 5), read from the app and its config:
the queue pollers cannot take the webhooks' Lambda concurrency."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT

# Importing the app imports botocore, whose vendored urllib3 probes for IPv6 with a socket
# (refused here, and caught by urllib3).
pytestmark = pytest.mark.filterwarnings("ignore:A test tried to use socket.socket")

NEW_ACCOUNT_CONCURRENCY = 10
"""What AWS grants a new account until the store asks for more (README, "Limits")."""


def test_every_poller_is_capped_and_together_they_leave_webhooks_room_in_a_new_account() -> None:
    from chalice.app import ScheduledEventConfig, SQSEventConfig

    from app import app

    pollers = [s for s in app.event_sources if isinstance(s, SQSEventConfig)]
    caps = {s.name: getattr(s, "maximum_concurrency", None) for s in pollers}
    assert set(caps) == {"on_job", "on_timer", "on_parked"}
    assert all(cap is not None and cap >= 2 for cap in caps.values())  # SQS's minimum
    # The rest are schedules, not pollers: one short invocation an hour (the weekly report).
    schedules = [s for s in app.event_sources if s not in pollers]
    assert all(isinstance(s, ScheduledEventConfig) for s in schedules)
    assert {s.name for s in schedules} == {"weekly_report"}
    assert sum(cap or 0 for cap in caps.values()) <= NEW_ACCOUNT_CONCURRENCY - 3


def test_production_reserves_concurrency_for_the_webhooks() -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    reserved = config["stages"]["prod"]["lambda_functions"]["api_handler"]["reserved_concurrency"]
    assert reserved >= 50
