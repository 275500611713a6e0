"""What a class does: start one, find it by one of its keys, join it, and the instructor's controls.

Every control writes the class row and then, after commit, tells the room (`notify`): the students' pages hear
the class's state again (`class.state` on the class group) and decide where to be from it — their own playground,
the followed cluster (read-only), a blank screen — so a page that reconnects or reloads lands where the room is.
The instructor's consoles hear the same on the console group, and each student's playground feed group for the
tiles (see `consumers`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import IntegrityError, transaction

from cluster_core import clock, playgrounds
from cluster_core.lessons import checker, loader
from cluster_core.models import Playground, new_token

from .models import CODE_ALPHABET, CODE_LENGTH, Classroom, Student, new_code

NAME_LENGTH = 40


class Refused(Exception):
    """A key that belongs to the class but does not grant what was asked (a student at an instructor endpoint)."""


@dataclass(frozen=True)
class Found:
    classroom: Classroom
    role: str  # "instructor", "join" or "student"
    student: Student | None = None


def keep_for() -> dt.timedelta:
    """How long an ended class's playgrounds are kept, read-only."""
    return dt.timedelta(hours=float(getattr(settings, "KUBEPLAY_CLASS_KEEP_HOURS", 24)))


def class_group(classroom_id: int) -> str:
    return f"class-{classroom_id}"


def console_group(classroom_id: int) -> str:
    return f"class-{classroom_id}-console"


def normal_code(text: str) -> str:
    """A code as typed: case, spaces and dashes do not matter."""
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())


def is_code(text: str) -> bool:
    code = normal_code(text)
    return len(code) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in code)


def find(token: str) -> Found | None:
    """The class a key opens, and as whom: the instructor link, the join link or code, or a student's key."""
    if not token:
        return None
    room = Classroom.objects.filter(instructor_token=token).first()
    if room is not None:
        return Found(room, "instructor")
    room = Classroom.objects.filter(join_token=token).first()
    if room is None and is_code(token):
        room = Classroom.objects.filter(code=normal_code(token)).first()
    if room is not None:
        return Found(room, "join")
    student = Student.objects.select_related("classroom").filter(key=token).first()
    if student is not None:
        return Found(student.classroom, "student", student)
    return None


def start(lesson: str, stuck_minutes: int = 5) -> Classroom:
    """A new class for `lesson`, with the instructor's own playground (the lesson open in it too)."""
    if loader.get(lesson) is None:
        raise ValueError(lesson)
    pg = playgrounds.start()
    checker.start(pg, lesson)
    for _attempt in range(20):
        try:
            with transaction.atomic():
                return Classroom.objects.create(code=new_code(), lesson=lesson, playground=pg,
                                                stuck_minutes=max(1, stuck_minutes))
        except IntegrityError:
            continue  # the code is taken: draw another
    raise RuntimeError("no free join code")


def join(room: Classroom, name: str) -> Student:
    """A new student with their own playground, prepared for the class's lesson."""
    pg = playgrounds.start()
    checker.start(pg, room.lesson)
    student = Student.objects.create(classroom=room, name=name.strip()[:NAME_LENGTH], playground=pg)
    tell_consoles(room.pk, {"type": "class.joined", "student": student.pk, "playground": pg.pk})
    return student


def valid_name(name: str) -> bool:
    name = (name or "").strip()
    return 0 < len(name) <= NAME_LENGTH and name.isprintable()


# ---------------------------------------------------------------------------------------------------------------
# Telling the room


def _group_send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, message)


def tell_consoles(classroom_id: int, message: dict) -> None:
    transaction.on_commit(lambda: _group_send(console_group(classroom_id), message))


def notify(room: Classroom) -> None:
    """The class's state changed: every student page and every console of the class looks at it again."""
    transaction.on_commit(lambda: (_group_send(class_group(room.pk), {"type": "class.state"}),
                                   _group_send(console_group(room.pk), {"type": "class.state"})))


def _update(room: Classroom, **fields) -> Classroom:
    for k, v in fields.items():
        setattr(room, k, v)
    room.save(update_fields=list(fields))
    notify(room)
    return room


# ---------------------------------------------------------------------------------------------------------------
# The instructor's controls


def follow_me(room: Classroom) -> Classroom:
    return _update(room, following=True, spotlight=None)


def show_student(room: Classroom, student: Student) -> Classroom:
    return _update(room, following=True, spotlight=student)


def release(room: Classroom) -> Classroom:
    return _update(room, following=False, spotlight=None)


def set_blank(room: Classroom, on: bool) -> Classroom:
    return _update(room, blank=on)


def push_step(room: Classroom, step: str) -> Classroom:
    lesson = loader.get(room.lesson)
    if lesson is None or lesson.step(step) is None:
        raise ValueError(step)
    return _update(room, pushed_step=step)


def show_join(room: Classroom, on: bool) -> Classroom:
    return _update(room, show_join=on)


def end(room: Classroom, now: dt.datetime | None = None) -> Classroom:
    """End the class: every page goes back to its own playground, read-only; the playgrounds are kept for
    `keep_for()`, then removed. The kubeconfigs handed out stop working (each playground gets a new API token)."""
    now = now or clock.now()
    with transaction.atomic():
        for pk in [room.playground_id, *room.students.values_list("playground_id", flat=True)]:
            Playground.objects.filter(pk=pk).update(token=new_token())
        return _update(room, ended_at=now, keep_until=now + keep_for(), following=False, spotlight=None,
                       blank=False)


def is_ended_playground(pg: Playground) -> bool:
    """Whether the playground belongs to a class that has ended (then it only watches)."""
    return (Student.objects.filter(playground=pg, classroom__ended_at__isnull=False).exists()
            or Classroom.objects.filter(playground=pg, ended_at__isnull=False).exists())


def remove_expired(now: dt.datetime | None = None) -> int:
    """Remove the ended classes kept long enough, with every playground they hold."""
    removed = 0
    for room in Classroom.objects.filter(keep_until__lt=now or clock.now()):
        with transaction.atomic():
            pks = [room.playground_id, *room.students.values_list("playground_id", flat=True)]
            room.delete()
            Playground.objects.filter(pk__in=pks).delete()
            removed += 1
    return removed


def reset_student(student: Student) -> None:
    """The student's playground back to a fresh cluster, the lesson started over."""
    pg = playgrounds.reset(student.playground)
    room = student.classroom
    checker.start(pg, room.lesson)
    tell_consoles(room.pk, {"type": "class.student", "student": student.pk})


def raise_hand(student: Student, up: bool, now: dt.datetime | None = None) -> None:
    student.hand_raised_at = (now or clock.now()) if up else None
    student.save(update_fields=["hand_raised_at"])
    tell_consoles(student.classroom_id, {"type": "class.student", "student": student.pk})
    transaction.on_commit(lambda: _group_send(class_group(student.classroom_id), {"type": "class.state"}))
