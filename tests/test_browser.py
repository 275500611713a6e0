"""The seed's walkthrough on the live page, in real headless Chromium against a real server process."""

import re
import shutil
from pathlib import Path

import pytest

from tests.processes import start_playground

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
TEST1_CHIPS = "[data-pods] li[id^='pod-default-test1-'] .chip"

# Records every phase a test1 chip is drawn in, so a state that lasts one frame is still seen.
WATCH_PHASES = """
window.__phases = {};
new MutationObserver(() => {
  document.querySelectorAll("[data-pods] li[id^='pod-default-test1-'] .chip").forEach((chip) => {
    const id = chip.parentElement.id, phase = [...chip.classList].find((c) => c.startsWith("phase-"));
    const seen = (window.__phases[id] = window.__phases[id] || []);
    if (seen[seen.length - 1] !== phase) seen.push(phase);
  });
}).observe(document.getElementById("figure"), {subtree: true, childList: true, attributes: true});
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = start_playground(tmp_path_factory.mktemp("browser"), tempo="realtime")
    yield server
    server.stop()


@pytest.fixture
def page(served):
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Debian chromium (/usr/bin/chromium) is not installed: run `make browser`")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="en-US")
        yield context.new_page()
        browser.close()


def running_test1(page, image: str) -> list[dict]:
    return page.eval_on_selector_all(TEST1_CHIPS, """chips => chips.map(c => ({
        phase: [...c.classList].find(x => x.startsWith("phase-")), image: c.querySelector(".i").textContent,
        node: c.closest("[data-pods]").dataset.pods}))""")


def wait_for_test1(page, count: int, image: str, timeout: float = 60_000) -> list[dict]:
    page.wait_for_function(
        """([sel, count, image]) => {
            const chips = [...document.querySelectorAll(sel)];
            return chips.length === count && chips.every(c => c.classList.contains("phase-Running")
                && c.querySelector(".i").textContent === image);
        }""", arg=[TEST1_CHIPS, count, image], timeout=timeout)
    return running_test1(page, image)


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


def curl(page, expected: str) -> None:
    text = action(page, "Curl", Target="test1")
    assert expected in text, text


def test_it_walks_through_the_seed_on_the_live_page(served, page):
    page.goto(f"{served.url}/")
    page.wait_for_selector("#live.on")
    page.evaluate(WATCH_PHASES)

    # Deploy: a chip appears Pending, lands on a worker and turns Running; the story runs apiserver → scheduler →
    # kubelet.
    assert "deployment.apps/test1 created" in action(page, "Deploy", Name="test1", Image="nginx", Replicas="1")
    [chip] = wait_for_test1(page, 1, "nginx")
    assert chip["node"] in ("k8s-node1", "k8s-node2")
    phases = next(iter(page.evaluate("window.__phases").values()))
    assert phases[0] == "phase-Pending" and phases[-1] == "phase-Running", phases
    steps = page.locator("#steps li").all_inner_texts()
    first = lambda pattern: next(i for i, s in enumerate(steps) if re.search(pattern, s))  # noqa: E731
    assert first(r"asked kube-apiserver to create Deployment test1") < first(r"kube-scheduler bound Pod test1-") \
        < first(r"kubelet on k8s-node\d .*Pod test1-")
    page.screenshot(path=ARTIFACTS / "1-deployed.png", full_page=True)

    # Expose as a NodePort, and curl it.
    assert "service/test1 exposed" in action(page, "Expose", Port="80", Type="NodePort")
    page.wait_for_selector("#svc-default-test1 .type-NodePort")
    curl(page, "Welcome to nginx!")
    page.screenshot(path=ARTIFACTS / "2-exposed.png", full_page=True)

    # Scale to 3: three Running chips spread over both workers.
    action(page, "Scale", Replicas="3")
    chips = wait_for_test1(page, 3, "nginx")
    assert {c["node"] for c in chips} == {"k8s-node1", "k8s-node2"}
    page.screenshot(path=ARTIFACTS / "3-scaled.png", full_page=True)

    # Rolling update to httpd: a new ReplicaSet beside the old one, then only httpd pods.
    action(page, "Update image", Image="httpd")
    page.wait_for_selector(".rollout .set.old", timeout=20_000)
    page.screenshot(path=ARTIFACTS / "4-rolling.png", full_page=True)
    wait_for_test1(page, 3, "httpd", timeout=90_000)
    curl(page, "It works!")

    # Rollback: nginx again.
    assert "rolled back" in action(page, "Rollback")
    wait_for_test1(page, 3, "nginx", timeout=90_000)
    curl(page, "Welcome to nginx!")
    page.screenshot(path=ARTIFACTS / "5-rolled-back.png", full_page=True)

    # Why? for a pod: the scheduler's decision with the rejected master.
    page.locator(TEST1_CHIPS).first.click()
    page.wait_for_selector("#why .why-chain table.scores")
    assert "untolerated taint" in page.locator("#why").inner_text()

    # The terminal runs the seed's session.
    terminal = page.get_by_role("form", name="Terminal")
    for line, expected in [("kubectl get deployments.apps", r"test1\s+3/3"),
                           ("kubectl get pod -o wide", r"test1-\S+\s+1/1\s+Running"),
                           ("kubectl get service", r"test1\s+NodePort")]:
        terminal.get_by_label("Command").fill(line)
        terminal.get_by_role("button", name="Run").click()
        page.wait_for_function("n => document.querySelectorAll('#terminal-output .term-entry').length >= n",
                               arg=1 + [x[0] for x in [("kubectl get deployments.apps",), ("kubectl get pod -o wide",),
                                                         ("kubectl get service",)]].index(line))
        assert re.search(expected, page.locator("#terminal-output .term-entry").last.inner_text()), line
    page.locator(".terminal").screenshot(path=ARTIFACTS / "6-terminal.png")

    # The language switch flips the page to Chinese.
    page.get_by_role("button", name="中文").click()
    page.wait_for_selector("html[lang='zh-hans']")
    page.wait_for_selector("#live.on")
    assert page.get_by_role("heading", name="Kubernetes 正在做什么").is_visible()
    assert page.get_by_role("button", name="部署", exact=True).is_visible()
    page.screenshot(path=ARTIFACTS / "7-chinese.png", full_page=True)
