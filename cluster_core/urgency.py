"""Making way for the looks someone is waiting for.

In one process every loop, request and socket takes turns on one interpreter lock. The lesson checker's look is
what a learner (and the instructor's console) waits for: the step shown done. While such a look runs, the other
loops' looks wait a moment before each of their queries (at most `MAX_WAIT`, and not at all when no urgent look
runs), so the checker's look does not queue for the lock behind a class's rollouts at every query it makes. The
loops lose no work: they go on as soon as the urgent looks end, and a long run of urgent looks only slows them.
An urgent look's writes, and a learner's request's (`writes_first`), also go first in the database's writer queue.
"""

from __future__ import annotations

import contextlib
import threading

from django.db import connection

_lock = threading.Lock()
_local = threading.local()
_urgent = 0
_clear = threading.Event()
_clear.set()
MAX_WAIT = 0.005  # seconds a query of another loop waits for the urgent looks at most


@contextlib.contextmanager
def urgent():
    """An urgent look runs in this block."""
    global _urgent
    with _lock:
        _urgent += 1
        _clear.clear()
    try:
        with writes_first():
            yield
    finally:
        with _lock:
            _urgent -= 1
            if _urgent == 0:
                _clear.set()


def running() -> int:
    return _urgent


@contextlib.contextmanager
def writes_first():
    """A block whose writes go before the loops' (a learner's request through the API: a curl's access-log line is
    what a lesson step waits for), without making the loops' queries wait."""
    _local.first = getattr(_local, "first", 0) + 1
    try:
        yield
    finally:
        _local.first -= 1


def writes_go_first() -> bool:
    """Whether this thread's writes go first (`storage.sqlite`): it runs an urgent look, or a learner's request."""
    return bool(getattr(_local, "first", 0))


def _make_way(execute, sql, params, many, context):
    if not _clear.is_set():
        _clear.wait(MAX_WAIT)
    return execute(sql, params, many, context)


def giving_way():
    """A block in which this thread's queries make way for the urgent looks."""
    return connection.execute_wrapper(_make_way)
