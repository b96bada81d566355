"""Crashed containers come back by their restart policy with nothing lost; scaled-out
replicas share events through Redis."""

from __future__ import annotations

import json
import time
import typing as t

import httpx
from compose_stack import ComposeStack
from compose_stack import request_ids_logged
from compose_stack import run
from test_stack import receive
from test_stack import subscribe
from test_stack import Visitor


def _eventually_ok(visitor: Visitor, path: str, timeout: float = 60) -> httpx.Response:
    """nginx answers 502 while the only web replica restarts; a user would reload."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = visitor.http.get(path)
            if response.status_code == 200 or time.monotonic() > deadline:
                return response
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.5)


def test_a_crashed_web_container_is_restarted_and_keeps_the_data(
    compose_stack: ComposeStack,
) -> None:
    with Visitor(compose_stack) as visitor:  # type: ignore[arg-type]
        visitor.open_board()
        created = visitor.http.post("/api/messages", json={"body": "written before the crash"})
        assert created.status_code == 201
        (web,) = compose_stack.containers("web")
        restarts = compose_stack.crash(web)
        compose_stack.wait_restarted_and_healthy(web, restarts)
        after = _eventually_ok(visitor, f"/api/messages/{created.json()['id']}")
        assert after.status_code == 200
        assert after.json()["body"] == "written before the crash"
        # The same session (signed cookie) still works against the restarted process.
        again = visitor.http.post("/api/messages", json={"body": "written after the crash"})
    assert again.status_code == 201, again.text


def test_a_job_sent_while_the_worker_is_down_runs_when_it_comes_back(
    compose_stack: ComposeStack,
) -> None:
    (worker,) = compose_stack.containers("worker")
    with Visitor(compose_stack) as visitor:  # type: ignore[arg-type]
        visitor.open_board()
        with visitor.websocket() as ws:
            subscribe(ws)
            restarts = compose_stack.crash(worker)
            created = visitor.http.post("/api/messages", json={"body": "sent to a dead worker"})
            assert created.status_code == 201
            message_id = created.json()["id"]
            compose_stack.wait_restarted_and_healthy(worker, restarts)
            frames = receive(
                ws,
                lambda f: f.get("event") == "message.processed" and f["data"]["id"] == message_id,
                timeout=60,
            )
        stored = visitor.http.get(f"/api/messages/{message_id}").json()
    assert frames[-1]["data"]["word_count"] == 5
    assert stored["word_count"] == 5


def test_scaled_out_an_event_through_one_realtime_replica_reaches_a_client_of_another(
    compose_stack: ComposeStack,
) -> None:
    compose_stack.run_compose("up", "-d", "--wait", "--scale", "web=2", "--scale", "realtime=2")
    assert len(compose_stack.containers("web")) == 2
    assert len(compose_stack.containers("realtime")) == 2
    with Visitor(compose_stack) as alice, Visitor(compose_stack) as bob:  # type: ignore[arg-type]
        alice.open_board()
        bob.open_board()
        # nginx learns of the new replicas by itself (nginx/docker-entrypoint.d), within
        # seconds; until then both sockets land on the replica it knew.
        deadline = time.monotonic() + 30
        while True:
            with alice.websocket() as alice_ws, bob.websocket() as bob_ws:
                subscribe(alice_ws)
                subscribe(bob_ws)
                spread = sorted(compose_stack.realtime_connections())
                if spread == [1, 1]:  # least_conn put them on different replicas
                    alice_ws.send(
                        json.dumps(
                            {"type": "publish", "channel": "board", "event": "typing", "data": {}}
                        )
                    )
                    frames = receive(bob_ws, lambda f: f.get("event") == "typing")
                    break
            assert time.monotonic() < deadline, f"nginx never used the new replica: {spread}"
            time.sleep(1)
    assert frames[-1]["data"]["visitor"].startswith("visitor-")


def test_both_web_replicas_serve_requests(compose_stack: ComposeStack) -> None:
    ids = [f"spread-{i:04d}-{int(time.time())}" for i in range(20)]
    with Visitor(compose_stack) as visitor:  # type: ignore[arg-type]
        for request_id in ids:
            assert (
                visitor.http.get("/healthz", headers={"X-Request-ID": request_id}).status_code
                == 200
            )
    served: dict[str, t.Any] = {}
    for container in compose_stack.containers("web"):
        logged = request_ids_logged(_container_log(container))
        served[container] = sum(request_id in logged for request_id in ids)
    assert sum(served.values()) == len(ids)
    assert all(count > 0 for count in served.values()), served


def _container_log(container: str) -> str:
    result = run("docker", "logs", container)
    return result.stdout + result.stderr
