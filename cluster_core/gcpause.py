"""Pausing Python's cyclic garbage collector while a reconcile runs.

A reconcile builds its bodies (dicts and lists by the ten thousand, alive until its commit) and reference counting
frees them as soon as the commit is done: the cyclic collector finds nothing to free among them, yet every
collection a burst triggers walks them all again. So it is paused for the length of one reconcile and runs (the
youngest generation) when the last running reconcile ends. Reconciles run in several threads: the pause is
counted, and the collector comes back only when none is running.
"""

from __future__ import annotations

import contextlib
import gc
import threading

_lock = threading.Lock()
_running = 0
# Whether the collector was on when the first running reconcile paused it (someone else may have turned it off).
_resume = True


@contextlib.contextmanager
def paused():
    global _running, _resume
    with _lock:
        _running += 1
        if _running == 1:
            _resume = gc.isenabled()
            gc.disable()
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0 and _resume:
                gc.enable()
                gc.collect(0)
