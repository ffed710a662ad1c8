"""Agent commands at the top of an e-mailed reply: what is read, what is refused, and why."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from chalicelib.domain.commands import (
    KNOWN_COMMANDS,
    Command,
    CommandError,
    ParsedReply,
    help_text,
    parse_reply,
)
from chalicelib.domain.sla import PRIORITIES


def problems_of(text: str) -> tuple[str, ...]:
    with pytest.raises(CommandError) as caught:
        parse_reply(text)
    return caught.value.problems


# --- what is read ----------------------------------------------------------------------


def test_a_reply_without_commands_is_all_answer() -> None:
    assert parse_reply("Hello,\n\nyour parcel left today.\n") == ParsedReply(
        (), "Hello,\n\nyour parcel left today.", is_note=False
    )


@pytest.mark.parametrize("text", ["", "   ", "\n\n \t\n"])
def test_an_empty_reply_is_not_an_error(text: str) -> None:
    assert parse_reply(text) == ParsedReply((), "", is_note=False)


def test_commands_then_answer() -> None:
    parsed = parse_reply(
        "\n\n#CLOSE\n#Priority  HIGH \n#assign alex@demo.test\n\nThanks, it is on its way.\n"
    )
    assert parsed.commands == (
        Command("close", ""),
        Command("priority", "high"),
        Command("assign", "alex@demo.test"),
    )
    assert parsed.text == "Thanks, it is on its way."
    assert not parsed.is_note


def test_the_answer_keeps_its_own_layout() -> None:
    parsed = parse_reply("#pending\r\nWhich order?\r\n\r\n  - the red one\r\n  - the blue one\r\n")
    assert parsed.text == "Which order?\r\n\r\n  - the red one\r\n  - the blue one"


def test_blank_lines_between_commands_do_not_end_them() -> None:
    parsed = parse_reply("#assign me\n\n#priority urgent\n\nOn it.")
    assert [c.name for c in parsed.commands] == ["assign", "priority"]
    assert parsed.text == "On it."


@pytest.mark.parametrize(
    "text",
    [
        "#12345 is your order number.",
        "#1",
        "#1 priority for us!",
        "#close.",
        "#",
        "# close",
        "#Über uns",
        "#close-it now",
    ],
)
def test_lines_that_only_look_like_commands_are_answer_text(text: str) -> None:
    assert parse_reply(text) == ParsedReply((), text, is_note=False)


def test_commands_stop_at_the_first_line_of_the_answer() -> None:
    parsed = parse_reply("#close\nThanks!\n#pending\n#nonsense")
    assert parsed.commands == (Command("close", ""),)
    assert parsed.text == "Thanks!\n#pending\n#nonsense"


def test_a_note_is_the_rest_of_the_reply() -> None:
    parsed = parse_reply("#close\n#note Called her,\nshe will pick it up.\n#pending\n")
    assert parsed.commands == (Command("close", ""), Command("note", ""))
    assert parsed.is_note
    assert parsed.text == "Called her,\nshe will pick it up.\n#pending"


def test_nothing_after_a_note_is_read_as_a_command() -> None:
    parsed = parse_reply("#note\n#close\n#clsoe\nShe was rude.")
    assert parsed.commands == (Command("note", ""),)
    assert parsed.text == "#close\n#clsoe\nShe was rude."


def test_a_note_can_start_on_the_next_line() -> None:
    parsed = parse_reply("#NOTE\n\nVIP customer, be nice.")
    assert parsed.is_note
    assert parsed.text == "VIP customer, be nice."


def test_arguments_are_normalised_where_they_are_keywords() -> None:
    parsed = parse_reply(
        "#assign ME\n#template Refund-Policy_2\n#snooze Monday\n#tag VIP, Late\nok"
    )
    assert parsed.commands == (
        Command("assign", "me"),
        Command("template", "refund-policy_2"),
        Command("snooze", "Monday"),
        Command("tag", "VIP, Late"),
    )


def test_assign_keeps_a_name_as_written() -> None:
    assert parse_reply("#assign Alex Novák").get("assign") == Command("assign", "Alex Novák")


def test_get_finds_a_command_by_name_with_or_without_hash() -> None:
    parsed = parse_reply("#snooze 4h\n#tag a")
    assert parsed.get("snooze") == Command("snooze", "4h")
    assert parsed.get("#Snooze") == Command("snooze", "4h")
    assert parsed.get("close") is None


def test_tags_from_every_tag_command_lower_case_once_in_order() -> None:
    parsed = parse_reply("#tag VIP, late  refund\n#tag ,late,,damaged\tVip\n#tag x_1")
    assert parsed.tags == ("vip", "late", "refund", "damaged", "x_1")
    assert parse_reply("#close").tags == ()


@pytest.mark.parametrize("level", PRIORITIES)
def test_every_priority_is_accepted(level: str) -> None:
    assert parse_reply(f"#priority {level.upper()}").get("priority") == Command("priority", level)


@pytest.mark.parametrize("spec", ["30m", "1d12h", "2 hours", "tomorrow", "2026-12-01 14:30"])
def test_snooze_accepts_what_snooze_understands(spec: str) -> None:
    assert parse_reply(f"#snooze {spec}").get("snooze") == Command("snooze", spec)


def test_state_commands_with_a_note_and_tags_go_together() -> None:
    parsed = parse_reply("#reopen\n#tag a\n#tag b\n#priority low\n#note reopened on request")
    assert [c.name for c in parsed.commands] == ["reopen", "tag", "tag", "priority", "note"]


# --- what is refused --------------------------------------------------------------------


def test_an_unknown_command_is_named_with_a_suggestion() -> None:
    assert problems_of("#clsoe\nThanks") == ("#clsoe is not a command (did you mean #close?).",)
    assert problems_of("#frobnicate") == ("#frobnicate is not a command.",)


@pytest.mark.parametrize("name", ["close", "reopen", "pending"])
def test_state_commands_take_no_argument(name: str) -> None:
    (problem,) = problems_of(f"#{name} now please")
    assert problem.startswith(f"#{name} takes nothing after it")
    assert "'now please'" in problem


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("#assign", "#assign needs an agent"),
        ("#priority", "#priority needs one of low, normal, high, urgent."),
        ("#priority extreme", "#priority needs one of low, normal, high, urgent; 'extreme'"),
        ("#snooze", "#snooze: say when to wake up"),
        ("#snooze next year", "#snooze: 'next year' is not a time we understand"),
        ("#snooze 3w", "#snooze: 3w is too far ahead: a snooze lasts at most 14 days"),
        ("#template", "#template needs the name of a saved answer"),
        ("#template -x", "#template needs the name of a saved answer"),
        ("#template refund policy", "#template needs the name of a saved answer"),
        ("#tag", "#tag needs at least one tag."),
        ("#tag , ,", "#tag needs at least one tag."),
        ("#tag ok, _bad, b@d", "#tag: '_bad', 'b@d' cannot be a tag"),
        ("#tag " + "a" * 51, "#tag: '" + "a" * 51 + "' cannot be a tag"),
        ("#order", "#order needs the shop's order number, such as #order 1042."),
        ("#order 10 42", "#order needs the shop's order number, such as #order 1042, but"),
        ("#order 1042?", "#order needs the shop's order number"),
    ],
)
def test_arguments_are_checked(text: str, start: str) -> None:
    (problem,) = problems_of(text)
    assert problem.startswith(start)


def test_a_tag_of_fifty_characters_is_fine() -> None:
    assert parse_reply("#tag " + "a" * 50).tags == ("a" * 50,)


def test_a_command_given_twice_is_a_problem_but_tag_is_not() -> None:
    assert problems_of("#close\n#CLOSE") == ("#close is given more than once.",)
    assert problems_of("#priority high\n#priority low") == ("#priority is given more than once.",)
    assert parse_reply("#tag a\n#tag b").tags == ("a", "b")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("#close\n#pending", "#close and #pending"),
        ("#reopen\n#snooze 4h", "#snooze and #reopen"),
        ("#pending\n#snooze tomorrow\n#close", "#close, #pending and #snooze"),
    ],
)
def test_state_changes_contradict_each_other(text: str, named: str) -> None:
    assert problems_of(text) == (f"{named} contradict each other: use only one of them.",)


def test_a_note_and_a_template_do_not_go_together() -> None:
    assert problems_of("#template refund\n#note thanks") == (
        "#note and #template do not go together: a note is never sent.",
    )


@pytest.mark.parametrize("text", ["#note", "#note   \n\n  ", "#close\n#note"])
def test_a_note_needs_text(text: str) -> None:
    assert problems_of(text) == ("#note needs the note's text, after it or on the lines below it.",)


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_of("#clsoe\n#priority extreme\n#close\n#close now\n#pending\nHi")
    assert len(problems) == 5
    assert problems[0].startswith("#clsoe is not a command")
    assert problems[1].startswith("#priority needs one of")
    assert problems[2] == "#close is given more than once."
    assert problems[3].startswith("#close takes nothing after it")
    assert problems[4] == "#close and #pending contradict each other: use only one of them."


def test_the_error_message_is_every_problem() -> None:
    with pytest.raises(CommandError) as caught:
        parse_reply("#clsoe\n#assign")
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == " ".join(caught.value.problems)
    assert len(caught.value.problems) == 2


# --- help -------------------------------------------------------------------------------


def test_help_lists_every_command_on_its_own_line() -> None:
    lines = help_text().splitlines()
    for name in KNOWN_COMMANDS:
        assert sum(line.startswith(f"#{name} ") or line == f"#{name}" for line in lines) == 1
    assert ", ".join(PRIORITIES) in help_text()
    assert "14 days" in help_text()


def test_help_examples_are_commands_that_parse() -> None:
    for example in ["#snooze 1d12h", "#snooze friday", "#snooze 2026-12-01 14:30"]:
        assert example.split(" ", 1)[1] in help_text()
        assert parse_reply(example).commands


# --- properties -------------------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        *(f"#{name}" for name in KNOWN_COMMANDS),
        "#CLOSE",
        "#clsoe",
        "#1",
        "#",
        "me",
        "4h",
        "0m",
        "99999999999999999999w",
        "monday",
        "2026-02-30",
        "2026-12-01 25:61",
        "0001-01-01",
        "urgent",
        "a,b",
        "Über",
        "١٢",
        " ",
        "\t",
        "\n",
        "\r\n",
        "\u2028",
        "\x85",
        "\u00a0",
    ]
)
_REPLIES = st.lists(st.one_of(_PIECES, st.text(max_size=5)), max_size=12).map("".join)


def test_parse_reply_raises_nothing_but_command_error() -> None:
    """Any reply is parsed or refused with sentences; both branches are exercised (the
    counts are checked after the run), not only the refusal most garbage meets."""
    seen: Counter[str] = Counter()

    @settings(max_examples=300, deadline=None, database=None)
    @given(st.one_of(_REPLIES, _VALID_REPLIES.map(lambda built: built[0]), _BAD_REPLIES))
    def check(text: str) -> None:
        problems: tuple[str, ...] | None
        try:
            parsed = parse_reply(text)
        except CommandError as exc:
            problems = exc.problems
        else:
            problems = None
        if problems is not None:
            seen["refused"] += 1
            event("refused")
            assert problems
            assert all(problem.endswith(".") for problem in problems)
            return
        seen["parsed"] += 1
        event("parsed, with commands" if parsed.commands else "parsed, no command")
        if parsed.commands:
            seen["with commands"] += 1
        assert all(command.name in KNOWN_COMMANDS for command in parsed.commands)
        assert parsed.text == parsed.text.strip()
        if not parsed.is_note and parsed.text:
            # Whatever goes to the customer does not start with a command.
            first = parsed.text.splitlines()[0]
            assert parse_reply(first).commands == ()

    check()
    assert seen["refused"] >= 30, seen
    assert seen["with commands"] >= 30, seen


# Replies built from valid commands, so the expected reading is known independently of the
# parser: (reply, command names in order, the answer text).
_STATE = st.sampled_from(["", "#close", "#pending", "#snooze 4h", "#snooze friday", "#reopen"])
_ANSWER = st.sampled_from(
    ["", "It left today.", "Hello,\n\nyour parcel is on its way.", "#1 is it"]
)


@st.composite
def _valid_reply(draw: st.DrawFn) -> tuple[str, tuple[str, ...], str]:
    lines = [draw(_STATE)]
    if draw(st.booleans()):
        lines.append("#assign me")
    if draw(st.booleans()):
        lines.append(f"#priority {draw(st.sampled_from(PRIORITIES))}")
    if draw(st.booleans()):
        lines.append("#tag late, vip")
    lines = [line for line in lines if line]
    draw(st.randoms()).shuffle(lines)
    blank = draw(st.sampled_from(["\n", "\n\n", "\r\n"]))
    answer = draw(_ANSWER)
    names = tuple(line.split()[0].removeprefix("#") for line in lines)
    return blank.join([*lines, answer]), names, answer.strip()


_VALID_REPLIES = _valid_reply()
# A valid reply under a first line that is a command with a problem.
_BAD_LINES = st.sampled_from(
    ["#clsoe", "#priority extreme", "#snooze 15d", "#snooze 2026-02-30", "#close x", "#tag"]
)
_BAD_REPLIES = st.tuples(_BAD_LINES, _VALID_REPLIES).map(lambda bad: f"{bad[0]}\n{bad[1][0]}")


@settings(max_examples=200, deadline=None, database=None)
@given(_VALID_REPLIES)
def test_valid_commands_are_read_in_order_and_the_rest_is_the_answer(
    built: tuple[str, tuple[str, ...], str],
) -> None:
    text, names, answer = built
    parsed = parse_reply(text)
    assert tuple(command.name for command in parsed.commands) == names
    assert parsed.text == answer


@pytest.mark.parametrize("written", ["#order 1042", "#ORDER #1042", "#order   1042  "])
def test_order_takes_the_number_without_its_hash(written: str) -> None:
    reply = parse_reply(f"{written}\nIt is on its way.")
    assert reply.get("order") == Command("order", "1042")
    assert reply.text == "It is on its way."


def test_the_help_lists_order() -> None:
    assert "#order <number>" in help_text()
