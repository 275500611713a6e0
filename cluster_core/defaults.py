"""Defaulting, as the apiserver does it before storing (what `describe` and `rollout undo` later compare)."""

from __future__ import annotations

import base64

from .models import KubeObject


def _image_pull_policy(image: str) -> str:
    tail = image.rsplit("/", 1)[-1]
    if "@" in tail:
        return "IfNotPresent"
    if ":" not in tail or tail.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def pod_spec(spec: dict) -> dict:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for c in spec.get("containers") or []:
        if not isinstance(c, dict):
            continue
        c.setdefault("resources", {})
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        if isinstance(c.get("image"), str):
            c.setdefault("imagePullPolicy", _image_pull_policy(c["image"]))
        for p in c.get("ports") or []:
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")
    return spec


def qos_class(spec: dict) -> str:
    """BestEffort without any request or limit; Guaranteed when every container's cpu and memory requests equal
    its limits (a missing request defaults to the limit); Burstable otherwise."""
    all_containers = [c for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])
                      if isinstance(c, dict)]
    guaranteed, any_set = True, False
    for c in all_containers:
        res = c.get("resources") or {}
        limits, requests = res.get("limits") or {}, res.get("requests") or {}
        any_set = any_set or any(k in limits or k in requests for k in ("cpu", "memory"))
        for k in ("cpu", "memory"):
            if k not in limits or str(requests.get(k, limits[k])) != str(limits[k]):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _template(spec: dict) -> None:
    tmpl = spec.setdefault("template", {})
    if isinstance(tmpl, dict):
        tmpl.setdefault("metadata", {})
        if isinstance(tmpl.get("spec"), dict):
            pod_spec(tmpl["spec"])


def deployment(spec: dict) -> None:
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    strategy = spec.get("strategy") or {}
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        ru.setdefault("maxUnavailable", "25%")
        ru.setdefault("maxSurge", "25%")
    spec["strategy"] = strategy
    _template(spec)


def daemonset(spec: dict) -> None:
    spec.setdefault("revisionHistoryLimit", 10)
    strategy = spec.get("updateStrategy") or {}
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        ru.setdefault("maxUnavailable", 1)
        ru.setdefault("maxSurge", 0)
    spec["updateStrategy"] = strategy
    _template(spec)


def service(spec: dict) -> None:
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    for p in spec.get("ports") or []:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")
            if "port" in p:
                p.setdefault("targetPort", p["port"])


# The status fields a new object carries although nothing has written them yet: Go's JSON encoding keeps the zero
# value of every status field without `omitempty`, and clients' models require them (the Python client refuses a
# DaemonSetStatus without its four counters).
ZERO_STATUS = {
    "DaemonSet": {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0},
    "ReplicaSet": {"replicas": 0},
    "ReplicationController": {"replicas": 0},
    "StatefulSet": {"replicas": 0, "availableReplicas": 0},
}


def zero_status(obj: KubeObject) -> None:
    zero = ZERO_STATUS.get(obj.KIND)
    if zero and isinstance(obj.status, dict):
        obj.status = {**zero, **obj.status}


def statefulset(spec: dict) -> None:
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = spec.get("updateStrategy") or {}
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
    spec["updateStrategy"] = strategy
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
    _template(spec)


JOB_UID_LABEL = "batch.kubernetes.io/controller-uid"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"


def job(spec: dict, uid: str, name: str) -> None:
    """SetDefaults_Job plus what the Job strategy adds on create: a selector on the Job's own uid, and the labels
    that make its pods match it (unless the user chose `manualSelector`)."""
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    tmpl = spec.setdefault("template", {})
    if isinstance(tmpl, dict) and not spec.get("manualSelector"):
        meta = tmpl.setdefault("metadata", {})
        if isinstance(meta, dict):
            meta["labels"] = {**(meta.get("labels") or {}), JOB_UID_LABEL: uid, JOB_NAME_LABEL: name,
                              "controller-uid": uid, "job-name": name}
        spec.setdefault("selector", {"matchLabels": {JOB_UID_LABEL: uid}})
    _template(spec)


def cronjob(spec: dict) -> None:
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_template = spec.setdefault("jobTemplate", {})
    if isinstance(job_template, dict):
        job_spec = job_template.setdefault("spec", {})
        if isinstance(job_spec, dict):
            _template(job_spec)


def replication_controller(obj: KubeObject, spec: dict) -> None:
    spec.setdefault("replicas", 1)
    tmpl_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not spec.get("selector") and tmpl_labels:
        spec["selector"] = dict(tmpl_labels)
    if not obj.labels and tmpl_labels:
        obj.labels = dict(tmpl_labels)
    _template(spec)


def secret(body: dict) -> None:
    """`stringData` is write-only: merged into `data` (base64), where it wins over a key of the same name."""
    body.setdefault("type", "Opaque")
    string_data = body.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = dict(body.get("data") or {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        body["data"] = data


def apply(obj: KubeObject) -> None:
    spec = obj.spec if isinstance(obj.spec, dict) else {}
    zero_status(obj)
    if obj.KIND == "StatefulSet":
        statefulset(spec)
    elif obj.KIND == "Job":
        job(spec, obj.uid, obj.name)
    elif obj.KIND == "CronJob":
        cronjob(spec)
    elif obj.KIND == "ReplicationController":
        replication_controller(obj, spec)
    elif obj.KIND == "Secret":
        secret(spec)
    if obj.KIND == "Deployment":
        deployment(spec)
    elif obj.KIND == "ReplicaSet":
        spec.setdefault("replicas", 1)
        _template(spec)
    elif obj.KIND == "DaemonSet":
        daemonset(spec)
    elif obj.KIND == "Pod":
        pod_spec(spec)
        obj.status = obj.status or {"phase": "Pending", "qosClass": qos_class(spec)}
    elif obj.KIND == "Service":
        service(spec)
        obj.status = obj.status or {"loadBalancer": {}}
    elif obj.KIND == "Namespace":
        spec.setdefault("finalizers", ["kubernetes"])
        obj.status = obj.status or {"phase": "Active"}
        obj.labels = {**(obj.labels or {}), "kubernetes.io/metadata.name": obj.name}
    elif obj.KIND == "Event":
        spec.setdefault("type", "Normal")
        spec.setdefault("count", 1)
