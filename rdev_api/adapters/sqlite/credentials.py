"""Credentials on SQLite (the CredentialStore port): the value is stored sealed only."""

from __future__ import annotations

import sqlite3

from rdev_api.adapters.sqlite.database import Database, decode_cursor, encode_cursor, page
from rdev_api.domain.credentials import Credential
from rdev_api.domain.errors import Conflict, NotFound
from rdev_api.domain.timestamps import rfc3339

_COLUMNS = "name, description, created_at, updated_at"


def _credential(row: sqlite3.Row) -> Credential:
    return Credential(
        name=row["name"],
        description=row["description"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class SqliteCredentialStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def put(self, credential: Credential, sealed: bytes) -> Credential:
        with self.db.write() as connection:
            connection.execute(
                "INSERT INTO credentials (name, ciphertext, description, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
                " ciphertext = excluded.ciphertext,"
                " description = COALESCE(excluded.description, credentials.description),"
                " updated_at = excluded.updated_at",
                (
                    credential.name,
                    sealed,
                    credential.description,
                    rfc3339(credential.created_at),
                    rfc3339(credential.updated_at),
                ),
            )
            row = connection.execute(
                f"SELECT {_COLUMNS} FROM credentials WHERE name = ?", (credential.name,)
            ).fetchone()
        return _credential(row)

    def get(self, name: str) -> tuple[Credential, bytes] | None:
        row = (
            self.db.connection()
            .execute(f"SELECT {_COLUMNS}, ciphertext FROM credentials WHERE name = ?", (name,))
            .fetchone()
        )
        return (_credential(row), bytes(row["ciphertext"])) if row else None

    def list(self, limit: int, cursor: str | None) -> tuple[list[Credential], str | None]:
        after = str(decode_cursor(cursor, 1)[0]) if cursor else ""
        rows = (
            self.db.connection()
            .execute(
                f"SELECT {_COLUMNS} FROM credentials WHERE name > ? ORDER BY name LIMIT ?",
                (after, limit + 1),
            )
            .fetchall()
        )
        found, next_cursor = page(rows, limit, lambda r: encode_cursor(r["name"]))
        return [_credential(r) for r in found], next_cursor

    def delete(self, name: str) -> None:
        with self.db.write() as connection:
            bound = [
                r["project_id"]
                for r in connection.execute(
                    "SELECT DISTINCT project_id FROM project_credentials WHERE credential = ?"
                    " ORDER BY project_id",
                    (name,),
                )
            ]
            if bound:
                raise Conflict(
                    f"credential {name} is bound to projects {', '.join(bound)}: unbind it first",
                    details=[{"field": "projects", "message": ", ".join(bound)}],
                )
            if connection.execute("DELETE FROM credentials WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound(f"no credential {name}")
