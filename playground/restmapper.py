"""Which served resource a word on kubectl's command line names: kubectl's shortcut expander and RESTMapper over this
server's own discovery (`cluster_core.api.discovery`), so every kind the API serves is spelled as kubectl spells it.

A word is a plural, a singular or a short name, in any case, optionally qualified by its group (`deploy.apps`,
`leases.coordination.k8s.io`) or by version and group (`deployments.v1.apps`, `pods.v1.`). A short name two groups
share goes to the group of higher priority, with kubectl's warning naming the other. A category (`all`) expands to
its resources in discovery order.
"""

from __future__ import annotations

from cluster_core.api import discovery
from cluster_core.api.resources import Resource, find


def _served() -> list[discovery.ResourceInfo]:
    """Discovery's resources, highest group priority first (the order kubectl's priority mapper tries them in)."""
    order = {group: i for i, group in enumerate(discovery.GROUP_ORDER)}
    return sorted((r for r in discovery.RESOURCES if find(r.group, r.version, r.plural) is not None),
                  key=lambda r: order.get(r.group, len(order)))


def _candidates(word: str) -> list[tuple[str, str | None, str | None]]:
    """schema.ParseResourceArg: `resource.version.group` first, then `resource.group` (None: not given)."""
    word = word.lower()
    if "." not in word:
        return [(word, None, None)]
    out = []
    parts = word.split(".", 2)
    if len(parts) == 3:
        out.append((parts[0], parts[1], parts[2]))
    resource, _, group = word.partition(".")
    out.append((resource, None, group))
    return out


def _resource(info: discovery.ResourceInfo) -> Resource:
    return find(info.group, info.version, info.plural)


def resolve(word: str) -> tuple[Resource | None, list[str]]:
    """The resource `word` names (None if the server has no such resource type) and kubectl's warnings."""
    served = _served()
    for name, version, group in _candidates(word):
        fits = [r for r in served if (group is None or r.group == group) and (version is None or r.version == version)]
        for r in fits:
            if name in (r.plural, r.singular):
                return _resource(r), []
        short = [r for r in fits if name in r.short_names]
        if short:
            chosen = short[0]
            warnings = [f'Warning: short name "{name}" could also match lower priority resource {r.group_resource}'
                        for r in short[1:] if (r.group, r.plural) != (chosen.group, chosen.plural)]
            return _resource(chosen), warnings
        if group:
            # "we didn't find exact match so match on group prefixing": `deploy.app` names deployments.apps.
            for r in served:
                if r.group.startswith(group) and name in r.short_names:
                    return _resource(r), []
    return None, []


def category(name: str) -> list[Resource]:
    """The resources of a category (`all`), in discovery order; empty if no resource is in it."""
    return [_resource(r) for r in _served() if name in r.categories]
