"""Property tests of the classifier (spec/sdlc.md §3) over random features and configs.

For any feature, config, artifact files and dependency states: the answer is deterministic,
never the `unclassified` rule, leaves its inputs untouched, and says `advance` exactly when
the transition guard accepts P→N (in merge: `merge` exactly when merge's exit criteria hold).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sdlc.classifier import classify, explain
from sdlc.config import DEFAULT_REQUIRED_ARTIFACTS, Config, parse_config
from sdlc.criteria import artifact_condition, exit_criteria
from sdlc.errors import InvalidTransition
from sdlc.lifecycle import (
    ACTIONS,
    ARTIFACT_ACTIONS,
    ARTIFACT_FILES,
    ARTIFACT_STATUSES,
    ARTIFACTS,
    PHASES,
    TASK_STATUSES,
    UNDISABLEABLE_PHASES,
)
from sdlc.model import Artifact, Comment, Feature, Score, Task
from sdlc.transitions import guard_transition

SLUG = "feat"
H1 = hashlib.sha256(b"v1").hexdigest()
H2 = hashlib.sha256(b"v2").hexdigest()
LENSES = ["product_fit", "research_grounding", "implementation"]
DEP_SLUGS = ["a", "b", "c"]
OPTIONAL_PHASES = [p for p in PHASES if p not in UNDISABLEABLE_PHASES]


# --------------------------------------------------------------------------------------------
# Strategies


@st.composite
def configs(draw: Any) -> Config:
    doc: dict[str, Any] = {}
    disabled = draw(st.sets(st.sampled_from(OPTIONAL_PHASES), max_size=3))
    table_kind = draw(st.sampled_from(["default", "reference", "random"]))
    if table_kind == "reference":
        table = {k: list(v) for k, v in DEFAULT_REQUIRED_ARTIFACTS.items()}
        table["audit"] = ["review"]
    elif table_kind == "random":
        table = draw(
            st.dictionaries(
                st.sampled_from(PHASES),
                st.lists(st.sampled_from(ARTIFACTS), max_size=3, unique=True),
                max_size=5,
            )
        )
    else:
        table = None
    phases: dict[str, Any] = {"enabled": [p for p in PHASES if p not in disabled]}
    if table is not None:
        phases["required_artifacts"] = table
    doc["phases"] = phases
    doc["lifecycle"] = {
        "living_artifacts": draw(st.lists(st.sampled_from(ARTIFACTS), max_size=2, unique=True))
    }
    advance = draw(st.integers(0, 100))
    doc["quality"] = {
        "enforce": draw(st.booleans()),
        "min_score_to_advance": advance,
        "min_score_to_release": draw(st.integers(0, 100)),
        "require_all_lenses": draw(st.booleans()),
        "lenses": draw(st.lists(st.sampled_from(LENSES), min_size=1, unique=True)),
    }
    return parse_config(doc, "p")


# True five times out of six. Hypothesis favours small integers and list heads when it
# generates, so weights are written out as a list rather than as `integers(0, 5) > 0`.
MOSTLY = st.sampled_from([True, True, True, True, True, False])
BLOCKER_LISTS = st.sampled_from([[], [], [], ["legal"], ["legal", "budget"]])

# (status, stored hash, rejection reason, file hash); file None: no file, "": exists but not
# hashed, H1: unchanged since approval, H2: edited since.
ARTIFACT_STATES = list(
    itertools.product(ARTIFACT_STATUSES, [None, H1], [None, "too vague"], [None, "", H1, H2])
)


@st.composite
def artifacts_and_files(draw: Any, fresh_bias: bool) -> tuple[list[Artifact], dict[str, str | None]]:
    arts, files = [], {}
    for kind in ARTIFACTS:
        status, stored, reason, file_hash = draw(st.sampled_from(ARTIFACT_STATES))
        if fresh_bias and draw(MOSTLY):
            status, stored, file_hash = "approved", H1, H1
        art = Artifact.new(SLUG, kind)
        art.status, art.content_sha256, art.rejection_reason = status, stored, reason
        arts.append(art)
        files[kind] = file_hash
    return arts, files


@st.composite
def task_lists(draw: Any, fresh_bias: bool) -> list[Task]:
    n = draw(st.integers(0, 5))
    ids = [f"T{i}" for i in range(1, n + 1)]
    tasks = []
    for tid in ids:
        status = draw(st.sampled_from(TASK_STATUSES))
        if fresh_bias and draw(MOSTLY):
            status = "completed"
        # Hand-edited manifests may hold self-references, cycles and unknown ids.
        deps = draw(st.lists(st.sampled_from([*ids, "T9"]), max_size=3, unique=True))
        tasks.append(
            Task(
                tid,
                f"task {tid}",
                status=status,
                blocker="stuck" if status == "blocked" and draw(st.booleans()) else None,
                depends_on=deps,
            )
        )
    return tasks


comments = st.lists(
    st.builds(
        lambda i, flag, resolved: Comment(
            f"C{i}",
            f"body {i}",
            {"kind": "feature"},
            flag=flag,
            resolved_at="2024-01-02T00:00:00Z" if resolved else None,
        ),
        st.integers(1, 20),
        st.sampled_from([None, "blocker", "question", "decision", "fyi"]),
        st.booleans(),
    ),
    max_size=3,
)

scores = st.lists(
    st.builds(
        lambda lens, value, day: Score(lens, value, "eval", f"2024-01-{day:02d}T00:00:00Z"),
        st.sampled_from([*LENSES, "other"]),
        st.integers(0, 100),
        st.integers(1, 5),
    ),
    max_size=5,
)

# A dependency's (phase, archived), or None when no such feature exists.
dep_states = st.one_of(st.none(), st.tuples(st.sampled_from(PHASES), st.booleans()))


@st.composite
def cases(draw: Any) -> tuple[Feature, Config, dict[str, str | None], dict[str, Any]]:
    """A random feature. Fully random states rarely line up into an `advance`, so half the
    cases are biased toward fresh artifacts, finished tasks and no stoppers: both sides of
    `advance iff guard` are then exercised often."""
    bias = draw(st.booleans())
    config = draw(configs())
    arts, files = draw(artifacts_and_files(bias))
    dependencies = draw(st.lists(st.sampled_from(DEP_SLUGS), max_size=2, unique=True))
    deps = {}
    for slug in dependencies:
        state = draw(dep_states)
        if state is not None:
            deps[slug] = state
    stoppers = not bias or not draw(MOSTLY)
    feature = Feature(
        SLUG,
        "Feature",
        phase=draw(st.sampled_from(PHASES)),
        description=draw(st.sampled_from([None, "", "why"])),
        artifacts=arts,
        tasks=draw(task_lists(bias)),
        comments=draw(comments) if stoppers else [],
        blockers=list(draw(BLOCKER_LISTS)) if stoppers else [],
        dependencies=dependencies,
        archived=not draw(MOSTLY),
        scores=draw(scores),
    )
    return feature, config, files, deps


# --------------------------------------------------------------------------------------------
# Checks


def guard_accepts(feature: Feature, target: str, config: Config, files: Any, deps: Any) -> bool:
    try:
        guard_transition(feature, target, config, files, deps)
    except InvalidTransition:
        return False
    return True


def check(feature: Feature, config: Config, files: Any, deps: Any) -> str:
    before = (copy.deepcopy(feature.to_dict()), dict(files), copy.deepcopy(dict(deps)))
    result = classify(feature, config, files, deps)
    # Deterministic, and classify/explain agree.
    again = classify(feature, config, files, deps)
    assert result.to_dict() == again.to_dict()
    assert explain(feature, config, files, deps)[0].to_dict() == result.to_dict()
    # Pure: no input changed.
    assert (feature.to_dict(), dict(files), dict(deps)) == before

    assert result.rule != "unclassified", result.message
    assert result.action in ACTIONS
    phase, target = feature.phase, config.next_enabled(feature.phase)
    if feature.archived or phase == "released":
        assert result.action == "done"
        return result.action
    assert result.action != "done"
    assert target is not None
    accepted = guard_accepts(feature, target, config, files, deps)
    if phase == "merge":
        assert not accepted
        assert (result.action == "merge") == (not exit_criteria(feature, config, files, deps))
    else:
        assert result.action != "merge"
        assert (result.action == "advance") == accepted
    if result.action == "advance":
        assert result.transition_to == target
    else:
        assert result.transition_to is None
    if result.action.startswith(("create_", "approve_")) or result.action == "run_qa":
        assert result.artifact is not None
    if result.artifact is not None:
        art = feature.artifact(result.artifact)
        assert artifact_condition(feature, art, config, files) != "fresh"
        assert result.action in ARTIFACT_ACTIONS[result.artifact] or (
            result.action == "fix_review_issues" and result.artifact == "review"
        )
        expected_path = f".sdlc/features/{SLUG}/{ARTIFACT_FILES[result.artifact]}"
        assert result.output_path == (None if result.action.startswith("approve_") else expected_path)
    if result.action == "implement_task":
        t = feature.task(result.task_id)
        assert t is not None and t.status in ("pending", "in_progress")
        by_id = {x.id: x for x in feature.tasks}
        assert all(by_id[d].status == "completed" for d in t.depends_on if d in by_id)
    elif result.action == "unblock_task":
        t = feature.task(result.task_id)
        assert t is not None and t.status != "completed"
    else:
        assert result.task_id is None
    return result.action


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(cases())
def test_random_features(case: Any) -> None:
    event(f"action={check(*case)}")  # shown by --hypothesis-show-statistics
