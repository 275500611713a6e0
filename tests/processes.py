"""Real processes for end-to-end tests: `manage.py playground` servers and `manage.py runworker` loops."""

from __future__ import annotations

import base64
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
LOOP_CHANNELS = ["deployment-controller", "replicaset-controller", "daemonset-controller", "kube-scheduler", "kubelet",
                 "endpoints-controller", "garbage-collector", "namespace-controller", "serviceaccount-controller",
                 "job-controller", "cronjob-controller", "statefulset-controller",
                 "node-lifecycle-controller", "lesson-checker"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manage(env: dict, *args: str, timeout: float = 120) -> str:
    out = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def require_services(reason: str | None) -> None:
    """Skip, saying why, where a scale-out service is missing (`reason`); fail instead where
    KUBEPLAY_REQUIRE_SCALEOUT=1 (`.ci/run`), so that there the scale-out tests always run."""
    if reason:
        if os.environ.get("KUBEPLAY_REQUIRE_SCALEOUT") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


def base_env(data_dir: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBEPLAY_") and k not in (
        "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update({"KUBEPLAY_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "playground.settings",
                "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


@dataclass
class Served:
    """A running `manage.py playground` with its kubeconfig."""

    env: dict
    port: int
    api_port: int
    proc: subprocess.Popen
    kubeconfig: Path
    home: Path
    log: Path
    extra: list = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    def config(self) -> dict:
        return yaml.safe_load(self.kubeconfig.read_text())

    @property
    def token(self) -> str:
        return self.config()["users"][0]["user"]["token"]

    def ca_file(self) -> Path:
        path = self.kubeconfig.parent / "ca.crt"
        if not path.exists():
            data = self.config()["clusters"][0]["cluster"]["certificate-authority-data"]
            path.write_bytes(base64.b64decode(data))
        return path

    def kubectl(self, *args: str, timeout: float = 60, check: bool = False) -> subprocess.CompletedProcess:
        binary = Path(PY).parent / "kubectl"
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(self.home), "KUBECONFIG": str(self.kubeconfig)}
        done = subprocess.run([str(binary), *args], env=env, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {done.stderr}")
        return done

    def stop(self) -> None:
        for p in [self.proc, *self.extra]:
            stop(p)


def stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server did not become healthy:\n{log.read_text()[-4000:]}")


def start_playground(data_dir: Path, env: dict | None = None, tempo: str = "instant", migrate: bool = True,
                     extra_args: tuple = ()) -> Served:
    data_dir.mkdir(parents=True, exist_ok=True)
    env = env or base_env(data_dir)
    if migrate:
        manage(env, "migrate", "--noinput")
    port, api_port = free_port(), free_port()
    log = data_dir / f"playground-{port}.log"
    proc = subprocess.Popen([PY, "manage.py", "playground", "--host", "127.0.0.1", "--port", str(port),
                             "--api-port", str(api_port), "--tempo", tempo, *extra_args],
                            cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    wait_healthy(f"http://127.0.0.1:{port}", proc, log)
    kubeconfig = data_dir / f"kubeconfig-{port}"
    kubeconfig.write_text(manage(env, "kubeconfig", "default", "--server", f"https://127.0.0.1:{api_port}"))
    home = data_dir / "home"
    home.mkdir(exist_ok=True)
    return Served(env, port, api_port, proc, kubeconfig, home, log)


def start_worker(env: dict, data_dir: Path, name: str = "worker") -> subprocess.Popen:
    log = data_dir / f"{name}.log"
    return subprocess.Popen([PY, "manage.py", "runworker", *LOOP_CHANNELS], cwd=ROOT, env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)


def api_get(served: Served, path: str, accept: str = "application/json") -> tuple[int, bytes]:
    ctx = ssl.create_default_context(cafile=str(served.ca_file()))
    req = urllib.request.Request(f"{served.api}/clusters/default{path}",
                                 headers={"Authorization": f"Bearer {served.token}", "Accept": accept})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
