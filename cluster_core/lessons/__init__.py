"""Lessons: self-guided walkthroughs written as data (`data/*.yaml`, one file a lesson), whose steps carry a
declarative check over the cluster's state. `loader` reads and validates the files, `checks` evaluates a
condition against an observed cluster (pure), `checker` is the loop that watches the change feed of every
playground with a lesson open and records, in `LessonProgress`, the moment each step is reached."""
