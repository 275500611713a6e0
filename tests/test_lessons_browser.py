"""The lesson panel in real headless Chromium: a lesson opened beside the drawing, steps turning "Done" / "完成"
as the cluster gets there, a wrong attempt's hint, the architecture tour and the folded start-up story."""

import re

import pytest

from tests import chromium
from tests.chromium import ARTIFACTS
from tests.processes import start_playground

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = start_playground(tmp_path_factory.mktemp("lessons-browser"), tempo="instant")
    yield server
    server.stop()


@pytest.fixture
def browser():
    with chromium.launched() as b:
        yield b


def open_page(browser, served, locale="en-US"):
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale=locale)
    page = context.new_page()
    page.goto(f"{served.url}/p/default/")
    page.wait_for_selector("#live.on")
    return page


def step_heading(page, title: str, done_word: str):
    return page.get_by_role("heading", name=re.compile(rf"{re.escape(title)}\s+{done_word}$"))


def test_it_marks_steps_done_in_english_and_chinese(served, browser):
    page = open_page(browser, served)
    panel = page.locator("#lessons")
    panel.get_by_role("button", name="Kubernetes basics, the seed walkthrough").click()
    # The control plane is up: the tour step is done at once, "Done" in its accessible name.
    step_heading(page, "The architecture", "Done").wait_for()
    assert page.locator("#lesson-step-tour .badge-done").inner_text() == "Done"
    assert page.locator("#lesson-step-tour .badge-done").is_visible()

    # The tour: a component in the drawing opens the seed's description.
    page.locator("#figure [data-box='scheduler']").click()
    assert "decides which Node a Pod runs on" in page.locator("#tour-scheduler").inner_text()

    # The story starts folded: the cluster's start-up is one line.
    toggle = page.locator("#steps > li.startup-toggle button")
    assert re.fullmatch(r"Start-up of the cluster \(\d+ steps\)", toggle.inner_text())
    assert page.locator("#steps > li.startup").first.is_hidden()

    # Predict, then deploy with the step's own button; the step turns Done when the pod runs.
    deploy = page.locator("#lesson-step-deploy")
    deploy.get_by_role("button", name="k8s-node1").click()
    page.locator("#lesson-step-deploy").get_by_text("You said: k8s-node1.").wait_for()
    page.locator("#lesson-step-deploy").get_by_role("button", name="Do it with a button").click()
    step_heading(page, "Deploy nginx and watch the hops", "Done").wait_for(timeout=30_000)
    page.locator("#lesson-step-deploy").get_by_text("The cluster did:").wait_for()
    # The learner's own steps come first in the story.
    # (At the instant tempo they may come as a burst, under a note saying so.)
    first_shown = page.locator("#steps > li:not(.startup):not(.startup-toggle):not(.burst-note)").first.inner_text()
    assert "test1" in first_shown

    # A wrong attempt through the page's own Scale form: no Done, a hint instead.
    scale = page.get_by_role("form", name="Scale", exact=True)
    scale.get_by_label("Replicas", exact=True).fill("2")
    scale.get_by_role("button", name="Scale", exact=True).click()
    hint = page.locator("#lesson-step-scale-3 .wrong-attempt")
    hint.wait_for(timeout=30_000)
    assert "exactly 3" in hint.inner_text()
    assert page.locator("#lesson-step-scale-3 .badge-done").count() == 0

    # Through the page's terminal: the step's command, one click.
    page.locator("#lesson-step-expose").get_by_role("button", name="Run in terminal").first.click()
    step_heading(page, "Publish it as a NodePort Service", "Done").wait_for(timeout=30_000)
    page.screenshot(path=ARTIFACTS / "lesson-en.png")

    # 中文: the same progress, "完成".
    page.get_by_role("button", name="中文").click()
    page.wait_for_selector("html[lang='zh-hans']")
    page.wait_for_selector("#live.on")
    heading = page.get_by_role("heading", name=re.compile(r"部署 nginx，观察创建流程\s+完成$"))
    heading.wait_for()
    assert page.locator("#lesson-step-deploy .badge-done").inner_text() == "完成"
    assert page.locator("#lesson-step-scale-3 .wrong-attempt").is_visible()
    page.screenshot(path=ARTIFACTS / "lesson-zh.png")
