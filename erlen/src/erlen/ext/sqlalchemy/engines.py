"""Engines from configuration: which URL each bind uses, and the options it is created with."""

from __future__ import annotations

import os
import time
import typing as t

from sqlalchemy import event
from sqlalchemy import exc
from sqlalchemy.engine import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.engine import URL
from sqlalchemy.pool import StaticPool

if t.TYPE_CHECKING:  # pragma: no cover
    from erlen.app import Erlen

#: Schemes that mean "Postgres, with whatever driver is around"; erlen ships psycopg 3.
_BARE_POSTGRES_SCHEMES = frozenset({"postgres", "postgresql"})


def normalize_url(url: str | URL) -> URL:
    """Parse a database URL, choosing psycopg 3 for a bare Postgres scheme.

    Hosting platforms hand out ``postgres://`` URLs, a spelling SQLAlchemy no longer accepts,
    and a bare ``postgresql://`` would pick psycopg2, which erlen doesn't install.
    """
    parsed = make_url(url)
    if parsed.drivername in _BARE_POSTGRES_SCHEMES:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _is_memory_sqlite(url: URL) -> bool:
    database = url.database
    if database in (None, "", ":memory:"):
        return True
    # sqlite:///file:name?mode=memory&uri=true is an in-memory database shared by name.
    return url.query.get("mode") == "memory"


def _sqlite_defaults(app: Erlen, url: URL, options: dict[str, t.Any]) -> URL:
    """Point a relative SQLite path at the instance folder; share one in-memory connection."""
    if _is_memory_sqlite(url):
        # Every pooled connection to :memory: would be a different, empty database, and the
        # one connection is used from whichever thread serves the request.
        options.setdefault("poolclass", StaticPool)
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault("check_same_thread", False)
        options["connect_args"] = connect_args
        return url

    database = url.database
    assert database is not None
    is_uri = str(url.query.get("uri", "")).lower() in ("true", "1")
    path = database[len("file:") :] if is_uri and database.startswith("file:") else database
    if os.path.isabs(path):
        return url

    # Relative to the instance folder, not to wherever the process happened to start.
    os.makedirs(app.instance_path, exist_ok=True)
    path = os.path.join(app.instance_path, path)
    return url.set(database=f"file:{path}" if is_uri else path)


def engine_options(
    app: Erlen,
    url: str | URL,
    options: t.Mapping[str, t.Any],
    *,
    echo: bool | str,
) -> tuple[URL, dict[str, t.Any]]:
    """The final URL and keyword arguments for :func:`sqlalchemy.create_engine`.

    :param app: The app whose instance folder relative SQLite paths resolve against.
    :param url: The configured URL.
    :param options: Options from the constructor, ``SQLALCHEMY_ENGINE_OPTIONS`` and the bind,
        already merged; they win over the defaults chosen here.
    :param echo: ``SQLALCHEMY_ECHO``.
    """
    parsed = normalize_url(url)
    merged = dict(options)

    if parsed.get_backend_name() == "sqlite":
        parsed = _sqlite_defaults(app, parsed, merged)
    # Server databases: connections idle for a while are checked on checkout (see
    # ping_after_idle), not every one: pool_pre_ping would add a round trip to every
    # request and job.
    if parsed.get_backend_name() == "mysql":
        # MySQL closes connections idle for 8 hours; its "utf8" is a 3-byte subset.
        merged.setdefault("pool_recycle", 7200)
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    merged.setdefault("echo", echo)
    merged.setdefault("echo_pool", echo)
    return parsed, merged


def default_url(app: Erlen) -> str | URL | None:
    """The default bind's URL: ``SQLALCHEMY_DATABASE_URI``, else ``DATABASE_URL`` from the
    config, else from the environment.
    """
    config = app.config
    for value in (
        config.get("SQLALCHEMY_DATABASE_URI"),
        config.get("DATABASE_URL"),
        os.environ.get("DATABASE_URL"),
    ):
        if value:
            return value if isinstance(value, URL) else str(value)
    return None


def engine_configs(
    app: Erlen, base_options: t.Mapping[str, t.Any]
) -> dict[str | None, dict[str, t.Any]]:
    """The options of the app's engine for every bind, keyed by bind key (``None`` is the
    default), each with its final ``url``: ready for :func:`sqlalchemy.engine_from_config`.

    The constructor's ``engine_options`` apply to every bind; ``SQLALCHEMY_ENGINE_OPTIONS``
    to the default bind only (as in Flask-SQLAlchemy); a bind given as a dict in
    ``SQLALCHEMY_BINDS`` brings its own options.

    :param app: The app to read ``SQLALCHEMY_*`` settings from.
    :param base_options: Engine options given to the extension's constructor.
    :raises RuntimeError: If no database is configured at all.
    """
    config = app.config
    configured: dict[str | None, dict[str, t.Any]] = {}
    for key, value in (config.get("SQLALCHEMY_BINDS") or {}).items():
        if isinstance(value, t.Mapping):
            if "url" not in value:
                raise RuntimeError(
                    f"The bind {key!r} in 'SQLALCHEMY_BINDS' is a dict without a 'url' key."
                )
            configured[key] = {**base_options, **value}
        else:
            configured[key] = {**base_options, "url": value}
    default = {**base_options, **(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})}
    url = default_url(app)
    if url is not None:
        default["url"] = url
    if "url" in default:
        configured[None] = {**configured.get(None, {}), **default}
    if not configured:
        raise RuntimeError("Either 'SQLALCHEMY_DATABASE_URI' or 'SQLALCHEMY_BINDS' must be set.")

    # True, False, or "debug" (which also logs result rows).
    echo: bool | str = config.get("SQLALCHEMY_ECHO", False)
    final: dict[str | None, dict[str, t.Any]] = {}
    for key, options in configured.items():
        options = dict(options)
        bind_url = options.pop("url")
        parsed, options = engine_options(app, bind_url, options, echo=echo)
        options["url"] = parsed
        final[key] = options
    return final


#: Seconds a pooled connection may sit unused before it is checked on checkout
#: (``SQLALCHEMY_PING_AFTER_IDLE``).
DEFAULT_PING_AFTER_IDLE = 10.0

_LAST_USED = "erlen.last_used"


def ping_after_idle_seconds(app: Erlen, url: URL, options: t.Mapping[str, t.Any]) -> float | None:
    """How long a connection of this engine may idle before it's pinged; ``None``: never.

    Only server databases are pinged (a SQLite file doesn't drop connections), and not when
    the options set ``pool_pre_ping`` themselves (that choice wins).
    """
    if url.get_backend_name() == "sqlite" or "pool_pre_ping" in options:
        return None
    value = app.config.get("SQLALCHEMY_PING_AFTER_IDLE", DEFAULT_PING_AFTER_IDLE)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(
            f"SQLALCHEMY_PING_AFTER_IDLE must be a number of seconds >= 0 or None, got {value!r}."
        )
    return float(value)


def ping_after_idle(engine: Engine, seconds: float) -> None:
    """Check a pooled connection on checkout when it sat unused for more than ``seconds``.

    A server drops connections that idle (restarts, failovers, proxies' idle timeouts);
    checking those on checkout turns a dead one into a reconnect instead of a failed
    request. A connection used moments ago is almost always alive, so it goes out without
    the round trip ``pool_pre_ping`` would spend on every checkout. One that died anyway
    fails its statement once; SQLAlchemy then recognises the disconnect and replaces every
    connection of the pool that is older than the failure.
    """

    @event.listens_for(engine, "checkin")
    def _used(dbapi_connection: t.Any, record: t.Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection: t.Any, record: t.Any, proxy: t.Any) -> None:
        last = record.info.get(_LAST_USED)
        if last is None or time.monotonic() - last <= seconds:
            return  # new, or used moments ago
        dialect = engine.dialect
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as e:
            if dialect.is_disconnect(e, dbapi_connection, None):
                # The pool discards this connection and checks out another (or a new one).
                raise exc.DisconnectionError(f"A pooled connection was dropped: {e}") from e
            raise
