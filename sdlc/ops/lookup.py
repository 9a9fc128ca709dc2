"""Read-only lookups of one feature: `feature show` and `next --for`. Kept apart from the
mutations so these hot paths load no locking or writing code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sdlc.store import Store

if TYPE_CHECKING:
    from sdlc.classifier import Classification


def show_feature(store: Store, slug: str) -> dict[str, Any]:
    """The whole manifest; `description` and `scores` are always present."""
    data = store.load_feature(slug).to_dict()
    data.setdefault("description", None)
    data.setdefault("scores", [])
    return data


def next_for(store: Store, slug: str) -> Classification:
    return store.classify_feature(store.load_feature(slug))
