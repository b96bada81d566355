"""Recording the queries of a request (``SQLALCHEMY_RECORD_QUERIES``), for debugging and
profiling: which statements ran, with what parameters, how long they took, and where.
"""

from __future__ import annotations

import dataclasses
import inspect
import time
import typing as t

import sqlalchemy as sa

from erlen.globals import current_app_context

#: Where the recorded queries of an application context are kept, in ``g``.
_G_KEY = "_sqlalchemy_queries"


@dataclasses.dataclass
class _QueryInfo:
    """One recorded query.

    :param statement: The SQL sent to the database.
    :param parameters: The parameters sent with it.
    :param start_time: When it started, in :func:`time.perf_counter` seconds.
    :param end_time: When it finished, on the same clock.
    :param location: Where in the app's code it was run from: ``"path:line (function)"``.
    """

    statement: str | None
    parameters: t.Any
    start_time: float
    end_time: float
    location: str

    @property
    def duration(self) -> float:
        """How long the query took, in seconds."""
        return self.end_time - self.start_time


def get_recorded_queries() -> list[_QueryInfo]:
    """The queries recorded so far in the current application context.

    Only when ``SQLALCHEMY_RECORD_QUERIES`` is set for the app; an empty list otherwise or
    outside an application context.
    """
    ctx = current_app_context()
    if ctx is None:
        return []
    return t.cast("list[_QueryInfo]", ctx.g.get(_G_KEY, []))


def _listen(engine: sa.Engine) -> None:
    if not sa.event.contains(engine, "before_cursor_execute", _start):
        sa.event.listen(engine, "before_cursor_execute", _start)
        sa.event.listen(engine, "after_cursor_execute", _finish)


def _start(
    conn: sa.Connection,
    cursor: t.Any,
    statement: str,
    parameters: t.Any,
    context: t.Any,
    many: bool,
) -> None:
    if current_app_context() is not None and context is not None:
        context._erlen_query_start = time.perf_counter()


def _finish(
    conn: sa.Connection,
    cursor: t.Any,
    statement: str,
    parameters: t.Any,
    context: t.Any,
    many: bool,
) -> None:
    ctx = current_app_context()
    start = getattr(context, "_erlen_query_start", None)
    if ctx is None or start is None:
        return
    ctx.g.setdefault(_G_KEY, []).append(
        _QueryInfo(
            statement=context.statement,
            parameters=context.parameters,
            start_time=start,
            end_time=time.perf_counter(),
            location=_caller(ctx.app.import_name),
        )
    )


def _caller(import_name: str) -> str:
    """The innermost frame in the app's own package (or the outermost one outside
    SQLAlchemy and erlen), as ``"path:line (function)"``.
    """
    top = import_name.partition(".")[0]
    frame = inspect.currentframe()
    found = None
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module == top or module.startswith(top + "."):
            found = frame
            break
        if found is None and not module.startswith(("sqlalchemy", "erlen")):
            found = frame
        frame = frame.f_back
    if found is None:
        return "<unknown>"
    code = found.f_code
    return f"{code.co_filename}:{found.f_lineno} ({code.co_name})"
