"""`rdev projects` against the real API: create (template, labels, --wait), list, get, delete
(needs --yes off a terminal), credential bindings reaching `rdev exec`, and errors with their
exit codes and hints."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import ApiServer, RdevCli

SECRET = "sentinel-value-51c2"


def put_credential(api: ApiServer, name: str, value: str) -> None:
    with api.admin() as admin:
        assert admin.put(f"/credentials/{name}", json={"value": value}).status_code in (200, 201)


def assert_error(result: object, code: int, *fragments: str) -> None:
    assert result.code == code, result  # type: ignore[attr-defined]
    err = result.err  # type: ignore[attr-defined]
    assert err.startswith("Error: ") and "Hint: " in err and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err


def test_create_list_get_delete(rdev: RdevCli) -> None:
    created = rdev("projects", "create", "My Shop", "--label", "team=web", "--wait")
    assert created.code == 0, created
    assert created.out.split("\t")[:4] == ["my-shop", "My Shop", "default", "ready"]
    assert "created project my-shop (ready)" in created.err

    listed = rdev.ok("projects", "ls")
    assert [line.split("\t")[0] for line in listed.out.splitlines()] == ["my-shop"]
    assert rdev.ok("projects", "list", "-q").out == "my-shop\n"

    got = rdev.json("projects", "get", "my-shop")
    assert got["labels"] == {"team": "web"} and got["variables"] == {"project_name": "my-shop"}
    assert Path(got["workspace"]).is_dir()

    refused = rdev("projects", "delete", "my-shop")  # stdin is not a terminal
    assert_error(refused, 2, "--yes")
    assert rdev.json("projects", "get", "my-shop")["status"] == "ready", "nothing deleted"

    deleted = rdev("projects", "rm", "my-shop", "--yes")
    assert deleted.code == 0 and deleted.out == "" and "deleted project my-shop" in deleted.err
    assert not Path(got["workspace"]).exists()
    assert rdev.json("projects", "list") == []
    assert_error(rdev("projects", "get", "my-shop"), 3, "no project my-shop", "rdev projects list")
    assert_error(rdev("projects", "delete", "my-shop", "--yes"), 3)


def test_create_errors(rdev: RdevCli) -> None:
    assert_error(rdev("projects", "create", "p", "--var", "novalue"), 2, "--var 'novalue'")
    assert_error(rdev("projects", "create", "p", "--credential", "TOKEN"), 2, "--credential")
    unknown = rdev("projects", "create", "p", "--var", "nonsense=x")
    assert_error(unknown, 2, "variables.nonsense", "rdev templates show default")
    assert_error(rdev("projects", "create", "p", "--template", "no-such-template"), 2, "template")
    missing = rdev("projects", "create", "p", "--credential", "TOKEN=missing")
    assert_error(missing, 2, "credentials.TOKEN")
    assert rdev.json("projects", "list") == [], "a failed create leaves nothing"
    rdev.ok("projects", "create", "p")
    assert_error(rdev("projects", "create", "P"), 5, "taken")


def test_credentials_bind_list_unbind_reach_exec(rdev: RdevCli) -> None:
    put_credential(rdev.server, "deploy-token", SECRET)
    put_credential(rdev.server, "npm", "npm-value")
    project = rdev.json(
        "projects", "create", "app", "--credential", "DEPLOY_TOKEN=deploy-token", "--wait", "--timeout", "60"
    )
    assert project["credentials"] == {"DEPLOY_TOKEN": "deploy-token"} and SECRET not in json.dumps(project)

    show = 'echo "deploy=$DEPLOY_TOKEN npm=${NPM_TOKEN:-unset}"'
    ran = rdev("exec", "app", "--", "sh", "-c", show)
    assert ran.code == 0 and ran.out == f"deploy={SECRET} npm=unset\n", ran

    bound = rdev("projects", "credentials", "bind", "app", "NPM_TOKEN", "npm")
    assert bound.code == 0 and "bound npm to NPM_TOKEN of project app" in bound.err
    assert (
        rdev.ok("projects", "credentials", "list", "app").out
        == "DEPLOY_TOKEN\tdeploy-token\nNPM_TOKEN\tnpm\n"
    )
    assert rdev.json("projects", "credentials", "ls", "app") == [
        {"env": "DEPLOY_TOKEN", "credential": "deploy-token"},
        {"env": "NPM_TOKEN", "credential": "npm"},
    ]
    assert rdev.ok("exec", "app", "--", "sh", "-c", show).out == f"deploy={SECRET} npm=npm-value\n"

    unbound = rdev.json("projects", "credentials", "unbind", "app", "DEPLOY_TOKEN")
    assert unbound["credentials"] == {"NPM_TOKEN": "npm"}
    assert rdev.ok("exec", "app", "--", "sh", "-c", show).out == "deploy= npm=npm-value\n"

    assert_error(rdev("projects", "credentials", "unbind", "app", "DEPLOY_TOKEN"), 3, "credentials list app")
    assert_error(rdev("projects", "credentials", "bind", "app", "lower", "npm"), 2, "UPPER_CASE")
    assert_error(rdev("projects", "credentials", "bind", "app", "X", "no-such"), 2)
    assert_error(rdev("projects", "credentials", "list", "ghost"), 3, "rdev projects list")
