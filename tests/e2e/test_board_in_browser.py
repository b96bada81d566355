"""Two real browsers on the board, through nginx: posts and typing arrive live."""

from __future__ import annotations

import typing as t
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Dialog
from playwright.sync_api import expect
from playwright.sync_api import Page


@pytest.fixture
def pages(browser: t.Any, stack: t.Any, tmp_path: Path) -> t.Iterator[tuple[Page, Page]]:
    contexts = [browser.new_context(base_url=stack.base_url) for _ in range(2)]
    opened = [context.new_page() for context in contexts]
    errors: list[str] = []
    for page in opened:
        page.on("pageerror", lambda error: errors.append(str(error)))
    yield opened[0], opened[1]
    for index, page in enumerate(opened):
        page.screenshot(path=str(tmp_path / f"browser-{index}.png"))
    for context in contexts:
        context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def test_a_message_posted_in_one_browser_appears_processed_in_the_other(
    pages: tuple[Page, Page],
) -> None:
    alice, bob = pages
    for page in pages:
        page.goto("/")
        expect(page.locator("#live")).to_have_text("live", timeout=15_000)

    alice.fill("#body", "hello from a real browser")
    alice.click("button[type=submit]")

    for page in pages:
        item = page.locator("#messages li", has_text="hello from a real browser")
        expect(item).to_be_visible(timeout=15_000)
        expect(item.locator(".words")).to_have_text("5 words", timeout=15_000)
    expect(alice.locator("#body")).to_have_value("")


def test_typing_in_one_browser_shows_in_the_other(pages: tuple[Page, Page]) -> None:
    alice, bob = pages
    for page in pages:
        page.goto("/")
        expect(page.locator("#live")).to_have_text("live", timeout=15_000)
    alice_name = alice.locator("#me").inner_text()
    alice.type("#body", "hi")
    expect(bob.locator("#typing")).to_have_text(f"{alice_name} is typing…", timeout=10_000)


def test_the_board_still_works_without_javascript(browser: t.Any, stack: t.Any) -> None:
    context = browser.new_context(base_url=stack.base_url, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/")
        page.fill("#body", "posted without javascript")
        page.click("button[type=submit]")
        expect(page.locator("#messages li", has_text="posted without javascript")).to_be_visible()
    finally:
        context.close()


def test_a_signed_up_user_posts_under_their_name(pages: tuple[Page, Page]) -> None:
    alice, bob = pages
    bob.goto("/")
    expect(bob.locator("#live")).to_have_text("live", timeout=15_000)
    alice.goto("/register")
    alice.fill("#username", "alice-e2e")
    alice.fill("#password", "correct horse battery")
    alice.click("form.auth button[type=submit]")
    expect(alice.locator("header .who")).to_have_text("alice-e2e")
    expect(alice.locator("#live")).to_have_text("live", timeout=15_000)
    alice.fill("#body", "signed and sealed")
    alice.click("#post-form button[type=submit]")
    item = bob.locator("#messages li", has_text="signed and sealed")
    expect(item.locator(".author")).to_have_text("alice-e2e", timeout=15_000)


def test_a_page_that_lost_its_socket_gets_what_was_posted_meanwhile(
    pages: tuple[Page, Page], stack: t.Any
) -> None:
    alice, _ = pages
    alice.goto("/")
    expect(alice.locator("#live")).to_have_text("live", timeout=15_000)
    # Drop the socket, and reconnect no sooner than 2 s: posts made meanwhile reach
    # nobody on this page live; the resumed subscription replays them.
    alice.evaluate(
        """() => {
            const realtime = document.getElementById("board").realtime;
            realtime.options.minDelay = 4000;
            realtime.socket.close();
        }"""
    )
    expect(alice.locator("#live")).to_have_text("reconnecting…", timeout=5_000)
    with httpx.Client(base_url=stack.base_url, timeout=10) as other:
        page = other.get("/").text
        token = page.split('<meta name="csrf-token" content="', 1)[1].split('"', 1)[0]
        for n in range(3):
            posted = other.post(
                "/api/messages", json={"body": f"missed {n}"}, headers={"X-CSRFToken": token}
            )
            assert posted.status_code == 201
    expect(alice.locator("#live")).to_have_text("reconnecting…")  # still away

    expect(alice.locator("#live")).to_have_text("live", timeout=15_000)
    for n in range(3):
        item = alice.locator("#messages li", has_text=f"missed {n}")
        expect(item.locator(".words")).to_have_text("2 words", timeout=15_000)


def test_logging_out_in_another_tab_signs_this_page_out(browser: t.Any, stack: t.Any) -> None:
    context = browser.new_context(base_url=stack.base_url)
    try:
        board, other_tab = context.new_page(), context.new_page()
        other_tab.goto("/register")
        other_tab.fill("#username", f"tabs-{uuid.uuid4().hex[:6]}")
        other_tab.fill("#password", "correct horse battery")
        other_tab.click("form.auth button[type=submit]")
        board.goto("/")
        expect(board.locator("#live")).to_have_text("live", timeout=15_000)

        other_tab.goto("/")
        other_tab.click("button:text-is('Log out')")

        # The server closed the socket with 4401: the page says so and stops retrying.
        expect(board.locator("#live")).to_have_text("signed out: reload the page", timeout=10_000)
    finally:
        context.close()


def test_each_browser_sees_who_else_is_here(pages: tuple[Page, Page]) -> None:
    alice, bob = pages
    alice.goto("/")
    expect(alice.locator("#live")).to_have_text("live", timeout=15_000)
    alice_name = alice.locator("#me").inner_text()
    bob.goto("/")
    expect(bob.locator("#live")).to_have_text("live", timeout=15_000)
    bob_name = bob.locator("#me").inner_text()

    # Bob fetched the list after joining; Alice heard Bob's presence.join.
    for page in (alice, bob):
        expect(page.locator("#here")).to_contain_text(alice_name, timeout=10_000)
        expect(page.locator("#here")).to_contain_text(bob_name, timeout=10_000)

    bob.goto("about:blank")  # leaving the page closes its socket
    expect(alice.locator("#here")).not_to_contain_text(bob_name, timeout=10_000)


def test_a_refused_post_is_explained_under_the_form(pages: tuple[Page, Page]) -> None:
    alice, _ = pages
    alice.goto("/")
    expect(alice.locator("#live")).to_have_text("live", timeout=15_000)
    dialogs: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    alice.on("dialog", dismiss)

    alice.fill("#body", "   ")  # only spaces: the form allows it, the API refuses it
    alice.click("#post-form button[type=submit]")

    expect(alice.locator("#post-error")).to_have_text("A message needs some text.")
    assert dialogs == []
