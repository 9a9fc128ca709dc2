"""Whole-database maintenance of the local edition: re-sealing every encrypted column under a
new master key, and the clean-up of a server that died (spec/rdev-api.md "Start-up")."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from rdev_api.adapters.sqlite.database import Database
from rdev_api.domain.timestamps import rfc3339
from rdev_api.domain.work import after_lease_expiry
from rdev_api.ports.secret_box import SecretBox

# (table, key column, sealed column, context prefix): every value sealed under the master key.
SEALED_COLUMNS = (
    ("credentials", "name", "ciphertext", b"credential:"),
    ("webhooks", "id", "secret", b"webhook:"),
    ("projects", "id", "callback_token", b"project:"),
)
SERVER_RESTART = "server_restart"


@dataclass(frozen=True)
class _Sealed:
    table: str
    key: str
    column: str
    row_key: str
    context: bytes
    value: bytes
    as_text: bool  # stored as base64 text (a TEXT column) rather than a BLOB

    def stored(self, sealed: bytes) -> bytes | str:
        return base64.b64encode(sealed).decode() if self.as_text else sealed


def _sealed_rows(connection: sqlite3.Connection) -> list[_Sealed]:
    rows = []
    for table, key, column, prefix in SEALED_COLUMNS:
        for row_key, value in connection.execute(f"SELECT {key}, {column} FROM {table}"):
            as_text = isinstance(value, str)
            sealed = base64.b64decode(value) if as_text else bytes(value)
            rows.append(_Sealed(table, key, column, row_key, prefix + row_key.encode(), sealed, as_text))
    return rows


def reseal(db: Database, old: SecretBox, new: SecretBox) -> int:
    """Open every sealed value with `old` and seal it with `new`, all in one transaction (a
    value that does not open aborts it, changing nothing). Returns how many were re-sealed."""
    with db.write() as connection:
        rows = _sealed_rows(connection)
        for row in rows:
            resealed = new.seal(old.open(row.value, row.context), row.context)
            connection.execute(
                f"UPDATE {row.table} SET {row.column} = ? WHERE {row.key} = ?",
                (row.stored(resealed), row.row_key),
            )
    return len(rows)


def opens_with(db: Database, box: SecretBox) -> bool | None:
    """Whether the first sealed value opens with `box`; None when nothing is sealed."""
    rows = _sealed_rows(db.connection())
    if not rows:
        return None
    try:
        box.open(rows[0].value, rows[0].context)
    except Exception:  # any failure to open means: not this key
        return False
    return True


@dataclass(frozen=True)
class Recovery:
    """What the clean-up after a dead server did."""

    requeued: int  # work items whose lease expired, back in the queue
    dead: int  # ... or dead, their attempts spent
    commands_failed: int  # commands left `running`, now failed with reason server_restart
    groups_killed: int  # their process groups that were still alive


def recover(db: Database, now: datetime, kill_group: Callable[[int], bool]) -> Recovery:
    """Kill the process groups of commands a previous server left `running` (`kill_group`
    returns whether one was alive), mark those commands failed with reason server_restart and
    an `end` event for their followers, and put work items with an expired lease back."""
    connection = db.connection()
    running = connection.execute(
        "SELECT id, pgid FROM commands WHERE status = 'running' ORDER BY created_at"
    ).fetchall()
    killed = sum(1 for row in running if row["pgid"] is not None and kill_group(int(row["pgid"])))
    end = json.dumps({"status": "failed", "exit_code": None, "reason": SERVER_RESTART})
    requeued = dead = 0
    with db.write() as connection:
        for row in running:
            seq = connection.execute("SELECT next_seq FROM commands WHERE id = ?", (row["id"],)).fetchone()[0]
            connection.execute(
                "UPDATE commands SET status = 'failed', reason = ?, pgid = NULL, finished_at = ?,"
                " next_seq = ? WHERE id = ? AND status = 'running'",
                (SERVER_RESTART, rfc3339(now), seq + 1, row["id"]),
            )
            connection.execute(
                "INSERT INTO command_events (command_id, seq, event, data, created_at)"
                " VALUES (?, ?, 'end', ?, ?)",
                (row["id"], seq, end, rfc3339(now)),
            )
        leased = connection.execute(
            "SELECT id, attempts, max_attempts, lease_expires_at FROM work_items WHERE status = 'running'"
        ).fetchall()
        for item in leased:
            expires = item["lease_expires_at"]
            if expires is not None and datetime.fromisoformat(expires) > now:
                continue
            outcome = after_lease_expiry(item["attempts"], item["max_attempts"], now)
            connection.execute(
                "UPDATE work_items SET status = ?, run_after = COALESCE(?, run_after),"
                " lease_expires_at = NULL, worker_id = NULL, last_error = ?, updated_at = ?,"
                " finished_at = ? WHERE id = ?",
                (
                    outcome.status,
                    rfc3339(outcome.run_after) if outcome.run_after else None,
                    "lease expired: the server or worker holding it went away",
                    rfc3339(now),
                    rfc3339(now) if outcome.status == "dead" else None,
                    item["id"],
                ),
            )
            if outcome.status == "dead":
                dead += 1
            else:
                requeued += 1
    return Recovery(requeued, dead, len(running), killed)
