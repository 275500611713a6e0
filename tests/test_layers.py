"""The import direction the code keeps: `playground` uses `cluster_core`, never the reverse; a controller never
reaches into another controller; the storage layer (models, the write path, the feed) knows no loop, no API and no
lesson. Read from the source with `ast`, so a lazy import inside a function counts too."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "cluster_core"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, as an absolute dotted name (relative imports resolved against its package)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            found.add(prefix)
            found.update(f"{prefix}.{alias.name}" for alias in node.names)
    return found


def sources(folder: Path):
    return sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts)


def test_it_finds_relative_and_lazy_imports():
    # The reader itself must see what the rules below look for, or they could never fail.
    probe = CORE / "controllers" / "deployment.py"
    found = imported_modules(probe)
    assert "cluster_core.writes" in found and "cluster_core.models.Deployment" in found


def test_it_never_imports_the_web_app_from_the_cluster():
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p) if m.split(".")[0] == "playground")
                 for p in sources(CORE)}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_it_keeps_each_controller_to_itself():
    controllers = {p.stem for p in (CORE / "controllers").glob("*.py") if p.stem != "__init__"}
    # The kubelet's stage table is the kubelet's own data, in a module of its own.
    allowed = {"kubelet": {"kubelet_stages"}}
    offenders = {}
    for path in sources(CORE / "controllers"):
        reached = {m.split(".")[2] for m in imported_modules(path)
                   if m.startswith("cluster_core.controllers.") and m.split(".")[2] in controllers}
        reached -= {path.stem} | allowed.get(path.stem, set())
        if reached:
            offenders[path.stem] = sorted(reached)
    assert offenders == {}


def test_it_keeps_storage_below_the_loops_the_api_and_the_lessons():
    above = ("cluster_core.controllers", "cluster_core.api", "cluster_core.lessons", "cluster_core.shells",
             "cluster_core.actions", "cluster_core.workers", "cluster_core.ticker")
    storage = ["models.py", "writes.py", "feed.py", "events.py", "clock.py", "nudge.py", "jsoncolumn.py",
               "rowreader.py", "labels.py", "names.py"]
    offenders = {name: sorted(m for m in imported_modules(CORE / name) if m.startswith(above))
                 for name in storage if (CORE / name).exists()}
    assert {k: v for k, v in offenders.items() if v} == {}
