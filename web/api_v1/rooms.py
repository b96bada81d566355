"""Rooms, their members and messages, over the same services as the rooms pages.

Room ids (not slugs) name rooms here; a private room the caller isn't in is a 404, as on the
pages. Messages page by cursor: ``?before=<id>`` goes back in time (newest first) and
``?after=<id>`` catches up (oldest first); each page links to the next.
"""

from __future__ import annotations

from datetime import datetime

from erlen import request
from erlen.ext.rest import error_responses
from erlen.ext.rest import response
from erlen.realtime import BrokerError
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from werkzeug.exceptions import ServiceUnavailable

from .. import events
from ..extensions import db
from ..extensions import publisher
from ..models import Message
from ..models import Room
from ..models.base import INTEGER_MAX
from ..models.message import BODY_MAX
from ..models.room import NAME_MAX
from ..models.room import SLUG_MAX
from ..models.room import TOPIC_MAX
from ..services import room_messages
from ..services import rooms
from ..services.messages import MAX_PAGE
from ..services.rooms import SLUG_PATTERN
from .base import api
from .base import me
from .base import SignedInResource

# -- models ------------------------------------------------------------------------------


class RoomIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=NAME_MAX)
    slug: str | None = Field(
        default=None,
        max_length=SLUG_MAX,
        pattern=f"^{SLUG_PATTERN}$",
        description="The room's address (/rooms/<slug>); made from the name when left out.",
    )
    topic: str = Field(default="", max_length=TOPIC_MAX)
    is_private: bool = False


class RoomOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    slug: str
    name: str
    topic: str
    is_private: bool
    created_at: datetime


class RoomListItem(RoomOut):
    joined: bool
    members: int


class RoomListOut(BaseModel):
    items: list[RoomListItem]


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(
        min_length=1,
        max_length=40,
        description="Your own username joins a public room; another's adds them (owner or admin).",
    )


class MemberOut(BaseModel):
    user_id: int
    username: str
    role: str


class MemberListOut(BaseModel):
    items: list[MemberOut]


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(min_length=1, max_length=BODY_MAX)


class MessageOut(BaseModel):
    id: int
    room_id: int
    user_id: int | None
    author: str
    body: str
    word_count: int | None
    created_at: datetime
    edited_at: datetime | None


class MessageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    before: int | None = Field(
        default=None, ge=0, le=INTEGER_MAX, description="Messages before this id, newest first."
    )
    after: int | None = Field(
        default=None, ge=0, le=INTEGER_MAX, description="Messages after this id, oldest first."
    )


class MessagePage(BaseModel):
    items: list[MessageOut]
    next: str | None = Field(description="The next page's URL; null at the end.")


class PresenceOut(BaseModel):
    members: list[str] = Field(description="The names of who has the room open, sorted.")


def room_out(room: Room) -> RoomOut:
    return RoomOut.model_validate(room)


def message_out(message: Message) -> MessageOut:
    return MessageOut.model_validate(events.room_message_payload(message))


def _room(room_id: int) -> Room:
    return rooms.get_room_by_id(session=db.session, room_id=room_id, user=me())


# -- resources ---------------------------------------------------------------------------

#: An id in a URL: an id past the column's range matches no route (a 404, not a query).
ID = f"int(max={INTEGER_MAX})"
ROOM = f"/rooms/<{ID}:room_id>"


@api.resource("/rooms", endpoint="api_v1_rooms")
class RoomList(SignedInResource):
    @error_responses(401)
    def get(self) -> RoomListOut:
        """The rooms you can see: every public room, and the private ones you're in."""
        listing = rooms.list_rooms(session=db.session, user=me())
        return RoomListOut(
            items=[
                RoomListItem(
                    **room_out(entry.room).model_dump(), joined=entry.joined, members=entry.members
                )
                for entry in listing
            ]
        )

    @response(RoomOut, status=201)
    @error_responses(401, 409)
    def post(self, data: RoomIn) -> tuple[RoomOut, int, dict[str, str]]:
        """Create a room; you own it."""
        room = rooms.create_room(
            session=db.session,
            owner=me(),
            name=data.name,
            slug=data.slug,
            topic=data.topic,
            is_private=data.is_private,
        )
        location = f"{api.prefix}/rooms/{room.id}"
        return room_out(room), 201, {"Location": location}


@api.resource(ROOM, endpoint="api_v1_room")
class RoomItem(SignedInResource):
    @error_responses(401)
    def get(self, room_id: int) -> RoomOut:
        """One room."""
        return room_out(_room(room_id))


@api.resource(f"{ROOM}/members", endpoint="api_v1_members")
class MemberList(SignedInResource):
    @error_responses(401)
    def get(self, room_id: int) -> MemberListOut:
        """The room's members, its owner first."""
        found = rooms.list_members(session=db.session, room=_room(room_id))
        return MemberListOut(items=[MemberOut(**m._asdict()) for m in found])

    @response(MemberOut, status=201)
    @error_responses(401, 403)
    def post(self, room_id: int, data: MemberIn) -> MemberOut:
        """Join a public room (your own username), or add someone (the owner or an admin)."""
        room, user = _room(room_id), me()
        if data.username.strip().lower() == user.username:
            member = rooms.join_room(session=db.session, room=room, user=user)
        else:
            member = rooms.add_member(
                session=db.session, room=room, actor=user, username=data.username
            )
        found = {m.user_id: m for m in rooms.list_members(session=db.session, room=room)}
        return MemberOut(**found[member.user_id]._asdict())


@api.resource(f"{ROOM}/members/<{ID}:user_id>", endpoint="api_v1_member")
class MemberItem(SignedInResource):
    @response(None, status=204)
    @error_responses(401, 403, 409)
    def delete(self, room_id: int, user_id: int) -> None:
        """Leave the room (your own id), or remove a member (the owner or an admin)."""
        room, user = _room(room_id), me()
        if user_id == user.id:
            rooms.leave_room(session=db.session, room=room, user=user)
        else:
            rooms.remove_member(session=db.session, room=room, actor=user, user_id=user_id)


@api.resource(f"{ROOM}/messages", endpoint="api_v1_messages")
class MessageList(SignedInResource):
    @error_responses(401)
    def get(self, room_id: int, params: MessageQuery) -> MessagePage:
        """A page of the room's messages (see the cursors ``before`` and ``after``)."""
        room = _room(room_id)
        found = room_messages.list_messages(
            session=db.session,
            room=room,
            limit=params.limit,
            before_id=params.before,
            after_id=params.after,
        )
        next_url = None
        if len(found) == params.limit:
            cursor = "after" if params.after is not None else "before"
            next_url = f"{request.base_url}?{cursor}={found[-1].id}&limit={params.limit}"
        return MessagePage(items=[message_out(m) for m in found], next=next_url)

    @response(MessageOut, status=201)
    @error_responses(401, 403)
    def post(self, room_id: int, data: MessageIn) -> tuple[MessageOut, int, dict[str, str]]:
        """Post in a room you've joined."""
        room = _room(room_id)
        message = room_messages.post_message(
            session=db.session, room=room, author=me(), body=data.body
        )
        location = f"{api.prefix}/rooms/{room.id}/messages/{message.id}"
        return message_out(message), 201, {"Location": location}


@api.resource(f"{ROOM}/messages/<{ID}:message_id>", endpoint="api_v1_message")
class MessageItem(SignedInResource):
    @error_responses(401)
    def get(self, room_id: int, message_id: int) -> MessageOut:
        """One message."""
        room = _room(room_id)
        return message_out(
            room_messages.get_message(session=db.session, room=room, message_id=message_id)
        )

    @error_responses(401, 403)
    def patch(self, room_id: int, message_id: int, data: MessageIn) -> MessageOut:
        """Change your message's text (or anyone's, as an admin)."""
        room = _room(room_id)
        message = room_messages.get_message(session=db.session, room=room, message_id=message_id)
        room_messages.edit_message(
            session=db.session, room=room, message=message, user=me(), body=data.body
        )
        return message_out(message)

    @response(None, status=204)
    @error_responses(401, 403)
    def delete(self, room_id: int, message_id: int) -> None:
        """Delete your message (or anyone's, as an admin)."""
        room = _room(room_id)
        message = room_messages.get_message(session=db.session, room=room, message_id=message_id)
        room_messages.delete_message(session=db.session, room=room, message=message, user=me())


@api.resource(f"{ROOM}/presence", endpoint="api_v1_presence")
class RoomPresence(SignedInResource):
    @error_responses(401, 503)
    def get(self, room_id: int) -> PresenceOut:
        """Who has the room open now, across realtime replicas."""
        room = _room(room_id)
        try:
            members = publisher.presence(events.room_channel(room.id))
        except BrokerError:
            raise ServiceUnavailable("Who is here can't be told right now; try again.") from None
        return PresenceOut(members=sorted(members))
