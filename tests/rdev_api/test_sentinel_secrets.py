"""Sentinel secrets never leak (spec/rdev-api.md "Must hold"): over a full flow on a real
`rdev server start` process logging at debug level, the API keys (bootstrap, created, rotated,
minted by `rdev server admin-key`), a credential value and a webhook secret appear in no log
line, in no response but their one-time return, and nowhere in the database files in clear.

What is excluded, precisely: the one-time returns (POST /keys, POST /keys/{id}/rotate,
POST /webhooks, the audited POST /credentials/{name}/reveal) and the stored output of the
user's own program: a command that prints its credential (`user-output:<value>`) has that
line in its output events (GET /commands/{id}/events) and in the database's command_events
rows; every other copy of the value is a leak. The master key and a project's callback token
(sealed in the database) are checked the same way."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import re
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_kill9_recovery import RealServer, create_project, server_env, wait_for
from test_server import rdev
from test_webhooks import Receiver

from rdev_api.adapters.crypto.aesgcm import AesGcmBox, decode_master_key

TOKEN = re.compile(r"rdev_[a-z0-9]{8}_[A-Za-z0-9]{32,128}")
OUTPUT_PREFIX = b"user-output:"
PROJECTS_SCOPES = ("projects:read", "projects:write", "projects:execute")
CREDENTIALS_SCOPES = ("credentials:read", "credentials:write")
WEBHOOKS_SCOPES = ("webhooks:read", "webhooks:write")


class Secrets:
    """Every sentinel of the flow, by name."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def add(self, name: str, value: str) -> str:
        assert value and value not in self.values.values()
        self.values[name] = value
        return value

    def key(self, name: str, token: str) -> str:
        """An API key: its secret part is the sentinel (the id before it is public)."""
        assert TOKEN.fullmatch(token), token
        return self.add(name, token.rsplit("_", 1)[1])

    def found_in(self, text: str | bytes) -> set[str]:
        data = text.encode() if isinstance(text, str) else text
        return {name for name, value in self.values.items() if value.encode() in data}


class Recorder:
    """Every response of the test's clients; `allow` marks one that may carry a secret."""

    def __init__(self) -> None:
        self.responses: list[httpx.Response] = []
        self.allowed: dict[int, set[str]] = {}

    def hook(self, response: httpx.Response) -> None:
        response.read()
        self.responses.append(response)

    def allow(self, response: httpx.Response, *names: str) -> httpx.Response:
        self.allowed[id(response)] = set(names)
        return response

    def leaks(self, secrets: Secrets) -> list[str]:
        found = []
        for response in self.responses:
            text = response.text + "".join(f"{k}: {v}\n" for k, v in response.headers.items())
            extra = secrets.found_in(text) - self.allowed.get(id(response), set())
            if extra:
                found.append(f"{response.request.method} {response.request.url.path}: {sorted(extra)}")
        return found


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver(failures=1)  # one failed attempt: the retry path runs too
    yield made
    made.close()


@pytest.fixture(params=["json", "text"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RealServer]:
    env = server_env(
        tmp_path,
        RDEV_LOG_FORMAT=request.param,
        RDEV_LOG_LEVEL="debug",
        RDEV_LOG_LEVELS="http=debug,queue=debug,webhooks=debug,server=debug,executor=debug",
        RDEV_WEBHOOK_BACKOFF_BASE="50ms",
        RDEV_WEBHOOK_BACKOFF_CAP="200ms",
        RDEV_REAPER_INTERVAL="200ms",
    )
    found = RealServer(tmp_path / "data", env)
    found.start()
    yield found
    found.stop()


def database_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(data_dir.glob("rdev.db*")))


def assert_only_as_user_output(data: bytes, value: str, where: str) -> None:
    """Each copy of `value` in `data` is the printed line of the user's command."""
    needle = value.encode()
    at = data.find(needle)
    while at != -1:
        assert data[at - len(OUTPUT_PREFIX) : at] == OUTPUT_PREFIX, (
            f"the credential value in clear in {where}"
        )
        at = data.find(needle, at + 1)


def callback_token(data_dir: Path, master_key: str, project: str) -> str:
    """The project's callback token, opened the way the server opens it (AES-GCM)."""
    with contextlib.closing(sqlite3.connect(data_dir / "rdev.db")) as connection:
        (sealed,) = connection.execute(
            "SELECT callback_token FROM projects WHERE id = ?", (project,)
        ).fetchone()
    box = AesGcmBox(decode_master_key(master_key, "master.key"))
    return box.open(base64.b64decode(sealed), f"project:{project}".encode()).decode()


def finished_command(client: httpx.Client, command_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        command: dict[str, Any] = client.get(f"/commands/{command_id}").json()
        return command if command["status"] not in ("queued", "running") else None

    found: dict[str, Any] = wait_for(done, f"command {command_id} to finish")
    return found


def test_sentinel_secrets_never_leak(server: RealServer, receiver: Receiver) -> None:
    secrets = Secrets()
    recorder = Recorder()
    hooks = {"response": [recorder.hook]}

    def client(token: str) -> httpx.Client:
        return httpx.Client(base_url=server.url, headers={"X-API-Key": token}, timeout=30, event_hooks=hooks)

    bootstrap = server.admin_token()
    assert TOKEN.findall(server.out_path.read_text()) == [bootstrap]  # printed once, on stdout
    secrets.key("bootstrap admin key", bootstrap)
    credential = secrets.add("credential value", f"sentinel-cred-{uuid.uuid4().hex}")
    refused_value = secrets.add("value of a refused request", f"sentinel-refused-{uuid.uuid4().hex}")

    with client(bootstrap) as admin:
        put = admin.put("/credentials/deploy-token", json={"value": credential, "description": "deploys"})
        assert put.status_code in (200, 201), put.text
        created = admin.post(
            "/keys",
            json={
                "name": "ci",
                "scopes": [
                    *PROJECTS_SCOPES,
                    "queue:read",
                    "queue:write",
                    *CREDENTIALS_SCOPES,
                    *WEBHOOKS_SCOPES,
                ],
            },
        )
        assert created.status_code == 201, created.text
        ci_token = created.json()["token"]
        secrets.key("ci key", ci_token)
        recorder.allow(created, "ci key")
        ci_id = created.json()["id"]

    with client(ci_token) as ci:
        hook = ci.post("/webhooks", json={"url": f"{receiver.url}/hook", "events": ["*"]})
        assert hook.status_code == 201, hook.text
        webhook_secret = hook.json()["secret"]
        secrets.add("webhook secret", webhook_secret)
        recorder.allow(hook, "webhook secret")

        project = create_project(ci, "vault")["id"]
        bound = ci.put(f"/projects/{project}/credentials/DEPLOY_TOKEN", json={"credential": "deploy-token"})
        assert bound.status_code == 200, bound.text
        script = 'echo "user-output:$DEPLOY_TOKEN"; echo "user-output:$DEPLOY_TOKEN" >&2'
        started = ci.post(f"/projects/{project}/commands", json={"kind": "shell", "script": script})
        assert started.status_code == 202, started.text
        command_id = started.json()["id"]
        assert finished_command(ci, command_id)["status"] == "succeeded"
        stream = recorder.allow(ci.get(f"/commands/{command_id}/events"), "credential value")
        assert f"user-output:{credential}" in stream.text  # the value reached the command

        item = ci.post(
            "/work",
            json={"type": "command", "project": project, "payload": {"kind": "shell", "script": script}},
        )
        assert item.status_code == 201, item.text
        wait_for(
            lambda: ci.get(f"/work/{item.json()['id']}").json()["status"] == "succeeded", "the work item"
        )

        assert ci.post(f"/webhooks/{hook.json()['id']}/test").status_code in (200, 201, 202)

        # failing requests: a wrong body carrying a secret, malformed JSON, wrong keys
        wrong = ci.put("/credentials/other", json={"value": refused_value, "unexpected": refused_value})
        assert wrong.status_code == 422, wrong.text
        malformed = ci.put(
            "/credentials/other",
            content=f'{{"value": "{refused_value}"',
            headers={"Content-Type": "application/json"},
        )
        assert malformed.status_code == 400, malformed.text
        assert ci.post("/keys", json={"name": "x", "scopes": ["admin"]}).status_code == 403
    for bad in (ci_token + "x", ci_token[:-1]):
        with client(bad) as wrong_key:
            assert wrong_key.get("/whoami").status_code == 401
    with httpx.Client(base_url=server.url, event_hooks=hooks) as anonymous:
        assert anonymous.get("/whoami", headers={"Authorization": f"Bearer {ci_token}"}).status_code == 401

    with client(bootstrap) as admin:
        revealed = admin.post("/credentials/deploy-token/reveal")
        assert recorder.allow(revealed, "credential value").json() == {
            "name": "deploy-token",
            "value": credential,
        }
        rotated = admin.post(f"/keys/{ci_id}/rotate")
        assert rotated.status_code in (200, 201), rotated.text
        rotated_token = rotated.json()["token"]
        secrets.key("rotated ci key", rotated_token)
        recorder.allow(rotated, "rotated ci key")
        minted = rdev(server.env, "server", "admin-key", "--data-dir", server.data_dir)
        assert minted.returncode == 0, minted.stderr
        (minted_token,) = TOKEN.findall(minted.stdout)
        secrets.key("minted admin key", minted_token)
        wait_for(lambda: len(receiver.received) >= 5, "webhook deliveries")

        with client(rotated_token) as ci:
            assert ci.get("/whoami").status_code == 200
        with client(ci_token) as old:
            assert old.get("/whoami").status_code == 401
        with client(minted_token) as minted_admin:
            assert minted_admin.get("/whoami").status_code == 200

        # every read: lists, single records, deliveries, the audit trail
        webhook_id = hook.json()["id"]
        for path in (
            "/keys",
            f"/keys/{ci_id}",
            "/credentials",
            "/projects",
            f"/projects/{project}",
            f"/projects/{project}/commands",
            f"/commands/{command_id}",
            "/work",
            f"/work/{item.json()['id']}",
            "/work/stats",
            "/workers",
            "/webhooks",
            f"/webhooks/{webhook_id}",
            f"/webhooks/{webhook_id}/deliveries",
            "/audit",
            "/whoami",
            "/health",
            "/templates",
        ):
            assert admin.get(path).status_code == 200, path
        audit = admin.get("/audit", params={"limit": 1000}).json()
        assert {"credential.reveal", "key.rotate", "webhook.create"} <= {row["action"] for row in audit}
        database_running = database_bytes(server.data_dir)

    server.stop()
    master_key = (server.data_dir / "master.key").read_text().strip()
    secrets.add("master key", master_key)
    secrets.add("project callback token", callback_token(server.data_dir, master_key, project))

    assert recorder.leaks(secrets) == []
    for _, headers, body in receiver.received:  # what the webhooks sent out
        assert secrets.found_in(body) == set(), body
        expected = "sha256=" + hmac.new(webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Rdev-Signature"] == expected

    log = server.log_path.read_bytes()
    assert b"/credentials/other" in log and b"422" in log  # the log was captured, failures included
    assert secrets.found_in(log) == set()
    assert OUTPUT_PREFIX not in log  # command output is never logged

    database = database_running + database_bytes(server.data_dir)
    assert OUTPUT_PREFIX + credential.encode() in database  # the scan sees the stored output
    assert hashlib.sha256(rotated_token.rsplit("_", 1)[1].encode()).hexdigest().encode() in database
    assert secrets.found_in(database) <= {"credential value"}, secrets.found_in(database)
    assert_only_as_user_output(database, credential, "the database files")
    assert decode_master_key(master_key, "master.key") not in database
