"""Conformance: automatic answers on the labelled set meet the issue's precision target.

The set (tests/fixtures/answers_labelled.jsonl, 432 messages in en cs pl de fr es ar fa)
was written before the matcher, for this purpose; every 4th line is held out from
tuning and its figures are printed apart (`pytest -s` shows the table); two smaller
sets written later are held to the same precision. Coverage is
printed, not asserted: it is what a store gains, precision is what it must not lose.
"""

from __future__ import annotations

import pytest

from relaydesk.answer_quality import (
    SETS,
    Outcome,
    load_demo_answers,
    load_examples,
    markdown,
    run,
    table,
    wrong_answers,
)

MIN_PRECISION = 0.98
MIN_LANGUAGE_PRECISION = 0.95
LANGUAGES = ("en", "cs", "pl", "de", "fr", "es", "ar", "fa")


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    return run(load_examples(), load_demo_answers())


def test_the_set_is_large_and_covers_every_language_and_kind(outcomes: list[Outcome]) -> None:
    assert len(outcomes) >= 400
    assert {o.example.language for o in outcomes} == set(LANGUAGES)
    kinds = {o.example.kind for o in outcomes}
    assert kinds >= {"order_status", "returns", "shipping", "hours", "payment", None}


def test_precision_overall_and_in_every_language(outcomes: list[Outcome]) -> None:
    rows = {r.name: r for r in table(outcomes)}
    print("\nwhole set\n" + markdown(list(rows.values())))
    held_out = [o for o in outcomes if o.example.held_out]
    print("\nheld out (every 4th line)\n" + markdown(table(held_out)))
    print("\nwrong answers:\n" + "\n".join(wrong_answers(outcomes) or ["none"]))
    overall = rows["all"].precision
    assert overall is not None
    assert overall >= MIN_PRECISION, wrong_answers(outcomes)
    for language in LANGUAGES:
        precision = rows[language].precision
        # A language where nothing was answered has no precision to fail; coverage shows it.
        assert precision is None or precision >= MIN_LANGUAGE_PRECISION, (
            language,
            wrong_answers([o for o in outcomes if o.example.language == language]),
        )


@pytest.mark.parametrize("name", list(SETS)[1:])
def test_precision_on_the_sets_written_later(name: str) -> None:
    outcomes = run(load_examples(SETS[name]), load_demo_answers())
    rows = table(outcomes)
    print(f"\n{name}\n" + markdown(rows))
    assert rows[0].precision is None or rows[0].precision >= MIN_PRECISION, wrong_answers(outcomes)


def test_nothing_that_needs_a_person_is_answered(outcomes: list[Outcome]) -> None:
    answered = [o.example.text for o in outcomes if o.example.decision == "handoff" and o.answered]
    assert answered == []
