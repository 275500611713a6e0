"""bench playgrounds: start N playgrounds on a real server, let them settle, then measure what they cost idle.

The server is a `manage.py playground` subprocess on a fresh data directory (SQLite, in-memory channel layer: the
embedded default), with its loops and ticker running as `make run` starts them. Each playground is started as a
learner starts one: a POST to the start page's "Start a playground" (the time is the request's, measured by the
client, until the redirect to the new playground's link arrives; its system pods are Running by then). Then
nobody touches anything: after `settle` seconds, the server process's CPU time (user + system, from /proc) is
read across `window` seconds and given as a percentage of one core, with its resident memory.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from playground.bench.live import percentile
from playground.bench.server import cpu_seconds, migrate, rss_mib, server_env, start_playground, stop


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def start_server(data_dir: Path, cap: int) -> tuple[subprocess.Popen, int]:
    env = server_env(data_dir, KUBEPLAY_MAX_PLAYGROUNDS=str(cap))
    migrate(env)
    proc, port, _api_port = start_playground(data_dir, env, "realtime")
    return proc, port


def start_playgrounds(port: int, count: int, out) -> list[float]:
    """Start `count` playgrounds through the start page, one after the other; each request's time in seconds."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    base = f"http://127.0.0.1:{port}"
    opener.open(f"{base}/", timeout=30).read()
    token = next(c.value for c in jar if c.name == "csrftoken")
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token}).encode()
    times = []
    for i in range(count):
        request = urllib.request.Request(f"{base}/start", data=body, headers={"Referer": f"{base}/"})
        t0 = time.perf_counter()
        try:
            opener.open(request, timeout=60)
            raise RuntimeError("the start page answered without sending the learner to a new playground")
        except urllib.error.HTTPError as e:
            if e.code not in (302, 303) or not re.fullmatch(r"/p/[a-z2-7]+/", e.headers.get("Location", "")):
                raise RuntimeError(f"starting playground {i + 1} failed: {e.code} {e.read()[:300]!r}") from e
        times.append(time.perf_counter() - t0)
        if (i + 1) % 50 == 0:
            out.write(f"  {i + 1} playgrounds started (last 50: p50 {percentile(times[-50:], 50) * 1000:.0f} ms)")
    return times


def run(out, count: int = 300, settle: float = 75.0, window: float = 60.0) -> None:
    with tempfile.TemporaryDirectory(prefix="kubeplay-bench-playgrounds-") as tmp:
        proc, port = start_server(Path(tmp), cap=count + 10)
        try:
            out.write(f"starting {count} playgrounds through the start page …")
            before = cpu_seconds(proc.pid)
            try:
                times = start_playgrounds(port, count, out)
            except RuntimeError:
                out.write((Path(tmp) / "server.log").read_text()[-6000:])
                raise
            per_start = (cpu_seconds(proc.pid) - before) / count
            load = os.getloadavg()[0]  # the machine is shared: what else ran while these were timed
            out.write(f"letting them settle for {settle:.0f} s, then measuring {window:.0f} s of idle …")
            time.sleep(settle)
            c0, t0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(window)
            c1, t1 = cpu_seconds(proc.pid), time.monotonic()
            cpu = 100 * (c1 - c0) / (t1 - t0)
            rss = rss_mib(proc.pid)
            idle_load = os.getloadavg()[0]
        finally:
            stop(proc)
    out.write(f"playgrounds: {count} started (+ default), each ready with its system pods Running when its "
              f"request returned")
    out.write(f"creation: p50 {percentile(times, 50) * 1000:.0f} ms, p99 {percentile(times, 99) * 1000:.0f} ms, "
              f"max {max(times) * 1000:.0f} ms (goal p50 <= 150 ms); server CPU {per_start * 1000:.0f} ms per playground "
              f"started (1-minute load average then: {load:.1f} on {os.cpu_count()} cores)")
    out.write(f"idle server: CPU {cpu:.1f}% of one core over {t1 - t0:.0f} s (goal < 5%), RSS {rss:.0f} MiB "
              f"(goal < 1024 MiB; load average {idle_load:.1f})")
