"""The words of an automatic answer: an order's state in plain language, or the store's own
answer, each ending with how to reach a person, in the eight built-in languages.

The answer flow turns the shop's orders into `OrderFacts` (so this module needs nothing
from the shop adapters) and says nothing where the facts are not certain: an order whose
state we cannot read, or whose delivery failed, goes to a person instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from chalicelib.domain.locale_format import local_pieces

State = Literal["unfulfilled", "shipped", "delivered", "cancelled", "refunded", "unknown"]
Progress = Literal["in_transit", "delayed", "out_for_delivery", "ready_for_pickup", "problem"]
MAX_LISTED = 3


@dataclass(frozen=True)
class OrderFacts:
    """What a customer may be told about one of their orders."""

    number: str
    created_at: datetime
    state: State
    carrier: str | None = None
    tracking_url: str | None = None
    tracking_number: str | None = None
    estimated_delivery: datetime | None = None
    delivered_at: datetime | None = None
    progress: Progress = "in_transit"


_W = Mapping[str, str]
_WORDS: Mapping[str, _W] = {
    "en": {
        "unfulfilled": "Order #{number} has not shipped yet.",
        "in_transit": "Order #{number} is on its way{carrier}.",
        "delayed": "Order #{number} is on its way{carrier}, but the carrier reports a delay.",
        "out_for_delivery": "Order #{number} is out for delivery{carrier}.",
        "ready_for_pickup": "Order #{number} is ready for pickup{carrier}.",
        "delivered": "Order #{number} was delivered on {date}.",
        "cancelled": "Order #{number} was cancelled.",
        "refunded": "Order #{number} was refunded.",
        "carrier": " with {carrier}",
        "expected": "Expected delivery: {date}.",
        "tracking": "Track it: {url}",
        "tracking_number": "Tracking number: {code}",
        "list": "Your recent orders:",
        "agent": "Reply AGENT to talk to our team.",
    },
    "cs": {
        "unfulfilled": "Objednávka č. {number} zatím nebyla odeslána.",
        "in_transit": "Objednávka č. {number} je na cestě{carrier}.",
        "delayed": "Objednávka č. {number} je na cestě{carrier}, dopravce ale hlásí zpoždění.",
        "out_for_delivery": "Objednávka č. {number} je dnes na cestě k vám{carrier}.",
        "ready_for_pickup": "Objednávka č. {number} je připravena k vyzvednutí{carrier}.",
        "delivered": "Objednávka č. {number} byla doručena {date}.",
        "cancelled": "Objednávka č. {number} byla zrušena.",
        "refunded": "Za objednávku č. {number} byly vráceny peníze.",
        "carrier": " (dopravce {carrier})",
        "expected": "Předpokládané doručení: {date}.",
        "tracking": "Sledování zásilky: {url}",
        "tracking_number": "Číslo zásilky: {code}",
        "list": "Vaše poslední objednávky:",
        "agent": "Chcete-li mluvit s naším týmem, odpovězte AGENT.",
    },
    "pl": {
        "unfulfilled": "Zamówienie nr {number} nie zostało jeszcze wysłane.",
        "in_transit": "Zamówienie nr {number} jest w drodze{carrier}.",
        "delayed": "Zamówienie nr {number} jest w drodze{carrier}, ale przewoźnik zgłasza "
        "opóźnienie.",
        "out_for_delivery": "Zamówienie nr {number} jest dziś w doręczeniu{carrier}.",
        "ready_for_pickup": "Zamówienie nr {number} czeka na odbiór{carrier}.",
        "delivered": "Zamówienie nr {number} zostało doręczone {date}.",
        "cancelled": "Zamówienie nr {number} zostało anulowane.",
        "refunded": "Za zamówienie nr {number} zwrócono pieniądze.",
        "carrier": " (przewoźnik {carrier})",
        "expected": "Przewidywana dostawa: {date}.",
        "tracking": "Śledzenie przesyłki: {url}",
        "tracking_number": "Numer przesyłki: {code}",
        "list": "Twoje ostatnie zamówienia:",
        "agent": "Odpisz AGENT, aby porozmawiać z naszym zespołem.",
    },
    "de": {
        "unfulfilled": "Bestellung Nr. {number} wurde noch nicht versandt.",
        "in_transit": "Bestellung Nr. {number} ist unterwegs{carrier}.",
        "delayed": "Bestellung Nr. {number} ist unterwegs{carrier}, der Versanddienst meldet "
        "jedoch eine Verzögerung.",
        "out_for_delivery": "Bestellung Nr. {number} wird heute zugestellt{carrier}.",
        "ready_for_pickup": "Bestellung Nr. {number} liegt zur Abholung bereit{carrier}.",
        "delivered": "Bestellung Nr. {number} wurde am {date} zugestellt.",
        "cancelled": "Bestellung Nr. {number} wurde storniert.",
        "refunded": "Bestellung Nr. {number} wurde erstattet.",
        "carrier": " (Versand mit {carrier})",
        "expected": "Voraussichtliche Zustellung: {date}.",
        "tracking": "Sendungsverfolgung: {url}",
        "tracking_number": "Sendungsnummer: {code}",
        "list": "Ihre letzten Bestellungen:",
        "agent": "Antworten Sie AGENT, um mit unserem Team zu sprechen.",
    },
    "fr": {
        "unfulfilled": "La commande n° {number} n'a pas encore été expédiée.",
        "in_transit": "La commande n° {number} est en route{carrier}.",
        "delayed": "La commande n° {number} est en route{carrier}, mais le transporteur "
        "signale un retard.",
        "out_for_delivery": "La commande n° {number} est en cours de livraison{carrier}.",
        "ready_for_pickup": "La commande n° {number} est prête à être retirée{carrier}.",
        "delivered": "La commande n° {number} a été livrée le {date}.",
        "cancelled": "La commande n° {number} a été annulée.",
        "refunded": "La commande n° {number} a été remboursée.",
        "carrier": " (transporteur {carrier})",
        "expected": "Livraison prévue : {date}.",
        "tracking": "Suivi : {url}",
        "tracking_number": "Numéro de suivi : {code}",
        "list": "Vos dernières commandes :",
        "agent": "Répondez AGENT pour parler à notre équipe.",
    },
    "es": {
        "unfulfilled": "El pedido n.º {number} aún no se ha enviado.",
        "in_transit": "El pedido n.º {number} está en camino{carrier}.",
        "delayed": "El pedido n.º {number} está en camino{carrier}, pero el transportista "
        "informa de un retraso.",
        "out_for_delivery": "El pedido n.º {number} está en reparto hoy{carrier}.",
        "ready_for_pickup": "El pedido n.º {number} está listo para recoger{carrier}.",
        "delivered": "El pedido n.º {number} se entregó el {date}.",
        "cancelled": "El pedido n.º {number} se canceló.",
        "refunded": "El pedido n.º {number} se reembolsó.",
        "carrier": " (transportista {carrier})",
        "expected": "Entrega prevista: {date}.",
        "tracking": "Seguimiento: {url}",
        "tracking_number": "Número de seguimiento: {code}",
        "list": "Sus últimos pedidos:",
        "agent": "Responda AGENTE para hablar con nuestro equipo.",
    },
    "ar": {
        "unfulfilled": "لم يتم شحن الطلب رقم {number} بعد.",
        "in_transit": "الطلب رقم {number} في الطريق إليك{carrier}.",
        "delayed": "الطلب رقم {number} في الطريق إليك{carrier}، لكن شركة الشحن أبلغت عن تأخير.",
        "out_for_delivery": "الطلب رقم {number} خرج للتوصيل اليوم{carrier}.",
        "ready_for_pickup": "الطلب رقم {number} جاهز للاستلام{carrier}.",
        "delivered": "تم توصيل الطلب رقم {number} في {date}.",
        "cancelled": "تم إلغاء الطلب رقم {number}.",
        "refunded": "تم استرداد مبلغ الطلب رقم {number}.",
        "carrier": " (شركة الشحن {carrier})",
        "expected": "موعد التوصيل المتوقع: {date}.",
        "tracking": "تتبع الشحنة: {url}",
        "tracking_number": "رقم التتبع: {code}",
        "list": "طلباتك الأخيرة:",
        "agent": "للتحدث مع فريقنا، أرسل كلمة موظف.",
    },
    "fa": {
        "unfulfilled": "سفارش شماره {number} هنوز ارسال نشده است.",
        "in_transit": "سفارش شماره {number} در راه است{carrier}.",
        "delayed": "سفارش شماره {number} در راه است{carrier}، اما شرکت حمل تأخیر گزارش کرده است.",
        "out_for_delivery": "سفارش شماره {number} امروز در حال تحویل است{carrier}.",
        "ready_for_pickup": "سفارش شماره {number} آماده تحویل گرفتن است{carrier}.",
        "delivered": "سفارش شماره {number} در {date} تحویل داده شد.",
        "cancelled": "سفارش شماره {number} لغو شد.",
        "refunded": "مبلغ سفارش شماره {number} بازپرداخت شد.",
        "carrier": " (شرکت حمل {carrier})",
        "expected": "تاریخ تقریبی تحویل: {date}.",
        "tracking": "پیگیری مرسوله: {url}",
        "tracking_number": "کد رهگیری: {code}",
        "list": "سفارش‌های اخیر شما:",
        "agent": "برای گفتگو با تیم ما، کلمه اپراتور را بفرستید.",
    },
}
LANGUAGES = frozenset(_WORDS)
FALLBACK = "en"


def words_for(language: str | None, default: str) -> tuple[str, _W]:
    """The language we can write: the asked one, else the store's, else English."""
    for candidate in (language, default.split("_")[0].split("-")[0], FALLBACK):
        if candidate is not None and candidate in _WORDS:
            return candidate, _WORDS[candidate]
    raise AssertionError("English is always there")


def with_person_line(text: str, language: str, default: str) -> str:
    """Every automatic answer ends with how to reach a person, in the answer's language."""
    _, words = words_for(language, default)
    return f"{text.rstrip()}\n\n{words['agent']}"


def order_sentence(order: OrderFacts, words: _W, language: str, timezone: str) -> str | None:
    """One order's state in one or a few sentences; None where we cannot say it for sure."""

    def day(at: datetime) -> str:
        local = at.astimezone(ZoneInfo(timezone))
        return local_pieces(local, language, timezone).date

    carrier = words["carrier"].format(carrier=order.carrier) if order.carrier else ""
    if order.state == "shipped":
        if order.progress == "problem":
            return None  # a failed delivery attempt needs a person, not a status line
        parts = [words[order.progress].format(number=order.number, carrier=carrier)]
        if order.estimated_delivery and order.progress in ("in_transit", "delayed"):
            parts.append(words["expected"].format(date=day(order.estimated_delivery)))
        if order.tracking_url:
            parts.append(words["tracking"].format(url=order.tracking_url))
        elif order.tracking_number:
            parts.append(words["tracking_number"].format(code=order.tracking_number))
        return " ".join(parts)
    if order.state == "delivered":
        if order.delivered_at is None:
            return None
        return words["delivered"].format(number=order.number, date=day(order.delivered_at))
    if order.state in ("unfulfilled", "cancelled", "refunded"):
        return words[order.state].format(number=order.number)
    return None


def order_status_answer(
    orders: Sequence[OrderFacts], *, language: str | None, default: str, timezone: str
) -> tuple[str, str] | None:
    """(language, text) for one order, or a short list (newest first, at most three);
    None if any order's state is not certain: then a person answers instead."""
    if not orders:
        return None
    written, words = words_for(language, default)
    newest = sorted(orders, key=lambda o: o.created_at, reverse=True)[:MAX_LISTED]
    sentences = [order_sentence(order, words, written, timezone) for order in newest]
    if any(sentence is None for sentence in sentences):
        return None
    if len(sentences) == 1:
        body = str(sentences[0])
    else:
        body = "\n".join([words["list"], *(f"- {s}" for s in sentences)])
    return written, with_person_line(body, written, default)
