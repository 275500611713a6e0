"""Slow motion on the live page, at the classroom tempo, in real headless Chromium against a real server.

What the page animated is read from its own record (`window.kubeplay`, static/playground/app.js) and checked
against the change feed (the page's /history endpoint, which reads it). Screenshots every half second go to
test-artifacts/slowmo-*/.
"""

import json
import shutil
import urllib.request

import pytest

from tests import chromium
from tests.chromium import ARTIFACTS
from tests.processes import start_playground

pytestmark = pytest.mark.browser

TEST1_CHIPS = "[data-pods] li[id^='pod-default-test1-'] .chip"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = start_playground(tmp_path_factory.mktemp("slowmo"), tempo="classroom")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium.launched() as b:
        yield b


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-US")
    yield context.new_page()
    context.close()


class Film:
    """Screenshots every half second while waiting for the page, into test-artifacts/slowmo-<name>/."""

    def __init__(self, page, name: str):
        self.page, self.dir, self.n = page, ARTIFACTS / f"slowmo-{name}", 0
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)

    def until(self, script: str, arg=None, timeout: float = 240) -> None:
        for _ in range(int(timeout * 2)):
            self.shot()
            if self.page.evaluate(script, arg):
                return
            self.page.wait_for_timeout(500)
        raise AssertionError(f"the page never got to: {script}")

    def shot(self) -> None:
        self.n += 1
        self.page.screenshot(path=self.dir / f"{self.n:04d}.png")


def feed_steps(served, after: int) -> list[int]:
    """The revisions after `after` that the story tells, read from the change feed."""
    with urllib.request.urlopen(f"{served.url}/p/default/history?at={after}", timeout=30) as r:
        past = json.loads(r.read())
    assert past["revision"] == after
    return [c["rev"] for c in past["changes"] if c.get("step")]


def created_revision(served, after: int, kind: str, name: str) -> int:
    """The revision at which the feed recorded the object's creation, after `after`."""
    with urllib.request.urlopen(f"{served.url}/p/default/history?at={after}", timeout=30) as r:
        past = json.loads(r.read())
    added = [c["rev"] for c in past["changes"] if (c["kind"], c["name"], c["type"]) == (kind, name, "ADDED")]
    assert added, f"no {kind} {name} in the feed after revision {after}"
    return added[-1]


def live_revision(page) -> int:
    return page.evaluate("Number(document.getElementById('timeline-range').max)")


def action(page, form: str, button: str | None = None, **fields) -> str:
    page.evaluate("document.getElementById('result').replaceChildren()")
    f = page.get_by_role("form", name=form, exact=True)
    for label, value in fields.items():
        field = f.get_by_label(label, exact=True)
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    f.get_by_role("button", name=button or form, exact=True).click()
    page.wait_for_selector("#result .result[data-action]")
    return page.locator("#result").inner_text()


CONVERGED = """([count, image]) => {
    const chips = [...document.querySelectorAll("[data-pods] li[id^='pod-default-test1-'] .chip")];
    return chips.length === count && chips.every(c => c.classList.contains("phase-Running")
        && c.querySelector(".i").textContent === image);
}"""
CAUGHT_UP = "(rev) => window.kubeplay.animated.includes(rev) && window.kubeplay.pending() === 0"


def animated_in_order(page, served, film, before: int, count: int, image: str) -> list[int]:
    """Wait for the deployment to converge on the page, then: every story revision of the feed since `before` was
    animated one by one, in revision order, none told in a group."""
    film.until(CONVERGED, [count, image])
    told = feed_steps(served, before)
    film.until(CAUGHT_UP, told[-1])
    animated = [r for r in page.evaluate("window.kubeplay.animated") if before < r <= told[-1]]
    assert animated == told
    assert not [r for r in page.evaluate("window.kubeplay.grouped") if r > before]
    return told


# For every token set travelling: how much of the drawing's text it covers where it rests on each box of its
# way, in px² of the token's square (its diameter with the outer ring), measured when it sets out.
MEASURE_TOKENS = """
window.__resting = [];
const animate = Element.prototype.animate;
Element.prototype.animate = function (frames, options) {
  if (this.classList.contains("token")) {
    const figure = document.getElementById("figure");
    const f = figure.getBoundingClientRect();
    const texts = [];
    const walk = document.createTreeWalker(figure, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      if (!n.textContent.trim()) continue;
      range.selectNodeContents(n);
      for (const r of range.getClientRects()) texts.push({r, text: n.textContent.trim()});
    }
    const half = this.offsetWidth / 2 + 2;
    for (const frame of frames) {
      const [x, y] = frame.transform.match(/-?[\\d.]+/g).map(Number).map((v, i) => v + (i ? f.top : f.left));
      const under = texts.map(({r, text}) => ({text, area: Math.max(0, Math.min(x + half, r.right) -
        Math.max(x - half, r.left)) * Math.max(0, Math.min(y + half, r.bottom) - Math.max(y - half, r.top))}))
        .filter((t) => t.area > 0);
      window.__resting.push({area: under.reduce((a, t) => a + t.area, 0), under: under.map((t) => t.text),
                             square: (2 * half) ** 2});
    }
  }
  return animate.call(this, frames, options);
};
"""


@pytest.mark.timeout(900)
def test_it_animates_every_revision_in_order_at_the_classroom_tempo(served, page):
    page.add_init_script(MEASURE_TOKENS)
    page.goto(f"{served.url}/p/default/")
    page.wait_for_selector("#live.on")
    film = Film(page, "rollout")
    steps = {}
    for name, form, fields, count, image in [
        ("deploy", "Deploy", {"Name": "test1", "Image": "nginx", "Replicas": "1"}, 1, "nginx"),
        ("scale", "Scale", {"Replicas": "3"}, 3, "nginx"),
        ("set-image", "Update image", {"Image": "httpd"}, 3, "httpd"),
        ("rollback", "Rollback", {}, 3, "nginx"),
    ]:
        before = live_revision(page)
        action(page, form, **fields)
        steps[name] = animated_in_order(page, served, film, before, count, image)
    assert len(steps["set-image"]) > 15 and len(steps["rollback"]) > 15, steps
    # The scheduler's steps came after a watch hop apiserver → scheduler, the kubelet's accept after apiserver →
    # kubelet.
    hops = {h["rev"]: h["path"] for h in page.evaluate("window.kubeplay.hops")}
    binds = [p for p in hops.values() if "scheduler" in p]
    assert binds and all(p[:2] == ["apiserver", "scheduler"] for p in binds)
    # Where a token rests it leaves the labels legible: on most boxes it covers no text at all, and nowhere more
    # than a sliver (a letter's edge, on a small box hemmed in by text on every side).
    resting = page.evaluate("window.__resting")
    assert len(resting) > 100
    clear = [r for r in resting if r["area"] == 0]
    assert len(clear) >= 0.9 * len(resting), [r for r in resting if r["area"]][:5]
    assert all(r["area"] <= 0.1 * r["square"] for r in resting), max(resting, key=lambda r: r["area"])


def tempo(page, button: str) -> None:
    page.get_by_role("form", name="Tempo").get_by_role("button", name=button, exact=True).click()


@pytest.mark.timeout(600)
def test_it_makes_one_story_step_per_single_step_while_paused(served, page):
    page.goto(f"{served.url}/p/default/")
    page.wait_for_selector("#live.on")
    film = Film(page, "single-step")
    tempo(page, "Pause")
    page.wait_for_selector("#tempo .paused")
    try:
        start = live_revision(page)
        action(page, "Deploy", Name="stepper", Image="nginx", Replicas="3")
        # The count starts after the deployment's own write, read from the feed: the page's timeline may not
        # hold it yet when the form's answer comes.
        before = created_revision(served, start, "Deployment", "stepper")
        film.until("(rev) => Number(document.getElementById('timeline-range').max) >= rev", before)
        presses = 8
        for n in range(1, presses + 1):
            with page.expect_response(lambda r: r.url.endswith("/tempo")):
                tempo(page, "Single step")
            # Each press: exactly one more step animated, and nothing else comes.
            film.until("([start, n]) => window.kubeplay.animated.filter(r => r > start).length >= n", [before, n])
        told = feed_steps(served, before)
        assert len(told) == presses
        film.until(CAUGHT_UP, told[-1])
        assert [r for r in page.evaluate("window.kubeplay.animated") if r > before] == told
    finally:
        tempo(page, "Resume")  # the module's other tests share this playground: never leave it paused


@pytest.mark.timeout(600)
def test_it_replays_from_an_earlier_revision_picked_on_the_timeline(served, page):
    page.goto(f"{served.url}/p/default/")
    page.wait_for_selector("#live.on")
    film = Film(page, "timeline")
    before = live_revision(page)
    action(page, "Deploy", Name="tt", Image="nginx", Replicas="1")
    film.until(CONVERGED.replace("test1", "tt"), [1, "nginx"])
    told = feed_steps(served, before)
    film.until(CAUGHT_UP, told[-1])
    # Scrub back to the revision before the deployment and replay from there in slow motion.
    page.select_option("#replay-tempo", "classroom")
    page.evaluate("""(rev) => { const r = document.getElementById('timeline-range'); r.value = rev;
        r.dispatchEvent(new Event('change')); }""", before)
    film.until("(rev) => window.kubeplay.replays.some(r => r.at === rev)", before)
    replay = page.evaluate("window.kubeplay.replays.at(-1)")
    assert not [p for p in replay["pods"] if p.startswith("tt-")], replay
    film.until("() => !document.getElementById('timeline').classList.contains('replaying')")
    again = page.evaluate("(mark) => window.kubeplay.animated.slice(mark)", replay["mark"])
    assert [r for r in again if r <= told[-1]] == told
    film.until(CONVERGED.replace("test1", "tt"), [1, "nginx"])


@pytest.mark.timeout(600)
def test_it_animates_a_curl_through_kube_proxy_to_the_pod_that_answered(served, page):
    page.goto(f"{served.url}/p/default/")
    page.wait_for_selector("#live.on")
    film = Film(page, "curl")
    action(page, "Deploy", Name="web", Image="nginx", Replicas="3")
    film.until(CONVERGED.replace("test1", "web"), [3, "nginx"])
    assert "service/web exposed" in action(page, "Expose", Deployment="web", Port="80", Type="NodePort")
    # kube-proxy forwards once the endpoints controller has listed the three pods (a step of its own).
    film.until("() => document.querySelector('#svc-default-web .eps')?.textContent.startsWith('3 ')")
    answered = []
    for n in range(1, 4):
        action(page, "Curl", Target="web")
        pod = page.get_attribute("#result .answered", "data-pod")
        answered.append(pod)
        film.until("(n) => window.kubeplay.traffic.length >= n", n)
        path = page.evaluate("window.kubeplay.traffic.at(-1).path")
        assert path[0] == "client" and path[1].startswith("kube-proxy@") and path[2] == f"pod:default/{pod}", path
        assert path[3:] == [path[1], "client"]
    assert len(set(answered)) == 3  # round robin over the three replicas
