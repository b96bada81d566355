"""The starter's commands: ``erlen seed`` and ``erlen create-user``."""

from __future__ import annotations

import pytest
from erlen import Erlen
from erlen.testing import FlaskClient
from sqlalchemy import func
from sqlalchemy import select

from web.extensions import db
from web.models import Membership
from web.models import Message
from web.models import Room
from web.models import User
from web.services import demo


def _count(app: Erlen, model: type[object]) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_seed_fills_an_empty_database_once(app: Erlen) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert "Seeded 3 users" in result.output and demo.DEMO_PASSWORD in result.output
    assert (_count(app, User), _count(app, Room), _count(app, Message)) == (3, 2, 5)
    with app.app_context():
        ada = db.session.scalar(select(User).where(User.username == "ada"))
        assert ada is not None and ada.is_admin
        team = db.session.scalar(select(Room).where(Room.slug == "core-team"))
        assert team is not None and team.is_private
        members = db.session.scalars(
            select(User.username)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.room_id == team.id)
        )
        assert sorted(members) == ["ada", "grace"]

    again = runner.invoke(args=["seed"])
    assert again.exit_code == 1
    assert "already has users" in again.output
    assert _count(app, User) == 3  # nothing added


def test_the_seeded_users_can_log_in(app: Erlen, client: FlaskClient) -> None:
    assert app.test_cli_runner().invoke(args=["seed"]).exit_code == 0
    response = client.post("/login", data={"username": "linus", "password": demo.DEMO_PASSWORD})
    assert response.status_code == 302
    assert "Welcome to the general room" in client.get("/rooms/general").get_data(as_text=True)


def test_create_user_makes_an_admin_from_a_script(app: Erlen) -> None:
    result = app.test_cli_runner().invoke(
        args=["create-user", "Root", "--email", "Root@Example.com", "--admin", "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created admin 'root'" in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "root"))
        assert user is not None
        assert (user.is_admin, user.email) == (True, "root@example.com")


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["x!"], "a long enough password", "Invalid value for username: A username is 3 to 40"),
        (["bob"], "short", "Invalid value for password: A password is 10 to 256"),
        (["bob", "--email", "nope"], "a long enough password", "'nope' is not an email"),
    ],
)
def test_create_user_names_the_bad_value_and_creates_nothing(
    app: Erlen, args: list[str], password: str, message: str
) -> None:
    result = app.test_cli_runner().invoke(
        args=["create-user", *args, "--password-stdin"], input=password + "\n"
    )
    assert result.exit_code == 2
    assert message in result.output
    assert _count(app, User) == 0


def test_create_user_refuses_a_taken_username(app: Erlen) -> None:
    runner = app.test_cli_runner()
    args = ["create-user", "bob", "--password-stdin"]
    assert runner.invoke(args=args, input="a long enough password\n").exit_code == 0
    result = runner.invoke(args=args, input="another long password\n")
    assert result.exit_code == 2 and "The username 'bob' is taken." in result.output
