"""The import direction stays true: `playground` imports `cluster_core`, never the reverse; the loops do not import
each other (they meet only through the stored objects and the feed)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOOPS = {"deployment", "replicaset", "daemonset", "scheduler", "kubelet", "endpoints", "garbage_collector",
         "namespace", "serviceaccount", "job", "cronjob", "statefulset"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base]) if base else ".".join(parent)
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    return out


def test_it_never_imports_the_web_app_from_the_cluster():
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p) if m.split(".")[0] == "playground")
                 for p in (ROOT / "cluster_core").rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_it_keeps_the_loops_apart():
    crossings = {}
    for name in LOOPS:
        path = ROOT / "cluster_core" / "controllers" / f"{name}.py"
        others = {m for m in imported_modules(path)
                  if m.startswith("cluster_core.controllers.") and m.split(".")[2] in LOOPS - {name}}
        if others:
            crossings[name] = sorted(others)
    assert crossings == {}
    assert (ROOT / "cluster_core" / "controllers" / "kubelet.py").exists()
