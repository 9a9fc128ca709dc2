"""The SQLite database of a data dir: migrated once, one connection per thread (FastAPI runs
sync handlers in a thread pool; a connection must not cross threads mid-transaction)."""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rdev_api.adapters.sqlite.db import connect, migrate, transaction
from rdev_api.domain.errors import BadRequest
from rdev_api.logging import FIELD_ERROR, get_logger

DATABASE_FILE = "rdev.db"
IDLE_CONNECTIONS = 8
CHECKPOINT_EVERY_S = 1.0
log = get_logger("store")
# With a checkpointer thread, a commit checkpoints only past this many WAL pages (~40 MB), a
# safety net should that thread fall behind; SQLite's default, 1000, had every few hundred
# commits of a busy queue copy the WAL into the database and fsync it, holding the write lock.
SAFETY_AUTOCHECKPOINT_PAGES = 10_000


class Database:
    """`checkpoint_every_s`: checkpoint the WAL from a thread of its own this often (the server),
    instead of in whichever commit finds it past 1000 pages."""

    def __init__(self, path: Path, checkpoint_every_s: float | None = None) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._idle: list[sqlite3.Connection] = []  # released by threads that ended
        self._guard = threading.Lock()
        # one writer at a time in this process: threads queue here instead of in SQLite's busy
        # handler, which sleeps up to 100 ms between tries and caps throughput at a few dozen
        # writes per second under contention
        self._writer = threading.RLock()
        self._autocheckpoint = SAFETY_AUTOCHECKPOINT_PAGES if checkpoint_every_s else None
        self.applied = migrate(self.connection())
        self._closing = threading.Event()
        self._checkpointer: threading.Thread | None = None
        if checkpoint_every_s:
            self._checkpointer = threading.Thread(
                target=self._checkpoints, args=(checkpoint_every_s,), name="sqlite-checkpoint", daemon=True
            )
            self._checkpointer.start()

    def connection(self) -> sqlite3.Connection:
        found: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if found is None:
            with self._guard:
                found = self._idle.pop() if self._idle else None
            if found is None:
                found = connect(self.path, self._autocheckpoint)
                with self._guard:
                    self._all.append(found)
            self._local.connection = found
        return found

    def release(self) -> None:
        """This thread is done with its connection (a command's thread ends): it goes back to
        a small pool for the next thread, since a new connection costs its set-up and a cold
        statement cache, or is closed when the pool is full. None is left with the thread: each
        holds descriptors, and a statement left unreset keeps a read snapshot that stops
        checkpoints, so the WAL grows and every read slows."""
        found: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if found is None:
            return
        self._local.connection = None
        if found.in_transaction:  # not expected: a write() always ends its transaction
            found.rollback()
        with self._guard:
            if len(self._idle) < IDLE_CONNECTIONS:
                self._idle.append(found)
                return
            self._all.remove(found)
        found.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE) on this thread's connection. Inside another
        write of this thread it joins that one: a use case made of several stores' writes
        commits once (each commit writes the pages it touched to the WAL again)."""
        connection = self.connection()
        if getattr(self._local, "writing", False):
            yield connection
            return
        self._local.writing, self._local.committed = True, []
        try:
            with self._writer, transaction(connection):
                yield connection
        finally:
            self._local.writing = False
            done, self._local.committed = self._local.committed, []
        for then in done:  # reached once committed only
            then()

    def after_commit(self, then: Callable[[], None]) -> None:
        """`then()` once this thread's write transaction has committed (not at all when it rolls
        back), or now outside one: a wake-up sent sooner would let a reader see the state from
        before the write."""
        if getattr(self._local, "writing", False):
            self._local.committed.append(then)
        else:
            then()

    def _checkpoints(self, every_s: float) -> None:
        """PASSIVE checkpoints: they wait for no reader or writer, and their fsync is this
        thread's, not a committing request's."""
        connection = connect(self.path, self._autocheckpoint)
        try:
            while not self._closing.wait(every_s):
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as err:  # the next one tries again; commits are the net
                    log.warning("WAL checkpoint failed", extra={FIELD_ERROR: str(err)})
        finally:
            connection.close()

    def close(self) -> None:
        self._closing.set()
        if self._checkpointer is not None:
            self._checkpointer.join()
        with self._guard:
            for connection in self._all:
                connection.close()
            self._all.clear()
            self._idle.clear()


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    """The values of a cursor made by encode_cursor; BadRequest when it was not."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        raise BadRequest("invalid cursor: pass the cursor of a Link header unchanged") from None
    if not isinstance(values, list) or len(values) != size:
        raise BadRequest("invalid cursor: pass the cursor of a Link header unchanged")
    return values


def page(rows: list[Any], limit: int, cursor_of: Any) -> tuple[list[Any], str | None]:
    """`rows` holds up to limit+1 rows: the extra one says there is a next page."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, cursor_of(rows[-1])
    return rows, None


def time_ordered_page(
    connection: sqlite3.Connection,
    select: str,
    clauses: list[str],
    params: list[Any],
    limit: int,
    cursor: str | None,
    time_column: str = "created_at",
) -> tuple[list[Any], str | None]:
    """A page of `select` (`SELECT ... FROM table`) filtered by `clauses`, in (time_column, id)
    order after the cursor: its rows, and the cursor of the next page when there is one."""
    clauses, params = list(clauses), list(params)
    if cursor:
        clauses.append(f"({time_column}, id) > (?, ?)")
        params += decode_cursor(cursor, 2)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = connection.execute(
        f"{select}{where} ORDER BY {time_column}, id LIMIT ?", (*params, limit + 1)
    ).fetchall()
    return page(rows, limit, lambda r: encode_cursor(r[time_column], r["id"]))
