"""Signals for the model changes of each commit (``SQLALCHEMY_TRACK_MODIFICATIONS``).

Both are sent with the app as sender and ``changes``, a list of ``(instance, operation)``
pairs where the operation is ``"insert"``, ``"update"`` or ``"delete"``.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
import sqlalchemy.orm as sa_orm
from blinker import Namespace

from erlen.globals import current_app_context

_signals = Namespace()

#: Sent before a commit whose flushes changed models.
before_models_committed = _signals.signal("before-models-committed")
#: Sent after a commit whose flushes changed models.
models_committed = _signals.signal("models-committed")

_Changes = dict[int, tuple[t.Any, str]]


def _listen(target: sa_orm.sessionmaker[t.Any]) -> None:
    """Track the sessions ``target`` makes (once; it may serve several apps)."""
    if sa.event.contains(target, "before_flush", _record):
        return
    sa.event.listen(target, "before_flush", _record)
    sa.event.listen(target, "before_commit", _record)
    sa.event.listen(target, "before_commit", _before_commit)
    sa.event.listen(target, "after_commit", _after_commit)
    sa.event.listen(target, "after_rollback", _after_rollback)


def _app() -> t.Any | None:
    ctx = current_app_context()
    if ctx is None or not ctx.app.config.get("SQLALCHEMY_TRACK_MODIFICATIONS"):
        return None
    return ctx.app


def _changes(session: sa_orm.Session) -> _Changes:
    return t.cast(_Changes, session.info.setdefault("erlen_model_changes", {}))


def _record(session: sa_orm.Session, *args: t.Any) -> None:
    if _app() is None:
        return
    changes = _changes(session)
    for operation, instances in (
        ("insert", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for instance in instances:
            changes[id(instance)] = (instance, operation)


def _before_commit(session: sa_orm.Session) -> None:
    app = _app()
    changes = _changes(session)
    if app is not None and changes:
        before_models_committed.send(app, changes=list(changes.values()))


def _after_commit(session: sa_orm.Session) -> None:
    app = _app()
    changes = session.info.pop("erlen_model_changes", None)
    if app is not None and changes:
        models_committed.send(app, changes=list(changes.values()))


def _after_rollback(session: sa_orm.Session) -> None:
    session.info.pop("erlen_model_changes", None)
