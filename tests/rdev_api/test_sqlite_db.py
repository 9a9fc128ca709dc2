"""SQLite: WAL/NORMAL settings, numbered migrations applied once, a failing one rolled back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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
