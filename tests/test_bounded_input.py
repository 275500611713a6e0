"""Bounded page input: the terminal refuses an over-long line before parsing it, and a line break in a curl path
cannot forge a line of a pod's access log."""

import pytest
from django.test import Client

from cluster_core import kube_proxy
from cluster_core.models import LogLine, Pod
from playground import terminal
from tests.builders import bare_playground
from tests.test_kube_proxy import expose, run_pods


@pytest.fixture
def pg(db, fake_clock, quiet_nudges):
    return bare_playground("proxy", tempo="instant")


def test_it_refuses_a_terminal_line_over_the_cap(pg):
    result = terminal.run(pg, "kubectl get pods -l " + "a" * 2_000_000)
    assert result.exit_code == 2 and "too long" in result.output


def test_it_still_runs_a_line_under_the_cap(pg):
    result = terminal.run(pg, "kubectl get nodes")
    assert result.exit_code == 0 and "k8s-node1" in result.output


def test_it_echoes_no_more_than_the_cap_of_an_over_long_page_terminal_line(pg):
    html = Client().post("/p/proxy/terminal", {"line": "x" * 100_000}, HTTP_HX_REQUEST="true").content.decode()
    assert "too long" in html and len(html) < 20_000


def test_it_keeps_a_line_break_in_a_curl_path_inside_one_access_log_line(pg):
    run_pods(pg, "test1", "nginx", ["web"])
    expose(pg, "test1", 30942)
    forged = '/x\n10.0.0.66 - - [26/Nov/2026:09:00:00 +0000] "GET /admin HTTP/1.1" 200 615'
    kube_proxy.curl(pg, "test1.default:80", path=forged)
    rows = list(LogLine.objects.filter(pod_uid=Pod.objects.get(name="web").uid).values_list("text", flat=True))
    lines = [line for text in rows for line in text.split("\n")]
    assert not any(line.startswith("10.0.0.66") for line in lines)
    assert '"GET /x\\x0A10.0.0.66 - - [26/Nov/2026:09:00:00 +0000] \\x22GET /admin HTTP/1.1\\x22 200 615 HTTP/1.1" 404' \
        in lines[-1]
