"""bench hostile: the hostile request corpus (tests/hostile/, from a checkout) replayed against a served
playground, to show that it costs the server nothing lasting.

The server is a `manage.py playground` subprocess on a fresh data directory (as `bench live` starts it). The
corpus is sent once to warm up, then `rounds` times more over HTTPS with the playground's token, each request on a
new connection (an oversize body is refused before it is read, and the connection closed). The server process's
resident memory is read before, after every tenth of the rounds and after; its CPU time (user + system, from
/proc) during the replay, and for `idle` seconds after the last answer (what a request left running: an alias bomb
once kept a core busy for minutes after its client gave up).
"""

from __future__ import annotations

import collections
import http.client
import tempfile
import time
from pathlib import Path

from playground.bench.live import Server, start_server
from playground.bench.server import cpu_seconds, rss_mib, stop


def corpus() -> list[dict]:
    from tests import hostile

    return hostile.cases()


def send(server: Server, case: dict) -> tuple[int, float]:
    conn = http.client.HTTPSConnection("127.0.0.1", server.api_port, context=server.ca, timeout=60)
    t0 = time.perf_counter()
    try:
        conn.request(case["method"], f"/clusters/default{case['path']}", body=case["body"],
                     headers={"Authorization": f"Bearer {server.token}", "Content-Type": case["content_type"]})
        resp = conn.getresponse()
        resp.read()
        status = resp.status
    except (BrokenPipeError, ConnectionResetError):
        status = 0  # the server answered and closed before the whole body was sent (413 before reading)
    finally:
        conn.close()
    return status, time.perf_counter() - t0


def run(out, rounds: int = 100, idle: float = 10.0) -> None:
    cases = corpus()
    with tempfile.TemporaryDirectory(prefix="kubeplay-bench-hostile-") as tmp:
        server = start_server(Path(tmp), "instant")
        pid = server.proc.pid
        try:
            for case in cases:
                send(server, case)
            time.sleep(2)
            rss_start, cpu_start, t_start = rss_mib(pid), cpu_seconds(pid), time.monotonic()
            codes: collections.Counter = collections.Counter()
            slowest, total, rss_seen = 0.0, 0, [rss_start]
            for r in range(rounds):
                for case in cases:
                    status, took = send(server, case)
                    codes[status] += 1
                    slowest = max(slowest, took)
                    total += 1
                if (r + 1) % max(1, rounds // 10) == 0:
                    rss_seen.append(rss_mib(pid))
            cpu_replay, t_replay = cpu_seconds(pid) - cpu_start, time.monotonic() - t_start
            cpu_idle_start = cpu_seconds(pid)
            time.sleep(idle)
            cpu_idle = cpu_seconds(pid) - cpu_idle_start
            rss_end = rss_mib(pid)
        finally:
            stop(server.proc, wait=30)
    server_errors = sum(n for code, n in codes.items() if code >= 500)
    out.write(f"bench hostile: {len(cases)} hostile requests a round, {rounds} rounds after one warm-up round\n")
    out.write(f"  answers: {dict(sorted(codes.items()))} (0 = closed while the client still sent an oversize body)\n")
    out.write(f"  5xx answers: {server_errors}; slowest answer {slowest * 1000:.0f} ms; {total} requests in "
              f"{t_replay:.1f} s\n")
    out.write(f"  server RSS MiB: start {rss_start:.1f}, every tenth of the rounds "
              f"{', '.join(f'{v:.1f}' for v in rss_seen[1:])}, end {rss_end:.1f} "
              f"(growth {rss_end - rss_start:+.1f} MiB)\n")
    out.write(f"  server CPU: {cpu_replay / t_replay * 100:.0f}% of a core during the replay; "
              f"{cpu_idle / idle * 100:.1f}% of a core in the {idle:.0f} s after it\n")
