"""The page's terminal: a pretend shell on the master node that understands the seed's commands.

`run(pg, line)` parses one line with `shlex` (nothing reaches a real shell) and answers `kubectl …`, `curl …`,
`help` and `clear`. Reads go through the same API router kubectl's requests reach (`actions.call`), asking for
the server's Table exactly as kubectl does, and the Table is printed with kubectl's own rules (Go's tabwriter,
priority-1 columns only with `-o wide`, NAMESPACE first with `-A`, `kind/name` when several kinds are printed),
so the output is byte-for-byte what the real kubectl prints against this cluster. Writes are `cluster_core.actions`,
which send kubectl's own requests. Output is stdout and stderr together, as a terminal shows them.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import shlex
from dataclasses import dataclass

from django.utils.translation import gettext as _

from cluster_core import actions, clock, labels
from cluster_core.api import discovery
from cluster_core.api.resources import Resource, find
from cluster_core.api.tables import format_labels, human_duration, since
from cluster_core.errors import ApiError
from cluster_core.models import Playground

from . import gojson, restmapper

log = logging.getLogger(__name__)

TABLE_ACCEPT = ("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
                "application/json")
CLIENT_VERSION = "v1.37.1"
KUSTOMIZE_VERSION = "v5.8.1"
# What `clear` prints; the page may also just empty its panel when it sees it.
CLEAR = "\x1b[H\x1b[2J\x1b[3J"
PROMPT = re.compile(r"^\s*(\[[^\]]*\]\s*)?[#$]\s+")
def hint() -> str:
    return _("try: kubectl get pods, kubectl create deployment …, curl localhost:<nodePort>, help")


def help_text() -> str:
    """What `help` prints, in the page's language (the command lines stay as typed)."""
    return (_("This terminal is a node of the playground's cluster. It understands:") + "\n\n" + COMMAND_LINES
            + "\n" + _("Images in this cluster's registry: %(images)s") % {
                "images": ", ".join(actions.images.known_names())} + "\n")


COMMAND_LINES = """\
  kubectl create deployment NAME --image=IMAGE [--replicas=N]
  kubectl get pods|deployments|services|replicasets|nodes|events|endpoints|namespaces|all [NAME]
        [-o wide|name|yaml|json] [-A] [-n NAMESPACE] [-l SELECTOR] [--show-labels]
  kubectl describe deployment|pod|service NAME
  kubectl expose deployment NAME --type=NodePort|ClusterIP --port=PORT [--target-port=PORT]
  kubectl scale deployment NAME --replicas=N
  kubectl set image deployment/NAME CONTAINER=IMAGE
  kubectl rollout undo|history|status deployment NAME [--to-revision=N]
  kubectl delete deployment|service|pod NAME
  kubectl logs POD [--tail=N]
  kubectl exec [-it] POD -- COMMAND     (-it sh: the pod's shell takes the lines until exit)
  kubectl run NAME --image=IMAGE [--restart=Never] [-- COMMAND…]
  kubectl version
  curl localhost:NODEPORT | curl CLUSTER-IP[:PORT] | curl NODE-IP:NODEPORT
  clear
"""


@dataclass
class TerminalResult:
    output: str
    exit_code: int


class Exit(Exception):
    """Stop the command with this output and exit code (kubectl's `error: …` lines, usage mistakes)."""

    def __init__(self, output: str, code: int = 1):
        super().__init__(output)
        self.output = output if output.endswith("\n") or not output else output + "\n"
        self.code = code


# The longest line the terminal reads; anything longer is refused before it is parsed.
MAX_LINE = 4096


def run(pg: Playground, line: str) -> TerminalResult:
    if len(line or "") > MAX_LINE:
        return TerminalResult(f"kubeplay: that line is too long (at most {MAX_LINE} characters)\n", 2)
    line = PROMPT.sub("", line or "", count=1)
    try:
        words = shlex.split(line)
    except ValueError as exc:
        return TerminalResult(f"kubeplay: cannot parse that line: {exc}\n", 2)
    if not words:
        return TerminalResult("", 0)
    try:
        return _dispatch(pg, words)
    except Exit as stop:
        return TerminalResult(stop.output, stop.code)
    except ApiError as err:
        return TerminalResult(actions.kubectl_error(err) + "\n", 1)
    # Anything else is a defect of this terminal: it propagates (the page's view turns it into CRASHED, and logs it).


# What the page shows when a command crashed inside the terminal (a defect, logged with its traceback).
CRASHED = "kubeplay: that command failed inside the playground; the cluster is unchanged\n"


def _dispatch(pg: Playground, words: list[str]) -> TerminalResult:
    cmd = words[0]
    if cmd == "kubectl":
        return kubectl(pg, words[1:])
    if cmd == "curl":
        return curl(pg, words[1:])
    if cmd in ("help", "?"):
        return TerminalResult(help_text(), 0)
    if cmd == "clear":
        return TerminalResult(CLEAR, 0)
    if cmd in ("ssh", "VBoxManage", "mv"):
        from cluster_core import failures

        done = failures.shell(pg, words)
        if done is not None:
            text = done.message if done.ok else done.error
            return TerminalResult(text + "\n" if text else "", 0 if done.ok else 1)
    return TerminalResult(_("kubeplay: command not found: %(cmd)s — %(hint)s") % {"cmd": cmd, "hint": hint()} + "\n",
                          127)


# ---------------------------------------------------------------------------------------------------------------
# Go's text/tabwriter, the way kubectl configures it


def tabwrite(text: str, minwidth: int = 6, padding: int = 3) -> str:
    """Go `text/tabwriter` (padchar ' ', no flags): tab-terminated cells aligned per column block.

    kubectl's table printer uses minwidth 6 / padding 3; `describe` and `rollout history` minwidth 0 / padding 2.
    A column block is a run of consecutive lines that have a cell in that column; the last cell of each line is
    not part of any column.
    """
    lines = [ln.split("\t") for ln in text.split("\n")]
    out: list[str] = []

    def write(line0: int, line1: int, widths: list[int]) -> None:
        for cells in lines[line0:line1]:
            parts = []
            for j, cell in enumerate(cells):
                parts.append(cell.ljust(widths[j]) if j < len(widths) else cell)
            out.append("".join(parts))

    def fmt(line0: int, line1: int, widths: list[int]) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write(line0, this, widths)
            line0 = this
            width = minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            fmt(line0, this, [*widths, width])
            line0 = this
        write(line0, line1, widths)

    fmt(0, len(lines), [])
    return "\n".join(out)


def go_value(cell) -> str:
    """A Table cell as Go's `fmt.Fprint` prints the decoded JSON value."""
    if cell is None:
        return "<nil>"
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


# ---------------------------------------------------------------------------------------------------------------
# kubectl's flags


def parse_flags(args: list[str], command: str, values: dict[str, str], bools: dict[str, str] = None,
                ) -> tuple[list[str], dict]:
    """pflag-style parsing: `--flag=v`, `--flag v`, `-f v`, `-fv`, `-f=v`; `--` ends the flags.

    `values`/`bools` map every spelling (`-n`, `--namespace`) to the option's name.
    """
    bools = bools or {}
    positional: list[str] = []
    opts: dict = {}
    i = 0
    while i < len(args):
        a = args[i]
        i += 1
        if a == "--":
            positional += args[i:]
            break
        if not a.startswith("-") or a == "-":
            positional.append(a)
            continue
        if a.startswith("--"):
            key, eq, val = a.partition("=")
        else:
            key, val = a[:2], a[2:]
            eq = "=" if val else ""
            if val.startswith("="):
                val = val[1:]
        if key in bools:
            if eq and val not in ("true", "false"):
                raise Exit(f'error: invalid argument "{val}" for "{_spell(key)}" flag: strconv.ParseBool: '
                           f'parsing "{val}": invalid syntax\nSee \'kubectl {command} --help\' for usage.')
            opts[bools[key]] = val != "false"
            continue
        if key not in values:
            if key.startswith("--"):
                raise Exit(f"error: unknown flag: {key}\nSee 'kubectl {command} --help' for usage.")
            raise Exit(f"error: unknown shorthand flag: '{key[1:]}' in {a}\nSee 'kubectl {command} --help' for usage.")
        if not eq:
            if i >= len(args):
                raise Exit(f"error: flag needs an argument: {_flag_needs(key)}\n"
                           f"See 'kubectl {command} --help' for usage.")
            val = args[i]
            i += 1
        opts[values[key]] = val
    return positional, opts


def _spell(key: str) -> str:
    return key if key.startswith("--") else f"-{key[1:]}"


def _flag_needs(key: str) -> str:
    return f"'{key[1:]}' in {key}" if not key.startswith("--") else key


NS_FLAGS = {"-n": "namespace", "--namespace": "namespace"}


def _int_flag(value: str, flag: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Exit(f'error: invalid argument "{value}" for "{flag}" flag: strconv.ParseInt: parsing "{value}": '
                   "invalid syntax") from None


# ---------------------------------------------------------------------------------------------------------------
# kubectl


UNSUPPORTED = {"apply", "edit", "label", "annotate", "patch", "replace", "attach",
               "cp", "cordon", "uncordon", "drain", "taint", "autoscale", "explain", "api-resources",
               "cluster-info", "config", "wait", "events", "debug", "auth", "certificate", "proxy", "diff",
               "kustomize", "plugin", "completion", "alpha", "api-versions", "options"}


def kubectl(pg: Playground, args: list[str]) -> TerminalResult:
    if not args or args[0] in ("-h", "--help", "help"):
        return TerminalResult(_("kubectl controls the playground's Kubernetes cluster.") + "\n\n" + help_text(), 0)
    sub, rest = args[0], args[1:]
    if sub in ("exec", "run", "port-forward"):
        from . import terminal_exec

        return getattr(terminal_exec, "cmd_" + sub.replace("-", "_"))(pg, rest)
    if sub == "top":
        from . import terminal_top

        return terminal_top.cmd_top(pg, rest)
    handler = COMMANDS.get(sub)
    if handler is None:
        if sub in UNSUPPORTED or sub == "create":
            raise Exit(_('kubeplay: "kubectl %(sub)s" is not available in this terminal — %(hint)s') % {
                "sub": sub, "hint": hint()})
        raise Exit(f'error: unknown command "{sub}" for "kubectl"\nRun \'kubectl --help\' for usage.')
    return handler(pg, rest)


def _ok(text: str) -> TerminalResult:
    return TerminalResult(text if text.endswith("\n") or not text else text + "\n", 0)


def _result(res: actions.ActionResult) -> TerminalResult:
    if res.ok:
        return _ok(res.message)
    return TerminalResult(res.error + "\n", 1)


# --- create / expose / scale / set image / rollout / delete ----------------------------------------------------


def cmd_create(pg: Playground, args: list[str]) -> TerminalResult:
    if not args or args[0] not in ("deployment", "deploy"):
        raise Exit(f'kubeplay: "kubectl create {args[0] if args else ""}" is not available in this terminal; '
                   "try: kubectl create deployment NAME --image=IMAGE")
    pos, opts = parse_flags(args[1:], "create deployment", {"--image": "image", "--replicas": "replicas",
                                                            "-r": "replicas", "--port": "port", **NS_FLAGS})
    _only_default_namespace(opts)
    if len(pos) != 1:
        raise Exit(f"error: exactly one NAME is required, got {len(pos)}\nSee 'kubectl create deployment -h' "
                   "for help and examples")
    if not opts.get("image"):
        raise Exit('error: required flag(s) "image" not set')
    replicas = _int_flag(opts.get("replicas", "1"), "-r, --replicas")
    return _result(actions.deploy(pg, pos[0], opts["image"], replicas, any_image=True, via="terminal"))


def _only_default_namespace(opts: dict) -> None:
    ns = opts.get("namespace")
    if ns and ns != actions.NAMESPACE:
        raise Exit(f'kubeplay: this terminal changes objects in the "{actions.NAMESPACE}" namespace only')


def _deployment_name(pos: list[str], command: str) -> str:
    """`deployment N`, `deployments N`, `deploy N`, `deployment/N`, `deployments.apps/N`."""
    if len(pos) == 1 and "/" in pos[0]:
        kind, _, name = pos[0].partition("/")
    elif len(pos) == 2:
        kind, name = pos
    else:
        raise Exit(f"error: required resource not specified\nSee 'kubectl {command} -h' for help and examples"
                   if not pos else f"kubeplay: try: kubectl {command} deployment NAME")
    if kind not in ("deployment", "deployments", "deploy", "deployments.apps", "deployment.apps"):
        if _resource_for(kind) is None:
            raise Exit(f'error: the server doesn\'t have a resource type "{kind}"')
        raise Exit(f"kubeplay: this terminal can {command.split()[0]} deployments only")
    return name


def cmd_expose(pg: Playground, args: list[str]) -> TerminalResult:
    pos, opts = parse_flags(args, "expose", {"--type": "type", "--port": "port", "--target-port": "target_port",
                                             "--name": "name", "--protocol": "protocol", **NS_FLAGS})
    _only_default_namespace(opts)
    name = _deployment_name(pos, "expose")
    if "port" not in opts:
        raise Exit("error: couldn't find port via --port flag or introspection\n"
                   "See 'kubectl expose -h' for help and examples")
    port = _int_flag(opts["port"], "--port")
    kind = opts.get("type", "")
    return _result(actions.expose(pg, name, port, kind, opts.get("target_port"), via="terminal"))


def cmd_scale(pg: Playground, args: list[str]) -> TerminalResult:
    pos, opts = parse_flags(args, "scale", {"--replicas": "replicas", **NS_FLAGS})
    _only_default_namespace(opts)
    name = _deployment_name(pos, "scale")
    if "replicas" not in opts:
        raise Exit("error: The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
    replicas = _int_flag(opts["replicas"], "--replicas")
    return _result(actions.scale(pg, name, replicas, via="terminal", page_limit=False))


def cmd_set(pg: Playground, args: list[str]) -> TerminalResult:
    if not args or args[0] != "image":
        raise Exit("kubeplay: try: kubectl set image deployment/NAME CONTAINER=IMAGE")
    pos, opts = parse_flags(args[1:], "set image", {**NS_FLAGS})
    _only_default_namespace(opts)
    pairs = [p for p in pos if "=" in p]
    targets = [p for p in pos if "=" not in p]
    if not pairs:
        raise Exit("error: at least one image update is required\nSee 'kubectl set image -h' for help and examples")
    name = _deployment_name(targets, "set image")
    out, code = "", 0
    for pair in pairs:
        container, _, image = pair.partition("=")
        res = actions.set_image(pg, name, image, container, any_image=True, via="terminal")
        r = _result(res)
        out, code = out + r.output, max(code, r.exit_code)
    return TerminalResult(out, code)


def cmd_rollout(pg: Playground, args: list[str]) -> TerminalResult:
    if not args or args[0] not in ("undo", "history", "status"):
        raise Exit("kubeplay: try: kubectl rollout undo|history|status deployment NAME")
    verb = args[0]
    pos, opts = parse_flags(args[1:], f"rollout {verb}", {"--to-revision": "to_revision", "--revision": "revision",
                                                           **NS_FLAGS}, {"-w": "watch", "--watch": "watch"})
    _only_default_namespace(opts)
    name = _deployment_name(pos, f"rollout {verb}")
    if verb == "undo":
        rev = _int_flag(opts.get("to_revision", "0"), "--to-revision")
        return _result(actions.rollback(pg, name, rev or None, via="terminal"))
    if verb == "history":
        return _result(actions.history(pg, name))
    return rollout_status(pg, name)


def rollout_status(pg: Playground, name: str) -> TerminalResult:
    """rollout_status.go evaluated once: this terminal cannot keep a watch open, so it says where things stand."""
    d = actions.call(pg, "GET", actions.DEPLOYMENTS, name).body
    spec, status, meta = d.get("spec") or {}, d.get("status") or {}, d.get("metadata") or {}
    if meta.get("generation", 0) > status.get("observedGeneration", 0):
        return _ok("Waiting for deployment spec update to be observed...")
    for c in status.get("conditions") or []:
        if c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded":
            raise Exit(f'error: deployment "{name}" exceeded its progress deadline')
    want, updated = spec.get("replicas", 1), status.get("updatedReplicas", 0)
    total, available = status.get("replicas", 0), status.get("availableReplicas", 0)
    prefix = f'Waiting for deployment "{name}" rollout to finish: '
    if updated < want:
        return _ok(f"{prefix}{updated} out of {want} new replicas have been updated...")
    if total > updated:
        return _ok(f"{prefix}{total - updated} old replicas are pending termination...")
    if available < updated:
        return _ok(f"{prefix}{available} of {updated} updated replicas are available...")
    return _ok(f'deployment "{name}" successfully rolled out')


def cmd_delete(pg: Playground, args: list[str]) -> TerminalResult:
    pos, opts = parse_flags(args, "delete", {**NS_FLAGS, "--grace-period": "grace", "--wait": "wait_value"},
                            {"--now": "now", "--force": "force"})
    _only_default_namespace(opts)
    if len(pos) == 1 and "/" in pos[0]:
        pos = pos[0].split("/", 1)
    if not pos:
        raise Exit("error: You must provide one or more resources by argument or filename.\n"
                   "Example resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n"
                   "   '<resource> <name>'\n   '<resource>'")
    kind, names = pos[0], pos[1:]
    if kind.lower() not in actions.DELETABLE:
        if _resource_for(kind) is None:
            raise Exit(f'error: the server doesn\'t have a resource type "{kind}"')
        raise Exit("kubeplay: this terminal deletes deployments, replicasets, services and pods")
    if not names:
        raise Exit("error: resource(s) were provided, but no name was specified")
    out, code = "", 0
    for name in names:
        r = _result(actions.delete(pg, kind, name, via="terminal"))
        out, code = out + r.output, max(code, r.exit_code)
    return TerminalResult(out, code)


# --- get -------------------------------------------------------------------------------------------------------

def _resource_for(word: str) -> Resource | None:
    return restmapper.resolve(word)[0]


def kind_label(res: Resource) -> str:
    """How kubectl prefixes names when it prints several kinds: `pod/x`, `deployment.apps/x`."""
    return res.kind.lower() + (f".{res.group}" if res.group else "")


@dataclass
class GetOptions:
    namespace: str = actions.NAMESPACE
    all_namespaces: bool = False
    output: str = ""
    selector: str = ""
    show_labels: bool = False


def cmd_get(pg: Playground, args: list[str]) -> TerminalResult:
    pos, opts = parse_flags(args, "get", {**NS_FLAGS, "-o": "output", "--output": "output", "-l": "selector",
                                          "--selector": "selector", "--field-selector": "field_selector"},
                            {"-A": "all", "--all-namespaces": "all", "--show-labels": "show_labels",
                             "-w": "watch", "--watch": "watch", "--no-headers": "no_headers"})
    if opts.get("watch"):
        raise Exit("kubeplay: this terminal cannot keep a watch open; run the command again to see changes")
    o = GetOptions(opts.get("namespace") or actions.NAMESPACE, bool(opts.get("all")), opts.get("output", ""),
                   opts.get("selector", ""), bool(opts.get("show_labels")))
    if o.output not in ("", "wide", "name", "yaml", "json"):
        raise Exit(f"error: unable to match a printer suitable for the output format \"{o.output}\", allowed "
                   "formats are: custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,"
                   "jsonpath-as-json,jsonpath-file,kyaml,name,template,templatefile,wide,yaml")
    if not pos:
        raise Exit('You must specify the type of resource to get. Use "kubectl api-resources" for a complete list '
                   "of supported resources.\n\nerror: Required resource not specified.\nUse \"kubectl explain "
                   "<resource>\" for a detailed description of that resource (e.g. kubectl explain pods).\n"
                   "See 'kubectl get -h' for help and examples")
    warnings, requests = _get_requests(pos)
    if o.all_namespaces and any(names for _, names in requests):
        raise Exit("error: a resource cannot be retrieved by name across all namespaces")
    fetched, errors = [], []
    for res, names in requests:
        ns = "" if o.all_namespaces else o.namespace
        query = {"limit": "500"}
        if o.selector:
            query["labelSelector"] = o.selector
        if opts.get("field_selector"):
            query["fieldSelector"] = opts["field_selector"]
        accept = TABLE_ACCEPT if o.output in ("", "wide") else "application/json"
        if not names:
            fetched.append((res, actions.call(pg, "GET", res, query=query, accept=accept, namespace=ns).body))
            continue
        for name in names:
            try:
                fetched.append((res, actions.call(pg, "GET", res, name, accept=accept, namespace=ns).body))
            except ApiError as err:
                errors.append(actions.kubectl_error(err))
    # kubectl prefixes `kind/` when what it got back (not what was asked for) spans several kinds.
    with_kind = len({res for res, _ in fetched}) > 1
    out = "".join(w + "\n" for w in warnings) + print_get(fetched, o, with_kind, bool(opts.get("no_headers")))
    # Only the human-readable printers say so; -o name/json/yaml print nothing (or an empty List).
    if not out.strip() and not errors and o.output in ("", "wide"):
        namespaced = not o.all_namespaces and all(res.namespaced for res, _ in requests)
        out += f"No resources found in {o.namespace} namespace.\n" if namespaced else "No resources found\n"
    out += "".join(e + "\n" for e in errors)
    return TerminalResult(out, 1 if errors else 0)


def _get_requests(pos: list[str]) -> tuple[list[str], list[tuple[Resource, list[str]]]]:
    """`pods`, `pods a b`, `deploy,svc`, `all`, `pod/a svc/b` → the resources to fetch and their names."""
    warnings: list[str] = []

    def resolve(word: str) -> list[Resource]:
        expanded = restmapper.category(word)
        if expanded:
            return expanded
        res, warned = restmapper.resolve(word)
        if res is None:
            raise Exit(f'error: the server doesn\'t have a resource type "{word}"')
        warnings.extend(w for w in warned if w not in warnings)
        return [res]

    if any("/" in p for p in pos):
        out: list[tuple[Resource, list[str]]] = []
        for p in pos:
            if "/" not in p:
                raise Exit("error: there is no need to specify a resource type as a separate argument when passing "
                           "arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' instead of "
                           "'kubectl get resource resource/<resource_name>'")
            kind, _, name = p.partition("/")
            for res in resolve(kind):
                out.append((res, [name]))
        return warnings, out
    kinds = [k for k in pos[0].split(",") if k]
    resources = [r for k in kinds for r in resolve(k)]
    return warnings, [(res, list(pos[1:])) for res in resources]


def print_get(fetched: list[tuple[Resource, dict]], o: GetOptions, with_kind: bool, no_headers: bool = False) -> str:
    if o.output == "name":
        return "".join(f"{kind_label(res)}/{obj['metadata']['name']}\n" for res, body in fetched
                       for obj in (body.get("items") if "items" in body else [body]))
    if o.output in ("yaml", "json"):
        return print_objects([obj for _, body in fetched for obj in (body["items"] if "items" in body else [body])],
                             o.output, single=len(fetched) == 1 and "items" not in fetched[0][1])
    blocks = []
    last_columns = None
    for res, table in fetched:
        # kubectl prints one header per run of tables of the same kind (one per name for `get pod a b`).
        same = blocks and last_columns == (res, table.get("columnDefinitions"))
        text = print_table(table, wide=o.output == "wide",
                           with_namespace=o.all_namespaces and res.namespaced,
                           kind=kind_label(res) if with_kind else "", show_labels=o.show_labels,
                           headers=not (same or no_headers))
        if not text:
            continue
        if same:
            blocks[-1] += text
        else:
            blocks.append(text)
        last_columns = (res, table.get("columnDefinitions"))
    return "\n".join(tabwrite(b.rstrip("\n")) + "\n" for b in blocks)


def print_table(table: dict, wide: bool = False, with_namespace: bool = False, kind: str = "",
                show_labels: bool = False, headers: bool = True) -> str:
    """kubectl's tableprinter rows for one server Table, as tab-separated lines (align with `tabwrite`)."""
    rows = table.get("rows") or []
    if not rows:
        return ""
    columns = [i for i, c in enumerate(table.get("columnDefinitions") or []) if wide or c.get("priority", 0) == 0]
    lines = []
    if headers:
        head = [table["columnDefinitions"][i]["name"].upper() for i in columns]
        lines.append("\t".join((["NAMESPACE"] if with_namespace else []) + head + (["LABELS"] if show_labels else [])))
    for row in rows:
        meta = ((row.get("object") or {}).get("metadata")) or {}
        cells = [go_value(row["cells"][i]) for i in columns if i < len(row.get("cells") or [])]
        if kind and cells:
            cells[0] = f"{kind}/{cells[0]}"
        if with_namespace:
            cells.insert(0, meta.get("namespace", ""))
        if show_labels:
            cells.append(format_labels(meta.get("labels")))
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


def print_objects(objs: list[dict], output: str, single: bool) -> str:
    doc = objs[0] if single else {"apiVersion": "v1", "items": objs, "kind": "List",
                                  "metadata": {"resourceVersion": ""}}
    return gojson.to_json(doc) if output == "json" else gojson.to_yaml(doc)


# --- describe --------------------------------------------------------------------------------------------------


def _ts(value: str | None) -> str:
    """Go's RFC1123Z, as describe prints timestamps."""
    when = clock.parse_rfc3339(value) if value else None
    if when is None:
        return "<unknown>"
    return when.astimezone(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


def _map_lines(key: str, mapping: dict | None, indent: str = "") -> list[str]:
    """`Labels:  a=b` then one continuation line per further label, as describe's printLabelsMultiline."""
    if not mapping:
        return [f"{indent}{key}\t<none>"]
    items = sorted(mapping.items())
    sep = ": " if key.startswith("Annotations") else "="
    out = [f"{indent}{key}\t{items[0][0]}{sep}{items[0][1]}"]
    out += [f"{indent}\t{k}{sep}{v}" for k, v in items[1:]]
    return out


def _events(pg: Playground, obj: dict, kind: str = "") -> list[str]:
    meta = obj["metadata"]
    fsel = f"involvedObject.name={meta['name']},involvedObject.namespace={meta.get('namespace', '')}," \
           f"involvedObject.uid={meta.get('uid', '')}" + (f",involvedObject.kind={kind}" if kind else "")
    items = actions.call(pg, "GET", find("", "v1", "events"), query={"fieldSelector": fsel, "limit": "500"},
                         namespace=meta.get("namespace", actions.NAMESPACE)).body.get("items") or []
    if not items:
        return ["Events:\t<none>"]
    now = clock.now()
    items.sort(key=lambda e: e.get("lastTimestamp") or e.get("firstTimestamp") or "")
    out = ["Events:", "  Type\tReason\tAge\tFrom\tMessage", "  ----\t------\t----\t----\t-------"]
    for e in items:
        first = since(e.get("firstTimestamp") or e.get("eventTime"), now)
        age = first
        if (e.get("count") or 1) > 1:
            age = f"{since(e.get('lastTimestamp'), now)} (x{e['count']} over {first})"
        source = (e.get("source") or {}).get("component") or e.get("reportingComponent", "")
        message = e.get("message", "").strip()
        path = (e.get("involvedObject") or {}).get("fieldPath")
        if path:
            message = f"{path}: {message}"
        out.append(f"  {e.get('type', '')}\t{e.get('reason', '')}\t{age}\t{source}\t{message}")
    return out


def _container_lines(containers: list[dict], statuses: dict | None = None, space: str = "  ",
                     pod: dict | None = None) -> list[str]:
    """describe.go `describeContainers`: a pod template's under `  Containers:` at `   name:` (space "  "), a pod's
    under `Containers:` at `  name:`; statuses (a pod's) add ID, state, readiness and restarts."""
    out = [f"{space}Containers:" + ("" if containers else " <none>")]
    for c in containers:
        st = (statuses or {}).get(c.get("name"))
        out.append(f"  {' ' if space else ''}{c.get('name')}:")
        if st is not None:
            out.append(f"    Container ID:\t{st.get('containerID', '')}")
        out.append(f"    Image:\t{c.get('image', '')}")
        if st is not None:
            out.append(f"    Image ID:\t{st.get('imageID', '')}")
        ports = c.get("ports") or []
        port = ", ".join(f"{p.get('containerPort', 0)}/{p.get('protocol', 'TCP')}{_port_name(p)}" for p in ports)
        host = ", ".join(f"{p.get('hostPort', 0)}/{p.get('protocol', 'TCP')}{_port_name(p)}" for p in ports)
        out.append(f"    Ports:\t{port}" if "," in port else f"    Port:\t{port or '<none>'}")
        out.append(f"    Host Ports:\t{host}" if "," in host else f"    Host Port:\t{host or '<none>'}")
        for title, words in (("Command", c.get("command")), ("Args", c.get("args"))):
            if words:
                out.append(f"    {title}:")
                out += [f"      {line}" for word in words for line in str(word).split("\n")]
        if st is not None:
            out += _state_lines("State", st.get("state") or {})
            if (st.get("lastState") or {}).get("terminated"):
                out += _state_lines("Last State", st["lastState"])
            out.append(f"    Ready:\t{'True' if st.get('ready') else 'False'}")
            out.append(f"    Restart Count:\t{st.get('restartCount', 0)}")
        resources = c.get("resources") or {}
        for title, amounts in (("Limits", resources.get("limits")), ("Requests", resources.get("requests"))):
            if amounts:
                out.append(f"    {title}:")
                out += [f"      {name}:\t{amounts[name]}" for name in sorted(amounts)]
        for title, key in (("Liveness", "livenessProbe"), ("Readiness", "readinessProbe"), ("Startup", "startupProbe")):
            if c.get(key):
                out.append(f"    {title}:\t{_probe(c[key])}")
        env = c.get("env") or []
        out.append("    Environment:" + ("" if env else "\t<none>"))
        for e in env:
            out += _env_lines(e, pod)
        mounts = sorted(c.get("volumeMounts") or [], key=lambda m: m.get("mountPath", ""))
        out.append("    Mounts:" + ("" if mounts else "\t<none>"))
        out += [f"      {m.get('mountPath')} from {m.get('name')} ({'ro' if m.get('readOnly') else 'rw'})"
                for m in mounts]
    return out


def _port_name(port: dict) -> str:
    return f" ({port['name']})" if port.get("name") else ""


def _state_lines(title: str, state: dict) -> list[str]:
    if "running" in state:
        return [f"    {title}:\tRunning", f"      Started:\t{_ts(state['running'].get('startedAt'))}"]
    if "terminated" in state:
        t = state["terminated"]
        out = [f"    {title}:\tTerminated"]
        out += [f"      Reason:\t{t['reason']}"] if t.get("reason") else []
        out += [f"      Message:\t{t['message']}"] if t.get("message") else []
        out.append(f"      Exit Code:\t{t.get('exitCode', 0)}")
        out += [f"      Signal:\t{t['signal']}"] if t.get("signal") else []
        return out + [f"      Started:\t{_ts(t.get('startedAt'))}", f"      Finished:\t{_ts(t.get('finishedAt'))}"]
    out = [f"    {title}:\tWaiting"]
    reason = (state.get("waiting") or {}).get("reason")
    return out + ([f"      Reason:\t{reason}"] if reason else [])


def _probe(probe: dict) -> str:
    """describe.go `DescribeProbe`."""
    attrs = (f"delay={probe.get('initialDelaySeconds', 0)}s timeout={probe.get('timeoutSeconds', 0)}s "
             f"period={probe.get('periodSeconds', 0)}s #success={probe.get('successThreshold', 0)} "
             f"#failure={probe.get('failureThreshold', 0)}")
    if probe.get("exec") is not None:
        return f"exec [{' '.join(probe['exec'].get('command') or [])}] {attrs}"
    if probe.get("httpGet") is not None:
        h = probe["httpGet"]
        host = h.get("host", "")
        host = f"[{host}]" if ":" in host else host
        return f"http-get {h.get('scheme', 'HTTP').lower()}://{host}:{h.get('port')}{h.get('path', '')} {attrs}"
    if probe.get("tcpSocket") is not None:
        t = probe["tcpSocket"]
        return f"tcp-socket {t.get('host', '')}:{t.get('port')} {attrs}"
    return f"unknown {attrs}"


_FIELD = re.compile(r"^metadata\.(name|namespace|uid)$|^metadata\.(labels|annotations)\['([^']*)'\]$")


def _env_lines(e: dict, pod: dict | None) -> list[str]:
    """describe.go `describeContainerEnvVars`; a field reference resolves as `EnvValueRetriever` does (metadata
    fields of the pod only, empty otherwise)."""
    source = e.get("valueFrom")
    if source is None:
        first, *rest = str(e.get("value", "")).split("\n")
        return [f"      {e.get('name')}:\t{first}", *[f"      \t{line}" for line in rest]]
    if source.get("fieldRef"):
        ref = source["fieldRef"]
        value = ""
        m = _FIELD.match(ref.get("fieldPath", ""))
        if m and pod is not None:
            meta = pod.get("metadata") or {}
            value = str(meta.get(m.group(1), "")) if m.group(1) else (meta.get(m.group(2)) or {}).get(m.group(3), "")
        return [f"      {e.get('name')}:\t{value} ({ref.get('apiVersion', 'v1')}:{ref.get('fieldPath', '')})"]
    if source.get("secretKeyRef"):
        ref = source["secretKeyRef"]
        return [f"      {e.get('name')}:\t<set to the key '{ref.get('key')}' in secret '{ref.get('name')}'>\t"
                f"Optional: {'true' if ref.get('optional') else 'false'}"]
    if source.get("configMapKeyRef"):
        ref = source["configMapKeyRef"]
        return [f"      {e.get('name')}:\t<set to the key '{ref.get('key')}' of config map '{ref.get('name')}'>\t"
                f"Optional: {'true' if ref.get('optional') else 'false'}"]
    return [f"      {e.get('name')}:\t"]


def _toleration_lines(title: str, tolerations: list[dict] | None) -> list[str]:
    """describe.go `printTolerationsMultilineWithIndent`: sorted by key, `op=Exists` only for Exists."""
    if not tolerations:
        return [f"{title}:\t<none>"]
    lines = []
    for t in sorted(tolerations, key=lambda t: t.get("key", "")):
        text = t.get("key", "") + (f"={t['value']}" if t.get("value") else "")
        text += f":{t['effect']}" if t.get("effect") else ""
        if t.get("operator") == "Exists" and not t.get("value"):
            text += " op=Exists" if t.get("key") or t.get("effect") else "op=Exists"
        if t.get("tolerationSeconds") is not None:
            text += f" for {t['tolerationSeconds']}s"
        lines.append(text)
    return [f"{title}:\t{lines[0]}", *[f"\t{t}" for t in lines[1:]]]


def _template_lines(tmpl: dict) -> list[str]:
    """describe.go `DescribePodTemplate`, as a Deployment's describe prints it."""
    meta, spec = tmpl.get("metadata") or {}, tmpl.get("spec") or {}
    out = ["Pod Template:", *_map_lines("Labels:", meta.get("labels"), "  ")]
    if meta.get("annotations"):
        out += _map_lines("Annotations:", meta["annotations"], "  ")
    if spec.get("serviceAccountName"):
        out.append(f"  Service Account:\t{spec['serviceAccountName']}")
    out += _container_lines(spec.get("containers") or [])
    out.append("  Volumes:\t<none>")
    if spec.get("priorityClassName"):
        out.append(f"  Priority Class Name:\t{spec['priorityClassName']}")
    return [*out, *_map_lines("Node-Selectors:", spec.get("nodeSelector"), "  "),
            *_toleration_lines("  Tolerations", spec.get("tolerations"))]


def describe_deployment(pg: Playground, d: dict) -> list[str]:
    meta, spec, status = d["metadata"], d.get("spec") or {}, d.get("status") or {}
    strategy = spec.get("strategy") or {}
    ru = strategy.get("rollingUpdate") or {}
    tmpl = spec.get("template") or {}
    unavailable = status.get("unavailableReplicas", 0)
    out = [f"Name:\t{meta['name']}", f"Namespace:\t{meta.get('namespace', '')}",
           f"CreationTimestamp:\t{_ts(meta.get('creationTimestamp'))}",
           *_map_lines("Labels:", meta.get("labels")), *_map_lines("Annotations:", meta.get("annotations")),
           f"Selector:\t{labels.selector_string(spec.get('selector'))}",
           f"Replicas:\t{spec.get('replicas', 1)} desired | {status.get('updatedReplicas', 0)} updated | "
           f"{status.get('replicas', 0)} total | {status.get('availableReplicas', 0)} available | "
           f"{unavailable} unavailable",
           f"StrategyType:\t{strategy.get('type', '')}", f"MinReadySeconds:\t{spec.get('minReadySeconds', 0)}"]
    if strategy.get("type") == "RollingUpdate":
        out.append(f"RollingUpdateStrategy:\t{ru.get('maxUnavailable')} max unavailable, {ru.get('maxSurge')} "
                   "max surge")
    out += _template_lines(tmpl)
    conditions = status.get("conditions") or []
    if conditions:
        out += ["Conditions:", "  Type\tStatus\tReason", "  ----\t------\t------"]
        out += [f"  {c.get('type')}\t{c.get('status')}\t{c.get('reason', '')}" for c in conditions]
    owned = actions.owned_replicasets(pg, d)
    new = [rs for rs in owned if _templates_match(rs, tmpl)][:1]
    old = [rs for rs in owned if rs not in new]

    def rs_line(items):
        return ", ".join(f"{rs['metadata']['name']} ({(rs.get('status') or {}).get('replicas', 0)}/"
                         f"{(rs.get('spec') or {}).get('replicas', 0)} replicas created)" for rs in items) or "<none>"

    out += [f"OldReplicaSets:\t{rs_line(old)}", f"NewReplicaSet:\t{rs_line(new)}"]
    return out + _events(pg, d, "Deployment")


def _templates_match(rs: dict, tmpl: dict) -> bool:
    return actions.names.templates_equal((rs.get("spec") or {}).get("template") or {}, tmpl)


def describe_pod(pg: Playground, p: dict) -> list[str]:
    """describe.go `describePod`: Priority, Priority Class Name and Service Account only when the pod has them."""
    meta, spec, status = p["metadata"], p.get("spec") or {}, p.get("status") or {}
    node = spec.get("nodeName")
    owner = next((r for r in meta.get("ownerReferences") or [] if r.get("controller")), None)
    out = [f"Name:\t{meta['name']}", f"Namespace:\t{meta.get('namespace', '')}"]
    if spec.get("priority") is not None:
        out.append(f"Priority:\t{spec['priority']}")
    if spec.get("priorityClassName"):
        out.append(f"Priority Class Name:\t{spec['priorityClassName']}")
    if spec.get("runtimeClassName"):
        out.append(f"Runtime Class Name:\t{spec['runtimeClassName']}")
    if spec.get("serviceAccountName"):
        out.append(f"Service Account:\t{spec['serviceAccountName']}")
    out.append(f"Node:\t{node}/{status.get('hostIP', '')}" if node else "Node:\t<none>")
    if status.get("startTime"):
        out.append(f"Start Time:\t{_ts(status['startTime'])}")
    out += [*_map_lines("Labels:", meta.get("labels")), *_map_lines("Annotations:", meta.get("annotations"))]
    phase = status.get("phase", "")
    if meta.get("deletionTimestamp") and phase not in ("Failed", "Succeeded"):
        until = clock.parse_rfc3339(meta["deletionTimestamp"]) - clock.now()
        out += [f"Status:\tTerminating (lasts {human_duration(until.total_seconds())})",
                f"Termination Grace Period:\t{meta.get('deletionGracePeriodSeconds', 0)}s"]
    else:
        out.append(f"Status:\t{phase}")
    out += [f"Reason:\t{status['reason']}"] if status.get("reason") else []
    out += [f"Message:\t{status['message']}"] if status.get("message") else []
    out.append(f"IP:\t{status.get('podIP', '')}")
    ips = status.get("podIPs") or []
    out += ["IPs:\t<none>"] if not ips else ["IPs:", *[f"  IP:\t{i.get('ip')}" for i in ips]]
    if owner:
        out.append(f"Controlled By:\t{owner.get('kind')}/{owner.get('name')}")
    statuses = {s.get("name"): s for s in status.get("containerStatuses") or []}
    out += _container_lines(spec.get("containers") or [], statuses, "", p)
    conditions = status.get("conditions") or []
    if conditions:
        # describe.go writes "%v \t%v \n": a space after the type widens the column by one.
        out += ["Conditions:", "  Type\tStatus"] + [f"  {c.get('type')} \t{c.get('status')} " for c in conditions]
    out += ["Volumes:\t<none>", f"QoS Class:\t{status.get('qosClass', '')}",
            *_map_lines("Node-Selectors:", spec.get("nodeSelector")),
            *_toleration_lines("Tolerations", spec.get("tolerations"))]
    return out + _events(pg, p)


def describe_service(pg: Playground, s: dict) -> list[str]:
    meta, spec = s["metadata"], s.get("spec") or {}
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items())) or "<none>"
    out = [f"Name:\t{meta['name']}", f"Namespace:\t{meta.get('namespace', '')}",
           *_map_lines("Labels:", meta.get("labels")), *_map_lines("Annotations:", meta.get("annotations")),
           f"Selector:\t{selector}", f"Type:\t{spec.get('type', 'ClusterIP')}",
           f"IP Family Policy:\t{spec.get('ipFamilyPolicy', 'SingleStack')}",
           f"IP Families:\t{','.join(spec.get('ipFamilies') or ['IPv4'])}",
           f"IP:\t{spec.get('clusterIP', '')}", f"IPs:\t{','.join(spec.get('clusterIPs') or [])}"]
    subsets = _endpoint_subsets(pg, meta["name"], meta.get("namespace", actions.NAMESPACE))
    for p in spec.get("ports") or []:
        pname = p.get("name") or "<unset>"
        proto = p.get("protocol", "TCP")
        out += [f"Port:\t{pname}  {p.get('port')}/{proto}", f"TargetPort:\t{p.get('targetPort')}/{proto}"]
        if p.get("nodePort"):
            out.append(f"NodePort:\t{pname}  {p['nodePort']}/{proto}")
        # The addresses of the subsets' port of the same name, as kubectl lists a port's endpoints.
        eps = [f"{a['ip']}:{sp.get('port')}" for subset in subsets for sp in subset.get("ports") or []
               if (sp.get("name") or "") == (p.get("name") or "") for a in subset.get("addresses") or []]
        out.append(f"Endpoints:\t{','.join(eps[:3]) + (f' + {len(eps) - 3} more...' if len(eps) > 3 else '')}"
                   if eps else "Endpoints:\t")
    out.append(f"Session Affinity:\t{spec.get('sessionAffinity', 'None')}")
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        out.append(f"External Traffic Policy:\t{spec.get('externalTrafficPolicy', 'Cluster')}")
    out.append(f"Internal Traffic Policy:\t{spec.get('internalTrafficPolicy', 'Cluster')}")
    return out + _events(pg, s)


def _endpoint_subsets(pg: Playground, service: str, namespace: str) -> list[dict]:
    try:
        ep = actions.call(pg, "GET", find("", "v1", "endpoints"), service, namespace=namespace).body
    except ApiError:
        return []
    return ep.get("subsets") or []


DESCRIBERS = {"Deployment": describe_deployment, "Pod": describe_pod, "Service": describe_service}


def cmd_describe(pg: Playground, args: list[str]) -> TerminalResult:
    pos, opts = parse_flags(args, "describe", {**NS_FLAGS})
    if len(pos) == 1 and "/" in pos[0]:
        pos = pos[0].split("/", 1)
    if len(pos) != 2:
        raise Exit("kubeplay: try: kubectl describe deployment|pod|service NAME")
    res = _resource_for(pos[0])
    if res is None:
        raise Exit(f'error: the server doesn\'t have a resource type "{pos[0]}"')
    describer = DESCRIBERS.get(res.kind)
    if describer is None:
        raise Exit("kubeplay: this terminal describes deployments, pods and services")
    obj = actions.call(pg, "GET", res, pos[1], namespace=opts.get("namespace") or actions.NAMESPACE).body
    return _ok(tabwrite("\n".join(describer(pg, obj)), minwidth=0, padding=2))


# --- logs / version --------------------------------------------------------------------------------------------


def cmd_logs(pg: Playground, args: list[str]) -> TerminalResult:
    pos, opts = parse_flags(args, "logs", {**NS_FLAGS, "--tail": "tail", "-c": "container", "--container": "container"},
                            {"-f": "follow", "--follow": "follow", "--timestamps": "timestamps",
                             "-p": "previous", "--previous": "previous"})
    if len(pos) != 1:
        raise Exit("error: expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\n"
                   "POD or TYPE/NAME is a required argument for the logs command\n"
                   "See 'kubectl logs -h' for help and examples")
    ns = opts.get("namespace") or actions.NAMESPACE
    pods = find("", "v1", "pods")
    target, prefix = pos[0], ""
    if "/" in target:
        kind, _, name = target.partition("/")
        res = _resource_for(kind)
        if res is None:
            raise Exit(f'error: the server doesn\'t have a resource type "{kind}"')
        if res.kind == "Pod":
            target = name
        elif res.kind in ("Deployment", "ReplicaSet"):
            target, prefix = _pod_for_logs(pg, res, name, ns)
        else:
            raise Exit(f"error: cannot get the logs from {kind_label(res)}")
    try:
        pod = actions.call(pg, "GET", pods, target, namespace=ns).body
    except ApiError as err:
        if err.code != 404:
            raise
        # kubectl finds the pod through its resource builder, whose NotFound names the namespace.
        raise Exit(f'error: error from server (NotFound): pods "{target}" not found in namespace "{ns}"') from None
    containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    query = {"container": opts.get("container") or (containers[0] if containers else "")}
    if "tail" in opts:
        query["tailLines"] = str(_int_flag(opts["tail"], "--tail"))
    if opts.get("timestamps"):
        query["timestamps"] = "true"
    if opts.get("previous"):
        query["previous"] = "true"
    text = actions.call(pg, "GET", pods, target, subresource="log", query=query, namespace=ns).body
    return TerminalResult(prefix + text, 0)


LOGGING_PHASE_ORDER = {"Running": 2, "Unknown": 1, "Pending": 0}


def _pod_for_logs(pg: Playground, res: Resource, name: str, ns: str) -> tuple[str, str]:
    """kubectl picks one pod of a workload, the most "loggable" first (running, ready, oldest)."""
    obj = actions.call(pg, "GET", res, name, namespace=ns).body
    selector = labels.selector_string((obj.get("spec") or {}).get("selector"))
    items = actions.call(pg, "GET", find("", "v1", "pods"), query={"labelSelector": selector},
                         namespace=ns).body["items"]
    if not items:
        raise Exit(f"error: timed out waiting for the condition on {res.plural}/{name}")

    def rank(p):
        # kubectl's ByLogging order: assigned, Running before Unknown before Pending, ready, ready the longest,
        # most restarts, oldest; a missing time sorts last, and ties keep the list's (name) order.
        st = p.get("status") or {}
        ready_cond = next((c for c in st.get("conditions") or [] if c.get("type") == "Ready"), {})
        ready = ready_cond.get("status") == "True"
        ready_since = (ready_cond.get("lastTransitionTime") or "") if ready else ""
        restarts = max((c.get("restartCount") or 0 for c in st.get("containerStatuses") or []), default=0)
        created = p["metadata"].get("creationTimestamp") or ""
        return (not p["spec"].get("nodeName"), -LOGGING_PHASE_ORDER.get(st.get("phase"), 0), not ready,
                (not ready_since, ready_since), -restarts, (not created, created))

    items.sort(key=rank)
    chosen = items[0]["metadata"]["name"]
    note = f"Found {len(items)} pods, using pod/{chosen}\n" if len(items) > 1 else ""
    return chosen, note


def cmd_version(pg: Playground, args: list[str]) -> TerminalResult:
    parse_flags(args, "version", {"-o": "output", "--output": "output"}, {"--client": "client"})
    return _ok(f"Client Version: {CLIENT_VERSION}\nKustomize Version: {KUSTOMIZE_VERSION}\n"
               f"Server Version: {discovery.VERSION_INFO['gitVersion']}")


COMMANDS = {
    "get": cmd_get, "describe": cmd_describe, "create": cmd_create, "expose": cmd_expose, "scale": cmd_scale,
    "set": cmd_set, "rollout": cmd_rollout, "delete": cmd_delete, "logs": cmd_logs, "version": cmd_version,
}


# ---------------------------------------------------------------------------------------------------------------
# curl


def curl(pg: Playground, args: list[str]) -> TerminalResult:
    urls = [a for a in args if not a.startswith("-")]
    if not urls:
        return TerminalResult("curl: try 'curl --help' or 'curl --manual' for more information\n", 2)
    out, code = "", 0
    for url in urls:
        target = re.sub(r"^https?://", "", url)
        host, slash, path = target.partition("/")
        res = actions.curl(pg, host, "/" + path if slash else "/")
        if res.ok:
            out += res.body or ""
            continue
        out += (res.error or "curl: (7) Couldn't connect to server") + "\n"
        m = re.match(r"curl: \((\d+)\)", res.error or "")
        code = int(m.group(1)) if m else 7
    return TerminalResult(out, code)
