"""Telling users they were mentioned: live on their own channel, and by mail when they are
not in the room to see it (and have an address). Run by the word-count job, once per
mention (:func:`web.services.messages.claim_mentions`)."""

from __future__ import annotations

import logging
import typing as t

from erlen import render_template
from erlen.ext.sqlalchemy import SessionLike
from erlen.realtime import BrokerError

from .. import events
from ..extensions import outbox
from ..extensions import publisher
from ..models import Message
from ..models import Room
from ..models import User
from . import messages

log = logging.getLogger(__name__)


def _present(channel: str) -> set[str]:
    """Who has the channel open; nobody, if that can't be told (better a mail too many)."""
    try:
        return set(publisher.presence(channel))
    except BrokerError as e:
        log.warning("Presence unknown (%s): mentioned users get a mail.", e)
        return set()


class Mail(t.NamedTuple):
    to: str
    subject: str
    text: str


def notify_mentions(*, session: SessionLike, message: Message) -> list[Mail]:
    """Record the live events for the users the message mentions who haven't been told yet,
    and return the mails for those of them who aren't in the room (the caller sends them,
    and commits)."""
    told = messages.claim_mentions(session=session, message=message)
    if not told or message.room_id is None:
        return []
    room = session.get(Room, message.room_id)
    channel = events.room_channel(message.room_id)
    here = _present(channel)
    mails = []
    for user_id in told:
        outbox.publish(
            session, events.user_channel(user_id), events.MENTIONED, events.payload_of(message)
        )
        user = session.get(User, user_id)
        if user is None or user.email is None or user.username in here:
            continue
        text = render_template("email/mention.txt", user=user, message=message, room=room)
        subject = f"{message.author} mentioned you in {room.name if room else 'a room'}"
        mails.append(Mail(user.email, subject, text))
    return mails
