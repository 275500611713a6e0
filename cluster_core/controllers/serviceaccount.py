"""The service account controller (kube-controller-manager's `serviceaccount-controller`).

Key: a namespace name. Contract: every active namespace has a ServiceAccount named `default` — made when the
namespace appears, made again when someone deletes it. A terminating namespace gets none (the namespace controller
is emptying it). Running it twice changes nothing.
"""

from __future__ import annotations

from ..models import Namespace, Playground, ServiceAccount
from ..writes import Batch

# What can give this loop work: a resync skips it while no commit of these came (`workers.run_loop`).
WATCHES = frozenset({"Namespace", "ServiceAccount"})

ACTOR = "serviceaccount-controller"
DEFAULT = "default"


def keys(pg: Playground) -> list[str]:
    return list(Namespace.objects.filter(playground=pg).values_list("name", flat=True))


def wanted(namespace_live: bool, has_default: bool) -> bool:
    """Whether a `default` ServiceAccount must be made (pure)."""
    return namespace_live and not has_default


def reconcile(pg: Playground, key: str) -> int:
    ns = Namespace.objects.filter(playground=pg, name=key).first()
    live = ns is not None and ns.deletion_timestamp is None
    has = ServiceAccount.objects.filter(playground=pg, namespace=key, name=DEFAULT).exists()
    if not wanted(live, has):
        return 0
    b = Batch(pg, ACTOR)
    b.create(ServiceAccount(namespace=key, name=DEFAULT),
             f"{ACTOR} created ServiceAccount {DEFAULT} in namespace {key}")
    return b.commit()
