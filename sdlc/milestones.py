"""Milestones (spec/sdlc.md §2): the model, read from and written to the reference's file
shape, and the derived status."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sdlc.model import Data, ModelError, as_list, as_map, clean, optional_str, required_str, unknown_fields

__all__ = ["Milestone", "ModelError", "milestone_status"]


@dataclass(eq=False, repr=False)
class Milestone:
    slug: str
    title: str
    description: str | None = None
    vision: str | None = None
    features: list[str] = field(default_factory=list)
    created_at: str = ""
    updated_at: str = ""
    released_at: str | None = None
    skipped_at: str | None = None
    extra: Data = field(default_factory=dict)

    FIELDS = (
        "slug",
        "title",
        "description",
        "vision",
        "features",
        "status",
        "created_at",
        "updated_at",
        "completed_at",
        "cancelled_at",
        "released_at",
        "skipped_at",
    )

    @classmethod
    def from_dict(cls, raw: Any) -> Milestone:
        data = as_map(raw, "milestone manifest")
        return cls(
            slug=required_str(data, "slug"),
            title=optional_str(data, "title") or "",
            description=optional_str(data, "description"),
            vision=optional_str(data, "vision"),
            features=[str(f) for f in as_list(data, "features")],
            created_at=optional_str(data, "created_at") or "",
            updated_at=optional_str(data, "updated_at") or "",
            released_at=optional_str(data, "released_at") or optional_str(data, "completed_at"),
            skipped_at=optional_str(data, "skipped_at") or optional_str(data, "cancelled_at"),
            extra=unknown_fields(data, cls.FIELDS),
        )

    def to_dict(self) -> Data:
        """The reference's shape (status, completed_at, cancelled_at) plus our `vision`."""
        reference_status = "cancelled" if self.skipped_at else "complete" if self.released_at else "active"
        data: Data = {
            "slug": self.slug,
            "title": self.title,
            "description": self.description,
            "vision": self.vision,
            "features": self.features,
            "status": reference_status,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "completed_at": self.released_at,
            "cancelled_at": self.skipped_at,
        }
        return {
            **clean(data, keep_none=("description", "completed_at", "cancelled_at")),
            **self.extra,
        }


def milestone_status(milestone: Milestone, phases: dict[str, tuple[str, bool] | None]) -> str:
    """skipped | released | verifying | active, derived (spec §2)."""
    if milestone.skipped_at:
        return "skipped"
    if milestone.released_at:
        return "released"
    members = [phases.get(slug) for slug in milestone.features]
    live = [m for m in members if m is None or not m[1]]
    if milestone.features and all(m is not None and m[0] == "released" for m in live):
        return "verifying"
    return "active"
