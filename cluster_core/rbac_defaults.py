"""The RBAC objects every cluster starts with (the apiserver's bootstrap policy, the few a course meets):
the user-facing ClusterRoles cluster-admin, admin, edit and view, and the bindings that make kubeadm's admin a
cluster admin. Data only; `bootstrap.seed` writes them."""

from __future__ import annotations

BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
AUTOUPDATE = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
RBAC_GROUP = "rbac.authorization.k8s.io"

_READ = ["get", "list", "watch"]
_WRITE = ["create", "delete", "deletecollection", "patch", "update"]
_WORKLOADS = [
    ("", ["configmaps", "endpoints", "persistentvolumeclaims", "pods", "replicationcontrollers", "services",
          "serviceaccounts"]),
    ("apps", ["daemonsets", "deployments", "replicasets", "statefulsets"]),
    ("batch", ["cronjobs", "jobs"]),
]


def _rules(verbs: list[str], secrets: bool) -> list[dict]:
    rules = [{"apiGroups": [group], "resources": resources + (["secrets"] if secrets and not group else []),
              "verbs": verbs} for group, resources in _WORKLOADS]
    rules.append({"apiGroups": [""], "resources": ["events", "namespaces"], "verbs": _READ})
    return rules


CLUSTER_ROLES = {
    "cluster-admin": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                      {"nonResourceURLs": ["*"], "verbs": ["*"]}],
    "admin": _rules(_READ + _WRITE, secrets=True)
    + [{"apiGroups": [RBAC_GROUP], "resources": ["rolebindings", "roles"], "verbs": _READ + _WRITE}],
    "edit": _rules(_READ + _WRITE, secrets=True),
    "view": _rules(_READ, secrets=False),
}

CLUSTER_ROLE_BINDINGS = {
    "cluster-admin": ("cluster-admin", "system:masters"),
    "kubeadm:cluster-admins": ("cluster-admin", "kubeadm:cluster-admins"),
}


def cluster_role(name: str) -> dict:
    return {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": dict(BOOTSTRAP_LABELS), "annotations": dict(AUTOUPDATE)},
            "rules": CLUSTER_ROLES[name]}


def cluster_role_binding(name: str) -> dict:
    role, group = CLUSTER_ROLE_BINDINGS[name]
    meta = {"name": name}
    if name == "cluster-admin":
        meta.update(labels=dict(BOOTSTRAP_LABELS), annotations=dict(AUTOUPDATE))
    return {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRoleBinding", "metadata": meta,
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": group}]}
