"""Which nodes a pod may run on, as far as its spec says: taints against tolerations, the nodeSelector and the
required node affinity. Pure functions over plain dicts, shared by the scheduler (which places pods) and the
DaemonSet controller (which decides, node by node, whether its pod belongs there).
"""

from __future__ import annotations


def tolerates(toleration: dict, taint: dict) -> bool:
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("operator", "Equal") == "Exists":
        # An empty key with Exists tolerates every taint.
        return not toleration.get("key") or toleration["key"] == taint.get("key")
    return toleration.get("key") == taint.get("key") and (toleration.get("value") or "") == (taint.get("value") or "")


def tolerated(pod_spec: dict, taint: dict) -> bool:
    return any(tolerates(t, taint) for t in pod_spec.get("tolerations") or [] if isinstance(t, dict))


def expression_matches(expr: dict, value, present: bool) -> bool:
    op, values = expr.get("operator"), expr.get("values") or []
    if op == "In":
        return present and value in values
    if op == "NotIn":
        return not present or value not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and values:
        try:
            have, want = int(value), int(values[0])
        except (TypeError, ValueError):
            return False
        return have > want if op == "Gt" else have < want
    return False


def node_term_matches(term: dict, node_name: str, node_labels: dict) -> bool:
    for expr in term.get("matchExpressions") or []:
        if not expression_matches(expr, node_labels.get(expr.get("key")), expr.get("key") in node_labels):
            return False
    for expr in term.get("matchFields") or []:
        # metadata.name is the only field Kubernetes supports here.
        if expr.get("key") == "metadata.name" and not expression_matches(expr, node_name, True):
            return False
    return True


def required_terms(pod_spec: dict) -> list[dict]:
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    return [t for t in required.get("nodeSelectorTerms") or [] if isinstance(t, dict)]


def matches_node_selector(pod_spec: dict, node_name: str, node_labels: dict) -> bool:
    """The nodeSelector and the required node affinity (terms ORed, expressions inside a term ANDed)."""
    for k, v in (pod_spec.get("nodeSelector") or {}).items():
        if node_labels.get(k) != v:
            return False
    terms = required_terms(pod_spec)
    return not terms or any(node_term_matches(t, node_name, node_labels) for t in terms)


def pinned_node(pod_spec: dict) -> str:
    """The node a pod is meant for before it is bound: its `nodeName`, or the single node its required affinity
    names by `matchFields metadata.name In [node]` (how the DaemonSet controller creates its pods)."""
    if pod_spec.get("nodeName"):
        return pod_spec["nodeName"]
    for term in required_terms(pod_spec):
        for expr in term.get("matchFields") or []:
            values = expr.get("values") or []
            if expr.get("key") == "metadata.name" and expr.get("operator") == "In" and len(values) == 1:
                return values[0]
    return ""


def pin_to_node(affinity: dict | None, node_name: str) -> dict:
    """The pod's affinity with its required node affinity replaced by one term selecting `node_name` by name (the
    DaemonSet controller's ReplaceDaemonSetPodNodeNameNodeAffinity); preferred terms and pod affinities stay."""
    affinity = dict(affinity or {})
    node_affinity = dict(affinity.get("nodeAffinity") or {})
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}]}
    affinity["nodeAffinity"] = node_affinity
    return affinity
