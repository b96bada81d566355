"""``get_or_404``, ``first_or_404`` and ``one_or_404``: a result, or a 404 page."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from werkzeug.exceptions import NotFound

import erlen
from erlen.ext.sqlalchemy import SQLAlchemy


@pytest.fixture
def views_app(db_app: erlen.Erlen, db: SQLAlchemy) -> erlen.Erlen:
    """Two authors, and views that look them up by id and by name."""
    Author = db.models.Author
    with db_app.app_context():
        db.session.add_all([Author(name="Ada"), Author(name="Grace")])
        db.session.commit()

    @db_app.get("/authors/<int:ident>")
    def by_id(ident: int) -> str:
        author = db.get_or_404(Author, ident, description=f"No author {ident}.")
        return str(author.name)

    @db_app.get("/first/<prefix>")
    def first(prefix: str) -> str:
        name: str = db.first_or_404(
            sa.select(Author.name).where(Author.name.startswith(prefix)).order_by(Author.name)
        )
        return name

    @db_app.get("/one/<prefix>")
    def one(prefix: str) -> str:
        author = db.one_or_404(sa.select(Author).where(Author.name.startswith(prefix)))
        return str(author.name)

    return db_app


def test_get_or_404_returns_the_row(views_app: erlen.Erlen) -> None:
    response = views_app.test_client().get("/authors/1")
    assert response.status_code == 200
    assert response.text == "Ada"


def test_get_or_404_answers_404_with_the_description(views_app: erlen.Erlen) -> None:
    response = views_app.test_client().get("/authors/99")
    assert response.status_code == 404
    assert "No author 99." in response.text


def test_first_or_404(views_app: erlen.Erlen) -> None:
    client = views_app.test_client()
    assert client.get("/first/G").text == "Grace"
    assert client.get("/first/").status_code == 404  # no route: empty segment
    assert client.get("/first/Z").status_code == 404


def test_one_or_404_needs_exactly_one_result(views_app: erlen.Erlen, db: SQLAlchemy) -> None:
    client = views_app.test_client()
    assert client.get("/one/Ad").text == "Ada"
    assert client.get("/one/Z").status_code == 404
    Author = db.models.Author
    with views_app.app_context():
        db.session.add(Author(name="Adele"))
        db.session.commit()
    assert client.get("/one/Ad").status_code == 404


def test_helpers_raise_not_found_outside_views(views_app: erlen.Erlen, db: SQLAlchemy) -> None:
    Author = db.models.Author
    with views_app.app_context():
        with pytest.raises(NotFound) as info:
            db.get_or_404(Author, 42, description="gone")
        assert info.value.description == "gone"
        with pytest.raises(NotFound):
            db.first_or_404(sa.select(Author).where(Author.name == "nobody"))
        with pytest.raises(NotFound):
            db.one_or_404(sa.select(Author))
