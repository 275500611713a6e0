"""The page terminal's `kubectl exec`, `kubectl run` and `kubectl port-forward`, and the shell a learner is in after
`kubectl exec -it POD -- sh`.

The terminal answers one line at a time, so an open shell travels with the page: `handle` returns, with each answer,
the shell's state signed (cwd, variables, files written, the nested shells), and the page sends it back with the
next line; lines go to that shell until it exits. The shell is the pod's simulated one (`cluster_core.shells`), the
same kubectl's WebSocket exec reaches, so `curl test1` from inside goes through kube-proxy's load balancing.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from django.core import signing
from django.utils.translation import gettext as _

from cluster_core import actions
from cluster_core.api.streams import open_session
from cluster_core.models import Playground
from cluster_core.shells.sh import SHELLS

from .terminal import Exit, TerminalResult, parse_flags

MASTER_PROMPT = "[root@k8s-master ~]#"
SALT = "kubeplay.terminal.exec"
EXEC_FLAGS = {"-c": "container", "--container": "container", "-n": "namespace", "--namespace": "namespace",
              "--pod-running-timeout": "timeout"}
EXEC_BOOLS = {"-i": "stdin", "--stdin": "stdin", "-t": "tty", "--tty": "tty", "-q": "quiet", "--quiet": "quiet"}


@dataclass
class Step:
    """One line's answer, the prompt it was typed at, and the shell it leaves open (signed; "" when none)."""

    result: TerminalResult
    prompt: str
    state: str
    next_prompt: str


def _split_bools(args: list[str]) -> list[str]:
    # pflag reads `-it` as `-i -t`.
    out = []
    for a in args:
        if a == "--":
            out += args[len(out):]
            break
        if len(a) > 2 and a[0] == "-" and a[1] != "-" and set(a[1:]) <= {"i", "t", "q"}:
            out += [f"-{ch}" for ch in a[1:]]
        else:
            out.append(a)
    return out


def parse_exec(args: list[str]) -> tuple[str, str, str, list[str], dict]:
    """`kubectl exec [-it] POD [-c C] [-n NS] -- CMD…` → (namespace, pod, container, argv, options)."""
    if "--" not in args:
        positional, _opts = parse_flags(_split_bools(args), "exec", EXEC_FLAGS, EXEC_BOOLS)
        if len(positional) > 1:
            raise Exit("error: exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead\n"
                       "See 'kubectl exec -h' for help and examples")
        raise Exit("error: you must specify at least one command for the container")
    cut = args.index("--")
    positional, opts = parse_flags(_split_bools(args[:cut]), "exec", EXEC_FLAGS, EXEC_BOOLS)
    argv = args[cut + 1:]
    if not positional:
        raise Exit("error: expected 'exec (POD | TYPE/NAME) -- COMMAND [args...]'.\n"
                   "POD or TYPE/NAME is a required argument for the exec command\n"
                   "See 'kubectl exec -h' for help and examples")
    if not argv:
        raise Exit("error: you must specify at least one command for the container")
    pod = positional[0]
    if "/" in pod:
        kind, _, pod = pod.partition("/")
        if kind not in ("pod", "pods", "po"):
            raise Exit(f'kubeplay: "kubectl exec {kind}/…" is not available in this terminal: name the pod')
    return opts.get("namespace") or "default", pod, opts.get("container") or "", argv, opts


def _open(pg: Playground, namespace: str, pod: str, container: str, argv: list[str], stdin: bool, tty: bool):
    query = {"command": argv, "stdin": ["true" if stdin else "false"], "tty": ["true" if tty else "false"]}
    if container:
        query["container"] = [container]
    session, problem = open_session(pg, namespace, pod, "exec", query)
    if session is None:
        if problem.endswith("not found") and problem.startswith("pods"):
            raise Exit(f"Error from server (NotFound): {problem}")
        raise Exit(f"error: {problem}")
    return session


def _text(chunks) -> str:
    return "".join(data.decode("utf-8", "replace") for _, data in chunks).replace("\r\n", "\n")


def _ended(session) -> TerminalResult:
    if session.failure:
        return TerminalResult(f"error: Internal error occurred: error executing command in container: "
                              f"{session.failure}\n", 1)
    if session.code:
        return TerminalResult(f"command terminated with exit code {session.code}\n", session.code)
    return TerminalResult("", 0)


def cmd_exec(pg: Playground, args: list[str]) -> TerminalResult:
    """Without a terminal to hold a session: the command runs once, with empty stdin."""
    namespace, pod, container, argv, _opts = parse_exec(args)
    session = _open(pg, namespace, pod, container, argv, False, False)
    out = _text(session.start())
    end = _ended(session)
    return TerminalResult(out + end.output, end.exit_code)


def cmd_run(pg: Playground, args: list[str]) -> TerminalResult:
    """`kubectl run NAME --image=IMAGE [--restart=…] [--port=N] [--env=K=V] [--labels=…] [--command] [-- ARGS]`."""
    cut = args.index("--") if "--" in args else len(args)
    values = {"--image": "image", "--restart": "restart", "--port": "port", "--env": "env", "--labels": "labels",
              "-l": "labels", "-n": "namespace", "--namespace": "namespace", "--image-pull-policy": "pull"}
    positional, opts = parse_flags(args[:cut], "run", values, {"--command": "command", "-i": "stdin",
                                                                   "-t": "tty", "--rm": "rm"})
    rest = args[cut + 1:]
    if len(positional) != 1:
        raise Exit("error: NAME is required for run\nSee 'kubectl run -h' for help and examples")
    if not opts.get("image"):
        raise Exit("error: required flag(s) \"image\" not set")
    name, image = positional[0], opts["image"]
    restart = opts.get("restart") or "Always"
    if restart not in ("Always", "OnFailure", "Never"):
        raise Exit(f"error: invalid restart policy: {restart}")
    labels = {"run": name}
    if opts.get("labels"):
        labels = dict(kv.split("=", 1) for kv in opts["labels"].split(",") if "=" in kv)
    c: dict = {"name": name, "image": image, "resources": {}}
    if rest:
        c["command" if opts.get("command") else "args"] = rest
    if opts.get("port"):
        c["ports"] = [{"containerPort": int(opts["port"])}]
    if opts.get("env"):
        k, _, v = opts["env"].partition("=")
        c["env"] = [{"name": k, "value": v}]
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
            "spec": {"containers": [c], "restartPolicy": restart, "dnsPolicy": "ClusterFirst"}}
    actions.call(pg, "POST", actions.PODS, body=body, namespace=opts.get("namespace") or "default",
                 actor="terminal: kubectl run")
    return TerminalResult(f"pod/{name} created\n", 0)


def cmd_port_forward(pg: Playground, args: list[str]) -> TerminalResult:
    return TerminalResult(_(
        "kubectl port-forward opens a port on the machine kubectl runs on, and this terminal runs inside the page: "
        "it cannot open one on your computer. Download the kubeconfig (top of the page) and run the same command "
        "with your own kubectl; then open http://127.0.0.1:PORT in your browser. Here, `kubectl exec -it POD -- sh` "
        "and `curl` from inside a pod reach the same container.") + "\n", 1)


# ---------------------------------------------------------------------------------------------------------------
# The shell a learner is in


def _dump(session) -> str:
    sh = session.shell
    return signing.dumps({
        "ns": sh.container.namespace, "pod": sh.container.pod, "c": sh.container.name,
        "cwd": sh.cwd, "vars": sh.vars, "written": sh.written, "removed": sorted(sh.removed),
        "made": sorted(sh.made), "status": sh.status, "stack": sh.stack, "line": sh.line_no,
    }, salt=SALT, compress=True)


def _load(pg: Playground, state: str):
    try:
        data = signing.loads(state, salt=SALT)
    except signing.BadSignature:
        return None
    program = data["stack"][0] if data.get("stack") else "sh"
    session = _open(pg, data["ns"], data["pod"], data["c"], [program], True, True)
    sh = session.shell
    sh.tty = True
    sh.cwd, sh.vars, sh.written = data["cwd"], data["vars"], data["written"]
    sh.removed, sh.made, sh.status = set(data["removed"]), set(data["made"]), data["status"]
    sh.stack, sh.line_no, sh.program = data["stack"] or [program], data["line"], program
    return session


def _prompt(session) -> str:
    return session.shell.prompt().rstrip()


def handle(pg: Playground, line: str, state: str) -> Step | None:
    """The answer to a line typed in an open shell, or to `kubectl exec -it … -- sh` that opens one; None when the
    line is the ordinary terminal's."""
    if state:
        try:
            session = _load(pg, state)
        except Exit as stop:
            return Step(TerminalResult(stop.output, stop.code), "#", "", MASTER_PROMPT)
        if session is not None:
            prompt = _prompt(session)
            out = session.shell.run(line)
            text = out.out + out.err
            if out.exited:
                session.code = out.code
                end = _ended(session)
                return Step(TerminalResult(text + end.output, out.code), prompt, "", MASTER_PROMPT)
            return Step(TerminalResult(text, out.code), prompt, _dump(session), _prompt(session))
    try:
        words = shlex.split(line)
    except ValueError:
        return None
    if len(words) < 2 or words[0] != "kubectl" or words[1] != "exec":
        return None
    try:
        namespace, pod, container, argv, opts = parse_exec(words[2:])
        interactive = opts.get("stdin") and argv[0].rsplit("/", 1)[-1] in SHELLS and len(argv) == 1
        if not interactive:
            return None
        session = _open(pg, namespace, pod, container, argv, True, bool(opts.get("tty")))
        session.start()
        if session.finished:
            return Step(_ended(session), MASTER_PROMPT, "", MASTER_PROMPT)
    except Exit as stop:
        return Step(TerminalResult(stop.output, stop.code), MASTER_PROMPT, "", MASTER_PROMPT)
    return Step(TerminalResult("", 0), MASTER_PROMPT, _dump(session), _prompt(session))
