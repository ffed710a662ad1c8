"""The inbox queue (`on_parked`) holds two kinds of request parked for later: Twilio's,
parked by the Fallback URL (flows/replay.py), and S3's events for the Inbound Parse posts
the mail route stored (flows/receive_stored_mail.py). One queue and one capped poller for
both: every poller shares the account's Lambda concurrency with the webhooks."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.composition import Container


def is_s3_event(body: str) -> bool:
    """S3's notifications name their source in each record (its test event says what it
    is); a ParkedRequest has neither key."""
    try:
        event = json.loads(body)
    except json.JSONDecodeError:
        return False
    if not isinstance(event, dict):
        return False
    if event.get("Event") == "s3:TestEvent":
        return True
    records = event.get("Records")
    return isinstance(records, list) and any(
        isinstance(r, dict) and r.get("eventSource") == "aws:s3" for r in records
    )


def take_parked(c: Container, body: str) -> list[str]:
    """The outcome of each request the queue message holds. Raises on our own failures."""
    if is_s3_event(body):
        from chalicelib.flows.receive_stored_mail import receive_stored_mail

        return receive_stored_mail(c, body)
    from chalicelib.flows.replay import replay_parked

    return [replay_parked(c, body)]
