"""Thin views of a class: start it, join it (by link or code), the instructor's console and controls, presenter
mode, a student's raised hand. Every instructor view takes the instructor link: the join link, the code or a
student's key name the same class but are refused (403) there; a key nobody holds is a 404."""

from __future__ import annotations

import segno
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh

from cluster_core import playgrounds, runtime
from cluster_core.lessons import loader
from cluster_core.models import Playground
from cluster_core.tempo import set_paused, set_tempo

from .. import landing
from . import classes, pages, tiles
from .models import Classroom, Student

YEAR = 365 * 24 * 3600


# ---------------------------------------------------------------------------------------------------------------
# Keys


def instructor_for(request, token: str) -> Classroom:
    found = classes.find(token)
    if found is None:
        raise Http404(_("No class has this link. It may have ended and been removed."))
    if found.role != "instructor":
        raise PermissionDenied(_("Only the class's instructor can do this: it needs the instructor link."))
    request.lang = tiles.lang_key(request.LANGUAGE_CODE)
    return found.classroom


my_students = pages.student_keys


def remember_student(request, response, key: str):
    keys = [key, *(k for k in my_students(request) if k != key)][:20]
    response.set_signed_cookie(pages.REMEMBER, ",".join(keys), salt=pages.SALT, max_age=YEAR, httponly=True, samesite="Lax",
                               secure=request.is_secure())
    return response


def qr_svg(text: str, scale: int = 4) -> str:
    """The link as a QR code drawn in SVG, inline in the page (no image request, no script); a viewBox and no fixed
    size, so the page's CSS sizes it (small on the console, large on the projector)."""
    return mark_safe(segno.make(text, error="m").svg_inline(scale=scale, border=2, dark="#000", light="#fff",
                                                            omitsize=True))


def join_links(request, room: Classroom) -> dict:
    join = request.build_absolute_uri(reverse("class-join", args=[room.join_token]))
    return {"join_url": join, "qr": qr_svg(join),
            "instructor_url": request.build_absolute_uri(reverse("class-console", args=[room.instructor_token]))}


# ---------------------------------------------------------------------------------------------------------------
# Starting and joining


@require_POST
def start(request):
    """Start a class for the chosen lesson and open its console."""
    lesson = (request.POST.get("lesson") or "").strip()
    try:
        stuck = int(request.POST.get("stuck") or 5)
    except ValueError:
        stuck = 5
    if loader.get(lesson) is None:
        return landing._landing(request, _("Choose a lesson for the class."), status=400)
    try:
        room = classes.start(lesson, stuck_minutes=stuck)
    except playgrounds.Full as full:
        return landing._landing(request, _("This server already runs its maximum of %(cap)s playgrounds. Open one "
                                           "you already have, or try again once unused ones have been removed.")
                                % {"cap": full.cap}, status=503)
    return redirect("class-console", token=room.instructor_token)


@require_POST
def join_code(request):
    """The join code typed on the start page."""
    code = classes.normal_code(request.POST.get("code", ""))
    room = Classroom.objects.filter(code=code).first() if classes.is_code(code) else None
    if room is None:
        return landing._landing(request, _("No class has the code “%(code)s”. Check the code on the instructor's "
                                           "screen.") % {"code": request.POST.get("code", "")[:20]}, status=404)
    return redirect("class-join", token=room.join_token)


def _joined(request, room: Classroom) -> Student | None:
    keys = my_students(request)
    return Student.objects.filter(classroom=room, key__in=keys).select_related("playground").first() if keys else None


def join(request, token):
    """GET: the name form (or back to this browser's playground in the class); POST: join with that name."""
    found = classes.find(token)
    if found is None or found.role == "student":
        raise Http404(_("No class has this link. It may have ended and been removed."))
    room = found.classroom
    mine = _joined(request, room)
    if mine is not None:
        return redirect("page", slug=mine.playground.read_token if room.ended else mine.playground.slug)
    lesson = loader.get(room.lesson)
    ctx = {"room": room, "lesson_title": lesson.title[tiles.lang_key(request.LANGUAGE_CODE)] if lesson else "",
           "error": "", "name": ""}
    if request.method == "POST":
        name = (request.POST.get("name") or "").strip()
        if room.ended:
            ctx["error"] = _("This class has ended.")
        elif not classes.valid_name(name):
            ctx["error"] = _("Give a name of 1 to %(n)s letters, as the instructor will see it.") % {
                "n": classes.NAME_LENGTH}
            ctx["name"] = name[:classes.NAME_LENGTH]
        else:
            try:
                student = classes.join(room, name)
            except playgrounds.Full as full:
                ctx["error"] = _("This server already runs its maximum of %(cap)s playgrounds.") % {"cap": full.cap}
            else:
                response = redirect("page", slug=student.playground.slug)
                landing.remember(request, response, student.playground.slug)
                return remember_student(request, response, student.key)
        return render(request, "classroom/join.html", ctx, status=400)
    return render(request, "classroom/join.html", ctx)


@require_POST
def hand(request, key):
    """A student raises or lowers their hand (their own key only)."""
    found = classes.find(key)
    if found is None or found.role != "student":
        raise Http404(_("No class has this link. It may have ended and been removed."))
    classes.raise_hand(found.student, request.POST.get("up") == "1")
    return render(request, "classroom/_hand.html", {"student": found.student})


# ---------------------------------------------------------------------------------------------------------------
# The instructor


def _console_context(request, room: Classroom) -> dict:
    lesson = loader.get(room.lesson)
    lang = tiles.lang_key(request.LANGUAGE_CODE)
    students = list(room.students.select_related("playground"))
    rendered = [tiles.render_tile(s, room, request.LANGUAGE_CODE)[1] for s in students]
    return {"room": room, "lesson": lesson, "lesson_title": lesson.title[lang] if lesson else room.lesson,
            "steps": [(s.id, f"{n}. {s.title[lang]}") for n, s in enumerate(lesson.steps, 1)] if lesson else [],
            "tiles": rendered, "students": students, "tempos": _tempos(), "followed": room.followed_playground(),
            **join_links(request, room)}


def _tempos() -> list[tuple[str, str]]:
    from ..views import tempo_choices

    return tempo_choices()


@require_GET
def console(request, token):
    room = instructor_for(request, token)
    return render(request, "classroom/console.html", _console_context(request, room))


@require_GET
def controls(request, token):
    """The console's control bar, after a change (htmx swaps it in)."""
    room = instructor_for(request, token)
    return render(request, "classroom/console.html#controls", _console_context(request, room))


def _controls(request, room: Classroom):
    room.refresh_from_db()
    return render(request, "classroom/console.html#controls", _console_context(request, room))


@require_POST
def follow(request, token):
    """"Follow me", "Show this student's cluster to everyone", or release everyone to their own playground."""
    room = instructor_for(request, token)
    what = request.POST.get("what", "")
    if room.ended:
        raise PermissionDenied(_("This class has ended."))
    if what == "me":
        classes.follow_me(room)
    elif what == "release":
        classes.release(room)
    else:
        student = room.students.filter(pk=_int(what)).first()
        if student is None:
            raise Http404(_("No such student in this class."))
        classes.show_student(room, student)
    return _controls(request, room)


def _int(text: str) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return 0


@require_POST
def blank(request, token):
    room = instructor_for(request, token)
    classes.set_blank(room, request.POST.get("on") == "1")
    return _controls(request, room)


@require_POST
def push(request, token):
    room = instructor_for(request, token)
    try:
        classes.push_step(room, request.POST.get("step", ""))
    except ValueError:
        ctx = _console_context(request, room)
        ctx["error"] = _("The lesson has no such step.")
        return render(request, "classroom/console.html#controls", ctx, status=422)
    return _controls(request, room)


@require_POST
def show_join(request, token):
    room = instructor_for(request, token)
    classes.show_join(room, request.POST.get("on") == "1")
    return _controls(request, room)


@require_POST
def tempo(request, token):
    """Tempo, pause and single step of the cluster the room follows (the instructor's own when nobody follows)."""
    room = instructor_for(request, token)
    pg = room.followed_playground() or room.playground
    what = request.POST.get("tempo", "")
    if what in dict(Playground.TEMPOS):
        set_tempo(pg, what)
    elif what == "pause":
        set_paused(pg, True)
    elif what == "resume":
        set_paused(pg, False)
    elif what == "step":
        set_paused(pg, True)
        pg.refresh_from_db()
        runtime.run_once(pg)
    return _controls(request, room)


@require_POST
def reset_student(request, token, student):
    room = instructor_for(request, token)
    found = room.students.filter(pk=student).select_related("playground", "classroom").first()
    if found is None:
        raise Http404(_("No such student in this class."))
    classes.reset_student(found)
    return _controls(request, room)


@require_POST
def end(request, token):
    room = instructor_for(request, token)
    if not room.ended:
        classes.end(room)
    return HttpResponseClientRefresh()


@require_GET
def present(request, token):
    """Presenter mode: the followed cluster (the instructor's own unless a student's is shown), drawing and story
    only, large, for the projector; the join code and QR until the instructor hides them."""
    from .. import views as page_views

    room = instructor_for(request, token)
    pg = room.followed_playground() or room.playground
    request.presenter = {"room": room, **join_links(request, room)}
    return page_views.page(request, pg.read_token)
