"""The garbage collector.

Key: "" (one unit: the whole playground). Contract: an object whose ownerReferences all name owners that no
longer exist is deleted (in the background; pods gracefully, unless their node is gone too); references to
vanished owners are dropped from objects that still have a live owner. An owner deleted in the foreground
(deletionTimestamp + the `foregroundDeletion` finalizer, see writes.do_delete) has its dependents deleted first —
those with dependents of their own in the foreground as well — and once no dependent that blocks owner deletion
is left, the finalizer is removed and the owner goes. Mirror pods owned by a Node are that Node's dependents.
Each reconcile reads every object's identity and ownerReferences once, decides with `plan` (pure) and commits
one batch; a cascade moves one level per reconcile, as the real collector does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .. import clock
from ..models import KINDS, Playground
from ..rowreader import Prepared
from ..writes import Batch, stage_delete

ACTOR = "garbage-collector"
FOREGROUND = "foregroundDeletion"
# Events are never owners nor dependents here.
KINDS_WATCHED = [m for k, m in KINDS.items() if k != "Event"]
_FIELDS = ["pk", "uid", "name", "owner_references", "deletion_timestamp", "finalizers"]
# Each kind's identities and ownership, compiled once: a rollout's deletions look again many times a second.
_IDENTITIES = {model: Prepared(lambda pg_id, model=model: model.objects.filter(playground_id=pg_id).values_list(
    *_FIELDS, *(["node_name"] if model.KIND == "Pod" else [])).order_by()) for model in KINDS_WATCHED}


def keys(pg: Playground) -> list[str]:
    return [""]


@dataclass
class Item:
    """What the collector needs to know of an object: who it is, who owns it, whether it is going."""

    kind: str
    pk: int
    uid: str
    name: str
    owners: list[dict] = field(default_factory=list)
    deleting: bool = False
    finalizers: list[str] = field(default_factory=list)
    node_name: str = ""

    @property
    def foreground(self) -> bool:
        return self.deleting and FOREGROUND in self.finalizers


def plan(items: list[Item], nodes: set[str]) -> dict[str, tuple[str, str]]:
    """Decide per object uid: ("delete" | "delete-foreground" | "drop-owners" | "finish", why).

    delete: its owners are all gone (or going in the foreground); delete-foreground: same, but it has
    dependents of its own, which must go first; drop-owners: forget owners that are gone while a live one
    remains; finish: a foreground deletion whose blocking dependents are gone removes its finalizer."""
    by_uid = {i.uid: i for i in items}
    dependents: dict[str, list[Item]] = defaultdict(list)
    for i in items:
        for ref in i.owners:
            dependents[ref.get("uid", "")].append(i)
    out: dict[str, tuple[str, str]] = {}
    for i in items:
        if i.foreground:
            blocking = [d for d in dependents[i.uid] if _blocks(d, i.uid)]
            if not blocking:
                out[i.uid] = ("finish", f"no dependent of {i.kind} {i.name} is left")
            continue
        if i.kind == "Pod" and i.deleting and i.node_name and i.node_name not in nodes:
            # Its kubelet is gone with its node: nobody would ever finish this termination (what podgc does).
            out[i.uid] = ("delete", f"its node {i.node_name} no longer exists")
            continue
        if i.deleting or not i.owners:
            continue
        gone, waiting, solid = [], [], []
        for ref in i.owners:
            owner = by_uid.get(ref.get("uid", ""))
            if owner is None:
                gone.append(ref)
            elif owner.foreground:
                waiting.append(ref)
            else:
                solid.append(ref)
        if solid:
            if gone or waiting:
                names = ", ".join(f"{r.get('kind')} {r.get('name')}" for r in gone + waiting)
                out[i.uid] = ("drop-owners", f"its owners {names} are deleted; it keeps its other owners")
        elif waiting and dependents[i.uid]:
            ref = waiting[0]
            out[i.uid] = ("delete-foreground", f"its owner {ref.get('kind')} {ref.get('name')} is being deleted "
                                               "in the foreground, and it has dependents of its own")
        elif waiting:
            ref = waiting[0]
            out[i.uid] = ("delete", f"its owner {ref.get('kind')} {ref.get('name')} is being deleted in the "
                                    "foreground")
        else:
            ref = gone[0]
            out[i.uid] = ("delete", f"its owner {ref.get('kind')} {ref.get('name')} no longer exists")
    return out


def _blocks(dependent: Item, owner_uid: str) -> bool:
    return any(r.get("uid") == owner_uid and r.get("blockOwnerDeletion") for r in dependent.owners)


def observe(pg: Playground) -> tuple[list[Item], set[str]]:
    """Every object's identity and ownership, one query per kind, without loading specs and statuses."""
    items = []
    for model in KINDS_WATCHED:
        is_pod = model.KIND == "Pod"
        for row in _IDENTITIES[model](pg.pk):
            items.append(Item(model.KIND, row[0], row[1], row[2], list(row[3] or []), row[4] is not None,
                              list(row[5] or []), row[6] if is_pod else ""))
    nodes = {i.name for i in items if i.kind == "Node"}
    return items, nodes


def reconcile(pg: Playground, key: str = "") -> int:
    items, nodes = observe(pg)
    decisions = plan(items, nodes)
    if not decisions:
        return 0
    by_uid = {i.uid: i for i in items}
    wanted: dict[str, list[int]] = defaultdict(list)
    for uid in decisions:
        wanted[by_uid[uid].kind].append(by_uid[uid].pk)
    b = Batch(pg, ACTOR)
    now = clock.now()
    for kind, pks in wanted.items():
        for obj in KINDS[kind].objects.filter(pk__in=pks).order_by("pk"):
            action, why = decisions[obj.uid]
            _apply(b, obj, action, why, by_uid, nodes, now)
    b.commit()
    return len(b)


def _apply(b: Batch, obj, action: str, why: str, by_uid: dict[str, Item], nodes: set[str], now) -> None:
    what = f"{obj.KIND} {obj.key}"
    if action == "drop-owners":
        obj.owner_references = [r for r in obj.owner_references
                                if r.get("uid") in by_uid and not by_uid[r.get("uid")].foreground]
        b.update(obj, f"{ACTOR} removed owner references from {what}: {why}")
    elif action == "delete":
        node_gone = obj.KIND == "Pod" and bool(obj.node_name) and obj.node_name not in nodes
        if obj.deletion_timestamp is not None:
            if not obj.finalizers:
                b.delete(obj, f"{ACTOR} deleted {what}: {why}")
        else:
            stage_delete(b, obj, f"{ACTOR} deleted {what}: {why}", node_gone=node_gone)
    elif action == "delete-foreground":
        obj.deletion_timestamp = now
        obj.deletion_grace_period_seconds = 0
        obj.finalizers = [*obj.finalizers, FOREGROUND]
        b.update(obj, f"{ACTOR} is deleting {what} in the foreground: {why}")
    elif action == "finish":
        obj.finalizers = [f for f in obj.finalizers if f != FOREGROUND]
        if obj.finalizers or (obj.KIND == "Pod" and obj.node_name and obj.node_name in nodes):
            # Another finalizer still holds it, or its kubelet still has to stop the containers.
            b.update(obj, f"{ACTOR} removed the {FOREGROUND} finalizer of {what}: {why}")
        else:
            b.delete(obj, f"{ACTOR} deleted {what}: {why}, the foreground deletion is complete")

