"""Label selectors: the string form kubectl sends (`app=test1,tier!=db,env in (a,b),!k`) and LabelSelector objects."""

from __future__ import annotations

import re

from .errors import BadRequest

_TERM = re.compile(
    r"""\s*(?:
        (?P<notexists>!\s*(?P<nk>[^\s,!=()]+))
      | (?P<set>(?P<sk>[^\s,!=()]+)\s+(?P<op>in|notin)\s*\((?P<vals>[^)]*)\))
      | (?P<cmp>(?P<ck>[^\s,!=()]+)\s*(?P<cop>==|=|!=)\s*(?P<cv>[^\s,!=()]*))
      | (?P<exists>(?P<ek>[^\s,!=()]+))
    )\s*(?:,|$)""",
    re.X,
)


def parse_selector(text: str | None) -> list[tuple[str, str, tuple[str, ...]]]:
    """Parse a label selector string into requirements (key, op, values); op in =, !=, in, notin, exists, !."""
    reqs: list[tuple[str, str, tuple[str, ...]]] = []
    if not text:
        return reqs
    pos = 0
    while pos < len(text):
        m = _TERM.match(text, pos)
        if not m or m.end() == pos:
            raise BadRequest(f"unable to parse requirement: invalid label selector: {text!r}")
        if m.group("notexists"):
            reqs.append((m.group("nk"), "!", ()))
        elif m.group("set"):
            vals = tuple(v.strip() for v in m.group("vals").split(",") if v.strip())
            reqs.append((m.group("sk"), m.group("op"), vals))
        elif m.group("cmp"):
            op = "!=" if m.group("cop") == "!=" else "="
            reqs.append((m.group("ck"), op, (m.group("cv"),)))
        else:
            reqs.append((m.group("ek"), "exists", ()))
        pos = m.end()
    return reqs


def from_label_selector(sel: dict | None) -> list[tuple[str, str, tuple[str, ...]]]:
    """A metav1.LabelSelector (matchLabels + matchExpressions) as requirements."""
    if not sel:
        return []
    reqs = [(k, "=", (v,)) for k, v in sorted((sel.get("matchLabels") or {}).items())]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for e in sel.get("matchExpressions") or []:
        reqs.append((e["key"], ops.get(e.get("operator"), "in"), tuple(e.get("values") or ())))
    return reqs


def matches(reqs, labels: dict | None) -> bool:
    labels = labels or {}
    for key, op, vals in reqs:
        have = key in labels
        val = labels.get(key)
        if op == "=" and (not have or val != vals[0]):
            return False
        if op == "!=" and have and val == vals[0]:
            return False
        if op == "in" and (not have or val not in vals):
            return False
        if op == "notin" and have and val in vals:
            return False
        if op == "exists" and not have:
            return False
        if op == "!" and have:
            return False
    return True


def selector_matches(sel: dict | None, labels: dict | None) -> bool:
    """An empty LabelSelector matches nothing for controllers (Kubernetes: nil selects nothing)."""
    if not sel:
        return False
    return matches(from_label_selector(sel), labels)


def selector_string(sel: dict | None) -> str:
    """The selector as kubectl renders it (`app=test1`)."""
    out = []
    for key, op, vals in from_label_selector(sel):
        if op == "=":
            out.append(f"{key}={vals[0]}")
        elif op in ("in", "notin"):
            out.append(f"{key} {op} ({','.join(vals)})")
        elif op == "exists":
            out.append(key)
        else:
            out.append(f"!{key}")
    return ",".join(out)
