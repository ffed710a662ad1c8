"""The store's hourly acknowledgement counter inside the inbound transaction (issue #15).

Every acknowledged new thread's TransactWriteItems also updates the store's counter, the
one item many customers' transactions write. DynamoDB cancels one of two transactions
that write an item at the same instant (reason TransactionConflict); moto never does, so
the conflicts are injected through the app's botocore hooks (`faults.conflicts`): every
fifth transaction that writes the counter is cancelled so. The repository retries a
conflict with jitter for at most a second (store/inbound.py); past that, the webhook
answers 503 and Twilio's Fallback URL parks the message (test_fallback.py).
"""

from __future__ import annotations

from collections import Counter

import pytest

from chalicelib.store import inbound
from relaydesk.cli import twiml_messages
from tests.reliability import faults
from tests.reliability.faults import Env, Inbox, conflicts, inject
from tests.reliability.helpers import scan_table
from tests.reliability.test_fallback import (
    PRIMARY,
    acknowledgements,
    customer,
    drain_inbox,
    sms,
    twilio,
)

env = faults.env


@pytest.fixture
def inbox(env: Env) -> Inbox:
    return Inbox(env.aws["InboxQueueUrl"])


BURST = 60


def counters(store: str = "demo") -> list[int]:
    return [
        int(i["sent"])
        for i in scan_table()
        if i["pk"] == f"{store}#STORE" and str(i["sk"]).startswith("AUTO#")
    ]


def test_one_in_five_counter_transactions_conflicting_loses_nothing(
    env: Env, logs: pytest.LogCaptureFixture
) -> None:
    """60 new customers, every fifth of their transactions cancelled by a conflict: each is
    retried and stored once, every answer is a 200 with one acknowledgement, and the
    counter counts each acknowledgement once."""
    with inject(env.container, conflicts(every=5)) as (fault,):
        deliveries = [twilio(env, sms(n)) for n in range(BURST)]
    # 1 in 5 of all counter transactions, the retries among them (a retry may conflict too).
    assert fault.injected >= BURST // 5
    retried = [r for r in logs.records if r.getMessage().startswith("inbound transaction conf")]
    assert len(retried) == fault.injected
    assert Counter(d.answered_by for d in deliveries) == {"primary": BURST}
    assert [len(twiml_messages(d.answer)) for d in deliveries] == [1] * BURST
    inbound_messages = Counter(
        str(i["provider_id"])
        for i in scan_table()
        if str(i["sk"]).startswith("MSG#") and i.get("direction") == "in"
    )
    assert inbound_messages == {sms(n)["MessageSid"]: 1 for n in range(BURST)}
    assert sum(counters()) == BURST
    print(
        f"\nconflicts: {BURST} new customers, {fault.seen} counter transactions, "
        f"{fault.injected} cancelled (TransactionConflict, 1 in 5), {len(retried)} retried, "
        f"{BURST} stored once, {BURST} acknowledged once, counter {sum(counters())}, lost 0"
    )


def test_a_conflict_that_outlasts_the_retries_is_a_503_and_the_fallback_keeps_it(
    env: Env, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbound, "CONFLICT_BUDGET_SECONDS", 0.2)
    with inject(env.container, conflicts(every=1)) as (fault,):
        delivery = twilio(env, sms(1))
    assert fault.injected > 1  # retried before it gave up
    assert [status for _, status in delivery.attempts] == [503, 200]
    assert delivery.attempts[0][0] == PRIMARY
    assert drain_inbox(inbox) == 1
    env.drain()
    assert len(Env.stored(sms(1)["MessageSid"])) == 1
    assert len(acknowledgements(env, customer(1))) == 1
    assert sum(counters()) == 1
    print(
        f"\nconflict on every attempt: {fault.injected} attempts cancelled within the budget, "
        "then 503; parked by the Fallback URL, replayed: stored 1, acknowledged 1, lost 0"
    )
