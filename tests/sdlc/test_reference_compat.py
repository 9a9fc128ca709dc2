"""A project written by the reference release opens and works unchanged (spec/sdlc.md §2)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import InProcess, tree_snapshot
from sdlc import yamlio
from sdlc.store import Store

FIXTURE = Path(__file__).parent / "data" / "reference_project"


@pytest.fixture
def ref(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> InProcess:
    root = tmp_path / "acme"
    shutil.copytree(FIXTURE, root)
    manifest = root / ".sdlc/features/billing/manifest.yaml"
    manifest.write_text(manifest.read_text() + "priority: high\n")  # a field we do not know
    return InProcess(root, capsys)


def test_listings_and_classification_read_the_reference_files(ref: InProcess) -> None:
    listed = ref.json("feature", "list")
    assert [f["slug"] for f in listed] == ["auth-login", "billing"]
    by_slug = {c["feature"]: c for c in ref.json("next")}
    assert by_slug["auth-login"]["action"] == "implement_task"
    assert by_slug["auth-login"]["task_id"] == "T2"
    assert by_slug["auth-login"]["gates"] == [{"name": "unit-tests", "type": "shell"}]
    assert by_slug["billing"]["action"] == "approve_spec"
    milestones = {m["slug"]: m["status"] for m in ref.json("milestone", "list")}
    assert milestones == {"v0": "skipped", "v1": "active"}
    state = ref.json("state")
    assert state["project"] == "acme"
    assert state["active_work"][0]["feature"] == "auth-login"
    scores = ref.json("score", "show", "billing")
    assert scores["lenses"] == [{"lens": "product_fit", "score": 82}]


def test_config_aliases_and_gate_shape_are_accepted(ref: InProcess) -> None:
    config = Store(ref.root).config
    assert config.required_artifacts["planned"] == ["spec", "design", "tasks", "qa_plan"]
    assert config.required_artifacts["merge"] == ["qa_results"]
    [unit] = config.gates["implement_task"]
    assert (unit["type"], unit["command"], unit["max_retries"], unit["timeout_seconds"]) == (
        "shell",
        "make test",
        2,
        300,
    )
    [review] = config.gates["approve_merge"]
    assert review["type"] == "human"  # step_back behaves as human


def test_read_only_commands_leave_the_reference_files_untouched(ref: InProcess) -> None:
    before = list(tree_snapshot(ref.root))
    for args in (
        ["feature", "list"],
        ["next"],
        ["next", "--for", "auth-login"],
        ["state"],
        ["focus"],
        ["history"],
        ["feature", "show", "billing"],
        ["milestone", "list"],
        ["query", "ready"],
        ["project", "stats"],
        ["artifact", "status", "auth-login"],
    ):
        ref.json(*args)
    assert list(tree_snapshot(ref.root)) == before


def test_a_mutation_migrates_and_keeps_the_reference_field_names(ref: InProcess) -> None:
    result = ref.json("task", "complete", "auth-login", "T2")
    assert result["task"]["status"] == "completed"
    written = yamlio.loads((ref.root / ".sdlc/features/auth-login/manifest.yaml").read_text())
    assert written["schema_version"] == 1
    assert written["revision"] == 1
    assert written["next_comment_seq"] == 3
    assert written["comments"][0]["target"] == {"kind": "task", "task_id": "T2"}
    assert written["phase_history"][-1] == {
        "phase": "implementation",
        "entered": "2025-03-01T13:00:00Z",
        "exited": None,
    }
    first = written["artifacts"][0]
    for key in ("artifact_type", "status", "path", "created_at", "approved_at", "rejected_at"):
        assert key in first
    assert first["approved_at"] == "2025-03-01T11:00:00Z"  # timestamps stay the strings written
    # The other manifest was not touched by a mutation of this one.
    billing = (ref.root / ".sdlc/features/billing/manifest.yaml").read_text()
    assert "schema_version" not in billing


def test_unknown_fields_survive_a_write(ref: InProcess) -> None:
    ref.json("feature", "update", "billing", "--title", "Billing v2")
    written = yamlio.loads((ref.root / ".sdlc/features/billing/manifest.yaml").read_text())
    assert written["priority"] == "high"
    assert written["scores"][0]["deductions"][0]["description"] == "Pricing tiers unclear"
    assert len(written["artifacts"]) == 7  # the reference listed one; all seven are known


def test_milestones_are_written_back_in_the_reference_shape(ref: InProcess) -> None:
    ref.json("milestone", "update", "v1", "--vision", "Ship login and billing")
    written = yamlio.loads((ref.root / ".sdlc/milestones/v1/manifest.yaml").read_text())
    assert written["status"] == "active"
    assert written["completed_at"] is None and written["cancelled_at"] is None
    assert written["vision"] == "Ship login and billing"
    ref.json("milestone", "skip", "v1")
    written = yamlio.loads((ref.root / ".sdlc/milestones/v1/manifest.yaml").read_text())
    assert written["status"] == "cancelled" and written["cancelled_at"]


def test_the_reference_project_can_finish_its_feature(ref: InProcess) -> None:
    ref.json("task", "complete", "auth-login", "T2")
    assert ref.json("next", "--for", "auth-login")["action"] == "create_review"
