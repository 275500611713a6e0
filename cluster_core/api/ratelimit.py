"""Requests per minute, per playground: its API answers at most `Playground.max_requests_per_minute` requests in
any sliding minute (counted in this server process), then 429 TooManyRequests with Retry-After — what the
apiserver's flow control answers, which kubectl and client-go wait out and retry."""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from ..errors import TooManyRequests
from ..models import Playground

WINDOW = 60.0

_lock = threading.Lock()
_seen: dict[int, deque] = {}


def check(pg: Playground, now: float | None = None) -> None:
    now = time.monotonic() if now is None else now
    cap = pg.max_requests_per_minute
    with _lock:
        hits = _seen.setdefault(pg.pk, deque())
        while hits and hits[0] <= now - WINDOW:
            hits.popleft()
        if len(hits) >= cap:
            wait = max(1, math.ceil(hits[0] + WINDOW - now))
            raise TooManyRequests(
                f"too many requests: this playground's API answers at most {cap} requests a minute "
                f"(cap max_requests_per_minute); try again in {wait} s", {"retryAfterSeconds": wait})
        hits.append(now)
        if len(_seen) > 4 * len(hits) + 1000:
            # Forget the playgrounds that have been quiet for a minute (their windows are empty).
            for pid in [p for p, h in _seen.items() if not h or h[-1] <= now - WINDOW]:
                del _seen[pid]


def forget() -> None:
    with _lock:
        _seen.clear()
