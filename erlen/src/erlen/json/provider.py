"""JSON providers: the object behind ``app.json`` that every JSON operation of an app goes through.

Subclass :class:`JSONProvider` to plug in another JSON library, or adjust the attributes of
:class:`DefaultJSONProvider` (the standard library :mod:`json`) on ``app.json``.
"""

from __future__ import annotations

import dataclasses
import decimal
import json
import typing as t
import uuid
import weakref
from datetime import date

from werkzeug.http import http_date

from .. import _fastpaths

if t.TYPE_CHECKING:  # pragma: no cover
    from werkzeug.sansio.response import Response

    from ..sansio.app import App


class JSONProvider:
    """The JSON operations of one application; the base for other JSON libraries.

    A subclass must implement at least :meth:`dumps` and :meth:`loads`; :meth:`dump`,
    :meth:`load` and :meth:`response` are built on them. Install one by setting
    :attr:`~erlen.Erlen.json_provider_class` on an app subclass, or by assigning an instance to
    ``app.json``.

    :param app: The application. Only a :func:`weakref.proxy` to it is kept, in :attr:`_app`, so
        the provider does not keep the app alive.
    """

    def __init__(self, app: App) -> None:
        self._app: App = weakref.proxy(app)

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialize ``obj`` to a JSON string.

        :param obj: The data to serialize.
        :param kwargs: Options for the underlying JSON library.
        """
        raise NotImplementedError

    def dump(self, obj: t.Any, fp: t.IO[str], **kwargs: t.Any) -> None:
        """Serialize ``obj`` as JSON and write it to a text file.

        :param obj: The data to serialize.
        :param fp: A file open for writing text, which should use UTF-8.
        :param kwargs: Options for the underlying JSON library.
        """
        fp.write(self.dumps(obj, **kwargs))

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        """Deserialize JSON text or UTF-8 bytes.

        :param s: The JSON document.
        :param kwargs: Options for the underlying JSON library.
        """
        raise NotImplementedError

    def load(self, fp: t.IO[t.AnyStr], **kwargs: t.Any) -> t.Any:
        """Deserialize the JSON document read from a file.

        :param fp: A file open for reading text or UTF-8 bytes.
        :param kwargs: Options for the underlying JSON library.
        """
        return self.loads(fp.read(), **kwargs)

    def _prepare_response_obj(self, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]) -> t.Any:
        # jsonify(x) -> x, jsonify(a, b) -> [a, b], jsonify(k=v) -> {k: v}, jsonify() -> null.
        if kwargs:
            if args:
                raise TypeError("app.json.response() takes either args or kwargs, not both")
            return kwargs
        if len(args) == 1:
            return args[0]
        return args or None

    def response(self, *args: t.Any, **kwargs: t.Any) -> Response:
        """Serialize the arguments as JSON into an ``application/json`` response.

        :func:`~erlen.json.jsonify` calls this on the current app.

        :param args: One value to serialize, or several to serialize as a list.
        :param kwargs: Items to serialize as an object. Not allowed together with ``args``.
            With no arguments at all, ``null`` is serialized.
        """
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(self.dumps(obj), mimetype="application/json")


def _default(o: t.Any) -> t.Any:
    """Convert the extra types :class:`DefaultJSONProvider` understands to JSON-ready values."""
    # date first: it also covers datetime, the most common case.
    if isinstance(o, date):
        return http_date(o)
    if isinstance(o, (decimal.Decimal, uuid.UUID)):
        return str(o)
    if dataclasses.is_dataclass(o):
        return dataclasses.asdict(o)  # type: ignore[arg-type]
    if hasattr(o, "__html__"):
        return str(o.__html__())
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


# The keyword arguments a cached encoder can stand in for; anything else goes to json.dumps.
_ENCODER_OPTIONS = frozenset(("default", "ensure_ascii", "sort_keys", "indent", "separators"))
_COMPACT_SEPARATORS = (",", ":")
_ENCODER_CACHE_LIMIT = 32
# Building a JSONEncoder costs about as much as encoding a small payload, so encoders are reused,
# keyed by their options. Keys hold the provider's current attribute values, so changing
# ``default`` or ``sort_keys`` on a provider just selects another encoder. Encoders keep no
# state between calls, so one can serve every provider and thread.
_encoders: dict[tuple[t.Any, ...], json.JSONEncoder] = {}


class DefaultJSONProvider(JSONProvider):
    """JSON through the standard library's :mod:`json`, with a few extra types.

    Besides the JSON types, it serializes:

    -   :class:`datetime.datetime` and :class:`datetime.date` as :rfc:`822` (HTTP date)
        strings;
    -   :class:`uuid.UUID` and :class:`decimal.Decimal` as strings;
    -   dataclass instances through :func:`dataclasses.asdict`;
    -   anything with an ``__html__`` method (such as :class:`~markupsafe.Markup`) as the
        string that method returns.
    """

    default: t.Callable[[t.Any], t.Any] = staticmethod(_default)
    """Called for objects :mod:`json` cannot serialize; returns a JSON-ready value or raises
    :exc:`TypeError`.
    """

    ensure_ascii = True
    """Escape non-ASCII characters. Turning this off gives shorter output that some older
    clients may mishandle.
    """

    sort_keys = True
    """Sort the keys of objects, which keeps output stable (for caching, say). All keys of a dict
    must then be mutually comparable.
    """

    compact: bool | None = None
    """Whether :meth:`response` leaves out indentation and spaces. ``None`` means compact except
    in debug mode.
    """

    mimetype = "application/json"
    """The mimetype of the responses :meth:`response` builds."""

    # Whether response() may skip dumps() (see erlen._fastpaths), decided per class.
    _fast_cached_encoder: t.ClassVar[bool]

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        _fastpaths.decide(cls, DefaultJSONProvider)

    def _encoder(
        self,
        default: t.Callable[[t.Any], t.Any],
        ensure_ascii: bool,
        sort_keys: bool,
        indent: t.Any,
        separators: t.Any,
    ) -> json.JSONEncoder:
        key = (default, ensure_ascii, sort_keys, indent, separators)
        encoder = _encoders.get(key)
        if encoder is None:
            encoder = json.JSONEncoder(
                default=default,
                ensure_ascii=ensure_ascii,
                sort_keys=sort_keys,
                indent=indent,
                separators=separators,
            )
            if len(_encoders) >= _ENCODER_CACHE_LIMIT:
                # Someone keeps swapping options; don't let the cache grow without bound.
                _encoders.clear()
            _encoders[key] = encoder
        return encoder

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialize ``obj`` to a JSON string with :func:`json.dumps`.

        ``default``, ``ensure_ascii`` and ``sort_keys`` default to the provider's attributes.

        :param obj: The data to serialize.
        :param kwargs: Passed to :func:`json.dumps`.
        """
        if kwargs.keys() <= _ENCODER_OPTIONS:
            try:
                encoder = self._encoder(
                    kwargs.get("default", self.default),
                    kwargs.get("ensure_ascii", self.ensure_ascii),
                    kwargs.get("sort_keys", self.sort_keys),
                    kwargs.get("indent"),
                    kwargs.get("separators"),
                )
            except TypeError:
                # An unhashable option (separators given as a list, say): no caching.
                pass
            else:
                return encoder.encode(obj)

        kwargs.setdefault("default", self.default)
        kwargs.setdefault("ensure_ascii", self.ensure_ascii)
        kwargs.setdefault("sort_keys", self.sort_keys)
        return json.dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        """Deserialize JSON text or UTF-8 bytes with :func:`json.loads`.

        :param s: The JSON document.
        :param kwargs: Passed to :func:`json.loads`.
        """
        return json.loads(s, **kwargs)

    def response(self, *args: t.Any, **kwargs: t.Any) -> Response:
        """Serialize the arguments as JSON into a response with :attr:`mimetype`.

        The body ends with a newline. It is indented for reading when :attr:`compact` is
        ``False``, or ``None`` while the app is in debug mode; otherwise it has no spaces.

        :param args: One value to serialize, or several to serialize as a list.
        :param kwargs: Items to serialize as an object. Not allowed together with ``args``.
            With no arguments at all, ``null`` is serialized.
        """
        obj = self._prepare_response_obj(args, kwargs)
        app = self._app
        compact = self.compact
        pretty = compact is False or (compact is None and app.debug)

        if self._fast_cached_encoder:
            # Nobody overrides dumps, so go straight to a cached encoder.
            key: tuple[t.Any, ...]
            if pretty:
                key = (self.default, self.ensure_ascii, self.sort_keys, 2, None)
            else:
                key = (self.default, self.ensure_ascii, self.sort_keys, None, _COMPACT_SEPARATORS)
            encoder = _encoders.get(key) or self._encoder(*key)
            body = encoder.encode(obj)
        elif pretty:
            body = self.dumps(obj, indent=2)
        else:
            body = self.dumps(obj, separators=_COMPACT_SEPARATORS)

        return app.response_class(f"{body}\n", mimetype=self.mimetype)


_fastpaths.decide(DefaultJSONProvider, DefaultJSONProvider)
