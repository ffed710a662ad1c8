"""`make bench` (automatic answers): precision and coverage on the labelled set.

Runs the pure decision (`chalicelib.domain.intents.decide`) on every message of
tests/fixtures/answers_labelled.jsonl with the demo store's four answers and prints
markdown for bench/RESULTS.md: the whole set, the held-out part (every 4th line, not
looked at while tuning), the two sets written later, the wrong answers in all three, and
the time one decision takes once the libraries are loaded (the answer job's cost, not
the webhook's: nothing here is on it).
"""

from __future__ import annotations

import time

from relaydesk.answer_quality import (
    SETS,
    load_demo_answers,
    load_examples,
    markdown,
    run,
    table,
    wrong_answers,
)


def main() -> None:
    examples = load_examples()
    answers = load_demo_answers()
    run(examples[:8], answers)  # load the stemmers first
    started = time.perf_counter()
    outcomes = run(examples, answers)
    per_message_ms = (time.perf_counter() - started) * 1000 / len(examples)
    held_out = [o for o in outcomes if o.example.held_out]
    print("### Automatic answers (`python -m bench.answers`)\n")
    print(
        f"{len(examples)} labelled messages in 8 languages, the demo store's four answers "
        "and order status. Precision: of what was answered, the share answered with the "
        "right kind. Coverage: of what should be answered, the share that was. Handed off: "
        "of the messages that need a person, the share flagged so.\n"
    )
    print("#### Whole set\n")
    print(markdown(table(outcomes)))
    print(f"\n#### Held out ({len(held_out)} messages, every 4th line)\n")
    print(markdown(table(held_out)))
    for name, path in list(SETS.items())[1:]:
        later = run(load_examples(path), answers)
        print(f"\n#### The {name} set ({len(later)} messages)\n")
        print(markdown(table(later)))
        outcomes = [*outcomes, *later]
    wrong = wrong_answers(outcomes)
    print(f"\n#### Wrong answers ({len(wrong)})\n")
    print("\n".join(f"- {line}" for line in wrong) or "- none")
    print(f"\nOne decision: {per_message_ms:.2f} ms on average (libraries loaded).")


if __name__ == "__main__":
    main()
