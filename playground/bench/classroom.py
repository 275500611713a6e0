"""bench classroom: one instructor and N students against a real server, as a class would use it.

The server runs as in a room: the embedded default (one `manage.py playground` process: SQLite, in-memory channel
layer) or, with `--scaleout`, PostgreSQL + Redis with two web processes and two `runworker` processes. Then:

1. the instructor starts a class through the start page; each student joins through the join link with a name
   (their own playground, prepared for lesson 1), downloads their kubeconfig, opens their page's live feed and
   the class socket, as the page's script does; the instructor's console socket is open throughout;
2. every student runs lesson 1's steps through the Kubernetes API with their own token (create, list, expose,
   curl through the Service proxy, scale 3, scale 1, set image, undo), with a human pause of 1–4 s between steps;
3. the instructor presses "Follow me": each student's class socket says where to go, and the student's page leaves
   its own feed for the instructor's (read-only) one; once all follow, the instructor deploys and scales to 10.

Each write step is followed by what the student watches until it is done, as `kubectl rollout status` does it (the
Deployment listed by name, then watched from that list's resourceVersion, 30 s at most), then the pause. Measured:
console tile latency (a student's step completed — the commit at which the lesson checker saw it — to the console
receiving that student's tile showing it), follower delivery (each change of the instructor's cluster,
commit to each follower's socket), lost messages (a revision missing from a page's feed, or a console tile that
does not show a student's final progress), the server's CPU and RSS. Students' sockets and API calls run in
client processes (one Python process cannot read 120 sockets and measure the server at once).
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import multiprocessing as mp
import os
import random
import re
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlparse

import yaml

from playground.bench.live import Viewer, percentile
from playground.bench.server import MANAGE, ROOT, cpu_seconds, migrate, server_env, start_playground, stop

PAUSE = (1.0, 4.0)
WATCH_LIMIT = 30.0  # a student watches a rollout this long at most, then goes on with the lesson


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


# ---------------------------------------------------------------------------------------------------------------
# The server(s)


LOOPS = ["deployment-controller", "replicaset-controller", "daemonset-controller", "kube-scheduler", "kubelet",
         "endpoints-controller", "garbage-collector", "namespace-controller", "serviceaccount-controller",
         "job-controller", "cronjob-controller", "statefulset-controller", "node-lifecycle-controller",
         "lesson-checker"]


def start_servers(data_dir: Path, scaleout: bool, students: int) -> tuple[list[subprocess.Popen], list[int], str]:
    """The server processes, the web ports, and the database to drop afterwards (scale-out only)."""
    env = server_env(data_dir, KUBEPLAY_MAX_PLAYGROUNDS=str(max(500, students + 10)))
    dropped = ""
    if scaleout:
        import psycopg

        base = os.environ.get("KUBEPLAY_SCALEOUT_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
        dropped = f"kubeplay_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dropped}"')
        env.update(DATABASE_URL=urlparse(base)._replace(path=f"/{dropped}").geturl(),
                   REDIS_URL=os.environ.get("KUBEPLAY_SCALEOUT_REDIS_URL", "redis://127.0.0.1:6379/0"),
                   KUBEPLAY_CHANNEL_PREFIX=f"kpb-{uuid.uuid4().hex[:8]}")
    migrate(env)
    procs, ports = [], []
    webs = [("--no-workers",), ("--no-workers", "--no-ticker")] if scaleout else [()]
    for i, extra in enumerate(webs):
        proc, port, _api_port = start_playground(data_dir, env, "realtime", f"web-{i}.log", extra)
        procs.append(proc)
        ports.append(port)
    if scaleout:
        for i in range(2):
            log = data_dir / f"worker-{i}.log"
            procs.append(subprocess.Popen([*MANAGE, "runworker", *LOOPS], cwd=ROOT, env=env,
                                          stdout=log.open("w"), stderr=subprocess.STDOUT))
    return procs, ports, dropped


def drop_database(name: str) -> None:
    import psycopg

    base = os.environ.get("KUBEPLAY_SCALEOUT_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rss_with_children(pid: int) -> float:
    """RSS in MiB of a process and its children (the web server's own loops run in it; its children, if any)."""
    total = 0.0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


# ---------------------------------------------------------------------------------------------------------------
# A browser, without the browser: cookies, the CSRF token, links from the pages


class Browser:
    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def get(self, path: str) -> str:
        return self.opener.open(f"{self.base}{path}", timeout=120).read().decode()

    def post(self, path: str, data: dict) -> str:
        """POST a form; the answer's redirect target (or the body when there is none)."""
        if not any(c.name == "csrftoken" for c in self.jar):
            self.get("/")
        token = next(c.value for c in self.jar if c.name == "csrftoken")
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token}).encode()
        request = urllib.request.Request(f"{self.base}{path}", data=body, headers={"Referer": f"{self.base}/",
                                                                                   "HX-Request": "true"})
        try:
            return self.opener.open(request, timeout=120).read().decode()
        except urllib.error.HTTPError as e:
            if e.code in (301, 302, 303):
                return e.headers["Location"]
            raise RuntimeError(f"POST {path}: {e.code} {e.read()[:300]!r}") from e


class Api:
    """A kubeconfig's cluster, as kubectl would use it."""

    def __init__(self, kubeconfig: str):
        config = yaml.safe_load(kubeconfig)
        import base64

        self.server = config["clusters"][0]["cluster"]["server"]
        self.token = config["users"][0]["user"]["token"]
        self.ca = ssl.create_default_context(cadata=base64.b64decode(
            config["clusters"][0]["cluster"]["certificate-authority-data"]).decode())

    def call(self, method: str, path: str, body: dict | None = None,
             content_type: str = "application/json") -> dict:
        request = urllib.request.Request(f"{self.server}{path}", method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Authorization": f"Bearer {self.token}",
                                                  "Content-Type": content_type, "Accept": "application/json",
                                                  "User-Agent": "kubectl/v1.37.0 (bench)"})
        raw = urllib.request.urlopen(request, context=self.ca, timeout=120).read()
        try:
            return json.loads(raw)
        except ValueError:
            return {}


DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"


def deployment(name: str, image: str = "nginx") -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "nginx", "image": image}]}}}}


def scale(api: Api, name: str, replicas: int) -> None:
    api.call("PATCH", f"{DEPLOYMENTS}/{name}/scale", {"spec": {"replicas": replicas}},
             "application/merge-patch+json")


def set_image(api: Api, name: str, image: str) -> None:
    api.call("PATCH", f"{DEPLOYMENTS}/{name}", {"spec": {"template": {"spec": {"containers": [
        {"name": "nginx", "image": image}]}}}}, "application/strategic-merge-patch+json")


def rolled_out(d: dict) -> bool:
    """What `kubectl rollout status` waits for: the new generation seen, every replica updated and ready."""
    spec, status = d.get("spec") or {}, d.get("status") or {}
    want = spec.get("replicas", 1)
    return (status.get("observedGeneration", 0) >= (d.get("metadata") or {}).get("generation", 1)
            and status.get("updatedReplicas", 0) == want and status.get("readyReplicas", 0) == want
            and status.get("replicas", 0) == want)


def watch_rollout(api: Api, name: str, limit: float) -> bool:
    """`kubectl rollout status`: the Deployment listed by name, then watched from that list's resourceVersion until
    it is rolled out, for `limit` seconds at most (the student then goes on). True when it rolled out."""
    by_name = f"{DEPLOYMENTS}?fieldSelector=metadata.name%3D{name}"
    listed = api.call("GET", by_name)
    if any(rolled_out(d) for d in listed.get("items") or []):
        return True
    version = (listed.get("metadata") or {}).get("resourceVersion", "")
    request = urllib.request.Request(
        f"{api.server}{by_name}&watch=1&resourceVersion={version}&timeoutSeconds={int(limit)}",
        headers={"Authorization": f"Bearer {api.token}", "Accept": "application/json",
                 "User-Agent": "kubectl/v1.37.0 (bench)"})
    with urllib.request.urlopen(request, context=api.ca, timeout=limit + 10) as stream:
        for line in stream:
            event = json.loads(line)
            if event.get("type") in ("ADDED", "MODIFIED") and rolled_out(event.get("object") or {}):
                return True
    return False


class Answered(float):
    """When the request that did a step was sent, for a step that took several (a curl tried again)."""


def curl(api: Api, service: str, attempts: int = 60) -> Answered:
    """curl through the Service proxy, again after a second while no endpoint answers yet (503), as a student
    would. Returns when the answered request was sent: the step is done by that one, not by the first try."""
    for _ in range(attempts):
        try:
            sent = time.time()
            api.call("GET", f"/api/v1/namespaces/default/services/{service}:80/proxy/")
            return Answered(sent)
        except urllib.error.HTTPError as e:
            if e.code != 503:
                raise
            time.sleep(1.0)
    raise RuntimeError(f"no endpoint of {service} answered")


def lesson_steps(api: Api):
    """Lesson 1's steps as kubectl sends them, each write followed by what a student watches until it is done
    (`kubectl rollout status`: a list, then a watch); rollout undo: the previous template patched back."""
    yield lambda: api.call("POST", DEPLOYMENTS, deployment("test1")), "test1"
    yield lambda: api.call("GET", "/api/v1/namespaces/default/pods"), None
    yield lambda: api.call("GET", "/api/v1/pods"), None
    yield lambda: api.call("POST", "/api/v1/namespaces/default/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "test1"},
        "spec": {"type": "NodePort", "selector": {"app": "test1"}, "ports": [{"port": 80, "targetPort": 80}]}}), None
    yield lambda: curl(api, "test1"), None
    yield lambda: scale(api, "test1", 3), "test1"
    yield lambda: scale(api, "test1", 1), "test1"
    yield lambda: set_image(api, "test1", "httpd"), "test1"
    yield lambda: set_image(api, "test1", "nginx"), "test1"


# ---------------------------------------------------------------------------------------------------------------
# A student's share of the class, in a client process


def _ws_base(base: str) -> str:
    return base.replace("http://", "ws://", 1)


async def _student(base: str, join: str, n: int, shared: dict, rows: list, go_lessons, follow_go, stop,
                   counters) -> None:
    import websockets

    origin = base
    browser = Browser(base)
    where = await asyncio.to_thread(browser.post, join, {"name": f"student {n:02d}"})
    slug = re.fullmatch(r"/p/([a-z2-7]+)/", where).group(1)
    html = await asyncio.to_thread(browser.get, where)
    key = re.search(r'id="class-bar"[^>]*data-key="([a-z2-7]+)"', html).group(1)
    api = Api(await asyncio.to_thread(browser.get, f"/p/{slug}/kubeconfig"))
    row = {"n": n, "slug": slug, "own": Viewer(), "followed": Viewer(), "switch": None, "steps": 0, "errors": [],
           "sent": [], "rolled_out": []}
    rows.append(row)
    page = await websockets.connect(f"{_ws_base(base)}/ws/p/{slug}/", origin=origin, max_size=None,
                                    open_timeout=120, compression=None)
    row["own"].revision = json.loads(await page.recv())["revision"]
    klass = await websockets.connect(f"{_ws_base(base)}/ws/class/student/{key}/", origin=origin, max_size=None,
                                     open_timeout=120, compression=None)
    json.loads(await klass.recv())
    with counters["ready"].get_lock():
        counters["ready"].value += 1

    async def read_own():
        while True:
            data = await page.recv()
            row["own"].inbox.append((time.time(), data))

    own_reader = asyncio.create_task(read_own())
    while not go_lessons.is_set():
        await asyncio.sleep(0.05)
    rng = random.Random(n)
    for step, watch in lesson_steps(api):
        await asyncio.sleep(rng.uniform(*PAUSE))
        try:
            row["sent"].append(time.time())
            done = await asyncio.to_thread(step)
            if isinstance(done, Answered):
                row["sent"].append(float(done))
            row["steps"] += 1
            if watch:
                if await asyncio.to_thread(watch_rollout, api, watch, WATCH_LIMIT):
                    row["rolled_out"].append(row["steps"])
        except Exception as exc:  # a refused step is reported, not hidden
            row["errors"].append(str(exc)[:200])
    with counters["lessons"].get_lock():
        counters["lessons"].value += 1

    # Follow me: the class socket says where the room is; the page leaves its own feed for that one.
    state = json.loads(await klass.recv())
    while not state.get("following"):
        state = json.loads(await klass.recv())
    row["switch"] = time.time()
    own_reader.cancel()
    await page.close()
    followed = await websockets.connect(f"{_ws_base(base)}{state['where'].replace('/p/', '/ws/p/', 1)}",
                                        origin=origin, max_size=None, open_timeout=120, compression=None)
    row["followed"].revision = json.loads(await followed.recv())["revision"]
    with counters["following"].get_lock():
        counters["following"].value += 1
    while not stop.is_set():
        try:
            data = await asyncio.wait_for(followed.recv(), timeout=0.5)
        except TimeoutError:
            continue
        row["followed"].inbox.append((time.time(), data))
    await followed.close()
    await klass.close()


def _client_process(base: str, join: str, numbers: list[int], go_lessons, follow_go, stop, counters,
                    results) -> None:
    rows: list[dict] = []

    async def main():
        # A thread per student's call in flight: a watch holds one for as long as the rollout takes.
        from concurrent.futures import ThreadPoolExecutor

        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=2 * len(numbers) + 4))
        tasks = []
        for n in numbers:
            tasks.append(asyncio.create_task(_student(base, join, n, {}, rows, go_lessons, follow_go, stop,
                                                      counters)))
            await asyncio.sleep(0.05)
        done = await asyncio.gather(*tasks, return_exceptions=True)
        return [d for d in done if isinstance(d, BaseException)]

    failures = asyncio.run(main())
    from playground.bench.live import parsed

    out = []
    for row in rows:
        times: list[float] = []
        for which in ("own", "followed"):
            v = row[which]
            for received, data in v.inbox:
                raw = data if isinstance(data, bytes) else data.encode()
                if b'"type":"changes"' in raw:
                    v.take(parsed(raw, times), received)
            v.inbox = []
        out.append({"n": row["n"], "slug": row["slug"], "steps": row["steps"], "errors": row["errors"],
                    "sent": row["sent"], "rolled_out": row["rolled_out"],
                    "switch": row["switch"],
                    "own": (row["own"].lost, row["own"].out_of_order, row["own"].changes),
                    "followed": (row["followed"].lost, row["followed"].out_of_order, row["followed"].changes,
                                 row["followed"].latencies, row["followed"].revision)})
    results.put((out, [repr(f)[:300] for f in failures]))


# ---------------------------------------------------------------------------------------------------------------
# The instructor, in the main process


async def _console(url: str, origin: str, tiles: dict, slugs: dict, stop) -> None:
    import websockets

    async with websockets.connect(url, origin=origin, max_size=None, open_timeout=120, compression=None) as ws:
        while not stop.is_set():
            try:
                data = await asyncio.wait_for(ws.recv(), timeout=0.5)
            except TimeoutError:
                continue
            received = time.time()
            msg = json.loads(data)
            if msg.get("type") == "tile":
                m = re.search(r'href="/p/([a-z2-7]+)/"[^>]*>Take over', msg["html"])
                slugs[msg["id"]] = m.group(1) if m else ""
                tiles.setdefault(msg["id"], []).append((received, msg["done"], msg.get("progress_at", 0.0),
                                                        msg.get("at", 0.0), msg.get("sent", received)))


def _cpu(procs: list[subprocess.Popen]) -> float:
    total = 0.0
    for p in procs:
        for pid in [p.pid, *_children(p.pid)]:
            try:
                total += cpu_seconds(pid)
            except OSError:
                pass
    return total


def run(out, students: int = 60, scaleout: bool = False) -> None:
    with tempfile.TemporaryDirectory(prefix="kubeplay-bench-classroom-") as tmp:
        procs, ports, dropped = start_servers(Path(tmp), scaleout, students)
        try:
            asyncio.run(_run(out, procs, ports, students, scaleout))
        finally:
            stop(*procs)
            if dropped:
                drop_database(dropped)


async def _run(out, procs, ports, students: int, scaleout: bool) -> None:
    import websockets  # noqa: F401  (the harness needs it; fail early)

    base = f"http://127.0.0.1:{ports[0]}"
    teacher = Browser(base)
    console_path = teacher.post("/class/start", {"lesson": "seed", "stuck": "5"})
    token = re.fullmatch(r"/class/([a-z2-7]+)/", console_path).group(1)
    html = teacher.get(console_path)
    join = urlparse(re.search(r'id="join-link"[^>]*value="([^"]+)"', html).group(1)).path
    own_path = re.search(r'href="(/p/[a-z2-7]+/)"[^>]*>Open my cluster<', html).group(1)
    teacher_api = Api(teacher.get(f"{own_path}kubeconfig"))
    out.write(f"server: {'PostgreSQL + Redis, 2 web processes + 2 workers' if scaleout else 'embedded default'}; "
              f"class started; {students} students joining through the join link\n")
    out.flush()

    ctx = mp.get_context("spawn")
    counters = {k: ctx.Value("i", 0) for k in ("ready", "lessons", "following")}
    go_lessons, follow_go, stop, results = ctx.Event(), ctx.Event(), ctx.Event(), ctx.Queue()
    nproc = max(1, min(os.cpu_count() or 1, 4, students))
    numbers = [list(range(i, students, nproc)) for i in range(nproc)]
    # Students spread over the web processes, as a load balancer would.
    bases = [f"http://127.0.0.1:{ports[i % len(ports)]}" for i in range(nproc)]
    clients = [ctx.Process(target=_client_process, args=(bases[i], join, numbers[i], go_lessons, follow_go, stop,
                                                         counters, results)) for i in range(nproc) if numbers[i]]
    tiles: dict[int, list] = {}
    console_stop = asyncio.Event()
    console_url = f"{_ws_base(base)}/ws/class/console/{token}/"

    class _Stop:
        def is_set(self):
            return console_stop.is_set()

    slugs: dict[int, str] = {}
    console_task = asyncio.create_task(_console(console_url, base, tiles, slugs, _Stop()))
    cpu0, t0 = _cpu(procs), time.monotonic()
    for c in clients:
        c.start()
    deadline = time.monotonic() + 600
    while counters["ready"].value < students:
        if time.monotonic() > deadline or any(c.exitcode not in (None, 0) for c in clients):
            stop.set()
            raise RuntimeError(f"only {counters['ready'].value} of {students} students joined")
        await asyncio.sleep(0.2)
    out.write(f"{students} students joined, each watching their own page; lesson 1 through the API, "
              f"{PAUSE[0]:.0f}–{PAUSE[1]:.0f} s between steps\n")
    out.flush()
    go_lessons.set()
    lessons_started = time.time()
    shown = time.monotonic()
    while counters["lessons"].value < students:
        if any(c.exitcode not in (None, 0) for c in clients):
            raise RuntimeError("a client process failed")
        if time.monotonic() - shown > 60:
            shown = time.monotonic()
            out.write(f"  {counters['lessons'].value} of {students} students through lesson 1 after "
                      f"{time.time() - lessons_started:.0f} s\n")
            out.flush()
        await asyncio.sleep(0.2)
    lessons_took = time.time() - lessons_started
    await asyncio.sleep(3.0)  # the last steps' checks and tiles
    follow_at = time.time()
    await asyncio.to_thread(teacher.post, f"/class/{token}/follow", {"what": "me"})
    deadline = time.monotonic() + 120
    while counters["following"].value < students and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    all_following = time.time() - follow_at
    out.write(f"lessons run in {lessons_took:.0f} s; {counters['following'].value} of {students} students follow "
              f"the instructor {all_following:.1f} s after 'Follow me' (the others' sockets closed: counted as "
              f"client failures below); the instructor deploys demo and scales it to 10\n")
    out.flush()
    demo_started = time.time()
    await asyncio.to_thread(teacher_api.call, "POST", DEPLOYMENTS, deployment("demo"))
    await asyncio.sleep(2.0)
    await asyncio.to_thread(scale, teacher_api, "demo", 10)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        body = await asyncio.to_thread(teacher_api.call, "GET", f"{DEPLOYMENTS}/demo")
        if (body.get("status") or {}).get("readyReplicas", 0) >= 10:
            break
        await asyncio.sleep(0.25)
    demo_took = time.time() - demo_started
    await asyncio.sleep(2.0)
    cpu1, t1 = _cpu(procs), time.monotonic()
    rss = sum(rss_with_children(p.pid) for p in procs)
    stop.set()
    console_stop.set()
    await console_task
    shares = [results.get(timeout=120) for _ in clients]
    for c in clients:
        c.join(timeout=10)
    rows = [r for share in shares for r in share[0]]
    failures = [f for share in shares for f in share[1]]

    # The console: each student's done count, as the tiles showed it over time, against the final truth.
    # A step is done at the commit the lesson checker saw it at (`progress_at`), or — for a step whose check is
    # something that happened, like a curl answered — no earlier than the student's request that did it (for a
    # curl tried again while no endpoint was ready, the try that was answered).
    progress_latency, server_side, by_done = [], [], {}
    requests = {r["slug"]: r["sent"] for r in rows}
    for sid, samples in tiles.items():
        best = -1
        sent_times = requests.get(slugs.get(sid, ""), [])
        for received, done, progress_at, _at, sent in samples:
            if done > best and best >= 0 and progress_at:
                done_at = max([progress_at, *(s for s in sent_times if s <= sent)])
                progress_latency.append(received - done_at)
                by_done.setdefault(done, []).append(received - done_at)
                server_side.append(sent - done_at)
            best = max(best, done)
    final, by_step = {}, {}
    for r in rows:
        panel = await asyncio.to_thread(Browser(base).get, f"/p/{r['slug']}/lessons/?lesson=seed")
        final[r["slug"]] = panel.count('class="badge-done"')
        for step, done in re.findall(r'id="lesson-step-([\w-]+)" class="lesson-step( done)?', panel):
            by_step[step] = by_step.get(step, 0) + bool(done)
    console_final = {}
    console_html = await asyncio.to_thread(teacher.get, console_path)
    for m in re.finditer(r'<article class="tile[^"]*" id="tile-(\d+)"[^>]*data-done="(\d+)"', console_html):
        console_final[int(m.group(1))] = int(m.group(2))
    tiles_behind = sum(1 for sid, samples in tiles.items() if samples and samples[-1][1] != console_final.get(sid))
    steps_done = sum(final.values())
    follower_lat = [x for r in rows for x in r["followed"][3]]
    lost_pages = sum(r["own"][0] for r in rows) + sum(r["followed"][0] for r in rows)
    out_of_order = sum(r["own"][1] for r in rows) + sum(r["followed"][1] for r in rows)
    top = max((r["followed"][4] for r in rows), default=0)
    errors = [e for r in rows for e in r["errors"]]
    out.write(f"API steps refused: {len(errors)}{' (' + errors[0] + ')' if errors else ''}; client failures: "
              f"{len(failures)}{' (' + failures[0] + ')' if failures else ''}\n")
    out.write(f"lesson steps done (all students, from their lesson panels): {steps_done}; tiles received by the "
              f"console: {sum(len(s) for s in tiles.values())}; demo Running ×10 after {demo_took:.1f} s\n")
    out.write("students done, step by step: " + ", ".join(f"{k} {v}" for k, v in by_step.items()) + "\n")
    watched = {}
    for r in rows:
        for step in r["rolled_out"]:
            watched[step] = watched.get(step, 0) + 1
    out.write(f"rollouts seen through to the end within {WATCH_LIMIT:.0f} s, by API step: "
              + ", ".join(f"{step} {count}" for step, count in sorted(watched.items())) + "\n")
    out.write(f"changes delivered: own pages {sum(r['own'][2] for r in rows)}, followers "
              f"{sum(r['followed'][2] for r in rows)} ({len(follower_lat) // max(len(rows), 1)} each); followers "
              f"behind at the end: {sum(1 for r in rows if r['followed'][4] < top)}\n")
    out.write(f"of which server side (step done → tile sent): p50 {percentile(server_side, 50) * 1000:.0f} ms   "
              f"p99 {percentile(server_side, 99) * 1000:.0f} ms\n")
    out.write(f"machine load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (shared machine)\n")
    out.write(f"console tile update latency (step done → tile shows it, {len(progress_latency)} updates): p50 "
              f"{percentile(progress_latency, 50) * 1000:.0f} ms   p99 {percentile(progress_latency, 99) * 1000:.0f} ms"
              "\n")
    out.write("console tile latency by steps done, p50/p99 ms: " + ", ".join(
        f"{n} {percentile(v, 50) * 1000:.0f}/{percentile(v, 99) * 1000:.0f}" for n, v in sorted(by_done.items())) + "\n")
    out.write(f"follower delivery latency (commit → each of {len(rows)} followers): p50 "
              f"{percentile(follower_lat, 50) * 1000:.0f} ms   p99 {percentile(follower_lat, 99) * 1000:.0f} ms\n")
    out.write(f"lost messages: {lost_pages} page revisions, {tiles_behind} console tiles behind; out of order: "
              f"{out_of_order}\n")
    out.write(f"server CPU: {(cpu1 - cpu0) / (t1 - t0) * 100:.0f}% of one core over {t1 - t0:.0f} s; "
              f"RSS {rss:.0f} MiB ({rss / 1024:.2f} GiB, {len(procs)} processes)\n")
