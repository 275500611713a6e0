"""The page terminal's `kubectl exec -it`, in real headless Chromium against a real server process: the shell's
prompt replaces the node's, and `curl` from inside the pod answers from each replica in turn."""

import re

import pytest

from tests import chromium
from tests.chromium import ARGS, ARTIFACTS, CHROMIUM
from tests.kubectl_helpers import ok, rolled_out
from tests.processes import start_playground

pytestmark = pytest.mark.browser

BOOTCAMP = "gcr.io/google-samples/kubernetes-bootcamp:v1"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = start_playground(tmp_path_factory.mktemp("browser-exec"), tempo="instant")
    yield server
    server.stop()


@pytest.fixture
def page(served):
    chromium.require()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="en-US")
        yield context.new_page()
        browser.close()


def test_it_opens_a_pods_shell_in_the_page_terminal_and_curls_each_replica(served, page):
    ok(served, "create", "deployment", "test1", f"--image={BOOTCAMP}", "--replicas=3")
    ok(served, "expose", "deployment", "test1", "--port=80", "--target-port=8080")
    rolled_out(served, "test1")
    pods = sorted(n.split("/", 1)[1] for n in ok(served, "get", "pod", "-l", "app=test1", "-o", "name").split())
    page.goto(f"{served.url}/p/default/")
    terminal = page.get_by_role("form", name="Terminal")

    def run(line: str) -> str:
        count = page.locator("#terminal-output .term-entry").count()
        terminal.get_by_label("Command").fill(line)
        terminal.get_by_role("button", name="Run").click()
        page.wait_for_function("n => document.querySelectorAll('#terminal-output .term-entry').length > n", arg=count)
        return page.locator("#terminal-output .term-entry").last.inner_text()

    run(f"kubectl exec -it {pods[0]} -- sh")
    assert page.locator("#terminal-prompt").inner_text() == "#"
    answers = {re.search(r"Running on: (\S+)", run("curl test1")).group(1) for _ in range(3)}
    assert answers == set(pods)
    assert run("hostname").strip().endswith(pods[0])
    page.locator(".terminal").screenshot(path=ARTIFACTS / "exec-terminal.png")
    run("exit")
    assert page.locator("#terminal-prompt").inner_text() == "[root@k8s-master ~]#"
