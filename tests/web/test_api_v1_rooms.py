"""REST API v1: rooms, members, messages and presence — every route, happy and unhappy paths,
each refusal a problem+json with a useful ``detail``."""

from __future__ import annotations

import re
import typing as t

import pytest
from erlen import Erlen
from erlen.testing import FlaskClient

SignIn = t.Callable[..., FlaskClient]
PROBLEM = "application/problem+json"


def _json(response: t.Any) -> t.Any:
    body = response.get_json(force=True)
    assert body is not None, response.data
    return body


def _problem(response: t.Any, status: int) -> dict[str, t.Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body: dict[str, t.Any] = _json(response)
    assert body["status"] == status
    return body


def _room(client: FlaskClient, name: str = "General", **fields: t.Any) -> dict[str, t.Any]:
    response = client.post("/api/v1/rooms", json={"name": name, **fields})
    assert response.status_code == 201, response.get_data(as_text=True)
    body: dict[str, t.Any] = _json(response)
    assert response.headers["Location"] == f"/api/v1/rooms/{body['id']}"
    return body


def test_every_route_needs_a_signed_in_user(client: FlaskClient) -> None:
    for method, path in [
        ("GET", "/api/v1/rooms"),
        ("POST", "/api/v1/rooms"),
        ("GET", "/api/v1/rooms/1"),
        ("GET", "/api/v1/rooms/1/members"),
        ("POST", "/api/v1/rooms/1/members"),
        ("DELETE", "/api/v1/rooms/1/members/1"),
        ("GET", "/api/v1/rooms/1/messages"),
        ("POST", "/api/v1/rooms/1/messages"),
        ("GET", "/api/v1/rooms/1/messages/1"),
        ("PATCH", "/api/v1/rooms/1/messages/1"),
        ("DELETE", "/api/v1/rooms/1/messages/1"),
        ("GET", "/api/v1/rooms/1/presence"),
    ]:
        response = client.open(path, method=method, json={})
        _problem(response, 401)


def test_rooms_are_created_listed_and_fetched(ada: FlaskClient, bob: FlaskClient) -> None:
    assert _json(ada.get("/api/v1/rooms")) == {"items": []}
    room = _room(ada, "Team Notes", topic="decisions")
    assert room["slug"] == "team-notes" and room["is_private"] is False
    listed = _json(bob.get("/api/v1/rooms"))["items"]
    assert [(r["slug"], r["joined"], r["members"]) for r in listed] == [("team-notes", False, 1)]
    assert _json(bob.get(f"/api/v1/rooms/{room['id']}"))["name"] == "Team Notes"


@pytest.mark.parametrize(
    ("body", "status", "where"),
    [
        ({}, 422, ["body", "name"]),
        ({"name": ""}, 422, ["body", "name"]),
        ({"name": "x", "unknown": 1}, 422, ["body", "unknown"]),
        ({"name": 5}, 422, ["body", "name"]),
        ({"name": "ok", "slug": "Not A Slug"}, 422, ["body", "slug"]),
        ({"name": "bad\u0000"}, 422, ["name"]),
    ],
)
def test_bad_rooms_are_422_naming_the_field(
    ada: FlaskClient, body: dict[str, t.Any], status: int, where: list[str]
) -> None:
    problem = _problem(ada.post("/api/v1/rooms", json=body), status)
    assert [e["loc"] for e in problem["errors"]] == [where]


def test_a_taken_slug_is_409(ada: FlaskClient) -> None:
    _room(ada, "General")
    problem = _problem(ada.post("/api/v1/rooms", json={"name": "Other", "slug": "general"}), 409)
    assert problem["detail"] == "There is already a room at /rooms/general."


def test_posting_needs_membership_then_pages_go_both_ways(
    ada: FlaskClient, bob: FlaskClient
) -> None:
    room = _room(ada)
    url = f"/api/v1/rooms/{room['id']}/messages"
    assert _problem(bob.post(url, json={"body": "hi"}), 403)["detail"] == "Join the room first."
    joined = bob.post(f"/api/v1/rooms/{room['id']}/members", json={"username": "bob"})
    assert joined.status_code == 201 and _json(joined)["role"] == "member"
    ids = []
    for n in range(5):
        created = bob.post(url, json={"body": f"m{n}"})
        assert created.status_code == 201
        body = _json(created)
        assert created.headers["Location"] == f"{url}/{body['id']}"
        assert (body["author"], body["room_id"], body["edited_at"]) == ("bob", room["id"], None)
        ids.append(body["id"])

    newest = _json(ada.get(f"{url}?limit=2"))
    assert [m["body"] for m in newest["items"]] == ["m4", "m3"]
    older = _json(ada.get(newest["next"]))
    assert [m["body"] for m in older["items"]] == ["m2", "m1"]
    last = _json(ada.get(older["next"]))
    assert [m["body"] for m in last["items"]] == ["m0"] and last["next"] is None

    caught_up = _json(ada.get(f"{url}?after={ids[2]}"))
    assert [m["body"] for m in caught_up["items"]] == ["m3", "m4"]
    assert caught_up["next"] is None
    assert _json(ada.get(f"{url}/{ids[0]}"))["body"] == "m0"


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=101", "before=-1", "after=99999999999", "before=x", "before=1&after=1"],
)
def test_bad_cursors_are_422(ada: FlaskClient, query: str) -> None:
    room = _room(ada)
    _problem(ada.get(f"/api/v1/rooms/{room['id']}/messages?{query}"), 422)


def test_only_the_author_or_an_admin_changes_a_message(
    ada: FlaskClient, bob: FlaskClient, sign_in: SignIn
) -> None:
    room = _room(ada)
    url = f"/api/v1/rooms/{room['id']}/messages"
    message = _json(ada.post(url, json={"body": "mine"}))
    item = f"{url}/{message['id']}"
    bob.post(f"/api/v1/rooms/{room['id']}/members", json={"username": "bob"})
    assert _problem(bob.patch(item, json={"body": "x"}), 403)["detail"] == (
        "Only the message's author or an admin can change it."
    )
    _problem(bob.delete(item), 403)
    _problem(ada.patch(item, json={"body": ""}), 422)
    edited = _json(ada.patch(item, json={"body": "mine, edited"}))
    assert edited["body"] == "mine, edited" and edited["edited_at"] is not None
    admin = sign_in("root", admin=True)
    assert admin.delete(item).status_code == 204
    _problem(ada.get(item), 404)
    _problem(ada.delete(item), 404)


def test_private_rooms_are_404_for_outsiders_and_members_are_managed(
    ada: FlaskClient, bob: FlaskClient, sign_in: SignIn
) -> None:
    room = _room(ada, "Secret", is_private=True)
    base = f"/api/v1/rooms/{room['id']}"
    for response in (
        bob.get(base),
        bob.get(f"{base}/messages"),
        bob.post(f"{base}/members", json={"username": "bob"}),
        bob.get(f"{base}/presence"),
    ):
        _problem(response, 404)
    assert _json(bob.get("/api/v1/rooms")) == {"items": []}

    _problem(ada.post(f"{base}/members", json={"username": "nobody"}), 422)
    added = _json(ada.post(f"{base}/members", json={"username": "bob"}))
    members = _json(bob.get(f"{base}/members"))["items"]
    assert [(m["username"], m["role"]) for m in members] == [("ada", "owner"), ("bob", "member")]
    carol = sign_in("carol")
    _problem(carol.get(base), 404)
    _problem(bob.post(f"{base}/members", json={"username": "carol"}), 403)
    owner_id = members[0]["user_id"]
    _problem(ada.delete(f"{base}/members/{owner_id}"), 409)  # the owner stays
    _problem(ada.delete(f"{base}/members/999"), 404)
    assert bob.delete(f"{base}/members/{added['user_id']}").status_code == 204  # bob leaves
    _problem(bob.get(base), 404)


def test_unknown_rooms_and_ids_past_the_column_are_404(ada: FlaskClient) -> None:
    _problem(ada.get("/api/v1/rooms/999"), 404)
    _problem(ada.get("/api/v1/rooms/99999999999"), 404)
    room = _room(ada)
    _problem(ada.get(f"/api/v1/rooms/{room['id']}/messages/99999999999"), 404)


def test_presence_lists_who_has_the_room_open(app: Erlen, ada: FlaskClient) -> None:
    room = _room(ada)
    assert _json(ada.get(f"/api/v1/rooms/{room['id']}/presence")) == {"members": []}


def test_the_openapi_document_describes_every_room_route(client: FlaskClient) -> None:
    document = _json(client.get("/api/v1/openapi.json"))
    assert document["openapi"].startswith("3.1")
    assert {path for path in document["paths"] if path.startswith("/api/v1/rooms")} == {
        "/api/v1/rooms",
        "/api/v1/rooms/{room_id}",
        "/api/v1/rooms/{room_id}/members",
        "/api/v1/rooms/{room_id}/members/{user_id}",
        "/api/v1/rooms/{room_id}/messages",
        "/api/v1/rooms/{room_id}/messages/{message_id}",
        "/api/v1/rooms/{room_id}/presence",
    }
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    # The page's script comes from the API's own static route (no CDN, the strict CSP).
    script = re.search(r'<script src="([^"]+)"', docs.get_data(as_text=True))
    assert script is not None and script.group(1).startswith("/api/v1/")
    with client.get(script.group(1)) as js:
        assert js.status_code == 200 and js.mimetype in {
            "text/javascript",
            "application/javascript",
        }
