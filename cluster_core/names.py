"""Names the way Kubernetes makes them: random suffixes and the pod-template-hash."""

from __future__ import annotations

import json
import random

from . import jsontext

# Kubernetes' rand.String alphabet: no vowels (no accidental words) and no confusable characters.
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"

_rng = random.Random()


def seed(n: int) -> None:
    _rng.seed(n)


def random_suffix(n: int = 5) -> str:
    return "".join(_rng.choice(ALPHANUMS) for _ in range(n))


def safe_encode(s: str) -> str:
    return "".join(ALPHANUMS[ord(c) % len(ALPHANUMS)] for c in s)


def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def canonical(obj) -> str:
    """A stable rendering of a JSON value with empty values dropped, so equal templates hash equally."""
    return json.dumps(prune_empty(obj), sort_keys=True, separators=(",", ":"))


def prune_empty(obj):
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            v = prune_empty(v)
            if v in (None, {}, []):
                continue
            out[k] = v
        return out
    if isinstance(obj, list):
        return [prune_empty(v) for v in obj]
    return obj


def pod_template_hash(template: dict, collision_count: int = 0) -> str:
    """Stable hash of a pod template (without its own pod-template-hash label), encoded like ComputeHash."""
    t = jsontext.copy(template)
    labels = (t.get("metadata") or {}).get("labels") or {}
    labels.pop("pod-template-hash", None)
    data = canonical(t)
    if collision_count:
        data += str(collision_count)
    return safe_encode(str(fnv32a(data.encode())))


def templates_equal(a: dict, b: dict) -> bool:
    """Semantic equality of pod templates, ignoring pod-template-hash and null/empty noise."""

    def strip(t):
        t = jsontext.copy(t or {})
        labels = (t.get("metadata") or {}).get("labels") or {}
        labels.pop("pod-template-hash", None)
        (t.get("metadata") or {}).pop("creationTimestamp", None)
        return canonical(t)

    return strip(a) == strip(b)
