"""The rooms pages: every route, happy and unhappy paths, each refusal a clear 4xx page.

SQLite and the in-memory brokers (the fast tier); the API's own tests are in
``test_api_v1_rooms.py``.
"""

from __future__ import annotations

import asyncio
import json
import typing as t

import pytest
from erlen import Erlen
from erlen.testing import FlaskClient

from web import events
from web.extensions import db
from web.extensions import publisher
from web.models import Mention
from web.models import Message
from web.models import User

SignIn = t.Callable[..., FlaskClient]


def _text(response: t.Any) -> str:
    return str(response.get_data(as_text=True))


def _create(client: FlaskClient, name: str, **form: str) -> t.Any:
    return client.post("/rooms/", data={"name": name, **form})


def test_visitors_are_sent_to_log_in_and_back(client: FlaskClient) -> None:
    response = client.get("/rooms/general")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert client.post("/rooms/", data={"name": "x"}).status_code == 302


def test_the_list_has_an_empty_state_then_the_rooms(ada: FlaskClient) -> None:
    page = _text(ada.get("/rooms/"))
    assert 'id="no-rooms"' in page and "No rooms yet" in page
    created = _create(ada, "Team Notes", topic="What we decided")
    assert created.status_code == 302 and created.headers["Location"] == "/rooms/team-notes"
    page = _text(ada.get("/rooms/"))
    assert 'data-slug="team-notes"' in page and "What we decided" in page
    assert "1 member" in page and "joined" in page
    assert "no-rooms" not in page


@pytest.mark.parametrize(
    ("form", "status", "fragment"),
    [
        ({"name": ""}, 422, "A room&#39;s name is 1 to 80 characters."),
        ({"name": "x" * 81}, 422, "A room&#39;s name is 1 to 80 characters."),
        ({"name": "ok", "slug": "Bad Slug"}, 422, "A room&#39;s address is 1 to 40"),
        ({"name": "ok", "slug": "-edge"}, 422, "A room&#39;s address is 1 to 40"),
        ({"name": "ok", "topic": "t" * 201}, 422, "A topic is at most 200 characters."),
        ({"name": "nul\x00"}, 422, "name must not contain NUL"),
    ],
)
def test_a_bad_room_form_is_shown_again_with_the_reason(
    ada: FlaskClient, form: dict[str, str], status: int, fragment: str
) -> None:
    response = ada.post("/rooms/", data=form)
    assert response.status_code == status
    page = _text(response)
    assert fragment in page and 'id="create-room"' in page


def test_a_taken_address_is_a_409_and_the_form_again(ada: FlaskClient) -> None:
    assert _create(ada, "General").status_code == 302
    response = _create(ada, "Another", slug="general")
    assert response.status_code == 409
    assert "There is already a room at /rooms/general." in _text(response)


def test_a_member_posts_and_everyone_on_the_channel_hears_it(
    app: Erlen, ada: FlaskClient, bob: FlaskClient
) -> None:
    _create(ada, "General")
    page = _text(bob.get("/rooms/general"))
    assert "You are not a member of this room." in page and "Join this room" in page
    refused = bob.post("/rooms/general/messages", data={"body": "hi"})
    assert refused.status_code == 403 and "Join the room first." in _text(refused)

    assert bob.post("/rooms/general/join").status_code == 302
    response = bob.post("/rooms/general/messages", data={"body": "hello @ada"})
    assert response.status_code == 302
    page = _text(ada.get("/rooms/general"))
    assert '<span class="author">bob</span>' in page
    assert '<span class="mention">@ada</span>' in page
    # The room's channel got the event (the replay window keeps it for late subscribers).
    history = asyncio.run(publisher.get_broker(app).history(events.room_channel(1), since=0))
    assert history.events is not None
    published = [json.loads(payload) for payload in history.events]
    assert [(e["event"], e["data"]["body"]) for e in published] == [
        (events.MESSAGE_POSTED, "hello @ada")
    ]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Mention.user_id))) == 1


def test_an_empty_message_is_refused_under_the_form_keeping_nothing(ada: FlaskClient) -> None:
    _create(ada, "General")
    response = ada.post("/rooms/general/messages", data={"body": "   "})
    assert response.status_code == 422
    assert "A message needs some text." in _text(response)
    assert "No messages yet" in _text(ada.get("/rooms/general"))


def test_only_the_author_or_an_admin_edits_and_deletes(
    app: Erlen, ada: FlaskClient, bob: FlaskClient, sign_in: SignIn
) -> None:
    _create(ada, "General")
    bob.post("/rooms/general/join")
    bob.post("/rooms/general/messages", data={"body": "first"})
    with app.app_context():
        message_id = db.session.scalar(db.select(Message.id))
    edit = f"/rooms/general/messages/{message_id}/edit"
    remove = f"/rooms/general/messages/{message_id}/delete"

    # The room's owner is not the author: no.
    assert ada.get(edit).status_code == 403
    assert ada.post(edit, data={"body": "hacked"}).status_code == 403
    assert ada.post(remove).status_code == 403

    assert bob.get(edit).status_code == 200
    bad = bob.post(edit, data={"body": ""})
    assert bad.status_code == 422 and "A message needs some text." in _text(bad)
    assert bob.post(edit, data={"body": "first, fixed"}).status_code == 302
    page = _text(ada.get("/rooms/general"))
    assert "first, fixed" in page and "(edited)" in page

    admin = sign_in("root", admin=True)
    assert admin.post(remove).status_code == 302
    assert "first, fixed" not in _text(ada.get("/rooms/general"))
    assert bob.post(remove).status_code == 404  # gone


def test_unknown_rooms_and_messages_are_404_pages(ada: FlaskClient) -> None:
    assert ada.get("/rooms/nowhere").status_code == 404
    assert ada.get("/rooms/Not_A_Slug").status_code == 404  # the converter refuses it
    _create(ada, "General")
    assert ada.get("/rooms/general/messages/999/edit").status_code == 404
    assert ada.get("/rooms/general/messages/99999999999/edit").status_code == 404
    response = ada.post("/rooms/general/messages/999/delete")
    assert response.status_code == 404 and "There is no message 999" in _text(response)


def test_a_private_room_is_invisible_to_outsiders(
    ada: FlaskClient, bob: FlaskClient, sign_in: SignIn
) -> None:
    _create(ada, "Secret", private="1")
    assert "Secret" not in _text(bob.get("/rooms/"))
    for response in (
        bob.get("/rooms/secret"),
        bob.post("/rooms/secret/join"),
        bob.post("/rooms/secret/messages", data={"body": "hi"}),
    ):
        assert response.status_code == 404  # as if it didn't exist
    assert ada.post("/rooms/secret/members", data={"username": "bob"}).status_code == 302
    assert "Secret" in _text(bob.get("/rooms/"))
    assert bob.post("/rooms/secret/messages", data={"body": "thanks"}).status_code == 302
    admin = sign_in("root", admin=True)
    assert admin.get("/rooms/secret").status_code == 200


def test_members_are_managed_by_the_owner_only(
    app: Erlen, ada: FlaskClient, bob: FlaskClient, sign_in: SignIn
) -> None:
    _create(ada, "General")
    carol = sign_in("carol")
    assert bob.post("/rooms/general/members", data={"username": "carol"}).status_code == 403
    unknown = ada.post("/rooms/general/members", data={"username": "nobody"})
    assert unknown.status_code == 422 and "There is no user &#39;nobody&#39;." in _text(unknown)
    assert ada.post("/rooms/general/members", data={"username": "carol"}).status_code == 302
    page = _text(carol.get("/rooms/general"))
    assert 'id="post-form"' in page
    with app.app_context():
        carol_id = db.session.scalar(db.select(User.id).where(User.username == "carol"))
        ada_id = db.session.scalar(db.select(User.id).where(User.username == "ada"))
    assert bob.post(f"/rooms/general/members/{carol_id}/remove").status_code == 403
    assert ada.post(f"/rooms/general/members/{ada_id}/remove").status_code == 409
    assert ada.post("/rooms/general/members/999/remove").status_code == 404
    assert ada.post(f"/rooms/general/members/{carol_id}/remove").status_code == 302
    assert 'id="post-form"' not in _text(carol.get("/rooms/general"))


def test_leaving_a_room_and_the_owner_cannot(ada: FlaskClient, bob: FlaskClient) -> None:
    _create(ada, "General")
    bob.post("/rooms/general/join")
    assert bob.post("/rooms/general/leave").status_code == 302
    assert "You are not a member" in _text(bob.get("/rooms/general"))
    refused = ada.post("/rooms/general/leave")
    assert refused.status_code == 409 and "You own this room" in _text(refused)


def test_older_messages_are_a_link_away(app: Erlen, ada: FlaskClient) -> None:
    _create(ada, "General")
    for n in range(55):
        ada.post("/rooms/general/messages", data={"body": f"message {n}"})
    page = _text(ada.get("/rooms/general"))
    assert "message 54" in page and "message 4<" not in page
    older = page.split('id="older" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    earlier = _text(ada.get(older))
    assert "message 4<" in earlier and "message 54" not in earlier
    assert "Back to the latest messages" in earlier


def test_the_page_carries_what_room_js_needs(app: Erlen, ada: FlaskClient) -> None:
    _create(ada, "General")
    page = _text(ada.get("/rooms/general"))
    assert 'data-channel="room.1"' in page
    assert 'data-messages-url="/api/v1/rooms/1/messages"' in page
    assert 'data-presence-url="/api/v1/rooms/1/presence"' in page
    assert "/static/room.js" in page and "<script>" not in page  # no inline script (CSP)
    # The layout's context processor lists the rooms the user joined.
    yours = page.split('<aside id="your-rooms">', 1)[1].split("</aside>", 1)[0]
    assert 'aria-current="page">General</a>' in yours
