"""Django's SQLite backend, with this process's writers queued in the process rather than by SQLite.

SQLite lets one writer at a time hold the database; another that asks meanwhile is refused and SQLite's busy
handler retries it after sleeps that grow to 100 ms. In one process running a class's sixty clusters, every loop,
request and the lesson checker write all the time: a writer that kept being refused slept again and again while
others, arriving between its sleeps, took the lock first. A learner's step waited seconds behind the checker's
one small write.

Here the writers of a process queue for the database on a lock of their own before they ask SQLite: a write
transaction (`BEGIN IMMEDIATE` to its commit or rollback) and a write statement outside one take the queue's
turn, and the next in line goes the moment the holder lets go. A thread running an urgent look (the lesson
checker, `urgency.urgent`) goes before the others waiting. Writers of other processes sharing the file (a second
`manage.py` against the same database) still meet SQLite's own lock and busy handler: the queue orders this
process only. A turn not given within the database's timeout is taken anyway, and SQLite's lock decides.
"""

from __future__ import annotations

import threading
import time

from django.db.backends.sqlite3 import base

from ... import urgency

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")


class WriterQueue:
    """One writer at a time; urgent ones first, the others in the order the lock gives them."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._held = False
        self._urgent_waiting = 0
        self.waiting = 0  # threads waiting for a turn now

    def acquire(self, urgent: bool, timeout: float) -> bool:
        """Wait for the turn; False when `timeout` passed first (the caller goes on without it)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self.waiting += 1
            self._urgent_waiting += urgent
            try:
                while self._held or (not urgent and self._urgent_waiting):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._cond.wait(left)
                self._held = True
                return True
            finally:
                self.waiting -= 1
                self._urgent_waiting -= urgent

    def release(self) -> None:
        with self._cond:
            self._held = False
            self._cond.notify_all()


_QUEUES: dict[str, WriterQueue] = {}
_QUEUES_LOCK = threading.Lock()


def queue_for(name: str) -> WriterQueue:
    with _QUEUES_LOCK:
        return _QUEUES.setdefault(str(name), WriterQueue())


class DatabaseWrapper(base.DatabaseWrapper):
    _turn = False  # this connection holds its process's write turn

    def _queue(self) -> WriterQueue:
        return queue_for(self.settings_dict["NAME"])

    def take_turn(self) -> None:
        if not self._turn:
            self._turn = self._queue().acquire(urgency.writes_go_first(), float(
                self.settings_dict.get("OPTIONS", {}).get("timeout", 5)))

    def give_turn(self) -> None:
        if self._turn:
            self._turn = False
            self._queue().release()

    def _start_transaction_under_autocommit(self):
        self.take_turn()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self.give_turn()
            raise

    def _commit(self):
        try:
            return super()._commit()
        finally:
            if self.connection is None or not self.connection.in_transaction:
                self.give_turn()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self.give_turn()

    def _close(self):
        try:
            return super()._close()
        finally:
            self.give_turn()

    def create_cursor(self, name=None):
        cursor = self.connection.cursor(factory=CursorWrapper)
        cursor.db = self
        return cursor


class CursorWrapper(base.SQLiteCursorWrapper):
    db: DatabaseWrapper

    def _alone(self, query) -> bool:
        """A write statement outside a transaction (it commits on its own)."""
        return not self.connection.in_transaction and query.lstrip()[:6].upper() in _WRITES

    def execute(self, query, params=None):
        return self._in_turn(super().execute, query, params)

    def executemany(self, query, param_list):
        return self._in_turn(super().executemany, query, param_list)

    def _in_turn(self, run, query, args):
        if not self._alone(query):
            return run(query, args)
        self.db.take_turn()
        try:
            return run(query, args)
        finally:
            if not self.connection.in_transaction:
                self.db.give_turn()
