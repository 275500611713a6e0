"""A served playground and the page's terminal on the same cluster, so the real kubectl and the terminal can be
compared line by line.

The server comes from `tests.processes.start_playground` (`manage.py migrate`, then `manage.py playground … --tempo
instant` against a fresh SQLite file in `KUBEPLAY_DATA_DIR`, `/healthz`, and a kubeconfig from `manage.py
kubeconfig`). The terminal runs in a second process with the same environment, hence the same database: it reads
one command per line on stdin and answers `{"output", "exit_code"}` JSON lines, exactly what `terminal.run` returned.
Its writes reach the server's loops through their periodic resync, not a nudge (the channel layer is in-memory
per process).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests import processes

SCRIPT = """
import json, sys
import django
django.setup()
from cluster_core.models import Playground
from playground import terminal
for line in sys.stdin:
    pg = Playground.objects.get(slug="default")
    r = terminal.run(pg, json.loads(line))
    sys.stdout.write(json.dumps({"output": r.output, "exit_code": r.exit_code}) + "\\n")
    sys.stdout.flush()
"""


class Terminal:
    def __init__(self, env: dict, log: Path):
        self.proc = subprocess.Popen([processes.PY, "-c", SCRIPT], cwd=processes.ROOT, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log.open("w"))

    def run(self, line: str):
        from playground.terminal import TerminalResult  # needs Django set up; the caller's process has it

        self.proc.stdin.write(json.dumps(line) + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError("the terminal process exited")
        return TerminalResult(**json.loads(answer))

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        processes.stop(self.proc)


@contextlib.contextmanager
def served_playground(data_dir: Path) -> Iterator[tuple[processes.Served, Terminal]]:
    served = processes.start_playground(data_dir, tempo="instant")
    term = Terminal(served.env, data_dir / "terminal.log")
    try:
        yield served, term
    finally:
        term.close()
        served.stop()


def kubectl_screen(served: processes.Served, args: list[str]) -> tuple[str, int]:
    """The real kubectl's stdout and stderr in one pipe, in the order it wrote them: the screen a terminal shows."""
    binary = os.path.join(os.path.dirname(processes.PY), "kubectl")
    done = subprocess.run([binary, *args], env={"PATH": os.environ.get("PATH", ""), "HOME": str(served.home),
                          "KUBECONFIG": str(served.kubeconfig)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=90)
    return done.stdout, done.returncode


# What time moves: a kubectl age ("5s", "3m20s", "90m", "10h", "2d3h") and an RFC 3339 or RFC 1123 time stamp.
AGE = re.compile(r"(?<![\w:.-])(\d+[smhdy](\d+[smhd])?|<unknown>)(?![\w:.-])")
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z|\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}")


def timeless(text: str) -> list[str]:
    """The screen with ages and time stamps replaced, and the column padding they may widen reduced to one gap."""
    return [re.sub(r" {2,}", "  ", AGE.sub("<age>", STAMP.sub("<time>", line))).rstrip() for line in
            text.splitlines()]


def assert_same_moment(served: processes.Served, term: Terminal, command: str) -> str:
    """The terminal and the real kubectl print the same screen: kubectl, the terminal, and kubectl again; the
    terminal must match one of kubectl's byte for byte — or, only when kubectl's two screens differ (time moved
    between them), match with ages and time stamps set aside. Returns the terminal's screen."""
    args = shlex.split(command)
    first = kubectl_screen(served, args)
    mine = term.run(shlex.join(["kubectl", *args]))
    if (mine.output, mine.exit_code) == first:
        return mine.output
    again = kubectl_screen(served, args)
    if (mine.output, mine.exit_code) == again:
        return mine.output
    assert mine.exit_code == again[1], mine.output
    if again == first:
        assert mine.output == again[0]  # time stood still: the same bytes
    assert timeless(mine.output) == timeless(again[0])
    return mine.output
