"""Web chat: the visitor's token, a signed-in customer's identity, what a widget request may
carry, and the widget's own words in the eight built-in languages.

The token is the conversation's only credential: 256 random bits, given to the browser
once and kept in the page's own storage; we store only a hash of it with the store's id,
so that a table read reveals no token and one store's token means nothing at another.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from chalicelib.domain.errors import MalformedRequest, RequestRejected
from chalicelib.domain.messages import WEB_PREFIX

ADDRESS_PREFIX: Final = WEB_PREFIX
"""A web visitor's customer address: `web:` and the hash of their token."""
TOKEN_BYTES: Final = 32
_TOKEN: Final = re.compile(r"^[A-Za-z0-9_-]{43}$")
_CLIENT_ID: Final = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_EMAIL: Final = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$")
_PHONE: Final = re.compile(r"^\+[1-9][0-9]{6,14}$")
_HASH: Final = re.compile(r"^[0-9a-fA-F]{64}$")
RTL_LANGUAGES: Final = frozenset({"ar", "fa"})
MAX_BODY_BYTES: Final = 64 * 1024
"""A widget request is a few kilobytes; anything larger is refused unparsed."""


def new_token() -> str:
    """A fresh visitor token: 256 bits, URL-safe (43 characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_token(value: object) -> bool:
    return isinstance(value, str) and bool(_TOKEN.match(value))


def visitor_address(store_id: str, token: str) -> str:
    """The customer address a token stands for at this store (never the token itself)."""
    digest = hashlib.sha256(f"{store_id}\0{token}".encode()).hexdigest()
    return f"{ADDRESS_PREFIX}{digest[:40]}"


def is_visitor(address: str) -> bool:
    return address.startswith(ADDRESS_PREFIX)


def identity_hash(secret: bytes, email: str) -> str:
    """What the shop's theme computes for a signed-in customer: HMAC-SHA256 (hex) of their
    e-mail, trimmed and lower-cased, under the store's widget secret."""
    return hmac.new(secret, email.strip().lower().encode(), hashlib.sha256).hexdigest()


def verified_email(secret: bytes | None, email: object, given: object) -> str | None:
    """The customer's e-mail when the shop signed it; None (the chat stays anonymous) for a
    missing, malformed or wrong hash, compared in constant time."""
    if secret is None or not isinstance(email, str) or not isinstance(given, str):
        return None
    email = email.strip().lower()
    if not _EMAIL.match(email) or not _HASH.match(given):
        return None
    return email if hmac.compare_digest(identity_hash(secret, email), given.lower()) else None


def parse_contact(value: object, *, phones_allowed: bool) -> str | None:
    """The optional 'where should we send the answer' field: an e-mail or an E.164 phone."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 254:
        raise MalformedRequest("contact: an e-mail address or a phone number (+ and digits)")
    text = value.strip()
    if _EMAIL.match(text):
        return text.lower()
    phone = re.sub(r"[\s().-]", "", text)
    if _PHONE.match(phone):
        if not phones_allowed:
            raise MalformedRequest("contact: this store answers by e-mail only; give an e-mail")
        return phone
    raise MalformedRequest(
        "contact: not an e-mail address or an international phone number (+420 777 123 456)"
    )


@dataclass(frozen=True)
class ChatMessage:
    """A visitor's message, checked: what the flow may store."""

    token: str
    client_id: str
    text: str
    contact: str | None
    language: str | None
    email: object
    email_hash: object


def language_of(value: object, supported: frozenset[str]) -> str | None:
    """The browser's language ('ar-EG' -> 'ar') when it is one we write; else None."""
    if not isinstance(value, str):
        return None
    base = value.strip().lower().replace("_", "-").split("-")[0][:8]
    return base if base in supported else None


_DROPPED: Final = frozenset({"Cc", "Cs", "Co", "Cn"})


def _clean(text: str) -> str:
    """No control characters but line breaks and tabs; normalised, trimmed."""
    text = unicodedata.normalize("NFC", text)
    # Format characters (Cf) stay: Persian needs the zero-width non-joiner, RTL text marks.
    kept = (ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in _DROPPED)
    return "".join(kept).strip()


def parse_message(
    payload: Mapping[str, object],
    *,
    max_chars: int,
    phones_allowed: bool,
    supported: frozenset[str],
) -> ChatMessage:
    """A send request's fields, or MalformedRequest saying which is wrong."""
    if payload.get("website"):
        # The honeypot: a field the widget hides from people; a form-filling bot fills it.
        raise MalformedRequest("website: this field must be left empty")
    token = payload.get("token")
    if not is_token(token):
        raise MalformedRequest("token: the conversation token from /session is required")
    client_id = payload.get("id")
    if not isinstance(client_id, str) or not _CLIENT_ID.match(client_id):
        raise MalformedRequest("id: 8 to 64 letters, digits, - or _ naming this message")
    text = payload.get("text")
    if not isinstance(text, str):
        raise MalformedRequest("text: the message is required")
    text = _clean(text)
    if not text:
        raise MalformedRequest("text: the message is empty")
    if len(text) > max_chars:
        raise MalformedRequest(f"text: at most {max_chars} characters, got {len(text)}")
    assert isinstance(token, str)
    return ChatMessage(
        token=token,
        client_id=client_id,
        text=text,
        contact=parse_contact(payload.get("contact"), phones_allowed=phones_allowed),
        language=language_of(payload.get("language"), supported),
        email=payload.get("email"),
        email_hash=payload.get("hash"),
    )


def ip_key(store_id: str, ip: str) -> str:
    """A counter's key for a visitor's IP address: hashed, never stored as it is."""
    return hashlib.sha256(f"{store_id}\0{ip}".encode()).hexdigest()[:24]


# The widget's words. `title`/`greeting` are defaults a store overrides per language.
WORDS: Final[Mapping[str, Mapping[str, str]]] = {
    "en": {
        "title": "Questions? Write to us",
        "greeting": "Hi! Write your question and we will tell you at once when a person "
        "will answer. You can close this page: the answer waits here for you.",
        "placeholder": "Your message",
        "contact": "Where should we send the answer if you leave? (e-mail or phone, optional)",
        "send": "Send",
        "open": "Chat with us",
        "close": "Close chat",
        "unread": "New reply",
        "you": "You",
        "sending": "Sending…",
        "failed": "Your message could not be sent. Please try again.",
        "limited": "You have sent a lot of messages. Please wait a little and try again.",
    },
    "cs": {
        "title": "Máte otázku? Napište nám",
        "greeting": "Dobrý den! Napište nám svůj dotaz a hned vám řekneme, kdy vám odpoví "
        "člověk. Stránku můžete zavřít: odpověď tu na vás počká.",
        "placeholder": "Vaše zpráva",
        "contact": "Kam vám máme poslat odpověď, když odejdete? (e-mail nebo telefon, nepovinné)",
        "send": "Odeslat",
        "open": "Napište nám",
        "close": "Zavřít chat",
        "unread": "Nová odpověď",
        "you": "Vy",
        "sending": "Odesílá se…",
        "failed": "Zprávu se nepodařilo odeslat. Zkuste to prosím znovu.",
        "limited": "Poslali jste hodně zpráv. Chvíli prosím počkejte a zkuste to znovu.",
    },
    "pl": {
        "title": "Masz pytanie? Napisz do nas",
        "greeting": "Dzień dobry! Napisz pytanie, a od razu powiemy, kiedy odpowie ci "
        "człowiek. Możesz zamknąć stronę: odpowiedź będzie tu na ciebie czekać.",
        "placeholder": "Twoja wiadomość",
        "contact": "Gdzie wysłać odpowiedź, jeśli wyjdziesz? (e-mail lub telefon, opcjonalnie)",
        "send": "Wyślij",
        "open": "Napisz do nas",
        "close": "Zamknij czat",
        "unread": "Nowa odpowiedź",
        "you": "Ty",
        "sending": "Wysyłanie…",
        "failed": "Nie udało się wysłać wiadomości. Spróbuj ponownie.",
        "limited": "Wysłano wiele wiadomości. Poczekaj chwilę i spróbuj ponownie.",
    },
    "de": {
        "title": "Fragen? Schreiben Sie uns",
        "greeting": "Hallo! Schreiben Sie uns Ihre Frage, und wir sagen Ihnen sofort, wann "
        "ein Mensch antwortet. Sie können die Seite schließen: die Antwort wartet hier.",
        "placeholder": "Ihre Nachricht",
        "contact": "Wohin sollen wir die Antwort schicken, wenn Sie gehen? (E-Mail oder "
        "Telefon, optional)",
        "send": "Senden",
        "open": "Schreiben Sie uns",
        "close": "Chat schließen",
        "unread": "Neue Antwort",
        "you": "Sie",
        "sending": "Wird gesendet…",
        "failed": "Die Nachricht konnte nicht gesendet werden. Bitte versuchen Sie es erneut.",
        "limited": "Sie haben viele Nachrichten gesendet. Bitte warten Sie kurz.",
    },
    "fr": {
        "title": "Une question ? Écrivez-nous",
        "greeting": "Bonjour ! Écrivez votre question : nous vous dirons tout de suite "
        "quand une personne vous répondra. Vous pouvez fermer la page : la réponse vous "
        "attendra ici.",
        "placeholder": "Votre message",
        "contact": "Où envoyer la réponse si vous partez ? (e-mail ou téléphone, facultatif)",
        "send": "Envoyer",
        "open": "Écrivez-nous",
        "close": "Fermer le chat",
        "unread": "Nouvelle réponse",
        "you": "Vous",
        "sending": "Envoi…",
        "failed": "Le message n'a pas pu être envoyé. Veuillez réessayer.",
        "limited": "Vous avez envoyé beaucoup de messages. Patientez un peu, puis réessayez.",
    },
    "es": {
        "title": "¿Preguntas? Escríbenos",
        "greeting": "¡Hola! Escribe tu pregunta y te diremos enseguida cuándo te responderá "
        "una persona. Puedes cerrar la página: la respuesta te esperará aquí.",
        "placeholder": "Tu mensaje",
        "contact": "¿Dónde te enviamos la respuesta si te vas? (correo o teléfono, opcional)",
        "send": "Enviar",
        "open": "Escríbenos",
        "close": "Cerrar chat",
        "unread": "Nueva respuesta",
        "you": "Tú",
        "sending": "Enviando…",
        "failed": "No se pudo enviar el mensaje. Inténtalo de nuevo.",
        "limited": "Has enviado muchos mensajes. Espera un poco e inténtalo de nuevo.",
    },
    "ar": {
        "title": "لديك سؤال؟ راسلنا",
        "greeting": "مرحبًا! اكتب سؤالك وسنخبرك فورًا متى سيرد عليك أحد موظفينا. "
        "يمكنك إغلاق الصفحة: سيبقى الرد هنا بانتظارك.",
        "placeholder": "رسالتك",
        "contact": "أين نرسل الرد إذا غادرت؟ (بريد إلكتروني أو هاتف، اختياري)",
        "send": "إرسال",
        "open": "راسلنا",
        "close": "إغلاق المحادثة",
        "unread": "رد جديد",
        "you": "أنت",
        "sending": "جارٍ الإرسال…",
        "failed": "تعذّر إرسال رسالتك. يُرجى المحاولة مرة أخرى.",
        "limited": "لقد أرسلت رسائل كثيرة. يُرجى الانتظار قليلًا ثم المحاولة مجددًا.",
    },
    "fa": {
        "title": "سؤالی دارید؟ برای ما بنویسید",
        "greeting": "سلام! سؤال خود را بنویسید تا همین حالا بگوییم چه زمانی یکی از همکاران "
        "ما پاسخ می‌دهد. می‌توانید صفحه را ببندید: پاسخ اینجا منتظر شماست.",
        "placeholder": "پیام شما",
        "contact": "اگر رفتید، پاسخ را کجا بفرستیم؟ (ایمیل یا تلفن، اختیاری)",
        "send": "ارسال",
        "open": "برای ما بنویسید",
        "close": "بستن گفتگو",
        "unread": "پاسخ جدید",
        "you": "شما",
        "sending": "در حال ارسال…",
        "failed": "پیام شما ارسال نشد. لطفاً دوباره تلاش کنید.",
        "limited": "پیام‌های زیادی فرستاده‌اید. لطفاً کمی صبر کنید و دوباره تلاش کنید.",
    },
}
LANGUAGES: Final = frozenset(WORDS)


def widget_words(
    language: str, title: Mapping[str, str], greeting: Mapping[str, str], default: str
) -> dict[str, str]:
    """The panel's words in `language`, with the store's own title and greeting where it
    wrote them (for that language, else the store's default language's own words)."""
    words = dict(WORDS.get(language) or WORDS["en"])
    if text := title.get(language):
        words["title"] = text
    if (text := greeting.get(language)) or (
        language == default and (text := greeting.get(default))
    ):
        words["greeting"] = text
    return words


class OverCap(RequestRejected):
    """A visitor or the store sent as many messages as the store allows this hour."""

    status = 429
