"""A class and its students. No accounts: three kinds of key.

- the instructor link (`instructor_token`): whoever holds it is the instructor (console, follow me, reset, end);
- the join link (`join_token`) and the short join code (`code`): they let someone join, nothing else;
- a student's key (`Student.key`): kept by the student's browser (signed cookie); it opens that student's own
  playground and the class's live messages to them (follow, blank, push to a step), and raises their hand.
"""

from __future__ import annotations

import secrets

from django.db import models

from cluster_core import clock
from cluster_core.models import Playground, new_link

# A projector's code: no look-alikes (0/O/D/Q, 1/I/L, 2/Z, 5/S, 8/B, 6/G, U/V) and no vowels that spell words.
CODE_ALPHABET = "34679ACFHJKMNPRTWXY"
CODE_LENGTH = 6


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class Classroom(models.Model):
    instructor_token = models.CharField(max_length=64, unique=True, default=new_link)
    join_token = models.CharField(max_length=64, unique=True, default=new_link)
    code = models.CharField(max_length=CODE_LENGTH, unique=True)
    lesson = models.CharField(max_length=63)
    # The instructor's own cluster: what "Follow me" shows everyone.
    playground = models.ForeignKey(Playground, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=clock.now)
    stuck_minutes = models.PositiveIntegerField(default=5)
    # What every student page shows: its own playground, or (following) the instructor's or one student's cluster.
    following = models.BooleanField(default=False)
    spotlight = models.ForeignKey("Student", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    blank = models.BooleanField(default=False)
    pushed_step = models.CharField(max_length=63, blank=True, default="")
    show_join = models.BooleanField(default=True)  # the join code and QR on the presenter's screen
    ended_at = models.DateTimeField(null=True, blank=True)
    keep_until = models.DateTimeField(null=True, blank=True, db_index=True)

    def __str__(self) -> str:
        return self.code

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    def followed_playground(self) -> Playground | None:
        """The cluster every student page shows now, or None when each student is on their own."""
        if not self.following:
            return None
        return self.spotlight.playground if self.spotlight_id else self.playground


class Student(models.Model):
    classroom = models.ForeignKey(Classroom, on_delete=models.CASCADE, related_name="students")
    name = models.CharField(max_length=40)
    key = models.CharField(max_length=64, unique=True, default=new_link)
    playground = models.OneToOneField(Playground, on_delete=models.CASCADE, related_name="student")
    joined_at = models.DateTimeField(default=clock.now)
    hand_raised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["joined_at", "id"]

    def __str__(self) -> str:
        return self.name
