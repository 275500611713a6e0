"""Two learners, two browsers: each starts a playground of their own, comes back to it after a reload, resets it,
and shares a read-only link that only watches. Real headless Chromium against a real server process; each
browser context is a separate learner (its own cookies)."""

import re

import pytest

from tests import chromium
from tests.chromium import ARTIFACTS
from tests.processes import start_playground

pytestmark = pytest.mark.browser

LINK = re.compile(r"/p/([a-z2-7]{24})/$")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = start_playground(tmp_path_factory.mktemp("playgrounds"), tempo="realtime")
    yield server
    server.stop()


@pytest.fixture
def browser():
    with chromium.launched() as b:
        yield b


def learner(browser, locale: str = "en-US"):
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale=locale)
    return context.new_page()


def start(page, url: str) -> str:
    page.goto(f"{url}/")
    page.get_by_role("button", name="Start a playground").click()
    page.wait_for_url(LINK)
    page.wait_for_selector("#live.on")
    return LINK.search(page.url).group(1)


def deploy(page, name: str) -> None:
    form = page.get_by_role("form", name="Deploy", exact=True)
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_role("button", name="Deploy", exact=True).click()
    page.wait_for_selector(f"[data-pods] li[id^='pod-default-{name}-'] .chip.phase-Running", timeout=60_000)


def test_it_gives_two_learners_playgrounds_of_their_own(served, browser):
    alice, bob = learner(browser), learner(browser)
    a, b = start(alice, served.url), start(bob, served.url)
    assert a != b
    deploy(alice, "alices")
    bob.reload()
    bob.wait_for_selector("#live.on")
    bob.wait_for_selector("#tables table")
    assert bob.locator("[data-pods] li[id^='pod-default-alices-']").count() == 0
    assert "alices" not in bob.locator("#tables").inner_text()
    assert alice.locator("[data-pods] li[id^='pod-default-alices-']").count() == 1


def test_it_brings_the_learner_back_to_their_playground_after_a_reload_or_from_the_start_page(served, browser):
    page = learner(browser)
    slug = start(page, served.url)
    page.reload()
    page.wait_for_selector("#live.on")
    assert LINK.search(page.url).group(1) == slug
    page.goto(f"{served.url}/")
    mine = page.get_by_role("region", name="Your playgrounds")
    mine.get_by_role("link", name=re.compile("Open")).first.click()
    page.wait_for_selector("#live.on")
    assert LINK.search(page.url).group(1) == slug


def test_it_resets_a_playground_after_asking(served, browser):
    page = learner(browser)
    slug = start(page, served.url)
    deploy(page, "gone")
    asked = []
    page.on("dialog", lambda d: (asked.append(d.message), d.accept()))
    page.locator("details.share summary").click()
    with page.expect_navigation():  # the page reloads once the cluster is fresh
        page.get_by_role("button", name="Reset to a fresh cluster").click()
    page.wait_for_selector("#live.on")
    page.wait_for_function("() => document.querySelectorAll(\"[data-pods] li[id^='pod-default-gone-']\").length === 0")
    assert asked and "Reset this playground?" in asked[0]
    assert LINK.search(page.url).group(1) == slug
    deploy(page, "gone")  # the name is free again


def test_it_asks_before_deleting(served, browser):
    page = learner(browser)
    start(page, served.url)
    deploy(page, "keepme")
    asked, sent = [], []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/delete") else None)
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    form = page.get_by_role("form", name="Delete", exact=True)
    form.get_by_label("Object name", exact=True).fill("keepme")
    form.get_by_role("button", name="Delete", exact=True).click()
    page.evaluate("() => 0")  # a round trip: the click's handlers have run
    assert asked and "Deleting cannot be undone" in asked[0]
    assert sent == []
    page.once("dialog", lambda d: d.accept())
    form.get_by_role("button", name="Delete", exact=True).click()
    page.wait_for_selector("#result .result[data-action='delete']")
    assert len(sent) == 1 and "deleted" in page.locator("#result").inner_text()


def test_it_shares_a_read_only_link_without_any_action_and_the_tempo_follows_live(served, browser):
    owner, watcher = learner(browser), learner(browser)
    start(owner, served.url)
    owner.locator("details.share summary").click()
    watch = owner.locator("#watch-link").input_value()
    watcher.goto(watch)
    watcher.wait_for_selector("#live.on")
    assert watcher.locator("form[hx-post]").count() == 0
    assert watcher.get_by_role("button", name="Deploy").count() == 0
    assert watcher.get_by_role("link", name="Download kubeconfig").count() == 0
    assert watcher.locator("#tempo").count() == 0
    assert watcher.locator("#tempo-now .tempo-name").inner_text() == "Realtime"
    owner.get_by_role("form", name="Tempo").get_by_role("button", name="Slow motion (classroom)").click()
    watcher.wait_for_function("() => document.querySelector('#tempo-now .tempo-name').textContent"
                              " === 'Slow motion (classroom)'")
    deploy(owner, "shown")
    watcher.wait_for_selector("[data-pods] li[id^='pod-default-shown-'] .chip.phase-Running", timeout=60_000)
    watcher.screenshot(path=ARTIFACTS / "playground-read-only.png")


def test_it_shows_the_landing_page_in_english_and_chinese(served, browser):
    for locale, name, heading in (("en-US", "landing-en.png", "Your playgrounds"),
                                  ("zh-CN", "landing-zh.png", "你的练习场")):
        page = learner(browser, locale)
        page.goto(f"{served.url}/")
        assert page.get_by_role("heading", name=heading).is_visible()
        page.screenshot(path=ARTIFACTS / name)
        page.screenshot(path=ARTIFACTS / name.replace(".png", "-full.png"), full_page=True)
