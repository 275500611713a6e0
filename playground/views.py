"""Thin views: GET never writes the cluster; a POST calls one action and returns a fragment."""

import asyncio
import logging

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST, require_safe
from django_htmx.http import HttpResponseClientRefresh, trigger_client_event

from cluster_core import actions, images, kubeconfig, pacing, playgrounds, runtime
from cluster_core.api import tls
from cluster_core.models import Change, Deployment, Playground, Service
from cluster_core.tempo import set_paused, set_tempo

from . import access, consumers, landing, lessons, story
from . import history as timeline
from .classroom import pages as classroom_pages

log = logging.getLogger(__name__)


def _database_ok() -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
        return cur.fetchone()[0] == 1


async def healthz(request):
    """200 when the database and the channel layer both answer."""
    checks = {}
    try:
        checks["database"] = await sync_to_async(_database_ok)()
    except Exception as exc:
        checks["database"] = False
        checks["database_error"] = str(exc)
    try:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "health.ping"})
        msg = await asyncio.wait_for(layer.receive(channel), timeout=2)
        checks["channel_layer"] = msg.get("type") == "health.ping"
    except Exception as exc:
        checks["channel_layer"] = False
        checks["channel_layer_error"] = str(exc)
    ok = checks["database"] is True and checks["channel_layer"] is True
    return JsonResponse({"ok": ok, **checks}, status=200 if ok else 503)


# ---------------------------------------------------------------------------------------------------------------
# The page


_playground = access.playground_for

index = landing.index
start = landing.start


def tempo_choices() -> list[tuple[str, str]]:
    return [("classroom", _("Slow motion (classroom)")), ("realtime", _("Realtime")), ("instant", _("Instant"))]


@require_safe
def page(request, slug):
    pg = _playground(request, slug, write=False)
    state = consumers.snapshot(pg)
    nodes = [o for o in state["objects"] if o["kind"] == "Node"]
    link = pg.read_token if request.read_only else pg.slug
    response = render(request, "playground/page.html", {
        "pg": pg,
        "link": link,
        "read_only": request.read_only,
        "share": landing.share_links(request, pg, request.read_only),
        "nodes": sorted(nodes, key=lambda n: (not n["master"], n["name"])),
        "images": images.known_names(),
        "tempos": tempo_choices(),
        "service_types": ["NodePort", "ClusterIP"],
        "phases": ["Pending", "ContainerCreating", "Running", "Terminating", "ErrImagePull"],
        "words": page_words(),
        "step_ms": int(pacing.CLASSROOM_STEP_SECONDS * 1000),
        **revision_choices(pg, "test1"),
        **lessons.panel_context(request, pg),
        **classroom_pages.page_context(request, pg),
    })
    return landing.remember(request, response, link)


def revision_choices(pg, name: str, chosen: str = "") -> dict:
    """The Deployment's revisions for the Rollback form (`kubectl rollout history`), newest first in the select."""
    result = actions.history(pg, name) if name else None
    revisions = (result.object or {}).get("revisions", []) if result and result.ok else []
    deployment = Deployment.objects.filter(playground=pg, namespace="default", name=name).first() if name else None
    current = (deployment.annotations or {}).get("deployment.kubernetes.io/revision") if deployment else None
    return {"revisions": revisions, "chosen": chosen, "current": int(current) if current else None}


@require_GET
def revisions(request, slug):
    """The Rollback form's revision select, for the deployment named in it."""
    pg = _playground(request, slug, write=False)
    return render(request, "playground/_revisions.html",
                  revision_choices(pg, _field_get(request, "name"), _field_get(request, "revision")))


def _field_get(request, name: str) -> str:
    return (request.GET.get(name) or "").strip()


def page_words() -> dict:
    """The few phrases the page's script writes itself, translated here."""
    return {
        "live": _("live"), "reconnecting": _("reconnecting…"),
        "system": _("%s kube-system pods"), "endpoints": _("%s endpoints"),
        "endpoint": _("1 endpoint"),
        "noDeployments": _("No deployments yet."), "noResources": _("No resources found in default namespace."),
        "rolling": _("rolling update in progress"),
        "svcOnNode": _("%(name)s: %(ready)s/%(total)s ready"),
        "whyOf": _("Why? %s"),
        "budget": _("maxSurge %(surge)s: at most %(max)s pods (now %(now)s) · maxUnavailable %(unavailable)s: at "
                    "least %(min)s available (now %(ready)s)"),
        "newSet": _("new"), "oldSet": _("old"), "revision": _("revision"),
        "desired": _("desired"), "current": _("current"), "ready": _("ready"),
        "serviceEndpoints": _("Service %s endpoints:"), "etcdRevision": _("revision"), "keys": _("keys"),
        "replayFrom": _("Replaying from revision %s: the playground as it was then, and every change since"),
        "replaying": _("replaying from revision %s"), "revisionAt": _("revision %s"),
        "burst": _("%s steps at once: too many to animate one by one at this tempo, told in groups"),
        "grouped": {
            "created": _("%(n)s %(kind)s created by %(who)s"), "changed": _("%(n)s %(kind)s changed by %(who)s"),
            "deleted": _("%(n)s %(kind)s deleted by %(who)s"), "bound": _("%(n)s pods bound by %(who)s"),
        },
    }


# ---------------------------------------------------------------------------------------------------------------
# Actions: each POST calls one action and answers with the kubectl line and kubectl's output


def _result(request, result: actions.ActionResult, action: str):
    response = render(request, "playground/_result.html", {"result": result, "action": action},
                      status=200 if result.ok else 422)
    return trigger_client_event(response, "kubeplay:action", {"ok": result.ok, "action": action})


def _number(request, field: str, label: str, default: int | None = None, minimum: int = 0):
    """A whole number from the form, or a readable error (returned as an ActionResult by the caller)."""
    raw = (request.POST.get(field) or "").strip()
    if not raw and default is not None:
        return default, None
    try:
        value = int(raw)
    except ValueError:
        return None, _("%(label)s must be a whole number, not “%(value)s”.") % {"label": label, "value": raw}
    if value < minimum:
        return None, _("%(label)s must be at least %(minimum)s.") % {"label": label, "minimum": minimum}
    return value, None


def _invalid(request, action: str, message: str):
    return _result(request, actions.ActionResult(False, error=message), action)


def _field(request, name: str) -> str:
    return (request.POST.get(name) or "").strip()


@require_POST
def deploy(request, slug):
    pg = _playground(request, slug)
    replicas, error = _number(request, "replicas", _("Replicas"), default=1)
    if error:
        return _invalid(request, "deploy", error)
    return _result(request, actions.deploy(pg, _field(request, "name"), _field(request, "image"), replicas), "deploy")


@require_POST
def expose(request, slug):
    pg = _playground(request, slug)
    port, error = _number(request, "port", _("Port"), minimum=1)
    if error:
        return _invalid(request, "expose", error)
    kind = _field(request, "type") or "NodePort"
    return _result(request, actions.expose(pg, _field(request, "name"), port, type=kind), "expose")


@require_POST
def scale(request, slug):
    pg = _playground(request, slug)
    replicas, error = _number(request, "replicas", _("Replicas"))
    if error:
        return _invalid(request, "scale", error)
    return _result(request, actions.scale(pg, _field(request, "name"), replicas), "scale")


@require_POST
def set_image(request, slug):
    pg = _playground(request, slug)
    result = actions.set_image(pg, _field(request, "name"), _field(request, "image"),
                               container=_field(request, "container") or None)
    return _result(request, result, "set-image")


@require_POST
def rollback(request, slug):
    pg = _playground(request, slug)
    revision, error = _number(request, "revision", _("Revision"), default=0)
    if error:
        return _invalid(request, "rollback", error)
    return _result(request, actions.rollback(pg, _field(request, "name"), to_revision=revision or None), "rollback")


@require_POST
def delete(request, slug):
    pg = _playground(request, slug)
    return _result(request, actions.delete(pg, _field(request, "kind") or "deployment", _field(request, "name")),
                   "delete")


@require_POST
def curl(request, slug):
    pg = _playground(request, slug)
    target = _field(request, "target")
    if not target:
        return _invalid(request, "curl", _("Name a Service, or localhost:<NodePort>."))
    path = _field(request, "path") or "/"
    if not path.startswith("/"):
        path = "/" + path
    return _result(request, actions.curl(pg, target, path=path), "curl")


@require_POST
def terminal(request, slug):
    from . import terminal as shell
    from . import terminal_exec

    pg = _playground(request, slug)
    line = _field(request, "line")
    # A shell opened by `kubectl exec -it` takes the lines until it exits.
    step = terminal_exec.handle(pg, line, _field(request, "exec")) if line else None
    if step is not None:
        return render(request, "playground/_terminal_line.html", {
            "line": line, "result": step.result, "prompt": step.prompt, "exec": step})
    try:
        result = shell.run(pg, line) if line else None
    except Exception:
        # A crash inside the terminal is a defect (tests see it raised); a learner sees a readable line, never a 500.
        log.exception("terminal command failed: %r", line[:shell.MAX_LINE])
        result = shell.TerminalResult(shell.CRASHED, 1)
    return render(request, "playground/_terminal_line.html", {"line": line[:shell.MAX_LINE], "result": result})


# ---------------------------------------------------------------------------------------------------------------
# Tempo: the playground's clock, not only the drawing


@require_POST
def tempo(request, slug):
    pg = _playground(request, slug)
    what = _field(request, "tempo")
    if what in dict(Playground.TEMPOS):
        set_tempo(pg, what)
    elif what == "pause":
        set_paused(pg, True)
    elif what == "resume":
        set_paused(pg, False)
    elif what == "step":
        # One step: one loop makes one write (cluster_core/pacing.py), and the playground stays paused.
        if not pg.paused:
            set_paused(pg, True)
        runtime.single_step(pg)
    pg.refresh_from_db()
    response = render(request, "playground/page.html#tempo", {"pg": pg, "tempos": tempo_choices()})
    return trigger_client_event(response, "kubeplay:tempo", {"tempo": pg.tempo, "paused": pg.paused})


@require_POST
def reset(request, slug):
    """Back to the seed's fresh cluster, same links; this page reloads, other open pages follow the feed."""
    playgrounds.reset(_playground(request, slug))
    return HttpResponseClientRefresh()


# ---------------------------------------------------------------------------------------------------------------
# Time travel: the playground at an earlier revision and the changes since, for the page to replay


@require_GET
def history(request, slug):
    pg = _playground(request, slug, write=False)
    raw = _field_get(request, "at")
    if not raw.isdigit():
        return JsonResponse({"error": _("Name a revision: a whole number.")}, status=400)
    return JsonResponse(timeline.state_at(pg, int(raw), translation.get_language() or settings.LANGUAGE_CODE))


# ---------------------------------------------------------------------------------------------------------------
# "Why?": the chain of writes that made an object, from the feed


def _changes(pg, kind: str, namespace: str, name: str, uid: str = "") -> list[dict]:
    qs = Change.objects.filter(playground=pg, kind=kind, namespace=namespace, name=name)
    if uid:
        qs = qs.filter(uid=uid)
    return [consumers._change_dict(c) for c in qs.order_by("revision")]


# Owners a "Why?" chain follows up from a pod.
WHY_KINDS = ("ReplicaSet", "Deployment", "Job", "CronJob", "StatefulSet", "ReplicationController")


def gather_chain(pg, kind: str, namespace: str, name: str) -> list[dict]:
    """The object's own writes, then up its owners: each owner's write that came just before its child."""
    own = _changes(pg, kind, namespace, name)
    if not own:
        return []
    # A name can be reused; the chain is about the object that has it now (the latest uid).
    own = [c for c in own if c["uid"] == own[-1]["uid"]]
    chain = list(own)
    child, before = own[-1]["object"], own[0]["revision"]
    for _depth in range(3):
        ref = story.owner_of(child)
        if not ref or ref.get("kind") not in WHY_KINDS:
            break
        # The owner with that uid only: a Deployment deleted and made again under the same name is another one.
        owner_changes = _changes(pg, ref["kind"], namespace, ref.get("name", ""), ref.get("uid", ""))
        cause = story.cause_before(owner_changes, before)
        if cause is None:
            break
        chain.append(cause)
        created = [c for c in owner_changes if c["type"] == "ADDED" and c["revision"] < cause["revision"]]
        chain += created[-1:]
        child, before = cause["object"], cause["revision"]
    if kind == "Service":
        chain += [c for c in _changes(pg, "Endpoints", namespace, name) if c["actor"] == "endpoints-controller"]
    return chain


@require_GET
def why(request, slug, kind, namespace, name):
    pg = _playground(request, slug, write=False)
    if kind not in ("Pod", "Service", *WHY_KINDS):
        kind = "Pod"
    lines = story.why_chain(gather_chain(pg, kind, namespace, name))
    selected = []
    if kind == "Service":
        svc = Service.objects.filter(playground=pg, namespace=namespace, name=name).first()
        selected = sorted((svc.spec or {}).get("selector", {}).items()) if svc else []
    return render(request, "playground/_why.html", {"kind": kind, "name": name, "lines": lines[-30:],
                                                     "selected": selected})


# ---------------------------------------------------------------------------------------------------------------
# kubeconfig


@require_GET
def download_kubeconfig(request, slug):
    pg = _playground(request, slug)
    _cert, _key, ca_path = tls.ensure()
    text = kubeconfig.render(pg, kubeconfig.server_url(), ca_path.read_bytes())
    response = HttpResponse(text, content_type="application/yaml")
    response["Content-Disposition"] = f'attachment; filename="kubeplay-{pg.slug}.kubeconfig"'
    return response

