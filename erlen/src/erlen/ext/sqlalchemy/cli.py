"""The shell context of ``erlen shell``: ``db`` and every model."""

from __future__ import annotations

import typing as t

from erlen.globals import get_app


def add_models_to_shell() -> dict[str, t.Any]:
    """``db`` and each model class of the current app's extension, by class name.

    Registered as a shell context processor by ``init_app`` unless
    ``add_models_to_shell=False``.
    """
    db = get_app("SQLAlchemy").extensions["sqlalchemy"]
    context: dict[str, t.Any] = {
        mapper.class_.__name__: mapper.class_ for mapper in db.Model.registry.mappers
    }
    context["db"] = db
    return context
