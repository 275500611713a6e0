"""The served playground a benchmark measures: `manage.py playground` started as a process of its own, as a user
would start it, on free ports, its output in a log file beside its data; and what the process costs (CPU, RSS)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
MANAGE = [sys.executable, "manage.py"]
TICK = os.sysconf("SC_CLK_TCK")
START_SECONDS = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(data_dir: Path, **extra: str) -> dict:
    """The embedded default (SQLite, in-memory channel layer) unless `extra` names the engines."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(KUBEPLAY_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1", **extra)
    return env


def migrate(env: dict) -> None:
    subprocess.run([*MANAGE, "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True)


def start_playground(data_dir: Path, env: dict, tempo: str, log_name: str = "server.log",
                     extra_args: tuple[str, ...] = ()) -> tuple[subprocess.Popen, int, int]:
    """The process, its page port and its API port, once /healthz answers."""
    port, api_port = free_port(), free_port()
    log = data_dir / log_name
    proc = subprocess.Popen([*MANAGE, "playground", "--host", "127.0.0.1", "--port", str(port), "--api-port",
                             str(api_port), "--tempo", tempo, *extra_args], cwd=ROOT, env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_SECONDS
    while True:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the server did not start; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return proc, port, api_port
        except OSError:
            time.sleep(0.2)


def stop(*procs: subprocess.Popen, wait: float = 15) -> None:
    """Ask every process to stop, then kill what has not stopped after `wait` seconds."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            p.kill()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
