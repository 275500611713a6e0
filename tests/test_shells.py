"""The simulated containers' shells, pure: snapshots built from plain dicts, a fake network, no database."""

from __future__ import annotations

import base64
import datetime as dt

from cluster_core.shells import container as containers
from cluster_core.shells.session import Session
from cluster_core.shells.sh import Http, Shell

AT = dt.datetime(2026, 11, 30, 4, 5, 6, tzinfo=dt.UTC)
TEST1 = {"metadata": {"name": "test1"},
         "spec": {"clusterIP": "10.96.5.5", "ports": [{"port": 80, "protocol": "TCP"}]}}
MASTER = {"metadata": {"name": "kubernetes"},
          "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP"}]}}


def pod(image: str = "nginx", **container) -> dict:
    return {"metadata": {"name": "web-1", "namespace": "default"},
            "spec": {"nodeName": "k8s-node1", "containers": [{"name": "c", "image": image, **container}]},
            "status": {"podIP": "10.244.1.5"}}


def shell(image: str = "nginx", services=(), configmaps=None, secrets=None, net=None, **container) -> Shell:
    snap = containers.snapshot(pod(image, **container), "c", list(services), configmaps or {}, secrets or {},
                               MASTER)
    return Shell(snap, net, lambda: AT) if net else Shell(snap, now=lambda: AT)


class FakeNetwork:
    def __init__(self):
        self.answers = iter(["web-1", "web-2", "web-3"])

    def lookup(self, name):
        return ("test1.default.svc.cluster.local", "10.96.5.5") if name in ("test1", "test1.default") else None

    def http_get(self, host, port, path):
        if self.lookup(host) is None:
            return Http(error=f"curl: (6) Could not resolve host: {host}", code=6)
        return Http(200, f"Running on: {next(self.answers)}\n", address="10.96.5.5")


def test_it_injects_the_service_variables_kubernetes_writes():
    env = dict(containers.service_env([TEST1, MASTER]))
    assert env["TEST1_SERVICE_HOST"] == "10.96.5.5" and env["TEST1_SERVICE_PORT"] == "80"
    assert env["TEST1_PORT"] == "tcp://10.96.5.5:80"
    assert env["TEST1_PORT_80_TCP_ADDR"] == "10.96.5.5" and env["TEST1_PORT_80_TCP_PROTO"] == "tcp"
    assert env["KUBERNETES_SERVICE_PORT_HTTPS"] == "443"


def test_it_resolves_configmap_and_secret_references_in_the_environment():
    cms = {"cfg": {"data": {"MODE": "dev", "LEVEL": "3"}}}
    secrets = {"pw": {"data": {"password": base64.b64encode(b"s3cret").decode()}}}
    out = shell(envFrom=[{"configMapRef": {"name": "cfg"}}], configmaps=cms, secrets=secrets,
                env=[{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "pw", "key": "password"}}},
                     {"name": "LEVEL", "value": "9"}]).run("env").out
    assert "MODE=dev\n" in out and "PASSWORD=s3cret\n" in out
    assert "LEVEL=9\n" in out and "LEVEL=3\n" not in out


def test_it_lists_a_mounted_configmap_as_files():
    sh = shell(configmaps={"cfg": {"data": {"app.conf": "port=80\n"}}},
               volumeMounts=[{"name": "v", "mountPath": "/config"}])
    sh.container.files.update(containers.mounted_files(
        {"spec": {"volumes": [{"name": "v", "configMap": {"name": "cfg"}}]}},
        {"volumeMounts": [{"name": "v", "mountPath": "/config"}]}, {"cfg": {"data": {"app.conf": "port=80\n"}}},
        {})[0])
    assert sh.run("ls /config").out == "app.conf\n"
    assert sh.run("cat /config/app.conf").out == "port=80\n"


def test_it_serves_the_images_page_as_a_file():
    assert "Welcome to nginx!" in shell().run("cat /usr/share/nginx/html/index.html").out


def test_it_answers_an_unknown_command_as_each_images_shell_does():
    assert (shell("busybox").run("foo").err, shell("busybox").run("foo").code) == ("sh: foo: not found\n", 127)
    assert shell("nginx").run("foo").err == "sh: 1: foo: not found\n"
    bash = shell("nginx")
    bash.program, bash.stack = "bash", ["bash"]
    assert bash.run("foo").err == "bash: foo: command not found\n"


def test_it_knows_which_programs_an_image_ships():
    assert shell("nginx").run("ps").code == 127
    assert shell("busybox").run("ps").out.startswith("PID   USER     TIME  COMMAND\n")
    assert shell("busybox").run("curl test1").err == "sh: curl: not found\n"


def test_it_keeps_the_last_status_and_stops_at_exit():
    sh = shell("busybox")
    assert sh.run("false; echo $?").out == "1\n"
    assert sh.run("true && echo yes || echo no").out == "yes\n"
    done = sh.run("exit 3; echo never")
    assert (done.exited, done.code, done.out) == (True, 3, "")


def test_it_prints_the_hostname_and_date():
    sh = shell("busybox")
    assert sh.run("hostname").out == "web-1\n"
    assert sh.run("date").out == "Mon Nov 30 04:05:06 UTC 2026\n"


def test_it_curls_a_service_by_name_through_the_network():
    sh = shell("nginx", net=FakeNetwork())
    assert [sh.run("curl -s test1").out for _ in range(3)] == [
        "Running on: web-1\n", "Running on: web-2\n", "Running on: web-3\n"]
    missing = sh.run("curl nothere")
    assert (missing.err, missing.code) == ("curl: (6) Could not resolve host: nothere\n", 6)


def test_it_fetches_with_busybox_wget_and_looks_names_up():
    sh = shell("busybox", net=FakeNetwork())
    assert sh.run("wget -qO- test1").out == "Running on: web-1\n"
    found = sh.run("nslookup test1").out
    assert "Name:\ttest1.default.svc.cluster.local\nAddress: 10.96.5.5\n" in found
    assert "NXDOMAIN" in sh.run("nslookup nothere").out


def test_it_writes_and_reads_files_within_the_session():
    sh = shell("busybox")
    sh.run("echo hello > /tmp/x")
    assert sh.run("cat /tmp/x").out == "hello\n"
    assert sh.run("cat /nope").err == "cat: can't open '/nope': No such file or directory\n"


def test_it_runs_a_tty_session_with_prompt_echo_and_exit():
    s = Session(shell("busybox"), ["sh"], stdin=True, tty=True)
    assert s.start() == [(1, b"/ # ")]
    typed = b"".join(data for _, data in s.feed(b"echo hi\r"))
    assert typed == b"echo hi\r\nhi\r\n/ # "
    s.feed(b"exit 4\r")
    assert (s.finished, s.code) == (True, 4)


def test_it_edits_the_line_with_backspace_and_ctrl_c():
    s = Session(shell("busybox"), ["sh"], stdin=True, tty=True)
    s.start()
    s.feed(b"echo ab\x7f\x7fok\r")
    assert s.shell.status == 0
    assert b"".join(d for _, d in s.feed(b"junk\x03")).endswith(b"^C\r\n/ # ")


def test_it_reads_piped_stdin_without_a_prompt_until_it_closes():
    s = Session(shell("busybox"), ["sh"], stdin=True)
    assert s.start() == []
    assert s.feed(b"echo one\necho two\n") == [(1, b"one\n"), (1, b"two\n")]
    s.close_stdin()
    assert (s.finished, s.code) == (True, 0)


def test_it_fails_to_start_a_program_the_image_lacks():
    s = Session(shell("busybox"), ["bash"])
    s.start()
    assert s.finished and 'exec: "bash": executable file not found in $PATH' in s.failure


def test_it_runs_a_command_line_given_to_sh_c():
    s = Session(shell("busybox"), ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert s.start() == [(1, b"out\n"), (2, b"err\n")]
    assert s.code == 3


def test_it_loops_over_words_and_command_output():
    sh = shell("busybox", net=FakeNetwork())
    assert sh.run("for i in $(seq 1 3); do wget -qO- test1; done").out == (
        "Running on: web-1\nRunning on: web-2\nRunning on: web-3\n")
    assert sh.run('for n in a b; do echo "n=$n"; done; echo end').out == "n=a\nn=b\nend\n"
    assert sh.run('echo "I am $(hostname)"').out == "I am web-1\n"
