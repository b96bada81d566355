"""JSON helpers that follow the current application's :attr:`~erlen.Erlen.json` provider.

Inside an application context each function delegates to ``current_app.json``, so an app's JSON
customizations apply everywhere. Outside one, the standard library :mod:`json` is used, with the
same extra types as :class:`~erlen.json.provider.DefaultJSONProvider`.
"""

from __future__ import annotations

import json as _json
import typing as t

from ..globals import _cv_app
from ..globals import current_app
from .provider import _default

if t.TYPE_CHECKING:  # pragma: no cover
    from ..wrappers import Response


def dumps(obj: t.Any, **kwargs: t.Any) -> str:
    """Serialize ``obj`` to a JSON string.

    Uses :meth:`app.json.dumps() <erlen.json.provider.JSONProvider.dumps>` when an app context
    is active, else :func:`json.dumps`.

    :param obj: The data to serialize.
    :param kwargs: Passed to the ``dumps`` implementation.

    Calls ``current_app.json.dumps``, so an app can override it.
    """
    ctx = _cv_app.get(None)
    if ctx is not None:
        return ctx.app.json.dumps(obj, **kwargs)
    kwargs.setdefault("default", _default)
    return _json.dumps(obj, **kwargs)


def dump(obj: t.Any, fp: t.IO[str], **kwargs: t.Any) -> None:
    """Serialize ``obj`` as JSON and write it to a text file.

    Uses :meth:`app.json.dump() <erlen.json.provider.JSONProvider.dump>` when an app context is
    active, else :func:`json.dump`.

    :param obj: The data to serialize.
    :param fp: A file open for writing text, which should use UTF-8.
    :param kwargs: Passed to the ``dump`` implementation.
    """
    ctx = _cv_app.get(None)
    if ctx is not None:
        ctx.app.json.dump(obj, fp, **kwargs)
        return
    kwargs.setdefault("default", _default)
    _json.dump(obj, fp, **kwargs)


def loads(s: str | bytes, **kwargs: t.Any) -> t.Any:
    """Deserialize JSON text or UTF-8 bytes.

    Uses :meth:`app.json.loads() <erlen.json.provider.JSONProvider.loads>` when an app context
    is active, else :func:`json.loads`.

    :param s: The JSON document.
    :param kwargs: Passed to the ``loads`` implementation.
    """
    ctx = _cv_app.get(None)
    if ctx is not None:
        return ctx.app.json.loads(s, **kwargs)
    return _json.loads(s, **kwargs)


def load(fp: t.IO[t.AnyStr], **kwargs: t.Any) -> t.Any:
    """Deserialize the JSON document read from a file.

    Uses :meth:`app.json.load() <erlen.json.provider.JSONProvider.load>` when an app context is
    active, else :func:`json.load`.

    :param fp: A file open for reading text or UTF-8 bytes.
    :param kwargs: Passed to the ``load`` implementation.
    """
    ctx = _cv_app.get(None)
    if ctx is not None:
        return ctx.app.json.load(fp, **kwargs)
    return _json.load(fp, **kwargs)


def jsonify(*args: t.Any, **kwargs: t.Any) -> Response:
    """Serialize the arguments as JSON into an ``application/json`` response.

    A view can also just return a dict or list; it is converted the same way. This calls
    :meth:`app.json.response() <erlen.json.provider.JSONProvider.response>` and so needs an
    active application context. In debug mode the output is indented, unless the provider says
    otherwise.

    .. code-block:: python

        return jsonify(user=name, id=42)  # {"id": 42, "user": "..."}
        return jsonify([1, 2, 3])          # [1, 2, 3]

    :param args: One value to serialize, or several to serialize as a list.
    :param kwargs: Items to serialize as an object. Not allowed together with ``args``. With no
        arguments at all, ``null`` is serialized.
    """
    ctx = _cv_app.get(None)
    if ctx is None:
        # Let the proxy raise its "Working outside of application context" error.
        return current_app.json.response(*args, **kwargs)  # type: ignore[return-value]
    return ctx.app.json.response(*args, **kwargs)  # type: ignore[return-value]
