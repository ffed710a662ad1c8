"""A message the answer job follows up (automation answered it; no agent is mailed) leaves
no pending follow-up behind for the recovery sweep either."""

from __future__ import annotations

from chalice.test import Client

from relaydesk import sandbox
from relaydesk.workers import QueueWorker
from tests.integration.conftest import drain
from tests.integration.test_answers import (  # the `answers` store, connected to its shop
    JANA,
    SHOP_NUMBER,
    outbox,
    texts_to,
)
from tests.integration.test_recovery import pending
from tests.integration.test_spine import post_twilio

__all__ = ["outbox"]  # the fixture


def test_an_automatic_answer_clears_the_pending_follow_up(
    client: Client, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    post_twilio(client, sender=JANA, to=SHOP_NUMBER, body="Where is my order?")
    assert len(pending("answers")) == 1
    drain(worker)
    assert texts_to(outbox, JANA)  # answered automatically, nobody mailed
    assert pending("answers") == []
