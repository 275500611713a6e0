"""Lessons 1 and 2 completed with the real kubectl 1.37 and the downloaded kubeconfig against a served playground:
the lesson checker, running with the server's loops, marks each step from what kubectl did to the cluster. Steps
that no kubectl command can do (switching a machine off, moving a manifest) use the page's failure buttons — the
same POST the page sends — and kubectl shows their effect."""

from __future__ import annotations

import http.cookiejar
import re
import time
import urllib.parse
import urllib.request

import pytest

from cluster_core.lessons import loader
from tests.kubectl_helpers import ok, serve, table

pytestmark = pytest.mark.kubectl


class Page:
    """The playground's page as a browser uses it: cookies, the CSRF token, htmx's header."""

    def __init__(self, served):
        self.base = served.url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.get("/p/default/")

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as r:
            return r.read().decode()

    def post(self, path: str, **data) -> str:
        token = next(c.value for c in self.jar if c.name == "csrftoken")
        req = urllib.request.Request(self.base + path, data=urllib.parse.urlencode(data).encode(),
                                     headers={"X-CSRFToken": token, "HX-Request": "true"})
        with self.opener.open(req, timeout=30) as r:
            return r.read().decode()

    def done_steps(self, lesson: str) -> set[str]:
        html = self.get(f"/p/default/lessons/?lesson={lesson}")
        return set(re.findall(r'id="lesson-step-([a-z0-9-]+)" class="lesson-step done', html))

    def wait_done(self, lesson: str, step: str, timeout: float = 60) -> set[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.done_steps(lesson)
            if step in found:
                return found
            time.sleep(0.2)
        raise AssertionError(f"{lesson}: step {step} not done; done are {sorted(self.done_steps(lesson))}")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    yield from serve(tmp_path_factory, "lessons-kubectl")


def fill(served, line: str) -> str:
    def pod(m):
        return ok(served, "get", "pods", "-l", f"app={m.group(1)}", "--field-selector=status.phase=Running",
                  "-o", "jsonpath={.items[0].metadata.name}").strip()

    return re.sub(r"\{pod:([a-z0-9-]+)\}", pod, line)


def run_with_kubectl(served, page: Page, slug: str) -> None:
    page.post("/p/default/lessons/start", lesson=slug)
    for step in loader.get(slug).steps:
        lines = list(step.kubectl) or [c for c in step.commands if c.startswith("kubectl ")]
        shell_only = [c for c in step.commands if not c.startswith("kubectl ")]
        if shell_only and not step.kubectl:
            # No kubectl can switch a machine off or move a manifest: the page's failure button does it.
            what = {"power-off": "node", "power-on": "node", "stop": "component", "start": "component"}
            field = what[step.action["do"]]
            page.post("/p/default/failure", what=step.action["do"], **{field: step.action[field]})
        for line in lines:
            ok(served, *fill(served, line).split()[1:])
        page.wait_done(slug, step.id)


def test_it_completes_the_seed_lesson_with_the_real_kubectl(served):
    page = Page(served)
    run_with_kubectl(served, page, "seed")
    assert page.done_steps("seed") == {s.id for s in loader.get("seed").steps}


def test_it_completes_the_self_healing_lesson_with_the_real_kubectl(served):
    page = Page(served)
    run_with_kubectl(served, page, "self-healing")
    assert page.done_steps("self-healing") == {s.id for s in loader.get("self-healing").steps}


def test_it_shows_a_node_taken_down_as_not_ready_to_kubectl(served):
    page = Page(served)
    page.post("/p/default/failure", what="power-off", node="k8s-node1")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _, rows = table(ok(served, "get", "nodes"))
        if dict((r[0], r[1]) for r in rows).get("k8s-node1") == "NotReady":
            break
        time.sleep(0.2)
    assert dict((r[0], r[1]) for r in rows)["k8s-node1"] == "NotReady"
    assert "node.kubernetes.io/unreachable:NoExecute" in ok(served, "describe", "node", "k8s-node1")
    page.post("/p/default/failure", what="power-on", node="k8s-node1")


def test_it_completes_the_labels_lesson_with_the_real_kubectl(served):
    page = Page(served)
    run_with_kubectl(served, page, "labels")
    assert page.done_steps("labels") == {s.id for s in loader.get("labels").steps}
