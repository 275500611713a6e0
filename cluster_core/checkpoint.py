"""Moving SQLite's write-ahead log into the database file in the background.

SQLite checkpoints on its own when the log passes `wal_autocheckpoint` pages, inside whichever commit crosses it:
a loop's commit in the middle of a burst then also copies tens of megabytes and syncs the file. The ticker
checkpoints every couple of seconds instead (PASSIVE: it copies what no reader still needs and never waits for
a writer), so a burst starts with a short log; the automatic checkpoint stays as a bound on the log's size for a
process that has no ticker. The other engines have no such log to move.
"""

from __future__ import annotations

from django.db import connection


def checkpoint() -> tuple[int, int] | None:
    """Checkpoint the log; returns (frames in the log, frames moved), or None off SQLite."""
    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cur:
        cur.execute("PRAGMA wal_checkpoint(PASSIVE)")
        _busy, frames, moved = cur.fetchone()
    return frames, moved
