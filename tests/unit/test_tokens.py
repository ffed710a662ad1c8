from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import tokens

SECRET = b"unit-test-secret"


def test_round_trip_and_address() -> None:
    address = tokens.reply_address(SECRET, "demo", "0a1b2c3d4e5f6071", "reply.relaydesk.test")
    assert address.startswith("reply+demo.0a1b2c3d4e5f6071.")
    assert len(address.partition("@")[0]) <= 64
    token = tokens.token_from_address(address.upper(), "reply.relaydesk.test")
    assert token is not None
    assert tokens.verify(SECRET, token) == ("demo", "0a1b2c3d4e5f6071")


def test_other_addresses_carry_no_token() -> None:
    assert tokens.token_from_address("support@demo.relaydesk.test", "reply.relaydesk.test") is None
    assert tokens.token_from_address("reply+x@elsewhere.test", "reply.relaydesk.test") is None


@given(
    st.text(alphabet="abcdef0123456789", min_size=1, max_size=16), st.sampled_from(["demo", "acme"])
)
def test_changing_store_or_thread_breaks_the_token(thread_id: str, store_id: str) -> None:
    token = tokens.sign(SECRET, store_id, thread_id)
    assert tokens.verify(SECRET, token) == (store_id, thread_id)
    _, _, mac = token.split(".")
    other_store = "acme" if store_id == "demo" else "demo"
    assert tokens.verify(SECRET, f"{other_store}.{thread_id}.{mac}") is None
    assert tokens.verify(SECRET, f"{store_id}.{thread_id}0.{mac}") is None
    assert tokens.verify(b"another-secret", token) is None


def test_garbage_tokens_do_not_verify() -> None:
    for token in ["", "demo", "demo.abc", "demo.abc.!!!!", "demo.abc." + "a" * 16]:
        assert tokens.verify(SECRET, token) is None
