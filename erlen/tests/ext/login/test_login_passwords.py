"""Password hashing: argon2id at OWASP's parameters, upgraded as users log in."""

from __future__ import annotations

import typing as t

import pytest
from argon2 import PasswordHasher
from werkzeug.security import generate_password_hash

from erlen.ext.login import hash_password
from erlen.ext.login import needs_rehash
from erlen.ext.login import verify_and_update
from erlen.ext.login import verify_password
from erlen.ext.login.passwords import get_password_hasher
from erlen.ext.login.passwords import make_password_hasher
from erlen.ext.login.passwords import set_password_hasher


class Account:
    def __init__(self, password_hash: str | None) -> None:
        self.password_hash = password_hash


def _saver() -> tuple[list[str], t.Callable[[Account, str], None]]:
    saved: list[str] = []

    def save(user: Account, new_hash: str) -> None:
        user.password_hash = new_hash
        saved.append(new_hash)

    return saved, save


def test_hash_is_argon2id_with_owasp_parameters() -> None:
    hashed = hash_password("s3cret")

    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_same_password_hashes_differently_each_time() -> None:
    assert hash_password("s3cret") != hash_password("s3cret")


def test_verify_accepts_the_right_password_only() -> None:
    hashed = hash_password("s3cret")

    assert verify_password(hashed, "s3cret") is True
    assert verify_password(hashed, "S3cret") is False
    assert verify_password(hashed, "") is False


@pytest.mark.parametrize("stored", [None, "", "plaintext", "$argon2id$garbage", "pbkdf2:x"])
def test_verify_is_false_never_an_error_for_bad_hashes(stored: str | None) -> None:
    assert verify_password(stored, "s3cret") is False


def test_fresh_hash_needs_no_rehash() -> None:
    assert needs_rehash(hash_password("s3cret")) is False


def test_weaker_parameters_and_other_formats_need_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("s3cret")

    assert needs_rehash(weak) is True
    assert needs_rehash(generate_password_hash("s3cret")) is True
    assert needs_rehash("not a hash") is True


def test_werkzeug_hashes_still_verify() -> None:
    assert verify_password(generate_password_hash("s3cret", "pbkdf2"), "s3cret") is True
    assert verify_password(generate_password_hash("s3cret", "pbkdf2"), "other") is False


def test_verify_and_update_upgrades_an_outdated_hash_on_login() -> None:
    account = Account(generate_password_hash("s3cret", "pbkdf2"))
    saved, save = _saver()

    assert verify_and_update(account, "s3cret", save) is True

    assert len(saved) == 1
    assert account.password_hash is not None
    assert account.password_hash.startswith("$argon2id$")
    assert verify_password(account.password_hash, "s3cret")


def test_verify_and_update_leaves_a_current_hash_alone() -> None:
    account = Account(hash_password("s3cret"))
    saved, save = _saver()

    assert verify_and_update(account, "s3cret", save) is True
    assert saved == []


def test_verify_and_update_never_saves_on_a_wrong_password() -> None:
    account = Account(generate_password_hash("s3cret", "pbkdf2"))
    saved, save = _saver()

    assert verify_and_update(account, "wrong", save) is False
    assert saved == []


@pytest.mark.parametrize("user", [None, Account(None)], ids=["unknown", "no-password"])
def test_verify_and_update_refuses_users_without_a_password(user: Account | None) -> None:
    saved, save = _saver()

    assert verify_and_update(user, "s3cret", save) is False
    assert saved == []


def test_raising_the_parameters_upgrades_existing_hashes() -> None:
    old = hash_password("s3cret")
    previous = get_password_hasher()
    set_password_hasher(make_password_hasher(time_cost=3))
    try:
        assert needs_rehash(old) is True
        assert verify_password(old, "s3cret") is True
        assert hash_password("s3cret").startswith("$argon2id$v=19$m=19456,t=3,p=1$")
    finally:
        set_password_hasher(previous)


def test_a_password_utf8_cant_encode_is_no_match_not_an_error() -> None:
    # JSON's "\ud800" escape decodes to a lone surrogate, which no UTF-8 password holds.
    assert verify_password(hash_password("s3cret"), "s3cret\ud800") is False
