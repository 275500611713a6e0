"""What a playground's page shows of a class: a student's bar (raise hand, the class's live messages) on the
student's own playground and on the cluster the class follows; the presenter's extras in presenter mode."""

from __future__ import annotations

from cluster_core.models import Playground

from .models import Student

REMEMBER = "kubeplay_class"
SALT = "kubeplay.classroom"


def student_keys(request) -> list[str]:
    raw = request.get_signed_cookie(REMEMBER, default="", salt=SALT)
    return [k for k in raw.split(",") if k]


def student_on(request, pg: Playground) -> Student | None:
    """The student (of this browser) whose page this is: their own playground, or the one their class follows."""
    keys = student_keys(request)
    if not keys:
        return None
    for student in Student.objects.filter(key__in=keys).select_related("classroom", "classroom__spotlight"):
        room = student.classroom
        if student.playground_id == pg.pk:
            return student
        if room.following and not room.ended:
            followed = room.spotlight.playground_id if room.spotlight_id else room.playground_id
            if followed == pg.pk:
                return student
    return None


def page_context(request, pg: Playground) -> dict:
    presenter = getattr(request, "presenter", None)
    return {"presenter": presenter, "class_student": None if presenter else student_on(request, pg)}
