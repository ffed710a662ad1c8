"""Meta's side of Messenger and Instagram Direct: the Send API, and its signed webhooks.

    POST /meta/{version}/me/messages     (JSON, `Authorization: Bearer <page token>`)
    GET  /meta/{version}/{user id}?fields=first_name,last_name   (or name,username)

each with `appsecret_proof` in the query, as an app set to "Require App Secret" demands
(the proof under the local app secret; otherwise Graph's error 100, in Meta's words),

answers as the Graph API does (`{"recipient_id", "message_id"}`, or Graph's error object)
and records each message in the outbox (`provider: meta`, `to`: the customer's bare
Page- or Instagram-scoped id, as Meta sees it; `messaging_type` and `tag` as sent; the
first 16 hex digits of the token's SHA-256, to tell which page sent it). Two
magic recipients answer with Meta's errors: `META_UNAVAILABLE_RECIPIENT` (551, "this person
isn't available") and `META_CLOSED_WINDOW_RECIPIENT` (code 10, subcode 2018278, the window).

The profile API knows the demo customers in `META_PROFILES` (Messenger's `first_name` and
`last_name`, Instagram's `name` and `username`); any other id is Graph's error 100.

The other direction is what Meta does with a customer's message: `messaging_event` and
`webhook_body` build a post shaped as Meta's documentation shows it (one entry per page or
Instagram account, a `messaging` list each), and `post_webhook` signs it with the app secret
(`X-Hub-Signature-256`) and posts it to the app (the CLI's and the tests' Meta).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, Final

from relaydesk.local_env import LOCAL_META_APP_SECRET
from relaydesk.sandbox.base import (
    BadRequest,
    Fault,
    Outbox,
    Request,
    Response,
    iso,
    json_object,
    now,
)

_SEND_PATH: Final = re.compile(r"^/meta/v[0-9]+\.[0-9]+/(?:me|[0-9]+)/messages$")
_PROFILE_PATH: Final = re.compile(r"^/meta/v[0-9]+\.[0-9]+/(?P<id>[0-9]+)$")
META_PROFILES: Final[dict[str, dict[str, str]]] = {
    "24680135792468": {"first_name": "Jana", "last_name": "Nováková"},
    "55500011122233": {"name": "Sara Lind", "username": "sara.lind"},
}
MESSAGING_TYPES: Final = ("RESPONSE", "UPDATE", "MESSAGE_TAG")
TAGS: Final = ("HUMAN_AGENT", "ACCOUNT_UPDATE", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE")
MAX_TEXT: Final = 2000
META_UNAVAILABLE_RECIPIENT: Final = "5515515515"
META_CLOSED_WINDOW_RECIPIENT: Final = "2018278000"
_MAGIC: Final[dict[str, tuple[int, int | None, str]]] = {
    META_UNAVAILABLE_RECIPIENT: (551, None, "This person isn't available right now."),
    META_CLOSED_WINDOW_RECIPIENT: (
        10,
        2018278,
        "(#10) This message is sent outside of allowed window.",
    ),
}


def graph_error(
    code: int, message: str, *, subcode: int | None = None, kind: str = "OAuthException"
) -> dict[str, Any]:
    """The Graph API's error body."""
    error: dict[str, Any] = {
        "message": message,
        "type": kind,
        "code": code,
        "fbtrace_id": "A" + uuid.uuid4().hex[:22],
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


_DEFAULT_CODES: Final = {400: 100, 401: 190, 403: 200, 429: 613, 500: 2, 503: 2}


class Meta:
    """The Provider for the Graph API's Send API."""

    name: Final = "meta"
    title: Final = "Meta's Graph API (Messenger and Instagram Send API)"

    def handles(self, request: Request) -> bool:
        if request.method == "GET":
            return _PROFILE_PATH.match(request.path) is not None
        return request.method == "POST" and _SEND_PATH.match(request.path) is not None

    def fault(self, fault: Fault) -> Response:
        """Graph's error object; without a `code`, Graph's usual one for the status
        (613 for 429, 2 for a 5xx, 190 for 401)."""
        status = fault.status
        code = fault.code if fault.code is not None else _DEFAULT_CODES.get(status, 1)
        headers = {}
        if fault.retry_after is not None:
            # Meta states the wait in whole minutes, in its usage header, never Retry-After.
            minutes = max(1, -(-fault.retry_after // 60))
            usage = {"0": [{"type": "messenger", "estimated_time_to_regain_access": minutes}]}
            headers["X-Business-Use-Case-Usage"] = json.dumps(usage)
        return Response(status, graph_error(code, fault.message or "Injected fault"), headers)

    def handle(self, request: Request, outbox: Outbox) -> Response:
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return Response(
                HTTPStatus.UNAUTHORIZED,
                graph_error(190, "An active access token must be used to query information."),
            )
        if (refused := _proof_refused(request, token.strip())) is not None:
            return refused
        if request.method == "GET":
            return _profile(request)
        try:
            body = json_object(request.body)
        except BadRequest as exc:
            return Response(HTTPStatus.BAD_REQUEST, graph_error(100, str(exc)))
        recipient = body.get("recipient")
        recipient = recipient if isinstance(recipient, dict) else {}
        to = str(recipient.get("id") or "")
        message = body.get("message")
        message = message if isinstance(message, dict) else {}
        text = message.get("text")
        kind, tag = body.get("messaging_type"), body.get("tag")
        problem = None
        if not to:
            problem = "(#100) The parameter recipient is required"
        elif kind not in MESSAGING_TYPES:
            problem = f"(#100) messaging_type must be one of {', '.join(MESSAGING_TYPES)}"
        elif kind == "MESSAGE_TAG" and tag not in TAGS:
            problem = "(#100) A MESSAGE_TAG message needs a valid tag"
        elif not isinstance(text, str) or not text.strip():
            problem = "(#100) Message text is required"
        elif len(text) > MAX_TEXT:
            problem = f"(#100) Param message[text] must be at most {MAX_TEXT} characters"
        if problem is not None:
            return Response(HTTPStatus.BAD_REQUEST, graph_error(100, problem))
        if (magic := _MAGIC.get(to)) is not None:
            code, subcode, said = magic
            return Response(HTTPStatus.BAD_REQUEST, graph_error(code, said, subcode=subcode))
        mid = "m_" + uuid.uuid4().hex
        outbox.record(
            [
                {
                    "provider": "meta",
                    "channel": "meta",
                    "from": "page",
                    "to": to,
                    "body": text,
                    "media_urls": [],
                    "messaging_type": kind,
                    "tag": tag,
                    # Which page's token sent it (a fingerprint: the token is a secret).
                    "token_sha256": hashlib.sha256(token.strip().encode()).hexdigest()[:16],
                    "subject": None,
                    "text": None,
                    "html": None,
                    "reply_to": None,
                    "headers": {},
                    "time": iso(now()),
                    "id": mid,
                }
            ]
        )
        return Response(HTTPStatus.OK, {"recipient_id": to, "message_id": mid})


def _proof_refused(request: Request, token: str) -> Response | None:
    """The app as set to "Require App Secret": every call proves it knows the app secret
    (`appsecret_proof`, HMAC-SHA256 of the token), with Meta's own words when it does not."""
    from urllib.parse import parse_qs

    proof = (parse_qs(request.query).get("appsecret_proof") or [""])[0]
    if not proof:
        said = "API calls from the server require an appsecret_proof argument"
        return Response(HTTPStatus.BAD_REQUEST, graph_error(100, said))
    expected = hmac.new(LOCAL_META_APP_SECRET.encode(), token.encode(), hashlib.sha256)
    if not hmac.compare_digest(proof, expected.hexdigest()):
        said = "Invalid appsecret_proof provided in the API argument"
        return Response(HTTPStatus.BAD_REQUEST, graph_error(100, said))
    return None


def _profile(request: Request) -> Response:
    """The User Profile API: the fields asked for, of a person who wrote to the page."""
    from urllib.parse import parse_qs

    matched = _PROFILE_PATH.match(request.path)
    assert matched is not None
    user_id = matched.group("id")
    known = META_PROFILES.get(user_id)
    if known is None:
        said = f"Unsupported get request. Object with ID '{user_id}' does not exist"
        return Response(HTTPStatus.BAD_REQUEST, graph_error(100, said, subcode=33))
    fields = (parse_qs(request.query).get("fields") or [""])[0].split(",")
    return Response(HTTPStatus.OK, {**{f: known[f] for f in fields if f in known}, "id": user_id})


# -- inbound: Meta calling the app's webhook ------------------------------------------------


def messaging_event(
    *,
    sender: str,
    recipient: str,
    text: str = "",
    mid: str | None = None,
    attachments: Sequence[Mapping[str, Any]] = (),
    echo: bool = False,
    story: Mapping[str, str] | None = None,
    quick_reply: str | None = None,
) -> dict[str, Any]:
    """One `messaging` item as Meta sends it for a message (an echo: the page's own)."""
    message: dict[str, Any] = {"mid": mid or f"m_{uuid.uuid4().hex}"}
    if text:
        message["text"] = text
    if attachments:
        message["attachments"] = [dict(a) for a in attachments]
    if echo:
        message |= {"is_echo": True, "app_id": 1517776481860111, "metadata": "relaydesk"}
    if story is not None:
        message["reply_to"] = {"story": dict(story)}
    if quick_reply is not None:
        message["quick_reply"] = {"payload": quick_reply}
    return {
        "sender": {"id": sender},
        "recipient": {"id": recipient},
        "timestamp": int(time.time() * 1000),
        "message": message,
    }


def webhook_body(obj: str, entries: Mapping[str, Sequence[Mapping[str, Any]]]) -> bytes:
    """A post: `obj` is "page" (Messenger) or "instagram"; `entries`: account id -> events."""
    stamp = int(time.time() * 1000)
    document = {
        "object": obj,
        "entry": [
            {"id": account, "time": stamp, "messaging": [dict(e) for e in events]}
            for account, events in entries.items()
        ],
    }
    return json.dumps(document).encode()


def signature(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def post_webhook(url: str, body: bytes, app_secret: str, timeout: float = 30) -> tuple[int, str]:
    """Post `body` signed as Meta signs it; (status, response text)."""
    from urllib.error import HTTPError
    from urllib.request import Request as UrlRequest
    from urllib.request import urlopen

    request = UrlRequest(  # noqa: S310 (the app's own URL, given by the caller)
        url,
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature(app_secret, body),
        },
    )
    try:
        with urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), response.read().decode("utf-8", errors="replace")
    except HTTPError as exc:
        return int(exc.code), exc.read().decode("utf-8", errors="replace")
