"""Artifact freshness and the exit criteria of a phase (spec/sdlc.md §3).

ONE function, `exit_criteria`, decides whether a feature may leave a phase: the classifier's
`advance` rule, the transition guard and `sdlc merge` all call it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sdlc.config import Config
from sdlc.lifecycle import PHASE_INDEX, SATISFIED_STATUSES
from sdlc.model import Artifact, Feature

# Per artifact type: the SHA-256 of its file, "" when it exists but was not hashed (only
# artifacts with a stored approval hash need hashing), or None when the file is absent.
FileHashes = Mapping[str, str | None]
# Per dependency slug: (phase, archived), or None when no such feature exists.
DependencyStates = Mapping[str, tuple[str, bool] | None]


def passes(current: str, target: str, phase: str) -> bool:
    """Whether the hop current→target passes `phase` (current ≤ phase < target)."""
    return PHASE_INDEX[current] <= PHASE_INDEX[phase] < PHASE_INDEX[target]


def artifact_condition(feature: Feature, art: Artifact, config: Config, files: FileHashes) -> str:
    """fresh | missing | draft | stale | rejected | needs_fix | failed for one artifact."""
    status = art.status
    if status == "waived":
        return "fresh"
    if files.get(art.artifact_type) is None or status == "missing":
        return "missing"
    if status not in SATISFIED_STATUSES:
        return status
    if art.content_sha256 and files.get(art.artifact_type) != art.content_sha256:
        living = art.artifact_type in config.living_artifacts or (
            art.artifact_type == "tasks" and PHASE_INDEX[feature.phase] >= PHASE_INDEX["implementation"]
        )
        if not living:
            return "stale"
    return "fresh"


@dataclass(eq=False, repr=False)
class Unmet:
    """One exit criterion that does not hold."""

    kind: str  # artifact | tasks | quality | dependency | comments | blockers
    message: str
    artifact: str | None = None
    details: tuple[str, ...] = field(default_factory=tuple)


@dataclass(eq=False, repr=False)
class QualityFailure:
    lens: str
    score: int | None
    threshold: int


def quality_failures(feature: Feature, config: Config, current: str, target: str) -> list[QualityFailure]:
    """Counted scores below the threshold that the hop current→target must meet."""
    q = config.quality
    if not q.enforce:
        return []
    thresholds = []
    if passes(current, target, "implementation") or passes(current, target, "review"):
        thresholds.append(q.min_score_to_advance)
    if passes(current, target, "merge"):
        thresholds.append(q.min_score_to_release)
    if not thresholds:
        return []
    threshold = max(thresholds)
    counted: dict[str, int | None] = dict(feature.counted_scores())
    if q.require_all_lenses:
        for lens in q.lenses:
            counted.setdefault(lens, None)
    return [
        QualityFailure(lens, score, threshold)
        for lens, score in sorted(counted.items())
        if score is None or score < threshold
    ]


def dependency_failures(feature: Feature, deps: DependencyStates) -> list[str]:
    """A sentence per dependency that is neither released nor archived."""
    failures = []
    for slug in feature.dependencies:
        state = deps.get(slug)
        if state is None:
            failures.append(f"'{slug}' does not exist")
        elif not (state[0] == "released" or state[1]):
            failures.append(f"'{slug}' is in {state[0]}")
    return failures


def exit_criteria(
    feature: Feature,
    config: Config,
    files: FileHashes,
    deps: DependencyStates,
    phase: str | None = None,
) -> list[Unmet]:
    """Every unmet exit criterion of `phase` (default: the feature's phase), in a fixed order."""
    current = phase or feature.phase
    target = config.next_enabled(current)
    if target is None:
        return [Unmet("phase", f"phase '{current}' is the last one")]
    unmet: list[Unmet] = []
    for kind in config.cumulative_required[target]:
        condition = artifact_condition(feature, feature.find_artifact(kind), config, files)
        if condition != "fresh":
            unmet.append(Unmet("artifact", f"artifact '{kind}' is {condition}", artifact=kind))
    if passes(current, target, "implementation") or PHASE_INDEX[current] > PHASE_INDEX["implementation"]:
        unfinished = [t.id for t in feature.tasks if t.status != "completed"]
        if unfinished:
            unmet.append(
                Unmet(
                    "tasks",
                    f"tasks not completed: {', '.join(unfinished)}",
                    details=tuple(unfinished),
                )
            )
    for failure in quality_failures(feature, config, current, target):
        shown = "none" if failure.score is None else str(failure.score)
        unmet.append(
            Unmet("quality", f"score for lens '{failure.lens}' is {shown}, below {failure.threshold}")
        )
    if passes(current, target, "ready"):
        failures = dependency_failures(feature, deps)
        if failures:
            unmet.append(Unmet("dependency", "dependencies not released: " + "; ".join(failures)))
    stopping = [c for c in feature.comments if c.stops_pipeline]
    if stopping:
        unmet.append(
            Unmet(
                "comments",
                f"{len(stopping)} unresolved blocker comment(s)",
                details=tuple(c.id for c in stopping),
            )
        )
    if feature.blockers:
        unmet.append(Unmet("blockers", "feature is blocked: " + "; ".join(feature.blockers)))
    return unmet
