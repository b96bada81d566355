"""Where erlen takes a shortcut, and the one place each shortcut is decided.

erlen is faster than Flask partly because the common request skips general machinery: a
response built from a bare string fills its headers directly, a request context reuses the
URL adapter bound to its host, and so on. Each shortcut gives the same result as the general
path *only while nobody has replaced the method it skips*: a subclass overriding
``set_data`` must see its ``set_data`` called. So every shortcut is a :class:`FastPath`
listed below, with the members it skips, and is decided here once per class, when the
class is created (``__init_subclass__`` of the class that owns it), never per request. The
request code then reads one boolean class attribute, ``_fast_<name>``.

Setting the environment variable ``ERLEN_NO_FAST_PATHS=1`` (anything but empty, ``0``,
``false``, ``no`` or ``off``) before erlen is imported forces every shortcut off, so the
general paths can be tested on their own (``make test-framework-slow-paths`` runs erlen's
test suite that way). It is read once, at import: :data:`ENABLED`.

A decision looks at the class as it is when it is created: overriding a method in a
subclass is seen, assigning a new function onto an existing class afterwards (monkey
patching erlen's own classes) is not. Subclass instead, as Flask's documentation advises;
for tests that patch, ``ERLEN_NO_FAST_PATHS=1`` turns the shortcuts off.

The decisions (owner: shortcut — taken while these members are the owner's own):

``erlen.app.Erlen``

-   ``shared_url_adapter`` — a request context matches the URL on the adapter bound to its
    host (cached per host by :meth:`Erlen.create_url_adapter`) instead of asking for an
    adapter of its own; it makes one only if something (``url_for``) needs it. Skips:
    ``create_url_adapter``. Also needs ``bound_host_cache`` for the app's URL map.
-   ``sync_cache`` — :meth:`ensure_sync` is asked once per view or hook, its answer kept
    (whether a function is a coroutine function never changes). Skips: ``ensure_sync``,
    ``async_to_sync``.

``werkzeug.routing.Map`` (decided per URL map class, when the app is created)

-   ``bound_host_cache`` — the adapter bound to a request's host is cached per (host,
    scheme, script name, config) and reused with each request's own path, rather than
    binding to every environ. Skips: ``bind``, ``bind_to_environ``.

``werkzeug.exceptions.HTTPException`` (decided per error class, on first use)

-   ``direct_error_response`` — an error returned as a view's response is turned into a
    response directly, not run as a WSGI app whose output is parsed back. Skips:
    ``__call__``.
-   ``error_page_cache`` — the HTML page of an error is rendered once per (class, code,
    description) and kept (a bounded number of them). Skips: ``get_response``, ``get_body``,
    ``get_headers``, ``get_description``, ``name``.

``erlen.wrappers.Request``

-   ``ascii_args`` — a query string of plain ASCII without ``%`` or ``+`` is split on
    ``&`` and ``=`` directly; there is nothing to unquote. Skips nothing overridable.
-   ``direct_body`` — a body with a valid ``Content-Length`` is read from ``wsgi.input`` in
    one call instead of through werkzeug's size-limiting stream. Skips: ``stream``.
-   ``skip_close`` — popping a request context doesn't call ``request.close()`` when no
    files were parsed (werkzeug's ``close`` only closes those). Skips: ``close``.

``erlen.wrappers.Response``

-   ``bare_body_response`` — ``Response(body)`` with just a ``str``/``bytes`` body fills its
    ``Content-Type`` and ``Content-Length`` directly. Skips: ``set_data``, ``status``;
    needs ``default_status == 200`` and ``automatically_set_content_length``.
-   ``list_body_call`` — a buffered response of ``bytes`` chunks hands its list straight to
    the server. Skips: ``get_wsgi_response``, ``get_wsgi_headers``, ``get_app_iter``,
    ``iter_encoded``, ``close``. (Both response shortcuts also need werkzeug's ``Headers``
    to keep its pairs in a ``_list``, as it always has.)

``erlen.sessions.SecureCookieSessionInterface`` (any other interface takes neither)

-   ``lazy_session`` — the session is opened on first use instead of when the request
    context is pushed, and a request that never used it and sent no session cookie skips
    saving. Only for the built-in cookie session, whose opening has no side effects.
    Skips: ``open_session``, ``save_session``, ``should_set_cookie``, ``is_null_session``,
    ``make_null_session``, ``session_class``.
-   ``no_cookie_no_serializer`` — a request without a session cookie gets its new session
    without building a signing serializer. Skips: ``get_signing_serializer``.

``erlen.json.provider.DefaultJSONProvider``

-   ``cached_encoder`` — :meth:`response` encodes with a cached ``JSONEncoder`` instead of
    calling :meth:`dumps`. Skips: ``dumps``.

``erlen.json.tag.TaggedJSONSerializer``

-   ``builtin_tags`` — values of the common built-in types are tagged by their exact type
    instead of asking every tag in turn (and only while the serializer's tags are the
    default ones, checked per call as ``order`` may change). Skips: ``tag``.

``erlen.templating.Environment``

-   ``dict_getattr`` — ``{{ row.name }}`` on a plain ``dict`` looks the item up directly
    instead of failing an attribute lookup first. Skips nothing overridable.
-   ``template_globals`` — a template's globals are a ``ChainMap`` that looks keys up
    without raising ``KeyError`` from its first map. Skips nothing overridable.

``erlen.realtime.server.RealtimeConnection``

-   ``direct_send`` — fan-out writes an event's ready bytes straight to the socket of a
    connection on CPython's own asyncio transport while that transport has nothing
    buffered, instead of through ``transport.write()`` (whose Python code was a third of
    the fan-out's interpreter time); anything left over, or any error, goes through
    ``write()`` as before. Other transports (uvloop's, TLS) always use ``write()``. Skips
    nothing overridable.

``erlen.realtime.redis_broker.RedisBroker``

-   ``raw_pubsub`` — the pub/sub connection's bytes are read and parsed by the broker
    (``erlen.realtime.resp``), every event of one read dispatched in one go, instead of one
    ``get_message()`` coroutine chain per event; only while redis-py's connection has a
    plain asyncio stream and one of its Python parsers, holding nothing unread. Skips
    nothing overridable.
"""

from __future__ import annotations

import importlib
import os
import typing as t
from dataclasses import dataclass

from werkzeug.datastructures import Headers

#: Whether any shortcut may be taken; ``ERLEN_NO_FAST_PATHS=1`` (read once, at import) turns
#: every one off.
ENABLED: t.Final[bool] = os.environ.get("ERLEN_NO_FAST_PATHS", "").strip().lower() in (
    "",
    "0",
    "false",
    "no",
    "off",
)

_MISSING = object()


def _member(cls: type, name: str) -> object:
    """The raw class attribute ``name`` as ``cls`` resolves it: the first one in its MRO.

    Raw (from ``__dict__``), so a property, classmethod or staticmethod compares by
    identity like a plain function does.
    """
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    return _MISSING


def uses_default(cls: type, base: type, names: t.Iterable[str]) -> bool:
    """Whether ``cls`` resolves each of ``names`` to the same object ``base`` does."""
    return all(_member(cls, name) is _member(base, name) for name in names)


@dataclass(frozen=True, eq=False)
class FastPath:
    """One shortcut: the class that owns it and what a class must keep to take it.

    Compared and hashed by identity: each shortcut is one object, defined below.
    """

    #: The shortcut's name; its decision is stored on classes as ``_fast_<name>``.
    name: str
    #: ``module.qualname`` of the class whose code takes the shortcut.
    owner: str
    #: Methods and attributes the shortcut skips: they must be the base class's own.
    skips: tuple[str, ...] = ()
    #: Further conditions on the class (attribute values), if any.
    requires: t.Callable[[type], bool] | None = None

    @property
    def attribute(self) -> str:
        """The class attribute that holds this decision."""
        return f"_fast_{self.name}"

    def taken(self, cls: type, base: type) -> bool:
        """Whether ``cls`` (a subclass of ``base``, or ``base``) takes this shortcut."""
        if not ENABLED or not issubclass(cls, base):
            return False
        if not uses_default(cls, base, self.skips):
            return False
        return self.requires is None or self.requires(cls)


# The response shortcuts fill werkzeug's header list directly. It has been ``_list`` for as
# long as werkzeug has had ``Headers``; should that change, they are never taken.
_HEADERS_HAVE_LIST = isinstance(getattr(Headers(), "_list", None), list)


def _headers_have_list(cls: type) -> bool:
    return _HEADERS_HAVE_LIST


def _bare_body_defaults(cls: type) -> bool:
    # The shortcut writes status 200 and a Content-Length itself.
    return (
        _HEADERS_HAVE_LIST
        and cls.default_status == 200  # type: ignore[attr-defined]
        and bool(cls.automatically_set_content_length)  # type: ignore[attr-defined]
    )


SHARED_URL_ADAPTER = FastPath("shared_url_adapter", "erlen.app.Erlen", ("create_url_adapter",))
SYNC_CACHE = FastPath("sync_cache", "erlen.app.Erlen", ("ensure_sync", "async_to_sync"))
BOUND_HOST_CACHE = FastPath(
    "bound_host_cache", "werkzeug.routing.map.Map", ("bind", "bind_to_environ")
)
DIRECT_ERROR_RESPONSE = FastPath(
    "direct_error_response", "werkzeug.exceptions.HTTPException", ("__call__",)
)
ERROR_PAGE_CACHE = FastPath(
    "error_page_cache",
    "werkzeug.exceptions.HTTPException",
    ("get_response", "get_body", "get_headers", "get_description", "name"),
)
ASCII_ARGS = FastPath("ascii_args", "erlen.wrappers.Request")
DIRECT_BODY = FastPath("direct_body", "erlen.wrappers.Request", ("stream",))
SKIP_CLOSE = FastPath("skip_close", "erlen.wrappers.Request", ("close",))
BARE_BODY_RESPONSE = FastPath(
    "bare_body_response",
    "erlen.wrappers.Response",
    ("set_data", "status"),
    requires=_bare_body_defaults,
)
LIST_BODY_CALL = FastPath(
    "list_body_call",
    "erlen.wrappers.Response",
    ("get_wsgi_response", "get_wsgi_headers", "get_app_iter", "iter_encoded", "close"),
    requires=_headers_have_list,
)
LAZY_SESSION = FastPath(
    "lazy_session",
    "erlen.sessions.SecureCookieSessionInterface",
    (
        "open_session",
        "save_session",
        "should_set_cookie",
        "is_null_session",
        "make_null_session",
        "session_class",
    ),
)
NO_COOKIE_NO_SERIALIZER = FastPath(
    "no_cookie_no_serializer",
    "erlen.sessions.SecureCookieSessionInterface",
    ("get_signing_serializer",),
)
CACHED_ENCODER = FastPath("cached_encoder", "erlen.json.provider.DefaultJSONProvider", ("dumps",))
BUILTIN_TAGS = FastPath("builtin_tags", "erlen.json.tag.TaggedJSONSerializer", ("tag",))
DICT_GETATTR = FastPath("dict_getattr", "erlen.templating.Environment")
TEMPLATE_GLOBALS = FastPath("template_globals", "erlen.templating.Environment")
DIRECT_SEND = FastPath("direct_send", "erlen.realtime.server.RealtimeConnection")
RAW_PUBSUB = FastPath("raw_pubsub", "erlen.realtime.redis_broker.RedisBroker")

#: Every shortcut erlen has, in the order the module docstring lists them.
ALL: t.Final[tuple[FastPath, ...]] = (
    SHARED_URL_ADAPTER,
    SYNC_CACHE,
    BOUND_HOST_CACHE,
    DIRECT_ERROR_RESPONSE,
    ERROR_PAGE_CACHE,
    ASCII_ARGS,
    DIRECT_BODY,
    SKIP_CLOSE,
    BARE_BODY_RESPONSE,
    LIST_BODY_CALL,
    LAZY_SESSION,
    NO_COOKIE_NO_SERIALIZER,
    CACHED_ENCODER,
    BUILTIN_TAGS,
    DICT_GETATTR,
    TEMPLATE_GLOBALS,
    DIRECT_SEND,
    RAW_PUBSUB,
)


def _qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def decide(cls: type, owner: type) -> None:
    """Store on ``cls`` the decision of every shortcut ``owner``'s code takes.

    Each owner calls this for itself, right after its class statement, and from its
    ``__init_subclass__`` for every subclass; the owner's members are the defaults.
    """
    owner_name = _qualified_name(owner)
    for path in ALL:
        if path.owner == owner_name:
            setattr(cls, path.attribute, path.taken(cls, owner))


# Decisions about classes erlen doesn't define (so can't hook into their creation), made on
# first use, per shortcut. Few such classes exist (error classes, URL map classes); bounded
# all the same.
_foreign: dict[FastPath, dict[type, bool]] = {}
_FOREIGN_CACHE_SIZE = 256


def taken_by(path: FastPath, cls: type) -> bool:
    """Whether ``cls`` takes ``path``, for a class that can't store its own decision."""
    decisions = _foreign.get(path)
    if decisions is None:
        decisions = _foreign[path] = {}
    try:
        return decisions[cls]
    except KeyError:
        module, _, name = path.owner.rpartition(".")
        owner = getattr(importlib.import_module(module), name)
        decision = path.taken(cls, owner)
        if len(decisions) >= _FOREIGN_CACHE_SIZE:
            decisions.clear()
        decisions[cls] = decision
        return decision
