"""API keys on SQLite (the KeyStore port)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from rdev_api.adapters.sqlite.database import Database, time_ordered_page
from rdev_api.domain.keys import ApiKey
from rdev_api.domain.timestamps import rfc3339_or_none

_FIELDS = (
    "id",
    "name",
    "secret_hash",
    "scopes",
    "projects",
    "allowed_ips",
    "expires_at",
    "revoked_at",
    "last_used_at",
    "created_by",
    "created_at",
)
_COLUMNS = ", ".join(_FIELDS)


def _key(row: sqlite3.Row) -> ApiKey:
    return ApiKey(
        id=row["id"],
        name=row["name"],
        scopes=json.loads(row["scopes"]),
        projects=json.loads(row["projects"]),
        allowed_ips=json.loads(row["allowed_ips"]),
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
        created_by=row["created_by"],
        created_at=row["created_at"],
    )


class SqliteKeyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def insert(self, key: ApiKey, secret_hash: str) -> None:
        with self.db.write() as connection:
            connection.execute(
                f"INSERT INTO api_keys ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key.id,
                    key.name,
                    secret_hash,
                    json.dumps(key.scopes),
                    json.dumps(key.projects),
                    json.dumps(key.allowed_ips),
                    rfc3339_or_none(key.expires_at),
                    rfc3339_or_none(key.revoked_at),
                    rfc3339_or_none(key.last_used_at),
                    key.created_by,
                    rfc3339_or_none(key.created_at),
                ),
            )

    def get(self, key_id: str) -> tuple[ApiKey, str] | None:
        row = (
            self.db.connection()
            .execute(f"SELECT {_COLUMNS} FROM api_keys WHERE id = ?", (key_id,))
            .fetchone()
        )
        return (_key(row), row["secret_hash"]) if row else None

    def list(self, limit: int, cursor: str | None) -> tuple[list[ApiKey], str | None]:
        select = f"SELECT {_COLUMNS} FROM api_keys"
        found, next_cursor = time_ordered_page(self.db.connection(), select, [], [], limit, cursor)
        return [_key(r) for r in found], next_cursor

    def revoke(self, key_id: str, at: datetime) -> None:
        with self.db.write() as connection:
            connection.execute(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
                (rfc3339_or_none(at), key_id),
            )

    def replace_secret(self, key_id: str, secret_hash: str) -> None:
        with self.db.write() as connection:
            connection.execute("UPDATE api_keys SET secret_hash = ? WHERE id = ?", (secret_hash, key_id))

    def touch(self, key_id: str, at: datetime) -> None:
        with self.db.write() as connection:
            connection.execute(
                "UPDATE api_keys SET last_used_at = ? WHERE id = ?", (rfc3339_or_none(at), key_id)
            )
