"""Posting while Redis is down: every post answers 2xx, and once Redis is back the worker
(with its outbox relay) processes each message exactly once and announces it once.

Real Postgres (a throwaway database) and a ``redis-server`` of the test's own on a free
port, which the test kills and restarts; never the machine's Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import threading
import time
import typing as t
import uuid
from pathlib import Path

import pytest
import redis
from erlen import Erlen
from erlen.ext.migrate import upgrade
from erlen.pytest_tiers import require_service
from erlen.pytest_tiers import service_port
from erlen.testing import FlaskClient
from sqlalchemy import select

from web import events
from web.extensions import db
from web.extensions import jobs
from web.extensions import publisher
from web.models import Message

PG_HOST = os.environ.get("PGHOST", "127.0.0.1")
PG_PORT = int(os.environ.get("PGPORT", "5432"))
PG_USER = os.environ.get("PGUSER", "postgres")
POSTS = 20
PASSWORD = "correct horse battery"


class PrivateRedis:
    """A ``redis-server`` on a free port, without persistence, that the test may kill."""

    def __init__(self, workdir: Path) -> None:
        # Restarted on the same port: it must stay clear of the ephemeral range.
        self.port = service_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url(0), socket_connect_timeout=1)
        try:
            for _ in range(200):
                with contextlib.suppress(redis.ConnectionError):
                    client.ping()
                    return
                time.sleep(0.025)
        finally:
            client.close()
        raise RuntimeError(f"redis-server did not start on port {self.port}.")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def _admin() -> t.Any:
    import psycopg

    return psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True
    )


@pytest.fixture
def outage_services(tmp_path: Path) -> t.Iterator[tuple[str, PrivateRedis]]:
    """A throwaway Postgres database's URL and a running private Redis."""
    problems = []
    if shutil.which("redis-server") is None:
        problems.append("redis-server is not installed")
    try:
        _admin().close()
    except Exception as e:
        problems.append(f"Postgres is not reachable at {PG_HOST}:{PG_PORT} ({e})")
    require_service(("postgres", "redis"), "; ".join(problems) or None)
    database = f"erlen_outbox_{uuid.uuid4().hex[:12]}"
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}", server
    finally:
        server.kill()
        with contextlib.suppress(Exception), _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


class BoardEvents:
    """Collects the board's events on a thread, from the app's (Redis) publisher."""

    def __init__(self, app: Erlen) -> None:
        self.broker = publisher.get_broker(app)
        self.events: list[dict[str, t.Any]] = []
        self._changed = threading.Condition()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[t.Any] | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._listen()), daemon=True)

    async def _listen(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        with contextlib.suppress(asyncio.CancelledError):
            async with self.broker.subscribe(events.BOARD_CHANNEL) as subscription:
                await self.broker.wait_ready(events.BOARD_CHANNEL)
                self._ready.set()
                async for _channel, event in subscription:
                    with self._changed:
                        self.events.append(event)
                        self._changed.notify_all()

    def __enter__(self) -> BoardEvents:
        self._thread.start()
        assert self._ready.wait(10), "the board subscription did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(10)

    def wait_until(self, check: t.Callable[[list[dict[str, t.Any]]], bool], what: str) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: check(self.events), timeout=60):
                raise AssertionError(f"timed out waiting for {what}; got {self.events!r}")

    def ids(self, name: str) -> list[int]:
        with self._changed:
            return sorted(e["data"]["id"] for e in self.events if e["event"] == name)


def _browser(app: Erlen, client: FlaskClient | None = None) -> FlaskClient:
    """A client that has loaded the board and sends its CSRF token, as the page does."""
    client = client or app.test_client()
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    token = html.split('<meta name="csrf-token" content="', 1)[1].split('"', 1)[0]
    client.environ_base["HTTP_X_CSRFTOKEN"] = token
    return client


def _signed_up(app: Erlen) -> FlaskClient:
    client = app.test_client()
    html = client.get("/register").get_data(as_text=True)
    token = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/register", data={"csrf_token": token, "username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 302
    return client


def test_posts_while_redis_is_down_succeed_and_are_processed_once_when_it_is_back(
    tmp_path: Path,
    make_env: t.Callable[..., dict[str, str]],
    outage_services: tuple[str, PrivateRedis],
) -> None:
    database_url, server = outage_services
    env = make_env(
        tmp_path,
        DATABASE_URL=database_url,
        REDIS_URL=server.url(0),
        BROKER_URL=server.url(1),
        KEY_PREFIX=f"test-{uuid.uuid4().hex[:8]}",
    )
    from web.app import create_app

    # The relay takes a row at once (no grace) and, once Redis is back, retries quickly.
    app = create_app({"TESTING": True, "OUTBOX_GRACE": 0, "OUTBOX_OUTAGE_MAX_WAIT": 0.5}, env=env)
    try:
        upgrade(app)
        # A logged-in poster too: the revocation check is on their path.
        alice = _signed_up(app)
        server.kill()

        # The board page, its CSRF token and a logged-in user's session need no Redis either.
        visitor = _browser(app)
        alice = _browser(app, alice)
        statuses = []
        for i in range(POSTS):
            client = alice if i % 2 else visitor
            response = client.post("/api/messages", json={"body": f"message number {i}"})
            statuses.append(response.status_code)
        assert statuses == [201] * POSTS
        with app.app_context():
            saved = db.session.execute(select(Message.id, Message.author)).all()
        assert len(saved) == POSTS
        assert {author for _id, author in saved} == {"alice", visitor_name(visitor)}
        ids = sorted(message_id for message_id, _author in saved)

        server.start()  # an empty Redis: nothing was queued before the outage either
        with BoardEvents(app) as board:
            worker = jobs.run_worker_thread(app=app, worker_threads=2)  # and the relay
            try:
                board.wait_until(
                    lambda seen: sum(e["event"] == events.MESSAGE_PROCESSED for e in seen) >= POSTS,
                    f"{POSTS} processed events",
                )
                jobs.join(app=app, timeout=30)
            finally:
                worker.stop()
            with app.app_context():
                publisher.publish(events.BOARD_CHANNEL, "marker", {})
            board.wait_until(lambda seen: seen[-1]["event"] == "marker", "the marker")

        assert board.ids(events.MESSAGE_POSTED) == ids
        assert board.ids(events.MESSAGE_PROCESSED) == ids  # each exactly once
        with app.app_context():
            counts = db.session.execute(select(Message.body, Message.word_count)).all()
        assert {(body, count) for body, count in counts} == {
            (f"message number {i}", 3) for i in range(POSTS)
        }
    finally:
        jobs.state(app).close()
        publisher.get_broker(app).close()
        with app.app_context():
            db.engine.dispose()


def visitor_name(client: FlaskClient) -> str:
    with client.session_transaction() as session:
        return str(session["visitor"])
