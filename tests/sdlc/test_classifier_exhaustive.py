"""The classifier (spec/sdlc.md §3): the bounded exhaustive test and targeted rule tests.

The exhaustive test enumerates, for every phase and three configs (default, the reference's
table, `review` disabled), every artifact fresh plus every case of exactly one artifact not
fresh (missing, draft, stale, rejected, needs_fix, failed, file deleted) x six task shapes x
blocker comment x feature blocker x four dependency states x four score sets. Each answer is
checked against the transition guard and against an oracle written from the text of §3.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from sdlc.classifier import CYCLE_MESSAGE, classify, explain
from sdlc.config import DEFAULT_REQUIRED_ARTIFACTS, Config, parse_config
from sdlc.criteria import artifact_condition, exit_criteria
from sdlc.errors import InvalidTransition
from sdlc.lifecycle import (
    ACTIONS,
    ARTIFACT_ACTIONS,
    ARTIFACT_FILES,
    ARTIFACTS,
    PHASE_INDEX,
    PHASES,
)
from sdlc.model import Artifact, Comment, Feature, Score, Task
from sdlc.transitions import guard_transition

SLUG = "feat-x"
DEP = "dep-a"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# Configs


def default_config() -> Config:
    return parse_config({}, "p")


def reference_config() -> Config:
    """The reference's table: audit requires only review; audit.md is written in phase audit."""
    table = {k: list(v) for k, v in DEFAULT_REQUIRED_ARTIFACTS.items()}
    table["audit"] = ["review"]
    table["qa"] = ["audit"]
    return parse_config({"phases": {"required_artifacts": table}}, "p")


def review_disabled_config() -> Config:
    return parse_config({"phases": {"enabled": [p for p in PHASES if p != "review"]}}, "p")


CONFIGS = {
    "default": default_config,
    "reference": reference_config,
    "no_review": review_disabled_config,
}


# --------------------------------------------------------------------------------------------
# Artifacts: per type a fresh baseline (varied: hashed approval, reference approval without a
# hash, waived without a file, passed) and the seven ways of not being fresh.

FRESH_VARIANT = {
    "spec": "approved_hashed",
    "design": "approved_unhashed",
    "tasks": "approved_hashed",
    "qa_plan": "waived_no_file",
    "review": "approved_hashed",
    "audit": "approved_unhashed",
    "qa_results": "passed_hashed",
}
NOT_FRESH = ("missing", "draft", "stale", "rejected", "needs_fix", "failed", "file_deleted")


def make_artifact(kind: str, state: str) -> tuple[Artifact, str | None]:
    """An artifact in `state` and the hash of its file (None: no file, "": not hashed)."""
    art = Artifact.new(SLUG, kind)
    h = sha(f"{kind} v1")
    if state == "approved_hashed":
        art.status, art.content_sha256, art.approved_by = "approved", h, "alice"
        return art, h
    if state == "approved_unhashed":  # written by the reference: counts as fresh
        art.status, art.approved_by = "approved", "alice"
        return art, ""
    if state == "passed_hashed":
        art.status, art.content_sha256 = "passed", h
        return art, h
    if state == "waived_no_file":
        art.status, art.waive_reason = "waived", "not needed"
        return art, None
    if state == "missing":
        return art, None
    if state == "draft":
        art.status, art.drafted_by = "draft", "agent"
        return art, h
    if state == "stale":  # approved, then the file was edited
        art.status, art.content_sha256 = "approved", h
        return art, sha(f"{kind} v2")
    if state in ("rejected", "needs_fix", "failed"):
        art.status, art.rejection_reason = state, "too vague"
        return art, h
    if state == "file_deleted":
        art.status, art.content_sha256 = "approved", h
        return art, None
    raise AssertionError(state)


def artifact_cases() -> Iterator[tuple[str | None, str | None]]:
    """(kind, state) of the one artifact that is not fresh; (None, None) = all fresh."""
    yield None, None
    for kind in ARTIFACTS:
        for state in NOT_FRESH:
            yield kind, state


def build_artifacts(bad_kind: str | None, bad_state: str | None) -> tuple[list[Artifact], dict]:
    arts, files = [], {}
    for kind in ARTIFACTS:
        state = bad_state if kind == bad_kind else FRESH_VARIANT[kind]
        art, h = make_artifact(kind, state)
        arts.append(art)
        files[kind] = h
    return arts, files


# --------------------------------------------------------------------------------------------
# Tasks, comments, blockers, dependencies, scores


def task(tid: str, status: str = "pending", deps: tuple[str, ...] = (), blocker: str = "") -> Task:
    return Task(
        tid,
        f"title {tid}",
        status=status,
        created_at="2024-01-01T00:00:00Z",
        blocker=blocker or None,
        depends_on=list(deps),
    )


def tasks_case(name: str) -> list[Task]:
    if name == "none":
        return []
    if name == "all_completed":
        return [task("T1", "completed"), task("T2", "completed", ("T1",))]
    if name == "one_startable":  # T2 can start; T3 waits for T2
        return [
            task("T1", "completed"),
            task("T2", "pending", ("T1",)),
            task("T3", "pending", ("T2",)),
        ]
    if name == "all_blocked":
        return [task("T1", "blocked", blocker="no API key"), task("T2", "blocked", ("T1",))]
    if name == "blocked_chain":  # T1 waits for T2, which waits for blocked T3
        return [
            task("T1", "pending", ("T2",)),
            task("T2", "in_progress", ("T3",)),
            task("T3", "blocked", blocker="needs credentials"),
        ]
    if name == "cycle":  # hand-edited: T1 → T2 → T1
        return [task("T1", "pending", ("T2",)), task("T2", "pending", ("T1",))]
    raise AssertionError(name)


TASK_CASES = ("none", "all_completed", "one_startable", "all_blocked", "blocked_chain", "cycle")
# What rule 5 answers for each task shape that has unfinished work.
TASK_EXPECTED = {
    "one_startable": ("task_ready", "implement_task", "T2"),
    "all_blocked": ("tasks_blocked", "unblock_task", "T1"),
    "blocked_chain": ("tasks_blocked", "unblock_task", "T3"),
    "cycle": ("tasks_blocked", "unblock_task", "T1"),
}


def comment(cid: str, flag: str | None, body: str, resolved: bool = False) -> Comment:
    return Comment(
        cid,
        body,
        {"kind": "feature"},
        author="bob",
        flag=flag,
        created_at="2024-01-01T00:00:00Z",
        resolved_at="2024-01-02T00:00:00Z" if resolved else None,
        resolved_by="bob" if resolved else None,
    )


def comments_case(present: bool) -> list[Comment]:
    # Non-stopping comments are always there: an fyi, and a resolved blocker.
    base = [comment("C1", "fyi", "note"), comment("C2", "blocker", "old", resolved=True)]
    return [*base, comment("C3", "blocker", "is the API stable?")] if present else base


DEP_CASES = {
    "none": ([], {}),
    "released": ([DEP], {DEP: ("released", False)}),
    "unreleased": ([DEP], {DEP: ("implementation", False)}),
    "nonexistent": ([DEP], {}),
}

LENSES = ("product_fit", "research_grounding", "implementation")


def score(lens: str, value: int, ts: str = "2024-01-01T00:00:00Z") -> Score:
    return Score(lens, value, "reviewer", ts)


SCORE_CASES = {
    "none": [],
    "all_above": [score(lens, 90) for lens in LENSES],
    "one_below_advance": [
        score("product_fit", 90),
        score("research_grounding", 50),
        score("implementation", 90),
    ],
    "one_between": [
        score("product_fit", 90),
        score("research_grounding", 75),
        score("implementation", 90),
    ],
}
# The lowest counted score per case (none: no score at all).
SCORE_MIN = {"none": None, "all_above": 90, "one_below_advance": 50, "one_between": 75}


# --------------------------------------------------------------------------------------------
# The oracle: §3 read literally, on the equivalence classes above.


def passes(p: str, n: str, x: str) -> bool:
    return PHASE_INDEX[p] <= PHASE_INDEX[x] < PHASE_INDEX[n]


def required(config: Config, phase: str) -> set[str]:
    out: set[str] = set()
    for p in PHASES[: PHASE_INDEX[phase] + 1]:
        out.update(config.required_artifacts.get(p, []))
    return out


def effective_condition(phase: str, kind: str | None, state: str | None) -> str:
    if kind is None or state is None:
        return "fresh"
    if state == "file_deleted":
        return "missing"
    if state == "stale" and kind == "tasks" and PHASE_INDEX[phase] >= PHASE_INDEX["implementation"]:
        return "fresh"  # tasks.md is a living checklist from implementation on
    return state


def artifact_expected(kind: str, condition: str, review_fails: bool) -> str:
    create, approve, rewrite = ARTIFACT_ACTIONS[kind]
    if condition == "missing":
        return create
    if condition in ("draft", "stale"):
        if kind == "review" and condition == "draft" and review_fails:
            return "fix_review_issues"
        return approve
    return rewrite


def quality_fails(p: str, n: str, score_case: str, config: Config) -> bool:
    threshold = None
    if passes(p, n, "implementation") or passes(p, n, "review"):
        threshold = config.quality.min_score_to_advance
    if passes(p, n, "merge"):
        threshold = config.quality.min_score_to_release
    low = SCORE_MIN[score_case]
    return threshold is not None and low is not None and low < threshold


def oracle(
    config: Config,
    phase: str,
    kind: str | None,
    state: str | None,
    tcase: str,
    comment_present: bool,
    blocker_present: bool,
    dcase: str,
    scase: str,
) -> tuple[str, str, str | None, str | None]:
    """(rule, action, artifact, task_id) that §3 prescribes."""
    if phase == "released":
        return "released", "done", None, None
    n = config.next_enabled(phase)
    assert n is not None
    if blocker_present:
        return "blocked", "unblock_dependency", None, None
    if comment_present:
        return "blocker_comment", "wait_for_approval", None, None
    condition = effective_condition(phase, kind, state)
    review_fails = quality_fails(phase, n, scase, config)
    if condition != "fresh" and kind in required(config, phase):
        return "artifact_regressed", artifact_expected(kind, condition, False), kind, None
    tasks_act = PHASE_INDEX[phase] >= PHASE_INDEX["implementation"] or passes(phase, n, "implementation")
    if tasks_act and tcase in TASK_EXPECTED:
        rule, action, tid = TASK_EXPECTED[tcase]
        return rule, action, None, tid
    if condition != "fresh" and kind in required(config, n):
        return "artifact_next", artifact_expected(kind, condition, review_fails), kind, None
    if passes(phase, n, "ready") and dcase in ("unreleased", "nonexistent"):
        return "dependency", "unblock_dependency", None, None
    if review_fails:
        return "quality", "fix_review_issues", None, None
    if phase == "merge":
        return "merge", "merge", None, None
    return "advance", "advance", None, None


# --------------------------------------------------------------------------------------------
# Checks shared by every answer


def guard_accepts(feature: Feature, target: str, config: Config, files: Any, deps: Any) -> bool:
    try:
        guard_transition(feature, target, config, files, deps)
    except InvalidTransition:
        return False
    return True


def check_invariants(result: Any, feature: Feature, config: Config, files: Any, deps: Any) -> None:
    """What holds for every answer, whatever the input (also used by the property tests)."""
    assert result.rule != "unclassified", result.message
    assert result.action in ACTIONS
    phase = feature.phase
    target = config.next_enabled(phase)
    if feature.archived or phase == "released":
        assert result.action == "done"
        return
    # No silent done in a dead end (spec §10).
    assert result.action != "done"
    assert target is not None
    accepted = guard_accepts(feature, target, config, files, deps)
    if phase == "merge":
        # The guard never moves to released (that is `sdlc merge`); the answer is `merge`
        # exactly when merge's exit criteria hold.
        assert not accepted
        assert result.action != "advance"
        assert (result.action == "merge") == (not exit_criteria(feature, config, files, deps))
    else:
        assert result.action != "merge"
        assert (result.action == "advance") == accepted, (result.to_dict(), accepted)
    if result.action == "advance":
        assert result.transition_to == target
        assert result.next_command == f"sdlc feature transition {feature.slug} {target}"
    else:
        assert result.transition_to is None
    # Actions about an artifact name it; create actions point at its file.
    if result.action.startswith(("create_", "approve_")) or result.action == "run_qa":
        assert result.artifact is not None
    if result.artifact is not None:
        assert result.action in ARTIFACT_ACTIONS[result.artifact] or (
            result.artifact == "review" and result.action == "fix_review_issues"
        )
        assert artifact_condition(feature, feature.artifact(result.artifact), config, files) != "fresh"
        if result.action.startswith("approve_"):
            assert result.output_path is None
        else:
            assert result.output_path == f".sdlc/features/{feature.slug}/{ARTIFACT_FILES[result.artifact]}"
    if result.action == "implement_task":
        t = feature.task(result.task_id)
        assert t is not None and t.status in ("pending", "in_progress")
        by_id = {x.id: x for x in feature.tasks}
        assert all(by_id[d].status == "completed" for d in t.depends_on if d in by_id)
    if result.action == "unblock_task":
        assert feature.task(result.task_id) is not None
    if result.action not in ("implement_task", "unblock_task"):
        assert result.task_id is None


# --------------------------------------------------------------------------------------------
# 1. The bounded exhaustive test
#
# Equivalence classes keep it fast. With no feature blocker and no blocker comment, the full
# product artifacts x tasks x dependency x scores is enumerated. A feature blocker (rule 2) or
# a blocker comment (rule 3) decides the answer alone and makes the guard refuse whatever the
# rest is, so those three classes enumerate artifacts x tasks fully and visit the 16
# dependency x score pairs round-robin (each pair about 19 times per class).

TASKS = {name: tasks_case(name) for name in TASK_CASES}
COMMENTS = {present: comments_case(present) for present in (False, True)}
BLOCKERS = {False: [], True: ["waiting for legal"]}
DEP_SCORE_PAIRS = list(itertools.product(DEP_CASES, SCORE_CASES))


def exhaustive_cases() -> Iterator[tuple[Any, ...]]:
    """(artifact kind, artifact state, tasks, comment?, blocker?, dependency, scores)."""
    for comment_present, blocker_present in itertools.product((False, True), repeat=2):
        turn = 0
        for kind, state in artifact_cases():
            for tcase in TASK_CASES:
                if comment_present or blocker_present:
                    pairs = [DEP_SCORE_PAIRS[turn % len(DEP_SCORE_PAIRS)]]
                    turn += 1
                else:
                    pairs = DEP_SCORE_PAIRS
                for dcase, scase in pairs:
                    yield kind, state, tcase, comment_present, blocker_present, dcase, scase


@pytest.mark.parametrize("config_name", list(CONFIGS))
@pytest.mark.parametrize("phase", PHASES)
def test_exhaustive(phase: str, config_name: str) -> None:
    config = CONFIGS[config_name]()
    built = {case: build_artifacts(*case) for case in artifact_cases()}
    seen_rules: set[str] = set()
    seen_dims: set[tuple[Any, ...]] = set()
    count = 0
    for case in exhaustive_cases():
        kind, state, tcase, comment_present, blocker_present, dcase, scase = case
        artifacts, files = built[kind, state]
        feature = Feature(
            SLUG,
            "Feature X",
            phase=phase,
            artifacts=artifacts,
            tasks=TASKS[tcase],
            comments=COMMENTS[comment_present],
            blockers=BLOCKERS[blocker_present],
            dependencies=DEP_CASES[dcase][0],
            scores=SCORE_CASES[scase],
        )
        deps = DEP_CASES[dcase][1]
        result = classify(feature, config, files, deps)
        check_invariants(result, feature, config, files, deps)
        expected = oracle(config, phase, *case)
        got = (result.rule, result.action, result.artifact, result.task_id)
        assert got == expected, (phase, config_name, case, result.message)
        seen_rules.add(result.rule)
        seen_dims.update((i, v) for i, v in enumerate(case))
        count += 1
    # The enumeration really covers every value of every dimension.
    assert count == 50 * 6 * 16 + 3 * 50 * 6
    assert len(seen_dims) == 8 + 8 + 6 + 2 + 2 + 4 + 4
    if phase == "released":
        assert seen_rules == {"released"}
    else:
        final = "merge" if phase == "merge" else "advance"
        assert {"blocked", "blocker_comment", final} <= seen_rules


# --------------------------------------------------------------------------------------------
# 2. Targeted tests of single rules, on plain objects

S = "s"


def feature_in(phase: str, **changes: Any) -> tuple[Feature, dict[str, str | None]]:
    """Feature 's' in `phase` with all seven artifacts approved and fresh, and their files."""
    arts, files = [], {}
    for kind in ARTIFACTS:
        art = Artifact.new(S, kind)
        art.status, art.content_sha256, art.approved_by = "approved", sha(kind), "alice"
        arts.append(art)
        files[kind] = sha(kind)
    feature = Feature(S, "A feature", phase=phase, artifacts=arts)
    for key, value in changes.items():
        setattr(feature, key, value)
    return feature, files


def set_artifact(
    feature: Feature, files: dict[str, str | None], kind: str, status: str, **fields: Any
) -> None:
    art = feature.artifact(kind)
    art.status = status
    art.content_sha256 = fields.pop("content_sha256", None)
    for key, value in fields.items():
        setattr(art, key, value)
    if status == "missing":
        files[kind] = None


def run(feature: Feature, files: Any, config: Config | None = None, deps: Any = None) -> Any:
    config = config or default_config()
    result = classify(feature, config, files, deps or {})
    check_invariants(result, feature, config, files, deps or {})
    return result


def test_rule_order_peels_one_rule_at_a_time() -> None:
    """blocked → blocker_comment → artifact_regressed → task_ready → artifact_next → quality
    → advance: each problem hides the ones after it until it is fixed."""
    feature, files = feature_in("implementation")
    set_artifact(feature, files, "review", "missing")
    feature.blockers = ["legal review pending"]
    feature.comments = [comment("C1", "question", "which DB?")]
    set_artifact(feature, files, "design", "rejected", rejection_reason="no diagrams")
    feature.tasks = [task("T1")]
    feature.scores = [score("implementation", 40)]
    order = []
    fixes = [
        lambda: feature.blockers.clear(),
        lambda: feature.comments.clear(),
        lambda: set_artifact(feature, files, "design", "approved", content_sha256=files["design"]),
        lambda: setattr(feature.tasks[0], "status", "completed"),
        lambda: (
            set_artifact(feature, files, "review", "approved", content_sha256=sha("review")),
            files.__setitem__("review", sha("review")),
        ),
        lambda: feature.scores.append(score("implementation", 95, "2024-02-01T00:00:00Z")),
    ]
    for fix in [*fixes, None]:
        result = run(feature, files)
        order.append((result.rule, result.action))
        if fix is not None:
            fix()
    assert order == [
        ("blocked", "unblock_dependency"),
        ("blocker_comment", "wait_for_approval"),
        ("artifact_regressed", "create_design"),
        ("task_ready", "implement_task"),
        ("artifact_next", "create_review"),
        ("quality", "fix_review_issues"),
        ("advance", "advance"),
    ]


def test_dependency_comes_before_quality() -> None:
    """Rule 7 before rule 8: a hop that passes both ready and implementation (both disabled)."""
    enabled = [p for p in PHASES if p not in ("ready", "implementation")]
    config = parse_config({"phases": {"enabled": enabled}}, "p")
    feature, files = feature_in("planned", dependencies=["dep-a"])
    feature.scores = [score("product_fit", 10)]
    assert config.next_enabled("planned") == "review"
    result = run(feature, files, config, {"dep-a": ("qa", False)})
    assert (result.rule, result.action) == ("dependency", "unblock_dependency")
    result = run(feature, files, config, {"dep-a": ("released", False)})
    assert (result.rule, result.action) == ("quality", "fix_review_issues")
    assert result.message == "Quality below threshold for 's': lens 'product_fit' scored 10, needs 70"


def test_archived_and_released_are_done() -> None:
    feature, files = feature_in("implementation", archived=True, blockers=["x"])
    feature.tasks = [task("T1", "blocked", blocker="stuck")]
    result = run(feature, files)
    assert (result.rule, result.action, result.next_command) == ("archived", "done", "")
    feature, files = feature_in("released", blockers=["x"])
    result = run(feature, files)
    assert (result.rule, result.action) == ("released", "done")
    assert result.message == "Feature 's' is released."
    assert result.to_dict()["timeout_minutes"] == 0


def test_feature_blocker_message_names_them() -> None:
    feature, files = feature_in("draft", blockers=["legal", "budget"])
    result = run(feature, files)
    assert result.action == "unblock_dependency"
    assert "legal" in result.message and "budget" in result.message
    assert result.next_command == "sdlc feature show s"


def test_blocker_comment_message() -> None:
    feature, files = feature_in("specified")
    feature.comments = [
        comment("C1", "blocker", "API unstable"),
        comment("C2", "fyi", "note"),
        comment("C3", "blocker", "done already", resolved=True),
        comment("C4", "question", "which DB?"),
        comment("C5", "decision", "use postgres"),
        comment("C6", None, "plain"),
    ]
    result = run(feature, files)
    assert (result.rule, result.action) == ("blocker_comment", "wait_for_approval")
    assert result.message == (
        "Feature 's' has 2 unresolved blocker comment(s): [C1] API unstable; [C4] which DB?"
    )
    assert result.next_command == "sdlc comment list s"


def test_unblock_task_names_the_blocked_task_of_a_chain() -> None:
    feature, files = feature_in("implementation")
    feature.tasks = [
        task("T1", "completed"),
        task("T2", "pending", ("T3",)),
        task("T3", "in_progress", ("T4",)),
        task("T4", "blocked", blocker="needs credentials"),
    ]
    result = run(feature, files)
    assert (result.rule, result.action, result.task_id) == ("tasks_blocked", "unblock_task", "T4")
    assert "T4" in result.message and "needs credentials" in result.message
    assert result.next_command == "sdlc task list s"


def test_unblock_task_follows_the_other_dependency_past_a_cycle() -> None:
    feature, files = feature_in("implementation")
    feature.tasks = [
        task("T1", "pending", ("T2", "T3")),
        task("T2", "pending", ("T1",)),
        task("T3", "blocked", blocker="waiting"),
    ]
    result = run(feature, files)
    assert (result.action, result.task_id) == ("unblock_task", "T3")


def test_depends_on_cycle_message_names_first_task_of_the_cycle() -> None:
    feature, files = feature_in("review")
    feature.tasks = [
        task("T1", "pending", ("T2",)),
        task("T2", "pending", ("T3",)),
        task("T3", "in_progress", ("T2",)),
    ]
    result = run(feature, files)
    assert (result.rule, result.action, result.task_id) == ("tasks_blocked", "unblock_task", "T2")
    assert result.message == "depends_on cycle: fix it with `sdlc task edit --depends`"
    assert result.message == CYCLE_MESSAGE


def test_self_dependency_is_a_cycle() -> None:
    feature, files = feature_in("implementation")
    feature.tasks = [task("T1", "pending", ("T1",))]
    result = run(feature, files)
    assert (result.action, result.task_id, result.message) == ("unblock_task", "T1", CYCLE_MESSAGE)


def test_depends_on_is_respected() -> None:
    """Must beat: the first listed task waits for the one it depends on."""
    feature, files = feature_in("implementation")
    feature.tasks = [task("T1", "pending", ("T2",)), task("T2", "pending")]
    result = run(feature, files)
    assert (result.action, result.task_id) == ("implement_task", "T2")
    assert result.next_command == "/sdlc-implement s T2"
    assert result.to_dict()["is_heavy"] is True
    assert result.to_dict()["timeout_minutes"] == 45
    feature.tasks[1].status = "completed"
    assert run(feature, files).task_id == "T1"


def test_in_progress_task_is_resumed_and_unknown_dependency_is_ignored() -> None:
    feature, files = feature_in("implementation")
    feature.tasks = [
        task("T1", "completed"),
        task("T2", "in_progress", ("T1", "T9")),
        task("T3", "pending"),
    ]
    assert (run(feature, files).action, run(feature, files).task_id) == ("implement_task", "T2")


def test_blocked_tasks_are_not_finished() -> None:
    """Must beat: a blocked task keeps the feature out of review."""
    feature, files = feature_in("implementation")
    feature.tasks = [task("T1", "completed"), task("T2", "blocked", blocker="flaky CI")]
    config = default_config()
    result = run(feature, files, config)
    assert (result.action, result.task_id) == ("unblock_task", "T2")
    assert not guard_accepts(feature, "review", config, files, {})
    feature.tasks[1].status = "completed"
    assert run(feature, files, config).action == "advance"
    assert guard_accepts(feature, "review", config, files, {})


def test_tasks_do_not_act_before_implementation() -> None:
    feature, files = feature_in("ready")
    feature.tasks = [task("T1", "blocked", blocker="x"), task("T2", "pending", ("T1",))]
    result = run(feature, files)
    assert (result.action, result.transition_to) == ("advance", "implementation")


def test_tasks_act_in_ready_when_implementation_is_disabled() -> None:
    """The hop ready → review passes implementation: every task must be completed."""
    config = parse_config({"phases": {"enabled": [p for p in PHASES if p != "implementation"]}}, "p")
    feature, files = feature_in("ready")
    feature.tasks = [task("T1")]
    result = run(feature, files, config)
    assert (result.action, result.task_id) == ("implement_task", "T1")


def test_stale_approval_is_not_fresh() -> None:
    """Must beat: an approval does not survive an edit of its file."""
    feature, files = feature_in("planned")
    files["spec"] = sha("spec, edited")
    config = default_config()
    result = run(feature, files, config)
    assert (result.rule, result.action, result.artifact) == (
        "artifact_regressed",
        "approve_spec",
        "spec",
    )
    assert "changed since its approval" in result.message
    assert result.next_command == "sdlc artifact approve s spec"
    assert result.output_path is None
    assert not guard_accepts(feature, "ready", config, files, {})
    assert artifact_condition(feature, feature.artifact("spec"), config, files) == "stale"


def test_approval_without_hash_counts_as_fresh() -> None:
    feature, files = feature_in("specified")
    for kind in ("spec", "design", "tasks", "qa_plan"):
        feature.artifact(kind).content_sha256 = None
        files[kind] = ""
    assert run(feature, files).action == "advance"


def test_stale_tasks_is_living_from_implementation_on() -> None:
    feature, files = feature_in("planned")
    files["tasks"] = sha("tasks, checked off")
    assert run(feature, files).action == "approve_tasks"
    feature.phase = "implementation"
    result = run(feature, files)
    assert (result.action, result.transition_to) == ("advance", "review")


def test_living_artifacts_ignore_stale() -> None:
    config = parse_config({"lifecycle": {"living_artifacts": ["qa-plan"]}}, "p")
    feature, files = feature_in("ready")
    files["qa_plan"] = sha("qa plan, edited")
    assert run(feature, files, config).action == "advance"
    assert run(feature, files).action == "approve_qa_plan"


def test_deleted_file_counts_as_missing_but_waived_needs_none() -> None:
    feature, files = feature_in("planned")
    files["design"] = None
    result = run(feature, files)
    assert (result.rule, result.action, result.artifact) == (
        "artifact_regressed",
        "create_design",
        "design",
    )
    assert result.output_path == ".sdlc/features/s/design.md"
    set_artifact(feature, files, "design", "waived", waive_reason="tiny change")
    assert run(feature, files).action == "advance"


def test_rejected_artifact_is_rewritten_with_its_reason() -> None:
    feature, files = feature_in("specified")
    set_artifact(feature, files, "tasks", "rejected", rejection_reason="too coarse")
    result = run(feature, files)
    assert (result.rule, result.action) == ("artifact_next", "create_tasks")
    assert "too coarse" in result.message
    assert result.output_path == ".sdlc/features/s/tasks.md"


@pytest.mark.parametrize(
    ("kind", "status", "action"),
    [
        ("review", "rejected", "fix_review_issues"),
        ("review", "needs_fix", "fix_review_issues"),
        ("qa_results", "failed", "fix_qa_issues"),
        ("qa_results", "missing", "run_qa"),
        ("qa_results", "draft", "approve_merge"),
        ("audit", "failed", "create_audit"),
    ],
)
def test_rewrite_and_create_actions(kind: str, status: str, action: str) -> None:
    phase = {"review": "implementation", "audit": "review", "qa_results": "qa"}[kind]
    feature, files = feature_in(phase)
    set_artifact(feature, files, kind, status)
    result = run(feature, files)
    assert (result.rule, result.action, result.artifact) == ("artifact_next", action, kind)


def test_draft_review_with_failing_scores_is_fixed_not_approved() -> None:
    feature, files = feature_in("implementation")
    set_artifact(feature, files, "review", "draft")
    feature.scores = [score("implementation", 55), score("product_fit", 90)]
    result = run(feature, files)
    assert (result.rule, result.action, result.artifact) == (
        "artifact_next",
        "fix_review_issues",
        "review",
    )
    assert result.next_command == "/sdlc-fix-review s"
    # The newest score per lens counts: a later good score lets the human approve.
    feature.scores.append(score("implementation", 85, "2024-03-01T00:00:00Z"))
    result = run(feature, files)
    assert (result.action, result.next_command) == (
        "approve_review",
        "sdlc artifact approve s review",
    )


def test_draft_review_regressed_in_merge_with_scores_below_release() -> None:
    """§3 attaches the 'draft review with failing scores' exception to rule 6 only: a draft
    review that is a regression (rule 4) is approved first, then rule 8 asks for the fix."""
    feature, files = feature_in("merge")
    set_artifact(feature, files, "review", "draft")
    feature.scores = [score("implementation", 75)]
    result = run(feature, files)
    assert (result.rule, result.action) == ("artifact_regressed", "approve_review")


def test_scores_are_enforced() -> None:
    """Must beat: a low score stops the feature, and the newest score per lens counts."""
    config = default_config()
    feature, files = feature_in("review")
    feature.scores = [score("product_fit", 95, "2024-01-01T00:00:00Z")]
    feature.scores.append(score("product_fit", 60, "2024-02-01T00:00:00Z"))
    result = run(feature, files, config)
    assert (result.rule, result.action) == ("quality", "fix_review_issues")
    assert result.message == "Quality below threshold for 's': lens 'product_fit' scored 60, needs 70"
    assert not guard_accepts(feature, "audit", config, files, {})
    off = parse_config({"quality": {"enforce": False}}, "p")
    assert run(feature, files, off).action == "advance"


def test_release_threshold_applies_in_merge_only() -> None:
    feature, files = feature_in("qa", scores=[score("implementation", 75)])
    assert run(feature, files).action == "advance"
    feature.phase = "merge"
    result = run(feature, files)
    assert (result.rule, result.action) == ("quality", "fix_review_issues")
    assert "needs 80" in result.message
    assert exit_criteria(feature, default_config(), files, {})


def test_require_all_lenses_counts_a_missing_lens_as_none() -> None:
    config = parse_config(
        {"quality": {"require_all_lenses": True, "lenses": ["product_fit", "implementation"]}},
        "p",
    )
    feature, files = feature_in("review", scores=[score("product_fit", 90)])
    result = run(feature, files, config)
    assert (result.rule, result.action) == ("quality", "fix_review_issues")
    assert result.message == "Quality below threshold for 's': lens 'implementation' scored none, needs 70"
    assert run(feature, files).action == "advance"  # without require_all_lenses
    feature.scores.append(score("implementation", 70))
    assert run(feature, files, config).action == "advance"


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (None, "'dep-a' does not exist"),
        (("implementation", False), "'dep-a' is in implementation"),
    ],
)
def test_dependency_messages(state: Any, expected: str) -> None:
    feature, files = feature_in("ready", dependencies=["dep-a"])
    deps = {} if state is None else {"dep-a": state}
    result = run(feature, files, deps=deps)
    assert (result.rule, result.action) == ("dependency", "unblock_dependency")
    assert expected in result.message
    assert result.message.startswith("Feature 's' waits for its dependencies: ")
    assert not guard_accepts(feature, "implementation", default_config(), files, deps)


def test_released_or_archived_dependency_is_satisfied() -> None:
    feature, files = feature_in("ready", dependencies=["a", "b"])
    deps = {"a": ("released", False), "b": ("qa", True)}
    assert run(feature, files, deps=deps).action == "advance"


def test_dependency_only_stops_the_hop_that_passes_ready() -> None:
    feature, files = feature_in("planned", dependencies=["gone"])
    assert run(feature, files).action == "advance"
    feature.phase = "implementation"
    assert run(feature, files).action == "advance"


def test_merge_answers_merge_never_advance() -> None:
    feature, files = feature_in("merge")
    config = default_config()
    result = run(feature, files, config)
    assert (result.rule, result.action, result.transition_to) == ("merge", "merge", None)
    assert result.next_command == "/sdlc-merge s"
    assert "sdlc merge s" in result.message
    assert exit_criteria(feature, config, files, {}) == []
    assert not guard_accepts(feature, "released", config, files, {})


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        ("implementation", ("artifact_next", "create_review", "review")),
        ("review", ("advance", "advance", None)),  # sitting in a disabled phase: as usual
    ],
)
def test_disabling_a_phase_removes_a_stop_not_a_requirement(phase: str, expected: Any) -> None:
    config = review_disabled_config()
    feature, files = feature_in(phase)
    if phase == "implementation":
        set_artifact(feature, files, "review", "missing")
    result = run(feature, files, config)
    assert (result.rule, result.action, result.artifact) == expected
    if result.action == "advance":
        assert result.transition_to == "audit"


def test_reference_table_writes_audit_in_phase_audit() -> None:
    config = reference_config()
    feature, files = feature_in("review")
    set_artifact(feature, files, "audit", "missing")
    assert run(feature, files, config).transition_to == "audit"
    feature.phase = "audit"
    result = run(feature, files, config)
    assert (result.rule, result.action, result.artifact) == ("artifact_next", "create_audit", "audit")
    assert result.next_command == "/sdlc-audit s"
    assert result.output_path == ".sdlc/features/s/audit.md"
    # Our table asks for audit.md in phase review.
    feature.phase = "review"
    assert run(feature, files).action == "create_audit"


@pytest.mark.parametrize(
    ("kind", "action", "command", "path"),
    [
        ("spec", "create_spec", "/sdlc-spec s", ".sdlc/features/s/spec.md"),
        ("design", "create_design", "/sdlc-design s", ".sdlc/features/s/design.md"),
        ("tasks", "create_tasks", "/sdlc-tasks s", ".sdlc/features/s/tasks.md"),
        ("qa_plan", "create_qa_plan", "/sdlc-qa-plan s", ".sdlc/features/s/qa-plan.md"),
        ("review", "create_review", "/sdlc-review s", ".sdlc/features/s/review.md"),
        ("audit", "create_audit", "/sdlc-audit s", ".sdlc/features/s/audit.md"),
        ("qa_results", "run_qa", "/sdlc-qa s", ".sdlc/features/s/qa-results.md"),
    ],
)
def test_create_actions_command_and_output_path(kind: str, action: str, command: str, path: str) -> None:
    phase = {
        "spec": "draft",
        "design": "specified",
        "tasks": "specified",
        "qa_plan": "specified",
        "review": "implementation",
        "audit": "review",
        "qa_results": "qa",
    }[kind]
    feature, files = feature_in(phase)
    for later in ARTIFACTS[ARTIFACTS.index(kind) :]:
        set_artifact(feature, files, later, "missing")
    data = run(feature, files).to_dict()
    assert (data["action"], data["artifact"], data["next_command"], data["output_path"]) == (
        action,
        kind,
        command,
        path,
    )


@pytest.mark.parametrize(
    ("kind", "action"),
    [
        ("spec", "approve_spec"),
        ("design", "approve_design"),
        ("tasks", "approve_tasks"),
        ("qa_plan", "approve_qa_plan"),
        ("review", "approve_review"),
        ("audit", "approve_audit"),
        ("qa_results", "approve_merge"),
    ],
)
def test_approve_actions_command(kind: str, action: str) -> None:
    feature, files = feature_in("merge")
    set_artifact(feature, files, kind, "draft")
    data = run(feature, files).to_dict()
    assert (data["rule"], data["action"], data["artifact"], data["output_path"]) == (
        "artifact_regressed",
        action,
        kind,
        None,
    )
    assert data["next_command"] == f"sdlc artifact approve s {kind}"
    assert data["is_heavy"] is False and data["timeout_minutes"] == 10


def test_advance_output_shape() -> None:
    feature, files = feature_in("draft", description="")
    data = run(feature, files).to_dict()
    assert data == {
        "feature": "s",
        "title": "A feature",
        "current_phase": "draft",
        "action": "advance",
        "message": "Advance 's' from draft to specified.",
        "next_command": "sdlc feature transition s specified",
        "output_path": None,
        "transition_to": "specified",
        "task_id": None,
        "artifact": None,
        "is_heavy": False,
        "timeout_minutes": 1,
        "rule": "advance",
    }
    assert list(data) == [*list(data)[:-1], "rule"]


def test_description_and_gates_appear_when_set() -> None:
    config = parse_config(
        {"gates": {"create_spec": [{"name": "lint", "type": "shell", "command": "true"}]}}, "p"
    )
    feature, files = feature_in("draft", description="Why we build it")
    set_artifact(feature, files, "spec", "missing")
    data = run(feature, files, config).to_dict()
    assert data["description"] == "Why we build it"
    assert data["gates"] == [{"name": "lint", "type": "shell"}]


@pytest.mark.parametrize(
    "setup",
    ["all_blocked", "cycle", "qa_failed", "merge_ready", "dependency_missing", "low_score"],
)
def test_no_silent_done_in_dead_ends(setup: str) -> None:
    """Must beat: a feature that cannot move says why; only archived/released say done."""
    feature, files = feature_in("implementation")
    deps: dict[str, Any] = {}
    if setup == "all_blocked":
        feature.tasks = [task("T1", "blocked"), task("T2", "blocked", ("T1",))]
    elif setup == "cycle":
        feature.tasks = [task("T1", "pending", ("T2",)), task("T2", "pending", ("T1",))]
    elif setup == "qa_failed":
        feature.phase = "qa"
        set_artifact(feature, files, "qa_results", "failed", rejection_reason="2 cases fail")
    elif setup == "merge_ready":
        feature.phase = "merge"
    elif setup == "dependency_missing":
        feature.phase, feature.dependencies = "ready", ["nope"]
    elif setup == "low_score":
        feature.scores = [score("implementation", 1)]
    result = run(feature, files, deps=deps)
    assert result.action != "done"
    assert ACTIONS[result.action].command != ""


def test_explain_lists_the_rules_tried_in_order() -> None:
    feature, files = feature_in("implementation")
    feature.tasks = [task("T1")]
    result, trace = explain(feature, default_config(), files, {})
    assert result.to_dict() == classify(feature, default_config(), files, {}).to_dict()
    assert [t.rule for t in trace] == [
        "archived",
        "released",
        "blocked",
        "blocker_comment",
        "artifact_regressed",
        "task_ready",
    ]
    assert [t.matched for t in trace] == [False] * 5 + [True]


def test_classify_does_not_mutate_a_feature_with_fewer_artifacts() -> None:
    feature = Feature(S, "A feature")
    before = feature.to_dict()
    result = classify(feature, default_config(), {}, {})
    assert result.action == "create_spec"
    assert feature.to_dict() == before
