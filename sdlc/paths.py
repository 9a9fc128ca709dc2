"""Where a project's files live, and how the root is found (spec/sdlc.md §1, §5)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sdlc.lifecycle import ARTIFACT_FILES
from sdlc.names import check_slug


def find_root(explicit: str | None = None, cwd: Path | None = None) -> Path:
    """--root/SDLC_ROOT; else the nearest ancestor with `.sdlc/`; else with `.git`; else cwd."""
    given = explicit or os.environ.get("SDLC_ROOT")
    if given:
        return Path(given).resolve()
    start = (cwd or Path.cwd()).resolve()
    candidates = [start, *start.parents]
    for marker in (".sdlc", ".git"):
        for directory in candidates:
            target = directory / marker
            if target.is_dir() if marker == ".sdlc" else target.exists():
                return directory
    return start


@dataclass(eq=False, repr=False)
class ProjectPaths:
    root: Path

    @property
    def sdlc(self) -> Path:
        return self.root / ".sdlc"

    @property
    def config(self) -> Path:
        return self.sdlc / "config.yaml"

    @property
    def state(self) -> Path:
        return self.sdlc / "state.yaml"

    @property
    def features(self) -> Path:
        return self.sdlc / "features"

    @property
    def milestones(self) -> Path:
        return self.sdlc / "milestones"

    @property
    def events(self) -> Path:
        return self.sdlc / "events.jsonl"

    @property
    def lock(self) -> Path:
        return self.sdlc / ".lock"

    @property
    def journal(self) -> Path:
        return self.sdlc / ".journal"

    @property
    def cache(self) -> Path:
        return self.sdlc / ".cache"

    def feature_dir(self, slug: str) -> Path:
        return self.features / check_slug(slug)

    def manifest(self, slug: str) -> Path:
        return self.feature_dir(slug) / "manifest.yaml"

    def artifact_file(self, slug: str, artifact_type: str) -> Path:
        return self.feature_dir(slug) / ARTIFACT_FILES[artifact_type]

    def milestone_manifest(self, slug: str) -> Path:
        return self.milestones / check_slug(slug) / "manifest.yaml"

    def relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)
