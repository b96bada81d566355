"""Pooled connections that sat idle are checked on checkout; busy ones go out at once.

Against real Postgres: a connection whose server process was terminated while it idled in
the pool is replaced without failing the request, and a connection used moments ago costs
no ping round trip (what ``pool_pre_ping`` would spend on every request and job).
"""

from __future__ import annotations

import time
import typing as t

import psycopg
import pytest
import sqlalchemy as sa

import erlen
from erlen.ext.sqlalchemy import SQLAlchemy


def _app(url: str, **config: t.Any) -> erlen.Erlen:
    app = erlen.Erlen("idle_ping")
    app.config.update(SQLALCHEMY_DATABASE_URI=url, **config)
    return app


def _backend_pid(db: SQLAlchemy) -> int:
    pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    db.session.remove()  # back to the pool
    return int(pid)


def _count_pings(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> list[t.Any]:
    pings: list[t.Any] = []
    real = engine.dialect.do_ping

    def counted(dbapi_connection: t.Any) -> bool:
        pings.append(dbapi_connection)
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pings


def _terminate(db: SQLAlchemy, pid: int) -> None:
    """End a server session, as a restart, a failover or an idle timeout would."""
    dsn = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_connection_dropped_while_idle_is_replaced_without_an_error(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(postgres_url, SQLALCHEMY_PING_AFTER_IDLE=0.2)
    db = SQLAlchemy(app)
    with app.app_context():
        pings = _count_pings(db.engine, monkeypatch)
        first = _backend_pid(db)
        _terminate(db, first)
        time.sleep(0.3)

        second = _backend_pid(db)

        assert second != first
        assert len(pings) == 1
        db.engine.dispose()


def test_without_the_check_the_same_drop_fails_the_request(postgres_url: str) -> None:
    # The contrast that shows the test above kills a connection the pool would hand out.
    app = _app(postgres_url, SQLALCHEMY_PING_AFTER_IDLE=None)
    db = SQLAlchemy(app)
    with app.app_context():
        _terminate(db, _backend_pid(db))
        time.sleep(0.3)

        with pytest.raises(sa.exc.OperationalError):
            _backend_pid(db)
        db.session.remove()
        assert _backend_pid(db) > 0  # the pool recovered after the one failure
        db.engine.dispose()


def test_connections_used_moments_ago_are_not_pinged(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(postgres_url, SQLALCHEMY_PING_AFTER_IDLE=60)
    db = SQLAlchemy(app)
    with app.app_context():
        pings = _count_pings(db.engine, monkeypatch)
        pids = {_backend_pid(db) for _ in range(20)}

        assert len(pids) == 1  # the same pooled connection every time
        assert pings == []
        db.engine.dispose()


def test_pool_pre_ping_given_in_the_options_wins(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(postgres_url, SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True})
    db = SQLAlchemy(app)
    with app.app_context():
        assert db.engine.pool._pre_ping is True
        assert not sa.event.contains(db.engine, "checkout", _checkout_listener(db.engine))
        db.engine.dispose()


def _checkout_listener(engine: sa.Engine) -> t.Callable[..., t.Any]:
    # The idle ping's listener is a closure named _check; find it if it was attached.
    for listener in engine.pool.dispatch.checkout:
        if getattr(listener, "__name__", "") == "_check":
            return listener
    return lambda *a: None


@pytest.mark.parametrize("value", [-1, "10", True])
def test_a_bad_idle_setting_is_an_error_naming_it(value: object) -> None:
    app = _app("postgresql+psycopg://nobody@127.0.0.1:1/none", SQLALCHEMY_PING_AFTER_IDLE=value)
    with pytest.raises(ValueError, match="SQLALCHEMY_PING_AFTER_IDLE must be a number"):
        SQLAlchemy(app)
