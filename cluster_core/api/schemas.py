"""The Kubernetes 1.37 object schemas, as shipped by the `kubernetes-validate` package.

Contract:
- `definitions()` returns every named schema (`io.k8s.api.apps.v1.Deployment`, ...) exactly as the package
  stores them: JSON Schema 2020-12 converted from the upstream OpenAPI, with `$ref: "#/$defs/<name>"` links,
  optional fields typed `["<type>", "null"]`, and the upstream `x-kubernetes-*` extensions
  (`x-kubernetes-group-version-kind`, `x-kubernetes-patch-merge-key`, `x-kubernetes-patch-strategy`, ...).
- `schema_for(api_version, kind)` returns the top-level schema of a kind; `resolve(node)` follows a `$ref`
  (or a one-element `allOf` wrapping one), so any node can be walked property by property.
- `definition_name(api_version, kind)` gives the upstream component name for a kind.
- Lookups of an unknown kind raise `SchemaNotFound` (a `LookupError`).

The file is read once per process, on first use (about 15 ms for 1.8 MB). The returned dicts are shared:
callers must treat them as read-only.
"""

import functools
import importlib.util
import json
from pathlib import Path

KUBERNETES_VERSION = "1.37.0"

# The "-local" flavour keeps every definition in one `_definitions.json` and links them with local `$ref`s;
# the "-strict" flavour only adds `additionalProperties: false`, which we derive ourselves where needed.
# Located without importing the package: its __init__ pulls in jsonschema & co. (~80 ms) that we never use.
_PACKAGE_DIR = Path(importlib.util.find_spec("kubernetes_validate").origin).parent
SCHEMA_DIR = _PACKAGE_DIR / "kubernetes-json-schema" / f"v{KUBERNETES_VERSION}-local"

REF_PREFIX = "#/$defs/"


class SchemaNotFound(LookupError):
    """No schema for this apiVersion/kind (or definition name) in the shipped Kubernetes version."""


@functools.cache
def definitions() -> dict[str, dict]:
    with open(SCHEMA_DIR / "_definitions.json", encoding="utf-8") as f:
        return json.load(f)["$defs"]


@functools.cache
def _names_by_gvk() -> dict[tuple[str, str, str], str]:
    index = {}
    for name, schema in definitions().items():
        for gvk in schema.get("x-kubernetes-group-version-kind", ()):
            key = (gvk["group"], gvk["version"], gvk["kind"])
            # Shared meta types (DeleteOptions, WatchEvent, Status) are registered under many groups; the
            # first registration wins, which is always the meta.v1 definition itself.
            index.setdefault(key, name)
    return index


def split_api_version(api_version: str) -> tuple[str, str]:
    """ "apps/v1" -> ("apps", "v1"); the core group is "" ("v1" -> ("", "v1"))."""
    group, _, version = api_version.rpartition("/")
    return group, version


def definition_name(api_version: str, kind: str) -> str:
    group, version = split_api_version(api_version)
    try:
        return _names_by_gvk()[(group, version, kind)]
    except KeyError:
        raise SchemaNotFound(f"no schema for kind {kind!r} in {api_version!r}") from None


def definition(name: str) -> dict:
    try:
        return definitions()[name]
    except KeyError:
        raise SchemaNotFound(f"no schema named {name!r}") from None


def schema_for(api_version: str, kind: str) -> dict:
    return definition(definition_name(api_version, kind))


def ref_name(node: dict) -> str | None:
    """The definition name a node points to, through `$ref` or a single-element `allOf` wrapper."""
    ref = node.get("$ref")
    if ref is None and len(node.get("allOf", ())) == 1:
        ref = node["allOf"][0].get("$ref")
    if ref is None:
        return None
    return ref.removeprefix(REF_PREFIX)


def resolve(node: dict | None) -> dict:
    """Follow `$ref` links until a concrete schema; an absent schema resolves to `{}` (anything goes)."""
    seen = 0
    while node is not None and (name := ref_name(node)) is not None:
        node = definition(name)
        seen += 1
        if seen > 32:  # the package never chains refs this deep; guard against a malformed file
            raise SchemaNotFound(f"reference loop at {name!r}")
    return node or {}


def types_of(node: dict) -> set[str]:
    """The JSON types a resolved node allows, `"null"` included when the field is optional."""
    declared = node.get("type")
    if declared is None:
        return set()
    if isinstance(declared, str):
        return {declared}
    return set(declared)


def property_schema(node: dict, key: str) -> dict | None:
    """The schema of `key` inside a resolved object schema: a declared property or the map value schema."""
    props = node.get("properties")
    if props and key in props:
        return props[key]
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        return extra
    return None
