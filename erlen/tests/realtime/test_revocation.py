"""Revoked logins lose their websockets: on every replica at once, and at the next handshake.

Replicas are separate servers with their own brokers (as separate processes would be),
over the in-memory exchange and over real Redis. The last test goes through the
extensions as an app uses them: ``logout_user()`` in a view closes that user's socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import typing as t

import pytest
import redis
from test_server import cookie_for
from test_server import kill_pubsub_connection
from test_server import make_server
from test_server import ORIGIN
from test_server import recv
from test_server import running
from test_server import SECRET
from test_server import send
from test_server import until
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.exceptions import InvalidStatus

import erlen
from erlen.ext.login import login_user
from erlen.ext.login import LoginManager
from erlen.ext.login import logout_user
from erlen.ext.login import MemoryRevocationStore
from erlen.ext.login import UserMixin
from erlen.ext.realtime import Publisher
from erlen.realtime import CLOSE_REVOKED
from erlen.realtime import CONTROL_CHANNEL
from erlen.realtime import RealtimeServer
from erlen.realtime import RedisBroker
from erlen.realtime import SessionCookieAuth
from erlen.realtime.broker import Broker
from erlen.realtime.revocation import sessions_revoked_event
from erlen.realtime.revocation import user_revoked_event

BrokerFactory = t.Callable[..., Broker]
Runner = t.Callable[..., t.Any]


def login_cookie(user: str, sid: str, epoch: int = 0) -> str:
    """A session cookie carrying a login, with erlen.ext.login's keys."""
    return cookie_for(_user_id=user, _sid=sid, _epoch=epoch, user_id=user)


@contextlib.asynccontextmanager
async def socket(server: RealtimeServer, cookie: str) -> t.AsyncIterator[ClientConnection]:
    async with connect(
        f"ws://127.0.0.1:{server.port}/ws",
        origin=ORIGIN,
        additional_headers={"Cookie": f"session={cookie}"},
    ) as ws:
        assert (await recv(ws))["type"] == "welcome"
        yield ws


async def closed_code(ws: ClientConnection, timeout: float = 5) -> int | None:
    """Read until the server closes the socket; the close code it sent."""
    with contextlib.suppress(ConnectionClosed):
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    assert ws.close_code is not None, "the socket was not closed"
    return ws.close_code


async def still_open(ws: ClientConnection) -> bool:
    await send(ws, type="ping")
    return await recv(ws) == {"type": "pong"}


def test_a_revoked_login_is_closed_on_every_replica_and_nothing_else_is(
    make_broker: BrokerFactory, run: Runner
) -> None:
    web = make_broker()  # the process that logs users out
    first = make_server(make_broker())
    second = make_server(make_broker())

    async def main() -> None:
        async with running(first), running(second):
            async with (
                socket(first, login_cookie("1", "s1")) as ada_laptop,
                socket(second, login_cookie("1", "s1")) as ada_laptop_tab,
                socket(second, login_cookie("1", "s2")) as ada_phone,
                socket(first, login_cookie("2", "s3")) as bob,
            ):
                await send(ada_laptop, type="subscribe", channel="board")
                assert (await recv(ada_laptop))["type"] == "subscribed"

                # Ada logs out on her laptop: that login, on both replicas.
                web.publish(CONTROL_CHANNEL, sessions_revoked_event(["s1"]))
                assert await closed_code(ada_laptop) == CLOSE_REVOKED
                assert await closed_code(ada_laptop_tab) == CLOSE_REVOKED
                assert await still_open(ada_phone) and await still_open(bob)
                # It left its channel: events of the board no longer go to it.
                await until(lambda: not first._members.get("board"))

                # Then everywhere: her sessions before epoch 1 end; Bob's stays.
                web.publish(CONTROL_CHANNEL, user_revoked_event("1", 1))
                assert await closed_code(ada_phone) == CLOSE_REVOKED
                assert await still_open(bob)
                print(f"\nrevocation: closed 3 sockets on 2 replicas, kept {first.health()}")

    run(main())


def test_the_control_channel_is_not_for_clients(make_broker: BrokerFactory, run: Runner) -> None:
    server = make_server(make_broker())

    async def main() -> None:
        async with running(server), socket(server, login_cookie("1", "s1")) as ws:
            await send(ws, type="subscribe", channel=CONTROL_CHANNEL)
            frame = await recv(ws)
            assert (frame["type"], frame["code"]) == ("error", "forbidden")

    run(main())


@pytest.mark.parametrize(
    ("cookie", "accepted"),
    [
        (lambda: login_cookie("1", "revoked-sid", epoch=5), False),  # logged out
        (lambda: login_cookie("1", "live-sid", epoch=1), False),  # before logout-everywhere
        (lambda: login_cookie("1", "live-sid", epoch=2), True),  # logged in since
        (lambda: login_cookie("2", "other-sid", epoch=0), True),  # another user
        (lambda: cookie_for(visitor="visitor-1"), True),  # no login at all
    ],
)
def test_the_handshake_refuses_revoked_logins(
    make_broker: BrokerFactory, run: Runner, cookie: t.Callable[[], str], accepted: bool
) -> None:
    store = MemoryRevocationStore()
    store.revoke("revoked-sid", 60)
    store.revoke_epochs_before("1", 2, 60)
    server = make_server(make_broker(), auth=SessionCookieAuth(SECRET, revocations=store))

    async def main() -> int:
        async with running(server):
            try:
                async with socket(server, cookie()):
                    return 101
            except InvalidStatus as e:
                return e.response.status_code

    assert run(main()) == (101 if accepted else 401)


def test_a_failing_store_refuses_the_handshake_without_a_traceback(
    make_broker: BrokerFactory, run: Runner, caplog: pytest.LogCaptureFixture
) -> None:
    class Down:
        def is_revoked(self, session_id: str) -> bool:
            raise ConnectionError("Redis is down")

        def epoch_floor(self, user_id: str) -> int:
            raise ConnectionError("Redis is down")

    server = make_server(make_broker(), auth=SessionCookieAuth(SECRET, revocations=Down()))

    async def main() -> int:
        async with running(server):
            try:
                async with socket(server, login_cookie("1", "s1")):
                    return 101
            except InvalidStatus as e:
                return e.response.status_code

    assert run(main()) == 401
    assert "revocation store failed (Redis is down)" in caplog.text
    assert "Traceback" not in caplog.text


def test_a_revocation_missed_while_cut_from_redis_is_found_on_reconnect(
    prefix: str, redis_url: str
) -> None:
    # The control event went out while the server's pub/sub connection was down; the
    # store has the revocation, and the server checks its logins again on reconnect.
    store = MemoryRevocationStore()
    broker = RedisBroker(redis_url, prefix=prefix)
    server = make_server(broker, auth=SessionCookieAuth(SECRET, revocations=store))

    async def main() -> None:
        admin = redis.Redis.from_url(redis_url)
        try:
            async with (
                running(server),
                socket(server, login_cookie("1", "s1")) as revoked,
                socket(server, login_cookie("1", "s2")) as kept,
            ):
                store.revoke("s1", 60)
                kill_pubsub_connection(admin, prefix)
                assert await closed_code(revoked, timeout=10) == CLOSE_REVOKED
                assert await still_open(kept)
        finally:
            admin.close()
            await broker.aclose()

    asyncio.run(main())


class User(UserMixin):
    def __init__(self, id: str) -> None:
        self.id = id
        self.session_epoch = 0


@pytest.mark.parametrize("everywhere", [False, True], ids=["here", "everywhere"])
def test_logout_in_a_view_closes_the_users_socket(
    broker_url: str, prefix: str, everywhere: bool
) -> None:
    # The app as web runs it (login + publisher); the server as the realtime service
    # builds it from the same app.
    app = erlen.Erlen("revocation_app")
    app.config.update(SECRET_KEY=SECRET, TESTING=True, REDIS_URL=broker_url, KEY_PREFIX=prefix)
    users = {"1": User("1")}
    manager = LoginManager(app)
    manager.user_loader(users.get)

    @manager.epoch_bumper
    def bump(user: User) -> None:
        user.session_epoch += 1

    publisher = Publisher(app)

    @app.post("/login")
    def login() -> str:
        login_user(users["1"])
        return "in"

    @app.post("/logout")
    def logout() -> str:
        logout_user(everywhere=everywhere)
        return "out"

    server = RealtimeServer(
        broker=publisher.get_broker(app),
        auth=SessionCookieAuth.from_app(app),
        allowed_origins=[ORIGIN],
        authorize=lambda session, channel: True,
        close_timeout=1,
    )
    browser = app.test_client()
    browser.post("/login")
    cookie = browser.get_cookie("session")
    assert cookie is not None
    thread = server.run_in_thread()

    async def scenario() -> int | None:
        async with connect(
            thread.url,
            origin=ORIGIN,
            additional_headers={"Cookie": f"session={cookie.value}"},
        ) as ws:
            assert (await recv(ws))["type"] == "welcome"
            await asyncio.to_thread(browser.post, "/logout")
            return await closed_code(ws)

    try:
        assert asyncio.run(scenario()) == CLOSE_REVOKED
        # And the same cookie can't open a new one.
        assert asyncio.run(_handshake(thread.url, cookie.value)) == 401
    finally:
        thread.stop()
        publisher.get_broker(app).close()


async def _handshake(url: str, cookie: str) -> int:
    try:
        async with connect(
            url,
            origin=ORIGIN,
            additional_headers={"Cookie": f"session={cookie}"},
        ):
            return 101
    except InvalidStatus as e:
        return e.response.status_code
