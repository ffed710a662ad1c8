/* relaydesk web chat: <script src="https://<api>/widget.js" data-store="<id>" async></script>
   No framework, no third-party request, no cookie: the conversation token lives in the
   shop page's own localStorage. Asynchronous: the panel polls only while it is open. */
(function () {
  "use strict";
  var me = document.currentScript || document.querySelector("script[data-store][src*='widget.js']");
  if (!me || window.__relaydeskChat) return;
  window.__relaydeskChat = true;
  var store = me.getAttribute("data-store");
  // The API's base is where the script came from, its stage path included (/api/widget.js).
  var api = new URL(me.src, location.href).href.replace(/\/widget\.js([?#].*)?$/, "") +
    "/webchat/" + encodeURIComponent(store);
  var key = "relaydesk:" + store + ":";
  var ls = { get: function (k) { try { return localStorage.getItem(key + k); } catch (e) { return null; } },
             set: function (k, v) { try { localStorage.setItem(key + k, v); } catch (e) {} } };
  var cfg, words, root, bubble, dot, panel, log, form, text, contact, status, sendBtn;
  var seen = {}, cursor = "", lastTry = null, timer = null, delay = 3, open = false;

  function post(path, body) {
    // text/plain: a CORS "simple" request, so no preflight before every message.
    return fetch(api + path, { method: "POST", headers: { "Content-Type": "text/plain" },
      body: JSON.stringify(body), credentials: "omit", mode: "cors" })
      .then(function (r) { return r.json().catch(function () { return {}; })
        .then(function (j) { j.status = r.status; return j; }); });
  }
  function el(tag, attrs, textContent) {
    var e = document.createElement(tag);
    for (var a in attrs) e.setAttribute(a, attrs[a]);
    if (textContent) e.textContent = textContent;
    return e;
  }
  function randomId() {
    var b = new Uint8Array(16); crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }

  var CSS = ":host{all:initial}*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,Tahoma,sans-serif}" +
    ".b{position:fixed;bottom:20px;inset-inline-end:20px;width:56px;height:56px;border-radius:50%;border:0;cursor:pointer;" +
    "background:var(--c);color:var(--t);box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483000}" +
    ".b svg{width:28px;height:28px;fill:currentColor}.b:focus-visible,button:focus-visible,textarea:focus-visible,input:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}" +
    ".d{position:absolute;top:2px;inset-inline-end:2px;width:14px;height:14px;border-radius:50%;background:#d4351c;border:2px solid #fff}" +
    ".p{position:fixed;bottom:88px;inset-inline-end:20px;width:360px;max-width:calc(100vw - 24px);height:520px;max-height:calc(100vh - 110px);" +
    "display:flex;flex-direction:column;background:#fff;color:#1b1b1b;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);overflow:hidden;z-index:2147483000;font-size:15px;line-height:1.4}" +
    ".p[hidden]{display:none}.h{display:flex;align-items:center;gap:8px;padding:12px 14px;background:var(--c);color:var(--t)}" +
    ".h h2{flex:1;margin:0;font-size:16px;font-weight:600}.x{background:none;border:0;color:inherit;font-size:22px;cursor:pointer;line-height:1;padding:2px 6px}" +
    ".l{flex:1;overflow-y:auto;padding:12px;margin:0;list-style:none;background:#f4f5f7}" +
    ".m{max-width:85%;margin:0 0 10px;padding:8px 11px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}" +
    ".m small{display:block;font-size:12px;opacity:.75;margin-bottom:2px}" +
    ".s{background:#fff;border:1px solid #dde1e6;margin-inline-end:auto}.y{background:var(--c);color:var(--t);margin-inline-start:auto}" +
    ".g{background:transparent;border:0;padding:0 2px;color:#444;max-width:100%}.pend{opacity:.6}" +
    "form{padding:10px;border-top:1px solid #dde1e6;display:flex;flex-direction:column;gap:6px}" +
    "label{font-size:12px;color:#444}textarea,input{width:100%;font:inherit;padding:8px;border:1px solid #8a8f98;border-radius:8px;color:#1b1b1b;background:#fff}" +
    "textarea{resize:none;height:64px}.r{display:flex;gap:8px;align-items:flex-end}.r textarea{flex:1}" +
    ".send{background:var(--c);color:var(--t);border:0;border-radius:8px;padding:9px 14px;font:inherit;font-weight:600;cursor:pointer}" +
    ".st{font-size:13px;color:#b3261e;min-height:0}.st:empty{display:none}.hp{position:absolute;left:-9999px;width:1px;height:1px;overflow:hidden}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}" +
    "@media (max-width:480px){.p{inset:0;width:100%;max-width:none;height:100%;max-height:none;border-radius:0}.p:not([hidden])~.b{display:none}}";

  function build() {
    var host = el("div", { id: "relaydesk-chat" });
    document.body.appendChild(host);
    root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    var style = el("style"); style.textContent = CSS; root.appendChild(style);
    var wrap = el("div", { dir: cfg.dir, lang: cfg.language });
    wrap.style.setProperty("--c", cfg.colour); wrap.style.setProperty("--t", cfg.text_colour);
    root.appendChild(wrap);
    bubble = el("button", { "class": "b", type: "button", "aria-expanded": "false", "aria-controls": "rd-panel", "aria-label": words.open });
    bubble.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 1-2z"/></svg>';
    dot = el("span", { "class": "d", hidden: "" }); dot.hidden = true;
    var unread = el("span", { "class": "sr" }, words.unread);
    dot.appendChild(unread); bubble.appendChild(dot);
    panel = el("section", { "class": "p", id: "rd-panel", role: "dialog", "aria-label": words.title });
    panel.hidden = true;
    var head = el("div", { "class": "h" });
    head.appendChild(el("h2", {}, words.title));
    var x = el("button", { "class": "x", type: "button", "aria-label": words.close }, "\u00d7");
    head.appendChild(x);
    log = el("ol", { "class": "l", role: "log", "aria-live": "polite", "aria-label": words.title });
    log.appendChild(el("li", { "class": "m g" }, words.greeting));
    form = el("form", { novalidate: "" });
    var hp = el("div", { "class": "hp", "aria-hidden": "true" });
    hp.appendChild(el("input", { name: "website", tabindex: "-1", autocomplete: "off" }));
    text = el("textarea", { id: "rd-text", name: "text", maxlength: String(cfg.max_chars), "aria-label": words.placeholder, placeholder: words.placeholder, required: "" });
    contact = el("input", { id: "rd-contact", name: "contact", autocomplete: "email", inputmode: "email" });
    var cl = el("label", { "for": "rd-contact" }, words.contact);
    sendBtn = el("button", { "class": "send", type: "submit" }, words.send);
    status = el("p", { "class": "st", role: "alert" });
    var row = el("div", { "class": "r" }); row.appendChild(text); row.appendChild(sendBtn);
    [hp, row, cl, contact, status].forEach(function (n) { form.appendChild(n); });
    if (ls.get("contact")) { cl.hidden = true; contact.hidden = true; }
    [head, log, form].forEach(function (n) { panel.appendChild(n); });
    wrap.appendChild(panel); wrap.appendChild(bubble);
    bubble.addEventListener("click", function () { toggle(!open); });
    x.addEventListener("click", function () { toggle(false); });
    panel.addEventListener("keydown", function (e) { if (e.key === "Escape") toggle(false); });
    text.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
    });
    form.addEventListener("submit", function (e) { e.preventDefault(); submit(); });
    document.addEventListener("visibilitychange", function () { if (open && !document.hidden) schedule(0); });
  }

  function add(m, pending) {
    if (m.id && seen[m.id]) { seen[m.id].classList.remove("pend"); return; }
    var li = el("li", { "class": "m " + (m.from === "you" ? "y" : "s") + (pending ? " pend" : "") });
    li.appendChild(el("small", {}, m.from === "you" ? words.you : (m.name || cfg.store)));
    // Its own direction: an English message reads right in an Arabic panel, and back.
    li.appendChild(el("div", { dir: "auto" }, m.text));
    log.appendChild(li);
    if (m.id) seen[m.id] = li;
    log.scrollTop = log.scrollHeight;
    return li;
  }

  function toggle(show) {
    open = show; panel.hidden = !show;
    bubble.setAttribute("aria-expanded", String(show));
    if (show) {
      dot.hidden = true; ls.set("opened", "1"); text.focus(); delay = cfg.poll.min; schedule(0);
    } else { clearTimeout(timer); bubble.focus(); }
  }

  function schedule(seconds) {
    clearTimeout(timer);
    if (open && !document.hidden) timer = setTimeout(poll, seconds * 1000);
  }

  function poll() {
    post("/poll", { token: cfg.token, after: cursor }).then(function (r) {
      var fresh = false;
      (r.messages || []).forEach(function (m) { if (!seen[m.id]) { fresh = fresh || m.from === "store"; add(m); } });
      if (r.cursor) cursor = r.cursor;
      if (fresh && !open) dot.hidden = false;
      if (open) ls.set("read", cursor);
      delay = fresh ? cfg.poll.min : Math.min(cfg.poll.max, delay * 1.5);
      schedule(delay);
    }, function () { delay = Math.min(cfg.poll.max, delay * 2); schedule(delay); });
  }

  function submit() {
    var body = text.value.trim();
    if (!body) { text.focus(); return; }
    // The same id when the same text is sent again after a failure: stored once.
    if (!lastTry || lastTry.text !== body) lastTry = { id: randomId(), text: body };
    var msg = { token: cfg.token, id: lastTry.id, text: body, contact: contact.hidden ? "" : contact.value.trim(),
      website: form.elements.website.value, language: cfg.language,
      email: me.getAttribute("data-customer-email") || "", hash: me.getAttribute("data-customer-hash") || "" };
    var li = add({ from: "you", text: body }, true);
    text.value = ""; status.textContent = ""; sendBtn.disabled = true;
    post("/messages", msg).then(function (r) {
      sendBtn.disabled = false;
      if (r.status !== 200) {
        li.remove(); text.value = body;
        status.textContent = r.status === 429 ? words.limited : (r.error && r.status < 500 ? r.error : words.failed);
        return;
      }
      li.classList.remove("pend"); seen[r.message.id] = li; lastTry = null;
      if (msg.contact) { ls.set("contact", "1"); contact.hidden = true; contact.previousSibling.hidden = true; }
      if (r.ack) add(r.ack);
      delay = cfg.poll.min; schedule(delay);
    }, function () { sendBtn.disabled = false; li.remove(); text.value = body; status.textContent = words.failed; });
  }

  function start() {
    var lang = me.getAttribute("data-language") || navigator.language || "";
    post("/session", { token: ls.get("token"), language: lang }).then(function (r) {
      if (r.status !== 200 || !r.token) return;
      cfg = r; words = r.words; ls.set("token", r.token);
      build();
      if (me.hasAttribute("data-open") && !ls.get("opened")) { toggle(true); return; }
      if (ls.get("read") !== null) {
        // Back on another page: one look for an answer that came while away.
        post("/poll", { token: cfg.token, after: "" }).then(function (p) {
          (p.messages || []).forEach(function (m) { add(m); });
          if (p.cursor) { cursor = p.cursor; }
          var last = (p.messages || []).filter(function (m) { return m.from === "store"; }).pop();
          if (last && p.cursor > (ls.get("read") || "")) dot.hidden = false;
        });
      }
    }, function () {});
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
