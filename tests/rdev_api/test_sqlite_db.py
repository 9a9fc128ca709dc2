"""SQLite: WAL/NORMAL settings, numbered migrations applied once, a failing one rolled back;
writes nested in a write joining it, wake-ups after its commit."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from rdev_api.adapters.sqlite.database import SAFETY_AUTOCHECKPOINT_PAGES, Database
from rdev_api.adapters.sqlite.db import (
    MIGRATIONS_DIR,
    MigrationError,
    connect,
    current_version,
    migrate,
    migrations,
)


def test_fresh_database_gets_every_migration_once(tmp_path: Path) -> None:
    db = connect(tmp_path / "rdev.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    names = migrate(db)
    assert names[0] == "0001_initial" and current_version(db) == len(migrations())
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"api_keys", "projects", "commands", "command_events", "work_items", "webhooks", "audit"} <= tables
    assert migrate(db) == []
    db.close()
    again = connect(tmp_path / "rdev.db")
    assert migrate(again) == [] and current_version(again) == len(migrations())


def test_a_failing_migration_leaves_the_previous_version(tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory)
    number = len(migrations()) + 1
    (directory / f"{number:04d}_broken.sql").write_text(
        "CREATE TABLE half_made (id INTEGER);\nINSERT INTO no_such_table VALUES (1);\n"
    )
    db = connect(tmp_path / "rdev.db")
    with pytest.raises(MigrationError, match=f"{number:04d}_broken failed"):
        migrate(db, directory)
    assert current_version(db) == number - 1
    assert db.execute("SELECT COUNT(*) FROM sqlite_master WHERE name='half_made'").fetchone()[0] == 0


def test_misnumbered_migrations_are_refused(tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory)
    (directory / "0009_gap.sql").write_text("SELECT 1;\n")
    with pytest.raises(MigrationError, match="without gaps"):
        migrations(directory)
    (directory / "0009_gap.sql").rename(directory / "bad-name.sql")
    with pytest.raises(MigrationError, match=r"NNNN_name\.sql"):
        migrations(directory)


def test_a_write_inside_a_write_joins_it_and_wake_ups_wait_for_the_commit(tmp_path: Path) -> None:
    db = Database(tmp_path / "rdev.db")
    db.connection().execute("CREATE TABLE t (n INTEGER)")
    other = connect(tmp_path / "rdev.db")  # another reader: sees committed rows only
    woken: list[str] = []

    def rows() -> list[int]:
        return [r[0] for r in other.execute("SELECT n FROM t ORDER BY n")]

    with db.write() as outer:
        outer.execute("INSERT INTO t VALUES (1)")
        with db.write() as inner:
            assert inner is outer
            inner.execute("INSERT INTO t VALUES (2)")
            db.after_commit(lambda: woken.append(f"woken, seeing {rows()}"))
        assert rows() == [] and woken == []  # the inner write did not commit on its own
    assert rows() == [1, 2] and woken == ["woken, seeing [1, 2]"]

    with pytest.raises(RuntimeError), db.write() as outer:
        outer.execute("INSERT INTO t VALUES (3)")
        with db.write() as inner:
            inner.execute("INSERT INTO t VALUES (4)")
            db.after_commit(lambda: woken.append("rolled back, yet woken"))
        raise RuntimeError("the use case fails after its inner write")
    assert rows() == [1, 2] and len(woken) == 1  # all of it rolled back, nobody woken
    db.after_commit(lambda: woken.append("outside a write: at once"))
    assert woken[-1] == "outside a write: at once"
    with db.write() as again:  # the failed one left nothing behind
        again.execute("INSERT INTO t VALUES (5)")
    assert rows() == [1, 2, 5]
    other.close()
    db.close()


def test_the_server_checkpoints_the_wal_in_a_thread_not_in_its_commits(tmp_path: Path) -> None:
    db = Database(tmp_path / "rdev.db", checkpoint_every_s=0.05)
    connection = db.connection()
    assert connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == SAFETY_AUTOCHECKPOINT_PAGES
    connection.execute("CREATE TABLE t (n INTEGER, pad BLOB)")
    for n in range(200):  # ~200 pages: below the commits' own threshold, so in the WAL only
        with db.write() as writing:
            writing.execute("INSERT INTO t VALUES (?, zeroblob(4000))", (n,))
    deadline = time.monotonic() + 10
    while (tmp_path / "rdev.db").stat().st_size < 200 * 4000:  # copied into the database
        assert time.monotonic() < deadline, "the checkpointer did not run"
        time.sleep(0.05)
    thread = db._checkpointer
    db.close()
    assert thread is not None and not thread.is_alive()
    plain = Database(tmp_path / "rdev.db")  # a short-lived one: SQLite's own checkpoints
    assert plain.connection().execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    plain.close()
