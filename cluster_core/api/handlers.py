"""The verbs of the Kubernetes API on one playground: get, list, create, update, patch, delete, deletecollection,
plus the subresources we serve (status, scale, binding, log, proxy). Synchronous; `views` calls them from a
thread and streams watches itself. Every write goes through `cluster_core.writes`."""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
from dataclasses import dataclass, field

from .. import clock, labels, writes
from ..errors import ApiError, BadRequest, Invalid, MethodNotAllowed, NotFound, cause
from ..models import LogLine, Playground
from . import bodies, selectors
from .resources import NODE_LEASE_NAMESPACE, Resource, render, render_body


@dataclass
class Call:
    """One API request, parsed."""

    pg: Playground
    method: str
    resource: Resource | None
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    subpath: str = ""
    query: dict = field(default_factory=dict)
    body: bytes = b""
    content_type: str = ""
    accept: str = ""
    actor: str = "client"

    @property
    def dry_run(self) -> bool:
        return "All" in (self.query.get("dryRun") or "")

    @property
    def as_table(self) -> bool:
        return "as=Table" in self.accept


@dataclass
class Reply:
    status: int
    body: object  # dict → JSON, str → text/plain
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)


def actor_of(headers: dict) -> str:
    """Who made a client's request, as the story names it. Headers are the client's word: they may name the
    kubectl command or the client program, never make a write look like a cluster component's, so the name is
    always `kubectl …` or marked `client …`."""
    cmd = _printable(headers.get("kubectl-command", ""))
    if cmd == "kubectl" or cmd.startswith("kubectl "):
        return cmd
    ua = headers.get("user-agent", "")
    if ua.startswith("OpenAPI-Generator"):
        return "python client"
    name = _printable(ua.split("/", 1)[0])
    if name == "kubectl":
        return name
    return f"client {name}" if name else "client"


def _printable(text: str, limit: int = 64) -> str:
    """One short line: no control characters (a header could carry a line break into the story or a log)."""
    return "".join(ch for ch in str(text)[:limit] if ch.isprintable()).strip()


# ---------------------------------------------------------------------------------------------------------------
# reading


def _queryset(call: Call):
    res = call.resource
    qs = res.model.objects.filter(playground=call.pg)
    if res.kind == "Lease":
        # Node leases, one per node, all in kube-node-lease; the Node rows themselves have no namespace.
        if call.namespace not in ("", NODE_LEASE_NAMESPACE):
            qs = qs.none()
    elif res.namespaced and call.namespace:
        qs = qs.filter(namespace=call.namespace)
    fsel = selectors.parse(call.query.get("fieldSelector"))
    pinned = selectors.equality_value(fsel, "metadata.name")
    if pinned is not None and not res.derived:
        qs = qs.filter(name=pinned)
    node = selectors.equality_value(fsel, "spec.nodeName")
    if node is not None and res.kind == "Pod":
        qs = qs.filter(node_name=node)
    return qs.order_by("namespace", "name"), fsel


def filters(call: Call):
    lsel = labels.parse_selector(call.query.get("labelSelector"))
    fsel = selectors.parse(call.query.get("fieldSelector"))
    selectors.check_fields(fsel, call.resource.kind)

    def ok(obj: dict) -> bool:
        return labels.matches(lsel, (obj.get("metadata") or {}).get("labels")) and selectors.matches(fsel, obj)

    return ok


def list_objects(call: Call) -> tuple[list[dict], int, str]:
    """Matching objects, the list's resourceVersion, and a continue token when `limit` cut the list."""
    revision = Playground.objects.values_list("revision", flat=True).get(pk=call.pg.pk)
    qs, _ = _queryset(call)
    after = None
    if call.query.get("continue"):
        after, revision = _read_continue(call.query["continue"], revision)
    if after:
        from django.db.models import Q

        qs = qs.filter(Q(namespace__gt=after[0]) | Q(namespace=after[0], name__gt=after[1]))
    ok = filters(call)
    limit = query_int(call.query, "limit")
    out, token = [], ""
    for obj in qs.iterator(chunk_size=2000):
        body = render(call.resource, obj)
        if not ok(body):
            continue
        if limit and len(out) == limit:
            last = out[-1]["metadata"]
            token = _continue_token(last.get("namespace", ""), last["name"], revision)
            break
        out.append(body)
    return out, revision, token


def query_int(query: dict, key: str, default: int = 0) -> int:
    """An integer query parameter; anything else is the 400 the apiserver's parameter decoding answers."""
    text = query.get(key)
    if text in (None, ""):
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f'strconv.ParseInt: parsing "{text}": invalid syntax') from None
    if not -(2**63) <= value < 2**63:
        raise BadRequest(f'strconv.ParseInt: parsing "{text}": value out of range')
    return value


def _continue_token(namespace: str, name: str, revision: int) -> str:
    """An opaque continue token: where the list stopped and at which revision, signed so a client cannot
    choose the resourceVersion the next page reports."""
    payload = json.dumps({"ns": namespace, "name": name, "rv": revision}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload + b"." + _signature(payload)).decode()


def _signature(payload: bytes) -> bytes:
    import hashlib
    import hmac

    from django.conf import settings

    return hmac.new(settings.SECRET_KEY.encode(), b"continue:" + payload, hashlib.sha256).hexdigest()[:32].encode()


def _read_continue(token: str, current: int) -> tuple[tuple[str, str], int]:
    import hmac

    bad = BadRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
    try:
        raw = base64.urlsafe_b64decode(token.encode())
        payload, _, signature = raw.rpartition(b".")
        if not payload or not hmac.compare_digest(signature, _signature(payload)):
            raise bad
        data = json.loads(payload)
        after, revision = (str(data["ns"]), str(data["name"])), int(data["rv"])
    except (ValueError, KeyError, TypeError):
        raise bad from None
    if not 0 < revision <= current:
        raise bad
    return after, revision


def table_reply(call: Call, kind: str, items: list[dict], revision: int, token: str = "") -> Reply:
    from . import tables

    table = tables.build_table(kind, items, clock.now(), include_object=call.query.get("includeObject") or "Metadata",
                               resource_version=str(revision), continue_token=token)
    return Reply(200, table)


def do_list(call: Call) -> Reply:
    items, revision, token = list_objects(call)
    if call.as_table:
        return table_reply(call, call.resource.kind, items, revision, token)
    meta = {"resourceVersion": str(revision)}
    if token:
        meta["continue"] = token
    return Reply(200, {"kind": f"{call.resource.kind}List", "apiVersion": call.resource.api_version,
                       "metadata": meta, "items": items})


def get_model(call: Call):
    res = call.resource
    if res.kind == "EndpointSlice":
        base = call.name.rsplit("-", 1)[0]
        obj = writes.get_object(call.pg, res.model_kind, call.namespace, base) if base else None
        if obj is None or render(res, obj)["metadata"]["name"] != call.name:
            raise NotFound.of(res.plural, res.group, call.name)
        return obj
    if res.kind == "Lease" and call.namespace != NODE_LEASE_NAMESPACE:
        raise NotFound.of(res.plural, res.group, call.name)
    try:
        return writes.get_object(call.pg, res.model_kind, call.namespace, call.name)
    except NotFound:
        raise NotFound.of(res.plural, res.group, call.name) from None


# etcd's request size limit: an object larger than this is refused as the apiserver relays etcd's refusal.
MAX_OBJECT_BYTES = 3 * 1024 * 1024 // 2


def _within_limits(body: dict) -> None:
    size = len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "replace"))
    if size > MAX_OBJECT_BYTES:
        raise bodies.RequestEntityTooLarge(message="etcdserver: request is too large")


def do_get(call: Call) -> Reply:
    obj = get_model(call)
    body = render(call.resource, obj)
    if call.as_table:
        return table_reply(call, call.resource.kind, [body], obj.resource_version)
    return Reply(200, body)


# ---------------------------------------------------------------------------------------------------------------
# writing


def _check_writable(call: Call) -> None:
    if call.resource.derived:
        raise MethodNotAllowed(f"{call.resource.qualified} are read-only in this playground: they are derived from "
                               f"{call.resource.model_kind}")


def _strict(call: Call, body: dict) -> dict:
    """Check the body against the real schema. A mistyped field is always Invalid (422, naming the field).
    An unknown field of a built-in kind is dropped, never stored: with a `Warning` response header (the default,
    fieldValidation=Warn), silently (Ignore), or the whole request refused (Strict, 400 strict decoding error).
    Returns the response headers to add."""
    from . import fieldcheck, schemas

    mode = call.query.get("fieldValidation", "") or "Warn"
    if mode not in ("Strict", "Warn", "Ignore"):
        raise BadRequest(f'fieldValidation must be one of "Ignore", "Warn", or "Strict", got "{mode}"')
    try:
        causes = fieldcheck.drop_unknown_fields(body) if mode != "Strict" else fieldcheck.check(body)
    except schemas.SchemaNotFound:
        return {}
    mistyped = [c for c in causes if c["reason"] != "FieldValueNotFound"]
    if mistyped:
        meta = body.get("metadata") or {}
        raise Invalid(call.resource.kind, call.resource.group, meta.get("name", call.name), mistyped)
    if causes and mode == "Strict":
        raise BadRequest(fieldcheck.bad_request_message(causes, kind=body.get("kind"),
                                                        version=call.resource.version))
    if causes and mode == "Warn":
        return {"Warning": warning_header([c["message"] for c in causes])}
    return {}


def warning_header(texts: list[str]) -> str:
    """RFC 7234 warnings, code 299, as the apiserver sends them (kubectl prints each as `Warning: <text>`);
    several in one header, comma-separated. Each text a quoted string in ASCII: a field name from the body can
    carry neither a line break into the header nor characters it cannot hold."""
    return ", ".join(f"299 - {json.dumps(t[:MAX_WARNING_TEXT])}" for t in texts[:MAX_WARNINGS])


# The apiserver caps the warnings of one response too.
MAX_WARNINGS = 50
MAX_WARNING_TEXT = 256


def _prepare(call: Call, body: dict) -> dict:
    res = call.resource
    for key in ("kind", "apiVersion"):
        if body.get(key) is None:
            body.pop(key, None)
        elif not isinstance(body[key], str):
            raise BadRequest(f"json: cannot unmarshal {type(body[key]).__name__} into Go struct field "
                             f".{key} of type string")
    if body.get("kind") and body["kind"] != res.kind:
        raise BadRequest(f'the kind "{body["kind"]}" of the body does not match the resource "{res.plural}"')
    if body.get("apiVersion") and body["apiVersion"] != res.api_version:
        raise BadRequest(f'the API version in the data ({body["apiVersion"]}) does not match the expected API '
                         f"version ({res.api_version})")
    body.setdefault("kind", res.kind)
    body.setdefault("apiVersion", res.api_version)
    meta = body.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise BadRequest("metadata must be an object")
    if res.namespaced:
        if meta.get("namespace") and call.namespace and meta["namespace"] != call.namespace:
            raise BadRequest("the namespace of the provided object does not match the namespace sent on the request")
        meta["namespace"] = call.namespace or meta.get("namespace") or "default"
    return body


def do_create(call: Call) -> Reply:
    _check_writable(call)
    if call.subresource:
        return subresource_post(call)
    body = _prepare(call, bodies.decode_object(call.body, call.content_type))
    warnings = _strict(call, body)
    _within_limits(body)
    obj = writes.do_create(call.pg, body, call.actor, namespace=call.namespace, dry_run=call.dry_run,
                           message=f"{call.actor} → kube-apiserver stored {body['kind']} "
                                   f"{call.namespace + '/' if call.namespace else ''}{body['metadata'].get('name', '')}"
                                   " in etcd")
    return Reply(201, render(call.resource, obj), headers=warnings)


def do_update(call: Call) -> Reply:
    _check_writable(call)
    if call.subresource == "scale":
        return scale_write(call, bodies.decode_object(call.body, call.content_type))
    body = _prepare(call, bodies.decode_object(call.body, call.content_type))
    if call.subresource not in ("", "status"):
        raise MethodNotAllowed(f"the subresource {call.subresource} does not support update")
    name = (body.get("metadata") or {}).get("name")
    if name and name != call.name:
        raise BadRequest("the name of the object does not match the name on the URL")
    body["metadata"]["name"] = call.name
    warnings = _strict(call, body)
    _within_limits(body)
    obj = writes.do_update(call.pg, body, call.actor, namespace=call.namespace, subresource=call.subresource,
                           dry_run=call.dry_run)
    return Reply(200, render(call.resource, obj), headers=warnings)


PATCH_ATTEMPTS = 5


def do_patch(call: Call) -> Reply:
    """A patch is applied to the object as it is now: when another writer changed it between the read and the
    write, the patch is applied again to the new version (as the API server's own retry loop does), unless the
    patch names the resourceVersion it was made against — then the conflict is the client's answer."""
    from ..errors import Conflict

    for attempt in range(PATCH_ATTEMPTS):
        try:
            return _patch_once(call)
        except Conflict:
            if attempt == PATCH_ATTEMPTS - 1 or _pins_version(call):
                raise
    raise AssertionError("unreachable")


def _pins_version(call: Call) -> bool:
    try:
        body = bodies.decode(call.body, call.content_type)
    except Exception:
        return False
    meta = body.get("metadata") if isinstance(body, dict) else None
    return isinstance(meta, dict) and bool(meta.get("resourceVersion"))


def _patch_once(call: Call) -> Reply:
    _check_writable(call)
    from . import patch as patches

    mt = bodies.media_type(call.content_type)
    if call.subresource == "scale":
        current = scale_object(get_model(call))
    else:
        try:
            current = render(call.resource, get_model(call))
        except NotFound:
            if mt == "application/apply-patch+yaml":
                return do_create(call)
            raise
    patch_body = bodies.decode(call.body, call.content_type)
    try:
        if mt == "application/json-patch+json":
            new = patches.json_patch(current, patch_body)
        elif mt == "application/merge-patch+json":
            new = patches.merge_patch(current, patch_body)
        elif mt == "application/strategic-merge-patch+json":
            new = patches.strategic_merge_patch(current, patch_body, current["apiVersion"], current["kind"])
        elif mt == "application/apply-patch+yaml":
            new = patches.strategic_merge_patch(current, patch_body, current["apiVersion"], current["kind"])
        else:
            raise ApiError("")
    except patches.PatchError as exc:
        raise Invalid(call.resource.kind, call.resource.group, call.name, [cause("", str(exc))]) from None
    except RecursionError:
        raise BadRequest(bodies.TOO_DEEP) from None
    except ApiError:
        from ..errors import UnsupportedMediaType

        raise UnsupportedMediaType(f"the media type {mt} is not supported for patch; use one of "
                                   "application/json-patch+json, application/merge-patch+json, "
                                   "application/strategic-merge-patch+json, application/apply-patch+yaml") from None
    if not isinstance(new, dict):
        raise BadRequest("the patch did not produce an object")
    # A patch may replace the whole object (`$patch: replace`) or drop its type: the URL names the kind.
    new["kind"], new["apiVersion"] = current["kind"], current["apiVersion"]
    if not isinstance(new.get("metadata"), dict):
        new["metadata"] = {}
    try:
        new = bodies.bounded(new)
    except RecursionError:
        raise BadRequest(bodies.TOO_DEEP) from None
    if call.subresource == "scale":
        return scale_write(call, new)
    new.setdefault("metadata", {})["name"] = call.name
    # The patch was computed against this version: a concurrent writer in between is a conflict, not a merge.
    patch_meta = patch_body.get("metadata") if isinstance(patch_body, dict) else None
    pinned = isinstance(patch_meta, dict) and patch_meta.get("resourceVersion")
    if not pinned:
        new["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    warnings = _strict(call, new)
    _within_limits(new)
    obj = writes.do_update(call.pg, new, call.actor, namespace=call.namespace, subresource=call.subresource,
                           dry_run=call.dry_run)
    return Reply(200, render(call.resource, obj), headers=warnings)


def delete_options(call: Call) -> dict:
    opts = {}
    if call.body:
        try:
            opts = bodies.decode_object(call.body, call.content_type)
        except ApiError:
            opts = {}
    for key in ("propagationPolicy", "gracePeriodSeconds"):
        if call.query.get(key) is not None:
            opts[key] = call.query[key]
    if "orphanDependents" in opts and "propagationPolicy" not in opts:
        opts["propagationPolicy"] = "Orphan" if opts["orphanDependents"] else "Background"
    return opts


def do_delete(call: Call) -> Reply:
    _check_writable(call)
    res = call.resource
    opts = delete_options(call)
    grace = opts.get("gracePeriodSeconds")
    try:
        grace = int(grace) if grace is not None else None
    except (TypeError, ValueError):
        raise BadRequest(f"invalid gracePeriodSeconds: {grace!r}") from None
    pre = opts.get("preconditions") or {}
    propagation, headers = opts.get("propagationPolicy"), {}
    if res.kind == "Job" and not propagation:
        # batch/v1 Jobs keep their pods unless told otherwise (the Job strategy's default policy), and say so.
        propagation = "Orphan"
        headers["Warning"] = ('299 - "child pods are preserved by default when jobs are deleted; set '
                              'propagationPolicy=Background to remove them or set propagationPolicy=Orphan to '
                              'suppress this warning"')
    obj, gone = writes.do_delete(call.pg, res.model_kind, call.namespace, call.name, call.actor,
                                 propagation=propagation, grace=grace,
                                 precondition_uid=pre.get("uid", ""), precondition_rv=pre.get("resourceVersion", ""),
                                 dry_run=call.dry_run)
    # Upstream's registries each say whether a finished delete answers the object or a Status
    # (`ReturnDeletedObject`); an object that is still terminating is answered as it now stands.
    if res.model.RETURNS_DELETED or not gone:
        return Reply(200, render(res, obj), headers=headers)
    details = {"name": call.name, "group": res.group, "kind": res.plural, "uid": obj.uid}
    return Reply(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                       "details": {k: v for k, v in details.items() if v}}, headers=headers)


def do_delete_collection(call: Call) -> Reply:
    _check_writable(call)
    items, revision, _ = list_objects(call)
    opts = delete_options(call)
    deleted = []
    for body in items:
        meta = body["metadata"]
        try:
            obj, _ = writes.do_delete(call.pg, call.resource.model_kind, meta.get("namespace", ""), meta["name"],
                                      call.actor, propagation=opts.get("propagationPolicy"), dry_run=call.dry_run)
            deleted.append(render(call.resource, obj))
        except NotFound:
            continue
    return Reply(200, {"kind": f"{call.resource.kind}List", "apiVersion": call.resource.api_version,
                       "metadata": {"resourceVersion": str(revision)}, "items": deleted})


# ---------------------------------------------------------------------------------------------------------------
# subresources


def scale_object(obj) -> dict:
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {"name": obj.name, "namespace": obj.namespace, "uid": obj.uid,
                     "resourceVersion": str(obj.resource_version),
                     "creationTimestamp": clock.rfc3339(obj.creation_timestamp)},
        "spec": {"replicas": (obj.spec or {}).get("replicas", 0)},
        "status": {"replicas": (obj.status or {}).get("replicas", 0),
                   "selector": labels.selector_string(_label_selector(obj))},
    }


SCALABLE = ("Deployment", "ReplicaSet", "StatefulSet", "ReplicationController")


def _label_selector(obj) -> dict | None:
    selector = (obj.spec or {}).get("selector")
    # A ReplicationController's selector is a plain map of labels.
    return {"matchLabels": selector} if obj.KIND == "ReplicationController" and selector else selector


def scale_read(call: Call) -> Reply:
    if call.resource.kind not in SCALABLE:
        raise NotFound("the server could not find the requested resource")
    return Reply(200, scale_object(get_model(call)))


def scale_write(call: Call, body: dict) -> Reply:
    if call.resource.kind not in SCALABLE:
        raise NotFound("the server could not find the requested resource")
    obj = get_model(call)
    replicas = (body.get("spec") or {}).get("replicas")
    rv = (body.get("metadata") or {}).get("resourceVersion")
    current = obj.to_k8s()
    if rv:
        current["metadata"]["resourceVersion"] = str(rv)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise Invalid("Scale", "autoscaling", call.name,
                      [cause("spec.replicas", f"Invalid value: {replicas!r}: must be greater than or equal to 0")])
    current["spec"]["replicas"] = replicas
    obj = writes.do_update(call.pg, current, call.actor, namespace=call.namespace, dry_run=call.dry_run,
                           message=f"{call.actor} → kube-apiserver set {call.resource.kind.lower()} "
                                   f"{call.namespace}/{call.name} to {replicas} replicas")
    return Reply(200, scale_object(obj))


def subresource_post(call: Call) -> Reply:
    if call.resource.kind == "Pod" and call.subresource == "binding":
        body = bodies.decode_object(call.body, call.content_type)
        target = (body.get("target") or {}).get("name")
        if not target:
            raise Invalid("Binding", "", call.name, [cause("target.name", "Required value", "FieldValueRequired")])
        pod = get_model(call)
        if pod.node_name:
            from ..errors import Conflict

            raise Conflict(f'Operation cannot be fulfilled on pods/binding "{call.name}": pod {call.name} is already '
                           f"assigned to node \"{pod.node_name}\"")
        pod.spec = {**pod.spec, "nodeName": target}
        b = writes.Batch(call.pg, call.actor)
        b.update(pod, f"{call.actor} bound pod {call.name} to {target}")
        b.commit()
        return Reply(201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})
    if call.resource.kind == "Pod" and call.subresource == "eviction":
        return evict(call)
    raise MethodNotAllowed(f"the server does not allow this method on the requested resource ({call.subresource})")


def evict(call: Call) -> Reply:
    """POST pods/<name>/eviction (policy/v1 Eviction): a graceful delete that a PodDisruptionBudget could refuse.
    The playground has no PodDisruptionBudgets, so every eviction is allowed."""
    body = bodies.decode_object(call.body, call.content_type)
    if body.get("kind") not in (None, "", "Eviction"):
        raise BadRequest(f'the kind "{body["kind"]}" of the body does not match the resource "pods/eviction"')
    name = (body.get("metadata") or {}).get("name")
    if name and name != call.name:
        raise BadRequest("name in URL does not match name in Eviction object")
    opts = body.get("deleteOptions") or {}
    grace = opts.get("gracePeriodSeconds")
    pre = opts.get("preconditions") or {}
    writes.do_delete(call.pg, "Pod", call.namespace, call.name, call.actor, grace=grace,
                     precondition_uid=pre.get("uid") or "", precondition_rv=pre.get("resourceVersion") or "",
                     dry_run=call.dry_run or "All" in (opts.get("dryRun") or []))
    return Reply(201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})


def log_lines(call: Call) -> tuple[object, list[str]]:
    pod = get_model(call)
    containers = [c.get("name") for c in (pod.spec or {}).get("containers") or []]
    container = call.query.get("container") or (containers[0] if containers else "")
    if container not in containers:
        raise BadRequest(f"container {container} is not valid for pod {call.name}")
    statuses = {s.get("name"): s for s in (pod.status or {}).get("containerStatuses") or []}
    st = statuses.get(container) or {}
    waiting = (st.get("state") or {}).get("waiting")
    previous = call.query.get("previous") in ("true", "1")
    restart = int(st.get("restartCount") or 0)
    if previous:
        if restart == 0:
            raise BadRequest(f'previous terminated container "{container}" in pod "{call.name}" not found')
        restart -= 1
    elif (waiting and not (waiting.get("reason") == "CrashLoopBackOff" and st.get("lastState"))) or not st:
        # A container backing off between restarts still has the log of the run that just ended.
        reason = (waiting or {}).get("reason", "ContainerCreating")
        raise BadRequest(f'container "{container}" in pod "{call.name}" is waiting to start: {reason}')
    qs = LogLine.objects.filter(playground=call.pg, pod_uid=pod.uid, container=container, restart=restart)
    # A row may hold several lines written at the same instant (a container's start-up block).
    lines = [(at, line) for at, text in qs.values_list("at", "text") for line in text.split("\n")]
    tail = call.query.get("tailLines")
    if tail is not None:
        try:
            n = int(tail)
        except ValueError:
            raise BadRequest(f"invalid tailLines: {tail!r}") from None
        lines = lines[-n:] if n > 0 else []
    stamps = call.query.get("timestamps") in ("true", "1")
    text = [(f"{clock.rfc3339(at).replace('Z', '.000000000Z')} " if stamps else "") + t for at, t in lines]
    return pod, text


def proxy(call: Call) -> Reply:
    from .. import kube_proxy

    res = call.resource
    name, _, port = call.name.partition(":")
    if name in ("http", "https") and port:
        name, _, port = port.partition(":")
    path = "/" + call.subpath
    if res.kind == "Service":
        target = f"{name}.{call.namespace}" + (f":{port}" if port else "")
    elif res.kind == "Pod":
        pod = get_model(dataclasses.replace(call, name=name))
        ip = (pod.status or {}).get("podIP")
        if not ip:
            raise ApiError(f'pod "{name}" has no IP address yet')
        target = f"{ip}" + (f":{port}" if port else "")
    else:
        raise NotFound("the server could not find the requested resource")
    reply = kube_proxy.curl(call.pg, target, path=path, client="10.244.0.0")
    if reply.error:
        err = ApiError(f"error trying to reach service: {reply.error}")
        err.code, err.reason = 503, "ServiceUnavailable"
        raise err
    return Reply(reply.status, reply.body, "text/html" if reply.body.lstrip().startswith("<") else "text/plain",
                 {"X-Kubeplay-Pod": reply.pod or ""})


def watch_filter(call: Call):
    return filters(call)


def render_change(call: Call, body: dict) -> dict:
    return render_body(call.resource, copy.deepcopy(body)) if call.resource.derived else body


# ---------------------------------------------------------------------------------------------------------------
# computed resources: access reviews and metrics


def virtual(call: Call) -> Reply:
    res = call.resource
    if res.group in ("authorization.k8s.io", "authentication.k8s.io"):
        if call.method != "POST" or call.name:
            raise MethodNotAllowed(f"the server does not allow this method on the requested resource ({call.method})")
        return review(call)
    if call.method != "GET" or call.query.get("watch") in ("true", "1"):
        raise MethodNotAllowed(f"the server does not allow this method on the requested resource ({call.method})")
    return metrics_reply(call)


ADMIN_USER = "kubernetes-admin"
ADMIN_GROUPS = ("kubeadm:cluster-admins", "system:authenticated")


def review(call: Call) -> Reply:
    """The playground's token is its admin's (in the group system:masters): every access is allowed, as the
    apiserver answers a cluster admin. The review is answered in the response and not stored."""
    body = bodies.decode_object(call.body, call.content_type)
    kind = call.resource.kind
    if body.get("kind") not in (None, "", kind):
        raise BadRequest(f'the kind "{body["kind"]}" of the body does not match the resource "{call.resource.plural}"')
    spec = body.get("spec") or {}
    if kind == "SelfSubjectReview":
        # `kubectl auth whoami`: who the playground's token is — its admin, as kubeadm names the admin.
        return Reply(201, {"kind": kind, "apiVersion": "authentication.k8s.io/v1", "metadata": {},
                           "status": {"userInfo": {"username": ADMIN_USER, "groups": list(ADMIN_GROUPS)}}})
    if kind == "SelfSubjectAccessReview":
        if not spec.get("resourceAttributes") and not spec.get("nonResourceAttributes"):
            raise Invalid(kind, "authorization.k8s.io", "", [cause(
                "spec.resourceAttributes", "Invalid value: \"null\": exactly one of nonResourceAttributes or "
                "resourceAttributes must be specified")])
        status = {"allowed": True}
    else:
        status = {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                  "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}], "incomplete": False}
    return Reply(201, {"kind": kind, "apiVersion": "authorization.k8s.io/v1", "metadata": {}, "spec": spec,
                       "status": status})


def metrics_reply(call: Call) -> Reply:
    from .. import metrics
    from ..models import Node, Pod

    now = clock.now()
    res = call.resource
    ok = filters(call)
    if res.kind == "NodeMetrics":
        nodes = Node.objects.filter(playground=call.pg).order_by("name")
        if call.name:
            nodes = nodes.filter(name=call.name)
        by_node: dict[str, list] = {}
        for pod in Pod.objects.filter(playground=call.pg, phase="Running"):
            by_node.setdefault(pod.node_name, []).append(pod)
        items = [metrics.node_metrics(n, by_node.get(n.name, []), now) for n in nodes]
    else:
        pods = Pod.objects.filter(playground=call.pg, phase="Running").order_by("namespace", "name")
        if call.namespace:
            pods = pods.filter(namespace=call.namespace)
        if call.name:
            pods = pods.filter(name=call.name)
        items = [metrics.pod_metrics(p, now) for p in pods if metrics.reports(p)]
    items = [i for i in items if ok(i)]
    if call.name:
        if not items:
            raise NotFound.of(res.plural, res.group, call.name)
        return Reply(200, items[0])
    return Reply(200, {"kind": f"{res.kind}List", "apiVersion": res.api_version, "metadata": {}, "items": items})
