"""`make dev` as a user runs it: one process, no services, the whole round trip works.

Starts the real command (reloader and debugger included) with its own instance folder,
then loads the page, opens the websocket, posts a message and waits for the worker's event.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import typing as t
from pathlib import Path

import httpx
import pytest
from erlen.pytest_tiers import service_port
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from web.services import demo

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def _make_dev(tmp_path: Path, *args: str) -> t.Iterator[tuple[int, int, Path]]:
    """Run `make dev` with its own instance folder; yield its ports and log once it answers."""
    port, realtime_port = service_port(), service_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "BROKER_URL", "SECRET_KEY", "REALTIME_URL"}
    }
    env["INSTANCE_PATH"] = str(tmp_path / "instance")
    log = tmp_path / "dev.log"
    dev_args = " ".join(["--port", str(port), "--realtime-port", str(realtime_port), *args])
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["make", "dev", f"DEV_ARGS={dev_args}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(f"make dev exited:\n{log.read_text()}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"make dev did not answer in 60 s:\n{log.read_text()}")
            time.sleep(0.3)
        yield port, realtime_port, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


@pytest.fixture
def dev_server(tmp_path: Path) -> t.Iterator[tuple[str, str, Path]]:
    with _make_dev(tmp_path) as (port, realtime_port, log):
        yield f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{realtime_port}/ws", log


@pytest.fixture
def dev_server_on_all_addresses(tmp_path: Path) -> t.Iterator[tuple[int, int, Path]]:
    with _make_dev(tmp_path, "--host", "0.0.0.0") as running:
        yield running


def test_make_dev_serves_the_page_the_websocket_and_a_job_round_trip(
    dev_server: tuple[str, str, Path], tmp_path: Path
) -> None:
    base, ws_url, log = dev_server
    with httpx.Client(base_url=base, timeout=10) as http:
        page = http.get("/")
        assert page.status_code == 200
        assert f'data-realtime-url=":{ws_url.rsplit(":", 1)[1]}' in page.text
        cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
        marker = '<meta name="csrf-token" content="'
        http.headers["X-CSRFToken"] = page.text.split(marker, 1)[1].split('"', 1)[0]

        with connect(ws_url, additional_headers={"Cookie": cookie}, origin=Origin(base)) as ws:
            ws.send(json.dumps({"type": "subscribe", "channel": "board"}))
            seen: list[dict[str, object]] = []
            while not any(f.get("type") == "subscribed" for f in seen):
                seen.append(json.loads(ws.recv(timeout=10)))

            created = http.post("/api/messages", json={"body": "embedded mode works"})
            assert created.status_code == 201, created.text
            message_id = created.json()["id"]
            deadline = time.monotonic() + 20
            while True:
                frame = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
                if frame.get("event") == "message.processed" and frame["data"]["id"] == message_id:
                    break
    assert frame["data"]["word_count"] == 3, log.read_text()
    _seeded_room_is_live(base, ws_url)
    # Embedded mode keeps its data under the instance folder, never in the repository.
    assert (tmp_path / "instance" / "erlen.db").exists()
    assert (tmp_path / "instance" / "secret_key").exists()
    assert "Debugger is active" in log.read_text()


def _seeded_room_is_live(base: str, ws_url: str) -> None:
    """The demo data is there: the seeded admin logs in, the general room shows the demo
    conversation, and a message posted in it reaches a subscriber of the room's channel."""
    with httpx.Client(base_url=base, timeout=10) as http:
        marker = '<meta name="csrf-token" content="'
        page = http.get("/login")
        token = page.text.split(marker, 1)[1].split('"', 1)[0]
        login = http.post(
            "/login",
            data={"username": "ada", "password": demo.DEMO_PASSWORD, "csrf_token": token},
        )
        assert login.status_code == 302, login.text
        room = http.get("/rooms/general")
        assert room.status_code == 200 and "Welcome to the general room" in room.text
        http.headers["X-CSRFToken"] = room.text.split(marker, 1)[1].split('"', 1)[0]
        room_id = int(room.text.split('data-room-id="', 1)[1].split('"', 1)[0])
        cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
        with connect(ws_url, additional_headers={"Cookie": cookie}, origin=Origin(base)) as ws:
            ws.send(json.dumps({"type": "subscribe", "channel": f"room.{room_id}"}))
            frame = json.loads(ws.recv(timeout=10))
            while frame.get("type") in {"welcome", "presence"}:
                frame = json.loads(ws.recv(timeout=10))
            assert frame.get("type") == "subscribed", frame
            created = http.post(
                f"/api/v1/rooms/{room_id}/messages", json={"body": "live in a room"}
            )
            assert created.status_code == 201, created.text
            while frame.get("event") != "message.posted":
                frame = json.loads(ws.recv(timeout=10))
            assert frame["data"]["body"] == "live in a room"


def test_live_updates_work_from_any_address_the_page_was_opened_on(
    dev_server_on_all_addresses: tuple[int, int, Path],
) -> None:
    # Opened as http://<an address of this machine>:<port>, not a listed origin: here
    # 127.0.0.2, standing in for the machine's LAN address (works on a loopback-only host).
    port, realtime_port, log = dev_server_on_all_addresses
    base = f"http://127.0.0.2:{port}"
    with httpx.Client(base_url=base, timeout=10) as http:
        page = http.get("/")
        assert page.status_code == 200, log.read_text()
        cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
        ws_url = f"ws://127.0.0.2:{realtime_port}/ws"
        with connect(ws_url, additional_headers={"Cookie": cookie}, origin=Origin(base)) as ws:
            ws.send(json.dumps({"type": "subscribe", "channel": "board"}))
            frames = [json.loads(ws.recv(timeout=10)) for _ in range(2)]
        # Another site's page on the same machine is still refused.
        with pytest.raises(InvalidStatus) as refused:
            connect(
                ws_url,
                additional_headers={"Cookie": cookie},
                origin=Origin("http://127.0.0.2:9"),
            ).close()
    assert [f["type"] for f in frames] == ["welcome", "subscribed"]
    assert refused.value.response.status_code == 403
