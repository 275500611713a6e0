"""The page's terminal: kubectl's printer rules, its usage errors, and byte-for-byte agreement with the real kubectl."""

from __future__ import annotations

import re

import pytest

from cluster_core import actions, runtime
from cluster_core.api import tables
from cluster_core.errors import NotFound
from playground import terminal
from tests import kubectl_fixture_server as fixture

needs_kubectl = pytest.mark.skipif(fixture.kubectl_path() is None, reason="the real kubectl is not installed")


# --- Go's tabwriter --------------------------------------------------------------------------------------------


def test_it_pads_columns_like_kubectls_tabwriter():
    text = "NAME\tREADY\tUP-TO-DATE\tAVAILABLE\tAGE\ntest1\t1/1\t1\t1\t10m"
    assert terminal.tabwrite(text) == ("NAME    READY   UP-TO-DATE   AVAILABLE   AGE\n"
                                       "test1   1/1     1            1           10m")


def test_it_gives_narrow_columns_the_minimum_width_of_six():
    assert terminal.tabwrite("A\tB\nx\ty") == "A     B\nx     y"


def test_it_aligns_describe_blocks_separately_at_padding_two():
    text = "Name:\ttest1\nRollingUpdateStrategy:\t25%\nPod Template:\n  Labels:\tapp=test1"
    assert terminal.tabwrite(text, minwidth=0, padding=2).splitlines() == [
        "Name:                   test1", "RollingUpdateStrategy:  25%", "Pod Template:", "  Labels:  app=test1"]


def test_it_prints_cells_as_go_prints_decoded_json():
    assert [terminal.go_value(v) for v in (1, 2.0, True, None, "x")] == ["1", "2", "true", "<nil>", "x"]


# --- the printer against the real kubectl, on the fixture server's fixed cluster --------------------------------


@pytest.fixture
def fixture_cluster(monkeypatch):
    """`actions.call` answered from the seed fixture at its fixed `now`, as `kubectl_fixture_server` answers."""
    objects = fixture.seed_cluster()

    def call(pg, method, resource, name="", *, query=None, accept="application/json", namespace="default", **_):
        found = [o for o in objects if o["apiVersion"] == resource.api_version and o["kind"] == resource.kind
                 and (not resource.namespaced or not namespace or o["metadata"].get("namespace") == namespace)
                 and (not name or o["metadata"]["name"] == name)]
        found.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        if name and not found:
            raise NotFound.of(resource.plural, resource.group, name)
        if "as=Table" in accept:
            return actions.Reply(200, tables.build_table(resource.kind, found, fixture.FIXED_NOW))
        return actions.Reply(200, found[0] if name else {"items": found})

    monkeypatch.setattr(actions, "call", call)


def as_a_terminal_shows_it(done) -> str:
    """kubectl's stdout and stderr as one screen: warnings come first, everything else on stderr last."""
    warnings = "".join(ln for ln in done.stderr.splitlines(keepends=True) if ln.startswith("Warning:"))
    rest = "".join(ln for ln in done.stderr.splitlines(keepends=True) if not ln.startswith("Warning:"))
    return warnings + done.stdout + rest


FIXTURE_COMMANDS = [
    "get deployments.apps", "get pod -o wide", "get pod --all-namespaces -o wide", "get service", "get svc -o wide",
    "get rs -o wide", "get nodes", "get no -o wide", "get all", "get all -o wide", "get all -A", "get deploy,svc",
    "get pods --show-labels", "get pods -A --show-labels", "get ns", "get events", "get ev", "get ep",
    "get pod nonexistent", "get pods -n empty", "get nodes -A", "get foo", "get pod test1-857949f6d6-rwh4c",
    "get deploy test1 -o name", "get po,deploy test1", "get deployment/test1 svc/test1", "get pods -o wide -n kube-system",
    "get",
]


@needs_kubectl
@pytest.mark.parametrize("command", FIXTURE_COMMANDS)
def test_it_prints_exactly_what_kubectl_prints(fixture_cluster, command):
    with fixture.serve() as srv:
        done = fixture.run_kubectl(srv.url, *command.split())
    mine = terminal.run(None, "kubectl " + command)
    assert mine.output == as_a_terminal_shows_it(done)
    assert mine.exit_code == done.returncode


# --- usage and unknown commands ---------------------------------------------------------------------------------


def test_it_answers_unknown_commands_with_a_hint_and_127():
    r = terminal.run(None, "ls -la")
    assert r.exit_code == 127
    assert r.output == ("kubeplay: command not found: ls — try: kubectl get pods, kubectl create deployment …, "
                        "curl localhost:<nodePort>, help\n")


@pytest.mark.parametrize(("line", "output"), [
    ("kubectl get --bogus", "error: unknown flag: --bogus\nSee 'kubectl get --help' for usage.\n"),
    ("kubectl get pods -x", "error: unknown shorthand flag: 'x' in -x\nSee 'kubectl get --help' for usage.\n"),
    ("kubectl get pods -n", "error: flag needs an argument: 'n' in -n\nSee 'kubectl get --help' for usage.\n"),
    ("kubectl scale deployment test1", "error: The --replicas=COUNT flag is required, and COUNT must be greater "
                                       "than or equal to 0\n"),
    ("kubectl scale deployment test1 --replicas=-1", "error: The --replicas=COUNT flag is required, and COUNT must "
                                                     "be greater than or equal to 0\n"),
    ("kubectl create deployment --image=nginx", "error: exactly one NAME is required, got 0\n"
                                                "See 'kubectl create deployment -h' for help and examples\n"),
    ("kubectl create deployment x", 'error: required flag(s) "image" not set\n'),
    ("kubectl frobnicate", "error: unknown command \"frobnicate\" for \"kubectl\"\nRun 'kubectl --help' for usage.\n"),
])
def test_it_prints_kubectls_usage_errors(line, output):
    r = terminal.run(None, line)
    assert (r.output, r.exit_code) == (output, 1)


@pytest.mark.parametrize(("line", "code", "output"), [
    ("", 0, ""),
    ("   ", 0, ""),
    ("kubectl 'open", 2, "kubeplay: cannot parse that line: No closing quotation\n"),
    ("curl", 2, "curl: try 'curl --help' or 'curl --manual' for more information\n"),
    ("kubectl get pods -o", 1, "error: flag needs an argument: 'o' in -o\nSee 'kubectl get --help' for usage.\n"),
    ("kubectl rollout", 1, "kubeplay: try: kubectl rollout undo|history|status deployment NAME\n"),
    ("kubectl set image", 1, "error: at least one image update is required\n"
                             "See 'kubectl set image -h' for help and examples\n"),
    ("kubectl delete", 1, "error: You must provide one or more resources by argument or filename.\n"
                          "Example resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n"
                          "   '<resource> <name>'\n   '<resource>'\n"),
    ("kubectl logs", 1, "error: expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\n"
                        "POD or TYPE/NAME is a required argument for the logs command\n"
                        "See 'kubectl logs -h' for help and examples\n"),
    ("kubectl describe", 1, "kubeplay: try: kubectl describe deployment|pod|service NAME\n"),
    ("clear", 0, "\x1b[H\x1b[2J\x1b[3J"),
    ("\x00", 127, "kubeplay: command not found: \x00 — try: kubectl get pods, kubectl create deployment …, "
                  "curl localhost:<nodePort>, help\n"),
])
def test_it_answers_odd_input_with_a_usage_line(line, code, output):
    r = terminal.run(None, line)
    assert (r.output, r.exit_code) == (output, code)


@pytest.mark.parametrize("line", ["help", "kubectl", "kubectl --help"])
def test_it_prints_its_help(line):
    r = terminal.run(None, line)
    assert r.exit_code == 0
    assert "This terminal is a node of the playground's cluster. It understands:\n" in r.output
    assert "  kubectl describe deployment|pod|service NAME\n" in r.output


def test_it_lets_an_internal_crash_surface(monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("a defect")

    monkeypatch.setattr(actions, "call", crash)
    with pytest.raises(RuntimeError, match="a defect"):
        terminal.run(None, "kubectl get pods")


def test_it_strips_a_pasted_prompt():
    assert terminal.run(None, "[root@k8s-master ~]# ls").output.startswith("kubeplay: command not found: ls")


# --- the seed's session in the terminal --------------------------------------------------------------------------


def test_it_runs_the_seed_session(cluster):
    pg = cluster

    def sh(line: str) -> str:
        r = terminal.run(pg, line)
        assert r.exit_code == 0, r.output
        runtime.settle(pg)
        return r.output

    assert sh("kubectl create deployment test1 --image=nginx") == "deployment.apps/test1 created\n"
    assert re.fullmatch(r"NAME    READY   UP-TO-DATE   AVAILABLE   AGE\ntest1   1/1     1            1           \d+s\n",
                        sh("kubectl get deployments.apps"))
    assert sh("kubectl expose deployment test1 --type=NodePort --port=80") == "service/test1 exposed\n"
    port = re.search(r"80:(\d+)/TCP", sh("kubectl get service")).group(1)
    assert "Welcome to nginx!" in sh(f"curl localhost:{port}")
    assert sh("kubectl scale deployment test1 --replicas=3") == "deployment.apps/test1 scaled\n"
    assert len(sh("kubectl get pod -o wide").splitlines()) == 4
    assert sh("kubectl set image deployments/test1 nginx=httpd") == "deployment.apps/test1 image updated\n"
    assert "It works!" in sh(f"curl 192.168.56.11:{port}")
    assert sh("kubectl rollout status deployment test1") == 'deployment "test1" successfully rolled out\n'
    assert sh("kubectl rollout undo deployment test1") == "deployment.apps/test1 rolled back\n"
    assert sh("kubectl rollout history deployment test1").splitlines()[1:] == [
        "REVISION  CHANGE-CAUSE", "2         <none>", "3         <none>", ""]
    described = sh("kubectl describe deployment test1")
    assert "Replicas:               3 desired | 3 updated | 3 total | 3 available | 0 unavailable" in described
    assert "   nginx:\n    Image:         nginx\n" in described
    pod = sh("kubectl get pods -o name").split()[0].split("/")[1]
    assert f"Controlled By:  ReplicaSet/{pod.rsplit('-', 1)[0]}" in sh(f"kubectl describe pod {pod}")
    assert "NodePort:                 <unset>  " in sh("kubectl describe service test1")
    assert sh(f"kubectl logs {pod} --tail=1").endswith("start worker processes\n")
    assert sh("kubectl delete deployments.apps test1") == 'deployment.apps "test1" deleted from default namespace\n'
    assert sh("kubectl get pods") == "No resources found in default namespace.\n"


def test_it_picks_the_pod_kubectl_would_for_a_deployments_logs(cluster):
    # kubectl's ByLogging: ready the longest first, then the most restarts; the list's name order only breaks ties.
    assert terminal.run(cluster, "kubectl create deployment test1 --image=nginx --replicas=3").exit_code == 0
    runtime.settle(cluster)
    pods = terminal.find("", "v1", "pods")
    names = sorted(p["metadata"]["name"] for p in actions.call(cluster, "GET", pods).body["items"])

    def set_status(name, ready_since, restarts):
        pod = actions.call(cluster, "GET", pods, name).body
        for cond in pod["status"]["conditions"]:
            if cond["type"] == "Ready":
                cond["lastTransitionTime"] = ready_since
        pod["status"]["containerStatuses"][0]["restartCount"] = restarts
        actions.call(cluster, "PUT", pods, name, subresource="status", body=pod)

    for name in names:
        set_status(name, "2026-01-01T00:00:10Z", 0)
    set_status(names[2], "2026-01-01T00:00:05Z", 0)
    assert terminal.run(cluster, "kubectl logs deployment/test1 --tail=1").output.startswith(
        f"Found 3 pods, using pod/{names[2]}\n")
    set_status(names[2], "2026-01-01T00:00:10Z", 0)
    set_status(names[1], "2026-01-01T00:00:10Z", 2)
    assert terminal.run(cluster, "kubectl logs deployment/test1 --tail=1").output.startswith(
        f"Found 3 pods, using pod/{names[1]}\n")


def test_it_lets_the_terminal_create_what_kubectl_could(cluster):
    # The buttons refuse unknown images; the terminal is kubectl and lets the pod fail to pull.
    assert terminal.run(cluster, "kubectl create deployment odd --image=ngnix").output == "deployment.apps/odd created\n"


def test_it_reports_curl_failures_with_curls_exit_code(cluster):
    r = terminal.run(cluster, "curl localhost:31999")
    assert r.exit_code == 7 and r.output.startswith("curl: (7) Failed to connect to localhost port 31999")


# --- writes: the real kubectl and the terminal against one served playground ----------------------------------
# (every read, in every spelling, is compared in test_terminal_kubectl.py)


@pytest.mark.kubectl
@needs_kubectl
def test_it_writes_as_the_real_kubectl_writes_against_a_served_playground(tmp_path):
    from tests import served

    with served.served_playground(tmp_path) as (srv, term):

        def kubectl(command: str) -> tuple[str, int]:
            return served.kubectl_screen(srv, command.split())

        def same(command: str) -> str:
            return served.assert_same_moment(srv, term, command)

        def write(command: str) -> None:
            """A write: kubectl does it to test1, the terminal to test2; their lines must match but for the name."""
            want, code = kubectl(command)
            got = term.run("kubectl " + command.replace("test1", "test2"))
            assert (got.output.replace("test2", "test1"), got.exit_code) == (want, code)

        def rolled_out() -> None:
            # The terminal's writes reach the server's loops through their resync (another process): wait for both.
            for name in ("test1", "test2"):
                out, code = kubectl(f"rollout status deployment/{name} --timeout=90s")
                assert code == 0, out
            same("rollout status deployment test1")

        write("create deployment test1 --image=nginx")
        rolled_out()
        for command in ("get deployments.apps", "get pod -o wide", "get all", "get rs -o wide",
                        "get pods -l app=test1", "get deploy test1"):
            same(command)

        write("expose deployment test1 --type=NodePort --port=80")
        screen = same("get service")
        port = re.search(r"test1 .* 80:(\d+)/TCP", screen).group(1)
        assert "Welcome to nginx!" in term.run(f"curl localhost:{port}").output

        write("scale deployment test1 --replicas=3")
        rolled_out()
        same("get deployments.apps")
        write("scale deployment test1 --replicas=1")
        rolled_out()
        same("get deployments.apps")

        write("set image deployments/test1 nginx=httpd")
        rolled_out()
        assert "It works!" in term.run(f"curl localhost:{port}").output
        write("rollout undo deployment test1")
        rolled_out()
        same("get deployments.apps -o wide")
        write("rollout history deployment test1")

        for mistake in ("create deployment test1 --image=nginx", "create deployment Bad_Name --image=nginx",
                        "scale deployment nope --replicas=2", "scale deployment test1 --replicas=-1",
                        "rollout undo deployment nope", "set image deployment/test1 web=nginx",
                        "rollout undo deployment test1 --to-revision=9", "delete pod nope"):
            same(mistake)

        write("delete deployments.apps test1")
        write("delete service test1")
        for app in ("test1", "test2"):
            out, code = kubectl(f"wait --for=delete pods -l app={app} --timeout=90s")
            assert code == 0, out
        same("get all")
