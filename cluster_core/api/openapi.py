"""OpenAPI v3 documents for the API groups the simulated cluster serves, built from the shipped schemas.

Contract:
- `index_document(prefix="")` is the body of `GET /openapi/v3`: one entry per group-version, each with a
  `serverRelativeURL` of `<prefix>/openapi/v3/<gv>?hash=<HASH>` (serve it with `Cache-Control: no-cache`).
- `group_version_document(gv_path)` returns `(body_bytes, etag)` for e.g. `"apis/apps/v1"` or `"api/v1"`,
  or None for a group-version we do not serve. `etag` is the quoted header value (`"<HASH>"`, the same HASH
  as in the index); serve the body with `Cache-Control: public, immutable` and that `ETag`.
- `SERVED` lists what is described: each group-version, its resources and subresources.

Why each part matters to kubectl (see kubectl-wire-notes 1.7):
- component schemas keep the upstream names, `$ref`/`allOf` wrapping, descriptions and the
  `x-kubernetes-patch-*` extensions: `kubectl explain` walks them and client-side `apply` computes its
  strategic merge patch from them (it finds the kind by the component's `x-kubernetes-group-version-kind` list);
- every object path has a `patch` operation whose `x-kubernetes-group-version-kind` is an object and which takes
  a `fieldValidation` query parameter: that is how kubectl decides to send `fieldValidation=Strict` and skip
  its own validation; its requestBody lists the four patch content types.

Documents are built on first request and cached as bytes for the life of the process.
"""

import functools
import hashlib
import json
from dataclasses import dataclass

from cluster_core.api import schemas

COMPONENT_PREFIX = "#/components/schemas/"
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
RESPONSE_MEDIA_TYPES = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
PATCH_MEDIA_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)
# Schemas every group-version document carries, as upstream: request and response bodies of the generic verbs.
COMMON_COMPONENTS = (META + "Status", META + "DeleteOptions", META + "Patch", META + "WatchEvent")


@dataclass(frozen=True)
class Resource:
    plural: str
    kind: str
    namespaced: bool = True
    subresources: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupVersion:
    group: str
    version: str
    resources: tuple[Resource, ...]
    extra_kinds: tuple[str, ...] = ()  # kinds described as components without paths of their own

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


SERVED: dict[str, GroupVersion] = {
    "api/v1": GroupVersion(
        "",
        "v1",
        (
            Resource("namespaces", "Namespace", namespaced=False, subresources=("status",)),
            Resource("nodes", "Node", namespaced=False, subresources=("status",)),
            Resource("pods", "Pod", subresources=("status",)),
            Resource("services", "Service", subresources=("status",)),
            Resource("endpoints", "Endpoints"),
            Resource("events", "Event"),
            Resource("configmaps", "ConfigMap"),
            Resource("secrets", "Secret"),
            Resource("serviceaccounts", "ServiceAccount"),
            Resource("replicationcontrollers", "ReplicationController", subresources=("status", "scale")),
        ),
    ),
    "apis/apps/v1": GroupVersion(
        "apps",
        "v1",
        (
            Resource("daemonsets", "DaemonSet", subresources=("status",)),
            Resource("deployments", "Deployment", subresources=("status", "scale")),
            Resource("replicasets", "ReplicaSet", subresources=("status", "scale")),
            Resource("statefulsets", "StatefulSet", subresources=("status", "scale")),
        ),
    ),
    "apis/batch/v1": GroupVersion(
        "batch", "v1", (Resource("cronjobs", "CronJob", subresources=("status",)),
                        Resource("jobs", "Job", subresources=("status",)))
    ),
    "apis/rbac.authorization.k8s.io/v1": GroupVersion(
        "rbac.authorization.k8s.io",
        "v1",
        (
            Resource("clusterrolebindings", "ClusterRoleBinding", namespaced=False),
            Resource("clusterroles", "ClusterRole", namespaced=False),
            Resource("rolebindings", "RoleBinding"),
            Resource("roles", "Role"),
        ),
    ),
    "apis/authorization.k8s.io/v1": GroupVersion(
        "authorization.k8s.io", "v1", (), extra_kinds=("SelfSubjectAccessReview", "SelfSubjectRulesReview")
    ),
    "apis/autoscaling/v1": GroupVersion("autoscaling", "v1", (), extra_kinds=("Scale",)),
    "apis/discovery.k8s.io/v1": GroupVersion(
        "discovery.k8s.io", "v1", (Resource("endpointslices", "EndpointSlice"),)
    ),
    "apis/events.k8s.io/v1": GroupVersion("events.k8s.io", "v1", (Resource("events", "Event"),)),
}

SCALE_API_VERSION = "autoscaling/v1"


def index_document(prefix: str = "") -> dict:
    prefix = prefix.rstrip("/")
    return {
        "paths": {
            gv_path: {"serverRelativeURL": f"{prefix}/openapi/v3/{gv_path}?hash={_built(gv_path)[1]}"}
            for gv_path in SERVED
        }
    }


def group_version_document(gv_path: str) -> tuple[bytes, str] | None:
    gv_path = gv_path.strip("/")
    if gv_path not in SERVED:
        return None
    body, digest = _built(gv_path)
    return body, f'"{digest}"'


@functools.cache
def _built(gv_path: str) -> tuple[bytes, str]:
    body = json.dumps(build_document(SERVED[gv_path]), sort_keys=True, separators=(",", ":")).encode()
    # Same digest as the upstream apiserver (SHA-512, upper-case hex) so hashes look familiar in URLs.
    return body, hashlib.sha512(body).hexdigest().upper()


def build_document(gv: GroupVersion) -> dict:
    roots = list(COMMON_COMPONENTS)
    paths = {}
    for resource in gv.resources:
        roots += [_name(gv.api_version, resource.kind), _name(gv.api_version, resource.kind + "List")]
        if "scale" in resource.subresources:
            roots.append(_name(SCALE_API_VERSION, "Scale"))
        paths.update(_resource_paths(gv, resource))
    roots += [_name(gv.api_version, kind) for kind in gv.extra_kinds]
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": f"v{schemas.KUBERNETES_VERSION}"},
        "paths": paths,
        "components": {"schemas": {name: to_openapi(schemas.definition(name)) for name in _closure(roots)}},
    }


def _name(api_version: str, kind: str) -> str:
    return schemas.definition_name(api_version, kind)


def _closure(roots: list[str]) -> list[str]:
    """Every definition reachable from `roots` through `$ref`s, so the document is self-contained."""
    seen: dict[str, None] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen[name] = None
        pending.extend(_refs(schemas.definition(name)))
    return sorted(seen)


def _refs(node):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref.removeprefix(schemas.REF_PREFIX)
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


# --- schema conversion ---------------------------------------------------------------------------------------


def to_openapi(node: dict, top: bool = True) -> dict:
    """Turn one package schema node (JSON Schema 2020-12) back into the upstream OpenAPI 3.0 shape.

    The package only changed three things we must undo: optional fields are typed `[T, "null"]` (OpenAPI 3.0
    has a single `type`), refs point at `#/$defs/`, and `apiVersion`/`kind` carry a one-value `enum`.
    A `$ref` with sibling keys becomes `allOf: [{$ref}]` plus the siblings, exactly as upstream writes it,
    because OpenAPI 3.0 ignores siblings of a bare `$ref` (and kubectl explain would lose the description).
    """
    out: dict = {}
    for key, value in node.items():
        if key == "$ref":
            continue
        if key == "type":
            types = [value] if isinstance(value, str) else [t for t in value if t != "null"]
            if types:
                out["type"] = types[0]
        elif key == "properties":
            out[key] = {prop: _property(prop, sub, top) for prop, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = to_openapi(value, top=False)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [to_openapi(sub, top=False) for sub in value]
        elif key == "enum":
            out[key] = [v for v in value if v is not None]
        else:
            out[key] = value
    if [set(branch) for branch in out.get("oneOf", [])] == [{"type"}, {"type"}]:
        if {branch["type"] for branch in out["oneOf"]} == {"integer", "string"}:
            out.setdefault("format", "int-or-string")  # the package dropped IntOrString's upstream format
    ref = node.get("$ref")
    if ref is None:
        return out
    target = {"$ref": COMPONENT_PREFIX + ref.removeprefix(schemas.REF_PREFIX)}
    return {"allOf": [target], **out} if out else target


def _property(name: str, node: dict, top: bool) -> dict:
    converted = to_openapi(node, top=False)
    if top and name in ("apiVersion", "kind"):
        converted.pop("enum", None)
    return converted


# --- paths ---------------------------------------------------------------------------------------------------


def _resource_paths(gv: GroupVersion, resource: Resource) -> dict:
    base = "/" + ("api/v1" if not gv.group else f"apis/{gv.api_version}")
    scope = "Namespaced" if resource.namespaced else ""
    collection = (
        f"{base}/namespaces/{{namespace}}/{resource.plural}"
        if resource.namespaced
        else f"{base}/{resource.plural}"
    )
    item = collection + "/{name}"
    ref = COMPONENT_PREFIX + _name(gv.api_version, resource.kind)
    list_ref = COMPONENT_PREFIX + _name(gv.api_version, resource.kind + "List")
    gvk = {"group": gv.group, "kind": resource.kind, "version": gv.version}
    tag = _tag(gv)
    op = functools.partial(_operation, tag=tag, gvk=gvk)
    ns_param = [_path_param("namespace", "object name and auth scope, such as for teams and projects")]
    scope_params = ns_param if resource.namespaced else []
    name_param = _path_param("name", f"name of the {resource.kind}")

    def op_id(verb, suffix=""):
        return f"{verb}{_camel_gv(gv)}{scope}{resource.kind}{suffix}"

    paths = {
        collection: {
            "parameters": scope_params + [_query("pretty", "string")],
            "get": op(
                op_id("list"),
                f"list or watch objects of kind {resource.kind}",
                "list",
                _list_params(),
                list_ref,
            ),
            "post": op(
                op_id("create"),
                f"create a {resource.kind}",
                "post",
                _write_params(),
                ref,
                body=_body({"*/*": ref}),
                created=True,
            ),
            "delete": op(
                f"delete{_camel_gv(gv)}Collection{scope}{resource.kind}",
                f"delete collection of {resource.kind}",
                "deletecollection",
                _list_params() + [_query("dryRun", "string")],
                COMPONENT_PREFIX + META + "Status",
            ),
        },
        item: {
            "parameters": [name_param] + scope_params + [_query("pretty", "string")],
            "get": op(op_id("read"), f"read the specified {resource.kind}", "get", [], ref),
            "put": op(
                op_id("replace"),
                f"replace the specified {resource.kind}",
                "put",
                _write_params(),
                ref,
                body=_body({"*/*": ref}),
                created=True,
            ),
            "patch": _patch_op(op, op_id("patch"), f"partially update the specified {resource.kind}", ref),
            "delete": op(
                op_id("delete"),
                f"delete a {resource.kind}",
                "delete",
                [
                    _query("dryRun", "string"),
                    _query("gracePeriodSeconds", "integer"),
                    _query("propagationPolicy", "string"),
                ],
                COMPONENT_PREFIX + META + "Status",
                body=_body({"*/*": COMPONENT_PREFIX + META + "DeleteOptions"}),
            ),
        },
    }
    if resource.namespaced:
        paths[f"{base}/{resource.plural}"] = {
            "parameters": [_query("pretty", "string")],
            "get": op(
                f"list{_camel_gv(gv)}{resource.kind}ForAllNamespaces",
                f"list or watch objects of kind {resource.kind}",
                "list",
                _list_params(),
                list_ref,
            ),
        }
    for sub in resource.subresources:
        sub_ref, sub_op = ref, op
        if sub == "scale":
            sub_ref = COMPONENT_PREFIX + _name(SCALE_API_VERSION, "Scale")
            sub_op = functools.partial(
                _operation, tag=tag, gvk={"group": "autoscaling", "kind": "Scale", "version": "v1"}
            )
        suffix = sub.capitalize()
        paths[f"{item}/{sub}"] = {
            "parameters": [name_param] + scope_params + [_query("pretty", "string")],
            "get": sub_op(
                op_id("read", suffix), f"read {sub} of the specified {resource.kind}", "get", [], sub_ref
            ),
            "put": sub_op(
                op_id("replace", suffix),
                f"replace {sub} of the specified {resource.kind}",
                "put",
                _write_params(),
                sub_ref,
                body=_body({"*/*": sub_ref}),
                created=True,
            ),
            "patch": _patch_op(
                sub_op,
                op_id("patch", suffix),
                f"partially update {sub} of the specified {resource.kind}",
                sub_ref,
            ),
        }
    return paths


def _patch_op(op, operation_id: str, description: str, ref: str) -> dict:
    patch_ref = COMPONENT_PREFIX + META + "Patch"
    params = _write_params() + [_query("force", "boolean", 'Force is going to "force" Apply requests.')]
    return op(
        operation_id,
        description,
        "patch",
        params,
        ref,
        body=_body(dict.fromkeys(PATCH_MEDIA_TYPES, patch_ref)),
        created=True,
    )


def _operation(
    operation_id, description, action, params, response_ref, *, tag, gvk, body=None, created=False
):
    content = {media: {"schema": {"$ref": response_ref}} for media in RESPONSE_MEDIA_TYPES}
    responses = {"200": {"content": content, "description": "OK"}}
    if created:
        responses["201"] = {"content": content, "description": "Created"}
    responses["401"] = {"description": "Unauthorized"}
    operation = {
        "description": description,
        "operationId": operation_id,
        "responses": responses,
        "tags": [tag],
        "x-kubernetes-action": action,
        # An object here (a list on component schemas): kubectl's fieldValidation probe matches this form.
        "x-kubernetes-group-version-kind": dict(gvk),
    }
    if params:
        operation["parameters"] = params
    if body:
        operation["requestBody"] = body
    return operation


def _body(media_refs: dict) -> dict:
    return {
        "content": {media: {"schema": {"$ref": ref}} for media, ref in media_refs.items()},
        "required": True,
    }


def _write_params() -> list:
    return [
        _query("dryRun", "string", "When present, indicates that modifications should not be persisted."),
        _query(
            "fieldManager",
            "string",
            "fieldManager is a name associated with the actor or entity that is making these changes.",
        ),
        _query(
            "fieldValidation",
            "string",
            "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) "
            "containing unknown or duplicate fields. Valid values are: Ignore, Warn (the default) and Strict.",
        ),
    ]


def _list_params() -> list:
    return [
        _query("allowWatchBookmarks", "boolean"),
        _query("continue", "string"),
        _query("fieldSelector", "string"),
        _query("labelSelector", "string"),
        _query("limit", "integer"),
        _query("resourceVersion", "string"),
        _query("resourceVersionMatch", "string"),
        _query("sendInitialEvents", "boolean"),
        _query("timeoutSeconds", "integer"),
        _query("watch", "boolean"),
    ]


def _query(name: str, type_: str, description: str = "") -> dict:
    param = {"in": "query", "name": name, "schema": {"type": type_, "uniqueItems": True}}
    if description:
        param["description"] = description
    return param


def _path_param(name: str, description: str) -> dict:
    return {
        "description": description,
        "in": "path",
        "name": name,
        "required": True,
        "schema": {"type": "string", "uniqueItems": True},
    }


def _camel_gv(gv: GroupVersion) -> str:
    """Upstream operation-id spelling: core/v1 -> CoreV1, apps/v1 -> AppsV1, events.k8s.io/v1 -> EventsV1."""
    group = gv.group.split(".")[0] if gv.group else "core"
    return group[:1].upper() + group[1:] + gv.version.capitalize()


def _tag(gv: GroupVersion) -> str:
    return f"{gv.group.split('.')[0] if gv.group else 'core'}_{gv.version}"
