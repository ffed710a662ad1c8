"""Flow 2 (SQS job): automation may answer a new message, where the answer is certain.

The webhook decided that the message asks something automation can answer and left the
acknowledgement to this job (domain/automation.py, the same decision here). The job
looks the order up in the store's shop (never on the webhook's path), checks that the
asker is the order's customer, and sends the answer on the customer's channel, ending
with how to reach a person. Whenever it cannot be sure (no order, another customer's
order, a shop that is down, a state it cannot read), it sends the acknowledgement it
would have sent anyway and tells the agents, never silence.

Once per message: the answer and the acknowledgement share one id, so a retried job finds
whichever the first run recorded and finishes *that*.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING

from chalicelib.domain.ack import acknowledgement, next_opening
from chalicelib.domain.automation import RESOLVE_AFTER_HOURS, decide_message
from chalicelib.domain.order_answer import (
    OrderFacts,
    Progress,
    State,
    order_status_answer,
    with_person_line,
)
from chalicelib.flows.deliver import deliver, job_subject, record_automatic
from chalicelib.flows.notify_agents import notify_agents
from chalicelib.queues import Job, JobKind, Timer, TimerKind
from chalicelib.store.models import MessageItem, ThreadItem
from chalicelib.stores import StoreConfig

if TYPE_CHECKING:
    from chalicelib.commerce.port import Order
    from chalicelib.composition import Container
    from chalicelib.domain.intents import Decision

log = logging.getLogger(__name__)

ORDER_STATUS = "order_status"
AUTOMATION = "automation"
"""The resolve timer's family: its epoch is the SLA epoch the automatic answer left."""


@dataclass(frozen=True)
class Outcome:
    """What automation does with one message, and why: the answer job acts on it, and
    `relaydesk answers try` prints it."""

    decision: Decision
    """'answer': `text` is sent; 'handoff': the customer asked for a person or is unhappy;
    'none': nothing automatic (the acknowledgement and the agents)."""
    kind: str | None = None
    language: str | None = None
    confidence: float | None = None
    text: str | None = None
    reasons: tuple[str, ...] = ()
    note: str | None = None
    """For the agents, when the answer was withheld for a reason they should know."""

    def as_json(self) -> dict[str, object]:
        return {
            "decision": self.decision,
            "kind": self.kind,
            "language": self.language,
            "confidence": None if self.confidence is None else round(self.confidence, 3),
            "text": self.text,
            "reasons": list(self.reasons),
        }


def answer_job(c: Container, job: Job, *, redelivered: bool = False) -> None:
    subject = job_subject(c, job)
    if subject is None:
        return
    store, thread, inbound = subject
    customer = c.repository.customer(store.store_id, thread.customer)
    outcome = automatic_reply(
        c,
        store,
        sender=thread.customer,
        body=inbound.body,
        subject=inbound.subject,
        previous_language=customer.language if customer else None,
    )
    if outcome.decision == "answer" and outcome.text:
        text, why = outcome.text, f"answer:{outcome.kind}"
    else:
        text, why = _acknowledgement(c, store, thread, inbound), "acknowledgement"
    automatic_id, email_id = _automatic_ids(c, store, thread, inbound)
    recorded = record_automatic(c, thread, automatic_id, text, why, email_id)
    if recorded is None:
        return
    if (recorded.automatic or "").startswith("answer:"):
        _finish_answer(c, store, thread, inbound, recorded, redelivered=redelivered)
    else:
        if outcome.note:
            _note_once(c, store, thread, outcome.note)
        deliver(c, store, thread, recorded, redelivered=redelivered)
        _notify(c, thread, inbound, redelivered)
    log.info("automation: store=%s thread=%s %s", store.store_id, thread.thread_id, why)


def automatic_reply(
    c: Container,
    store: StoreConfig,
    *,
    sender: str | None,
    body: str,
    subject: str | None = None,
    previous_language: str | None = None,
) -> Outcome:
    """What automation answers to this message: the decision, then the shop, then the
    identity check, then the words. Reads, never writes (the CLI's dry run uses it)."""
    decision = decide_message(
        store.automation,
        body=body,
        subject=subject,
        has_shop=store.has_shop,
        previous_language=previous_language,
    )
    if decision is None:
        return Outcome("none", reasons=("automation is off for this store",))
    decided = Outcome(
        decision.decision,
        decision.kind,
        decision.language,
        decision.confidence,
        reasons=decision.reasons,
    )
    if decision.decision != "answer" or decision.kind is None:
        return decided
    language = decision.language or previous_language or store.locale
    if decision.kind == ORDER_STATUS:
        return _order_reply(c, store, decided, sender, decision.order_numbers, language)
    answer = next(a for a in store.automation.answers if a.id == decision.kind)
    text = answer.text(language, store.locale)
    if text is None:
        return _withheld(decided, f"answer {answer.id!r} has no text in {language}")
    written = language if language in answer.answers else store.locale
    return replace(decided, language=written, text=with_person_line(text, written, store.locale))


def _withheld(decided: Outcome, reason: str, note: str | None = None) -> Outcome:
    """Matched, but not answered: the usual acknowledgement and the agents."""
    return replace(
        decided, decision="none", kind=None, reasons=(*decided.reasons, reason), note=note
    )


def _order_reply(
    c: Container,
    store: StoreConfig,
    decided: Outcome,
    sender: str | None,
    numbers: tuple[str, ...],
    language: str,
) -> Outcome:
    from chalicelib.commerce.port import Contact, ShopError

    if sender is None:
        return _withheld(decided, "no sender: an order is told only to its customer")
    try:
        contact = Contact.of(sender)
        shop = c.shop_for(store)
        if shop is None:
            return _withheld(decided, "no shop connected")
        if numbers:
            orders = []
            for number in numbers[:3]:
                order = shop.order(number)
                if order is None:
                    return _withheld(
                        decided,
                        f"order #{number} not found",
                        note=f"Not answered automatically: the shop has no order #{number}.",
                    )
                if not order.belongs_to(contact):
                    log.warning("order asked for by another contact: store=%s", store.store_id)
                    return _withheld(
                        decided,
                        f"order #{number} is not the sender's",
                        note=(
                            f"Not answered automatically: order #{number} does not belong to "
                            "this sender (their phone or e-mail does not match the order's)."
                        ),
                    )
                orders.append(order)
        else:
            orders = shop.recent_orders(contact, limit=3)
            if not orders:
                return _withheld(decided, "the shop knows no order of this contact")
    except ValueError:
        return _withheld(decided, "the sender is not a phone number or an e-mail address")
    except ShopError as exc:
        log.warning("shop not reached for an automatic answer: store=%s %s", store.store_id, exc)
        return _withheld(
            decided,
            "the shop could not be reached",
            note="Not answered automatically: the shop could not be reached.",
        )
    composed = order_status_answer(
        [facts_of(order) for order in orders],
        language=language,
        default=store.locale,
        timezone=store.calendar.timezone,
    )
    if composed is None:
        return _withheld(decided, "an order's state is not certain (unknown, or a failed delivery)")
    written, text = composed
    return replace(decided, language=written, text=text)


_PROGRESS: dict[str, Progress] = {
    "delayed": "delayed",
    "out_for_delivery": "out_for_delivery",
    "ready_for_pickup": "ready_for_pickup",
    "attempted_delivery": "problem",
    "failure": "problem",
    "returning_to_sender": "problem",
}


def facts_of(order: Order) -> OrderFacts:
    """The shop's order as the words need it: its latest shipment's news."""
    shipments = sorted(order.shipments, key=lambda s: s.shipped_at or order.created_at)
    shipment = shipments[-1] if shipments else None
    event = shipment.last_event.value if shipment and shipment.last_event else ""
    state: State = order.state.value
    return OrderFacts(
        number=order.number,
        created_at=order.created_at,
        state=state,
        carrier=shipment.carrier if shipment else None,
        tracking_url=shipment.tracking_url if shipment else None,
        tracking_number=shipment.tracking_number if shipment else None,
        estimated_delivery=shipment.estimated_delivery if shipment else None,
        delivered_at=shipment.delivered_at if shipment else None,
        progress=_PROGRESS.get(event, "in_transit"),
    )


def _automatic_ids(
    c: Container, store: StoreConfig, thread: ThreadItem, inbound: MessageItem
) -> tuple[str, str | None]:
    """One id for this message's answer or acknowledgement, whichever is recorded first;
    and its e-mail Message-ID where the channel threads by them."""
    if c.channels[thread.channel].threads_by_message_id:
        email_id = f"<auto.{inbound.message_id}@{store.support_address.partition('@')[2]}>"
        return email_id, email_id
    return f"auto.{inbound.message_id}", None


def _acknowledgement(
    c: Container, store: StoreConfig, thread: ThreadItem, inbound: MessageItem
) -> str:
    customer = c.repository.customer(store.store_id, thread.customer)
    due = thread.response_due_at or inbound.created_at
    return acknowledgement(
        store_name=store.name,
        deadline=due,
        opens=next_opening(store.calendar, inbound.created_at),
        timezone=store.calendar.timezone,
        language=(customer.language if customer else None) or store.locale,
        now=inbound.created_at,
        overrides=store.ack_templates,
    )


def _finish_answer(
    c: Container,
    store: StoreConfig,
    thread: ThreadItem,
    inbound: MessageItem,
    answer: MessageItem,
    *,
    redelivered: bool,
) -> None:
    """Sent, then the thread waits on the customer; silence resolves it after a day.

    Until it is sent the customer's promise stands, so an answer that cannot be
    delivered leaves the thread to the agents as if automation had never tried."""
    deliver(c, store, thread, answer, redelivered=redelivered)  # updates `answer` in place
    if answer.delivery_status == "failed":
        _note_once(c, store, thread, "The automatic answer could not be delivered.")
        _notify(c, thread, inbound, redelivered)
        return
    if answer.delivery_status != "sent":
        return  # a twin delivery of this job is sending it, and finishes the rest
    now = c.clock()
    epoch = c.repository.answered_automatically(thread, inbound.created_at, now)
    if epoch is None:  # the customer wrote again meanwhile: that message is for a person
        return
    due = now + timedelta(hours=RESOLVE_AFTER_HOURS)
    resolve = Timer(
        TimerKind.RESOLVE, store.store_id, thread.thread_id, epoch, due, family=AUTOMATION
    )
    c.timers.send_all([resolve], now=now)
    if store.automation.notify_agents == "always":
        _notify(c, thread, inbound, redelivered)


def _notify(c: Container, thread: ThreadItem, inbound: MessageItem, redelivered: bool) -> None:
    """The agents' notification, in this job: the thread is theirs now, or they asked to
    hear of every answered one."""
    job = Job(JobKind.NOTIFY_AGENTS, thread.store_id, thread.thread_id, inbound.sk)
    notify_agents(c, job, redelivered=redelivered)


def _note_once(c: Container, store: StoreConfig, thread: ThreadItem, text: str) -> None:
    """A note for the agents, not repeated by a retried job."""
    history = c.repository.messages(store.store_id, thread.thread_id)
    if any(m.direction == "note" and m.body == text for m in history):
        return
    c.repository.record_event(
        thread,
        kind="note",
        author=store.support_address,
        author_name="relaydesk",
        body=text,
        at=c.clock(),
    )


def resolve_if_quiet(c: Container, store: StoreConfig, thread: ThreadItem, timer: Timer) -> None:
    """A day after an automatic answer, with no word since: resolved automatically."""
    why = f"resolved automatically: no reply within {RESOLVE_AFTER_HOURS} hours"
    resolve_quietly(c, store, thread, timer.epoch, why)


def resolve_quietly(
    c: Container, store: StoreConfig, thread: ThreadItem, epoch: int, why: str
) -> bool:
    """Closed, with `why` in its history and the store's retention applied, if the thread
    still waits on the customer at `epoch`; False when the customer or an agent got there
    first (the automatic answer's and the proactive news's timers both end here)."""
    from chalicelib.flows.retention import retention_job_for

    if not c.repository.resolve_automatically(thread, epoch, c.clock()):
        return False
    c.repository.record_event(
        thread,
        kind="event",
        author=store.support_address,
        author_name="relaydesk",
        body=why,
        at=c.clock(),
    )
    c.jobs.send_all([retention_job_for(store.store_id, thread.thread_id)])
    log.info("thread resolved automatically: thread=%s", thread.thread_id)
    return True
