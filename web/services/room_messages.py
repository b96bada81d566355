"""Messages in rooms: posting, editing, deleting, listing, and who a message mentions.

Each write records its events (and the word-count job) in the write's transaction through
the outbox, as :mod:`web.services.board` does for the board: they go out if and only if the
write commits. Only a room's members post; only a message's author or an admin edits or
deletes it.
"""

from __future__ import annotations

import re
from datetime import datetime
from datetime import UTC

from erlen.ext.sqlalchemy import SessionLike
from sqlalchemy import delete
from sqlalchemy import select

from .. import events
from ..errors import ForbiddenError
from ..errors import NotFoundError
from ..errors import ValidationError
from ..extensions import outbox
from ..jobs import process_message
from ..models import Mention
from ..models import Message
from ..models import Room
from ..models import User
from ..models.base import INTEGER_MAX
from ..models.user import USERNAME_MAX
from . import rooms
from .messages import check_body
from .messages import MAX_PAGE

#: ``@name`` where name looks like a username, not inside a word or an email address.
MENTION = re.compile(rf"(?<![\w@.])@([a-z0-9_][a-z0-9_.-]{{2,{USERNAME_MAX - 1}}})", re.I)


def mentioned_names(body: str) -> list[str]:
    """The usernames ``@mentioned`` in a message, lower-cased, in order, once each."""
    names = (m.group(1).lower().rstrip(".-") for m in MENTION.finditer(body))
    return list(dict.fromkeys(name for name in names if len(name) >= 3))


def _record_mentions(*, session: SessionLike, message: Message, room: Room) -> list[int]:
    """Store who the message mentions (members of the room, for a private one); return the
    ids of the users newly mentioned."""
    names = mentioned_names(message.body)
    if not names:
        return []
    found = session.scalars(
        select(User).where(User.username.in_(names), User.deactivated_at.is_(None))
    )
    known = set(session.scalars(select(Mention.user_id).where(Mention.message_id == message.id)))
    new = []
    for user in found:
        if user.id in known or user.id == message.user_id:
            continue
        if room.is_private and not rooms.is_member(
            session=session, room_id=room.id, user_id=user.id
        ):
            continue  # a private room's messages aren't shown to outsiders
        session.add(Mention(message_id=message.id, user_id=user.id))
        new.append(user.id)
    return new


def post_message(*, session: SessionLike, room: Room, author: User, body: str) -> Message:
    """Post in a room: save, announce on the room's channel, queue the word count.

    :raises ForbiddenError: the author hasn't joined the room.
    :raises ValidationError: an empty or over-long body, or text that can't be stored.
    """
    rooms.require_member(session=session, room=room, user=author)
    message = Message(
        room_id=room.id, user_id=author.id, author=author.username, body=check_body(body)
    )
    session.add(message)
    session.flush()  # the id and timestamp the event and the job carry
    _record_mentions(session=session, message=message, room=room)
    channel = events.room_channel(room.id)
    outbox.publish(session, channel, events.MESSAGE_POSTED, events.room_message_payload(message))
    # The job counts the words and notifies who is mentioned, once.
    outbox.send(session, process_message, message.id)
    session.commit()
    return message


def get_message(*, session: SessionLike, room: Room, message_id: int) -> Message:
    """A message of this room.

    :raises NotFoundError: no message of this room has that id.
    """
    message = session.get(Message, message_id) if 1 <= message_id <= INTEGER_MAX else None
    if message is None or message.room_id != room.id:
        raise NotFoundError(f"There is no message {message_id} in this room.")
    return message


def may_change(*, message: Message, user: User) -> bool:
    """Whether the user may edit or delete the message: its author, or an admin."""
    return user.is_admin or (message.user_id is not None and message.user_id == user.id)


def require_change(*, message: Message, user: User) -> None:
    """:raises ForbiddenError: the user is neither the message's author nor an admin."""
    if not may_change(message=message, user=user):
        raise ForbiddenError("Only the message's author or an admin can change it.")


def edit_message(
    *, session: SessionLike, room: Room, message: Message, user: User, body: str
) -> Message:
    """Change a message's text; the room sees ``message.edited``.

    :raises ForbiddenError: the user is neither the author nor an admin.
    :raises ValidationError: an empty or over-long body.
    """
    require_change(message=message, user=user)
    message.body = check_body(body)
    message.edited_at = datetime.now(UTC)
    # The words changed: the count is redone by the job.
    message.word_count = None
    message.processed_at = None
    _record_mentions(session=session, message=message, room=room)
    outbox.publish(
        session,
        events.room_channel(room.id),
        events.MESSAGE_EDITED,
        events.room_message_payload(message),
    )
    outbox.send(session, process_message, message.id)
    session.commit()
    return message


def delete_message(*, session: SessionLike, room: Room, message: Message, user: User) -> None:
    """Delete a message; the room sees ``message.deleted``.

    :raises ForbiddenError: the user is neither the author nor an admin.
    """
    require_change(message=message, user=user)
    message_id = message.id
    session.execute(delete(Mention).where(Mention.message_id == message_id))
    session.delete(message)
    outbox.publish(
        session,
        events.room_channel(room.id),
        events.MESSAGE_DELETED,
        {"id": message_id, "room_id": room.id},
    )
    session.commit()


def list_messages(
    *,
    session: SessionLike,
    room: Room,
    limit: int = 50,
    before_id: int | None = None,
    after_id: int | None = None,
) -> list[Message]:
    """A page of the room's messages: the newest first, or with ``after_id`` the ones
    after it, oldest first (a client catching up).

    :raises ValidationError: ``limit``, ``before_id`` or ``after_id`` out of range, or both
        cursors at once (the names are the query arguments: ``before``, ``after``).
    """
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(
            f"limit must be between 1 and {MAX_PAGE}, got {limit}.", field="limit"
        )
    for name, value in (("before", before_id), ("after", after_id)):
        if value is not None and not 0 <= value <= INTEGER_MAX:
            raise ValidationError(
                f"{name} must be between 0 and {INTEGER_MAX}, got {value}.", field=name
            )
    if before_id is not None and after_id is not None:
        raise ValidationError("Give before or after, not both.", field="after")
    query = select(Message).where(Message.room_id == room.id).limit(limit)
    if after_id is not None:
        query = query.where(Message.id > after_id).order_by(Message.id)
    else:
        query = query.order_by(Message.id.desc())
        if before_id is not None:
            query = query.where(Message.id < before_id)
    return list(session.scalars(query))


def mentioned_user_ids(*, session: SessionLike, message_id: int) -> list[int]:
    """Who a message mentions."""
    query = select(Mention.user_id).where(Mention.message_id == message_id)
    return list(session.scalars(query.order_by(Mention.user_id)))
