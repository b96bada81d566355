"""Rooms and their members: who may see, join, and manage a room.

A private room is invisible to non-members: every lookup by someone outside it answers
:class:`~web.errors.NotFoundError`, exactly as for a room that doesn't exist, so its name
can't be probed. Permission checks live here and nowhere else; views and the API call them.
"""

from __future__ import annotations

import re
import typing as t

from erlen.ext.sqlalchemy import SessionLike
from sqlalchemy import ColumnElement
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy.exc import IntegrityError

from ..errors import ConflictError
from ..errors import ForbiddenError
from ..errors import NotFoundError
from ..errors import ValidationError
from ..models import Membership
from ..models import Room
from ..models import User
from ..models.room import MEMBER
from ..models.room import NAME_MAX
from ..models.room import OWNER
from ..models.room import SLUG_MAX
from ..models.room import TOPIC_MAX
from .accounts import normalise_username
from .text import check_text

#: What a room's slug looks like (the ``slug`` URL converter matches the same).
SLUG_PATTERN = rf"[a-z0-9](?:[a-z0-9-]{{0,{SLUG_MAX - 2}}}[a-z0-9])?"
_SLUG = re.compile(SLUG_PATTERN)


def slug_for(name: str) -> str:
    """A slug made from a room's name: ``"Team Notes!"`` → ``"team-notes"``."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:SLUG_MAX].rstrip("-")


def _check_room_fields(name: str, topic: str) -> tuple[str, str]:
    name = check_text(name, field="name").strip()
    topic = check_text(topic, field="topic").strip()
    if not name or len(name) > NAME_MAX:
        raise ValidationError(f"A room's name is 1 to {NAME_MAX} characters.", field="name")
    if len(topic) > TOPIC_MAX:
        raise ValidationError(f"A topic is at most {TOPIC_MAX} characters.", field="topic")
    return name, topic


def create_room(
    *,
    session: SessionLike,
    owner: User,
    name: str,
    slug: str | None = None,
    topic: str = "",
    is_private: bool = False,
) -> Room:
    """Create a room owned by ``owner`` (its first member).

    :raises ValidationError: a name, slug or topic out of bounds.
    :raises ConflictError: the slug is taken.
    """
    name, topic = _check_room_fields(name, topic)
    slug = check_text(slug, field="slug").strip().lower() if slug else slug_for(name)
    if not _SLUG.fullmatch(slug):
        raise ValidationError(
            f"A room's address is 1 to {SLUG_MAX} lower-case letters, digits and dashes"
            " (not at either end).",
            field="slug",
        )
    room = Room(slug=slug, name=name, topic=topic, is_private=is_private, created_by=owner.id)
    session.add(room)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise ConflictError(f"There is already a room at /rooms/{slug}.") from None
    session.add(Membership(room_id=room.id, user_id=owner.id, role=OWNER))
    session.commit()
    return room


def update_room(*, session: SessionLike, room: Room, user: User, name: str, topic: str) -> Room:
    """Rename a room or change its topic (its owner or an admin).

    :raises ForbiddenError: the user doesn't manage the room.
    :raises ValidationError: a name or topic out of bounds.
    """
    require_manager(session=session, room=room, user=user)
    room.name, room.topic = _check_room_fields(name, topic)
    session.commit()
    return room


def membership(*, session: SessionLike, room: Room, user: User) -> Membership | None:
    """The user's membership of the room, if any."""
    return session.scalar(
        select(Membership).where(Membership.room_id == room.id, Membership.user_id == user.id)
    )


def is_member(*, session: SessionLike, room_id: int, user_id: int) -> bool:
    """Whether the user belongs to the room (one indexed lookup; realtime asks this)."""
    query = select(exists().where(Membership.room_id == room_id, Membership.user_id == user_id))
    return bool(session.scalar(query))


def can_see(*, session: SessionLike, room: Room, user: User | None) -> bool:
    """Public rooms are visible to everyone; private ones to their members and admins."""
    if not room.is_private:
        return True
    if user is None:
        return False
    return user.is_admin or is_member(session=session, room_id=room.id, user_id=user.id)


def get_room(*, session: SessionLike, slug: str, user: User | None) -> Room:
    """The room at ``slug``, if the user may see it.

    :raises NotFoundError: no such room, or a private one the user isn't in.
    """
    room = session.scalar(select(Room).where(Room.slug == slug))
    if room is None or not can_see(session=session, room=room, user=user):
        raise NotFoundError(f"There is no room at /rooms/{slug}.")
    return room


def get_room_by_id(*, session: SessionLike, room_id: int, user: User | None) -> Room:
    """The room with this id, if the user may see it.

    :raises NotFoundError: no such room, or a private one the user isn't in.
    """
    room = session.get(Room, room_id)
    if room is None or not can_see(session=session, room=room, user=user):
        raise NotFoundError(f"There is no room {room_id}.")
    return room


class RoomListing(t.NamedTuple):
    room: Room
    joined: bool
    members: int


def list_rooms(*, session: SessionLike, user: User | None) -> list[RoomListing]:
    """The rooms the user may see, by name, each with whether they joined and its size."""
    member_count = (
        select(func.count(Membership.id))
        .where(Membership.room_id == Room.id)
        .correlate(Room)
        .scalar_subquery()
    )
    public: ColumnElement[bool] = Room.is_private.is_(False)
    if user is None:
        query = select(Room, literal(False), member_count).where(public)
    else:
        mine = exists().where(Membership.room_id == Room.id, Membership.user_id == user.id)
        # An admin sees every room; anyone else, the public ones and their own.
        visible = true() if user.is_admin else or_(public, mine)
        query = select(Room, mine, member_count).where(visible)
    query = query.order_by(Room.name, Room.id)
    return [RoomListing(room, bool(j), int(n)) for room, j, n in session.execute(query)]


def join_room(*, session: SessionLike, room: Room, user: User) -> Membership:
    """Join a public room (joining twice is no error).

    :raises ForbiddenError: the room is private: its owner adds members.
    """
    existing = membership(session=session, room=room, user=user)
    if existing is not None:
        return existing
    if room.is_private:
        raise ForbiddenError("This room is private: ask its owner to add you.")
    member = Membership(room_id=room.id, user_id=user.id, role=MEMBER)
    session.add(member)
    session.commit()
    return member


def leave_room(*, session: SessionLike, room: Room, user: User) -> None:
    """Leave a room.

    :raises ConflictError: the user owns it (an owner can't leave their room ownerless).
    """
    existing = membership(session=session, room=room, user=user)
    if existing is None:
        return
    if existing.role == OWNER:
        raise ConflictError("You own this room, so you can't leave it.")
    session.delete(existing)
    session.commit()


def manages(*, session: SessionLike, room: Room, user: User) -> bool:
    """Whether the user may manage the room: its owner, or an admin."""
    if user.is_admin:
        return True
    existing = membership(session=session, room=room, user=user)
    return existing is not None and existing.role == OWNER


def require_manager(*, session: SessionLike, room: Room, user: User) -> None:
    """:raises ForbiddenError: the user doesn't manage the room."""
    if not manages(session=session, room=room, user=user):
        raise ForbiddenError("Only the room's owner or an admin can do that.")


def require_member(*, session: SessionLike, room: Room, user: User) -> None:
    """:raises ForbiddenError: the user hasn't joined the room."""
    if not is_member(session=session, room_id=room.id, user_id=user.id):
        raise ForbiddenError("Join the room first.")


def add_member(*, session: SessionLike, room: Room, actor: User, username: str) -> Membership:
    """Add a user to a room, by username (the owner or an admin; the way into private rooms).

    :raises ForbiddenError: the actor doesn't manage the room.
    :raises ValidationError: no active account has that username.
    """
    require_manager(session=session, room=room, user=actor)
    name = normalise_username(username)
    user = session.scalar(select(User).where(User.username == name))
    if user is None or not user.is_active:
        raise ValidationError(f"There is no user {name!r}.", field="username")
    existing = membership(session=session, room=room, user=user)
    if existing is not None:
        return existing
    member = Membership(room_id=room.id, user_id=user.id, role=MEMBER)
    session.add(member)
    session.commit()
    return member


def remove_member(*, session: SessionLike, room: Room, actor: User, user_id: int) -> None:
    """Remove a member (the owner or an admin); the owner stays.

    :raises ForbiddenError: the actor doesn't manage the room.
    :raises NotFoundError: the user isn't a member.
    :raises ConflictError: the user is the room's owner.
    """
    require_manager(session=session, room=room, user=actor)
    existing = session.scalar(
        select(Membership).where(Membership.room_id == room.id, Membership.user_id == user_id)
    )
    if existing is None:
        raise NotFoundError(f"User {user_id} is not a member of this room.")
    if existing.role == OWNER:
        raise ConflictError("The room's owner can't be removed.")
    session.delete(existing)
    session.commit()


class Member(t.NamedTuple):
    user_id: int
    username: str
    role: str


def list_members(*, session: SessionLike, room: Room) -> list[Member]:
    """The room's members: the owner first, then by name."""
    query = (
        select(User.id, User.username, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.room_id == room.id)
        .order_by((Membership.role == OWNER).desc(), User.username)
    )
    return [Member(int(i), str(name), str(role)) for i, name, role in session.execute(query)]


def joined_rooms(*, session: SessionLike, user_id: int) -> list[Room]:
    """The rooms the user joined, by name."""
    query = (
        select(Room)
        .join(Membership, Membership.room_id == Room.id)
        .where(Membership.user_id == user_id)
        .order_by(Room.name, Room.id)
    )
    return list(session.scalars(query))
