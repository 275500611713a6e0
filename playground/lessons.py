"""The lesson panel: thin views over `cluster_core.lessons` (GET renders, POSTs open a lesson, run a step's page
action, store a prediction) and the failure buttons (`cluster_core.failures`). Whether a step is done is never
decided here: only the lesson checker marks steps, from the cluster's state."""

from __future__ import annotations

import re

from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from cluster_core import actions, failures
from cluster_core.lessons import checker, checks, loader
from cluster_core.models import LessonProgress, Playground

from .access import playground_for

_PLACEHOLDER = re.compile(r"\{(nodeport|pod):([a-z0-9-]+)\}")


def lang_key() -> str:
    return "zh" if (get_language() or "").startswith("zh") else "en"


def fill(line: str, cluster: checks.Cluster) -> str:
    """A command with its live values: `{nodeport:test1}` → the Service's NodePort, `{pod:web}` → a pod's name."""

    def value(m: re.Match) -> str:
        what, name = m.groups()
        if what == "nodeport":
            svc = cluster.services.get(name) or {}
            ports = (svc.get("spec") or {}).get("ports") or []
            return str(ports[0].get("nodePort")) if ports and ports[0].get("nodePort") else "NODEPORT"
        pods = checks.select_pods({"of": name}, cluster)
        return pods[0]["metadata"]["name"] if pods else f"{name}-POD"

    return _PLACEHOLDER.sub(value, line)


def _shown(request, pg: Playground) -> tuple[loader.Lesson | None, LessonProgress | None]:
    wanted = request.GET.get("lesson") or request.POST.get("lesson") or ""
    progress = LessonProgress.objects.filter(playground=pg)
    if wanted:
        return loader.get(wanted), progress.filter(lesson=wanted).first()
    latest = progress.order_by("-started_at", "-id").first()
    return (loader.get(latest.lesson), latest) if latest else (None, None)


def panel_context(request, pg: Playground) -> dict:
    lang = lang_key()
    lesson, progress = _shown(request, pg)
    listing = [{"slug": x.slug, "title": x.title[lang], "summary": x.summary[lang], "steps": len(x.steps)}
               for x in loader.lessons().values()]
    read_only = bool(getattr(request, "read_only", False))
    ctx = {"pg": pg, "lessons": listing, "lesson": None, "failures": failures.state(pg), "read_only": read_only,
           "link": pg.read_token if read_only else pg.slug}
    if lesson is None:
        return ctx
    done = progress.done if progress else {}
    hints = progress.hints if progress else {}
    predictions = progress.predictions if progress else {}
    cluster = checks.observe(pg)
    steps, current = [], None
    for n, step in enumerate(lesson.steps, 1):
        is_done = step.id in done
        if not is_done and current is None:
            current = step.id
        q = step.question
        prediction = predictions.get(q.id) if q else None
        steps.append({
            "n": n, "id": step.id, "title": step.title[lang], "text": step.text[lang], "done": is_done,
            "commands": [fill(c, cluster) for c in step.commands],
            "kubectl": [fill(c, cluster) for c in step.kubectl],
            "action": bool(step.action), "tour": step.tour,
            "hints": [h.text[lang] for h in step.hints if h.when is None],
            "wrong": [step.hints[i].text[lang] for i in hints.get(step.id, []) if i < len(step.hints)],
            "question": {"id": q.id, "text": q.text[lang], "choices": q.choices, "explain": q.explain[lang],
                         "prediction": prediction} if q else None,
        })
    for s in steps:
        s["current"] = s["id"] == current
    return {**ctx, "lesson": {"slug": lesson.slug, "title": lesson.title[lang], "summary": lesson.summary[lang],
                              "components": [{**c, "text": c["text"][lang]} for c in lesson.components]},
            "started": progress is not None, "steps": steps,
            "done_count": sum(1 for s in steps if s["done"]), "total": len(steps)}


def _panel(request, pg: Playground):
    return render(request, "playground/_lesson_panel.html", panel_context(request, pg))


@require_GET
def panel(request, slug):
    return _panel(request, playground_for(request, slug, write=False))


@require_POST
def start(request, slug):
    pg = playground_for(request, slug)
    lesson = loader.get(request.POST.get("lesson") or "")
    if lesson is None:
        return render(request, "playground/_lesson_panel.html", {**panel_context(request, pg),
                                                              "error": _("There is no such lesson.")}, status=422)
    checker.start(pg, lesson.slug)
    return _panel(request, pg)


@require_POST
def predict(request, slug):
    pg = playground_for(request, slug)
    lesson = loader.get(request.POST.get("lesson") or "")
    step = lesson.step(request.POST.get("step") or "") if lesson else None
    progress = LessonProgress.objects.filter(playground=pg, lesson=lesson.slug).first() if lesson else None
    answer = request.POST.get("answer") or ""
    if step is None or step.question is None or progress is None or answer not in step.question.choices:
        return render(request, "playground/_lesson_panel.html", {**panel_context(request, pg),
                                                              "error": _("Choose one of the answers.")}, status=422)
    if step.id in progress.done or (progress.predictions.get(step.question.id) or {}).get("actual") is not None:
        return render(request, "playground/_lesson_panel.html", {
            **panel_context(request, pg), "error": _("The cluster has already answered this question.")},
            status=422)
    checker.predict(pg, progress, step.question, answer)
    return _panel(request, pg)


def do_action(pg: Playground, action: dict) -> actions.ActionResult:
    """A step's page action: the same `cluster_core.actions` the page's forms call (the images a lesson names are
    taken as they are: a lesson may ask for a typo on purpose)."""
    cluster = checks.observe(pg)
    what = action["do"]
    if what == "deploy":
        return actions.deploy(pg, action["name"], action["image"], int(action.get("replicas", 1)), any_image=True)
    if what == "expose":
        return actions.expose(pg, action["name"], int(action.get("port", 80)), type=action.get("type", "NodePort"))
    if what == "scale":
        return actions.scale(pg, action["name"], int(action["replicas"]))
    if what == "set-image":
        return actions.set_image(pg, action["name"], action["image"], any_image=True)
    if what == "rollback":
        return actions.rollback(pg, action["name"])
    if what == "delete-pod":
        return actions.delete(pg, "pod", fill(f"{{pod:{action['of']}}}", cluster))
    if what == "delete-service":
        return actions.delete(pg, "service", action["name"])
    if what == "curl":
        return actions.curl(pg, fill(action["target"], cluster))
    if what == "label-pod":
        return actions.label(pg, "pod", fill(f"{{pod:{action['of']}}}", cluster), action["label"])
    if what == "power-off":
        return failures.power_off(pg, action["node"])
    if what == "power-on":
        return failures.power_on(pg, action["node"])
    if what == "stop":
        return failures.stop_component(pg, action["component"])
    return failures.start_component(pg, action["component"])


def _result(request, result: actions.ActionResult, action: str):
    response = render(request, "playground/_result.html", {"result": result, "action": action},
                      status=200 if result.ok else 422)
    return trigger_client_event(response, "kubeplay:action", {"ok": result.ok, "action": action})


@require_POST
def do(request, slug):
    pg = playground_for(request, slug)
    lesson = loader.get(request.POST.get("lesson") or "")
    step = lesson.step(request.POST.get("step") or "") if lesson else None
    if step is None or step.action is None:
        return _result(request, actions.ActionResult(False, error=_("This step has no page action.")), "lesson")
    return _result(request, do_action(pg, step.action), "lesson")


FAILURES = {"power-off": "node", "power-on": "node", "stop": "component", "start": "component"}


@require_POST
def failure(request, slug):
    pg = playground_for(request, slug)
    what = request.POST.get("what") or ""
    if what not in FAILURES:
        return _result(request, actions.ActionResult(False, error=_("Unknown failure.")), "failure")
    target = (request.POST.get(FAILURES[what]) or "").strip()
    return _result(request, do_action(pg, {"do": what, FAILURES[what]: target}), "failure")
