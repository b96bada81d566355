"""Password hashing with argon2id, and upgrading stored hashes as users log in.

The parameters are OWASP's recommended minimum for argon2id (19 MiB of memory, 2
iterations, 1 lane), which keeps a login around 20 ms. Raise them with
:func:`set_password_hasher`; hashes made with older parameters are then upgraded on the
next successful login by :func:`verify_and_update`.

Hashes made by werkzeug's ``generate_password_hash`` (``scrypt:`` / ``pbkdf2:``) are
accepted too, and always need a rehash, so an app moving from werkzeug's helpers
migrates its users one login at a time.
"""

from __future__ import annotations

import typing as t

from argon2 import PasswordHasher
from argon2 import Type
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError

#: OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
OWASP_TIME_COST = 2
OWASP_MEMORY_COST = 19 * 1024
OWASP_PARALLELISM = 1

_WERKZEUG_PREFIXES = ("scrypt:", "pbkdf2:")


def make_password_hasher(
    *,
    time_cost: int = OWASP_TIME_COST,
    memory_cost: int = OWASP_MEMORY_COST,
    parallelism: int = OWASP_PARALLELISM,
) -> PasswordHasher:
    """Return an argon2id hasher; the defaults are OWASP's recommended minimum.

    :param time_cost: iterations.
    :param memory_cost: memory in KiB.
    :param parallelism: lanes.
    """
    return PasswordHasher(
        time_cost=time_cost,
        memory_cost=memory_cost,
        parallelism=parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


_hasher = make_password_hasher()
# Verified against when the user doesn't exist, so an unknown account takes as long to
# refuse as a wrong password and login timing doesn't reveal which accounts exist.
_dummy_hash: str | None = None


def set_password_hasher(hasher: PasswordHasher) -> None:
    """Use ``hasher`` for every new hash; existing hashes still verify and get upgraded."""
    global _hasher, _dummy_hash
    _hasher = hasher
    _dummy_hash = None


def get_password_hasher() -> PasswordHasher:
    """Return the hasher in use."""
    return _hasher


def hash_password(password: str) -> str:
    """Hash ``password`` with argon2id and a random salt; store the returned string."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Tell whether ``password`` matches ``password_hash``, in constant time.

    Never raises for a bad input: a missing, malformed or unknown-format hash is simply
    no match. werkzeug's ``scrypt:``/``pbkdf2:`` hashes are checked with werkzeug.
    """
    if not password_hash or not isinstance(password, str):
        return False
    if password_hash.startswith(_WERKZEUG_PREFIXES):
        from werkzeug.security import check_password_hash

        try:
            return check_password_hash(password_hash, password)
        except (ValueError, TypeError):
            return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        # VerifyMismatchError is a VerificationError.
        return False
    except UnicodeEncodeError:
        # A lone surrogate (JSON's "\ud800"): no password hashed from UTF-8 holds one.
        return False


def needs_rehash(password_hash: str) -> bool:
    """Tell whether ``password_hash`` was made with other parameters, or isn't argon2id."""
    if not password_hash.startswith("$argon2id$"):
        return True
    try:
        return _hasher.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


def _timing_dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("erlen timing dummy")
    return _dummy_hash


def verify_and_update(
    user: t.Any | None,
    password: str,
    set_hash: t.Callable[[t.Any, str], object],
    *,
    hash_attribute: str = "password_hash",
) -> bool:
    """Check a login's password and upgrade the user's stored hash if it is outdated.

    The stored hash is read from ``user.<hash_attribute>``. When the password matches and
    :func:`needs_rehash` says so, ``set_hash(user, new_hash)`` is called to store a fresh
    hash (the app saves it). Pass ``user=None`` for an unknown account: a dummy hash is
    verified anyway so that the answer takes as long as for a real one, and ``False``
    is returned.

    :return: whether the password is right.
    """
    if user is None:
        verify_password(_timing_dummy(), password)
        return False
    stored = getattr(user, hash_attribute, None)
    if not stored:
        verify_password(_timing_dummy(), password)
        return False
    if not verify_password(stored, password):
        return False
    if needs_rehash(stored):
        set_hash(user, hash_password(password))
    return True
