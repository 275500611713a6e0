"""The three PATCH body types the apiserver accepts, applied to plain JSON documents.

Contract (inputs are never mutated; every function returns a new document):
- `json_patch(doc, ops)`: RFC 6902 (`application/json-patch+json`): add, remove, replace, move, copy, test;
  JSON Pointer paths with `~0`/`~1` escapes and `-` for "append".
- `merge_patch(doc, patch)`: RFC 7386 (`application/merge-patch+json`): objects merge, `null` deletes,
  anything else (lists included) replaces.
- `strategic_merge_patch(doc, patch, api_version, kind)` (`application/strategic-merge-patch+json`): a merge
  patch that reads the kind's schema: lists whose field carries `x-kubernetes-patch-strategy: merge` and an
  `x-kubernetes-patch-merge-key` merge element by element on that key (containers by `name`, ports by
  `containerPort`, env by `name`, ...); `merge` lists of scalars (finalizers) become a union; every other list
  is replaced. Directives: `$patch: replace|delete|merge` in maps and list elements, `$retainKeys`,
  `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>`; `null` deletes a key. Unknown kinds raise
  `schemas.SchemaNotFound` (the apiserver answers 415 for strategic merge patches it cannot type).
- Malformed patches raise `PatchError` (a `ValueError`) with a readable message: the caller answers
  422 (json patch that does not apply) or 400 (body of the wrong shape).

The strategic merge follows k8s.io/apimachinery/pkg/util/strategicpatch (mergeMap / mergeSlice /
normalizeElementOrder) so element order comes out as kubectl expects after `apply`.
"""

import copy

from cluster_core.api import schemas

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ELEMENT_ORDER = "$setElementOrder/"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList/"


# A json patch's `copy` may not grow the document beyond this many nodes or this depth (a few copy operations
# of the whole document into itself would otherwise double it each time).
MAX_NODES = 400_000
MAX_DEPTH = 64


class PatchError(ValueError):
    """The patch is malformed or does not apply to the document."""


def _shape(value, limit: int) -> tuple[int, int]:
    """(nodes, depth) of a JSON value, counted without recursion; stops once `limit` nodes are seen."""
    nodes, depth, todo = 0, 0, [(value, 1)]
    while todo and nodes <= limit:
        item, level = todo.pop()
        nodes += 1
        depth = max(depth, level)
        if isinstance(item, dict):
            todo.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            todo.extend((v, level + 1) for v in item)
    return nodes, depth


# --- RFC 6902 JSON Patch -------------------------------------------------------------------------------------


def json_patch(doc, ops):
    if not isinstance(ops, list):
        raise PatchError("json patch must be a JSON array of operations")
    doc = copy.deepcopy(doc)
    size = _shape(doc, MAX_NODES)[0]
    for number, op in enumerate(ops):
        if not isinstance(op, dict):
            raise PatchError(f"json patch operation {number} is not an object")
        if op.get("op") == "copy":
            nodes, depth = _shape(_get(doc, _member(op, "from", "copy"), "copy"), MAX_NODES)
            size += nodes
            if size > MAX_NODES or len(_tokens(_member(op, "path", "copy"))) + depth > MAX_DEPTH:
                raise PatchError("json patch copy operation makes the document too large")
        doc = _apply_op(doc, op)
    return doc


def _apply_op(doc, op: dict):
    name = op.get("op")
    path = _member(op, "path", name)
    if name == "add":
        return _add(doc, path, copy.deepcopy(_member(op, "value", name)))
    if name == "remove":
        doc, _ = _remove(doc, path, name)
        return doc
    if name == "replace":
        value = copy.deepcopy(_member(op, "value", name))
        _get(doc, path, name)  # the target must exist
        doc, _ = _remove(doc, path, name)
        return _add(doc, path, value)
    if name == "move":
        source = _member(op, "from", name)
        if path != source and path.startswith(source + "/"):
            raise PatchError(f'move operation cannot move "{source}" into its own child "{path}"')
        doc, value = _remove(doc, source, name)
        return _add(doc, path, value)
    if name == "copy":
        return _add(doc, path, copy.deepcopy(_get(doc, _member(op, "from", name), name)))
    if name == "test":
        expected = _member(op, "value", name)
        if not _json_equal(_get(doc, path, name), expected):
            raise PatchError(f'test operation failed: value at "{path}" is not {_short_json(expected)}')
        return doc
    raise PatchError(f"unknown json patch operation {name!r}")


def _member(op: dict, key: str, name):
    if key not in op:
        raise PatchError(f'json patch operation "{name}" is missing "{key}"')
    value = op[key]
    if key in ("path", "from") and not isinstance(value, str):
        raise PatchError(f'json patch "{key}" must be a string')
    return value


def _tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f'invalid JSON pointer "{pointer}": must start with "/"')
    tokens = []
    for raw in pointer[1:].split("/"):
        if "~" in raw.replace("~0", "").replace("~1", ""):
            raise PatchError(f'invalid JSON pointer "{pointer}": bad "~" escape')
        # ~1 first: "~01" is the literal "~1", not "/".
        tokens.append(raw.replace("~1", "/").replace("~0", "~"))
    return tokens


def _index(container: list, token: str, pointer: str, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        raise PatchError(f'invalid array index "{token}" in "{pointer}"')
    index = int(token)
    if index > len(container) or (index == len(container) and not allow_end):
        raise PatchError(f'array index {index} out of bounds in "{pointer}"')
    return index


def _parent(doc, pointer: str, name):
    tokens = _tokens(pointer)
    node = doc
    for token in tokens[:-1]:
        node = _step(node, token, pointer, name)
    return node, tokens[-1]


def _step(node, token: str, pointer: str, name):
    if isinstance(node, dict):
        if token not in node:
            raise PatchError(f'{name} operation does not apply: doc is missing path: "{pointer}"')
        return node[token]
    if isinstance(node, list):
        return node[_index(node, token, pointer, allow_end=False)]
    raise PatchError(f'{name} operation does not apply: "{pointer}" goes through a scalar')


def _get(doc, pointer: str, name):
    node = doc
    for token in _tokens(pointer):
        node = _step(node, token, pointer, name)
    return node


def _add(doc, pointer: str, value):
    if pointer == "":
        return value
    parent, token = _parent(doc, pointer, "add")
    if isinstance(parent, dict):
        parent[token] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, token, pointer, allow_end=True), value)
    else:
        raise PatchError(f'add operation does not apply: parent of "{pointer}" is not an object or array')
    return doc


def _remove(doc, pointer: str, name):
    """Remove the target and return (doc, removed value)."""
    if pointer == "":
        return None, doc
    parent, token = _parent(doc, pointer, name)
    if isinstance(parent, dict):
        if token not in parent:
            raise PatchError(f'{name} operation does not apply: doc is missing key: "{pointer}"')
        return doc, parent.pop(token)
    if isinstance(parent, list):
        return doc, parent.pop(_index(parent, token, pointer, allow_end=False))
    raise PatchError(f'{name} operation does not apply: parent of "{pointer}" is not an object or array')


def _json_equal(a, b) -> bool:
    # JSON has no bool/number overlap: true != 1, although Python says otherwise.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b  # 1 and 1.0 are the same JSON number
    return type(a) is type(b) and a == b


def _short_json(value) -> str:
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


# --- RFC 7386 JSON Merge Patch -------------------------------------------------------------------------------


def merge_patch(doc, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(doc) if isinstance(doc, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- Strategic merge patch -----------------------------------------------------------------------------------


def strategic_merge_patch(doc: dict, patch: dict, api_version: str, kind: str) -> dict:
    schema = schemas.schema_for(api_version, kind)
    if not isinstance(patch, dict):
        raise PatchError("strategic merge patch must be a JSON object")
    merged = _merge_map(copy.deepcopy(doc) if isinstance(doc, dict) else {}, patch, schema)
    if merged is None:
        raise PatchError('"$patch: delete" cannot delete the whole object')
    return merged


def _merge_map(original: dict, patch: dict, schema: dict | None):
    """Merge `patch` into `original` (owned by us, may be modified). None means "delete this map"."""
    node = schemas.resolve(schema)
    patch = dict(patch)
    directive = patch.pop(DIRECTIVE, None)
    if directive == "delete":
        return None
    if directive == "replace":
        return _merge_map({}, patch, schema)
    if directive not in (None, "merge"):
        raise PatchError(f"unknown patch type {directive!r} in map")

    if RETAIN_KEYS in patch:
        original = _retain_keys(original, patch, patch.pop(RETAIN_KEYS))

    orders = {}
    deletions = {}
    for key in list(patch):
        if key.startswith(SET_ELEMENT_ORDER):
            orders[key.removeprefix(SET_ELEMENT_ORDER)] = _directive_list(patch.pop(key), key)
        elif key.startswith(DELETE_FROM_PRIMITIVE_LIST):
            deletions[key.removeprefix(DELETE_FROM_PRIMITIVE_LIST)] = _directive_list(patch.pop(key), key)

    for key, value in patch.items():
        if key.startswith("$"):
            raise PatchError(f"unknown strategic merge patch directive {key!r}")
        field = schemas.property_schema(node, key)
        if value is None:
            original.pop(key, None)
        elif isinstance(value, dict):
            current = original.get(key)
            merged = _merge_map(current if isinstance(current, dict) else {}, value, field)
            if merged is None:
                original.pop(key, None)
            else:
                original[key] = merged
        elif isinstance(value, list):
            current = original.get(key)
            original[key] = _merge_list(
                current if isinstance(current, list) else [], value, field, orders.pop(key, None)
            )
        else:
            original[key] = value

    # An order directive without a list in the patch still reorders the live list (apply sends it when only
    # the order of existing elements changed).
    for key, order in orders.items():
        current = original.get(key)
        if isinstance(current, list) and _list_strategy(schemas.property_schema(node, key))[0]:
            original[key] = _merge_list(current, [], schemas.property_schema(node, key), order)
    for key, values in deletions.items():
        current = original.get(key)
        if isinstance(current, list):
            original[key] = [item for item in current if not any(_json_equal(item, v) for v in values)]
    return original


def _retain_keys(original: dict, patch: dict, retain) -> dict:
    keep = _directive_list(retain, RETAIN_KEYS)
    for key, value in patch.items():
        if not key.startswith("$") and value is not None and key not in keep:
            raise PatchError(f'key "{key}" is in the patch but missing from the $retainKeys list {keep}')
    return {key: value for key, value in original.items() if key in keep}


def _directive_list(value, name: str) -> list:
    if not isinstance(value, list):
        raise PatchError(f"{name} must be a list, got {_short_json(value)}")
    return value


def _list_strategy(field: dict | None) -> tuple[bool, str | None]:
    """(merge?, merge key) from the field's extensions; both live on the field, not on the item schema."""
    if not field:
        return False, None
    strategy = field.get("x-kubernetes-patch-strategy") or schemas.resolve(field).get(
        "x-kubernetes-patch-strategy", ""
    )
    merge_key = field.get("x-kubernetes-patch-merge-key") or schemas.resolve(field).get(
        "x-kubernetes-patch-merge-key"
    )
    return "merge" in strategy.split(","), merge_key


def _merge_list(original: list, patch: list, field: dict | None, order: list | None) -> list:
    merge, merge_key = _list_strategy(field)
    if not merge:
        return copy.deepcopy(patch)
    if all(not isinstance(item, dict) for item in original + patch):
        merged = _unique(original + patch)
        return _normalize_order(merged, patch, order, original, None)
    if not merge_key:
        raise PatchError("cannot merge lists of objects without a merge key")
    item_schema = schemas.resolve(field).get("items")

    patch_items = []
    for item in patch:
        if not isinstance(item, dict):
            raise PatchError(
                f"list with merge key {merge_key!r} has a non-object element {_short_json(item)}"
            )
        directive = item.get(DIRECTIVE)
        if directive == "replace":
            # The whole list is replaced by the other patch elements.
            rest = [other for other in patch if other is not item]
            return _merge_list([], rest, field, order)
        if directive == "delete":
            if merge_key not in item:
                raise PatchError(f"delete directive in a list element without the merge key {merge_key!r}")
            original = [
                o
                for o in original
                if not (isinstance(o, dict) and _json_equal(o.get(merge_key), item[merge_key]))
            ]
            continue
        if merge_key not in item:
            raise PatchError(
                f"list element {_short_json(item)} does not contain declared merge key {merge_key!r}"
            )
        patch_items.append(item)

    merged = list(original)
    for item in patch_items:
        position = _find(merged, merge_key, item[merge_key])
        if position is None:
            merged.append(_merge_map({}, item, item_schema))
        else:
            merged[position] = _merge_map(merged[position], item, item_schema)
    return _normalize_order(merged, patch_items, order, original, merge_key)


def _find(items: list, merge_key: str, value) -> int | None:
    for position, item in enumerate(items):
        if isinstance(item, dict) and _json_equal(item.get(merge_key), value):
            return position
    return None


def _unique(values: list) -> list:
    seen = []
    for value in values:
        if not any(_json_equal(value, s) for s in seen):
            seen.append(value)
    return seen


def _normalize_order(
    merged: list, patch: list, order: list | None, original: list, merge_key: str | None
) -> list:
    """Order as apimachinery does: $setElementOrder > order in the patch > order in the live list.

    Elements named by the order (or the patch) are sorted by it; elements only the server knows keep their
    live order and are interleaved by their live positions.
    """
    order = order if order is not None else patch

    def key_of(item):
        return item.get(merge_key) if merge_key and isinstance(item, dict) else item

    def position(items, item):
        wanted = key_of(item)
        for index, other in enumerate(items):
            if _json_equal(key_of(other), wanted):
                return index
        return -1

    named = [item for item in merged if position(order, item) >= 0]
    server_only = [item for item in merged if position(order, item) < 0]
    named.sort(key=lambda item: position(order, item))
    server_only.sort(key=lambda item: position(original, item))

    result = []
    i = j = 0
    while i < len(server_only) or j < len(named):
        if j >= len(named):
            result.append(server_only[i])
            i += 1
        elif i >= len(server_only):
            result.append(named[j])
            j += 1
        else:
            left, right = position(original, server_only[i]), position(original, named[j])
            if left >= 0 and right >= 0 and left < right:
                result.append(server_only[i])
                i += 1
            else:
                result.append(named[j])
                j += 1
    return result
