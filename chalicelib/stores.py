"""The stores' configuration: one JSON file, parsed and validated once per container.

Every error names the store and the field that is wrong. Secrets never live here
(chalicelib/settings.py reads them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from string import Formatter
from typing import TYPE_CHECKING, Any

from chalicelib.commerce.config import CommerceConfig, parse_commerce
from chalicelib.domain.answers import AnswersConfigError
from chalicelib.domain.automail import DEFAULT_NO_REPLY_SENDERS
from chalicelib.domain.automation import Automation, parse_automation
from chalicelib.domain.calendar import BusinessCalendar
from chalicelib.domain.messages import INSTAGRAM_PREFIX, MESSENGER_PREFIX, contact_of
from chalicelib.domain.proactive_config import Proactive, ProactiveConfigError, parse_proactive
from chalicelib.domain.sla import (
    FIRST_RESPONSE,
    NEXT_RESPONSE,
    PRIORITIES,
    RESOLUTION,
    Escalation,
    SlaPolicy,
    Target,
    Targets,
)
from chalicelib.domain.voice_config import VoiceConfigError, VoiceSettings, parse_voice
from chalicelib.domain.webchat_config import Webchat, WebchatConfigError, parse_webchat
from chalicelib.settings import ConfigError

if TYPE_CHECKING:
    from chalicelib.domain.meta_config import MetaConfig

STORE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}$")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

ACK_PLACEHOLDERS = frozenset({"store", "deadline", "by_deadline", "opens"})
DEFAULT_BASE_DIR = Path(__file__).parent
"""Where files named in a store's configuration live when it is parsed without a path."""
MAX_RETENTION_DAYS = 36_500  # a century; a few zeros more would overflow datetime
TEMPLATE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
SLA_CHANNELS = frozenset({"sms", "whatsapp", "email", "messenger", "instagram", "voice"})
WHATSAPP_TEMPLATE_PLACEHOLDERS = frozenset({"customer_name", "store", "agent", "reply"})


@dataclass(frozen=True)
class Agent:
    email: str
    """Lower-cased."""
    name: str
    hours: BusinessCalendar | None = None
    """When this agent is on duty (the store's timezone); None: whenever the store is open."""

    def matches(self, who: str) -> bool:
        """`#assign` names an agent by address, name, first name or mailbox name."""
        who = who.strip().lower()
        return who in (self.email, self.name.lower(), self.email.partition("@")[0]) or (
            who == self.name.lower().split(" ")[0]
        )


@dataclass(frozen=True)
class WhatsAppTemplate:
    """An approved WhatsApp template (Twilio Content API), sent outside the 24-hour window."""

    content_sid: str
    variables: Mapping[str, str]
    """Template variable -> our text, with {customer_name}, {store}, {agent}, {reply}."""


@dataclass(frozen=True)
class StoreConfig:
    store_id: str
    name: str
    calendar: BusinessCalendar
    ack_cooldown_minutes: int
    ack_templates: Mapping[str, str]
    """The store's own wording per language; built-in wording covers the rest."""
    ack_daily_cap: int
    """At most this many acknowledgements per customer address per store-local day."""
    auto_replies_per_hour: int
    """At most this many acknowledgements per hour from the whole store, whoever writes:
    many senders cannot turn relaydesk into an SMS cannon (SMS pumping)."""
    reopen_window_days: int
    """A reply to a thread closed longer ago than this starts a new, linked thread."""
    sla: SlaPolicy
    locale: str
    phone_numbers: frozenset[str]
    """E.164 numbers; the same number serves WhatsApp as `whatsapp:<number>`."""
    support_address: str
    agents: frozenset[str]
    """Lower-cased agent e-mail addresses."""
    team: tuple[Agent, ...] = ()
    """The agents in configuration order: the round-robin order of assignment."""
    notify_all: bool = False
    """Every agent hears of every message, not only the thread's assignee."""
    reply_templates: Mapping[str, str] = field(default_factory=dict)
    """Saved replies an agent sends with `#template <name>`; `{order.<field>}` in them is
    filled from the order attached with `#order` (domain/customer_view.ORDER_FIELDS)."""
    survey: bool = False
    """Ask the customer for a 1-5 rating when a thread is closed."""
    whatsapp_template: WhatsAppTemplate | None = None
    retention_days: int = 365
    """A closed thread and its messages are deleted (DynamoDB TTL) this long after closing."""
    no_reply_senders: frozenset[str] = frozenset(DEFAULT_NO_REPLY_SENDERS)
    """Local parts of mailboxes nobody reads (noreply@, postmaster@, ...): their mail is
    stored and shown to the agents, never answered automatically."""
    commerce: CommerceConfig | None = None
    """The store's shop (chalicelib/commerce/config.py); None: no shop connected."""
    automation: Automation = field(default_factory=Automation)
    """Automatic answers (chalicelib/domain/automation.py); off unless configured."""
    proactive: Proactive = field(default_factory=Proactive)
    """Shipment problems told before the customer asks (chalicelib/domain/proactive.py)."""
    meta: MetaConfig | None = None
    """The store's Facebook page and Instagram account (domain/meta_config.py)."""
    report_to: tuple[str, ...] = ()
    """Who gets the weekly report on Monday morning (flows/report.py); empty: nobody."""
    webchat: Webchat = field(default_factory=Webchat)
    """The chat widget on the store's own site (chalicelib/domain/webchat_config.py)."""

    @property
    def meta_addresses(self) -> tuple[str, ...]:
        """The store's own addresses on Messenger and Instagram (`messenger:<page id>`)."""
        if self.meta is None:
            return ()
        found = ((MESSENGER_PREFIX, self.meta.page_id), (INSTAGRAM_PREFIX, self.meta.instagram_id))
        return tuple(prefix + account for prefix, account in found if account)

    voice: VoiceSettings = field(default_factory=VoiceSettings)
    """Calls to the store's numbers: forwarding, greeting, voicemail (domain/voice_config.py)."""

    @property
    def has_shop(self) -> bool:
        return self.commerce is not None

    def is_agent(self, email: str) -> bool:
        return email.strip().lower() in self.agents

    def agent(self, who: str) -> Agent | None:
        return next((a for a in self.team if a.matches(who)), None)

    def followers(self, assignee: str | None) -> tuple[str, ...]:
        """Who hears about a thread: its assignee, or every agent."""
        if assignee and not self.notify_all:
            return (assignee,)
        return tuple(sorted(self.agents))


class Stores:
    """All stores of this deployment, indexed by the addresses customers write to."""

    def __init__(self, stores: list[StoreConfig]) -> None:
        self._by_id = {s.store_id: s for s in stores}
        self._by_number: dict[str, StoreConfig] = {}
        self._by_address = {s.support_address: s for s in stores}
        if len(self._by_address) != len(stores):
            raise ConfigError("two stores share one support_address")
        for store in stores:
            for number in store.phone_numbers:
                other = self._by_number.setdefault(number, store)
                if other is not store:
                    raise ConfigError(
                        f"stores {other.store_id!r} and {store.store_id!r}: "
                        f"phone_numbers: {number} is configured twice"
                    )
        self._by_meta: dict[str, StoreConfig] = {}
        for store in stores:
            for address in store.meta_addresses:
                other = self._by_meta.setdefault(address, store)
                if other is not store:
                    raise ConfigError(
                        f"stores {other.store_id!r} and {store.store_id!r}: meta: "
                        f"{address.partition(':')[0]} account {address.partition(':')[2]} "
                        "is configured twice"
                    )

    def all(self) -> list[StoreConfig]:
        return list(self._by_id.values())

    def by_id(self, store_id: str) -> StoreConfig | None:
        return self._by_id.get(store_id)

    def by_support_address(self, addresses: Iterable[str]) -> StoreConfig | None:
        return next((s for a in addresses if (s := self._by_address.get(a.lower()))), None)

    def is_own_address(self, address: str) -> bool:
        return address.lower() in self._by_address

    def by_number(self, address: str) -> StoreConfig | None:
        return self._by_number.get(contact_of(address))

    def by_meta_account(self, address: str) -> StoreConfig | None:
        """The store whose page or Instagram account is `address` (`messenger:<page id>`)."""
        return self._by_meta.get(address)

    def by_woocommerce_url(self, url: str) -> StoreConfig | None:
        """The store whose WooCommerce site is `url` (`https://shop.example`)."""
        wanted = url.strip().rstrip("/").lower()
        return next(
            (
                s
                for s in self._by_id.values()
                if s.commerce is not None and getattr(s.commerce, "url", "").lower() == wanted
            ),
            None,
        )

    def by_shopify_shop(self, domain: str) -> StoreConfig | None:
        """The store whose Shopify shop is `domain` (`<name>.myshopify.com`)."""
        wanted = domain.strip().lower()
        return next(
            (
                s
                for s in self._by_id.values()
                if s.commerce is not None and getattr(s.commerce, "shop", None) == wanted
            ),
            None,
        )


def _field(raw: Mapping[str, Any], store: str, name: str, kind: type, default: Any = ...) -> Any:
    value = raw.get(name, default)
    if value is ...:
        raise ConfigError(f"store {store!r}: {name}: required")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"store {store!r}: {name}: expected {kind.__name__}, got {value!r}")
    return value


def parse_store(raw: Mapping[str, Any], base_dir: Path | None = None) -> StoreConfig:
    """One store, validated; `base_dir` is where files it names (`answers_file`) live."""
    store_id = raw.get("id")
    if not isinstance(store_id, str) or not STORE_ID.match(store_id):
        raise ConfigError(
            f"store {store_id!r}: id: 1-20 lowercase letters, digits or '-', got {store_id!r}"
        )
    name = _field(raw, store_id, "name", str)
    hours = _field(raw, store_id, "business_hours", dict)
    closed = _field(raw, store_id, "closed_dates", list, [])
    special = _field(raw, store_id, "special_hours", dict, {})
    public_holidays = _field(raw, store_id, "holidays", dict, {})
    try:
        calendar = BusinessCalendar.from_spec(
            _field(raw, store_id, "timezone", str),
            hours,
            [date.fromisoformat(d) for d in closed],
            special_hours={date.fromisoformat(d): spans for d, spans in special.items()},
            holidays_country=public_holidays.get("country"),
            holidays_subdivision=public_holidays.get("subdivision"),
        )
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"store {store_id!r}: business hours: {exc}") from exc
    first_response = _field(raw, store_id, "first_response_minutes", int)
    if first_response <= 0:
        raise ConfigError(f"store {store_id!r}: first_response_minutes: must be positive")
    cooldown = _field(raw, store_id, "ack_cooldown_minutes", int, 12 * 60)
    if cooldown < 0:
        raise ConfigError(f"store {store_id!r}: ack_cooldown_minutes: must not be negative")
    daily_cap = _field(raw, store_id, "ack_daily_cap", int, 3)
    if daily_cap < 0:
        raise ConfigError(f"store {store_id!r}: ack_daily_cap: must not be negative")
    hourly_cap = _field(raw, store_id, "auto_replies_per_hour", int, 100)
    if hourly_cap < 0:
        raise ConfigError(f"store {store_id!r}: auto_replies_per_hour: must not be negative")
    no_reply = _field(raw, store_id, "no_reply_senders", list, list(DEFAULT_NO_REPLY_SENDERS))
    for local in no_reply:
        if not isinstance(local, str) or not local.strip() or "@" in local:
            raise ConfigError(
                f"store {store_id!r}: no_reply_senders: {local!r} is not the part of an "
                "address before the @ (for example 'noreply')"
            )
    locale = _field(raw, store_id, "locale", str, "en")
    templates = dict(_field(raw, store_id, "ack_templates", dict, {}))
    if "ack_template" in raw:  # the single template of earlier configurations
        templates.setdefault(locale, _field(raw, store_id, "ack_template", str))
    for language, template in templates.items():
        _check_ack_template(store_id, language, template)
    numbers = _field(raw, store_id, "phone_numbers", list, [])
    for number in numbers:
        if not isinstance(number, str) or not E164.match(number):
            raise ConfigError(f"store {store_id!r}: phone_numbers: {number!r} is not E.164")
    support = _field(raw, store_id, "support_address", str)
    if not EMAIL.match(support):
        raise ConfigError(f"store {store_id!r}: {support!r} is not an e-mail address")
    team = _parse_agents(store_id, _field(raw, store_id, "agents", list), calendar.timezone)
    notify = _field(raw, store_id, "notify", str, "assignee")
    if notify not in ("assignee", "all"):
        raise ConfigError(f"store {store_id!r}: notify: 'assignee' or 'all', got {notify!r}")
    reply_templates = _field(raw, store_id, "reply_templates", dict, {})
    for template_name, text in reply_templates.items():
        if not TEMPLATE_NAME.match(template_name) or not isinstance(text, str) or not text.strip():
            raise ConfigError(
                f"store {store_id!r}: reply_templates: {template_name!r} needs a lower-case "
                "name (letters, digits, - or _) and a non-empty text"
            )
        if "{order." not in text:
            continue
        # Only a template that names the attached order needs the agents' order wording.
        from chalicelib.domain.customer_view import ORDER_FIELDS, unknown_placeholders

        if unknown := unknown_placeholders(text):
            raise ConfigError(
                f"store {store_id!r}: reply_templates: {template_name!r} uses "
                f"{', '.join('{order.' + f + '}' for f in unknown)}; an order has "
                f"{', '.join('{order.' + f + '}' for f in ORDER_FIELDS)}"
            )
    retention_days = _field(raw, store_id, "retention_days", int, 365)
    if not 1 <= retention_days <= MAX_RETENTION_DAYS:
        raise ConfigError(
            f"store {store_id!r}: retention_days: 1 to {MAX_RETENTION_DAYS} days, "
            f"got {retention_days}"
        )
    reopen_window = _field(raw, store_id, "reopen_window_days", int, 7)
    if not 0 <= reopen_window < retention_days:
        # A reply inside the window must find its thread: retention outlives the window.
        raise ConfigError(
            f"store {store_id!r}: reopen_window_days: 0 up to retention_days "
            f"({retention_days}) exclusive, got {reopen_window}"
        )
    return StoreConfig(
        store_id=store_id,
        name=name,
        calendar=calendar,
        ack_cooldown_minutes=cooldown,
        ack_templates=templates,
        ack_daily_cap=daily_cap,
        auto_replies_per_hour=hourly_cap,
        no_reply_senders=frozenset(local.strip().lower() for local in no_reply),
        reopen_window_days=reopen_window,
        retention_days=retention_days,
        sla=_parse_sla(store_id, _field(raw, store_id, "sla", dict, {}), first_response),
        locale=locale,
        phone_numbers=frozenset(numbers),
        support_address=support.lower(),
        agents=frozenset(a.email for a in team),
        team=team,
        notify_all=notify == "all",
        reply_templates=reply_templates,
        survey=_field(raw, store_id, "survey", bool, False),
        whatsapp_template=_parse_whatsapp_template(
            store_id, _field(raw, store_id, "whatsapp_template", dict, {})
        ),
        commerce=parse_commerce(raw.get("commerce"), store_id),
        automation=_parse_automation(store_id, raw.get("automation"), base_dir),
        proactive=_parse_proactive(store_id, raw.get("proactive")),
        meta=_parse_meta(store_id, raw.get("meta")),
        report_to=_parse_report_to(store_id, raw.get("report_to", [])),
        voice=_parse_voice(store_id, raw.get("voice")),
        webchat=_parse_webchat(store_id, raw.get("webchat")),
    )


def _parse_meta(store_id: str, raw: object) -> MetaConfig | None:
    if raw is None:
        return None
    # Only a store with a page or an Instagram account needs the module (cold start).
    from chalicelib.domain.meta_config import MetaConfigError, parse_meta

    try:
        return parse_meta(raw, store_id=store_id)
    except MetaConfigError as exc:
        raise ConfigError(str(exc)) from exc


def _parse_report_to(store_id: str, raw: object) -> tuple[str, ...]:
    """The weekly report's recipients: a list of e-mail addresses (or one, as a string)."""
    addresses = [raw] if isinstance(raw, str) else raw
    if not isinstance(addresses, list):
        raise ConfigError(f"store {store_id!r}: report_to: a list of e-mail addresses")
    for address in addresses:
        if not isinstance(address, str) or not EMAIL.match(address.strip()):
            raise ConfigError(
                f"store {store_id!r}: report_to: {address!r} is not an e-mail address"
            )
    return tuple(dict.fromkeys(a.strip().lower() for a in addresses))


def _parse_voice(store_id: str, raw: object) -> VoiceSettings:
    try:
        return parse_voice(raw, store_id=store_id)
    except VoiceConfigError as exc:
        raise ConfigError(str(exc)) from exc


def _parse_webchat(store_id: str, raw: object) -> Webchat:
    try:
        return parse_webchat(raw, store_id=store_id)
    except WebchatConfigError as exc:
        raise ConfigError(str(exc)) from exc


def _parse_proactive(store_id: str, raw: object) -> Proactive:
    try:
        return parse_proactive(raw, store_id=store_id)
    except ProactiveConfigError as exc:
        raise ConfigError(str(exc)) from exc


def _parse_automation(store_id: str, raw: object, base_dir: Path | None) -> Automation:
    answers_file = None
    if isinstance(raw, dict) and isinstance(name := raw.get("answers_file"), str):
        path = (base_dir or DEFAULT_BASE_DIR) / name
        try:
            answers_file = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(
                f"store {store_id!r}: automation.answers_file: cannot read {path}: {exc}"
            ) from exc
        if not isinstance(answers_file, dict):
            raise ConfigError(
                f'store {store_id!r}: automation.answers_file: expected {{"answers": [...]}}'
            )
    try:
        return parse_automation(raw, store_id=store_id, answers_file=answers_file)
    except AnswersConfigError as exc:
        raise ConfigError(str(exc)) from exc


def _parse_agents(store_id: str, raw: list[Any], timezone: str) -> tuple[Agent, ...]:
    """Each agent: an address, or {"email", "name", "hours"} with their own duty hours."""
    if not raw:
        raise ConfigError(f"store {store_id!r}: agents: at least one agent is required")
    team = []
    for n, entry in enumerate(raw):
        where = f"store {store_id!r}: agents[{n}]"
        spec = {"email": entry} if isinstance(entry, str) else entry
        if not isinstance(spec, dict) or set(spec) - {"email", "name", "hours"}:
            raise ConfigError(f'{where}: an address or {{"email", "name", "hours"}}')
        email, name = spec.get("email"), spec.get("name")
        if not isinstance(email, str) or not EMAIL.match(email):
            raise ConfigError(f"{where}: {email!r} is not an e-mail address")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ConfigError(f"{where}: name: expected a non-empty string")
        hours = None
        if "hours" in spec:
            try:
                hours = BusinessCalendar.from_spec(timezone, spec["hours"], [])
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"{where}: hours: {exc}") from exc
        email = email.lower()
        team.append(Agent(email, (name or email.partition("@")[0]).strip(), hours))
    if len({a.email for a in team}) != len(team):
        raise ConfigError(f"store {store_id!r}: agents: an address is listed twice")
    return tuple(team)


def _parse_whatsapp_template(store_id: str, raw: Mapping[str, Any]) -> WhatsAppTemplate | None:
    if not raw:
        return None
    where = f"store {store_id!r}: whatsapp_template"
    sid, variables = raw.get("content_sid"), raw.get("variables", {})
    if not isinstance(sid, str) or not re.fullmatch(r"HX[0-9a-fA-F]{32}", sid):
        raise ConfigError(f"{where}.content_sid: a Twilio Content SID (HX + 32 hex), got {sid!r}")
    if not isinstance(variables, dict):
        raise ConfigError(f'{where}.variables: an object like {{"1": "{{customer_name}}"}}')
    for key, value in variables.items():
        if not isinstance(value, str):
            raise ConfigError(f"{where}.variables[{key!r}]: expected a string")
        try:
            names = {n for _, n, _, _ in Formatter().parse(value) if n is not None}
        except ValueError as exc:
            raise ConfigError(f"{where}.variables[{key!r}]: {exc}") from exc
        if unknown := names - WHATSAPP_TEMPLATE_PLACEHOLDERS:
            raise ConfigError(f"{where}.variables[{key!r}]: unknown {sorted(unknown)}")
    return WhatsAppTemplate(sid, dict(variables))


def _check_ack_template(store_id: str, language: str, template: object) -> None:
    where = f"store {store_id!r}: ack_templates[{language!r}]"
    if not isinstance(template, str):
        raise ConfigError(f"{where}: expected a string")
    try:
        names = {name for _, name, _, _ in Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    if not names & {"deadline", "by_deadline"}:
        raise ConfigError(f"{where}: must state the promise with {{deadline}} or {{by_deadline}}")
    if unknown := names - ACK_PLACEHOLDERS:
        known = ", ".join(f"{{{n}}}" for n in sorted(ACK_PLACEHOLDERS))
        raise ConfigError(f"{where}: unknown {sorted(unknown)}; use only {known}")


def _target(where: str, raw: object, default: Target | None) -> Target | None:
    if raw is None:
        return default
    if not isinstance(raw, dict):
        raise ConfigError(f'{where}: expected {{"minutes": N, "hours": "business"}}')
    minutes, hours = raw.get("minutes"), raw.get("hours", "business")
    if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes <= 0:
        raise ConfigError(f"{where}.minutes: a positive whole number, got {minutes!r}")
    if hours not in ("business", "calendar"):
        raise ConfigError(f"{where}.hours: 'business' or 'calendar', got {hours!r}")
    return Target(minutes, business_hours=hours == "business")


def _targets(where: str, raw: object, base: Targets) -> Targets:
    """Targets at one level; what a level leaves out, it takes from `base`."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected an object of targets")
    unknown = set(raw) - {FIRST_RESPONSE, NEXT_RESPONSE, RESOLUTION}
    if unknown:
        raise ConfigError(f"{where}: unknown target(s) {sorted(unknown)}")
    first = _target(f"{where}.{FIRST_RESPONSE}", raw.get(FIRST_RESPONSE), base.first_response)
    assert first is not None
    following = _target(f"{where}.{NEXT_RESPONSE}", raw.get(NEXT_RESPONSE), base.next_response)
    assert following is not None
    resolution = _target(f"{where}.{RESOLUTION}", raw.get(RESOLUTION), base.resolution)
    return Targets(first, following, resolution)


def _parse_sla(store_id: str, raw: Mapping[str, Any], first_response_minutes: int) -> SlaPolicy:
    where = f"store {store_id!r}: sla"
    first = Target(first_response_minutes)
    levels = {k: v for k, v in raw.items() if k in (FIRST_RESPONSE, NEXT_RESPONSE, RESOLUTION)}
    targets = _targets(where, levels, Targets(first, first))
    channels = raw.get("channels", {})
    if not isinstance(channels, dict) or not set(channels) <= SLA_CHANNELS:
        raise ConfigError(f"{where}.channels: an object keyed by {', '.join(sorted(SLA_CHANNELS))}")
    by_channel = {
        name: _targets(f"{where}.channels.{name}", value, targets)
        for name, value in channels.items()
    }
    priorities = raw.get("priorities", {})
    if not isinstance(priorities, dict) or not set(priorities) <= set(PRIORITIES):
        raise ConfigError(f"{where}.priorities: an object keyed by {', '.join(PRIORITIES)}")
    by_priority = {
        name: _targets(f"{where}.priorities.{name}", value, targets)
        for name, value in priorities.items()
    }
    fraction = raw.get("reminder_at", 0.75)
    if not isinstance(fraction, int | float) or not 0 <= fraction < 1:
        raise ConfigError(
            f"store {store_id!r}: sla.reminder_at: a share from 0 to 1, got {fraction!r}"
        )
    ladder = raw.get("escalations", [])
    if not isinstance(ladder, list):
        raise ConfigError(f"store {store_id!r}: sla.escalations: expected a list")
    steps = []
    for n, step in enumerate(ladder):
        where = f"store {store_id!r}: sla.escalations[{n}]"
        if not isinstance(step, dict):
            raise ConfigError(f"{where}: expected an object")
        after, email, sms = step.get("after_minutes", 0), step.get("email"), step.get("sms")
        if not isinstance(after, int) or after < 0:
            raise ConfigError(f"{where}: after_minutes: a whole number >= 0, got {after!r}")
        if (email is None) == (sms is None):
            raise ConfigError(f"{where}: give exactly one of email or sms")
        if email is not None and (not isinstance(email, str) or not EMAIL.match(email)):
            raise ConfigError(f"{where}: email: {email!r} is not an e-mail address")
        if sms is not None and (not isinstance(sms, str) or not E164.match(sms)):
            raise ConfigError(f"{where}: sms: {sms!r} is not an E.164 number")
        steps.append(Escalation(after, email, sms))
    return SlaPolicy(
        targets=targets,
        by_channel=by_channel,
        by_priority=by_priority,
        reminder_fraction=float(fraction),
        escalations=tuple(steps),
    )


def load_stores(path: Path) -> Stores:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the store configuration: {exc}") from exc
    raw_stores = document.get("stores") if isinstance(document, dict) else None
    if not isinstance(raw_stores, list) or not raw_stores:
        raise ConfigError(f'{path}: expected {{"stores": [ ... ]}} with at least one store')
    stores = [parse_store(raw, path.parent) for raw in raw_stores]
    ids = [s.store_id for s in stores]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{path}: store ids must be unique, got {ids}")
    return Stores(stores)
