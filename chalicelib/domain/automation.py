"""Whether relaydesk may answer a message itself. The webhook only asks whether the store
lets automation try (`may_try`) and then leaves the acknowledgement to the answer job,
which decides here what the message asks for.

The store's switches (`automation` in stores.json) are read here; what a message asks
for is `intents.decide`; what the shop says about an order, and whether the asker is its
customer, is the answer job's (flows/answer.py). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from chalicelib.domain.answers import AnswersConfigError, StoreAnswer, parse_answers

if TYPE_CHECKING:
    from chalicelib.domain.intents import IntentDecision

NotifyAgents = Literal["after_handoff", "always"]
RESOLVE_AFTER_HOURS = 24
"""A thread answered automatically and not followed up this long is resolved."""
# A message longer than this is a letter, not a question automation can be sure of.
MAX_TEXT = 600


@dataclass(frozen=True)
class Automation:
    """The store's `automation` settings: off unless the store turns it on."""

    enabled: bool = False
    order_status: bool = True
    """Answer "where is my order?" from the shop (needs `commerce`)."""
    answers: tuple[StoreAnswer, ...] = ()
    """The store's own answers, those switched off already left out."""
    notify_agents: NotifyAgents = "after_handoff"
    """"always": agents hear of automatically answered threads too."""

    def may_answer_orders(self, has_shop: bool) -> bool:
        return self.enabled and self.order_status and has_shop

    def may_try(self, has_shop: bool) -> bool:
        """Whether there is anything automation could answer for this store."""
        return self.enabled and (self.may_answer_orders(has_shop) or bool(self.answers))


def parse_automation(
    raw: object, *, store_id: str, answers_file: Mapping[str, object] | None = None
) -> Automation:
    """Validate `automation`; the answers are inline (`answers`) or from `answers_file`,
    already read by the loader and passed here. Raises AnswersConfigError naming the field."""
    where = f"store {store_id!r}: automation"
    if raw is None:
        return Automation()
    if not isinstance(raw, dict):
        raise AnswersConfigError(f"{where}: must be an object")
    unknown = set(raw) - {"enabled", "order_status", "answers", "answers_file", "notify_agents"}
    if unknown:
        raise AnswersConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for flag in ("enabled", "order_status"):
        if not isinstance(raw.get(flag, True), bool):
            raise AnswersConfigError(f"{where}.{flag}: true or false")
    notify = raw.get("notify_agents", "after_handoff")
    if notify not in ("after_handoff", "always"):
        raise AnswersConfigError(f'{where}.notify_agents: "after_handoff" or "always"')
    if "answers" in raw and "answers_file" in raw:
        raise AnswersConfigError(f"{where}: answers or answers_file, not both")
    listed: object = raw.get("answers", [])
    if answers_file is not None:
        listed = answers_file.get("answers")
    if isinstance(listed, list):
        switched_off = [a for a in listed if isinstance(a, dict) and a.get("enabled") is False]
        listed = [a for a in listed if a not in switched_off]
    answers = parse_answers(listed, where=f"{where}.answers")
    return Automation(
        enabled=raw.get("enabled", True),
        order_status=raw.get("order_status", True),
        answers=answers,
        notify_agents=notify,
    )


def question_text(body: str, subject: str | None) -> str:
    """What automation reads: the message, or an e-mail's subject when the body is empty.

    Not the subject beside a body: "Order 1042" over "can you send it to my office?"
    would read as a status question, and a wrong answer is worse than none."""
    text = body.strip()
    if subject and len(text) < 3:
        return subject.strip()
    return text


def decide_message(
    automation: Automation,
    *,
    body: str,
    subject: str | None,
    has_shop: bool,
    previous_language: str | None = None,
) -> IntentDecision | None:
    """What automation would do with this message, or None when it may not try at all.

    Runs in the answer job and in `relaydesk answers try`, never on the webhook (it costs
    10-60 ms of CPU, and its first call imports the matcher and Snowball)."""
    if not automation.may_try(has_shop):
        return None
    wants_orders = automation.may_answer_orders(has_shop)
    from chalicelib.domain.intents import IntentDecision, decide

    text = question_text(body, subject)
    if len(text) > MAX_TEXT:
        return IntentDecision("none", None, None, None, (), ("too long to answer safely",))
    return decide(
        text,
        automation.answers,
        previous_language=previous_language,
        order_status=wants_orders,
    )
