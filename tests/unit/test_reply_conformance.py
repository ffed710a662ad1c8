"""`visible_reply` against the shared e-mail corpus (read in place, never copied).

Two sources of expectations, both in `../shared/corpus/` (see its README):

1. `reply-parser/` bodies with `reply-parser-expectations.json`, which records what the
   upstream tests of zapier/email-reply-parser assert. Only the assertions about the visible
   text are used:

   - `parse_reply_equals`, `reply_equals`, `reply_stripped_equals`: equal;
   - `reply_contains`: contains each string;
   - `parse_reply_not_contains`: contains none of the strings (and, so that an empty result
     cannot pass, is not empty: every such body has new text);
   - `fragment_contains` of fragment 0: contains it (the first fragment is always visible);
   - `fragment_matches_regex` of fragment 0: starts with it (`re.match`);
   - `fragment_count == 1`: the parser found no quote, header or signature, so the visible
     text is the whole body.

   The other assertions (fragment counts and flags, later fragments, a timing bound)
   describe the upstream parser's own fragments, not the visible text; a body that has only
   those is not a case here.

2. `chatwoot-eml/` messages whose README row states a visible text ("reply: visible text is
   ...", "Visible text ..."). The body is taken as the inbound channel does: the standard
   library's `get_body(preferencelist=("plain", "html"))`, HTML turned into text by the
   channel's own `html_to_text`. A "…" in the stated text stands for an elided middle: the
   result must start with the part before it, end with the part after it, and contain
   the parts in between, in order.

Texts are compared with whitespace normalised (runs of spaces, tabs and line breaks become
one space; the ends are stripped), since line wrapping and blank lines are not content.

A case that the current approach cannot meet is listed in `KNOWN_GAPS` with the reason. It
is marked `xfail(strict=True)`, so the suite notices when it starts passing.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from chalicelib.channels.sendgrid_inbound import html_to_text
from chalicelib.domain.reply import visible_reply
from tests.conftest import CORPUS, corpus_path

EXPECTATIONS = "reply-parser-expectations.json"
MISSING = "corpus-missing"

KNOWN_GAPS = {
    "email_1_2.txt": (
        "bottom-posted answer: the new text 'You can list the keys for the bucket…' sits below "
        "the `On … wrote:` quote; the library keeps only the text above the first quote header "
        "(top-posting model), so the result is just 'Hi,'"
    ),
    "it/email_1_2.txt": (
        "bottom-posted answer below an Italian `Il giorno … ha scritto:` quote: the library "
        "keeps only the text above the first quote header, so the result is just 'Hi,'"
    ),
    "email_issue_15.txt": (
        "the body's own second line 'On function On  wrote:' matches the library's English "
        "`On … wrote:` header pattern, so it is cut as quoted history"
    ),
    "mail_with_html_part_no_html_content.eml": (
        "the README's text stops at 'This is test message.', but after the U+200B line and 432 "
        "blank lines the text/plain part goes on with 'This is test message. Thank you. "
        "Sincerely, Sales Associate example.com'; nothing marks that as a quote or signature "
        "('Sincerely,' is not a sign-off the library knows), so it stays visible"
    ),
}


def normalise(text: str) -> str:
    return " ".join(text.split())


def _case(name: str) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[name])] if name in KNOWN_GAPS else []
    return pytest.param(name, id=name, marks=marks)


def _missing() -> list[Any]:
    return [pytest.param(MISSING, id=MISSING)]


# --- 1. reply-parser bodies with upstream assertions ------------------------------------


def visible_text_checks(assertions: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """The (kind, value) pairs of the assertions that are about the visible text."""
    checks: list[tuple[str, Any]] = []
    for assertion in assertions:
        for kind in ("parse_reply_equals", "reply_equals", "reply_stripped_equals"):
            if kind in assertion:
                checks.append(("equals", assertion[kind]))
        for text in assertion.get("reply_contains", []):
            checks.append(("contains", text))
        for text in assertion.get("parse_reply_not_contains", []):
            checks.append(("not_contains", text))
        first = assertion.get("fragment_contains", {}).get("0")
        for text in [first] if isinstance(first, str) else first or []:
            checks.append(("contains", text))
        if (pattern := assertion.get("fragment_matches_regex", {}).get("0")) is not None:
            checks.append(("matches", pattern))
        if assertion.get("fragment_count") == 1:
            checks.append(("whole_body", None))
    return checks


def _reply_parser_files() -> dict[str, Any]:
    files: dict[str, Any] = json.loads((CORPUS / EXPECTATIONS).read_text("utf-8"))["files"]
    return files


def _reply_parser_cases() -> list[Any]:
    if not (CORPUS / EXPECTATIONS).exists():
        return _missing()
    files = _reply_parser_files()
    return [_case(n) for n, f in files.items() if visible_text_checks(f.get("assertions", []))]


@pytest.mark.parametrize("name", _reply_parser_cases())
def test_reply_parser_corpus(name: str) -> None:
    corpus_path(EXPECTATIONS)  # skips, with the reason, when the corpus is not there
    body = corpus_path("reply-parser", name).read_bytes().decode("utf-8")
    checks = visible_text_checks(_reply_parser_files()[name]["assertions"])
    visible = normalise(visible_reply(body))

    for kind, value in checks:
        if kind == "equals":
            assert visible == normalise(value)
        elif kind == "contains":
            assert normalise(value) in visible
        elif kind == "not_contains":
            assert visible
            assert normalise(value) not in visible
        elif kind == "matches":
            assert re.match(value, visible), f"{visible!r} does not start with {value!r}"
        else:
            assert visible == normalise(body)


# --- 2. chatwoot .eml files with a stated visible text -----------------------------------

ROW = re.compile(r'^\| (?P<name>[\w.-]+\.eml) \|.*?visible text(?: is)? "(?P<text>[^"]+)"', re.I)


def _stated_visible_texts() -> dict[str, str]:
    rows = (ROW.match(line) for line in (CORPUS / "README.md").read_text("utf-8").splitlines())
    return {row["name"]: row["text"] for row in rows if row}


def _chatwoot_cases() -> list[Any]:
    if not (CORPUS / "README.md").exists():
        return _missing()
    return [_case(name) for name in _stated_visible_texts()]


def text_of(path: Path) -> str:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = str(part.get_content())
    return html_to_text(content) if part.get_content_type() == "text/html" else content


@pytest.mark.parametrize("name", _chatwoot_cases())
def test_chatwoot_corpus(name: str) -> None:
    corpus_path("README.md")  # skips, with the reason, when the corpus is not there
    visible = normalise(visible_reply(text_of(corpus_path("chatwoot-eml", name))))
    stated = _stated_visible_texts()[name]
    if "…" not in stated:
        assert visible == normalise(stated)
        return
    first, *middle, last = (normalise(piece) for piece in stated.split("…"))
    assert visible.startswith(first), visible
    assert visible.endswith(last), visible
    position = len(first)
    for piece in middle:
        position = visible.index(piece, position) + len(piece)  # ValueError if missing
    assert position <= len(visible) - len(last)


def test_every_known_gap_is_a_collected_case() -> None:
    corpus_path(EXPECTATIONS)
    corpus_path("README.md")
    names = {n for n, f in _reply_parser_files().items() if visible_text_checks(f["assertions"])}
    assert set(KNOWN_GAPS) <= names | set(_stated_visible_texts())


# --- 3. the project's own cases for the rules around the library -------------------------

OWN_CASES = {
    "quote-and-dash-dash-space-signature": (
        "It ships today.\n\n-- \nAlex, Demo Store\n\n"
        "On Mon, 23 Nov 2026 at 10:00, Demo Store <support@demo.relaydesk.test> wrote:\n"
        "> Where is my order?\n",
        "It ships today.",
    ),
    "only-quoted-lines": ("> only a quote\n>\n> still quoted\n", ""),
    "crlf-and-iphone-footer": ("It ships today.\r\n\r\nSent from my iPhone\r\n", "It ships today."),
    "bare-dash-dash-at-the-end": ("It ships today.\n--\n", "It ships today."),
    "hyphen-list-is-content": (
        "Hi,\nthe steps:\n- open the app\n- tap refund\n\nAlex\n",
        "Hi,\nthe steps:\n- open the app\n- tap refund\n\nAlex",
    ),
    "thanks-opening-a-sentence-is-content": (
        "Hi Anna,\n\nThanks, your refund is on its way.\nIt arrives Friday.\n",
        "Hi Anna,\n\nThanks, your refund is on its way.\nIt arrives Friday.",
    ),
    "sign-off-then-signature": (
        "Hi Anna,\n\nIt arrives Friday.\n\nBest regards,\nAlex\nDemo Store\n",
        "Hi Anna,\n\nIt arrives Friday.",
    ),
    "gmail-and-outlook-image-placeholders": (
        "[image: logo.png]\nIt ships today.\n[cid:image001.png@01DA0000.00000000]\n",
        "It ships today.",
    ),
    "zero-width-space-and-blank-lines": (
        "Hi!\n\n\n\nIt ships.\n\u200b\n\n\n\n\n",
        "Hi!\n\nIt ships.",
    ),
    "de-iphone-footer": ("Das Paket ist da.\n\nVon meinem iPhone gesendet\n", "Das Paket ist da."),
    "fr-iphone-footer": ("Le colis est arrivé.\n\nEnvoyé de mon iPhone\n", "Le colis est arrivé."),
    "pl-iphone-footer": ("Paczka dotarła.\n\nWysłane z iPhone'a\n", "Paczka dotarła."),
    "es-gmail-header": (
        "Ya llegó.\n\nEl lun, 23 nov 2026 a las 10:00, Demo Store (<support@demo.test>) "
        "escribió:\n> ¿Dónde está mi pedido?\n",
        "Ya llegó.",
    ),
    "cs-gmail-header": (
        "Už dorazilo.\n\npo 23. 11. 2026 v 10:00 odesílatel Demo Store <support@demo.test> "
        "napsal:\n> Kde je moje objednávka?\n",
        "Už dorazilo.",
    ),
    "ar-quote-header": (
        "وصل الطلب.\n\nفي الاثنين، 23 نوفمبر 2026 في 10:00 ص، كتب Demo Store "
        "<support@demo.test>:\n> أين طلبي؟\n",
        "وصل الطلب.",
    ),
    "fa-quote-header": (
        "سفارش رسید.\n\nدر تاریخ دوشنبه ۲۳ نوامبر ۲۰۲۶ Demo Store <support@demo.test> نوشت:\n"
        "> سفارش من کجاست؟\n",
        "سفارش رسید.",
    ),
    "mutt-header": (
        "Thanks, fixed.\n\n* Demo Store <support@demo.test> [2026-11-23 10:00]:\n> Broken?\n",
        "Thanks, fixed.",
    ),
    "address-and-colon-in-an-answer-is-content": (
        "Please send photos to returns <returns@demo.test>:\n- front\n- back\n",
        "Please send photos to returns <returns@demo.test>:\n- front\n- back",
    ),
    "sent-from-without-a-device-is-content": (
        "Your parcel left today.\nSent from our Berlin warehouse\n",
        "Your parcel left today.\nSent from our Berlin warehouse",
    ),
    "header-wrapped-after-angle-bracket": (
        "Ya llegó.\n\nEl lun, 23 nov 2026 a las 10:00, Demo Store (<\nsupport@demo.test>) "
        "escribió:\n> ¿Dónde está mi pedido?\n",
        "Ya llegó.",
    ),
}


@pytest.mark.parametrize(("text", "expected"), OWN_CASES.values(), ids=OWN_CASES.keys())
def test_rules_around_the_library(text: str, expected: str) -> None:
    assert visible_reply(text) == expected
