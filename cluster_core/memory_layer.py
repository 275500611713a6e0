"""The embedded default's channel layer: Channels' in-memory layer, sweeping expired entries at most once a second.

Channels' `InMemoryChannelLayer.receive` walks every channel's queue and every group membership looking for expired
entries before it hands over each message. A class's playgrounds keep hundreds of group memberships (each page's
and console's), and their loops receive a message for every commit, so that walk ran hundreds of times a second on
the event loop everything else waits for. Expiry (30 s for a message, a day for a membership) does not need a
finer grain than a second.
"""

from __future__ import annotations

import time

from channels.layers import InMemoryChannelLayer

SWEEP_EVERY = 1.0


class MemoryLayer(InMemoryChannelLayer):
    _swept = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._swept < SWEEP_EVERY:
            return
        self._swept = now
        super()._clean_expired()
