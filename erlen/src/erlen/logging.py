"""The application logger and the handler it falls back to."""

from __future__ import annotations

import logging
import sys
import typing as t

from werkzeug.local import LocalProxy

from .globals import _cv_request

if t.TYPE_CHECKING:  # pragma: no cover
    from .sansio.app import App


@LocalProxy
def wsgi_errors_stream() -> t.TextIO:
    """The stream errors should go to right now: the request's ``wsgi.errors``, else stderr.

    Use it as the stream of your own :class:`logging.StreamHandler` to log where the WSGI server
    expects errors. From file or dict logging configuration, refer to it as
    ``ext://erlen.logging.wsgi_errors_stream``.
    """
    ctx = _cv_request.get(None)
    if ctx is not None:
        return ctx.request.environ["wsgi.errors"]  # type: ignore[no-any-return]
    return sys.stderr


def has_level_handler(logger: logging.Logger) -> bool:
    """Return whether a handler on the way up from ``logger`` would emit its records.

    Walks ``logger`` and its ancestors while records propagate, looking for a handler whose
    level lets through the logger's :meth:`effective level <logging.Logger.getEffectiveLevel>`.
    """
    level = logger.getEffectiveLevel()
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            if handler.level <= level:
                return True
        if not current.propagate:
            return False
        current = current.parent
    return False


#: The handler :func:`create_logger` adds when nothing else would show the app's messages. It
#: writes to :data:`wsgi_errors_stream` in the format
#: ``[%(asctime)s] %(levelname)s in %(module)s: %(message)s``.
default_handler = logging.StreamHandler(wsgi_errors_stream)  # type: ignore[call-overload]
default_handler.setFormatter(
    logging.Formatter("[%(asctime)s] %(levelname)s in %(module)s: %(message)s")
)


def create_logger(app: App) -> logging.Logger:
    """Return the logger named after the app, set up so its messages are seen.

    The logger is ``logging.getLogger(app.name)``. In debug mode, a logger without a level of
    its own is set to :data:`logging.DEBUG`. If no handler in its chain would emit records at
    its effective level, :data:`default_handler` is added.
    """
    logger = logging.getLogger(app.name)

    if app.debug and not logger.level:
        logger.setLevel(logging.DEBUG)

    if not has_level_handler(logger):
        logger.addHandler(default_handler)

    return logger
