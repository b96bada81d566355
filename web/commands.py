"""The starter's own ``erlen`` commands: ``erlen --app web.wsgi seed | create-user``.

(``erlen db ...`` and ``erlen jobs ...`` come from the extensions; ``erlen routes`` from the
framework.)
"""

from __future__ import annotations

import sys

import click
from erlen import Erlen
from erlen.cli import with_appcontext

from .errors import ValidationError
from .extensions import db
from .services import accounts
from .services import demo


@click.command("seed")
@with_appcontext
def seed_command() -> None:
    """Fill an empty database with demo users, rooms and messages."""
    if not demo.is_empty(session=db.session):
        raise click.ClickException(
            "The database already has users; `erlen seed` only fills an empty one."
        )
    seeded = demo.seed(session=db.session)
    click.echo(
        f"Seeded {len(seeded.users)} users ({', '.join(seeded.users)}; ada is an admin),"
        f" rooms {', '.join(seeded.rooms)} and {seeded.messages} messages."
    )
    click.echo(f"Log in as any of them with the password {demo.DEMO_PASSWORD!r}.")


@click.command("create-user")
@click.argument("username")
@click.option("--email", default=None, help="Where password resets go.")
@click.option("--admin", is_flag=True, help="Make the user an admin.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input (for scripts) instead of prompting.",
)
@with_appcontext
def create_user_command(
    username: str, email: str | None, admin: bool, password_stdin: bool
) -> None:
    """Create an account (an admin with --admin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.register(session=db.session, username=username, password=password)
    except ValidationError as e:
        raise click.BadParameter(e.message, param_hint=e.field or "USERNAME") from None
    if email is not None:
        try:
            accounts.set_email(session=db.session, user=user, email=email)
        except ValidationError as e:
            db.session.delete(user)
            db.session.commit()
            raise click.BadParameter(e.message, param_hint="--email") from None
    if admin:
        user.is_admin = True
        db.session.commit()
    click.echo(f"Created {'admin' if admin else 'user'} {user.username!r} (id {user.id}).")


def init_commands(app: Erlen) -> None:
    app.cli.add_command(seed_command)
    app.cli.add_command(create_user_command)
