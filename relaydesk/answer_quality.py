"""How well automatic answers do on the labelled set (tests/fixtures/answers_labelled.jsonl).

One evaluation for the conformance test (tests/unit/test_answer_quality.py) and the bench
(`python -m bench.answers`), so that both report the same figures:

- precision: of the messages answered automatically, the share answered with the right
  kind (a wrong answer is the failure that matters);
- coverage: of the messages that should be answered, the share answered with the right kind;
- hand-off: of the messages that need a person (asked for, or a complaint), the share
  handed off (the rest get the acknowledgement and reach the agents too, only unflagged).

Every 4th line of the set (line 4, 8, ...) is held out: it was not looked at while the
matcher was tuned, and its figures are reported apart. Two more sets were written later,
each before the matcher ever ran on it (`SETS`); the second set's misses were then
generalised (so it is no longer unseen), the third has not been tuned against. Their
figures, as of the last `make bench`, are in bench/RESULTS.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from chalicelib.domain.answers import StoreAnswer, parse_answers
from chalicelib.domain.intents import IntentDecision, decide

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT / "tests" / "fixtures" / "answers_labelled.jsonl"
DEMO_ANSWERS = ROOT / "chalicelib" / "demo_answers.json"
HELD_OUT_EVERY = 4
FIXTURES = ROOT / "tests" / "fixtures"
SETS: dict[str, Path] = {
    "labelled (written first, tuned on 3 lines in 4)": LABELLED,
    "second (written after tuning; its misses then generalised)": FIXTURES / "answers_fresh.jsonl",
    "third (written last, never tuned against)": FIXTURES / "answers_unseen.jsonl",
}


@dataclass(frozen=True)
class Example:
    line: int
    """1-based line in the labelled file."""
    text: str
    language: str
    category: str
    decision: str
    kind: str | None

    @property
    def held_out(self) -> bool:
        return self.line % HELD_OUT_EVERY == 0


@dataclass(frozen=True)
class Outcome:
    example: Example
    got: IntentDecision

    @property
    def answered(self) -> bool:
        return self.got.decision == "answer"

    @property
    def should_answer(self) -> bool:
        return self.example.decision == "answer"

    @property
    def right_answer(self) -> bool:
        return self.answered and self.should_answer and self.got.kind == self.example.kind

    @property
    def wrong_answer(self) -> bool:
        return self.answered and not self.right_answer


@dataclass(frozen=True)
class Row:
    """One line of the table: a language, an answer kind, or everything."""

    name: str
    messages: int
    should_answer: int
    answered: int
    right: int
    needs_person: int
    handed_off: int

    @property
    def precision(self) -> float | None:
        return self.right / self.answered if self.answered else None

    @property
    def coverage(self) -> float | None:
        return self.right / self.should_answer if self.should_answer else None

    @property
    def handoff_recall(self) -> float | None:
        return self.handed_off / self.needs_person if self.needs_person else None


def load_examples(path: Path = LABELLED) -> list[Example]:
    examples = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            item = json.loads(line)
            examples.append(
                Example(
                    line=number,
                    text=item["text"],
                    language=item["language"],
                    category=item["category"],
                    decision=item["decision"],
                    kind=item["kind"],
                )
            )
    return examples


def load_demo_answers(path: Path = DEMO_ANSWERS) -> tuple[StoreAnswer, ...]:
    return parse_answers(json.loads(path.read_text(encoding="utf-8"))["answers"])


def run(examples: Iterable[Example], answers: Sequence[StoreAnswer]) -> list[Outcome]:
    """Decide every example as the answer job would: no hint but the text."""
    return [Outcome(example, decide(example.text, answers)) for example in examples]


def row(name: str, outcomes: Sequence[Outcome]) -> Row:
    return Row(
        name=name,
        messages=len(outcomes),
        should_answer=sum(o.should_answer for o in outcomes),
        answered=sum(o.answered for o in outcomes),
        right=sum(o.right_answer for o in outcomes),
        needs_person=sum(o.example.decision == "handoff" for o in outcomes),
        handed_off=sum(
            o.example.decision == "handoff" and o.got.decision == "handoff" for o in outcomes
        ),
    )


def table(outcomes: Sequence[Outcome]) -> list[Row]:
    """All, then per language (in the set's order), then per answer kind."""
    languages = list(dict.fromkeys(o.example.language for o in outcomes))
    kinds = list(dict.fromkeys(o.example.kind for o in outcomes if o.example.kind))
    rows = [row("all", outcomes)]
    rows += [row(lang, [o for o in outcomes if o.example.language == lang]) for lang in languages]
    rows += [kind_row(kind, outcomes) for kind in kinds]
    return rows


def kind_row(kind: str, outcomes: Sequence[Outcome]) -> Row:
    """Precision of what was answered *as* `kind`; coverage of what should have been."""
    expected = [o for o in outcomes if o.example.kind == kind]
    return Row(
        name=kind,
        messages=len(expected),
        should_answer=len(expected),
        answered=sum(o.answered and o.got.kind == kind for o in outcomes),
        right=sum(o.right_answer for o in expected),
        needs_person=0,
        handed_off=0,
    )


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def markdown(rows: Sequence[Row]) -> str:
    lines = [
        "| set | messages | to answer | answered | right | precision | coverage "
        "| need a person | handed off |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.name} | {r.messages} | {r.should_answer} | {r.answered} | {r.right} "
        f"| {_figure(r.precision)} | {_figure(r.coverage)} | {r.needs_person} "
        f"| {_figure(r.handoff_recall)} |"
        for r in rows
    ]
    return "\n".join(lines)


def wrong_answers(outcomes: Sequence[Outcome]) -> list[str]:
    """One line per message answered with the wrong kind (what precision counts against)."""
    return [
        f"line {o.example.line} ({o.example.language}, {o.example.category}): "
        f"{o.example.text!r} -> {o.got.kind} ({'; '.join(o.got.reasons)})"
        for o in outcomes
        if o.wrong_answer
    ]
