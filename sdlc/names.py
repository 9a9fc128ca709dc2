"""Validation of slugs and ids before they touch a path (spec/sdlc.md §1)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sdlc.errors import InvalidSlug

_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
_TASK_ID = re.compile(r"T[1-9][0-9]{0,8}")
_COMMENT_ID = re.compile(r"C[1-9][0-9]{0,8}")


def is_slug(value: str) -> bool:
    return _SLUG.fullmatch(value) is not None


def check_slug(value: str) -> str:
    """Return `value` if it is a valid feature or milestone slug, else raise InvalidSlug."""
    if not is_slug(value):
        raise InvalidSlug(
            f"invalid slug '{value}': must be lowercase alphanumeric with hyphens",
            hint="use lowercase letters, digits and hyphens, at most 64 characters",
        )
    return value


def check_task_id(value: str) -> str:
    if _TASK_ID.fullmatch(value) is None:
        raise InvalidSlug(f"invalid task id '{value}': must look like T1", hint="see `sdlc task list`")
    return value


def check_comment_id(value: str) -> str:
    if _COMMENT_ID.fullmatch(value) is None:
        raise InvalidSlug(f"invalid comment id '{value}': must look like C1", hint="see `sdlc comment list`")
    return value


def default_title(slug: str) -> str:
    return slug.replace("-", " ")


def check_names(
    slugs: Iterable[str] = (), task_ids: Iterable[str | None] = (), comment_ids: Iterable[str] = ()
) -> None:
    """Validate every name a command was given before it touches any path (spec §1)."""
    for slug in slugs:
        check_slug(slug)
    for task_id in task_ids:
        if task_id is not None:
            check_task_id(task_id)
    for comment_id in comment_ids:
        check_comment_id(comment_id)
