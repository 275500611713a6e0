"""The page terminal's `kubectl exec -it`, `kubectl run` and `kubectl port-forward`, through the page's own view."""

import html
import re

import pytest
from django.test import Client

from cluster_core import actions, runtime
from playground import terminal

HX = {"HTTP_HX_REQUEST": "true"}
BOOTCAMP = "gcr.io/google-samples/kubernetes-bootcamp:v1"


@pytest.fixture
def client():
    return Client()


def typed(client, line: str, state: str = "") -> tuple[str, str]:
    """The output the page shows for `line`, and the shell state it carries to the next line."""
    page = client.post("/p/default/terminal", {"line": line, "exec": state}, **HX).content.decode()
    found = re.search(r'id="terminal-exec" name="exec" value="([^"]*)"', page)
    out = re.search(r"<pre[^>]*>(.*?)</pre>", page, re.S)
    return html.unescape(out.group(1)) if out else "", html.unescape(found.group(1)) if found else state


@pytest.fixture
def bootcamp(cluster):
    actions.deploy(cluster, "bootcamp", BOOTCAMP, 3, any_image=True)
    actions.expose(cluster, "bootcamp", 80, "ClusterIP", 8080)
    runtime.settle(cluster)
    return sorted(p["metadata"]["name"] for p in actions.call(cluster, "GET", actions.PODS).body["items"])


def test_it_opens_a_pods_shell_and_curl_reaches_each_replica_in_turn(bootcamp, client):
    _, state = typed(client, f"kubectl exec -it {bootcamp[0]} -- sh")
    assert state
    answers = set()
    for _ in range(3):
        out, state = typed(client, "curl bootcamp", state)
        answers.add(out)
    assert answers == {f"Hello Kubernetes bootcamp! | Running on: {p} | v=1\n" for p in bootcamp}


def test_it_shows_the_shells_prompt_and_returns_to_the_node_on_exit(bootcamp, client):
    page = client.post("/p/default/terminal", {"line": f"kubectl exec -it {bootcamp[0]} -- sh"}, **HX)
    assert 'id="terminal-prompt" class="prompt" hx-swap-oob="true">#</label>' in page.content.decode()
    _, state = typed(client, f"kubectl exec -it {bootcamp[0]} -- sh")
    out, state = typed(client, "hostname", state)
    assert out == f"{bootcamp[0]}\n"
    out, state = typed(client, "exit 3", state)
    assert (out, state) == ("command terminated with exit code 3\n", "")


def test_it_keeps_the_working_directory_between_lines(bootcamp, client):
    _, state = typed(client, f"kubectl exec -it {bootcamp[0]} -- bash")
    _, state = typed(client, "cd /etc", state)
    out, _ = typed(client, "pwd", state)
    assert out == "/etc\n"


def test_it_refuses_a_tampered_shell_state(bootcamp, client):
    out, state = typed(client, "kubectl get pod nothere", "forged")
    assert "pods \"nothere\" not found" in out and state == "forged"


def test_it_runs_a_command_once_without_a_terminal(bootcamp, cluster):
    result = terminal.run(cluster, f"kubectl exec {bootcamp[0]} -- sh -c 'echo hi; exit 2'")
    assert (result.output, result.exit_code) == ("hi\ncommand terminated with exit code 2\n", 2)


def test_it_explains_that_the_page_cannot_open_a_local_port(cluster):
    result = terminal.run(cluster, "kubectl port-forward pod/x 8080:80")
    assert result.exit_code == 1 and "cannot open one on your computer" in result.output


def test_it_creates_a_pod_with_kubectl_run(cluster):
    result = terminal.run(cluster, "kubectl run box --image=busybox --restart=Never -- echo hi")
    assert result.output == "pod/box created\n"
    pod = actions.call(cluster, "GET", actions.PODS, "box").body
    assert pod["spec"]["containers"][0]["args"] == ["echo", "hi"]
    assert pod["spec"]["restartPolicy"] == "Never" and pod["metadata"]["labels"] == {"run": "box"}
