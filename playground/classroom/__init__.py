"""Instructor-led classes: a class joins by link or code, the instructor's console sees every student's playground,
the room follows the instructor's cluster. Built on playgrounds (one per student) and lessons (progress per
playground, from the change feed)."""
