"""Two real browsers in a room, through nginx: messages, edits and deletions arrive live,
with mentions, presence and typing under the users' names."""

from __future__ import annotations

import csv
import io
import re
import typing as t
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect
from playwright.sync_api import Page

PASSWORD = "correct horse battery"


def _sign_up(page: Page, username: str) -> None:
    page.goto("/register")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form.auth button[type=submit]")
    expect(page.locator("header .who")).to_have_text(username)


@pytest.fixture
def people(
    browser: t.Any, stack: t.Any, tmp_path: Path
) -> t.Iterator[tuple[tuple[Page, str], tuple[Page, str]]]:
    """Two signed-up users, each in a browser of their own; screenshots and the console are
    kept in the test's folder, and a JavaScript error fails the test."""
    contexts = [browser.new_context(base_url=stack.base_url) for _ in range(2)]
    pages = [context.new_page() for context in contexts]
    errors: list[str] = []
    console: list[str] = []
    for index, page in enumerate(pages):
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message, i=index: console.append(f"[{i}] {message.text}"))
    suffix = uuid.uuid4().hex[:6]
    names = (f"ann-{suffix}", f"ben-{suffix}")
    for page, name in zip(pages, names, strict=True):
        _sign_up(page, name)
    yield (pages[0], names[0]), (pages[1], names[1])
    for index, page in enumerate(pages):
        page.screenshot(path=str(tmp_path / f"browser-{index}.png"))
    (tmp_path / "console.log").write_text("\n".join(console))
    for context in contexts:
        context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def _open_room(ann: Page, ben: Page) -> str:
    """Ann creates a room; both open it and are live; Ben joins. Returns its slug."""
    slug = f"room-{uuid.uuid4().hex[:8]}"
    ann.goto("/rooms/")
    ann.fill("#name", "End to end")
    ann.fill("#slug", slug)
    ann.click("#create-room button[type=submit]")
    expect(ann.locator("h1")).to_contain_text("End to end")
    ben.goto(f"/rooms/{slug}")
    ben.click("button:text-is('Join this room')")
    for page in (ann, ben):
        expect(page.locator("#live")).to_have_text("live", timeout=15_000)
    return slug


def test_a_message_arrives_live_and_edits_and_deletions_follow(
    people: tuple[tuple[Page, str], tuple[Page, str]],
) -> None:
    (ann, ann_name), (ben, ben_name) = people
    _open_room(ann, ben)

    ann.fill("#body", f"hello @{ben_name}, welcome")
    ann.click("#post-form button[type=submit]")
    item = ben.locator("#messages li", has_text="welcome")
    expect(item).to_be_visible(timeout=15_000)
    expect(item.locator(".author")).to_have_text(ann_name)
    expect(item.locator(".mention")).to_have_text(f"@{ben_name}")
    expect(item).to_have_class("message processed", timeout=15_000)  # the worker counted
    expect(ann.locator("#body")).to_have_value("")

    ben.fill("#body", "first draft")
    ben.click("#post-form button[type=submit]")
    draft = ann.locator("#messages li", has_text="first draft")
    expect(draft).to_be_visible(timeout=15_000)
    message_id = draft.get_attribute("data-id")

    # Ben edits on the edit page; Ann's open page shows the new text live.
    ben.goto(ben.url.split("#")[0])
    ben.locator(f"#message-{message_id} a", has_text="Edit").click()
    ben.fill("#body", "final version")
    ben.click("#edit-form button[type=submit]")
    edited = ann.locator(f"#message-{message_id}")
    expect(edited.locator(".body")).to_have_text("final version", timeout=15_000)
    expect(edited.locator(".edited")).to_have_text("(edited)")

    ben.locator(f"#message-{message_id} button", has_text="Delete").click()
    expect(ann.locator(f"#message-{message_id}")).to_have_count(0, timeout=15_000)
    # Ann may not change Ben's messages: no links on her page.
    expect(ann.locator("#messages li", has_text="welcome").locator("a")).to_have_count(1)


def test_presence_and_typing_show_names(
    people: tuple[tuple[Page, str], tuple[Page, str]],
) -> None:
    (ann, ann_name), (ben, ben_name) = people
    _open_room(ann, ben)
    expect(ann.locator("#here")).to_contain_text(ben_name, timeout=15_000)
    expect(ben.locator("#here")).to_contain_text(ann_name, timeout=15_000)
    ann.type("#body", "hi")
    expect(ben.locator("#typing")).to_have_text(f"{ann_name} is typing…", timeout=10_000)


def test_a_refused_post_is_explained_under_the_form(
    people: tuple[tuple[Page, str], tuple[Page, str]],
) -> None:
    (ann, _), (ben, _) = people
    _open_room(ann, ben)
    ann.evaluate("() => document.getElementById('body').removeAttribute('required')")
    ann.fill("#body", "   ")
    ann.click("#post-form button[type=submit]")
    expect(ann.locator("#post-error")).to_have_text("A message needs some text.")
    expect(ann.locator("#post-error")).to_be_visible()


def test_a_private_room_stays_invisible_until_its_owner_adds_you(
    people: tuple[tuple[Page, str], tuple[Page, str]],
) -> None:
    (ann, _), (ben, ben_name) = people
    slug = f"secret-{uuid.uuid4().hex[:8]}"
    ann.goto("/rooms/")
    ann.fill("#name", "Secret")
    ann.fill("#slug", slug)
    ann.check("input[name=private]")
    ann.click("#create-room button[type=submit]")
    response = ben.goto(f"/rooms/{slug}")
    assert response is not None and response.status == 404
    ann.fill("#username", ben_name)
    ann.click("#add-member button[type=submit]")
    expect(ann.locator("#members")).to_contain_text(ben_name)
    ben.goto(f"/rooms/{slug}")
    expect(ben.locator("#live")).to_have_text("live", timeout=15_000)


def test_an_export_shows_its_progress_then_downloads_the_rows(
    people: tuple[tuple[Page, str], tuple[Page, str]],
) -> None:
    (ann, _), (ben, _) = people
    _open_room(ann, ben)
    for n in range(3):
        ann.fill("#body", f"exported {n}")
        ann.click("#post-form button[type=submit]")
        expect(ann.locator("#messages li", has_text=f"exported {n}")).to_be_visible()
    ann.click("#export-form button[value=csv]")
    expect(ann.locator("#export-state")).to_have_text("done", timeout=20_000)
    expect(ann.locator("#export-progress")).to_have_attribute("value", "3")
    with ann.expect_download() as info:
        ann.click("#download")
    path = info.value.path()
    rows = list(csv.reader(io.StringIO(Path(path).read_text())))
    assert rows[0] == ["id", "created_at", "author", "body", "edited_at"]
    assert [row[3] for row in rows[1:]] == [f"exported {n}" for n in range(3)]


def _log_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form.auth button[type=submit]")
    expect(page.locator("header .who")).to_have_text(username)


def test_logging_out_everywhere_signs_the_other_browser_out_and_closes_its_socket(
    browser: t.Any, stack: t.Any, people: tuple[tuple[Page, str], tuple[Page, str]]
) -> None:
    (ann, ann_name), (ben, _) = people
    _open_room(ann, ben)
    laptop = browser.new_context(base_url=stack.base_url)
    try:
        other = laptop.new_page()
        _log_in(other, ann_name)
        other.goto(ann.url)
        expect(other.locator("#live")).to_have_text("live", timeout=15_000)

        ann.click("button:text-is('Log out everywhere')")
        expect(other.locator("#live")).to_have_text("signed out: reload the page", timeout=10_000)
        other.reload()
        expect(other).to_have_url(re.compile(r"/login\?next="))
    finally:
        laptop.close()


def test_a_deactivated_user_is_locked_out_at_once(
    browser: t.Any, stack: t.Any, people: tuple[tuple[Page, str], tuple[Page, str]]
) -> None:
    (ann, _), (ben, ben_name) = people
    _open_room(ann, ben)
    admin_name = f"root-{uuid.uuid4().hex[:6]}"
    stack.create_admin(admin_name, PASSWORD)
    console = browser.new_context(base_url=stack.base_url)
    try:
        admin = console.new_page()
        _log_in(admin, admin_name)
        admin.goto("/admin/users")
        admin.locator(f"tr[data-username='{ben_name}'] button", has_text="Deactivate").click()
        expect(admin.locator(".flash")).to_contain_text(f"{ben_name} is deactivated")

        expect(ben.locator("#live")).to_have_text("signed out: reload the page", timeout=10_000)
        ben.goto("/login")
        ben.fill("#username", ben_name)
        ben.fill("#password", PASSWORD)
        ben.click("form.auth button[type=submit]")
        expect(ben.locator(".flash.error")).to_have_text(
            "This account is deactivated. Ask an admin to reactivate it."
        )
    finally:
        console.close()


def test_a_forgotten_password_is_reset_through_the_caught_mail(
    browser: t.Any, stack: t.Any, people: tuple[tuple[Page, str], tuple[Page, str]]
) -> None:
    (ann, ann_name), _ = people
    address = f"{ann_name}@example.test"
    ann.goto("/account")
    ann.fill("#email", address)
    ann.click("#email-form button[type=submit]")
    expect(ann.locator("#email")).to_have_value(address)
    ann.click("header button:text-is('Log out')")
    ann.goto("/login")
    ann.click("text=Forgot your password?")
    ann.fill("#email", address)
    ann.click("#forgot-form button[type=submit]")
    expect(ann.locator(".flash")).to_contain_text("a link to reset its password is on its way")

    # The worker sends it to the stack's mail catcher; ann reads it at /_mail/ through nginx.
    mailbox = browser.new_context(
        base_url=stack.base_url,
        http_credentials={"username": "ann", "password": stack.mail_password},
    )
    try:
        mail = mailbox.new_page()
        subject = mail.locator("table.mail tr", has_text=address).locator("a")
        for _ in range(40):
            mail.goto("/_mail/")
            if subject.count():
                break
            mail.wait_for_timeout(500)
        expect(subject).to_have_text("Reset your erlen starter password")
        subject.click()
        mail.click("pre.mail-text a[href*='/password/reset/']")
        expect(mail).to_have_url(re.compile(r"/password/reset/"))
        mail.fill("#password", "a brand new password")
        mail.click("#reset-form button[type=submit]")
        expect(mail.locator(".flash")).to_contain_text("Your password is changed")
    finally:
        mailbox.close()

    ann.goto("/login")
    ann.fill("#username", ann_name)
    ann.fill("#password", PASSWORD)  # the old one
    ann.click("form.auth button[type=submit]")
    expect(ann.locator("header .who")).to_have_count(0)
    ann.fill("#username", ann_name)
    ann.fill("#password", "a brand new password")
    ann.click("form.auth button[type=submit]")
    expect(ann.locator("header .who")).to_have_text(ann_name)
