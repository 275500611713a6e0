"""`kubectl top nodes` / `kubectl top pods` in the page's terminal: the same metrics.k8s.io answers the API serves
(through the API's router), printed as kubectl's top printer prints them (millicores rounded up, MiB rounded down,
percentages of the node's allocatable, Go's tabwriter with a trailing tab after every cell)."""

from __future__ import annotations

import math

from cluster_core import actions
from cluster_core.api.resources import find
from cluster_core.controllers.scheduler import parse_quantity
from cluster_core.errors import ApiError
from cluster_core.models import Playground

from .terminal import NS_FLAGS, Exit, TerminalResult, parse_flags, tabwrite

NODE_WORDS = ("node", "nodes", "no")
POD_WORDS = ("pod", "pods", "po")
MI = 1024 * 1024


def millicores(quantity: str) -> int:
    return math.ceil(parse_quantity(quantity) * 1000)


def mebibytes(quantity: str) -> int:
    return int(parse_quantity(quantity)) // MI


def _lines(rows: list[list[str]]) -> str:
    return tabwrite("".join("".join(f"{cell}\t" for cell in row) + "\n" for row in rows)).rstrip("\n") + "\n"


def cmd_top(pg: Playground, args: list[str]) -> TerminalResult:
    pos, opts = parse_flags(args, "top", {**NS_FLAGS, "-l": "selector", "--selector": "selector"},
                            {"-A": "all", "--all-namespaces": "all", "--no-headers": "no_headers"})
    if not pos or pos[0] not in NODE_WORDS + POD_WORDS:
        raise Exit("Display resource (CPU/memory) usage.\n\nAvailable Commands:\n  node          Display resource "
                   "(CPU/memory) usage of nodes\n  pod           Display resource (CPU/memory) usage of pods\n\n"
                   "Usage:\n  kubectl top [flags] [options]")
    query = {"labelSelector": opts["selector"]} if opts.get("selector") else {}
    name = pos[1] if len(pos) > 1 else ""
    try:
        if pos[0] in NODE_WORDS:
            return _nodes(pg, name, query, bool(opts.get("no_headers")))
        namespace = "" if opts.get("all") else opts.get("namespace") or actions.NAMESPACE
        return _pods(pg, name, namespace, query, bool(opts.get("no_headers")))
    except ApiError as err:
        raise Exit(actions.kubectl_error(err)) from None


def _nodes(pg: Playground, name: str, query: dict, no_headers: bool) -> TerminalResult:
    metrics = actions.call(pg, "GET", find("metrics.k8s.io", "v1beta1", "nodes"), name, query=query).body
    items = [metrics] if name else metrics["items"]
    nodes = actions.call(pg, "GET", find("", "v1", "nodes")).body["items"]
    allocatable = {n["metadata"]["name"]: (n.get("status") or {}).get("allocatable") or {} for n in nodes}
    rows = [] if no_headers else [["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]]
    for m in items:
        node = m["metadata"]["name"]
        cpu, memory = millicores(m["usage"]["cpu"]), int(parse_quantity(m["usage"]["memory"]))
        alloc = allocatable.get(node, {})
        cpu_all, mem_all = millicores(alloc.get("cpu", "0")), int(parse_quantity(alloc.get("memory", "0")))
        rows.append([node, f"{cpu}m", f"{cpu * 100 // cpu_all if cpu_all else 0}%", f"{memory // MI}Mi",
                     f"{memory * 100 // mem_all if mem_all else 0}%"])
    return TerminalResult(_lines(rows), 0)


def _pods(pg: Playground, name: str, namespace: str, query: dict, no_headers: bool) -> TerminalResult:
    res = find("metrics.k8s.io", "v1beta1", "pods")
    metrics = actions.call(pg, "GET", res, name, query=query, namespace=namespace).body
    items = [metrics] if name else metrics["items"]
    if not items:
        where = f" in {namespace} namespace" if namespace else ""
        return TerminalResult(f"No resources found{where}.\n", 0)
    head = ["NAMESPACE"] if not namespace else []
    rows = [] if no_headers else [head + ["NAME", "CPU(cores)", "MEMORY(bytes)"]]
    for m in items:
        # The containers' usage is summed first, then rounded as one quantity.
        cpu = math.ceil(sum(parse_quantity(c["usage"]["cpu"]) for c in m["containers"]) * 1000)
        memory = int(sum(parse_quantity(c["usage"]["memory"]) for c in m["containers"]))
        ns = [m["metadata"]["namespace"]] if not namespace else []
        rows.append(ns + [m["metadata"]["name"], f"{cpu}m", f"{memory // MI}Mi"])
    return TerminalResult(_lines(rows), 0)
