"""Tagged JSON: lossless JSON for a few non-JSON types.

A value JSON cannot represent is written as a one-item object whose key is a short *tag*
(``{" t": [1, 2]}`` for the tuple ``(1, 2)``); loading turns tagged objects back into the original
type. The session cookie serializer uses this, and it can be extended with new tags.

Extending it, for example to keep :class:`collections.OrderedDict` in order::

    from collections import OrderedDict

    from erlen.json.tag import JSONTag

    class TagOrderedDict(JSONTag):
        __slots__ = ()
        key = " od"

        def check(self, value):
            return isinstance(value, OrderedDict)

        def to_json(self, value):
            return [[k, self.serializer.tag(v)] for k, v in value.items()]

        def to_python(self, value):
            return OrderedDict(value)

    # Before the plain-dict tags, since an OrderedDict is also a dict.
    app.session_interface.serializer.register(TagOrderedDict, index=0)
"""

from __future__ import annotations

import re
import typing as t
from base64 import b64decode
from base64 import b64encode
from datetime import datetime
from datetime import UTC
from uuid import UUID

from markupsafe import Markup
from werkzeug.http import http_date
from werkzeug.http import parse_date

from .. import _fastpaths
from ..json import dumps
from ..json import loads


class JSONTag:
    """A type that :class:`TaggedJSONSerializer` knows how to tag and untag."""

    __slots__ = ("serializer",)

    #: The key marking values of this type. A tag with an empty key is a pass-through step:
    #: it converts values (e.g. the items of a list) without marking them.
    key: str = ""

    def __init__(self, serializer: TaggedJSONSerializer) -> None:
        """Bind the tag to the serializer that uses it."""
        self.serializer = serializer

    def check(self, value: t.Any) -> bool:
        """Return whether this tag handles ``value``."""
        raise NotImplementedError

    def to_json(self, value: t.Any) -> t.Any:
        """Turn ``value`` into JSON-ready data; the tag marker is added by :meth:`tag`."""
        raise NotImplementedError

    def to_python(self, value: t.Any) -> t.Any:
        """Rebuild the Python value from the data :meth:`to_json` produced."""
        raise NotImplementedError

    def tag(self, value: t.Any) -> dict[str, t.Any]:
        """Convert ``value`` and wrap it in a one-item object under :attr:`key`."""
        return {self.key: self.to_json(value)}


class TagDict(JSONTag):
    """Escape a one-item dict whose key happens to be a registered tag.

    Without this, ``{" t": [1]}`` would load back as a tuple. The key is stored with ``__``
    appended, which loading strips again.
    """

    __slots__ = ()
    key = " di"

    def check(self, value: t.Any) -> bool:
        return (
            isinstance(value, dict)
            and len(value) == 1
            and next(iter(value)) in self.serializer.tags
        )

    def to_json(self, value: t.Any) -> t.Any:
        ((key, item),) = value.items()
        return {f"{key}__": self.serializer.tag(item)}

    def to_python(self, value: t.Any) -> t.Any:
        key = next(iter(value))
        return {key[:-2]: value[key]}


class PassDict(JSONTag):
    """Tag the values of any other dict; JSON keys are always strings, so keys stay as they are."""

    __slots__ = ()

    def check(self, value: t.Any) -> bool:
        return isinstance(value, dict)

    def to_json(self, value: t.Any) -> t.Any:
        tag = self.serializer.tag
        return {k: tag(v) for k, v in value.items()}

    tag = to_json


class TagTuple(JSONTag):
    """Tuples, stored as lists with their items tagged."""

    __slots__ = ()
    key = " t"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, tuple)

    def to_json(self, value: t.Any) -> t.Any:
        tag = self.serializer.tag
        return [tag(item) for item in value]

    def to_python(self, value: t.Any) -> t.Any:
        return tuple(value)


class PassList(JSONTag):
    """Tag the items of a list, which is itself plain JSON."""

    __slots__ = ()

    def check(self, value: t.Any) -> bool:
        return isinstance(value, list)

    def to_json(self, value: t.Any) -> t.Any:
        tag = self.serializer.tag
        return [tag(item) for item in value]

    tag = to_json


class TagBytes(JSONTag):
    """Bytes, stored as base64 text."""

    __slots__ = ()
    key = " b"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, bytes)

    def to_json(self, value: t.Any) -> t.Any:
        return b64encode(value).decode("ascii")

    def to_python(self, value: t.Any) -> t.Any:
        return b64decode(value)


class TagMarkup(JSONTag):
    """Anything with an ``__html__`` method, stored as its HTML; loads as
    :class:`~markupsafe.Markup`."""

    __slots__ = ()
    key = " m"

    def check(self, value: t.Any) -> bool:
        return callable(getattr(value, "__html__", None))

    def to_json(self, value: t.Any) -> t.Any:
        return str(value.__html__())

    def to_python(self, value: t.Any) -> t.Any:
        return Markup(value)


class TagUUID(JSONTag):
    """UUIDs, stored as 32 hex digits."""

    __slots__ = ()
    key = " u"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, UUID)

    def to_json(self, value: t.Any) -> t.Any:
        return value.hex

    def to_python(self, value: t.Any) -> t.Any:
        return UUID(value)


class TagDateTime(JSONTag):
    """Datetimes, stored as HTTP dates (whole seconds, UTC); load as aware UTC datetimes."""

    __slots__ = ()
    key = " d"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, datetime)

    def to_json(self, value: t.Any) -> t.Any:
        return http_date(value)

    def to_python(self, value: t.Any) -> t.Any:
        # The format http_date writes, read with its four-digit year as written: the
        # general parser follows RFC 2822 and turns years 1-99 into 1950-2049.
        match = _HTTP_DATE.match(value)
        if match is not None and match["month"] in _MONTHS:
            day, year, hour, minute, second = map(
                int, match.group("day", "year", "hour", "minute", "second")
            )
            month = _MONTHS.index(match["month"]) + 1
            try:
                return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            except ValueError:
                pass  # e.g. 31 Feb: let the general parser decide, as it always did
        return parse_date(value)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_HTTP_DATE = re.compile(
    r"[A-Z][a-z]{2}, (?P<day>\d{2}) (?P<month>[A-Z][a-z]{2}) (?P<year>\d{4})"
    r" (?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2}) GMT\Z"
)


class TaggedJSONSerializer:
    """Dump and load JSON that keeps a few extra types, using :class:`JSONTag` tags.

    Handles :class:`dict` (including ones that look like tags), :class:`tuple`, :class:`bytes`,
    :class:`~markupsafe.Markup`, :class:`~uuid.UUID` and :class:`~datetime.datetime`. It is the
    intermediate serializer the session interface hands to :mod:`itsdangerous`.
    """

    __slots__ = ("tags", "order")

    # Whether dumps() may tag built-in values by their type (see erlen._fastpaths).
    _fast_builtin_tags: t.ClassVar[bool]

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        _fastpaths.decide(cls, TaggedJSONSerializer)

    #: The tag classes every new serializer registers, in order. More can be added per
    #: serializer with :meth:`register`.
    default_tags = [
        TagDict,
        PassDict,
        TagTuple,
        PassList,
        TagBytes,
        TagMarkup,
        TagUUID,
        TagDateTime,
    ]

    def __init__(self) -> None:
        #: Tags with a key, by key; used when loading.
        self.tags: dict[str, JSONTag] = {}
        #: Every tag, in the order values are checked against them when dumping.
        self.order: list[JSONTag] = []
        for tag_class in self.default_tags:
            self.register(tag_class)

    def register(
        self,
        tag_class: type[JSONTag],
        force: bool = False,
        index: int | None = None,
    ) -> None:
        """Add a tag to this serializer.

        :param tag_class: The tag class; it is instantiated with this serializer.
        :param force: Replace a registered tag with the same key instead of raising.
        :param index: Where to insert the tag in the check order; ``None`` appends it. Put a tag
            before a more general one it specializes (e.g. a dict subclass before dicts).
        :raise KeyError: The key is already registered and ``force`` is false.
        """
        tag = tag_class(self)
        key = tag.key
        if key:
            if key in self.tags and not force:
                raise KeyError(f"Tag '{key}' is already registered.")
            self.tags[key] = tag
        if index is None:
            self.order.append(tag)
        else:
            self.order.insert(index, tag)

    def tag(self, value: t.Any) -> t.Any:
        """Return the JSON-ready, tagged form of ``value``."""
        for tag in self.order:
            if tag.check(value):
                return tag.tag(value)
        return value

    def untag(self, value: dict[str, t.Any]) -> t.Any:
        """Turn one tagged object back into its value; other dicts are returned unchanged."""
        if len(value) == 1:
            key = next(iter(value))
            tag = self.tags.get(key)
            if tag is not None:
                return tag.to_python(value[key])
        return value

    def _untag_scan(self, value: t.Any) -> t.Any:
        # Bottom-up, so a tag's to_python always receives already restored items.
        if isinstance(value, dict):
            scan = self._untag_scan
            return self.untag({k: scan(v) for k, v in value.items()})
        if isinstance(value, list):
            scan = self._untag_scan
            return [scan(item) for item in value]
        return value

    def _uses_default_tags(self) -> bool:
        # The shortcut in _tag_builtins encodes what the default tags do; it is only valid
        # while no other tag (which might claim plain str, list, ... values) is in play. The
        # tags can change on an instance at any time, so they are compared on each call.
        return self._fast_builtin_tags and tuple(map(type, self.order)) == _DEFAULT_TAG_ORDER

    def _tag_builtins(self, value: t.Any) -> t.Any:
        # Same result as tag() under the default tags, but dispatching on the exact type of
        # the common values instead of asking every tag in turn. Anything else (subclasses,
        # bytes, UUIDs, ...) goes through tag() as usual.
        kind = type(value)
        if kind in _PLAIN_TYPES:
            return value
        if kind is dict:
            if len(value) == 1 and next(iter(value)) in self.tags:
                return self.tag(value)
            scan = self._tag_builtins
            return {k: scan(v) for k, v in value.items()}
        if kind is list:
            scan = self._tag_builtins
            return [scan(item) for item in value]
        if kind is tuple:
            scan = self._tag_builtins
            return {TagTuple.key: [scan(item) for item in value]}
        return self.tag(value)

    def dumps(self, value: t.Any) -> str:
        """Tag ``value`` and dump it as compact JSON."""
        if self._uses_default_tags():
            tagged = self._tag_builtins(value)
        else:
            tagged = self.tag(value)
        return dumps(tagged, separators=(",", ":"))

    def loads(self, value: str) -> t.Any:
        """Load a JSON string and restore every tagged value in it."""
        return self._untag_scan(loads(value))


_DEFAULT_TAG_ORDER = tuple(TaggedJSONSerializer.default_tags)
# Values no default tag claims, so they are already JSON-ready as they are.
_PLAIN_TYPES = frozenset((str, int, float, bool, type(None)))


_fastpaths.decide(TaggedJSONSerializer, TaggedJSONSerializer)
