"""D2 (F9): the story's pgp_sym_encrypt / pgp_sym_decrypt pattern works as written, and a
secret stored without encryption is rejected by tenants_azure_app_secret_check.

pgp_key_id() alone only parses the first packet header, so a value whose first byte is a
tag-3 header (0x8C-0x8F, or 0xC3: UTF-8's first byte of U+00C0-U+00FF, "é", "Ü"...) would
pass it; the CHECK also requires the packet layout pgp_sym_encrypt() writes, and the
plaintexts below that start like a packet header prove it.
"""

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .outcomes import attempt, describe, outcome
from .strategies import examples_share_fixtures, text

# The story's "Encryption Pattern", with the key as a parameter instead of a literal.
STORY_INSERT = """
    INSERT INTO tenants (name, azure_tenant_id, azure_app_id, azure_app_secret)
    VALUES (%s, %s, %s, pgp_sym_encrypt(%s, %s)) RETURNING id
"""
STORY_SELECT = """
    SELECT id, name, pgp_sym_decrypt(azure_app_secret::bytea, %s) as azure_app_secret
    FROM tenants WHERE id = %s
"""
PLAIN_INSERT = """
    INSERT INTO tenants (name, azure_tenant_id, azure_app_id, azure_app_secret)
    VALUES ('Plaintext', gen_random_uuid(), gen_random_uuid(), %s)
"""
REJECTED = "23514 tenants_azure_app_secret_check"

keys = text(min_size=1, max_size=64)  # pgp_sym_encrypt refuses an empty key (39000)


@examples_share_fixtures
@given(secret=text(max_size=200), key=keys, wrong_key=keys)
def test_story_pattern_round_trips_secrets(db, secret, key, wrong_key):
    with db.transaction(force_rollback=True):
        (tenant_id,) = db.execute(STORY_INSERT, ("Tenant", uuid.uuid4(), uuid.uuid4(), secret,
                                                 key)).fetchone()
        assert db.execute(STORY_SELECT, (key, tenant_id)).fetchone()[2] == secret
        if wrong_key != key:
            error = attempt(db, STORY_SELECT, (wrong_key, tenant_id))
            assert describe(error) == "39000 Wrong key or corrupt data"


ascii_led_text = st.tuples(st.characters(max_codepoint=127, exclude_characters="\x00"),
                           text(max_size=200)).map("".join)


@examples_share_fixtures
@given(plaintext=ascii_led_text | st.just(""))
def test_plaintext_text_is_rejected(db, plaintext):
    with db.transaction(force_rollback=True):
        assert outcome(db, PLAIN_INSERT, (plaintext.encode(),)) == REJECTED


@examples_share_fixtures
@given(plaintext=st.binary(max_size=200)
       | st.binary(max_size=200).map(lambda rest: b"\xc3" + rest)  # a tag-3 header first
       | text().map(str.encode))
def test_plaintext_bytes_are_rejected(db, plaintext):
    with db.transaction(force_rollback=True):
        assert outcome(db, PLAIN_INSERT, (plaintext,)) == REJECTED


@pytest.mark.parametrize("plaintext", [
    pytest.param("é".encode(), id="text-starting-with-e-acute"),
    pytest.param("Überweisung-2026!".encode(), id="text-starting-with-u-umlaut"),
    pytest.param(b"\x8c\x00", id="old-format-tag-3-header"),
    pytest.param(b"\xc3\x0d\x04\x07\x03\x02", id="cut-off-session-key-packet"),
])
def test_plaintext_that_starts_like_a_pgp_packet_is_rejected(db, plaintext):
    assert outcome(db, PLAIN_INSERT, (plaintext,)) == REJECTED
