"""The landing page: start a playground, come back to the ones this browser opened, see the lessons.

No accounts: a playground's link is the key to it. The browser keeps the links it opened in a signed cookie (the
server's secret key signs it: a link cannot be slipped in, nor an old one kept past its removal).
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from cluster_core import playgrounds

REMEMBER = "kubeplay_playgrounds"
SALT = "kubeplay.playgrounds"
KEEP = 20  # links a browser remembers, newest first
YEAR = 365 * 24 * 3600


def remembered(request) -> list[str]:
    raw = request.get_signed_cookie(REMEMBER, default="", salt=SALT)
    return [link for link in raw.split(",") if link]


def remember(request, response: HttpResponse, link: str) -> HttpResponse:
    """Put `link` first in the browser's list (a reload, a closed tab or the landing page brings it back)."""
    links = remembered(request)
    if links[:1] != [link]:
        links = [link, *(x for x in links if x != link)][:KEEP]
        response.set_signed_cookie(REMEMBER, ",".join(links), salt=SALT, max_age=YEAR, httponly=True,
                                   samesite="Lax", secure=request.is_secure())
    return response


def share_links(request, pg, read_only: bool) -> dict:
    """The absolute links to hand out: the read-only one always; the full one only to whoever already has it."""
    out = {"watch": request.build_absolute_uri(reverse("page", args=[pg.read_token]))}
    if not read_only:
        out["full"] = request.build_absolute_uri(reverse("page", args=[pg.slug]))
    return out


def lesson_list() -> list[dict]:
    """The lessons in the repository's lesson files, in the page's language (none when lessons are not installed)."""
    try:
        from cluster_core.lessons import loader
    except ImportError:
        return []
    lang = "zh" if (get_language() or "").startswith("zh") else "en"
    return [{"slug": x.slug, "title": x.title[lang], "summary": x.summary[lang], "steps": len(x.steps)}
            for x in loader.lessons().values()]


def _open_lesson(pg, slug: str) -> None:
    """Begin the chosen lesson in the new playground, so its panel opens on the first step."""
    try:
        from cluster_core.lessons import checker, loader
    except ImportError:
        return
    if loader.get(slug) is not None:
        checker.start(pg, slug)


def _landing(request, error: str = "", status: int = 200):
    mine = []
    for link in remembered(request):
        access = playgrounds.find(link)
        if access is not None:
            mine.append(access)
    default = playgrounds.find(playgrounds.DEFAULT)
    return render(request, "playground/landing.html", {
        "mine": mine,
        "default": default if default and not any(a.playground.pk == default.playground.pk for a in mine) else None,
        "lessons": lesson_list(),
        "error": error,
    }, status=status)


@require_safe
def index(request):
    return _landing(request)


@require_POST
def start(request):
    """Start a new playground and open it."""
    try:
        pg = playgrounds.start()
        if request.POST.get("lesson"):
            _open_lesson(pg, request.POST["lesson"])
    except playgrounds.Full as full:
        return _landing(request, _("This server already runs its maximum of %(cap)s playgrounds. Open one you "
                                   "already have, or try again once unused ones have been removed.")
                        % {"cap": full.cap}, status=503)
    return remember(request, redirect("page", slug=pg.slug), pg.slug)
