"""exec into the simulated containers with the real kubectl 1.37 (plain and `-it` through a pseudo-terminal) and
with the official Python client's `stream`, against a served playground over TLS."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import subprocess
import time
import urllib.request

import pytest

from tests import processes
from tests.kubectl_helpers import KUBECTL, ok, rolled_out, serve

pytestmark = pytest.mark.kubectl

BOOTCAMP = "gcr.io/google-samples/kubernetes-bootcamp:v1"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    yield from serve(tmp_path_factory, "kubectl-exec")


@pytest.fixture(scope="module")
def pods(served):
    """A 3-replica Deployment of the tutorial's app behind a Service created before its pods."""
    ok(served, "create", "service", "clusterip", "bootcamp", "--tcp=8080:8080")
    ok(served, "create", "deployment", "bootcamp", f"--image={BOOTCAMP}", "--replicas=3")
    rolled_out(served, "bootcamp")
    names = ok(served, "get", "pod", "-l", "app=bootcamp", "-o", "name").split()
    assert len(names) == 3
    return [n.split("/", 1)[1] for n in names]


def test_it_execs_a_command_and_prints_its_output(served, pods):
    done = served.kubectl("exec", pods[0], "--", "echo", "hi")
    assert (done.returncode, done.stdout, done.stderr) == (0, "hi\n", "")


def test_it_returns_the_commands_exit_code(served, pods):
    done = served.kubectl("exec", pods[0], "--", "sh", "-c", "exit 3")
    assert done.returncode == 3
    assert done.stderr == "command terminated with exit code 3\n"


def test_it_reports_a_program_the_image_lacks_as_the_runtime_does(served, pods):
    done = served.kubectl("exec", pods[0], "--", "foo")
    assert done.returncode == 1
    assert 'exec: "foo": executable file not found in $PATH' in done.stderr


def test_it_shows_the_service_variables_of_services_that_existed_at_start(served, pods):
    env = served.kubectl("exec", pods[0], "--", "env").stdout.splitlines()
    assert f"HOSTNAME={pods[0]}" in env
    assert "BOOTCAMP_SERVICE_PORT=8080" in env and "KUBERNETES_SERVICE_HOST=10.96.0.1" in env


def test_it_load_balances_curl_from_inside_a_pod(served, pods):
    answers = {served.kubectl("exec", pods[0], "--", "curl", "-s", "bootcamp:8080").stdout for _ in range(3)}
    assert answers == {f"Hello Kubernetes bootcamp! | Running on: {p} | v=1\n" for p in pods}


def read_until(fd: int, marker: bytes, seen: bytearray, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            data = os.read(fd, 4096)
        except OSError:
            return False
        if not data:
            return False
        seen += data
        if marker in seen:
            return True
    return False


def test_it_runs_an_interactive_shell_through_a_pseudo_terminal(served, pods):
    pid, fd = pty.fork()
    if pid == 0:  # the child becomes kubectl, on the pseudo-terminal
        os.execve(str(KUBECTL), [str(KUBECTL), "exec", "-it", pods[0], "--", "bash"],
                  {"PATH": os.environ.get("PATH", ""), "HOME": str(served.home), "KUBECONFIG": str(served.kubeconfig)})
    seen = bytearray()
    prompt = f"root@{pods[0]}:/# ".encode()
    try:
        assert read_until(fd, prompt, seen)
        os.write(fd, b"hostname\r")
        assert read_until(fd, f"{pods[0]}\r\n{prompt.decode()}".encode(), seen)
        os.write(fd, b"exit 4\r")
        read_until(fd, b"command terminated with exit code 4", seen)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert b"hostname\r\n" in seen
    assert os.waitstatus_to_exitcode(status) == 4


# ---------------------------------------------------------------------------------------------------------------
# The official Python client


@pytest.fixture(scope="module")
def core(served):
    kubernetes = pytest.importorskip("kubernetes", reason="the official client is a dev extra")
    cfg = kubernetes.client.Configuration()
    cfg.host = f"{served.api}/clusters/default"
    cfg.ssl_ca_cert = str(served.ca_file())
    cfg.api_key = {"authorization": served.token}
    cfg.api_key_prefix = {"authorization": "Bearer"}
    return kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(cfg))


def test_it_streams_exec_output_to_the_python_client(core, pods):
    from kubernetes.stream import stream

    out = stream(core.connect_get_namespaced_pod_exec, pods[0], "default", command=["hostname"],
                 stderr=True, stdin=False, stdout=True, tty=False)
    assert out == f"{pods[0]}\n"


def test_it_gives_the_python_client_the_exit_code(core, pods):
    from kubernetes.stream import stream

    resp = stream(core.connect_get_namespaced_pod_exec, pods[0], "default", command=["sh", "-c", "exit 7"],
                  stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)
    resp.run_forever(timeout=20)
    assert resp.returncode == 7


def test_it_feeds_the_python_clients_stdin_to_the_shell(core, pods):
    from kubernetes.stream import stream

    resp = stream(core.connect_get_namespaced_pod_exec, pods[0], "default", command=["sh"],
                  stderr=True, stdin=True, stdout=True, tty=False, _preload_content=False)
    resp.write_stdin("echo one\nexit 2\n")
    resp.run_forever(timeout=20)
    assert resp.read_stdout() == "one\n"
    assert resp.returncode == 2


# ---------------------------------------------------------------------------------------------------------------
# kubectl run with a command


def wait_status(served, name: str, want: str, timeout: float = 30) -> list[str]:
    deadline = time.monotonic() + timeout
    row: list[str] = []
    while time.monotonic() < deadline:
        out = served.kubectl("get", "pod", name, "--no-headers").stdout.split()
        row = out
        if len(out) > 2 and out[2] == want:
            return out
        time.sleep(0.2)
    raise AssertionError(f"pod {name} never reached {want}: {row}")


def test_it_completes_kubectl_run_with_a_command_and_keeps_its_output(served):
    assert ok(served, "run", "box", "--image=busybox", "--restart=Never", "--", "echo", "hi") == "pod/box created\n"
    row = wait_status(served, "box", "Completed")
    assert row[1] == "0/1"
    assert ok(served, "logs", "box") == "hi\n"


def test_it_shows_a_crashing_container_in_crash_loop_back_off_with_restarts(served):
    ok(served, "run", "crash", "--image=busybox", "--", "sh", "-c", "echo failing; exit 1")
    row = wait_status(served, "crash", "CrashLoopBackOff")
    assert int(row[3]) >= 1
    assert ok(served, "logs", "crash") == "failing\n"


# ---------------------------------------------------------------------------------------------------------------
# port-forward


@contextlib.contextmanager
def forwarding(served, target: str, remote: int):
    local = processes.free_port()
    proc = subprocess.Popen([str(KUBECTL), "port-forward", target, f"{local}:{remote}"], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={"PATH": os.environ.get("PATH", ""), "HOME": str(served.home),
                                 "KUBECONFIG": str(served.kubeconfig)})
    try:
        assert proc.stdout.readline() == f"Forwarding from 127.0.0.1:{local} -> {remote}\n"
        yield local
    finally:
        processes.stop(proc)


def test_it_serves_the_pods_page_on_kubectls_local_port(served, pods):
    with forwarding(served, f"pod/{pods[1]}", 8080) as local:
        with urllib.request.urlopen(f"http://127.0.0.1:{local}/", timeout=20) as r:
            assert (r.status, r.read().decode()) == (200, f"Hello Kubernetes bootcamp! | Running on: {pods[1]} | v=1\n")


def test_it_forwards_a_service_to_one_of_its_pods(served, pods):
    ok(served, "create", "deployment", "web", "--image=nginx")
    rolled_out(served, "web")
    ok(served, "expose", "deployment", "web", "--port=80")
    with forwarding(served, "svc/web", 80) as local:
        for _ in range(2):  # two connections through the same forward
            with urllib.request.urlopen(f"http://127.0.0.1:{local}/", timeout=20) as r:
                assert r.status == 200 and "Welcome to nginx!" in r.read().decode()
                assert r.headers["Server"] == "nginx/1.27.3"


def test_it_forwards_a_port_for_the_python_client(core, pods):
    from kubernetes.stream import portforward

    pf = portforward(core.connect_get_namespaced_pod_portforward, pods[2], "default", ports="8080")
    sock = pf.socket(8080)
    sock.setblocking(True)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert body == f"Hello Kubernetes bootcamp! | Running on: {pods[2]} | v=1\n".encode()
    assert pf.error(8080) is None


# ---------------------------------------------------------------------------------------------------------------
# ConfigMaps and Secrets inside a container

CONFIGURED = """
apiVersion: v1
kind: Pod
metadata: {name: configured}
spec:
  containers:
  - name: app
    image: busybox
    command: ["sleep", "infinity"]
    envFrom: [{configMapRef: {name: settings}}]
    env:
    - name: DB_PASSWORD
      valueFrom: {secretKeyRef: {name: db, key: password}}
    volumeMounts: [{name: creds, mountPath: /etc/creds}]
  volumes:
  - name: creds
    secret: {secretName: db}
"""


def test_it_shows_configmap_and_secret_values_inside_the_container(served):
    ok(served, "create", "configmap", "settings", "--from-literal=MODE=teaching")
    ok(served, "create", "secret", "generic", "db", "--from-literal=password=s3cret")
    done = subprocess.run([str(KUBECTL), "create", "-f", "-"], input=CONFIGURED, text=True, capture_output=True,
                          env={"PATH": os.environ.get("PATH", ""), "HOME": str(served.home),
                               "KUBECONFIG": str(served.kubeconfig)}, timeout=60)
    assert done.returncode == 0, done.stderr
    wait_status(served, "configured", "Running")
    env = ok(served, "exec", "configured", "--", "env").splitlines()
    assert "MODE=teaching" in env and "DB_PASSWORD=s3cret" in env
    assert ok(served, "exec", "configured", "--", "cat", "/etc/creds/password") == "s3cret"


def test_it_attaches_kubectl_run_it_to_the_containers_shell(served):
    pid, fd = pty.fork()
    if pid == 0:  # the child becomes kubectl, on the pseudo-terminal
        os.execve(str(KUBECTL), [str(KUBECTL), "run", "-it", "--rm", "shellbox", "--image=busybox", "--", "sh"],
                  {"PATH": os.environ.get("PATH", ""), "HOME": str(served.home), "KUBECONFIG": str(served.kubeconfig)})
    seen = bytearray()
    try:
        assert read_until(fd, b"If you don't see a command prompt, try pressing enter.", seen)
        os.write(fd, b"\r")
        assert read_until(fd, b"/ # ", seen)
        os.write(fd, b"hostname\r")
        assert read_until(fd, b"shellbox\r\n/ # ", seen)
        os.write(fd, b"exit\r")
        read_until(fd, b'pod "shellbox" deleted', seen)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0


def test_it_completes_a_run_it_pod_when_its_attached_shell_exits(served):
    pid, fd = pty.fork()
    if pid == 0:  # the child becomes kubectl, on the pseudo-terminal
        os.execve(str(KUBECTL), [str(KUBECTL), "run", "-it", "once", "--image=busybox", "--restart=Never", "--",
                                 "sh"],
                  {"PATH": os.environ.get("PATH", ""), "HOME": str(served.home), "KUBECONFIG": str(served.kubeconfig)})
    seen = bytearray()
    try:
        assert read_until(fd, b"If you don't see a command prompt, try pressing enter.", seen)
        os.write(fd, b"\r")
        assert read_until(fd, b"/ # ", seen)
        os.write(fd, b"exit 2\r")
        read_until(fd, b"never printed", seen, timeout=15)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    # kubectl waits for the pod to finish and exits with the container's code.
    assert os.waitstatus_to_exitcode(status) == 2
    assert wait_status(served, "once", "Error")[1] == "0/1"


def _frame(opcode: int, payload: bytes) -> bytes:
    """A client's WebSocket frame (masked, as RFC 6455 wants; payloads under 126 bytes)."""
    mask = os.urandom(4)
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _read_frames(sock, until_opcode: int) -> list[tuple[int, bytes]]:
    buf, frames = b"", []
    while True:
        while len(buf) < 2 or len(buf) < _frame_length(buf):
            data = sock.recv(65536)
            assert data, "the server closed the connection before its close frame"
            buf += data
        n = _frame_length(buf)
        frame, buf = buf[:n], buf[n:]
        length = frame[1] & 0x7F
        payload = frame[{126: 4, 127: 10}.get(length, 2):]
        frames.append((frame[0] & 0x0F, payload))
        if frames[-1][0] == until_opcode:
            return frames


def _frame_length(buf: bytes) -> int:
    length = buf[1] & 0x7F
    if length == 126:
        return 4 + int.from_bytes(buf[2:4], "big") if len(buf) >= 4 else 1 << 30
    if length == 127:
        return 10 + int.from_bytes(buf[2:10], "big") if len(buf) >= 10 else 1 << 30
    return 2 + length


def test_a_client_slow_to_answer_the_close_frame_is_not_reset(served, pods):
    """The server ends an exec with the status and a close frame. A client on a busy machine may answer that close
    seconds later; its connection must still end cleanly (a TCP reset loses what it has not read yet)."""
    import base64
    import socket
    import ssl

    ctx = ssl.create_default_context(cafile=str(served.ca_file()))
    raw = socket.create_connection(("127.0.0.1", served.api_port), timeout=20)
    sock = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /clusters/default/api/v1/namespaces/default/pods/{pods[0]}/exec?command=echo&command=hi"
                  f"&stdout=true HTTP/1.1\r\nHost: 127.0.0.1:{served.api_port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  f"Sec-WebSocket-Protocol: v5.channel.k8s.io\r\nAuthorization: Bearer {served.token}\r\n\r\n"
                  ).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    frames = _read_frames(sock, until_opcode=0x8)
    assert (0x2, b"\x01hi\n") in frames  # stdout, channel 1
    assert any(op == 0x2 and p[:1] == b"\x03" and b'"Success"' in p for op, p in frames)  # the status, channel 3
    time.sleep(2.5)  # longer than a second before answering the close
    try:
        sock.sendall(_frame(0x8, frames[-1][1][:2]))
        while sock.recv(65536):
            pass
    except ssl.SSLZeroReturnError:
        pass  # the server's TLS close_notify: a clean end
    except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError) as e:
        pytest.fail(f"the server aborted the connection instead of closing it: {e!r}")
    finally:
        sock.close()
