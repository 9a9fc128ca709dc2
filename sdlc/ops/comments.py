"""Comment use cases (spec/sdlc.md §2, "Comments")."""

from __future__ import annotations

from typing import Any

from sdlc.errors import CommentNotFound, InvalidValue, TaskNotFound, UsageError
from sdlc.lifecycle import COMMENT_FLAGS
from sdlc.model import Comment, Feature
from sdlc.names import check_comment_id, check_names, check_task_id
from sdlc.ops.common import artifact_type, feature_row
from sdlc.store import Store
from sdlc.transaction import Transaction


def _comment(feature: Feature, comment_id: str) -> Comment:
    check_comment_id(comment_id)
    comment = feature.comment(comment_id)
    if comment is None:
        raise CommentNotFound(
            f"comment {comment_id} not found in feature '{feature.slug}'",
            hint=f"see `sdlc comment list {feature.slug} --all`",
        )
    return comment


def _result(feature: Feature, comment: Comment, hops: dict[str, list[str]], **extra: Any) -> dict[str, Any]:
    return {
        "feature": feature.slug,
        "phase": feature.phase,
        "comment": comment.to_dict(),
        **extra,
        "transitioned": hops.get(feature.slug, []),
    }


def create_comment(
    store: Store,
    actor: str,
    slug: str,
    body: str,
    task: str | None = None,
    artifact: str | None = None,
    flag: str | None = None,
    by: str | None = None,
) -> dict[str, Any]:
    if task and artifact:
        raise UsageError("give either --task or --artifact, not both", hint="a comment has one target")
    if flag is not None and flag not in COMMENT_FLAGS:
        raise InvalidValue(f"invalid value: unknown flag '{flag}'", hint="flags: " + ", ".join(COMMENT_FLAGS))
    if not body.strip():
        raise UsageError("missing required argument: comment body", hint="sdlc comment create SLUG BODY")
    target: dict[str, Any] = {"kind": "feature"}
    if artifact:
        target = {"kind": "artifact", "artifact_type": artifact_type(artifact)}
    check_names([slug], [task])
    with Transaction(store, actor) as tx:
        feature = tx.feature(slug)
        if task:
            if feature.task(task) is None:
                raise TaskNotFound(
                    f"task {task} not found in feature '{slug}'", hint=f"see `sdlc task list {slug}`"
                )
            target = {"kind": "task", "task_id": task}
        comment_id = f"C{feature.next_comment_seq}"
        feature.next_comment_seq += 1
        comment = Comment(comment_id, body.strip(), target, author=by or actor, flag=flag, created_at=tx.at)
        feature.comments.append(comment)
        tx.save(feature)
        tx.event("comment.created", slug, comment_id=comment_id, flag=flag, target=target)
        hops = tx.commit()
    return _result(feature, comment, hops)


def resolve_comment(
    store: Store, actor: str, slug: str, comment_id: str, by: str | None = None
) -> dict[str, Any]:
    check_names([slug], comment_ids=[comment_id])
    with Transaction(store, actor) as tx:
        feature = tx.feature(slug)
        comment = _comment(feature, comment_id)
        changed = comment.resolved_at is None
        if changed:
            comment.resolved_at, comment.resolved_by = tx.at, by or actor
            tx.save(feature)
            tx.event("comment.resolved", slug, comment_id=comment_id)
        hops = tx.commit()
    return _result(feature, comment, hops, changed=changed)


def remove_comment(store: Store, actor: str, slug: str, comment_id: str) -> dict[str, Any]:
    check_names([slug], comment_ids=[comment_id])
    with Transaction(store, actor) as tx:
        feature = tx.feature(slug)
        comment = _comment(feature, comment_id)
        feature.comments.remove(comment)
        tx.save(feature)
        tx.event("comment.removed", slug, comment_id=comment_id)
        hops = tx.commit()
    return _result(feature, comment, hops)


def list_comments(
    store: Store, slug: str, task: str | None = None, include_resolved: bool = False
) -> list[dict[str, Any]]:
    feature = store.load_feature(slug)
    if task:
        check_task_id(task)
    rows = []
    for comment in feature.comments:
        if task and comment.target != {"kind": "task", "task_id": task}:
            continue
        if comment.resolved_at and not include_resolved:
            continue
        rows.append(feature_row(slug, comment.to_dict()))
    return rows
