"""Field selectors (`metadata.name=x,status.phase!=Succeeded`): parsed generically, evaluated on the served JSON."""

from __future__ import annotations

from ..errors import BadRequest

# Where a field selector key lives in the object when it is not the literal dotted path.
ALIASES = {"metadata.namespace": ("metadata", "namespace"), "metadata.name": ("metadata", "name")}


def parse(text: str | None) -> list[tuple[str, str, str]]:
    out = []
    for term in (text or "").split(","):
        term = term.strip()
        if not term:
            continue
        for op in ("!=", "==", "="):
            if op in term:
                key, value = term.split(op, 1)
                out.append((key.strip(), "!=" if op == "!=" else "=", value.strip()))
                break
        else:
            raise BadRequest(f'invalid selector: \'{text}\'; can\'t understand \'{term}\'')
    return out


# The fields each kind's registry accepts in a field selector, besides metadata.name and metadata.namespace
# (the apiserver's GetAttrs / AddFieldLabelConversionFunc); anything else is a 400.
FIELDS = {
    "Pod": {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
            "spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs", "status.nominatedNodeName"},
    "Node": {"spec.unschedulable"},
    "Namespace": {"status.phase"},
    "Secret": {"type"},
    "ReplicaSet": {"status.replicas"},
    "ReplicationController": {"status.replicas"},
    "Job": {"status.successful"},
    "Service": {"spec.clusterIP", "spec.type"},
    "Event": {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
              "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
              "reportingComponent", "source", "type"},
    "CertificateSigningRequest": {"spec.signerName"},
}


def check_fields(reqs, kind: str) -> None:
    allowed = FIELDS.get(kind, set())
    for key, _op, _value in reqs:
        if key not in ("metadata.name", "metadata.namespace") and key not in allowed:
            raise BadRequest(f'field label not supported: {key}')


def value_at(obj: dict, dotted: str):
    cur = obj
    for part in ALIASES.get(dotted, tuple(dotted.split("."))):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def matches(reqs, obj: dict) -> bool:
    for key, op, value in reqs:
        have = value_at(obj, key)
        if (op == "=") != (have == value):
            return False
    return True


def equality_value(reqs, key: str) -> str | None:
    """The value a selector pins a key to (`metadata.name=x`), for a narrower database query."""
    for k, op, v in reqs:
        if k == key and op == "=":
            return v
    return None
