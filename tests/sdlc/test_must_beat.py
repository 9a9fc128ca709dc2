"""The reference's known faults (spec/sdlc.md §10), one test each, end to end. Each would fail
on the reference's behaviour; several are covered in more depth elsewhere (named below)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import InProcess, run_process, tree_snapshot, write_artifact
from sdlc import atomic
from sdlc.errors import CorruptFile, SdlcError


def into_implementation(sdlc: InProcess, slug: str) -> None:
    """A feature whose planning artifacts are waived: auto-advance takes it to implementation."""
    sdlc.json("feature", "create", slug)
    for kind in ("spec", "design", "tasks", "qa_plan"):
        sdlc.json("artifact", "waive", slug, kind, "--reason", "test")
    assert sdlc.json("feature", "show", slug)["phase"] == "implementation"


def test_no_silent_done_in_a_dead_end(sdlc: InProcess) -> None:
    """A feature whose tasks are all blocked is not `done`: it names the blocked task."""
    into_implementation(sdlc, "auth")
    sdlc.json("task", "add", "auth", "one")
    sdlc.json("task", "block", "auth", "T1", "no", "credentials")
    nxt = sdlc.json("next", "--for", "auth")
    assert (nxt["action"], nxt["task_id"]) == ("unblock_task", "T1")


def test_phase_skipping_is_refused(sdlc: InProcess) -> None:
    """The reference checked only the target phase; every phase on the way is checked."""
    sdlc.json("feature", "create", "auth")
    result = sdlc("feature", "transition", "auth", "implementation", json_mode=True)
    assert result.data["error"]["code"] == "invalid_transition"
    assert "exit criteria of draft" in result.data["error"]["message"]


def test_blocked_tasks_do_not_count_as_finished(sdlc: InProcess) -> None:
    into_implementation(sdlc, "auth")
    sdlc.json("task", "add", "auth", "one")
    sdlc.json("task", "block", "auth", "T1", "waiting")
    sdlc.json("artifact", "waive", "auth", "review", "--reason", "test")
    result = sdlc("feature", "transition", "auth", "review", json_mode=True)
    assert "tasks not completed: T1" in result.data["error"]["message"]


def test_depends_on_is_respected(sdlc: InProcess) -> None:
    into_implementation(sdlc, "auth")
    sdlc.json("task", "add", "auth", "later")
    sdlc.json("task", "add", "auth", "first")
    sdlc.json("task", "edit", "auth", "T1", "--depends", "T2")
    assert sdlc.json("next", "--for", "auth")["task_id"] == "T2"


def test_no_approval_from_missing(sdlc: InProcess) -> None:
    sdlc.json("feature", "create", "auth")
    write_artifact(sdlc.root, "auth", "spec.md")  # the file exists but was never drafted
    result = sdlc("artifact", "approve", "auth", "spec", json_mode=True)
    assert result.data["error"]["code"] == "invalid_artifact_transition"
    assert "missing → approved" in result.data["error"]["message"]


def test_agents_cannot_approve(sdlc: InProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    sdlc.json("feature", "create", "auth")
    write_artifact(sdlc.root, "auth", "spec.md")
    sdlc.json("artifact", "draft", "auth", "spec", "--by", "agent-7")
    by_self = sdlc("artifact", "approve", "auth", "spec", "--by", "agent-7", json_mode=True)
    assert by_self.data["error"]["code"] == "agent_forbidden"
    monkeypatch.setenv("SDLC_AGENT", "1")
    for move in (
        ["approve", "auth", "spec"],
        ["pass", "auth", "spec"],
        ["waive", "auth", "spec", "--reason", "x"],
    ):
        assert sdlc("artifact", *move, json_mode=True).data["error"]["code"] == "agent_forbidden"


def test_approvals_do_not_survive_edits(sdlc: InProcess) -> None:
    sdlc.json("feature", "create", "auth")
    write_artifact(sdlc.root, "auth", "spec.md", "v1\n")
    sdlc.json("artifact", "draft", "auth", "spec")
    sdlc.json("artifact", "approve", "auth", "spec", "--by", "alice")
    write_artifact(sdlc.root, "auth", "spec.md", "v2\n")
    assert sdlc.json("next", "--for", "auth")["action"] == "approve_spec"


def test_fsync_before_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference wrote without fsync: a crash could leave an empty file after rename."""
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", recording_fsync)
    target = tmp_path / "file.yaml"
    atomic.write_atomic(target, b"data")
    assert any(".file.yaml." in s for s in synced), "the temp file is fsync'd before the rename"
    assert str(tmp_path) in synced, "the directory is fsync'd after the rename"
    assert target.read_bytes() == b"data"


def test_no_orphan_manifest_when_not_initialised(tmp_path: Path) -> None:
    result = run_process(["--root", str(tmp_path), "feature", "create", "x", "--json"], tmp_path)
    assert result.returncode == 1
    assert '"not_initialized"' in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_one_corrupt_file_does_not_break_listings(sdlc: InProcess) -> None:
    sdlc.json("feature", "create", "good")
    sdlc.json("feature", "create", "bad")
    (sdlc.root / ".sdlc/features/bad/manifest.yaml").write_text("slug: [unclosed\n")
    result = sdlc("next", json_mode=True)
    assert result.code == 0
    assert [c["feature"] for c in result.data] == ["good"]
    assert result.err.startswith("warning: corrupt file .sdlc/features/bad/manifest.yaml: ")
    assert result.err.count("\n") == 1


def test_no_path_traversal_through_slugs(sdlc: InProcess, project: Path) -> None:
    before = list(tree_snapshot(project.parent))
    result = sdlc("feature", "create", "../../escape", json_mode=True)
    assert result.data["error"]["code"] == "invalid_slug"
    assert list(tree_snapshot(project.parent)) == before


def test_errors_keep_their_cause() -> None:
    try:
        try:
            raise OSError("disk full")
        except OSError as err:
            raise CorruptFile("could not write .sdlc/state.yaml") from err
    except SdlcError as err:
        assert err.full_message() == "could not write .sdlc/state.yaml: disk full"


def test_json_everywhere_even_with_no_features(sdlc: InProcess) -> None:
    for args in (["next"], ["feature", "list"], ["query", "ready"], ["query", "blocked"], ["history"]):
        assert sdlc.json(*args) == []
    assert sdlc.json("focus") is None


def test_a_closed_pipe_ends_quietly(sdlc: InProcess, project: Path) -> None:
    for n in range(150):
        sdlc.json("feature", "create", f"f{n}")
    result = run_process(["--root", str(project), "feature", "list"], project, stdout=None)
    assert result.returncode == 0
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "sdlc", "--root", str(project), "next"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert err == ""


def test_scores_are_enforced(sdlc: InProcess) -> None:
    into_implementation(sdlc, "auth")
    sdlc.json("score", "set", "auth", "--lens", "implementation", "--value", "40", "--evaluator", "critic")
    write_artifact(sdlc.root, "auth", "review.md")
    sdlc.json("artifact", "draft", "auth", "review")
    sdlc.json("artifact", "approve", "auth", "review", "--by", "alice")
    assert sdlc.json("feature", "show", "auth")["phase"] == "implementation"
    assert sdlc.json("next", "--for", "auth")["action"] == "fix_review_issues"


def test_merge_is_not_a_stub(sdlc: InProcess) -> None:
    """`sdlc merge` checks merge's exit criteria and records the release."""
    sdlc.json("feature", "create", "auth")
    sdlc.json("feature", "transition", "auth", "merge", "--force", "--reason", "test")
    refused = sdlc("merge", "auth", json_mode=True)
    assert "artifact 'spec' is missing" in refused.data["error"]["message"]
    assert sdlc.json("feature", "show", "auth")["phase"] == "merge"
