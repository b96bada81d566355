"""Dramatiq middleware that runs every job inside the application context."""

from __future__ import annotations

import threading
import typing as t

import dramatiq
from dramatiq.broker import MessageProxy

if t.TYPE_CHECKING:  # pragma: no cover
    from ...app import Erlen
    from ...ctx import AppContext as _AppContext


class AppContext(dramatiq.Middleware):
    """Push ``app.app_context()`` around each job, so jobs can use ``current_app``, ``g``
    and extensions bound to the app (``db.session``...).

    The context is popped after the job, successful or not, which runs the app's
    ``teardown_appcontext`` functions with the job's exception, exactly like a request.
    """

    def __init__(self, app: Erlen) -> None:
        self.app = app
        # Worker threads each process one message at a time; keep that thread's context.
        self._local = threading.local()

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        """Push a fresh application context for the job."""
        ctx = self.app.app_context()
        ctx.push()
        self._local.ctx = ctx

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: t.Any | None = None,
        exception: BaseException | None = None,
    ) -> None:
        """Pop the job's context, passing teardown functions the job's exception."""
        self._pop(exception)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        """Pop the context of a job that was skipped (if it had been pushed)."""
        self._pop(None)

    def _pop(self, exception: BaseException | None) -> None:
        ctx: _AppContext | None = getattr(self._local, "ctx", None)
        if ctx is None:
            # An earlier middleware skipped the message before this one pushed anything.
            return
        self._local.ctx = None
        ctx.pop(exception)
