"""Default implementations of what the login extension needs from user objects."""

from __future__ import annotations

import typing as t


class UserMixin:
    """The attributes and methods a logged-in user needs, with sensible defaults.

    ``get_id()`` returns ``str(self.id)``; override it when the primary key has another name.
    ``get_session_epoch()`` returns ``self.session_epoch`` (``0`` without one): store an
    integer column under that name, and bump it to end every session of the user (see
    :meth:`~erlen.ext.login.LoginManager.epoch_bumper`).
    """

    __hash__ = object.__hash__

    @property
    def is_active(self) -> bool:
        """Whether the account may log in (not suspended, say)."""
        return True

    @property
    def is_authenticated(self) -> bool:
        """Always ``True``: this is a real user."""
        return True

    @property
    def is_anonymous(self) -> bool:
        """Always ``False``: this is a real user."""
        return False

    def get_id(self) -> str:
        """Return the user's id as a string, the value the user loader receives."""
        try:
            return str(self.id)  # type: ignore[attr-defined]
        except AttributeError:
            raise NotImplementedError("No `id` attribute - override `get_id`") from None

    def get_session_epoch(self) -> int:
        """Return the user's session epoch; sessions from an older epoch are refused."""
        return int(getattr(self, "session_epoch", 0) or 0)

    def __eq__(self, other: object) -> bool:
        """Users are equal when they have the same id."""
        if isinstance(other, UserMixin):
            return self.get_id() == other.get_id()
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        if equal is NotImplemented:
            return NotImplemented
        return not equal


class AnonymousUserMixin:
    """The user object standing in for "nobody is logged in"."""

    @property
    def is_authenticated(self) -> bool:
        """Always ``False``."""
        return False

    @property
    def is_active(self) -> bool:
        """Always ``False``."""
        return False

    @property
    def is_anonymous(self) -> bool:
        """Always ``True``."""
        return True

    def get_id(self) -> None:
        """Anonymous users have no id."""
        return None


def user_epoch(user: t.Any) -> int:
    """Return ``user``'s session epoch: ``get_session_epoch()``, ``session_epoch``, or 0."""
    getter = getattr(user, "get_session_epoch", None)
    if callable(getter):
        return int(getter())
    return int(getattr(user, "session_epoch", 0) or 0)
