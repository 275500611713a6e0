"""A container's main process: does it serve until stopped, or run to an exit code, and what does it print?

`serves(container)` answers from the argv alone (cached): the image's own server (nginx, httpd…) without a pod
command, `sleep infinity`, `tail -f`, a `while true` loop. Anything else is run once by `run(shell, argv)` through the
container's shell interpreter: its output becomes the container's log, its `sleep`s its running time, its status
the exit code. A program the image lacks cannot start: the runtime reports it (exit code 128, StartError).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from .. import images
from . import flavours
from .container import main_argv
from .sh import SHELLS, Shell, _Exit

LOOP = re.compile(r"^\s*while\s+(?:true|:|\[\s*1\s*\])\s*;?\s*do\s+(?P<body>.*?);?\s*done\s*;?\s*$", re.S)
START_ERROR = 128


@dataclass(frozen=True)
class MainRun:
    out: str = ""
    code: int = 0
    seconds: float = 0.0
    forever: bool = False
    # Set when the runtime could not start the program at all.
    start_error: str = ""
    # The files it wrote (text) or removed (None), each at the second of its run it did so.
    timeline: tuple[tuple[float, str, str | None], ...] = ()


FOREVER = MainRun(forever=True)


def _script(argv: tuple[str, ...]) -> str | None:
    if len(argv) >= 3 and argv[0].rsplit("/", 1)[-1] in SHELLS and argv[1] == "-c":
        return argv[2]
    return None


@functools.lru_cache(maxsize=1024)
def _serves(image: str, argv: tuple[str, ...]) -> bool:
    flav = flavours.of(image)
    if not argv or flav.family == "distroless":
        # The cluster's own agents (coredns, kube-proxy, flannel, pause) are servers with no shell at all.
        return True
    program = argv[0].rsplit("/", 1)[-1]
    if program in flav.servers or argv[0] in flavours.SERVE_FOREVER or program in flavours.SERVE_FOREVER:
        return True
    if argv[0].endswith("docker-entrypoint.sh") and len(argv) > 1:
        return _serves(image, argv[1:])
    if program == "sleep" and len(argv) > 1 and argv[1] in ("infinity", "inf"):
        return True
    script = _script(argv)
    if script is not None:
        return bool(LOOP.match(script)) or bool(re.search(r"sleep\s+inf|tail\s+-f|node\s+server\.js", script))
    return False


def serves(container: dict) -> bool:
    image = container.get("image") or ""
    argv = tuple(main_argv(container, flavours.of(image)))
    if container.get("stdin") and argv and argv[0].rsplit("/", 1)[-1] in SHELLS and len(argv) == 1:
        # A shell given a stdin (`kubectl run -it … -- sh`) waits for what is typed into it.
        return True
    return _serves(image, argv)


def run(shell: Shell, argv: list[str]) -> MainRun:
    """Run the main process once; a `while true` loop runs its body once and then serves forever."""
    if not argv:
        return MainRun(forever=True)
    program = argv[0]
    base = program.rsplit("/", 1)[-1]
    if argv[0].endswith("docker-entrypoint.sh") and len(argv) > 1:
        argv, program, base = argv[1:], argv[1], argv[1].rsplit("/", 1)[-1]
    if not shell.flavour.has(base) and program not in flavours.SERVE_FOREVER:
        return MainRun(code=START_ERROR, start_error=(
            "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create "
            f'failed: unable to start container process: exec: "{program}": executable file not found in $PATH: '
            "unknown"))
    shell.timeline = []
    script = _script(tuple(argv))
    if script is not None and LOOP.match(script):
        once = shell.script(LOOP.match(script)["body"].replace(";", "\n"))
        return MainRun(out=once.out + once.err, forever=True, timeline=tuple(shell.timeline))
    if _serves(shell.container.image, tuple(argv)):
        return MainRun(forever=True)
    try:
        out = shell.execute(list(argv))
    except _Exit as stop:
        return MainRun(code=stop.code, timeline=tuple(shell.timeline))
    return MainRun(out=out.out + out.err, code=out.code, seconds=out.seconds, forever=out.forever,
                   timeline=tuple(shell.timeline))


def changes(timeline) -> list[float]:
    """The moments of a run at which its files change."""
    return sorted({t for t, _, _ in timeline})


def probe(spec: dict, container: dict, pod_ip: str, shell: Callable[[], Shell]) -> str:
    """Why a probe of this container fails, in the kubelet's words; "" when it succeeds. HTTP and TCP probes
    reach the port the image serves; an exec probe runs its command in the container's shell."""
    info = images.lookup(container.get("image") or "")
    named = {p.get("name"): p.get("containerPort") for p in container.get("ports") or [] if p.get("name")}
    if "exec" in spec:
        command = [str(a) for a in (spec.get("exec") or {}).get("command") or []]
        if not command:
            return "exec probe has no command"
        try:
            out = shell().execute(command)
        except _Exit as stop:
            return "" if stop.code == 0 else f"command {command!r} exited with {stop.code}"
        return "" if out.code == 0 else ((out.out + out.err).strip() or f"command {command!r} exited with "
                                                                        f"{out.code}")
    for kind in ("httpGet", "tcpSocket"):
        if kind not in spec:
            continue
        target = spec.get(kind) or {}
        port = target.get("port")
        port = named.get(port, port) if isinstance(port, str) else port
        if info is None or info.port != port:
            address = f"{pod_ip}:{port}"
            if kind == "tcpSocket":
                return f"dial tcp {address}: connect: connection refused"
            return (f'Get "http://{address}{target.get("path") or "/"}": dial tcp {address}: connect: '
                    "connection refused")
        if kind == "httpGet":
            path = target.get("path") or "/"
            # The sample apps answer every path; nginx and httpd only their index page.
            if info.server in ("nginx/1.27.3", "Apache/2.4.62 (Unix)", "Tomcat") and path not in ("/", "/index.html"):
                return "HTTP probe failed with statuscode: 404"
        return ""
    return ""
