"""Reading lesson files: YAML a teacher writes without Python (see `data/README.md` for the format).

A file is validated when it is loaded: a step without English and Chinese text, an unknown condition or an
unknown page action is an error naming the file and the step, so a broken lesson never reaches a learner.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .checks import CONDITIONS, validate

DATA = Path(__file__).resolve().parent / "data"
LANGUAGES = ("en", "zh")
# Page actions a step may offer, with the fields each takes (see `playground.lessons.do_action`).
ACTIONS = {
    "deploy": {"name", "image", "replicas"},
    "expose": {"name", "port", "type"},
    "scale": {"name", "replicas"},
    "set-image": {"name", "image"},
    "rollback": {"name"},
    "delete-pod": {"of"},
    "delete-service": {"name"},
    "curl": {"target"},
    "label-pod": {"of", "label"},
    "power-off": {"node"},
    "power-on": {"node"},
    "stop": {"component"},
    "start": {"component"},
}


class LessonError(ValueError):
    pass


@dataclass(frozen=True)
class Question:
    id: str
    text: dict
    choices: tuple[str, ...]
    answer: dict  # {"scheduled": "<deployment>"} or {"peak": "<deployment>"}
    explain: dict


@dataclass(frozen=True)
class Hint:
    text: dict
    when: dict | None = None


@dataclass(frozen=True)
class Step:
    id: str
    title: dict
    text: dict
    check: dict
    commands: tuple[str, ...] = ()
    kubectl: tuple[str, ...] = ()
    action: dict | None = None
    after: tuple[str, ...] = ()
    hints: tuple[Hint, ...] = ()
    question: Question | None = None
    tour: bool = False


@dataclass(frozen=True)
class Lesson:
    slug: str
    order: int
    title: dict
    summary: dict
    steps: tuple[Step, ...]
    components: tuple[dict, ...] = field(default_factory=tuple)

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)


def _text(value, where: str) -> dict:
    if not isinstance(value, dict) or any(not isinstance(value.get(lang), str) or not value[lang].strip()
                                          for lang in LANGUAGES):
        raise LessonError(f"{where}: needs text in English and Chinese (keys en and zh)")
    return {lang: value[lang].strip() for lang in LANGUAGES}


def _lines(value, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LessonError(f"{where}: a command or a list of commands")
    return tuple(value)


def _step(raw: dict, where: str, ids: set[str]) -> Step:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        raise LessonError(f"{where}: every step needs an id")
    where = f"{where} ({raw['id']})"
    if raw["id"] in ids:
        raise LessonError(f"{where}: the id is used twice")
    check = raw.get("check")
    if not isinstance(check, dict) or not check:
        raise LessonError(f"{where}: needs a check")
    validate(check, f"{where} check")
    action = raw.get("action")
    if action is not None:
        if not isinstance(action, dict) or action.get("do") not in ACTIONS:
            raise LessonError(f"{where}: action.do must be one of {', '.join(ACTIONS)}")
        extra = set(action) - {"do"} - ACTIONS[action["do"]]
        if extra:
            raise LessonError(f"{where}: action {action['do']} takes no {', '.join(sorted(extra))}")
    after = tuple(raw.get("after") or ())
    unknown = [a for a in after if a not in ids]
    if unknown:
        raise LessonError(f"{where}: after names steps that do not come before it: {', '.join(unknown)}")
    hints = []
    for i, h in enumerate(raw.get("hints") or []):
        when = h.get("when") if isinstance(h, dict) else None
        if when is not None:
            validate(when, f"{where} hint {i + 1}")
        hints.append(Hint(_text((h or {}).get("text"), f"{where} hint {i + 1}"), when))
    question = None
    if raw.get("question"):
        q = raw["question"]
        answer = q.get("answer") or {}
        if set(answer) - {"scheduled", "peak"} or len(answer) != 1:
            raise LessonError(f"{where}: a question's answer is {{scheduled: NAME}} or {{peak: NAME}}")
        question = Question(str(q.get("id") or raw["id"]), _text(q.get("text"), f"{where} question"),
                            tuple(str(c) for c in q.get("choices") or ()), answer,
                            _text(q.get("explain"), f"{where} question explain"))
    return Step(raw["id"], _text(raw.get("title"), f"{where} title"), _text(raw.get("text"), f"{where} text"),
                check, _lines(raw.get("commands"), where), _lines(raw.get("kubectl"), where), action, after,
                tuple(hints), question, bool(raw.get("tour")))


def parse(text: str, slug: str) -> Lesson:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LessonError(f"{slug}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("steps"), list) or not raw["steps"]:
        raise LessonError(f"{slug}: a lesson is a mapping with a list of steps")
    ids: set[str] = set()
    steps = []
    for i, s in enumerate(raw["steps"]):
        step = _step(s, f"{slug} step {i + 1}", ids)
        ids.add(step.id)
        steps.append(step)
    components = []
    for c in raw.get("components") or []:
        components.append({"id": str(c.get("id")), "name": str(c.get("name")),
                           "text": _text(c.get("text"), f"{slug} component {c.get('id')}")})
    return Lesson(slug, int(raw.get("order") or 99), _text(raw.get("title"), f"{slug} title"),
                  _text(raw.get("summary"), f"{slug} summary"), tuple(steps), tuple(components))


@functools.cache
def lessons() -> dict[str, Lesson]:
    """Every lesson in `data/`, by slug (the file name without `.yaml`), in their order."""
    found = [parse(p.read_text(encoding="utf-8"), p.stem) for p in sorted(DATA.glob("*.yaml"))]
    return {lesson.slug: lesson for lesson in sorted(found, key=lambda x: (x.order, x.slug))}


def get(slug: str) -> Lesson | None:
    return lessons().get(slug)


__all__ = ["ACTIONS", "CONDITIONS", "Lesson", "LessonError", "Step", "get", "lessons", "parse"]
