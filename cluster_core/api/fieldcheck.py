"""What the apiserver's decoder would reject in an object: unknown fields and values of the wrong type.

Contract:
- `check(obj)` walks `obj` against the schema of its `apiVersion`/`kind` (or the ones passed in) and returns
  a list of causes in document order, each `{"reason", "field", "message"}`:
    * `FieldValueNotFound`   an unknown field; message `unknown field "spec.foo"`, exactly the text the
                             apiserver puts in strict decoding errors and in `Warning` headers (fieldValidation=Warn);
    * `FieldValueTypeInvalid` a value of the wrong JSON type or out of range for its format; message in the
                             Go decoder's words: `json: cannot unmarshal string into Go struct field
                             DeploymentSpec.spec.replicas of type int32`;
    * `FieldValueInvalid`    a well-typed string the field's own decoder refuses (quantity, date-time, base64);
    * `FieldValueRequired`   `null` where the schema does not allow it (a required field).
  `field` is the path with list indices: `spec.template.spec.containers[0].imagee`.
- `unknown_fields(obj)` / `type_errors(obj)` are the two halves of `check`; `check_value(value, schema)` checks
  a value against any schema node.
- `strict_error_message(causes)` -> `strict decoding error: unknown field "spec.foo", unknown field "spec.bar"`.
- `bad_request_message(causes, kind=None, version=None)` -> the whole message of the 400 BadRequest Status, or
  None when nothing blocks decoding. Type errors win over unknown fields (they fail decoding under every
  fieldValidation mode); with `kind` it carries the create/update prefix
  `Deployment in version "v1" cannot be handled as a Deployment: ...` (patch requests have no prefix).
- Unknown kinds raise `schemas.SchemaNotFound`.

Schema rules honoured: an object with `properties` is closed unless `x-kubernetes-preserve-unknown-fields`;
an object with `additionalProperties` is a map (labels, annotations, resources.limits); an object with
neither is free-form (RawExtension, FieldsV1); int-or-string (the IntOrString `oneOf`, or
`x-kubernetes-int-or-string`), quantities, `format: int32/int64/double/byte/date-time`, and `null` wherever the
field is optional (the package types optional fields `[T, "null"]`). Enums are validation, not decoding, and are
left to the caller.
"""

import base64
import binascii
import re
from datetime import datetime

from cluster_core.api import schemas

NOT_FOUND = "FieldValueNotFound"
TYPE_INVALID = "FieldValueTypeInvalid"
INVALID = "FieldValueInvalid"
REQUIRED = "FieldValueRequired"

INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
QUANTITY_RE = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
QUANTITY_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
RFC3339_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
QUANTITY_DEF = "io.k8s.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING_DEF = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"


def check(obj: dict, api_version: str | None = None, kind: str | None = None) -> list[dict]:
    name = schemas.definition_name(api_version or obj.get("apiVersion", ""), kind or obj.get("kind", ""))
    return check_value(obj, {"$ref": schemas.REF_PREFIX + name})


def check_value(value, schema: dict) -> list[dict]:
    """Check any value against any schema node in the package's format (refs to `#/$defs/...`)."""
    walker = _Walker()
    walker.value(value, schema, path="", go_path="", struct="")
    return walker.causes


def drop_unknown_fields(obj: dict, api_version: str | None = None, kind: str | None = None) -> list[dict]:
    """Check `obj` and remove its unknown fields in place, as the apiserver's decoder drops them
    (fieldValidation Ignore/Warn). Returns every cause found, the dropped fields' among them."""
    name = schemas.definition_name(api_version or obj.get("apiVersion", ""), kind or obj.get("kind", ""))
    walker = _Walker()
    walker.value(obj, {"$ref": schemas.REF_PREFIX + name}, path="", go_path="", struct="")
    for container, key in walker.unknown_at:
        container.pop(key, None)
    return walker.causes


def unknown_fields(obj: dict, api_version: str | None = None, kind: str | None = None) -> list[dict]:
    return [c for c in check(obj, api_version, kind) if c["reason"] == NOT_FOUND]


def type_errors(obj: dict, api_version: str | None = None, kind: str | None = None) -> list[dict]:
    return [c for c in check(obj, api_version, kind) if c["reason"] != NOT_FOUND]


def strict_error_message(causes: list[dict]) -> str:
    return "strict decoding error: " + ", ".join(c["message"] for c in causes if c["reason"] == NOT_FOUND)


def bad_request_message(
    causes: list[dict], kind: str | None = None, version: str | None = None
) -> str | None:
    decode_errors = [c for c in causes if c["reason"] != NOT_FOUND]
    if decode_errors:
        # The decoder stops at the first value it cannot convert; later ones are never reported.
        message = decode_errors[0]["message"]
    elif causes:
        message = strict_error_message(causes)
    else:
        return None
    if kind:
        return f'{kind} in version "{version}" cannot be handled as a {kind}: {message}'
    return message


class _Walker:
    def __init__(self):
        self.causes: list[dict] = []
        self.unknown_at: list[tuple[dict, str]] = []  # (the map, its key) of each unknown field

    def add(self, reason: str, field: str, message: str):
        self.causes.append({"reason": reason, "field": field, "message": message})

    def value(self, value, node: dict, path: str, go_path: str, struct: str):
        """Check one value. `go_path`/`struct` track what Go's json errors name: dotted struct fields only."""
        ref = schemas.ref_name(node)
        resolved = schemas.resolve(node)
        types = schemas.types_of(resolved)
        if value is None:
            nullable = "null" in types or not types or ref in (QUANTITY_DEF, INT_OR_STRING_DEF)
            if not nullable:
                self.add(REQUIRED, path, "Required value")
            return
        if ref == QUANTITY_DEF:
            self._quantity(value, path, go_path, struct)
        elif ref == INT_OR_STRING_DEF or resolved.get("x-kubernetes-int-or-string"):
            if not isinstance(value, str) and not _is_int(value):
                self._type_error(value, path, go_path, struct, "intstr.IntOrString")
        elif "object" in types:
            self._object(value, resolved, path, go_path, struct, ref)
        elif "array" in types:
            self._array(value, resolved, path, go_path, struct)
        elif types:
            self._scalar(value, resolved, types, path, go_path, struct)

    def _object(self, value, node, path, go_path, struct, ref):
        if not isinstance(value, dict):
            self._type_error(value, path, go_path, struct, _go_type(node, ref))
            return
        if ref:
            struct = _short(ref)
        props = node.get("properties")
        extra = node.get("additionalProperties")
        preserve = node.get("x-kubernetes-preserve-unknown-fields")
        for key, item in value.items():
            child_path = f"{path}.{key}" if path else key
            if props and key in props:
                child_go = f"{go_path}.{key}" if go_path else key
                self.value(item, props[key], child_path, child_go, struct)
            elif isinstance(extra, dict):
                # Map values: Go's error names the map field itself, not the key.
                self.value(item, extra, child_path, go_path, struct)
            elif props and not preserve:
                self.add(NOT_FOUND, child_path, f'unknown field "{child_path}"')
                self.unknown_at.append((value, key))

    def _array(self, value, node, path, go_path, struct):
        if not isinstance(value, list):
            self._type_error(value, path, go_path, struct, _go_type(node))
            return
        items = node.get("items") or {}
        for index, item in enumerate(value):
            self.value(item, items, f"{path}[{index}]", go_path, struct)

    def _scalar(self, value, node, types, path, go_path, struct):
        fmt = node.get("format")
        if "integer" in types:
            low, high = INT_RANGES.get(fmt, INT_RANGES["int64"])
            if (
                isinstance(value, float)
                and not isinstance(value, bool)
                or _is_int(value)
                and not low <= value <= high
            ):
                # Go reports the literal when it is a number that does not fit the integer type.
                self._type_error(value, path, go_path, struct, _go_type(node), literal=True)
            elif not _is_int(value):
                self._type_error(value, path, go_path, struct, _go_type(node))
        elif "number" in types:
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                self._type_error(value, path, go_path, struct, _go_type(node))
        elif "boolean" in types:
            if not isinstance(value, bool):
                self._type_error(value, path, go_path, struct, "bool")
        elif "string" in types:
            if not isinstance(value, str):
                self._type_error(value, path, go_path, struct, _go_type(node))
            elif fmt == "date-time" and not _is_rfc3339(value):
                self.add(
                    INVALID,
                    path,
                    f'parsing time "{value}" as "2006-01-02T15:04:05Z07:00": cannot parse "{value}" as "2006"',
                )
            elif fmt == "byte":
                self._base64(value, path)

    def _quantity(self, value, path, go_path, struct):
        if isinstance(value, str):
            if not QUANTITY_RE.match(value.strip()):
                self.add(INVALID, path, QUANTITY_ERROR)
        elif not isinstance(value, (int, float)) or isinstance(value, bool):
            self._type_error(value, path, go_path, struct, "resource.Quantity")

    def _base64(self, value, path):
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            alphabet = re.compile(r"[A-Za-z0-9+/=]")
            offset = next((i for i, ch in enumerate(value) if not alphabet.match(ch)), len(value))
            self.add(INVALID, path, f"illegal base64 data at input byte {offset}")

    def _type_error(self, value, path, go_path, struct, go_type, literal=False):
        kind = _json_kind(value)
        if literal:
            kind = f"number {value}"
        target = f"Go struct field {struct}.{go_path}" if go_path else "Go value"
        self.add(TYPE_INVALID, path, f"json: cannot unmarshal {kind} into {target} of type {go_type}")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_rfc3339(value: str) -> bool:
    if not RFC3339_RE.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    except ValueError:
        return False
    return True


def _json_kind(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _short(definition_name: str) -> str:
    return definition_name.rsplit(".", 1)[-1]


def _go_type(node: dict, ref: str | None = None) -> str:
    """How Go's json errors spell a field's type: int32, []string, map[string]string, v1.Container, ..."""
    ref = ref or schemas.ref_name(node)
    if ref:
        package, _, name = ref.rpartition(".")
        return f"{package.rsplit('.', 1)[-1]}.{name}"
    node = schemas.resolve(node)
    types = schemas.types_of(node) - {"null"}
    if "array" in types:
        return "[]" + _go_type(node.get("items") or {})
    if "object" in types:
        extra = node.get("additionalProperties")
        return "map[string]" + _go_type(extra) if isinstance(extra, dict) else "map[string]interface {}"
    if "integer" in types:
        return node.get("format", "int64")
    if "number" in types:
        return "float64"
    if "boolean" in types:
        return "bool"
    if "string" in types:
        return "[]uint8" if node.get("format") == "byte" else "string"
    return "interface {}"
