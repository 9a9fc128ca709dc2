"""`rdev health`, `rdev version` and `rdev templates list|show --remote` against the real API on
a loopback port (health and version need no key), and against a port nothing listens on."""

from __future__ import annotations

import json
import time

import pytest

from conftest import RdevCli
from sdlc._version import __version__
from skeletons.registry import list_templates

CLOSED_URL = "http://127.0.0.1:9"


@pytest.fixture
def keyless(rdev: RdevCli, monkeypatch: pytest.MonkeyPatch) -> RdevCli:
    monkeypatch.delenv("RDEV_API_KEY", raising=False)
    rdev.env.pop("RDEV_API_KEY")
    return rdev


def test_health_needs_no_key(keyless: RdevCli) -> None:
    result = keyless("health")
    assert result.code == 0, result
    status, version, uptime, checks = result.out.rstrip("\n").split("\t")
    assert (status, version) == ("ok", __version__)
    assert float(uptime) >= 0 and json.loads(checks)["database"] == "ok"
    data = keyless.json("health")
    assert data["status"] == "ok" and data["checks"]["database"] == "ok"
    assert keyless.ok("health", "-q").out == "ok\n"


def test_version_prints_client_and_server(keyless: RdevCli) -> None:
    result = keyless("version")
    assert result.code == 0, result
    assert result.out == (
        f"client: rdev {__version__}\nserver: rdev {__version__} (api v1) at {keyless.server.url}\n"
    )
    assert keyless.json("version") == {
        "client": {"version": __version__},
        "server": {"version": __version__, "api": "v1", "url": keyless.server.url},
    }


def test_an_unreachable_server_fails_fast_with_the_client_version_still_printed(keyless: RdevCli) -> None:
    started = time.monotonic()
    result = keyless("--api-url", CLOSED_URL, "version")
    assert result.code == 6, result
    assert result.out == f"client: rdev {__version__}\n"
    assert result.err.startswith(f"Error: cannot reach the API at {CLOSED_URL}")
    assert "Hint: is the server running?" in result.err and "Traceback" not in result.err
    as_json = keyless("--api-url", CLOSED_URL, "version", "-o", "json")
    assert as_json.code == 6 and as_json.data == {"client": {"version": __version__}, "server": None}
    health = keyless("--api-url", CLOSED_URL, "health")
    assert health.code == 6 and health.out == "" and "cannot reach the API" in health.err
    # one attempt each, no backoff: well under the client's retry budget
    assert time.monotonic() - started < 5


def test_templates_remote_list_and_show(rdev: RdevCli) -> None:
    listed = rdev.json("templates", "list", "--remote")
    assert [t["name"] for t in listed] == [t.name for t in list_templates()]
    local = rdev.json("templates", "list")
    assert [(t["name"], t["kind"], t["version"]) for t in listed] == [
        (t["name"], t["kind"], t["version"]) for t in local
    ]
    rows = rdev.ok("templates", "list", "--remote").out.splitlines()
    assert [row.split("\t")[0] for row in rows] == [t.name for t in list_templates()]
    shown = rdev.json("templates", "show", "go-api", "--remote")
    assert shown["name"] == "go-api" and "module_path" in [v["name"] for v in shown["variables"]]

    missing = rdev("templates", "show", "nope", "--remote")
    assert missing.code == 3, missing
    assert "Error: unknown template 'nope'" in missing.err
    assert "Hint: see the API's templates: rdev templates list --remote" in missing.err
    denied = rdev("templates", "list", "--remote", key="rdev_abcdefgh_" + "x" * 40)
    assert denied.code == 4 and denied.out == "" and "Traceback" not in denied.err
