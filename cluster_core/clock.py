"""Where time comes from.

Every simulated delay is stored as a due-time computed from `now()`; nothing sleeps. Tests swap in a
`FakeClock` and advance it; tempo (per playground) scales delays, so slow motion and instant are run-time settings.
"""

from __future__ import annotations

import datetime as dt
import functools

UTC = dt.UTC


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)


class FakeClock:
    def __init__(self, start: dt.datetime | None = None):
        self._now = start or dt.datetime(2026, 11, 26, 9, 0, 0, tzinfo=UTC)

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += dt.timedelta(seconds=seconds)

    def set(self, when: dt.datetime) -> None:
        if when > self._now:
            self._now = when


_clock: SystemClock | FakeClock = SystemClock()


def now() -> dt.datetime:
    return _clock.now()


def use(clock) -> None:
    global _clock
    _clock = clock


def current():
    return _clock


TEMPO_FACTORS = {"instant": 0.0, "realtime": 1.0, "classroom": 4.0}


def due(tempo: str, seconds: float, start: dt.datetime | None = None) -> dt.datetime:
    """The due-time of a simulated delay of `seconds` at the playground's tempo, counted from `start` (now)."""
    return (start or now()) + dt.timedelta(seconds=seconds * TEMPO_FACTORS.get(tempo, 1.0))


def rfc3339(t: dt.datetime | None) -> str | None:
    if t is None:
        return None
    if t.tzinfo is None:
        return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    # The text has whole seconds: a burst stamps thousands of conditions and events within the same few.
    return _rfc3339((t - _EPOCH) // _SECOND)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = dt.timedelta(seconds=1)


@functools.lru_cache(maxsize=1024)
def _rfc3339(second: int) -> str:
    return (_EPOCH + second * _SECOND).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(s: str | None) -> dt.datetime | None:
    if not s:
        return None
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
