"""Helpers shared by the use cases."""

from __future__ import annotations

from typing import Any

from sdlc.errors import InvalidValue
from sdlc.lifecycle import ARTIFACTS, normalize_artifact


def artifact_type(name: str) -> str:
    kind = normalize_artifact(name)
    if kind is None:
        raise InvalidValue(
            f"invalid value: unknown artifact type '{name}'",
            hint="artifact types: " + ", ".join(ARTIFACTS),
        )
    return kind


def reason_text(words: list[str] | str | None) -> str | None:
    if words is None:
        return None
    text = " ".join(words) if isinstance(words, list) else words
    return text.strip() or None


def feature_row(slug: str, data: dict[str, Any]) -> dict[str, Any]:
    """`data` (a task, comment or score) with the feature it belongs to first; a manifest
    field of the same name never overrides it."""
    return {"feature": slug, **data} | {"feature": slug}
