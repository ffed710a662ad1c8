"""A store's Facebook page and Instagram account (`"meta"` in stores.json), validated.

Ids only: the page access token is a secret (META_PAGE_TOKEN_<STORE>, from the environment
or SSM), as are the app secret and the verify token, which are the deployment's (one Meta
app for all its stores).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

META_ID = re.compile(r"^[0-9]{5,32}$")
"""Meta's object ids are decimal numbers (pages: 15-16 digits, Instagram accounts: 17)."""
FIELDS = frozenset({"page_id", "instagram_id", "human_agent_tag"})


class MetaConfigError(ValueError):
    """The store's `meta` section is invalid; the message names the store and the field."""


@dataclass(frozen=True)
class MetaConfig:
    page_id: str | None
    """The Facebook page customers write to on Messenger; None: no Messenger."""
    instagram_id: str | None
    """The Instagram professional account linked to that page; None: no Instagram."""
    human_agent_tag: bool = False
    """The page has Meta's Human Agent permission: an agent may answer up to 7 days after
    the customer's last message (with the HUMAN_AGENT tag), not only within 24 hours."""


def page_token_name(store_id: str) -> str:
    """`demo-woo` -> META_PAGE_TOKEN_DEMO_WOO: one page token per store, so that one
    store's token never sends as another's page."""
    return f"META_PAGE_TOKEN_{store_id.upper().replace('-', '_')}"


def parse_meta(raw: Any, *, store_id: str) -> MetaConfig | None:
    if raw is None:
        return None
    where = f"store {store_id!r}: meta"
    if not isinstance(raw, dict):
        raise MetaConfigError(f'{where}: an object like {{"page_id": "1234567890"}}')
    if unknown := sorted(set(raw) - FIELDS):
        raise MetaConfigError(f"{where}: unknown field(s) {unknown}; use {sorted(FIELDS)}")
    ids: dict[str, str | None] = {}
    for name in ("page_id", "instagram_id"):
        value = raw.get(name)
        if value is not None and (not isinstance(value, str) or not META_ID.match(value)):
            raise MetaConfigError(
                f"{where}.{name}: the id as a string of digits (Meta's ids exceed what JSON "
                f"numbers keep exactly), got {value!r}"
            )
        ids[name] = value
    if ids["page_id"] is None and ids["instagram_id"] is None:
        raise MetaConfigError(f"{where}: give page_id, instagram_id or both")
    tag = raw.get("human_agent_tag", False)
    if not isinstance(tag, bool):
        raise MetaConfigError(f"{where}.human_agent_tag: true or false, got {tag!r}")
    return MetaConfig(ids["page_id"], ids["instagram_id"], tag)
