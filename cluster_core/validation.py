"""Validation as Kubernetes does it, plus the playground's caps. Errors are `Invalid` with causes."""

from __future__ import annotations

import re

from . import labels
from .errors import Invalid, cause
from .models import KubeObject, Node, Playground, Pod

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
# metadata.annotations: keys and values together (apimachinery's TotalAnnotationSizeLimitB).
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
IANA_SVC_NAME = re.compile(r"^[-a-z0-9]+$")
# Kinds whose names are DNS-1123 labels rather than subdomains.
LABEL_NAMED = {"Namespace", "Service"}


def name_causes(field: str, value, label: bool = False) -> list[dict]:
    if not isinstance(value, str) or not value:
        return [cause(field, "Required value: name or generateName is required", "FieldValueRequired")]
    limit = 63 if label else 253
    if len(value) > limit:
        return [cause(field, f'Invalid value: "{value}": must be no more than {limit} characters')]
    rx, msg = (DNS1123_LABEL, LABEL_MSG) if label else (DNS1123_SUBDOMAIN, SUBDOMAIN_MSG)
    if not rx.match(value):
        return [cause(field, f'Invalid value: "{value}": {msg}')]
    return []


def path_segment_causes(field: str, value) -> list[dict]:
    """RBAC objects are named by any path segment (`kubeadm:cluster-admins`, `system:masters`)."""
    if not isinstance(value, str) or not value:
        return [cause(field, "Required value: name or generateName is required", "FieldValueRequired")]
    if value in (".", ".."):
        return [cause(field, f'Invalid value: "{value}": may not be \'{value}\'')]
    for bad in ("/", "%"):
        if bad in value:
            return [cause(field, f'Invalid value: "{value}": may not contain \'{bad}\'')]
    return []


def label_causes(field: str, mapping) -> list[dict]:
    out = []
    if mapping in (None, {}):
        return out
    if not isinstance(mapping, dict):
        return [cause(field, "Invalid value: must be a map of string keys to string values")]
    for k, v in mapping.items():
        name = k.rsplit("/", 1)[-1]
        prefix = k[: -len(name) - 1] if "/" in k else ""
        if not QUALIFIED_NAME.match(name) or len(name) > 63 or (prefix and not DNS1123_SUBDOMAIN.match(prefix)):
            out.append(cause(field, f'Invalid value: "{k}": name part must consist of alphanumeric characters, '
                                    "'-', '_' or '.', and must start and end with an alphanumeric character"))
        if not isinstance(v, str) or len(v) > 63 or not LABEL_VALUE.match(v):
            out.append(cause(f"{field}", f'Invalid value: "{v}": a valid label must be an empty string or consist '
                                         "of alphanumeric characters, '-', '_' or '.', and must start and end with "
                                         "an alphanumeric character"))
    return out


def annotation_causes(field: str, mapping) -> list[dict]:
    if not isinstance(mapping, dict):
        return [cause(field, "Invalid value: must be a map")]
    total = sum(len(str(k)) + len(v if isinstance(v, str) else str(v)) for k, v in mapping.items())
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        return [cause(field, f"Too long: must have at most {TOTAL_ANNOTATION_SIZE_LIMIT} bytes",
                      "FieldValueTooLong")]
    return []


def port_name_causes(field: str, value) -> list[dict]:
    """A container port's name: an IANA_SVC_NAME (apimachinery's IsValidPortName)."""
    if not isinstance(value, str) or value == "":
        return []
    problems = []
    if len(value) > 15:
        problems.append("must be no more than 15 characters")
    if not IANA_SVC_NAME.match(value):
        problems.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in value:
        problems.append("must not contain consecutive hyphens")
    if not any("a" <= ch <= "z" for ch in value):
        problems.append("must contain at least one letter (a-z)")
    if value.startswith("-") or value.endswith("-"):
        problems.append("must not begin or end with a hyphen")
    return [cause(field, f'Invalid value: "{value}": {p}') for p in problems]


def pod_spec_causes(field: str, spec) -> list[dict]:
    if not isinstance(spec, dict):
        return [cause(field, "Required value", "FieldValueRequired")]
    containers = spec.get("containers")
    if not containers or not isinstance(containers, list):
        return [cause(f"{field}.containers", "Required value", "FieldValueRequired")]
    out: list[dict] = []
    seen = set()
    for i, c in enumerate(containers):
        f = f"{field}.containers[{i}]"
        if not isinstance(c, dict):
            out.append(cause(f, "Invalid value: must be an object"))
            continue
        out += name_causes(f"{f}.name", c.get("name"), label=True) if c.get("name") else [
            cause(f"{f}.name", "Required value", "FieldValueRequired")]
        if c.get("name") in seen:
            out.append(cause(f"{f}.name", f'Duplicate value: "{c.get("name")}"', "FieldValueDuplicate"))
        seen.add(c.get("name"))
        image = c.get("image")
        if not isinstance(image, str) or not image.strip():
            out.append(cause(f"{f}.image", "Required value", "FieldValueRequired"))
        elif image != image.strip() or any(ch.isspace() for ch in image):
            out.append(cause(f"{f}.image", f'Invalid value: "{image}": must not have leading or trailing whitespace'))
        for j, p in enumerate(c.get("ports") or []):
            cp = p.get("containerPort") if isinstance(p, dict) else None
            if not isinstance(cp, int) or not 0 < cp < 65536:
                out.append(cause(f"{f}.ports[{j}].containerPort",
                                 f"Invalid value: {cp}: must be between 1 and 65535, inclusive"))
            if isinstance(p, dict):
                out += port_name_causes(f"{f}.ports[{j}].name", p.get("name"))
    return out


def replicas_causes(pg: Playground, field: str, replicas) -> list[dict]:
    if not isinstance(replicas, int) or isinstance(replicas, bool):
        return [cause(field, f"Invalid value: {replicas!r}: must be an integer", "FieldValueTypeInvalid")]
    if replicas < 0:
        return [cause(field, f"Invalid value: {replicas}: must be greater than or equal to 0")]
    if replicas > pg.max_pods:
        return [cause(field, f"Invalid value: {replicas}: must be no more than {pg.max_pods} "
                             f"(this playground's pod cap, max_pods)")]
    return []


def workload_causes(pg: Playground, obj: KubeObject) -> list[dict]:
    spec = obj.spec if isinstance(obj.spec, dict) else {}
    out = [] if obj.KIND == "DaemonSet" else replicas_causes(pg, "spec.replicas", spec.get("replicas", 1))
    sel = spec.get("selector")
    tmpl = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    tlabels = (tmpl.get("metadata") or {}).get("labels") or {}
    if not sel or not (sel.get("matchLabels") or sel.get("matchExpressions")):
        out.append(cause("spec.selector", "Required value", "FieldValueRequired"))
    else:
        try:
            ok = labels.selector_matches(sel, tlabels)
        except Exception:
            ok = False
        if not ok:
            out.append(cause("spec.template.metadata.labels",
                             f"Invalid value: {tlabels!r}: `selector` does not match template `labels`"))
    out += label_causes("spec.template.metadata.labels", tlabels)
    out += pod_spec_causes("spec.template.spec", tmpl.get("spec"))
    strategy = spec.get("strategy") or {}
    if obj.KIND == "Deployment" and strategy.get("type") not in ("RollingUpdate", "Recreate"):
        out.append(cause("spec.strategy.type", f'Unsupported value: "{strategy.get("type")}": supported values: '
                                               '"Recreate", "RollingUpdate"', "FieldValueNotSupported"))
    update = spec.get("updateStrategy") or {}
    if obj.KIND == "DaemonSet" and update.get("type") not in ("RollingUpdate", "OnDelete"):
        out.append(cause("spec.updateStrategy.type", f'Unsupported value: "{update.get("type")}": supported values: '
                                                     '"OnDelete", "RollingUpdate"', "FieldValueNotSupported"))
    if obj.KIND == "DaemonSet" and (tmpl.get("spec") or {}).get("restartPolicy", "Always") != "Always":
        out.append(cause("spec.template.spec.restartPolicy",
                         f'Unsupported value: "{tmpl["spec"]["restartPolicy"]}": supported values: "Always"',
                         "FieldValueNotSupported"))
    return out


def replication_controller_causes(pg: Playground, spec: dict) -> list[dict]:
    out = replicas_causes(pg, "spec.replicas", spec.get("replicas", 1))
    selector = spec.get("selector")
    tmpl = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    tlabels = (tmpl.get("metadata") or {}).get("labels") or {}
    if not isinstance(selector, dict) or not selector:
        out.append(cause("spec.selector", "Required value", "FieldValueRequired"))
    elif any(tlabels.get(k) != v for k, v in selector.items()):
        out.append(cause("spec.template.metadata.labels",
                         f"Invalid value: {tlabels!r}: `selector` does not match template `labels`"))
    out += pod_spec_causes("spec.template.spec", tmpl.get("spec"))
    return out


def job_causes(field: str, spec) -> list[dict]:
    if not isinstance(spec, dict):
        return [cause(field, "Invalid value: must be an object")]
    out = []
    for key in ("parallelism", "completions", "backoffLimit"):
        value = spec.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            out.append(cause(f"{field}.{key}", f"Invalid value: {value!r}: must be greater than or equal to 0"))
    tmpl = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    pod = tmpl.get("spec")
    policy = (pod or {}).get("restartPolicy") if isinstance(pod, dict) else None
    if policy not in ("OnFailure", "Never"):
        out.append(cause(f"{field}.template.spec.restartPolicy",
                         'Required value: valid values: "OnFailure", "Never"', "FieldValueRequired"))
    out += pod_spec_causes(f"{field}.template.spec", pod)
    return out


def cronjob_causes(spec: dict) -> list[dict]:
    from . import cron

    out = []
    schedule = spec.get("schedule")
    if not schedule:
        out.append(cause("spec.schedule", "Required value", "FieldValueRequired"))
    else:
        problem = cron.problem(str(schedule))
        if problem:
            out.append(cause("spec.schedule", f"Invalid value: {schedule!r}: {problem}"))
    job_spec = (spec.get("jobTemplate") or {}).get("spec")
    out += job_causes("spec.jobTemplate.spec", job_spec)
    return out


def secret_causes(body: dict) -> list[dict]:
    import base64
    import binascii

    out = []
    for key, value in (body.get("data") or {}).items():
        try:
            base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            out.append(cause(f"data[{key}]", "Invalid value: illegal base64 data"))
    return out


def service_causes(obj: KubeObject) -> list[dict]:
    spec = obj.spec if isinstance(obj.spec, dict) else {}
    out = []
    if spec.get("type") not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
        out.append(cause("spec.type", f'Unsupported value: "{spec.get("type")}": supported values: "ClusterIP", '
                                      '"ExternalName", "LoadBalancer", "NodePort"', "FieldValueNotSupported"))
    ports = spec.get("ports") or []
    if not ports and spec.get("type") != "ExternalName":
        out.append(cause("spec.ports", "Required value", "FieldValueRequired"))
    for i, p in enumerate(ports):
        port = p.get("port") if isinstance(p, dict) else None
        if not isinstance(port, int) or not 0 < port < 65536:
            out.append(cause(f"spec.ports[{i}].port", f"Invalid value: {port}: must be between 1 and 65535, inclusive"))
        if isinstance(p, dict) and p.get("protocol", "TCP") not in ("TCP", "UDP", "SCTP"):
            out.append(cause(f"spec.ports[{i}].protocol", f'Unsupported value: "{p.get("protocol")}"',
                             "FieldValueNotSupported"))
        if len(ports) > 1 and isinstance(p, dict) and not p.get("name"):
            out.append(cause(f"spec.ports[{i}].name", "Required value", "FieldValueRequired"))
        if isinstance(p, dict) and p.get("name"):
            out += name_causes(f"spec.ports[{i}].name", p["name"], label=True)
    out += label_causes("spec.selector", spec.get("selector"))
    return out


def check(pg: Playground, obj: KubeObject, old_spec: dict | None = None) -> None:
    if obj.GROUP == "rbac.authorization.k8s.io":
        causes = path_segment_causes("metadata.name", obj.name)
    else:
        causes = name_causes("metadata.name", obj.name, label=obj.KIND in LABEL_NAMED)
    if obj.NAMESPACED and obj.namespace:
        causes += name_causes("metadata.namespace", obj.namespace, label=True)
    causes += label_causes("metadata.labels", obj.labels)
    causes += annotation_causes("metadata.annotations", obj.annotations)
    if not isinstance(obj.spec, dict):
        causes.append(cause("spec", "Invalid value: must be an object"))
    elif obj.KIND in ("Deployment", "ReplicaSet", "DaemonSet"):
        causes += workload_causes(pg, obj)
        if obj.KIND in ("Deployment", "DaemonSet") and old_spec and old_spec.get("selector") and obj.spec.get("selector") != old_spec.get("selector"):
            causes.append(cause("spec.selector", f"Invalid value: {obj.spec.get('selector')!r}: field is immutable"))
    elif obj.KIND == "StatefulSet":
        causes += workload_causes(pg, obj)
    elif obj.KIND == "ReplicationController":
        causes += replication_controller_causes(pg, obj.spec)
    elif obj.KIND == "Job":
        causes += job_causes("spec", obj.spec)
    elif obj.KIND == "CronJob":
        causes += cronjob_causes(obj.spec)
    elif obj.KIND == "Secret":
        causes += secret_causes(obj.spec)
    elif obj.KIND == "Pod":
        causes += pod_spec_causes("spec", obj.spec)
    elif obj.KIND == "Service":
        causes += service_causes(obj)
    if causes:
        raise Invalid(obj.KIND, obj.GROUP, obj.name, causes)


def check_caps(pg: Playground, obj: KubeObject) -> None:
    """The playground's caps: a classroom server must not be sunk by one `scale --replicas=1000000`."""
    from .errors import Forbidden

    if obj.KIND == "Pod" and Pod.objects.filter(playground=pg).count() >= pg.max_pods:
        raise Forbidden(f'pods "{obj.name}" is forbidden: this playground already has its maximum of '
                        f"{pg.max_pods} pods (cap max_pods)")
    if obj.KIND == "Node" and Node.objects.filter(playground=pg).count() >= pg.max_nodes:
        raise Forbidden(f'nodes "{obj.name}" is forbidden: this playground already has its maximum of '
                        f"{pg.max_nodes} nodes (cap max_nodes)")
    if obj.KIND not in ("Pod", "Event", "Node"):
        from .models import KINDS

        total = sum(m.objects.filter(playground=pg).count() for k, m in KINDS.items() if k not in ("Pod", "Event"))
        if total >= pg.max_objects:
            raise Forbidden(f'{obj.PLURAL} "{obj.name}" is forbidden: this playground already stores its maximum '
                            f"of {pg.max_objects} objects (cap max_objects)")
