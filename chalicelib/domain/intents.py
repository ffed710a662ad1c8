"""What a customer's message asks for, decided before anything is answered automatically.

`decide` names one of: an order's status (WISMO), one of the store's own answers, a
hand-off to a person (asked for one, or unhappy), or nothing. It prefers silence to a
wrong answer, in this order:

1. A request for a person (AGENT, člověk, Mensch, موظف, ..., or "talk to someone")
   wins over everything.
2. A complaint or a specific problem ("the parcel arrived damaged", "my refund has not
   arrived") goes to a person, even if it also mentions what a general answer covers.
3. A request to change something (cancel, change the address, add an item) is for a
   person: an answer about delivery times would be beside the point.
4. The intents (order status and the store's answers) are scored on each language's
   phrases; the best needs a minimum confidence, a margin over the runner-up, and no
   word of its own next to a negation; a runner-up that explains words the best does
   not (two questions in one message) makes the message ambiguous. Where an order
   number is named, a word about shipping ("sent", "raus", "partie") is enough to ask
   for that order's status.

Matching folds case, diacritics and Arabic letter variants, stems with Snowball
(imported on first use, never on the webhook's path), accepts a stem as a prefix of an
inflected word, and forgives a typo in longer words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

from chalicelib.domain import intent_words as words
from chalicelib.domain.answers import StoreAnswer
from chalicelib.domain.language import detect_language

Decision = Literal["answer", "handoff", "none"]

ORDER_STATUS = "order_status"
# Below this, nothing is answered automatically.
MIN_CONFIDENCE = 0.55
# The best candidate must lead the second by this much, or the message is ambiguous.
MIN_MARGIN = 0.2
# Phrase words may stand apart by this many other words ("where is my last order").
WINDOW_SLACK = 4
# Shorter stems match only the very word they came from (Arabic stems are roots of 3).
SHORT_STEM = {"latin": 4, "arabic": 3}
# A stem this long (Latin / Arabic script) may be the start of an inflected word.
_PREFIX_MIN = {"latin": 5, "arabic": 3}
# Typos are forgiven in stems at least this long, at this similarity (0-100): shorter
# words differ by one letter from too many others ("envoi", "renvoi").
FUZZY_MIN_LENGTH = 6
FUZZY_MIN_SCORE = 90.0
# Each content word that no phrase explains costs this share of the confidence.
UNEXPLAINED_DECAY = 0.9

_STEMMERS = {
    "en": "english",
    "cs": "czech",
    "pl": "polish",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "ar": "arabic",
    "fa": "persian",
}
_TOKEN = re.compile(r"[^\W_]+")
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
# Arabic-script letters that customers type interchangeably; tashkeel and tatweel dropped.
_ARABIC_FOLD = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ی",
        "ي": "ی",
        "ك": "ک",
        "ة": "ه",
        "ؤ": "و",
        "ئ": "ی",
        "ـ": None,
    }
)
_TASHKEEL = re.compile("[\u064b-\u0652\u0670]")
_SHOUTING = re.compile(r"[!?]*![!?]*!")


@dataclass(frozen=True)
class IntentDecision:
    """What automation would do with one message, and why (for logs, the CLI, tests)."""

    decision: Decision
    kind: str | None
    """`order_status`, a store answer's id, or None (handoff, none)."""
    language: str | None
    """The language whose phrasing matched; else the detected one; else None."""
    confidence: float | None
    order_numbers: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()


# --- order numbers -----------------------------------------------------------------------

# Words that introduce an order number, folded (see `fold`), in the eight languages.
_ORDER_WORDS = (
    r"orders?|order\s+number|order\s+no|objednavk\w*|objednavce|cislo\s+objednavky|"
    r"zamowien\w*|numer\s+zamowienia|bestell\w*|bestellnummer|commande|"
    r"numero\s+de\s+commande|pedido|numero\s+de\s+pedido|الطلب|طلب|طلبی|سفارش\w*"
)
_NUMBER_MARK = r"(?:\s*(?:#|no\.?|nr\.?|n°|n\.|c\.|cislo|numero|number|رقم|شماره|:)\s*)*"
_ORDER_NUMBER = re.compile(
    rf"(?:#\s*|(?<![\w])(?:{_ORDER_WORDS}){_NUMBER_MARK}\s*)"
    r"(\d{3,10})(?!\d)(?![.,:/\-]\d)(?!\s*(?:kc|czk|eur|€|\$|usd|zl|pln|chf|ریال|تومان|درهم|ريال))"
)
_LONE_NUMBER = re.compile(r"\s*#?\s*(\d{3,10})\s*[?.!]*\s*")


def extract_order_numbers(text: str) -> tuple[str, ...]:
    """Order numbers named in `text`, in order, each once ("#1042", "objednávka 1042").

    Only a number introduced by `#` or an order word counts, or a message that is
    nothing but a number: a bare number elsewhere is as likely a phone number, a price,
    a date or a quantity, and naming the wrong order is worse than asking.
    """
    folded = fold(text)
    found: list[str] = []
    if lone := _LONE_NUMBER.fullmatch(folded):
        found.append(lone.group(1))
    for match in _ORDER_NUMBER.finditer(folded):
        start = match.start(1)
        # "+420 777 1042", "tel. 777123456": digits glued to a phone number are not ours.
        before = folded[max(0, match.start() - 2) : match.start()]
        if "+" in before or (before[-1:].isdigit() if before else False):
            continue
        if folded[start - 1 : start] == "+":
            continue
        number = match.group(1)
        if number not in found:
            found.append(number)
    return tuple(found)


# --- text preparation --------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower case without diacritics, with one spelling of each Arabic-script letter.

    SMS is often typed without diacritics ("objednavka") and Arabic and Persian
    keyboards differ in ی/ي and ک/ك: a phrase must match however it was typed.
    """
    text = unicodedata.normalize("NFC", text).casefold().translate(_DIGITS)
    text = text.replace("\u200c", " ").replace("\u200f", "").replace("\u200e", "")
    text = _TASHKEEL.sub("", text).translate(_ARABIC_FOLD)
    decomposed = unicodedata.normalize("NFD", text)
    # Strip combining marks from Latin letters only: Arabic-script letters keep their
    # hamza and dots (NFD would split آ into ا and a mark, which is fine, but not پ).
    kept = [
        ch for ch in decomposed if not (unicodedata.combining(ch) and "\u0300" <= ch <= "\u036f")
    ]
    return unicodedata.normalize("NFC", "".join(kept)).replace("ł", "l").replace("ß", "ss")


def tokens(text: str) -> list[str]:
    """Folded words, digits apart ("#1042" -> "1042"; "d'ouverture" -> "d", "ouverture")."""
    return _TOKEN.findall(fold(text))


@cache
def _stemmer(language: str) -> Callable[[str], str]:
    import snowballstemmer  # only when a message is matched

    stemmer = snowballstemmer.stemmer(_STEMMERS[language])
    return stemmer.stemWord  # type: ignore[no-any-return]


@cache
def _stem(language: str, token: str) -> str:
    if token.isdigit():
        return token
    return _stemmer(language)(token)


@cache
def _phrase_stems(language: str, phrase: str) -> tuple[tuple[str, str], ...]:
    """(folded word, stem) for each word of a phrase."""
    return tuple((token, _stem(language, token)) for token in tokens(phrase))


def _is_arabic(token: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in token)


def _similar(a: str, b: str) -> bool:
    """Levenshtein-like similarity (difflib's ratio) of at least FUZZY_MIN_SCORE.

    rapidfuzz would be faster, but its current wheels need a newer glibc than Lambda's
    Python 3.11 runtime has; the cheap upper bounds first keep difflib's cost small.
    """
    from difflib import SequenceMatcher  # only when a message is matched

    threshold = FUZZY_MIN_SCORE / 100
    if 2 * min(len(a), len(b)) / (len(a) + len(b)) < threshold:
        return False
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return (
        matcher.real_quick_ratio() >= threshold
        and matcher.quick_ratio() >= threshold
        and matcher.ratio() >= threshold
    )


def _token_matches(word: str, wanted: str, token: str, stem: str) -> bool:
    """Does the message word (`token`, its `stem`) match the phrase's `word` (its stem
    `wanted`)? A stem shorter than 4 letters must be the very word: the German stem of
    "ändern" is "and", which is not a request to change anything in English."""
    if token == word:
        return True
    script = "arabic" if _is_arabic(wanted) else "latin"
    if len(wanted) < SHORT_STEM[script]:
        return False
    if stem == wanted or token == wanted:
        return True
    if len(wanted) >= _PREFIX_MIN[script] and (token.startswith(wanted) or stem.startswith(wanted)):
        return True
    return (
        len(stem) >= FUZZY_MIN_LENGTH
        and len(wanted) >= FUZZY_MIN_LENGTH
        and not token.isdigit()
        and _similar(stem, wanted)
    )


@dataclass(frozen=True)
class _Text:
    """A message prepared for one language: its words, their stems, and its content."""

    language: str
    words: tuple[str, ...]
    stems: tuple[str, ...]
    content: frozenset[int]
    """Positions of the words that carry meaning (not filler, not numbers)."""

    @classmethod
    def of(cls, language: str, folded_words: Sequence[str]) -> _Text:
        filler = _folded_set(language, "filler")
        stems = tuple(_stem(language, w) for w in folded_words)
        content = frozenset(
            i for i, w in enumerate(folded_words) if w not in filler and not w.isdigit()
        )
        return cls(language, tuple(folded_words), stems, content)

    def find(self, phrase: str) -> tuple[int, ...] | None:
        """Positions of the phrase's words, all within a short window, or None."""
        wanted = _phrase_stems(self.language, phrase)
        if not wanted:
            return None
        span = len(wanted) + WINDOW_SLACK
        candidates = [
            [
                i
                for i, (w, s) in enumerate(zip(self.words, self.stems, strict=True))
                if _token_matches(word, stem, w, s)
            ]
            for word, stem in wanted
        ]
        if any(not c for c in candidates):
            return None
        for start in candidates[0]:
            chosen = _within(candidates, start, span)
            if chosen is not None:
                return chosen
        return None


def _within(candidates: list[list[int]], anchor: int, span: int) -> tuple[int, ...] | None:
    chosen = [anchor]
    for positions in candidates[1:]:
        near = [p for p in positions if abs(p - anchor) < span and p not in chosen]
        if not near:
            return None
        chosen.append(min(near, key=lambda p: abs(p - anchor)))
    if max(chosen) - min(chosen) >= span:
        return None
    return tuple(chosen)


@cache
def _folded_set(language: str, which: str) -> frozenset[str]:
    source = words.FILLER if which == "filler" else words.NEGATIONS
    return frozenset(fold(w) for w in source.get(language, frozenset()))


# --- candidates ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    kind: str
    language: str
    confidence: float
    covered: frozenset[int]
    phrase: str


def _score(text: _Text, kind: str, phrases: Iterable[str]) -> _Candidate | None:
    """How well `phrases` explain the message in one language (None: not at all).

    Confidence = specificity of the longest matched phrase (one word 0.7, two 0.85,
    three or more 1.0) x 0.9 for each content word that no phrase explains: a long
    message that mentions a keyword in passing stays below the threshold, a short
    question with one telling word does not.
    """
    covered: set[int] = set()
    longest = 0
    best_phrase = ""
    for phrase in phrases:
        found = text.find(phrase)
        if found is None:
            continue
        covered.update(found)
        if len(found) > longest:
            longest, best_phrase = len(found), phrase
    if not covered:
        return None
    specificity = min(1.0, 0.55 + 0.15 * longest)
    unexplained = len(text.content - covered)
    confidence = round(specificity * UNEXPLAINED_DECAY**unexplained, 3)
    return _Candidate(kind, text.language, confidence, frozenset(covered), best_phrase)


def _negated(text: _Text, positions: Iterable[int]) -> bool:
    negations = _folded_set(text.language, "negations")
    for p in positions:
        for q in (p - 1, p + 1):
            if 0 <= q < len(text.words) and text.words[q] in negations:
                return True
    return False


def _first_phrase(
    texts: Mapping[str, _Text], lexicon: Mapping[str, Iterable[str]]
) -> tuple[str, str] | None:
    """The first (language, phrase) of `lexicon` found in the message, in any language."""
    for language, phrases in lexicon.items():
        text = texts.get(language)
        if text is None:
            continue
        for phrase in phrases:
            if text.find(phrase) is not None:
                return language, phrase
    return None


def _person_requested(texts: Mapping[str, _Text]) -> list[str]:
    """Languages in which a word asks for a person (not "in person", in any language)."""
    excluded: set[int] = set()
    for language, phrases in words.NOT_A_PERSON.items():
        for phrase in phrases:
            if (found := texts[language].find(phrase)) is not None:
                excluded.update(found)
    languages = []
    for language, people in words.PERSON_WORDS.items():
        text = texts[language]
        folded_people = {fold(p) for p in people}
        if any(w in folded_people for i, w in enumerate(text.words) if i not in excluded):
            languages.append(language)
    return languages


def _closest(text: str, languages: Sequence[str], texts: Mapping[str, _Text]) -> list[str]:
    """Of `languages`, those whose person word was typed as they spell it (diacritics are
    evidence: "operátor" is Czech), then those that leave the fewest words unexplained
    ("operator prosim" is Czech too: "prosim" is a Czech word of politeness)."""
    typed = set(_TOKEN.findall(unicodedata.normalize("NFC", text).casefold()))
    exact = [lang for lang in languages if typed & words.PERSON_WORDS[lang]]
    pool = exact or list(languages)
    fewest = min(len(texts[lang].content) for lang in pool)
    return [lang for lang in pool if len(texts[lang].content) == fewest]


def _language_choice(
    matched: Sequence[str], detected: str | None, hints: Sequence[str | None]
) -> str:
    """Of the languages that matched equally, the one the message or its sender suggests."""
    for preferred in (detected, *hints):
        if preferred is not None and preferred in matched:
            return preferred
    return matched[0]


# --- the decision ----------------------------------------------------------------------------


def decide(
    text: str,
    answers: Sequence[StoreAnswer] = (),
    *,
    previous_language: str | None = None,
    country: str | None = None,
    order_status: bool = True,
    languages: Iterable[str] = words.LANGUAGES,
) -> IntentDecision:
    """What automation should do with `text`: answer (with which kind), hand off, or not.

    `answers` are the store's own; `order_status=False` leaves WISMO out (the store or
    the shop connection is off). `previous_language` (the thread's) and `country` (of
    the sender's number, ISO alpha-2) only break ties between languages that matched
    equally. Pure: the caller checks the shop, the sender and the caps.
    """
    order_numbers = extract_order_numbers(text)
    folded_words = tokens(text)
    if not folded_words:
        return IntentDecision("none", None, None, None, order_numbers, ("nothing to read",))
    detected = detect_language(text)
    hints = (previous_language, words.COUNTRY_LANGUAGE.get((country or "").upper()))
    wanted = [lang for lang in languages if lang in _STEMMERS]
    texts = {lang: _Text.of(lang, folded_words) for lang in words.LANGUAGES}
    fallback_language = detected if detected in wanted else None

    def result(
        decision: Decision,
        kind: str | None,
        language: str | None,
        confidence: float | None,
        *reasons: str,
    ) -> IntentDecision:
        return IntentDecision(decision, kind, language, confidence, order_numbers, reasons)

    if people := _person_requested(texts):
        language = _language_choice(_closest(text, people, texts), detected, hints)
        return result("handoff", None, language, 1.0, f"asks for a person ({language})")
    if someone := _first_phrase(texts, words.HANDOFF_PHRASES):
        language, phrase = someone
        return result("handoff", None, language, 0.9, f"asks for someone: {phrase!r}")
    if _SHOUTING.search(text):
        return result("handoff", None, fallback_language, 0.9, "anger: repeated '!'")
    if complaint := _first_phrase(texts, words.COMPLAINT):
        language, phrase = complaint
        return result("handoff", None, language, 0.8, f"complaint or specific problem: {phrase!r}")
    if action := _first_phrase(texts, words.ACTIONS):
        language, phrase = action
        return result("none", None, language, None, f"asks to change something: {phrase!r}")

    candidates: list[_Candidate] = []
    for language in wanted:
        prepared = texts[language]
        per_kind: list[tuple[str, Iterable[str]]] = []
        if order_status:
            wismo = words.ORDER_STATUS.get(language, ())
            if order_numbers:
                wismo = (*wismo, *words.SHIPPED_WORDS.get(language, ()))
            per_kind.append((ORDER_STATUS, wismo))
        per_kind.extend((a.id, a.phrases.get(language, ())) for a in answers)
        for kind, phrases in per_kind:
            if (found := _score(prepared, kind, phrases)) is not None:
                candidates.append(found)
    if order_status and order_numbers and not candidates and not _has_content(texts, wanted):
        return result(
            "answer", ORDER_STATUS, fallback_language, 0.6, "an order number and nothing else"
        )
    if not candidates:
        return result("none", None, fallback_language, None, "no known question")

    best_per_kind: dict[str, _Candidate] = {}
    for candidate in sorted(
        candidates,
        key=lambda c: (c.confidence, _preference(c.language, detected, hints)),
        reverse=True,
    ):
        best_per_kind.setdefault(candidate.kind, candidate)
    ranked = sorted(best_per_kind.values(), key=lambda c: c.confidence, reverse=True)
    best = ranked[0]
    ties = [
        c.language for c in candidates if c.kind == best.kind and c.confidence == best.confidence
    ]
    language = _language_choice(ties, detected, hints)
    matched = f"{best.kind} ({language}: {best.phrase!r}, {best.confidence:.2f})"
    if best.confidence < MIN_CONFIDENCE:
        return result("none", None, language, best.confidence, f"too unsure: {matched}")
    if len(ranked) > 1:
        second = ranked[1]
        if best.confidence - second.confidence < MIN_MARGIN:
            return result(
                "none",
                None,
                language,
                best.confidence,
                f"ambiguous: {matched} vs {second.kind} ({second.confidence:.2f})",
            )
        if second.language == best.language and second.covered - best.covered:
            return result(
                "none",
                None,
                language,
                best.confidence,
                f"two questions: {matched} and {second.kind}",
            )
    if _negated(texts[best.language], best.covered):
        return result("none", None, language, best.confidence, f"negated: {matched}")
    return result("answer", best.kind, language, best.confidence, f"matched {matched}")


def _preference(language: str, detected: str | None, hints: Sequence[str | None]) -> int:
    """Higher for the detected language, then the hints: orders ties between languages."""
    order = [detected, *hints]
    return len(order) - order.index(language) if language in order else 0


def _has_content(texts: Mapping[str, _Text], languages: Sequence[str]) -> bool:
    """Does the message say anything beyond filler in every language we read it as?"""
    return all(texts[lang].content for lang in languages)
