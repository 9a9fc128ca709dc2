"""SQLite connections and numbered migrations (spec/rdev-api.md: WAL with synchronous=NORMAL,
which survives process crashes; a power cut may lose the last transactions)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_NAME = re.compile(r"(?P<number>\d{4})_(?P<name>[a-z0-9_]+)\.sql")
BUSY_TIMEOUT_MS = 10_000


class MigrationError(RuntimeError):
    """A migration failed; the database is left at the previous version."""


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    sql: str


def migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The numbered migrations in order; a gap or a duplicate number is a packaging error."""
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.fullmatch(path.name)
        if match is None:
            raise MigrationError(f"migration file {path.name} is not named NNNN_name.sql")
        found.append(Migration(int(match["number"]), match["name"], path.read_text(encoding="utf-8")))
    numbers = [m.number for m in found]
    if numbers != list(range(1, len(found) + 1)):
        raise MigrationError(f"migrations must be numbered 1..N without gaps, found {numbers}")
    return found


def connect(path: Path | str, autocheckpoint_pages: int | None = None) -> sqlite3.Connection:
    """A connection in WAL mode with foreign keys on; autocommit (transactions are explicit).
    `autocheckpoint_pages`: the WAL size at which a commit checkpoints (SQLite's default: 1000)."""
    connection = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    if autocheckpoint_pages is not None:
        connection.execute(f"PRAGMA wal_autocheckpoint={autocheckpoint_pages}")
    return connection


@contextmanager
def transaction(connection: sqlite3.Connection, immediate: bool = True) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE (the write lock up front: no deadlock between readers turning writers)."""
    connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def current_version(connection: sqlite3.Connection) -> int:
    connection.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations"
        " (number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    row = connection.execute("SELECT MAX(number) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def migrate(connection: sqlite3.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the migrations newer than the database, each in its own transaction; returns
    their names. A second call applies nothing."""
    applied = []
    version = current_version(connection)
    for migration in migrations(directory):
        if migration.number <= version:
            continue
        try:
            with transaction(connection):
                for statement in _statements(migration.sql):
                    connection.execute(statement)
                connection.execute(
                    "INSERT INTO schema_migrations (number, name, applied_at)"
                    " VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%SZ','now'))",
                    (migration.number, migration.name),
                )
        except sqlite3.Error as err:
            raise MigrationError(f"migration {migration.number:04d}_{migration.name} failed: {err}") from err
        applied.append(f"{migration.number:04d}_{migration.name}")
    return applied


def _statements(sql: str) -> list[str]:
    """The statements of a migration (executescript would commit on its own)."""
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(part.strip().startswith("--") for part in buffer.strip().splitlines()):
        raise MigrationError(f"incomplete statement at the end of a migration: {buffer.strip()[:60]!r}")
    return statements
