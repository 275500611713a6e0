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
