"""Which playground a link opens, and what it may do there.

Every view that names a playground in its URL finds it here. The playground's own link may do everything; its
read-only link may only watch: a view that changes something, or hands out the kubeconfig or anything that shows
the full link, refuses it with a readable 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from cluster_core import playgrounds
from cluster_core.models import Playground

from .classroom import classes


def playground_for(request, link: str, write: bool = True) -> Playground:
    access = playgrounds.find(link)
    if access is None:
        raise Http404(_("No playground has this link. It may have been removed after a long time unused."))
    if write and access.read_only:
        raise PermissionDenied(_("This is a read-only link: it can watch this playground, not change it. "
                                 "Ask whoever shared it for the full link."))
    if write and classes.is_ended_playground(access.playground):
        raise PermissionDenied(_("This playground's class has ended: it can be watched, not changed, until it is "
                                 "removed."))
    playgrounds.touch(access.playground)
    request.read_only = access.read_only
    return access.playground
