"""Commands end to end on real temp projects: transitions, auto-advance, merge, milestones,
comments, scores, doctor and the events log."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import InProcess, run_process, write_artifact


def approve_all(sdlc: InProcess, slug: str, *kinds: str) -> dict:
    result: dict = {}
    for kind in kinds:
        name = kind.replace("_", "-") + ".md"
        write_artifact(sdlc.root, slug, name, f"# {kind}\n")
        sdlc.json("artifact", "draft", slug, kind, "--by", "agent")
        result = sdlc.json("artifact", "approve", slug, kind, "--by", "alice")
    return result


def to_implementation(sdlc: InProcess, slug: str, tasks: int = 1) -> None:
    sdlc.json("feature", "create", slug)
    approve_all(sdlc, slug, "spec", "design", "qa_plan")
    for n in range(tasks):
        sdlc.json("task", "add", slug, f"task {n + 1}")
    result = approve_all(sdlc, slug, "tasks")
    assert result["transitioned"] == ["planned", "ready", "implementation"]


def test_auto_advance_reports_every_hop(sdlc: InProcess) -> None:
    sdlc.json("feature", "create", "auth")
    result = approve_all(sdlc, "auth", "spec")
    assert result["transitioned"] == ["specified"]
    assert sdlc.json("next", "--for", "auth")["action"] == "create_design"


def test_auto_advance_off_leaves_the_advance_to_the_caller(sdlc: InProcess) -> None:
    config = sdlc.root / ".sdlc/config.yaml"
    config.write_text(config.read_text().replace("auto_advance: true", "auto_advance: false"))
    sdlc.json("feature", "create", "auth")
    assert approve_all(sdlc, "auth", "spec")["transitioned"] == []
    nxt = sdlc.json("next", "--for", "auth")
    assert (nxt["action"], nxt["transition_to"]) == ("advance", "specified")
    assert nxt["next_command"] == "sdlc feature transition auth specified"
    assert sdlc.json("feature", "transition", "auth", "specified")["phase"] == "specified"


def test_transition_checks_every_phase_on_the_way(sdlc: InProcess) -> None:
    config = sdlc.root / ".sdlc/config.yaml"
    config.write_text(config.read_text().replace("auto_advance: true", "auto_advance: false"))
    sdlc.json("feature", "create", "auth")
    approve_all(sdlc, "auth", "spec")
    # draft's criteria hold, but specified's do not: skipping to planned is refused
    refused = sdlc("feature", "transition", "auth", "planned", json_mode=True)
    assert refused.code == 1
    error = refused.data["error"]
    assert error["code"] == "invalid_transition"
    assert "exit criteria of specified" in error["message"] and "design" in error["message"]
    # to the current phase: a no-op; backwards: refused; to released: use merge
    assert sdlc.json("feature", "transition", "auth", "draft")["changed"] is False
    assert sdlc("feature", "transition", "auth", "released", json_mode=True).data["error"]["hint"] == (
        "use `sdlc merge auth`"
    )


def test_forced_transition_needs_a_reason_and_is_recorded(sdlc: InProcess) -> None:
    sdlc.json("feature", "create", "auth")
    assert sdlc("feature", "transition", "auth", "planned", "--force").code == 2
    result = sdlc.json("feature", "transition", "auth", "planned", "--force", "--reason", "hotfix")
    assert result["phase"] == "planned"
    events = [json.loads(line) for line in (sdlc.root / ".sdlc/events.jsonl").read_text().splitlines()]
    forced = [e for e in events if e["type"] == "feature.transitioned" and e["data"].get("forced")]
    assert forced and forced[0]["data"]["reason"] == "hotfix"


def test_tasks_drive_implementation_in_dependency_order(sdlc: InProcess) -> None:
    to_implementation(sdlc, "auth", tasks=0)
    sdlc.json("task", "add", "auth", "second", "--force")
    sdlc.json("task", "add", "auth", "first")
    sdlc.json("task", "edit", "auth", "T1", "--depends", "T2")
    assert sdlc.json("next", "--for", "auth")["task_id"] == "T2"
    sdlc.json("task", "block", "auth", "T2", "waiting", "for", "keys")
    blocked = sdlc.json("next", "--for", "auth")
    assert (blocked["action"], blocked["task_id"]) == ("unblock_task", "T2")
    assert "waiting for keys" in blocked["message"]
    sdlc.json("task", "unblock", "auth", "T2")
    sdlc.json("task", "complete", "auth", "T2")
    assert sdlc.json("next", "--for", "auth")["task_id"] == "T1"
    refused = sdlc("task", "remove", "auth", "T2", json_mode=True)
    assert "T1 depend on it" in refused.data["error"]["message"]


def test_work_after_review_needs_force(sdlc: InProcess) -> None:
    to_implementation(sdlc, "auth")
    sdlc.json("task", "complete", "auth", "T1")
    assert approve_all(sdlc, "auth", "review")["transitioned"] == ["review"]
    refused = sdlc("task", "add", "auth", "late", json_mode=True)
    assert refused.data["error"]["code"] == "invalid_transition"
    assert "--force" in refused.data["error"]["hint"]
    assert sdlc("task", "reopen", "auth", "T1", json_mode=True).code == 1
    sdlc.json("task", "add", "auth", "late", "--force")
    assert sdlc.json("next", "--for", "auth")["task_id"] == "T2"


def test_approval_goes_stale_when_the_file_changes(sdlc: InProcess) -> None:
    sdlc.json("feature", "create", "auth")
    approve_all(sdlc, "auth", "spec")
    write_artifact(sdlc.root, "auth", "spec.md", "# edited after approval\n")
    nxt = sdlc.json("next", "--for", "auth")
    assert (nxt["rule"], nxt["action"]) == ("artifact_regressed", "approve_spec")
    status = {a["artifact_type"]: a["condition"] for a in sdlc.json("artifact", "status", "auth")}
    assert status["spec"] == "stale"
    again = sdlc.json("artifact", "approve", "auth", "spec", "--by", "alice")
    assert again["changed"] is True
    assert sdlc.json("artifact", "approve", "auth", "spec", "--by", "alice")["changed"] is False


def test_reject_needs_fix_and_waive(sdlc: InProcess) -> None:
    sdlc.json("feature", "create", "auth")
    write_artifact(sdlc.root, "auth", "spec.md")
    sdlc.json("artifact", "draft", "auth", "spec")
    result = sdlc.json("artifact", "reject", "auth", "spec", "--needs-fix", "--reason", "too vague")
    assert result["artifact"]["status"] == "needs_fix"
    nxt = sdlc.json("next", "--for", "auth")
    assert nxt["action"] == "create_spec" and "too vague" in nxt["message"]
    waived = sdlc.json("artifact", "waive", "auth", "spec", "--reason", "prototype")
    assert waived["transitioned"] == ["specified"]
    assert sdlc.json("artifact", "unwaive", "auth", "spec")["artifact"]["status"] == "draft"


def test_comments_stop_the_pipeline_until_resolved(sdlc: InProcess) -> None:
    sdlc.json("feature", "create", "auth")
    assert sdlc.ok("comment", "create", "auth", "Which provider?", "--flag", "question").out == "C1\n"
    nxt = sdlc.json("next", "--for", "auth")
    assert nxt["action"] == "wait_for_approval"
    assert nxt["message"] == "Feature 'auth' has 1 unresolved blocker comment(s): [C1] Which provider?"
    assert sdlc.ok("comment", "resolve", "auth", "C1").out == "Resolved comment [C1]\n"
    assert sdlc.json("next", "--for", "auth")["action"] == "create_spec"
    sdlc.json("comment", "remove", "auth", "C1")
    assert sdlc.json("comment", "create", "auth", "again")["comment"]["id"] == "C2"  # never reused
    assert [c["id"] for c in sdlc.json("comment", "list", "auth", "--all")] == ["C2"]


def test_merge_releases_and_unblocks_dependents(sdlc: InProcess) -> None:
    to_implementation(sdlc, "core")
    sdlc.json("feature", "create", "ui", "--depends-on", "core")
    approve_all(sdlc, "ui", "spec", "design", "tasks", "qa_plan")
    waiting = sdlc.json("next", "--for", "ui")
    assert waiting["action"] == "unblock_dependency" and "'core' is in implementation" in waiting["message"]
    assert sdlc("merge", "core", json_mode=True).data["error"]["code"] == "invalid_transition"
    sdlc.json("task", "complete", "core", "T1")
    sdlc.json("score", "set", "core", "--lens", "implementation", "--value", "95", "--evaluator", "agent")
    approve_all(sdlc, "core", "review", "audit", "qa_results")
    assert sdlc.json("next", "--for", "core")["action"] == "merge"
    merged = sdlc.json("merge", "core")
    assert merged["phase"] == "released"
    assert sdlc.json("feature", "show", "ui")["phase"] == "implementation"  # re-classified, advanced


def test_archived_dependency_counts_as_satisfied(sdlc: InProcess) -> None:
    sdlc.json("feature", "create", "old")
    sdlc.json("feature", "create", "new", "--depends-on", "old")
    approve_all(sdlc, "new", "spec", "design", "tasks", "qa_plan")
    assert sdlc.json("feature", "show", "new")["phase"] == "ready"
    sdlc.json("feature", "archive", "old")
    assert sdlc.json("feature", "show", "new")["phase"] == "implementation"
    assert "old" not in [f["slug"] for f in sdlc.json("feature", "list")]
    assert "old" in [f["slug"] for f in sdlc.json("feature", "list", "--all")]


def test_low_scores_stop_the_review(sdlc: InProcess) -> None:
    to_implementation(sdlc, "auth")
    sdlc.json("task", "complete", "auth", "T1")
    sdlc.json("score", "set", "auth", "--lens", "implementation", "--value", "50", "--evaluator", "critic")
    write_artifact(sdlc.root, "auth", "review.md")
    sdlc.json("artifact", "draft", "auth", "review")
    nxt = sdlc.json("next", "--for", "auth")
    assert nxt["action"] == "fix_review_issues"
    sdlc.json("score", "set", "auth", "--lens", "implementation", "--value", "85", "--evaluator", "critic")
    assert sdlc.json("next", "--for", "auth")["action"] == "approve_review"
    history = sdlc.json("score", "history", "auth")
    assert [s["score"] for s in history] == [50, 85]


def test_milestones_order_focus_and_release(sdlc: InProcess) -> None:
    for slug in ("a", "b", "c"):
        sdlc.json("feature", "create", slug)
    assert sdlc.ok("milestone", "create", "v2", "--title", "Two", "--feature", "c").out == (
        "Created milestone 'v2'\n"
    )
    assert sdlc.ok("milestone", "add-feature", "v2", "b", "--position", "1").out == (
        "Added feature 'b' to milestone 'v2'\n"
    )
    assert sdlc.json("milestone", "info", "v2")["features"] == ["b", "c"]
    assert sdlc.json("focus")["feature"] == "b"  # milestone order before creation order
    assert sdlc.json("focus", "--include-human")["feature"] == "b"
    assert sdlc("milestone", "release", "v2", json_mode=True).code == 1
    assert sdlc.ok("milestone", "release", "v2", "--force").out == "milestone 'v2' marked complete\n"
    assert sdlc.json("focus")["feature"] == "a"  # released milestones no longer rank
    assert sdlc.ok("milestone", "remove-feature", "v2", "b").out == (
        "Removed feature 'b' from milestone 'v2'\n"
    )


def test_history_and_events_ids(sdlc: InProcess) -> None:
    sdlc.json("feature", "create", "auth")
    sdlc.json("task", "add", "auth", "one")
    sdlc.json("feature", "create", "other")
    events = sdlc.json("history", "--limit", "10")
    assert [e["id"] for e in events] == [1, 2, 3]
    assert [e["type"] for e in sdlc.json("history", "--for", "auth")] == ["feature.created", "task.added"]
    assert events[0]["actor"] == "tester"


def test_explain_lists_every_rule_tried(sdlc: InProcess) -> None:
    sdlc.json("feature", "create", "auth")
    data = sdlc.json("next", "--for", "auth", "--explain")
    rules = [t["rule"] for t in data["explain"]]
    assert rules[-1] == "artifact_next" and data["explain"][-1]["matched"] is True
    assert all(not t["matched"] for t in data["explain"][:-1])


def test_doctor_finds_and_fixes(sdlc: InProcess, project: Path) -> None:
    sdlc.json("feature", "create", "auth")
    assert sdlc.json("doctor")["ok"] is True
    (project / ".sdlc/state.yaml").unlink()
    (project / ".sdlc/features/auth/manifest.yaml").write_text(
        (project / ".sdlc/features/auth/manifest.yaml")
        .read_text()
        .replace("dependencies: []", "dependencies: [ghost]")
    )
    result = sdlc("doctor", json_mode=True)
    assert result.code == 1
    messages = [p["message"] for p in result.data["problems"]]
    assert "dependency 'ghost' names no feature" in messages
    assert "missing or does not parse" in messages
    fixed = sdlc("doctor", "--fix", json_mode=True)
    assert fixed.code == 1  # the dangling dependency remains
    assert [p["message"] for p in fixed.data["fixed"]] == ["missing or does not parse"]
    assert (project / ".sdlc/state.yaml").exists()


def test_init_is_idempotent(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "fresh"
    root.mkdir()
    (root / "AGENTS.md").write_text("# Team notes\n")
    runner = InProcess(root, capsys)
    first = runner.json("init")
    assert ".sdlc/config.yaml" in first["created"] and first["updated"] == ["AGENTS.md"]
    snapshot = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    second = runner.json("init")
    assert second["created"] == [] and second["updated"] == [] and second["already_initialized"]
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == snapshot
    agents = (root / "AGENTS.md").read_text()
    assert agents.startswith("# Team notes\n") and agents.count("<!-- sdlc:begin -->") == 1
    assert (root / ".sdlc/.gitignore").read_text() == ".lock\n.journal\n.cache/\nruns/\ncallbacks/\n"


def test_root_is_found_from_a_subdirectory_and_options_go_anywhere(project: Path, tmp_path: Path) -> None:
    nested = project / "src" / "deep"
    nested.mkdir(parents=True)
    assert run_process(["feature", "create", "auth", "--json"], nested).returncode == 0
    listed = run_process(["feature", "list", "--json"], nested)
    assert [f["slug"] for f in json.loads(listed.stdout)] == ["auth"]
    elsewhere = run_process(["feature", "list", "--root", str(project), "-j"], tmp_path)
    assert [f["slug"] for f in json.loads(elsewhere.stdout)] == ["auth"]
    env_root = run_process(["feature", "list", "--json"], tmp_path, env={"SDLC_ROOT": str(project)})
    assert [f["slug"] for f in json.loads(env_root.stdout)] == ["auth"]
    gitonly = tmp_path / "repo"
    (gitonly / "sub").mkdir(parents=True)
    (gitonly / ".git").mkdir()
    refused = run_process(["state", "--json"], gitonly / "sub")
    assert str(gitonly) in json.loads(refused.stdout)["error"]["message"]  # the .git root was chosen


def test_doctor_completes_an_interrupted_write(sdlc: InProcess, project: Path) -> None:
    from sdlc.journal import write_journal
    from sdlc.paths import ProjectPaths

    sdlc.json("feature", "create", "auth")
    manifest = project / ".sdlc/features/auth/manifest.yaml"
    pending = manifest.read_text().replace("title: auth", "title: Renamed")
    event = {
        "id": 2,
        "ts": "2026-01-01T00:00:00Z",
        "actor": "x",
        "feature": "auth",
        "type": "feature.updated",
    }
    write_journal(
        ProjectPaths(project), {".sdlc/features/auth/manifest.yaml": pending}, [{**event, "data": {}}]
    )
    (project / ".sdlc/features/auth/.manifest.yaml.abc.tmp").write_text("half")
    report = sdlc("doctor", json_mode=True)
    assert report.code == 1
    assert {p["path"] for p in report.data["problems"]} == {
        ".sdlc/.journal",
        ".sdlc/features/auth/.manifest.yaml.abc.tmp",
    }
    assert sdlc.json("doctor", "--fix")["ok"] is True
    assert sdlc.json("feature", "show", "auth")["title"] == "Renamed"
    assert [e["type"] for e in sdlc.json("history")] == ["feature.created", "feature.updated"]


def test_state_yaml_follows_what_it_summarises(sdlc: InProcess, project: Path) -> None:
    from sdlc import yamlio

    state_file = project / ".sdlc/state.yaml"
    sdlc.json("feature", "create", "auth")
    sdlc.json("feature", "create", "ui")
    assert yamlio.loads(state_file.read_text())["active_features"] == ["auth", "ui"]
    before = state_file.read_bytes()
    sdlc.json("task", "add", "auth", "one")  # nothing state.yaml records changes
    assert state_file.read_bytes() == before
    sdlc.json("feature", "block", "auth", "waiting")
    state = yamlio.loads(state_file.read_text())
    assert [b["feature"] for b in state["blocked"]] == ["auth"]
    assert [h["action"] for h in state["history"]][-2:] == ["task.added", "feature.blocked"]
    sdlc.json("feature", "archive", "ui")
    assert yamlio.loads(state_file.read_text())["active_features"] == ["auth"]
