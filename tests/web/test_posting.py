"""Posting a message: one use case saves it, announces it and queues its processing, for the
form and the API alike; a rejected post does none of the three."""

from __future__ import annotations

import asyncio
import threading
import typing as t

import pytest
from dramatiq.brokers.stub import StubBroker
from erlen import Erlen
from erlen.testing import FlaskClient

from web import events
from web.errors import ValidationError
from web.extensions import db
from web.extensions import jobs
from web.extensions import publisher
from web.models import Message
from web.services import board
from web.services import messages


class BoardListener:
    """Collects the board's events on a thread until ``until`` arrives (or 10 s pass)."""

    def __init__(self, app: Erlen, until: str) -> None:
        self.events: list[dict[str, t.Any]] = []
        self._broker = publisher.get_broker(app)
        self._until = until
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._listen()))

    async def _listen(self) -> None:
        async with self._broker.subscribe(events.BOARD_CHANNEL) as subscription:
            await self._broker.wait_ready(events.BOARD_CHANNEL)
            self._ready.set()
            async with asyncio.timeout(10):
                async for _channel, event in subscription:
                    self.events.append(event)
                    if event["event"] == self._until:
                        return

    def __enter__(self) -> BoardListener:
        self._thread.start()
        assert self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.join(15)

    def seen(self) -> list[tuple[str, int]]:
        return [(event["event"], event["data"]["id"]) for event in self.events]


def _queued_jobs(app: Erlen) -> int:
    broker = jobs.broker(app)
    assert isinstance(broker, StubBroker)  # BROKER_URL=memory:// in the fast tier
    return sum(queue.qsize() for queue in broker.queues.values())


def test_posting_saves_announces_and_queues_processing(app: Erlen, worker: t.Any) -> None:
    with BoardListener(app, until=events.MESSAGE_PROCESSED) as listener:
        with app.app_context():
            message = board.post_message(session=db.session, author="ann", body="three small words")
            message_id = message.id
        worker.drain()
    assert listener.seen() == [
        (events.MESSAGE_POSTED, message_id),
        (events.MESSAGE_PROCESSED, message_id),
    ]
    with app.app_context():
        assert messages.get_message(session=db.session, message_id=message_id).word_count == 3


def test_a_rejected_post_saves_sends_and_queues_nothing(app: Erlen) -> None:
    with BoardListener(app, until=events.MESSAGE_POSTED) as listener:
        with app.app_context():
            with pytest.raises(ValidationError):
                board.post_message(session=db.session, author="ann", body="   ")
            assert db.session.scalars(db.select(Message)).all() == []
            assert _queued_jobs(app) == 0
            # The first announcement the board hears is the next, valid post's.
            accepted = board.post_message(session=db.session, author="ann", body="ok").id
    assert listener.seen() == [(events.MESSAGE_POSTED, accepted)]
    assert _queued_jobs(app) == 1


def _post_form(client: FlaskClient, body: str) -> None:
    assert client.post("/messages", data={"body": body}).status_code == 302


def _post_json(client: FlaskClient, body: str) -> None:
    assert client.post("/api/messages", json={"body": body}).status_code == 201


@pytest.mark.parametrize("post", [_post_form, _post_json], ids=["form", "api"])
def test_the_form_and_the_api_both_announce_and_process_a_post(
    app: Erlen, client: FlaskClient, worker: t.Any, post: t.Callable[[FlaskClient, str], None]
) -> None:
    with BoardListener(app, until=events.MESSAGE_PROCESSED) as listener:
        post(client, "four words right here")
        worker.drain()
    with app.app_context():
        (message,) = db.session.scalars(db.select(Message)).all()
    assert listener.seen() == [
        (events.MESSAGE_POSTED, message.id),
        (events.MESSAGE_PROCESSED, message.id),
    ]
    assert message.word_count == 4
