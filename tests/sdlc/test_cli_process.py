"""`python -m sdlc` as a real process (spec/sdlc.md §5): a closed stdout pipe ends quietly,
SDLC_DEBUG=1 alone shows tracebacks, exit codes reach the shell, `--json` goes before or
after the subcommand, and an uninitialised directory is never written to.

What is asserted for a closed pipe (`sdlc ... | head -1`): the reader gets the first line,
the process exits 0 when the command itself succeeded, and nothing at all (no traceback, no
"Exception ignored", no BrokenPipeError) appears on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_process, tree_snapshot
from sdlc import yamlio
from sdlc.model import Feature, now
from sdlc.ops.features import create_feature
from sdlc.ops.init import init_project
from sdlc.ops.milestones import create_milestone
from sdlc.store import Store

MANY = 300
LONG_TITLE = "a long title " * 25  # ~300 bytes a row: the listing is far bigger than a pipe buffer


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with MANY features: one created through `create_feature`, the rest written
    by the library's model (Feature.new → manifest.yaml), which is much faster than MANY
    locked transactions and yields the same manifests."""
    root = tmp_path_factory.mktemp("big") / "proj"
    root.mkdir()
    init_project(root)
    store = Store(root)
    create_feature(store, "tester", "feature-000", title=LONG_TITLE)
    at = now()
    for i in range(1, MANY):
        slug = f"feature-{i:03d}"
        path = store.paths.manifest(slug)
        path.parent.mkdir()
        path.write_text(yamlio.dumps(Feature.new(slug, LONG_TITLE, None, at).to_dict()))
    listing = run_process(["--root", str(root), "feature", "list"], cwd=root)  # warms the cache
    assert listing.returncode == 0, listing.stderr
    assert len(listing.stdout) > 65536
    return root


def _popen(args: list[str], cwd: Path, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "sdlc", *args],
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize("json_mode", [False, True], ids=["text", "json"])
def test_reader_closes_after_one_line(big: Path, json_mode: bool) -> None:
    proc = _popen(["--root", str(big), "feature", "list", *(["--json"] if json_mode else [])], big)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    code = proc.wait(timeout=60)
    if json_mode:
        assert first.startswith(b"[")
    else:
        assert first.split() == [b"SLUG", b"PHASE", b"TITLE"]
    assert err == b""
    assert code == 0


def test_reader_closes_before_any_output(big: Path) -> None:
    """The reader is gone before sdlc writes anything (it is still importing): quiet, exit 0
    as when the reader goes away after one line."""
    proc = _popen(["--root", str(big), "feature", "list"], big)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read()
    assert err == b""
    assert proc.wait(timeout=60) == 0


@pytest.mark.parametrize("command", ["feature list", "next", "state", "query search a"])
def test_pipe_into_head(big: Path, command: str) -> None:
    """The shell form: `sdlc ... | head -1` without pipefail; PIPESTATUS[0] is sdlc's code."""
    script = 'set +o pipefail; "$0" -m sdlc --root "$1" $2 | head -1; echo "sdlc-exit=${PIPESTATUS[0]}" >&2'
    done = subprocess.run(
        ["bash", "-c", script, sys.executable, str(big), command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stderr == "sdlc-exit=0\n"
    assert len(done.stdout.splitlines()) <= 1


def test_error_into_closed_pipe_still_fails(big: Path) -> None:
    proc = _popen(["--root", str(big), "--json", "feature", "show", "nope"], big)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read()
    assert err == b""
    assert proc.wait(timeout=60) == 1


# -- SDLC_DEBUG ---------------------------------------------------------------------------


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """An initialised project with no feature, used once (so `.sdlc/.lock` exists: a refused
    mutation may take the lock before it finds out that the feature is unknown)."""
    root = tmp_path / "proj"
    root.mkdir()
    init_project(root)
    create_milestone(Store(root), "tester", "m", "M", None)
    assert (root / ".sdlc" / ".lock").exists()
    return root


def test_debug_shows_traceback(project_dir: Path) -> None:
    done = run_process(
        ["--root", str(project_dir), "feature", "show", "nope"], project_dir, {"SDLC_DEBUG": "1"}
    )
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert "FeatureNotFound" in done.stderr
    assert "error: feature 'nope' not found" in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["feature", "show", "nope"],
        ["feature", "create", "../x"],
        ["task", "start", "nope", "T1"],
        ["feature", "frobnicate"],
        ["history", "--limit", "abc"],
    ],
    ids=" ".join,
)
def test_no_traceback_without_debug(project_dir: Path, args: list[str]) -> None:
    before = dict(tree_snapshot(project_dir))
    for env in ({}, {"SDLC_DEBUG": "0"}):
        done = run_process(["--root", str(project_dir), *args], project_dir, env)
        assert done.returncode in (1, 2)
        assert "Traceback" not in done.stderr
        assert done.stderr.startswith("error: ")
        assert done.stdout == ""
    assert dict(tree_snapshot(project_dir)) == before


def test_debug_in_json_mode_keeps_the_error_object(project_dir: Path) -> None:
    done = run_process(
        ["--root", str(project_dir), "--json", "feature", "show", "nope"], project_dir, {"SDLC_DEBUG": "1"}
    )
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["code"] == "feature_not_found"
    assert "Traceback" in done.stderr


# -- exit codes and --json as a process ---------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "wording"),
    [
        (["feature", "show", "nope"], 1, "feature 'nope' not found"),
        (["feature", "create"], 2, "missing required argument"),
        (["history", "--limit", "abc"], 2, "invalid value"),
        (["feature", "frobnicate"], 2, "unknown subcommand"),
        (["frobnicate"], 2, "unknown subcommand"),
    ],
)
def test_exit_codes_reach_the_shell(project_dir: Path, args: list[str], code: int, wording: str) -> None:
    done = run_process(["--root", str(project_dir), *args], project_dir)
    assert done.returncode == code, done
    assert wording in done.stderr
    assert "hint: " in done.stderr
    as_json = run_process(["--root", str(project_dir), *args, "--json"], project_dir)
    assert as_json.returncode == code
    assert wording in json.loads(as_json.stdout)["error"]["message"]
    assert as_json.stderr == ""


def test_json_flag_position(project_dir: Path) -> None:
    run_process(["--root", str(project_dir), "feature", "create", "alpha"], project_dir)
    outputs = [
        run_process(args, project_dir)
        for args in (
            ["--json", "--root", str(project_dir), "feature", "list"],
            ["--root", str(project_dir), "--json", "feature", "list"],
            ["--root", str(project_dir), "feature", "list", "--json"],
            ["--root", str(project_dir), "feature", "list", "-j"],
        )
    ]
    for done in outputs:
        assert done.returncode == 0, done
        assert done.stderr == ""
    documents = [json.loads(done.stdout) for done in outputs]
    assert all(d == documents[0] for d in documents)
    assert [f["slug"] for f in documents[0]] == ["alpha"]


def test_next_with_no_features_is_empty_list(project_dir: Path) -> None:
    for args in (["--json", "next"], ["next", "--json"]):
        done = run_process(["--root", str(project_dir), *args], project_dir)
        assert done.returncode == 0
        assert done.stdout.strip() == "[]"
        assert done.stderr == ""


# -- an uninitialised directory, found from the cwd ------------------------------------------


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    """An empty directory with no .sdlc or .git above it (else root discovery would find it)."""
    root = tmp_path / "bare"
    root.mkdir()
    for directory in [root, *root.parents]:
        if (directory / ".sdlc").is_dir() or (directory / ".git").exists():
            pytest.skip(f"{directory} holds .sdlc or .git: root discovery would not stop at {root}")
    return root


@pytest.mark.parametrize(
    "args",
    [["feature", "create", "x"], ["next"], ["state"], ["task", "add", "x", "title"]],
    ids=" ".join,
)
def test_uninitialised_cwd(bare: Path, tmp_path: Path, args: list[str]) -> None:
    for env in ({}, {"SDLC_ROOT": str(bare)}):
        done = run_process(args, bare, env)
        assert done.returncode == 1, done
        assert done.stderr.startswith("error: not an sdlc project"), done.stderr
        js = run_process([*args, "--json"], bare, env)
        assert json.loads(js.stdout)["error"]["code"] == "not_initialized"
    assert list(bare.iterdir()) == []
    assert list(tmp_path.rglob(".sdlc")) == []


def test_init_then_feature_create_works(bare: Path) -> None:
    """The refusal above is not a dead end: after init the same command succeeds."""
    assert run_process(["init"], bare).returncode == 0
    done = run_process(["feature", "create", "x"], bare)
    assert done.returncode == 0, done
    assert (bare / ".sdlc" / "features" / "x" / "manifest.yaml").is_file()
