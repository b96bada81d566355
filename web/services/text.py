"""Text a database can store: the check every service applies to the strings it saves or
looks up.

Postgres refuses NUL in text, and no UTF-8 database can store a lone surrogate (JSON's
``"\\ud800"`` escape decodes to one); either would reach the driver and fail as a 500. They
are refused here instead, as a :class:`~web.errors.ValidationError` naming the field.
"""

from __future__ import annotations

from ..errors import ValidationError


def check_text(value: str, *, field: str) -> str:
    """Return ``value`` if it can be stored as text, else refuse it.

    :param field: the name the error message gives the value (``body``, ``username``).
    :raises ValidationError: ``value`` holds a NUL character or a lone surrogate.
    """
    if "\x00" in value:
        raise ValidationError(f"{field} must not contain NUL characters (\\u0000).", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValidationError(
            f"{field} is not valid Unicode text: it holds the lone surrogate {value[e.start]!r}.",
            field=field,
        ) from None
    return value
