"""Projects and their credential bindings on SQLite (the ProjectStore port)."""

from __future__ import annotations

import base64
import json
import sqlite3
from datetime import datetime

from rdev_api.adapters.sqlite.database import Database, decode_cursor, encode_cursor, page
from rdev_api.domain.errors import Conflict, ValidationFailed
from rdev_api.domain.projects import Project, ProjectStatus
from rdev_api.domain.timestamps import rfc3339

_COLUMNS = (
    "id, name, template, variables, labels, status, failed_step, error, workspace, created_at, updated_at"
)


def _project(row: sqlite3.Row, bindings: dict[str, str]) -> Project:
    return Project(
        id=row["id"],
        name=row["name"],
        template=row["template"],
        variables=json.loads(row["variables"]),
        labels=json.loads(row["labels"]),
        credentials=bindings,
        status=row["status"],
        failed_step=row["failed_step"],
        error=row["error"],
        workspace=row["workspace"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _bindings(connection: sqlite3.Connection, project_ids: list[str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for row in connection.execute(
        "SELECT project_id, env, credential FROM project_credentials"
        " WHERE project_id IN (SELECT value FROM json_each(?)) ORDER BY project_id, env",
        (json.dumps(project_ids),),
    ):
        found.setdefault(row["project_id"], {})[row["env"]] = row["credential"]
    return found


class SqliteProjectStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def insert(self, project: Project, sealed_callback_token: bytes) -> None:
        with self.db.write() as connection:
            names = sorted(set(project.credentials.values()))
            known = {
                r["name"]
                for r in connection.execute(
                    "SELECT name FROM credentials WHERE name IN (SELECT value FROM json_each(?))",
                    (json.dumps(names),),
                )
            }
            missing = [
                {"field": f"credentials.{env}", "message": f"no credential {name}"}
                for env, name in sorted(project.credentials.items())
                if name not in known
            ]
            if missing:
                raise ValidationFailed(f"{len(missing)} unknown credential(s)", details=missing)
            try:
                connection.execute(
                    f"INSERT INTO projects ({_COLUMNS}, callback_token)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        project.id,
                        project.name,
                        project.template,
                        json.dumps(project.variables),
                        json.dumps(project.labels),
                        project.status,
                        project.failed_step,
                        project.error,
                        project.workspace,
                        rfc3339(project.created_at),
                        rfc3339(project.updated_at),
                        base64.b64encode(sealed_callback_token).decode(),
                    ),
                )
            except sqlite3.IntegrityError:
                raise Conflict(
                    f"a project with the id {project.id} or the name {project.name!r} exists"
                ) from None
            connection.executemany(
                "INSERT INTO project_credentials (project_id, env, credential) VALUES (?, ?, ?)",
                [(project.id, env, name) for env, name in project.credentials.items()],
            )

    def get(self, project_id: str) -> Project | None:
        connection = self.db.connection()
        row = connection.execute(f"SELECT {_COLUMNS} FROM projects WHERE id = ?", (project_id,)).fetchone()
        if row is None:
            return None
        return _project(row, _bindings(connection, [project_id]).get(project_id, {}))

    def list(
        self, limit: int, cursor: str | None, only: list[str] | None
    ) -> tuple[list[Project], str | None]:
        after = str(decode_cursor(cursor, 1)[0]) if cursor else ""
        query, params = f"SELECT {_COLUMNS} FROM projects WHERE id > ?", [after]
        if only is not None:
            query += " AND id IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(only))
        connection = self.db.connection()
        rows = connection.execute(query + " ORDER BY id LIMIT ?", (*params, limit + 1)).fetchall()
        found, next_cursor = page(rows, limit, lambda r: encode_cursor(r["id"]))
        bindings = _bindings(connection, [r["id"] for r in found])
        return [_project(r, bindings.get(r["id"], {})) for r in found], next_cursor

    def set_status(
        self,
        project_id: str,
        status: ProjectStatus,
        at: datetime,
        failed_step: str | None = None,
        error: str | None = None,
    ) -> None:
        with self.db.write() as connection:
            connection.execute(
                "UPDATE projects SET status = ?, failed_step = ?, error = ?, updated_at = ? WHERE id = ?",
                (status, failed_step, error, rfc3339(at), project_id),
            )

    def delete(self, project_id: str) -> None:
        with self.db.write() as connection:
            connection.execute("DELETE FROM projects WHERE id = ?", (project_id,))

    def bind(self, project_id: str, env: str, credential: str, at: datetime) -> None:
        with self.db.write() as connection:
            if (
                connection.execute("SELECT 1 FROM credentials WHERE name = ?", (credential,)).fetchone()
                is None
            ):
                raise ValidationFailed(
                    f"no credential {credential}",
                    details=[{"field": "credential", "message": f"no credential {credential}"}],
                )
            connection.execute(
                "INSERT INTO project_credentials (project_id, env, credential) VALUES (?, ?, ?)"
                " ON CONFLICT (project_id, env) DO UPDATE SET credential = excluded.credential",
                (project_id, env, credential),
            )
            connection.execute("UPDATE projects SET updated_at = ? WHERE id = ?", (rfc3339(at), project_id))

    def unbind(self, project_id: str, env: str, at: datetime) -> bool:
        with self.db.write() as connection:
            removed = connection.execute(
                "DELETE FROM project_credentials WHERE project_id = ? AND env = ?", (project_id, env)
            ).rowcount
            if removed:
                connection.execute(
                    "UPDATE projects SET updated_at = ? WHERE id = ?", (rfc3339(at), project_id)
                )
        return bool(removed)

    def sealed_callback_token(self, project_id: str) -> bytes | None:
        row = (
            self.db.connection()
            .execute("SELECT callback_token FROM projects WHERE id = ?", (project_id,))
            .fetchone()
        )
        return base64.b64decode(row["callback_token"]) if row else None
