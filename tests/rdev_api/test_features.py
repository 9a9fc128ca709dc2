"""SDLC over the real API: features created, listed, shown and classified through the `sdlc`
library; a feature run as an `sdlc` work item by the embedded workers (a fake agent writes the
spec) until a human must act, then approved over the API; the project's `sdlc` posting its
events back, signed, stored once per event id and turned into `feature.*` webhooks."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from test_http_keys import error_of, make_key

from conftest import ApiServer
from rdev_api.services.sdlc import signature
from sdlc.ops.artifacts import move_artifact
from sdlc.store import Store

FEATURE_EVENTS = ["feature.transitioned", "feature.action_required", "feature.released"]
FAKE_AGENT = """\
import pathlib, subprocess, sys
prompt = sys.stdin.read()
assert "login" in prompt
pathlib.Path(".sdlc/features/login/spec.md").write_text("# Login\\nUsers sign in.\\n")
done = subprocess.run([sys.executable, "-m", "sdlc", "artifact", "draft", "login", "spec"])
sys.exit(done.returncode)
"""


def _wait_for(check: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _project(api: ApiServer, name: str = "shop") -> Path:
    with api.admin() as admin:
        response = admin.post("/projects", json={"name": name})
    assert response.status_code == 201, response.text
    return Path(response.json()["workspace"])


def _create_login(api: ApiServer) -> dict[str, Any]:
    with api.admin() as admin:
        response = admin.post(
            "/projects/shop/features", json={"slug": "login", "title": "Login", "description": "Sign in."}
        )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def _post(api: ApiServer, project: str, body: bytes, sig: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if sig is not None:
        headers["X-Rdev-Signature"] = sig
    with api.client() as client:
        return client.post(f"/projects/{project}/sdlc/events", content=body, headers=headers)


def test_features_are_read_and_created_through_sdlc(api_server: ApiServer) -> None:
    workspace = _project(api_server)
    created = _create_login(api_server)
    assert created["slug"] == "login" and created["phase"] == "draft" and created["title"] == "Login"
    assert created["description"] == "Sign in."
    assert Store(workspace).load_feature("login").title == "Login"  # the workspace's .sdlc/
    reader = make_key(api_server, scopes=["projects:read"])
    with api_server.client(reader["token"]) as client, api_server.admin() as admin:
        listed = client.get("/projects/shop/features").json()
        assert [(f["slug"], f["phase"]) for f in listed] == [("login", "draft")]
        assert client.get("/projects/shop/features", params={"phase": "released"}).json() == []
        error_of(client.get("/projects/shop/features", params={"phase": "nope"}), 422, "VALIDATION_FAILED")
        assert client.get("/projects/shop/features/login").json() == created
        step = client.get("/projects/shop/features/login/next").json()
        assert step["action"] == "create_spec" and step["feature"] == "login"
        error_of(client.post("/projects/shop/features", json={"slug": "x"}), 403, "FORBIDDEN")
        # sdlc's errors become the envelope, never a 500
        error_of(client.get("/projects/shop/features/nope"), 404, "NOT_FOUND")
        error_of(client.get("/projects/shop/features/nope/next"), 404, "NOT_FOUND")
        error_of(client.get("/projects/shop/features/Bad..Slug"), 422, "VALIDATION_FAILED")
        error_of(client.get("/projects/ghost/features"), 404, "NOT_FOUND")
        error_of(admin.post("/projects/shop/features", json={"slug": "Not A Slug"}), 422, "VALIDATION_FAILED")
        error_of(admin.post("/projects/shop/features", json={"slug": "login"}), 409, "CONFLICT")
        error_of(admin.post("/projects/shop/features", json={"slug": "a", "x": 1}), 422, "VALIDATION_FAILED")
        moved = admin.post("/projects/shop/features/login/artifacts/spec/approve", json={})
        assert error_of(moved, 409, "CONFLICT")["details"] == [{"sdlc_code": "missing_artifact"}]
        error_of(
            admin.post("/projects/shop/features/login/artifacts/nope/approve", json={}),
            422,
            "VALIDATION_FAILED",
        )
        error_of(admin.post("/projects/shop/features/nope/run", json={"max_steps": 2}), 404, "NOT_FOUND")
        error_of(
            admin.post("/projects/shop/features/login/run", json={"max_steps": 0}), 422, "VALIDATION_FAILED"
        )
        for slug in ("b-two", "c-three", "d-four"):
            assert admin.post("/projects/shop/features", json={"slug": slug}).status_code == 201
        seen, url, pages = [], "/projects/shop/features?limit=3", 0
        while url:
            page = client.get(url)
            seen += [f["slug"] for f in page.json()]
            url = page.links.get("next", {}).get("url")
            pages += 1
        assert seen == ["login", "b-two", "c-three", "d-four"] and pages == 2
        error_of(client.get("/projects/shop/features", params={"cursor": "bm9wZQ"}), 400, "BAD_REQUEST")
        actions = [(e["action"], e["target"]) for e in admin.get("/audit").json()]
    assert ("feature.create", "shop/login") in actions


def test_a_run_goes_until_a_human_must_act_then_is_approved(api_server: ApiServer, tmp_path: Path) -> None:
    workspace = _project(api_server)
    _create_login(api_server)
    agent = workspace / "fake_agent.py"  # where a sandboxed run sees it (its /tmp is private)
    agent.write_text(FAKE_AGENT)
    config_file = workspace / ".sdlc" / "config.yaml"
    config = yaml.safe_load(config_file.read_text())
    config["agents"] = {"default": {"type": "shell", "command": f"{sys.executable} {agent}"}}
    # the run's sdlc posts its events to this server (signed with the token the item passes)
    config["callbacks"]["url"] = f"{api_server.url}/projects/shop/sdlc/events"
    config_file.write_text(yaml.safe_dump(config))
    api_server.services.embedded_workers.start()
    try:
        with api_server.admin() as admin:
            queued = admin.post("/projects/shop/features/login/run", json={"max_steps": 3})
            assert queued.status_code == 202, queued.text
            item = queued.json()
            assert item["type"] == "sdlc" and item["project"] == "shop"
            assert item["payload"] == {"feature": "login", "max_steps": 3}

            def finished() -> dict[str, Any] | None:
                found: dict[str, Any] = admin.get(f"/work/{item['id']}").json()
                return found if found["status"] not in ("queued", "running") else None

            done = _wait_for(finished, "the sdlc item")
    finally:
        api_server.services.embedded_workers.stop(timeout=10)
    assert done["status"] == "succeeded", done
    assert done["result"]["exit_code"] == 3 and done["result"]["human_action_required"] is True
    assert (workspace / ".sdlc" / "features" / "login" / "spec.md").is_file()
    with api_server.admin() as admin:
        command = admin.get(f"/commands/{done['result']['command_id']}").json()
        assert command["status"] == "failed" and command["exit_code"] == 3
        assert admin.get("/projects/shop/features/login/next").json()["action"] == "approve_spec"
        approved = admin.post("/projects/shop/features/login/artifacts/spec/approve", json={"by": "alice"})
        assert approved.status_code == 200, approved.text
        assert approved.json()["artifact"]["status"] == "approved" and approved.json()["changed"] is True
        again = admin.post("/projects/shop/features/login/artifacts/spec/approve", json={"by": "alice"})
        assert again.status_code == 200 and again.json()["changed"] is False
        assert admin.get("/projects/shop/features/login/next").json()["action"] != "approve_spec"
    # the run's own sdlc delivered its events: the agent's draft among them
    sdlc = api_server.services.sdlc
    stored = _wait_for(
        lambda: [e for e in sdlc.stored_events("shop", 100, None)[0] if e["type"] == "artifact.draft"],
        "the run's events",
    )
    assert stored[0]["feature"] == "login" and stored[0]["data"]["artifact"] == "spec"


def test_signed_events_are_stored_once_and_become_webhooks(api_server: ApiServer) -> None:
    workspace = _project(api_server)
    _create_login(api_server)
    services = api_server.services
    webhook, _ = services.webhooks.create("http://127.0.0.1:9/hook", FEATURE_EVENTS)
    token = services.projects.callback_token("shop")

    def event(id_: int, type_: str, **data: Any) -> dict[str, Any]:
        return {
            "id": id_,
            "ts": "2026-01-01T00:00:00Z",
            "actor": "bob",
            "feature": "login",
            "type": type_,
            "data": data,
        }

    batch = {
        "project": "shop",
        "events": [
            event(1, "feature.created", title="Login"),
            event(2, "feature.transitioned", **{"from": "draft", "to": "specified"}),
            event(3, "feature.transitioned", **{"from": "merge", "to": "released"}),
        ],
    }
    body = json.dumps(batch).encode()
    received = _post(api_server, "shop", body, signature(token, body))
    assert received.status_code == 200, received.text
    assert received.json() == {"received": 3, "stored": 3, "duplicates": 0}
    events = [(d.event, d.payload.get("to")) for d in services.webhooks.deliveries(webhook.id, 100, None)[0]]
    # login waits for its spec (an agent's action): no feature.action_required
    assert sorted(events, key=str) == sorted(
        [
            ("feature.transitioned", "specified"),
            ("feature.transitioned", "released"),
            ("feature.released", None),
        ],
        key=str,
    )
    # a repeat (at-least-once delivery) is stored and emitted once
    again = _post(api_server, "shop", body, signature(token, body))
    assert again.json() == {"received": 3, "stored": 0, "duplicates": 3}
    assert len(services.webhooks.deliveries(webhook.id, 100, None)[0]) == 3
    stored, _ = services.sdlc.stored_events("shop", 100, None)
    assert [(e["id"], e["type"]) for e in stored] == [
        (1, "feature.created"),
        (2, "feature.transitioned"),
        (3, "feature.transitioned"),
    ]
    # a spec drafted: the feature now needs a human, and the next event about it says so
    (workspace / ".sdlc" / "features" / "login" / "spec.md").write_text("# Login\n")
    move_artifact(Store(workspace), "agent", "login", "spec", "draft")
    body = json.dumps({"project": "shop", "events": [event(4, "artifact.draft", artifact="spec")]}).encode()
    assert _post(api_server, "shop", body, signature(token, body)).json()["stored"] == 1
    required = [
        d
        for d in services.webhooks.deliveries(webhook.id, 100, None)[0]
        if d.event == "feature.action_required"
    ]
    assert len(required) == 1 and required[0].payload["action"] == "approve_spec"
    assert required[0].payload["project"] == "shop" and required[0].payload["feature"] == "login"
    # no valid signature, no events
    other = json.dumps({"project": "shop", "events": [event(5, "feature.created")]}).encode()
    error_of(_post(api_server, "shop", other, None), 401, "BAD_SIGNATURE")
    error_of(_post(api_server, "shop", other, signature("not-the-token", other)), 401, "BAD_SIGNATURE")
    error_of(_post(api_server, "shop", other, signature(token, body)), 401, "BAD_SIGNATURE")
    error_of(_post(api_server, "ghost", other, signature(token, other)), 401, "BAD_SIGNATURE")
    assert [e["id"] for e in services.sdlc.stored_events("shop", 100, None)[0]] == [1, 2, 3, 4]
    # signed but malformed: the envelope
    bad = b'{"project": "shop", "events": [{"id": 0}]}'
    error_of(_post(api_server, "shop", bad, signature(token, bad)), 422, "VALIDATION_FAILED")
    error_of(_post(api_server, "shop", b"{", signature(token, b"{")), 422, "VALIDATION_FAILED")
