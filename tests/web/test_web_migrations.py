"""The starter's migrations: they build exactly the models' schema, and run both ways."""

from __future__ import annotations

from erlen import Erlen
from erlen.ext.migrate import check
from erlen.ext.migrate import current_revisions
from erlen.ext.migrate import downgrade
from erlen.ext.migrate import head_revisions
from erlen.ext.migrate import upgrade


def test_models_and_migrations_are_in_sync(app: Erlen) -> None:
    check(app)  # raises SchemaDriftError listing the differences otherwise


def test_migrations_downgrade_to_nothing_and_back(app: Erlen) -> None:
    downgrade(app, "base")
    assert not current_revisions(app)
    upgrade(app)
    assert set(current_revisions(app)) == set(head_revisions(app))
    check(app)
