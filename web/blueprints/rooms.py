"""The rooms pages: list and create rooms, a room's conversation, its members.

Thin views over :mod:`web.services.rooms` and :mod:`web.services.room_messages`: every
permission is decided there. A form that fails its checks is shown again with the error
(422, or 409 for a taken address); a room the user may not see is a 404 like a missing one.
Everything works without JavaScript; ``static/room.js`` makes the room live.
"""

from __future__ import annotations

import typing as t

from erlen import Blueprint
from erlen import flash
from erlen import redirect
from erlen import render_template
from erlen import request
from erlen import url_for
from erlen.ext.login import current_user
from erlen.ext.login import login_required
from erlen.typing import ResponseReturnValue

from .. import events
from ..errors import AppError
from ..extensions import db
from ..models import Room
from ..models import User
from ..models.base import INTEGER_MAX
from ..models.message import BODY_MAX
from ..models.room import NAME_MAX
from ..models.room import SLUG_MAX
from ..models.room import TOPIC_MAX
from ..services import room_messages
from ..services import rooms
from ..visitors import remember_name

bp = Blueprint("rooms", __name__, url_prefix="/rooms")

#: An id in a URL: an id past the column's range matches no route (a 404, not a query).
ID = f"int(max={INTEGER_MAX})"
#: Messages on a room's page; older ones are a "Load older" link away.
PAGE_SIZE = 50


@bp.before_request
@login_required
def _signed_in_only() -> None:
    """Every rooms page needs an account (a visitor is sent to log in, then back)."""


def _me() -> User:
    return t.cast(User, current_user._get_current_object())


def _room(slug: str) -> Room:
    return rooms.get_room(session=db.session, slug=slug, user=_me())


@bp.get("/")
def index() -> str:
    return _index()


def _index(error: AppError | None = None) -> str:
    listing = rooms.list_rooms(session=db.session, user=_me())
    limits = {"name": NAME_MAX, "slug": SLUG_MAX, "topic": TOPIC_MAX}
    return render_template("rooms/index.html", listing=listing, error=error, limits=limits)


@bp.post("/")
def create() -> ResponseReturnValue:
    form = request.form
    try:
        room = rooms.create_room(
            session=db.session,
            owner=_me(),
            name=form.get("name", ""),
            slug=form.get("slug") or None,
            topic=form.get("topic", ""),
            is_private=form.get("private") == "1",
        )
    except AppError as e:
        return _index(error=e), e.status
    flash(f"Room {room.name!r} created.", "success")
    return redirect(url_for("rooms.show", slug=room.slug))


@bp.get("/<slug:slug>")
def show(slug: str) -> ResponseReturnValue:
    return _show(_room(slug))


def _show(room: Room, error: AppError | None = None, draft: str = "") -> str:
    me = _me()
    before = request.args.get("before", type=int)
    page = room_messages.list_messages(
        session=db.session, room=room, limit=PAGE_SIZE, before_id=before
    )
    page.reverse()  # oldest first on the page, the newest next to the form
    older = page[0].id if len(page) == PAGE_SIZE else None
    membership = rooms.membership(session=db.session, room=room, user=me)
    return render_template(
        "rooms/room.html",
        room=room,
        messages=page,
        older=older,
        paged=before is not None,
        member=membership is not None,
        manages=rooms.manages(session=db.session, room=room, user=me),
        members=rooms.list_members(session=db.session, room=room),
        may_change=lambda message: room_messages.may_change(message=message, user=me),
        channel=events.room_channel(room.id),
        name=remember_name(),
        max_body=BODY_MAX,
        error=error,
        draft=draft,
    )


@bp.post("/<slug:slug>/join")
def join(slug: str) -> ResponseReturnValue:
    room = _room(slug)
    rooms.join_room(session=db.session, room=room, user=_me())
    return redirect(url_for("rooms.show", slug=room.slug))


@bp.post("/<slug:slug>/leave")
def leave(slug: str) -> ResponseReturnValue:
    room = _room(slug)
    rooms.leave_room(session=db.session, room=room, user=_me())
    flash(f"You left {room.name}.", "success")
    return redirect(url_for("rooms.index"))


@bp.post("/<slug:slug>/members")
def add_member(slug: str) -> ResponseReturnValue:
    room = _room(slug)
    try:
        rooms.add_member(
            session=db.session, room=room, actor=_me(), username=request.form.get("username", "")
        )
    except AppError as e:
        if e.status == 403:
            raise
        return _show(room, error=e), e.status
    return redirect(url_for("rooms.show", slug=room.slug))


@bp.post(f"/<slug:slug>/members/<{ID}:user_id>/remove")
def remove_member(slug: str, user_id: int) -> ResponseReturnValue:
    room = _room(slug)
    rooms.remove_member(session=db.session, room=room, actor=_me(), user_id=user_id)
    return redirect(url_for("rooms.show", slug=room.slug))


@bp.post("/<slug:slug>/messages")
def post(slug: str) -> ResponseReturnValue:
    room = _room(slug)
    body = request.form.get("body", "")
    try:
        room_messages.post_message(session=db.session, room=room, author=_me(), body=body)
    except AppError as e:
        if e.status == 403:
            raise
        return _show(room, error=e, draft=body), e.status
    return redirect(url_for("rooms.show", slug=room.slug))


@bp.route(f"/<slug:slug>/messages/<{ID}:message_id>/edit", methods=["GET", "POST"])
def edit(slug: str, message_id: int) -> ResponseReturnValue:
    room = _room(slug)
    message = room_messages.get_message(session=db.session, room=room, message_id=message_id)
    room_messages.require_change(message=message, user=_me())  # before showing the form too
    error = None
    if request.method == "POST":
        try:
            room_messages.edit_message(
                session=db.session,
                room=room,
                message=message,
                user=_me(),
                body=request.form.get("body", ""),
            )
        except AppError as e:
            db.session.rollback()
            error = e
        else:
            return redirect(url_for("rooms.show", slug=room.slug) + f"#message-{message.id}")
    draft = request.form.get("body", message.body)
    page = render_template(
        "rooms/edit.html", room=room, message=message, error=error, draft=draft, max_body=BODY_MAX
    )
    return page, error.status if error else 200


@bp.post(f"/<slug:slug>/messages/<{ID}:message_id>/delete")
def delete(slug: str, message_id: int) -> ResponseReturnValue:
    room = _room(slug)
    message = room_messages.get_message(session=db.session, room=room, message_id=message_id)
    room_messages.delete_message(session=db.session, room=room, message=message, user=_me())
    flash("Message deleted.", "success")
    return redirect(url_for("rooms.show", slug=room.slug))
