"""Artifact status moves (spec/sdlc.md §2, "Artifact status and the commands that change it")."""

from __future__ import annotations

from typing import Any

from sdlc.actor import is_agent
from sdlc.errors import AgentForbidden, InvalidArtifactTransition, MissingArtifact, UsageError
from sdlc.model import Artifact, Feature
from sdlc.names import check_names
from sdlc.ops.common import artifact_type
from sdlc.store import Store, sha256_file
from sdlc.transaction import Transaction

# move → (statuses it is allowed from, status it leads to)
MOVES: dict[str, tuple[frozenset[str], str]] = {
    "approve": (frozenset({"draft", "rejected", "needs_fix", "failed", "approved"}), "approved"),
    "reject": (frozenset({"draft", "approved", "passed"}), "rejected"),
    "pass": (frozenset({"draft", "failed"}), "passed"),
    "fail": (frozenset({"draft", "passed"}), "failed"),
    "waive": (
        frozenset(s for s in ("missing", "draft", "rejected", "needs_fix", "passed", "failed")),
        "waived",
    ),
    "unwaive": (frozenset({"waived"}), "draft"),
}
HUMAN_ONLY = frozenset({"approve", "pass", "waive"})


def _refuse(move: str, slug: str, art: Artifact, target: str) -> InvalidArtifactTransition:
    return InvalidArtifactTransition(
        f"cannot {move} artifact '{art.artifact_type}' of '{slug}': {art.status} → {target} is not allowed",
        hint=f"see `sdlc artifact status {slug}`",
    )


def _require_file(store: Store, feature: Feature, art: Artifact) -> str:
    path = store.paths.artifact_file(feature.slug, art.artifact_type)
    digest = sha256_file(path)
    if digest is None:
        raise MissingArtifact(
            f"artifact file {store.paths.relative(path)} does not exist",
            hint="write the file first, then record it",
        )
    return digest


def _result(feature: Feature, art: Artifact, hops: dict[str, list[str]], changed: bool) -> dict[str, Any]:
    return {
        "feature": feature.slug,
        "phase": feature.phase,
        "artifact": art.to_dict(),
        "changed": changed,
        "transitioned": hops.get(feature.slug, []),
    }


def move_artifact(
    store: Store,
    actor: str,
    slug: str,
    type_name: str,
    move: str,
    by: str | None = None,
    reason: str | None = None,
    needs_fix: bool = False,
) -> dict[str, Any]:
    """Apply one artifact move; a move already in effect is a no-op that succeeds."""
    kind = artifact_type(type_name)
    if move in HUMAN_ONLY and is_agent():
        raise AgentForbidden(
            f"an agent may not {move} artifacts (SDLC_AGENT is set)",
            hint="a human records this: " + f"sdlc artifact {move} {slug} {kind}",
        )
    if move in ("fail", "waive") and not reason:
        raise UsageError(f"missing required argument: {move} needs --reason", hint='add --reason "why"')
    check_names([slug])
    with Transaction(store, actor) as tx:
        feature = tx.feature(slug)
        art = feature.artifact(kind)
        changed = _apply(store, tx, feature, art, move, by, actor, reason, needs_fix)
        if changed:
            tx.save(feature)
            tx.event(f"artifact.{move}", slug, artifact=kind, status=art.status, reason=reason)
        hops = tx.commit()
    return _result(feature, art, hops, changed)


def _apply(
    store: Store,
    tx: Transaction,
    feature: Feature,
    art: Artifact,
    move: str,
    by: str | None,
    actor: str,
    reason: str | None,
    needs_fix: bool,
) -> bool:
    """Change `art` in place; False when the move was already in effect."""
    who = by or actor
    if move == "draft":
        digest = _require_file(store, feature, art)
        if art.status == "draft" and art.content_sha256 == digest:
            return False
        art.clear_approval()
        art.status, art.content_sha256 = "draft", digest
        art.drafted_by, art.drafted_at = who, tx.at
        art.created_at = art.created_at or tx.at
        return True
    allowed, target = MOVES[move]
    if move == "reject" and needs_fix:
        target = "needs_fix"
    if move == "unwaive":
        target = (
            "draft" if store.paths.artifact_file(feature.slug, art.artifact_type).is_file() else "missing"
        )
    if move in ("approve", "pass"):
        digest = _require_file(store, feature, art)
        if art.status == target and art.content_sha256 in (None, digest):
            return False  # a fresh approval or pass, approved again
        if art.status not in allowed:
            raise _refuse(move, feature.slug, art, target)
        if move == "approve" and by and art.drafted_by == by:
            raise AgentForbidden(
                f"'{who}' drafted artifact '{art.artifact_type}' and may not approve it",
                hint="another person approves: pass --by WHO",
            )
        art.status, art.content_sha256 = target, digest
        art.approved_at, art.approved_by = tx.at, who
        return True
    if art.status == target and move != "unwaive":
        return False
    if art.status not in allowed:
        raise _refuse(move, feature.slug, art, target)
    art.status = target
    if move in ("reject", "fail"):
        art.clear_approval()
        art.rejected_at, art.rejection_reason = tx.at, reason
    elif move == "waive":
        art.waived_at, art.waive_reason = tx.at, reason
    elif move == "unwaive":
        art.waived_at = art.waive_reason = None
        art.clear_approval()
    return True


def artifact_status(store: Store, slug: str) -> list[dict[str, Any]]:
    """Each artifact with its status, file presence and freshness."""
    from sdlc.criteria import artifact_condition

    feature = store.load_feature(slug)
    files = store.file_hashes(feature)
    rows = []
    for art in feature.artifacts:
        rows.append(
            {
                **art.to_dict(),
                "file_exists": files[art.artifact_type] is not None,
                "condition": artifact_condition(feature, art, store.config, files),
            }
        )
    return rows
