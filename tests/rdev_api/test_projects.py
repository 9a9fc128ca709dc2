"""Projects over the real API: created from templates into a workspace with a git commit and
`sdlc` (callbacks configured), all or nothing when a step fails, restricted keys seeing only
their projects, credential bindings, delete removing the workspace, and traversal in names
answered with the envelope."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import git
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from test_http_keys import error_of, make_key

from conftest import ApiServer
from rdev_api.domain.errors import ValidationFailed
from rdev_api.domain.projects import is_project_id, project_id_for
from rdev_api.envutil import get_env


def create(api: ApiServer, **body: Any) -> dict[str, Any]:
    with api.admin() as admin:
        response = admin.post("/projects", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def workspaces(api: ApiServer) -> list[str]:
    root = Path(api.services.db.path).parent / "workspaces"
    return sorted(p.name for p in root.iterdir())


def test_create_from_the_default_template(api_server: ApiServer) -> None:
    project = create(api_server, name="My Shop", labels={"team": "web"})
    assert project["id"] == "my-shop" and project["status"] == "ready" and project["template"] == "default"
    assert project["variables"] == {"project_name": "my-shop"} and project["labels"] == {"team": "web"}
    workspace = Path(project["workspace"])
    assert workspace == Path(api_server.services.db.path).parent / "workspaces" / "my-shop"
    assert "my-shop" in (workspace / "README.md").read_text().lower()
    assert (workspace / ".woodpecker.yml").is_file() and (
        workspace / ".skeletons" / "root.lock.yaml"
    ).is_file()
    with git.Repo(workspace) as repo:
        commits = list(repo.iter_commits())
        assert not repo.is_dirty(untracked_files=True)
        assert "README.md" in repo.head.commit.tree and ".sdlc" in repo.head.commit.tree
    assert len(commits) == 2 and all(
        c.author.name == "rdev" and c.author.email == "rdev@localhost" for c in commits
    )
    config = yaml.safe_load((workspace / ".sdlc" / "config.yaml").read_text())
    public = get_env("RDEV_PUBLIC_URL").rstrip("/")
    assert config["callbacks"] == {
        "url": f"{public}/projects/my-shop/sdlc/events",
        "token_env": "RDEV_CALLBACK_TOKEN",
        "project": "my-shop",
    }
    token = api_server.services.projects.callback_token("my-shop")
    assert len(token) >= 32 and token not in (workspace / ".sdlc" / "config.yaml").read_text()
    database = Path(api_server.services.db.path)
    for path in (database, database.with_name(database.name + "-wal")):
        if path.exists():
            assert token.encode() not in path.read_bytes()
    with api_server.admin() as admin:
        assert admin.get("/projects/my-shop").json() == project
        assert [p["id"] for p in admin.get("/projects").json()] == ["my-shop"]
        assert ("project.create", "my-shop") in [
            (e["action"], e["target"]) for e in admin.get("/audit").json()
        ]


def test_create_from_the_go_api_template(api_server: ApiServer) -> None:
    project = create(
        api_server, name="orders", template="go-api", variables={"port": 9090, "with_docker": False}
    )
    workspace = Path(project["workspace"])
    assert "module example.com/orders" in (workspace / "go.mod").read_text()
    assert (workspace / "cmd" / "server" / "main.go").is_file() and not (workspace / "Dockerfile").exists()
    assert project["variables"] == {"port": 9090, "with_docker": False, "project_name": "orders"}
    with git.Repo(workspace) as repo:
        assert "go.mod" in repo.head.commit.tree
    assert (workspace / ".sdlc" / "state.yaml").is_file()


def test_create_from_the_astro_landing_template(api_server: ApiServer) -> None:
    project = create(api_server, name="launch", template="astro-landing", variables={"title": "Launch Day"})
    workspace = Path(project["workspace"])
    assert project["status"] == "ready" and project["template"] == "astro-landing"
    assert '"name": "launch"' in (workspace / "package.json").read_text()
    assert (workspace / "astro.config.mjs").is_file()
    assert "Launch Day" in (workspace / "README.md").read_text()
    with git.Repo(workspace) as repo:
        assert "package.json" in repo.head.commit.tree and ".sdlc" in repo.head.commit.tree
    assert (workspace / ".sdlc" / "state.yaml").is_file()


def test_names_are_unique_by_id(api_server: ApiServer) -> None:
    create(api_server, name="my-app")
    with api_server.admin() as admin:
        error_of(admin.post("/projects", json={"name": "My App"}), 409, "CONFLICT")
        error_of(admin.post("/projects", json={"name": "my-app"}), 409, "CONFLICT")
    assert workspaces(api_server) == ["my-app"]
    assert create(api_server, name="my-app-2")["status"] == "ready"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "p", "template": "no-such-template"}, "template"),
        ({"name": "p", "template": "../default"}, "template"),
        ({"name": "p", "template": "go-api", "variables": {"port": "not-a-port"}}, "variables.port"),
        ({"name": "p", "variables": {"nonsense": "x"}}, "variables.nonsense"),
        ({"name": "p", "credentials": {"TOKEN": "missing"}}, "credentials.TOKEN"),
        ({"name": "p", "credentials": {"lower": "x"}}, "credentials.lower"),
    ],
)
def test_a_failing_step_leaves_nothing(api_server: ApiServer, body: dict[str, Any], field: str) -> None:
    with api_server.admin() as admin:
        failed = error_of(admin.post("/projects", json=body), 422, "VALIDATION_FAILED")
        assert field in [d["field"] for d in failed["details"]], failed
        error_of(admin.get("/projects/p"), 404, "NOT_FOUND")
        assert admin.get("/projects").json() == []
    assert workspaces(api_server) == []
    assert create(api_server, name="p")["status"] == "ready", "the name is free again"


def test_restricted_keys_see_their_projects_only(api_server: ApiServer) -> None:
    create(api_server, name="alpha")
    create(api_server, name="beta")
    reader = make_key(api_server, scopes=["projects:read", "projects:write"], projects=["alpha", "gamma"])
    with api_server.client(reader["token"]) as client:
        assert [p["id"] for p in client.get("/projects").json()] == ["alpha"]
        assert client.get("/projects/alpha").json()["id"] == "alpha"
        error_of(client.get("/projects/beta"), 403, "PROJECT_FORBIDDEN")
        error_of(client.get("/projects/nothing"), 403, "PROJECT_FORBIDDEN")
        error_of(client.delete("/projects/beta"), 403, "PROJECT_FORBIDDEN")
        error_of(client.post("/projects", json={"name": "delta"}), 403, "PROJECT_FORBIDDEN")
        error_of(
            client.put("/projects/beta/credentials/X", json={"credential": "c"}), 403, "PROJECT_FORBIDDEN"
        )
        assert client.post("/projects", json={"name": "gamma"}).status_code == 201
        assert [p["id"] for p in client.get("/projects").json()] == ["alpha", "gamma"]
    with api_server.admin() as admin:
        assert [p["id"] for p in admin.get("/projects", params={"limit": 2}).json()] == ["alpha", "beta"]


def test_credential_bindings(api_server: ApiServer) -> None:
    create(api_server, name="app")
    with api_server.admin() as admin:
        admin.put("/credentials/npm", json={"value": "npm-secret"})
        error_of(
            admin.put("/projects/app/credentials/NPM_TOKEN", json={"credential": "nope"}),
            422,
            "VALIDATION_FAILED",
        )
        error_of(
            admin.put("/projects/app/credentials/npm_token", json={"credential": "npm"}),
            422,
            "VALIDATION_FAILED",
        )
        error_of(
            admin.put("/projects/ghost/credentials/NPM_TOKEN", json={"credential": "npm"}), 404, "NOT_FOUND"
        )
        bound = admin.put("/projects/app/credentials/NPM_TOKEN", json={"credential": "npm"})
        assert bound.json()["credentials"] == {"NPM_TOKEN": "npm"}
        assert api_server.services.projects.environment("app") == {"NPM_TOKEN": "npm-secret"}
        assert admin.delete("/projects/app/credentials/NPM_TOKEN").json()["credentials"] == {}
        error_of(admin.delete("/projects/app/credentials/NPM_TOKEN"), 404, "NOT_FOUND")
        actions = [(e["action"], e["target"]) for e in admin.get("/audit").json()]
    assert ("project.credential.bind", "app/NPM_TOKEN") in actions
    assert ("project.credential.unbind", "app/NPM_TOKEN") in actions
    assert api_server.services.projects.environment("app") == {}


def test_delete_removes_the_workspace_and_rows(api_server: ApiServer) -> None:
    with api_server.admin() as admin:
        admin.put("/credentials/c", json={"value": "v"})
    project = create(api_server, name="doomed", credentials={"C": "c"})
    assert Path(project["workspace"]).is_dir()
    with api_server.admin() as admin:
        assert admin.delete("/projects/doomed").status_code == 204
        error_of(admin.get("/projects/doomed"), 404, "NOT_FOUND")
        error_of(admin.delete("/projects/doomed"), 404, "NOT_FOUND")
        assert admin.delete("/credentials/c").status_code == 204, "the binding went with the project"
        assert ("project.delete", "doomed") in [
            (e["action"], e["target"]) for e in admin.get("/audit").json()
        ]
    assert not Path(project["workspace"]).exists() and workspaces(api_server) == []


@pytest.mark.parametrize("name", ["../x", "a/b", "..", "", ".hidden", "a\\b", "x" * 101, "--"])
def test_traversal_in_project_names_is_refused(api_server: ApiServer, name: str) -> None:
    with api_server.admin() as admin:
        error_of(admin.post("/projects", json={"name": name}), 422, "VALIDATION_FAILED")
        error_of(
            admin.post("/projects", json={"name": "ok", "credentials": {"X": name}}), 422, "VALIDATION_FAILED"
        )
    assert workspaces(api_server) == []


@pytest.mark.parametrize(
    "path",
    [
        "/projects/..%2Fx",
        "/projects/a%2Fb",
        "/projects/%2E%2E",
        "/projects/x/credentials/..%2FX",
        "/projects/UPPER",
    ],
)
def test_traversal_in_paths_gets_the_envelope(api_server: ApiServer, path: str) -> None:
    create(api_server, name="x")
    with api_server.admin() as admin:
        for response in (admin.get(path), admin.delete(path), admin.put(path, json={"credential": "c"})):
            assert 400 <= response.status_code < 500, response.text
            assert response.json()["error"]["request_id"] == response.headers["X-Request-ID"]
        assert [p["id"] for p in admin.get("/projects").json()] == ["x"]
    assert workspaces(api_server) == ["x"]


@given(st.text(max_size=120))
def test_a_project_id_is_always_a_safe_slug(name: str) -> None:
    try:
        project_id = project_id_for(name)
    except ValidationFailed:
        return
    assert is_project_id(project_id) and "/" not in project_id and ".." not in project_id
