"""The built-in vocabulary of automatic answers, per language (en cs pl de fr es ar fa).

Phrases are matched after folding (case, diacritics, Arabic letter variants) and
stemming, in any order within a short window (see `chalicelib.domain.intents`), so each
entry names the words that must all be there, not a whole sentence. Lists are written
from how customers ask, not fitted to a test set: a missed phrasing costs an
acknowledgement, a wrong one costs trust, so the lists lean to the specific.
"""

from __future__ import annotations

from collections.abc import Mapping


def _phrases(text: str) -> tuple[str, ...]:
    """'a b, c, d e' -> ('a b', 'c', 'd e'): one phrase between commas."""
    return tuple(" ".join(p.split()) for p in text.split(",") if p.strip())


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _pairs(text: str) -> dict[str, str]:
    """'CZ:cs PL:pl' -> {'CZ': 'cs', 'PL': 'pl'}."""
    return dict(pair.split(":", 1) for pair in text.split())


LANGUAGES: tuple[str, ...] = ("en", "cs", "pl", "de", "fr", "es", "ar", "fa")

# "Where is my order?": asks for the state of an order, its delivery or its tracking.
ORDER_STATUS: Mapping[str, tuple[str, ...]] = {
    "en": _phrases(
        """
        where order, where package, where parcel, where shipment, where delivery,
        order status, status order, package status, delivery status, when order
        arrive, when package arrive, when parcel arrive, when order come, when order
        delivered, when package delivered, when parcel delivered, order shipped,
        order dispatched, package shipped, order sent, order on way, package on way,
        parcel on way, track order, track package, track parcel, track shipment,
        tracking number, tracking link, tracking code, update order, update
        delivery, update package, news order, news delivery, when arrive, when show
        up, when get my order, when get my package, when receive order, when receive
        package, when expect, expect my order, expect my package
        """
    ),
    "cs": _phrases(
        """
        kde objednávka, kde balík, kde zásilka, kde balíček, stav objednávky, stav
        zásilky, kdy přijde objednávka, kdy přijde balík, kdy přijde zásilka, kdy
        dorazí objednávka, kdy dorazí balík, kdy dorazí zásilka, kdy doručen balík,
        kdy doručena objednávka, kdy doručena zásilka, odeslána objednávka, odeslali
        objednávku, objednávka na cestě, balík na cestě, zásilka na cestě, sledovat
        zásilku, sledovat balík, sledovat objednávku, číslo zásilky, sledovací
        číslo, jak vypadá objednávka, co objednávka, kdy dorazí, kdy přijde, kdy to
        přijde, kdy mi to přijde, kdy dostanu, kdy doručíte, kdy čekat balík
        """
    ),
    "pl": _phrases(
        """
        gdzie zamówienie, gdzie paczka, gdzie przesyłka, status zamówienia, status
        przesyłki, kiedy dotrze zamówienie, kiedy dotrze paczka, kiedy dotrze
        przesyłka, kiedy przyjdzie paczka, kiedy przyjdzie przesyłka, kiedy
        przyjdzie zamówienie, kiedy dostarczona paczka, kiedy dostarczone
        zamówienie, kiedy dostarczona przesyłka, zamówienie wysłane, zamówienie w
        drodze, paczka w drodze, przesyłka w drodze, śledzić paczkę, śledzić
        przesyłkę, śledzić zamówienie, numer przesyłki, numer śledzenia, co z
        zamówieniem, co się dzieje z zamówieniem, kiedy dotrze, kiedy przyjdzie,
        kiedy dostanę, kiedy spodziewać paczki, kiedy spodziewać zamówienia, kiedy
        spodziewać przesyłki
        """
    ),
    "de": _phrases(
        """
        wo bestellung, wo paket, wo sendung, wo lieferung, status bestellung,
        bestellstatus, wann kommt bestellung, wann kommt paket, wann kommt sendung,
        wann paket geliefert, wann bestellung geliefert, bestellung verschickt,
        bestellung versandt, paket verschickt, paket unterwegs, bestellung
        unterwegs, sendung unterwegs, paket verfolgen, sendung verfolgen, bestellung
        verfolgen, sendungsnummer, trackingnummer, neuigkeiten lieferung,
        neuigkeiten bestellung, was ist mit bestellung, wann kommt, wann ankommen,
        wann bekomme, wann erhalte, mit paket rechnen, mit bestellung rechnen, mit
        lieferung rechnen
        """
    ),
    "fr": _phrases(
        """
        où commande, où colis, où en est commande, statut commande, suivi commande,
        numéro de suivi, quand recevoir commande, quand commande arriver, quand
        colis arriver, quand colis livré, quand commande livrée, commande partie,
        commande expédiée, commande envoyée, colis expédié, commande en route, colis
        en route, suivre colis, suivre commande, nouvelles livraison, nouvelles
        commande, nouvelles colis, quand arrive, quand recevoir, quand colis, quand
        ma commande, attends colis, attends commande
        """
    ),
    "es": _phrases(
        """
        dónde pedido, dónde paquete, dónde envío, estado pedido, estado envío,
        cuándo llega pedido, cuándo llega paquete, cuándo llega envío, cuándo
        entregan paquete, cuándo entregan pedido, enviaron pedido, pedido enviado,
        pedido en camino, paquete en camino, envío en camino, número de seguimiento,
        rastrear pedido, rastrear paquete, rastrear envío, seguimiento pedido, cómo
        va pedido, novedad envío, novedad pedido, cuándo llega, cuándo me llega,
        cuándo recibo, para cuándo llega, cuándo entregan
        """
    ),
    "ar": _phrases(
        """
        أين طلبي, وين طلبي, أين الطلب, وين الطلب, أين الشحنة, أين شحنتي, حالة الطلب,
        حالة طلبي, حالة الشحنة, متى يصل طلبي, متى سيصل طلبي, متى تصل الشحنة, متى
        توصيل الشحنة, متى توصيل الطلب, تم شحن الطلب, طلبي في الطريق, الشحنة في
        الطريق, رقم التتبع, تتبع الطلب, تتبع الشحنة, أتتبع شحنتي, جديد الشحنة, جديد
        الطلب, متى يصل, متى يوصل, متى يوصلني, متى يوصلني الطلب, متى أستلم, متى استلم
        الطلب
        """
    ),
    "fa": _phrases(
        """
        سفارش کجاست, بسته کجاست, مرسوله کجاست, وضعیت سفارش, وضعیت مرسوله, سفارش کی
        میرسه, سفارش کی می رسه, بسته کی میرسه, بسته کی می رسه, سفارش ارسال شده, بسته
        ارسال شده, کد رهگیری, پیگیری بسته, پیگیری سفارش, پیگیری مرسوله, بسته کی
        تحویل, سفارش کی تحویل, سفارش در راهه, سفارش در راه, بسته در راه, خبری
        مرسوله, خبری سفارش, کی میرسه, کی می رسه, کی به دستم, به دستم میرسه, کی تحویل
        میدید
        """
    ),
}

# Words that ask for a person, as whole words (not stemmed: "personal" is no request).
PERSON_WORDS: Mapping[str, frozenset[str]] = {
    "en": _words(
        """
        agent agents human humans operator person rep representative staff
        """
    ),
    "cs": _words(
        """
        agent agenta cloveka clovekem konzultant konzultanta konzultantem
        operator operatora operatorem operátor operátora operátorem pracovnikem
        pracovník pracovníka človek člověk člověka člověkem
        """
    ),
    "pl": _words(
        """
        agent agenta czlowiek czlowieka czlowiekiem człowiek człowieka człowiekiem
        konsultant konsultanta konsultantem osoba osobe osoby osobą osobę pracownik
        pracownika pracownikiem
        """
    ),
    "de": _words(
        """
        agent berater beraterin mensch menschen mitarbeiter mitarbeiterin
        mitarbeitern person
        """
    ),
    "fr": _words(
        """
        agent conseiller conseillere conseillère humain humaine operateur opérateur
        opératrice personne
        """
    ),
    "es": _words(
        """
        agente asesor asesora humana humano operador operadora persona
        """
    ),
    "ar": _words(
        """
        إنسان الموظف انسان بشري شخص مندوب موظف
        """
    ),
    "fa": _words(
        """
        آدم انسان اپراتور پشتیبان کارشناس
        """
    ),
}

# Asking for "someone" (not a role): a verb of speaking with an indefinite person.
HANDOFF_PHRASES: Mapping[str, tuple[str, ...]] = {
    "en": _phrases(
        """
        talk someone, speak someone, talk somebody, speak somebody, talk anyone,
        speak anyone, call me back, someone call me
        """
    ),
    "cs": _phrases(
        "mluvit s někým, mluvit někým, spojit s někým, promluvit si s někým, zavolejte mi"
    ),
    "pl": _phrases("porozmawiać z kimś, rozmawiać z kimś, połączyć z kimś, zadzwońcie do mnie"),
    "de": _phrases(
        "mit jemandem sprechen, jemandem sprechen, mit jemandem reden, rufen sie mich an"
    ),
    "fr": _phrases("parler à quelqu, parler quelqu, joindre quelqu, rappelez moi"),
    "es": _phrases("hablar con alguien, hablar alguien, llámenme, llamadme"),
    "ar": _phrases("التحدث مع أحد, اتكلم مع أحد, التكلم مع أحد, اتصلوا بي"),
    "fa": _phrases("با یکی صحبت, با کسی صحبت, با یکی حرف, با من تماس بگیرید"),
}

# Words about shipping an order: an order's status only when an order number is named
# ("has 1043 been sent?", "ist 1043 schon raus?"); alone they may ask how shipping works.
SHIPPED_WORDS: Mapping[str, tuple[str, ...]] = {
    "en": _phrases(
        """
        sent, shipped, dispatched, sent out, on its way, arrive, arrived, delivered,
        status, tracking
        """
    ),
    "cs": _phrases(
        """
        odeslána, odeslaná, odeslaný, odesláno, odeslali, expedována, na cestě,
        dorazí, doručena, stav, sledování
        """
    ),
    "pl": _phrases(
        "wysłane, wysłana, wysłany, nadane, w drodze, dotrze, dostarczone, status, śledzenie"
    ),
    "de": _phrases(
        "verschickt, versandt, raus, unterwegs, angekommen, geliefert, status, sendungsverfolgung"
    ),
    "fr": _phrases(
        """
        partie, parti, expédiée, expédié, envoyée, envoyé, en route, arrivée,
        livrée, statut, suivi
        """
    ),
    "es": _phrases(
        """
        salió, enviado, enviada, despachado, en camino, llega, llegó, entregado,
        estado, seguimiento
        """
    ),
    "ar": _phrases("خرج, شحن, تم شحن, أرسل, ارسل, في الطريق, وصل, حالة, تتبع"),
    "fa": _phrases("ارسال شد, ارسال شده, فرستادید, در راه, رسید, تحویل, وضعیت, رهگیری"),
}

# "in person", "en personne": the word is there but nobody is asked for.
NOT_A_PERSON: Mapping[str, tuple[str, ...]] = {
    "en": _phrases(
        """
        in person
        """
    ),
    "fr": _phrases(
        """
        en personne
        """
    ),
    "es": _phrases(
        """
        en persona
        """
    ),
    "pl": _phrases(
        """
        osobiście
        """
    ),
}

# Anger, complaints and specific problems (one refund, one return, a payment already
# made): a person must look, whatever else is asked.
COMPLAINT: Mapping[str, tuple[str, ...]] = {
    "en": _phrases(
        """
        damaged, broken, wrong, missing, defective, faulty, complaint, complain,
        unacceptable, terrible, awful, worst, scam, fraud, ridiculous, disappointed,
        angry, never got, never received, never arrived, never came, not received,
        not arrived, not come, didn get, didn receive, didn arrive, haven received,
        hasn arrived, still no, still not, still waiting, charged twice, double
        charged, not working, doesn work, lost, my refund, money back, declined,
        failed, stolen, nobody answers, nobody replies, no one answers, no one
        replies, no answer, no reply, fell apart, hole, ripped, torn, cracked,
        stained, third time, horrible, disgusting, useless, my money, want refund,
        want my money, my return, my returns, i paid, already paid, i have paid, i
        ve paid
        """
    ),
    "cs": _phrases(
        """
        poškozený, poškozená, poškozené, rozbitý, rozbitá, špatné, špatný, chybí,
        reklamace, reklamaci, stížnost, nepřijatelné, hrozné, podvod, nikdy,
        nedostal, nedostala, nedostali, nepřišel, nepřišla, nepřišly, nepřišlo,
        nedorazil, nedorazila, nedorazilo, neprošla, dvakrát, nefunguje, roztrhla,
        roztrhl, zamítnuta, zamítnutá, ztratil, ztracený, vrátíte peníze, moje
        peníze, nikdo neodpovídá, nikdo neodpověděl, neodpovídáte, díra, díru,
        roztrhaný, prasklý, ušpiněný, reklamovat, hrůza, otřesné, katastrofa,
        peníze, moje vrácení, mé vrácení, mou reklamaci, chci peníze, zaplatil jsem,
        zaplatila jsem, platil jsem, platila jsem, už jsem zaplatil, už jsem
        zaplatila
        """
    ),
    "pl": _phrases(
        """
        uszkodzona, uszkodzony, uszkodzone, zepsuty, zepsuta, zły, zła, złe,
        brakuje, reklamacja, reklamację, skarga, skandal, oszustwo, nie dotarł, nie
        dotarła, nie dotarło, nie dostałem, nie dostałam, nigdy, nie przyszła, nie
        przyszedł, nie przyszło, dwa razy, nie działa, nie przeszła, odrzucona,
        nadal nie, wciąż nie, rozpruła, podarta, zgubiona, moje pieniądze, zwrot
        pieniędzy, nikt nie odpowiada, nie odpowiadacie, brak odpowiedzi, dziura,
        dziurę, podarty, pęknięty, poplamiony, reklamować, tragedia, okropne,
        katastrofa, pieniądze, mój zwrot, moim zwrotem, chcę zwrot, chcę pieniądze,
        zapłaciłem, zapłaciłam, już zapłaciłem, już zapłaciłam
        """
    ),
    "de": _phrases(
        """
        beschädigt, kaputt, falsch, falsche, falschen, fehlt, defekt, beschwerde,
        beschweren, frechheit, unverschämt, betrug, enttäuscht, nicht angekommen,
        nie bekommen, nicht bekommen, nicht erhalten, nie erhalten, immer noch
        nicht, doppelt, zweimal, funktioniert nicht, abgelehnt, gerissen, verloren,
        meine rückerstattung, mein geld, niemand antwortet, keine antwort, antwortet
        niemand, loch, zerrissen, gebrochen, fleckig, reklamieren, reklamation,
        unmöglich, katastrophe, schrecklich, geld, meine rücksendung, meine
        rückgabe, will geld zurück, möchte geld zurück, habe bezahlt, habe gezahlt,
        habe überwiesen, schon bezahlt
        """
    ),
    "fr": _phrases(
        """
        abîmé, abîmée, endommagé, endommagée, cassé, cassée, mauvais, mauvaise,
        manque, défectueux, réclamation, plainte, inadmissible, inacceptable,
        scandale, arnaque, déçu, déçue, pas arrivé, pas arrivée, jamais reçu, pas
        reçu, toujours pas, deux fois, ne marche pas, ne fonctionne pas, refusé,
        refusée, déchiré, déchirée, perdu, mon remboursement, personne ne répond,
        personne ne me répond, pas de réponse, aucune réponse, trou, troué, fissuré,
        taché, nul, horrible, catastrophe, honteux, argent, mon retour, veux être
        remboursé, veux remboursement, ai payé, déjà payé, ai réglé
        """
    ),
    "es": _phrases(
        """
        dañado, dañada, roto, rota, equivocado, equivocada, incorrecto, falta,
        defectuoso, reclamación, queja, inaceptable, vergüenza, estafa,
        decepcionado, no ha llegado, no llegó, nunca recibí, nunca llegó, no recibí,
        todavía no, dos veces, no funciona, rechazado, rechazaron, rechazó, se
        rompió, perdido, mi reembolso, mi dinero, nadie contesta, nadie responde,
        nadie me contesta, sin respuesta, agujero, rasgado, manchado, reclamar,
        desastre, horrible, pésimo, vergonzoso, dinero, mi devolución, quiero
        reembolso, quiero devolución de dinero, pagué, ya pagué, he pagado, ya
        pagado
        """
    ),
    "ar": _phrases(
        """
        تالف, تالفا, مكسور, خاطئ, خطأ, ناقص, شكوى, غير مقبول, احتيال, لم يصل, لم
        يصلني, لم تصل, لم أستلم, لم استلم, لم يتم, مرتين, لا يعمل, رفض, تمزق, تمزقت,
        ضائع, المبلغ المسترد, أموالي, فلوسي, لا أحد يرد, لا احد يرد, لا يوجد رد,
        بدون رد, ثقب, ممزق, متسخ, سيء, سيئ, كارثة, فظيع, فلوس, المبلغ, أريد استرداد,
        استرداد أموالي, إرجاعي, قمت بالدفع, قمت بالتحويل
        """
    ),
    "fa": _phrases(
        """
        خراب, شکسته, اشتباه, ناقص, شکایت, قابل قبول نیست, کلاهبرداری, نرسیده, نرسید,
        نیومده, نیامده, دریافت نکردم, نگرفتم, دو بار, کار نمیکنه, کار نمی کنه, انجام
        نشد, پاره, گم شده, پول مرجوعی, پولم, کسی جواب نمیده, کسی جواب نمی ده, جوابی
        نمیدید, سوراخ, پاره شده, لکه, افتضاح, افتضاحه, افتضاحه, وحشتناک, بدترین,
        پول, مرجوعی من, پولم رو می خوام, پرداخت کردم, واریز کردم, کارت به کارت کردم
        """
    ),
}

# Requests to change something: only a person can, however much they look like a question.
ACTIONS: Mapping[str, tuple[str, ...]] = {
    "en": _phrases(
        """
        cancel, change, modify, add, edit, remove, swap
        """
    ),
    "cs": _phrases(
        """
        zrušit, zrušte, zrušení, změnit, změna, změňte, přidat, upravit, stornovat,
        storno, odebrat
        """
    ),
    "pl": _phrases(
        """
        anulować, anulujcie, anulowanie, zmienić, zmiana, zmieńcie, dodać, edytować,
        usunąć
        """
    ),
    "de": _phrases(
        """
        stornieren, storniert, stornierung, ändern, änderung, hinzufügen, entfernen,
        umbuchen
        """
    ),
    "fr": _phrases(
        """
        annuler, annulez, annulation, changer, modifier, ajouter, supprimer, retirer
        du
        """
    ),
    "es": _phrases(
        """
        cancelar, cancelen, cambiar, modificar, añadir, agregar, quitar, eliminar
        """
    ),
    "ar": _phrases(
        """
        إلغاء, الغاء, تغيير, تعديل, إضافة, اضافة, حذف
        """
    ),
    "fa": _phrases(
        """
        لغو, عوض, تغییر, اضافه, ویرایش, حذف
        """
    ),
}

# Negation words: an intent's word right next to one of these is not the question.
# (Arabic "ما" is left out: it is far more often "what" than "not".)
NEGATIONS: Mapping[str, frozenset[str]] = {
    "en": _words(
        """
        aren cannot didn doesn don hasn haven isn never no not wasn won
        """
    ),
    "cs": _words(
        """
        ne nikdy žádná žádné žádný
        """
    ),
    "pl": _words(
        """
        nie nigdy żaden żadna
        """
    ),
    "de": _words(
        """
        kein keine keinen nicht nie
        """
    ),
    "fr": _words(
        """
        aucun aucune jamais pas
        """
    ),
    "es": _words(
        """
        ninguna ningún no nunca
        """
    ),
    "ar": _words(
        """
        لا لم لن ليس
        """
    ),
    "fa": _words(
        """
        نمی نه نیست
        """
    ),
}

# Words that carry no question of their own: greetings, politeness, pronouns, function
# words, and the shop's generic nouns ("item", "zboží", "Artikel", "کالا"), which any
# question may name. They neither count for nor against a match.
FILLER: Mapping[str, frozenset[str]] = {
    "en": _words(
        """
        a also am an and any are at be been but by can could d dear did do does for
        goods had has have hello hey hi how i i'd im in is it item items its ive
        just know let like ll m madam may me mine my need now of ok okay on or our
        please pls product products re s shall should sir so some something still
        stuff t team tell thank thanks that the there these thing things this those
        thx to today us ve want wanted was we were what whats when where which who
        why will with would yes yet you your
        """
    ),
    "cs": _words(
        """
        a ahoj ale bude budu bych byl byla bylo byste být chci chtel chtela chtěl
        chtěla co dekuji dekuju den diky dnes do dobry dobrý díky děkuji děkuju i
        jak je jen jeste ještě jsem jsi jsme jsou jste já k kde kdo kdy ke která
        které který mam mate mi mne moc mohu moje moji mou muj muzete muzu my mám
        máte mě můj můžete můžu na naše nebo nám nás náš o od ok po pro produkt
        prosim prosím při s se si super svoje svou své svůj ta tak tato ten tento to
        toto tuhle ty u uz už v vaše ve vy vám vás váš věc věci z za zbozi zboží
        zdravim zdravím ze č že
        """
    ),
    "pl": _words(
        """
        a albo ale bedzie był była było będzie chce chcialbym chciałabym chciałbym
        chcę co czesc cześć czy dla do dobry dzieki dziekuje dzien dzień dzis
        dzisiaj dzięki dziękuję dziś gdzie i ja jak jest jeszcze juz już kiedy kto
        która który lub macie mam masz mi mnie moge mogę moj moja moje mojego mojej
        moją moze mozecie może możecie można my mój na nam nas nasz o od ok po
        poprosze poproszę produkt produkty prosze proszę przez przy rzecz sa sie się
        super są ta tak ten to towar towaru ty tylko u w was wasz wasza we witam wy
        z za ze że
        """
    ),
    "de": _words(
        """
        aber am an artikel auch auf aus bei bin bist bitte dank danke das dem den
        der des die diese dieser dieses du ein eine einem einen einer es fuer für
        guten habe haben hallo hat hatte heute ich ihnen ihr ihre ihren im in ist ja
        kann koennen können könnte mein meine meinem meinen meiner mich mir mit
        moechte moin morgen möchte nach noch oder ok produkt produkte sachen schon
        sein sie sind so super tag und uns unser vielen von wann war ware waren
        warum was welche welcher werden wie wir wird wo zu zum zur
        """
    ),
    "fr": _words(
        """
        a ai article articles as au aujourd aux avec avez avons bonjour bonsoir ce
        ces cet cette chose comment d dans de deja des du déjà elle elles en encore
        es est est-ce et etre hui il ils j je l la le les m ma me merci mes moi mon
        n ne nos notre nous ok on ont ou où par peux plait plaît pour pourquoi
        pouvez produit produits puis qu quand que quel quelle quelles quels qui quoi
        s s'il salut se sont stp suis super sur svp te tu un une veux vos votre
        voudrais vous à être
        """
    ),
    "es": _words(
        """
        al articulo artículo artículos buenas buenos como con cosa cual cuando cuál
        cuáles cuándo cómo de del dias donde días dónde el en es esa ese esta estan
        este esto estoy está están favor fue genial gracias hola hoy la las le les
        lo los me mi mis muchas mucho noches nos nuestro o ok para podrian podría
        por producto productos puede pueden puedo que quiero quisiera quién qué se
        ser son soy su sus tardes te tengo tiene tienen tu tú un una unas unos usted
        ustedes y ya yo
        """
    ),
    "ar": _words(
        """
        أريد أن أنا أنت أنتم أو أين إلى إن اريد التي الذي السلام المنتج الى اليوم ان
        انا انت انتم او اين بعد تم تمام جزيلا ذلك سمحت شكرا شكراً شكرًا شيء على
        عليكم عن عندي فضلك في قد كان كيف لدي لكم لماذا لو لي ما ماذا متى مرحبا مع
        ممكن من منتج منتجات نحن نعم هذا هذه هل هو هي و يا يمكن يمكنكم يمكنني
        """
    ),
    "fa": _words(
        """
        آن آیا از است ام امروز او اون این با باشه برای به تا تو تونم خوام خیلی دارم
        داره دارید در را رو سلام شما لطفا لطفاً ما متشکرم محصول مرسی ممنون من می
        میخوام میشه هست هستم هستید هم و چرا چطور چه چی چیز چیزی کالا کالای کجا که کی
        یا یه یک
        """
    ),
}

# Country (ISO 3166 alpha-2) -> the language its customers most likely write. Breaks ties
# between languages whose phrasing matched equally ("agent" is English, Czech and French).
COUNTRY_LANGUAGE: Mapping[str, str] = _pairs(
    """
        CZ:cs SK:cs PL:pl DE:de AT:de CH:de LI:de FR:fr BE:fr LU:fr MC:fr ES:es
        MX:es AR:es CO:es CL:es PE:es IR:fa AF:fa SA:ar AE:ar EG:ar MA:ar DZ:ar
        TN:ar JO:ar IQ:ar KW:ar QA:ar BH:ar OM:ar LB:ar GB:en US:en IE:en
    """
)
