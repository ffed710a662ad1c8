"""The words of a proactive message in the eight built-in languages: for each problem, the
order, what happened and what happens next; then that a reply reaches the store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

WORDS: Final[Mapping[str, Mapping[str, str]]] = {
    "en": {
        "delayed": "your order #{number} is delayed: the carrier reports a hold-up. It is "
        "still on its way and we are keeping an eye on it.",
        "failure": "the delivery of your order #{number} has failed. We are looking into it "
        "and will tell you the next step.",
        "attempted_delivery": "the carrier tried to deliver your order #{number} but could "
        "not. They will try again or tell you where to collect it.",
        "ready_for_pickup": "your order #{number} is ready for pickup. Please collect it "
        "before the carrier sends it back.",
        "returning_to_sender": "your order #{number} is on its way back to us. Once it "
        "arrives we will send it again or refund you, as you prefer.",
        "cancelled": "your order #{number} has been cancelled. Anything you paid comes back "
        "to you the way you paid.",
        "refunded": "we have refunded your order #{number}. Your bank may take a few days "
        "to show it.",
        "tracking": "Track it: {url}",
        "reply": "Questions? Simply reply to this message.",
        "subject": "news about your order #{number}",
    },
    "cs": {
        "delayed": "vaše objednávka č. {number} má zpoždění: dopravce hlásí zdržení. Je stále "
        "na cestě a sledujeme ji.",
        "failure": "doručení vaší objednávky č. {number} se nezdařilo. Zjišťujeme proč a dáme "
        "vám vědět, co dál.",
        "attempted_delivery": "dopravce se pokusil doručit vaši objednávku č. {number}, ale "
        "nepodařilo se to. Zkusí to znovu nebo vám sdělí, kde si ji vyzvednout.",
        "ready_for_pickup": "vaše objednávka č. {number} je připravena k vyzvednutí. "
        "Vyzvedněte si ji prosím dřív, než ji dopravce vrátí.",
        "returning_to_sender": "vaše objednávka č. {number} se vrací k nám. Až dorazí, "
        "pošleme ji znovu, nebo vám vrátíme peníze, jak budete chtít.",
        "cancelled": "vaše objednávka č. {number} byla zrušena. Zaplacené peníze se vám vrátí "
        "stejnou cestou, jakou jste platili.",
        "refunded": "za objednávku č. {number} jsme vám vrátili peníze. Na účtu se mohou "
        "objevit až za několik dní.",
        "tracking": "Sledování zásilky: {url}",
        "reply": "Máte dotaz? Stačí odpovědět na tuto zprávu.",
        "subject": "novinky k vaší objednávce č. {number}",
    },
    "pl": {
        "delayed": "Twoje zamówienie nr {number} jest opóźnione: przewoźnik zgłasza "
        "utrudnienia. Przesyłka jest nadal w drodze, a my ją obserwujemy.",
        "failure": "doręczenie zamówienia nr {number} nie powiodło się. Sprawdzamy, co się "
        "stało, i damy znać, co dalej.",
        "attempted_delivery": "przewoźnik próbował doręczyć zamówienie nr {number}, ale się "
        "nie udało. Spróbuje ponownie lub poinformuje, gdzie je odebrać.",
        "ready_for_pickup": "Twoje zamówienie nr {number} czeka na odbiór. Odbierz je, "
        "zanim przewoźnik odeśle je z powrotem.",
        "returning_to_sender": "Twoje zamówienie nr {number} wraca do nas. Gdy dotrze, "
        "wyślemy je ponownie lub zwrócimy pieniądze, jak wolisz.",
        "cancelled": "Twoje zamówienie nr {number} zostało anulowane. Zapłacone pieniądze "
        "wrócą do Ciebie tą samą drogą.",
        "refunded": "zwróciliśmy pieniądze za zamówienie nr {number}. Bank może potrzebować "
        "kilku dni, aby je pokazać.",
        "tracking": "Śledzenie przesyłki: {url}",
        "reply": "Masz pytania? Po prostu odpowiedz na tę wiadomość.",
        "subject": "informacja o zamówieniu nr {number}",
    },
    "de": {
        "delayed": "Ihre Bestellung Nr. {number} verspätet sich: Der Versanddienst meldet "
        "eine Verzögerung. Sie ist weiter unterwegs, und wir behalten sie im Blick.",
        "failure": "die Zustellung Ihrer Bestellung Nr. {number} ist fehlgeschlagen. Wir "
        "kümmern uns darum und sagen Ihnen, wie es weitergeht.",
        "attempted_delivery": "der Versanddienst konnte Ihre Bestellung Nr. {number} nicht "
        "zustellen. Er versucht es erneut oder sagt Ihnen, wo Sie sie abholen können.",
        "ready_for_pickup": "Ihre Bestellung Nr. {number} liegt zur Abholung bereit. Bitte "
        "holen Sie sie ab, bevor sie zurückgeschickt wird.",
        "returning_to_sender": "Ihre Bestellung Nr. {number} ist auf dem Rückweg zu uns. "
        "Sobald sie ankommt, senden wir sie erneut oder erstatten den Betrag, wie Sie möchten.",
        "cancelled": "Ihre Bestellung Nr. {number} wurde storniert. Bereits Bezahltes "
        "erhalten Sie auf demselben Weg zurück.",
        "refunded": "wir haben Ihre Bestellung Nr. {number} erstattet. Bis Ihre Bank es "
        "anzeigt, kann es einige Tage dauern.",
        "tracking": "Sendungsverfolgung: {url}",
        "reply": "Fragen? Antworten Sie einfach auf diese Nachricht.",
        "subject": "Neuigkeiten zu Ihrer Bestellung Nr. {number}",
    },
    "fr": {
        "delayed": "votre commande n° {number} a du retard : le transporteur signale un "
        "contretemps. Elle est toujours en route et nous la suivons.",
        "failure": "la livraison de votre commande n° {number} a échoué. Nous nous en "
        "occupons et vous dirons la suite.",
        "attempted_delivery": "le transporteur n'a pas pu livrer votre commande n° {number}. "
        "Il réessaiera ou vous dira où la retirer.",
        "ready_for_pickup": "votre commande n° {number} est prête à être retirée. Merci de "
        "la retirer avant que le transporteur ne la renvoie.",
        "returning_to_sender": "votre commande n° {number} nous est retournée. À son arrivée, "
        "nous la renverrons ou vous rembourserons, comme vous préférez.",
        "cancelled": "votre commande n° {number} a été annulée. Ce que vous avez payé vous "
        "sera rendu par le même moyen.",
        "refunded": "nous avons remboursé votre commande n° {number}. Votre banque peut "
        "mettre quelques jours à l'afficher.",
        "tracking": "Suivi : {url}",
        "reply": "Une question ? Répondez simplement à ce message.",
        "subject": "du nouveau sur votre commande n° {number}",
    },
    "es": {
        "delayed": "su pedido n.º {number} se ha retrasado: el transportista informa de una "
        "incidencia. Sigue en camino y lo estamos vigilando.",
        "failure": "la entrega de su pedido n.º {number} ha fallado. Lo estamos revisando y "
        "le diremos el siguiente paso.",
        "attempted_delivery": "el transportista intentó entregar su pedido n.º {number} sin "
        "éxito. Lo intentará de nuevo o le dirá dónde recogerlo.",
        "ready_for_pickup": "su pedido n.º {number} está listo para recoger. Recójalo antes "
        "de que el transportista lo devuelva.",
        "returning_to_sender": "su pedido n.º {number} está volviendo a nosotros. Cuando "
        "llegue, se lo enviaremos de nuevo o le devolveremos el dinero, como prefiera.",
        "cancelled": "su pedido n.º {number} se ha cancelado. Lo que haya pagado se le "
        "devolverá por el mismo medio.",
        "refunded": "hemos reembolsado su pedido n.º {number}. Su banco puede tardar unos "
        "días en mostrarlo.",
        "tracking": "Seguimiento: {url}",
        "reply": "¿Preguntas? Simplemente responda a este mensaje.",
        "subject": "novedades de su pedido n.º {number}",
    },
    "ar": {
        "delayed": "تأخر طلبك رقم {number}: أبلغت شركة الشحن عن تأخير. الطلب ما زال في الطريق "
        "ونحن نتابعه.",
        "failure": "فشل توصيل طلبك رقم {number}. نحن نتحقق من الأمر وسنخبرك بالخطوة التالية.",
        "attempted_delivery": "حاولت شركة الشحن توصيل طلبك رقم {number} ولم تنجح. ستحاول مرة "
        "أخرى أو تخبرك أين تستلمه.",
        "ready_for_pickup": "طلبك رقم {number} جاهز للاستلام. يرجى استلامه قبل أن تعيده شركة "
        "الشحن.",
        "returning_to_sender": "طلبك رقم {number} في طريق العودة إلينا. عند وصوله سنرسله مجددًا "
        "أو نعيد لك المبلغ، كما تفضل.",
        "cancelled": "تم إلغاء طلبك رقم {number}. سيعود إليك ما دفعته بنفس طريقة الدفع.",
        "refunded": "أعدنا لك مبلغ طلبك رقم {number}. قد يستغرق ظهوره لدى البنك بضعة أيام.",
        "tracking": "تتبع الشحنة: {url}",
        "reply": "لديك سؤال؟ فقط رُدّ على هذه الرسالة.",
        "subject": "مستجدات طلبك رقم {number}",
    },
    "fa": {
        "delayed": "سفارش شماره {number} شما با تأخیر روبه‌رو شده است: شرکت حمل تأخیر گزارش "
        "کرده است. سفارش همچنان در راه است و ما آن را پیگیری می‌کنیم.",
        "failure": "تحویل سفارش شماره {number} شما ناموفق بود. در حال بررسی هستیم و قدم بعدی را "
        "به شما می‌گوییم.",
        "attempted_delivery": "شرکت حمل برای تحویل سفارش شماره {number} شما اقدام کرد اما موفق "
        "نشد. دوباره تلاش می‌کند یا محل تحویل گرفتن را به شما می‌گوید.",
        "ready_for_pickup": "سفارش شماره {number} شما آماده تحویل گرفتن است. لطفاً پیش از آنکه "
        "شرکت حمل آن را برگرداند، تحویل بگیرید.",
        "returning_to_sender": "سفارش شماره {number} شما در حال بازگشت به ماست. پس از رسیدن، "
        "آن را دوباره می‌فرستیم یا مبلغ را بازمی‌گردانیم، هر طور که بخواهید.",
        "cancelled": "سفارش شماره {number} شما لغو شد. مبلغ پرداختی از همان راه به شما بازمی‌گردد.",
        "refunded": "مبلغ سفارش شماره {number} شما را بازگرداندیم. ممکن است نمایش آن در بانک "
        "چند روز طول بکشد.",
        "tracking": "پیگیری مرسوله: {url}",
        "reply": "سؤالی دارید؟ کافی است به همین پیام پاسخ دهید.",
        "subject": "خبر تازه درباره سفارش شماره {number} شما",
    },
}
