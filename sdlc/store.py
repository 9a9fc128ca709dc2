"""Reading a project's files: config, feature and milestone manifests, state.yaml.

Read paths take no lock and write nothing; writes go through `sdlc.transaction`. YAML, the
model and the classifier are imported where first needed: listings served from the cache
need none of them (spec/sdlc.md §11)."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdlc.errors import (
    ConfigInvalid,
    CorruptFile,
    FeatureNotFound,
    MilestoneNotFound,
    NotInitialized,
    SdlcError,
)
from sdlc.lifecycle import ARTIFACT_FILES, SATISFIED_STATUSES
from sdlc.names import check_slug, is_slug
from sdlc.paths import ProjectPaths

if TYPE_CHECKING:
    from sdlc.config import Config
    from sdlc.criteria import DependencyStates, FileHashes
    from sdlc.milestones import Milestone
    from sdlc.model import Feature

MANIFEST = "manifest.yaml"


def sha256_file(path: Path) -> str | None:
    import hashlib  # loading OpenSSL costs ~5 ms: only when a file is hashed

    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except (FileNotFoundError, NotADirectoryError):
        return None


def needs_hash(feature: Feature, artifact_type: str) -> bool:
    art = feature.artifact(artifact_type)
    return bool(art.content_sha256) and art.status in SATISFIED_STATUSES


class Store:
    """One project's `.sdlc/` directory."""

    def __init__(self, root: Path) -> None:
        self.paths = ProjectPaths(root)

    @property
    def root(self) -> Path:
        return self.paths.root

    def initialized(self) -> bool:
        return self.paths.sdlc.is_dir()

    def require_initialized(self) -> None:
        if not self.initialized():
            raise NotInitialized(
                f"not an sdlc project: {self.root} has no .sdlc/ directory",
                hint="run `sdlc init` in the project root, or pass --root",
            )

    def _load_yaml(self, path: Path) -> Any:
        from sdlc import yamlio

        try:
            text = path.read_bytes()
        except FileNotFoundError:
            raise
        except OSError as err:
            raise CorruptFile(f"corrupt file {self.paths.relative(path)}") from err
        try:
            return yamlio.loads(text)
        except yamlio.yaml_error() as err:
            raise CorruptFile(
                f"corrupt file {self.paths.relative(path)}: {yamlio.describe_error(err)}"
            ) from None

    @cached_property
    def config(self) -> Config:
        """The parsed config; the file's mapping is cached by its stat (no YAML on a hit)."""
        from sdlc.config import parse_config

        try:
            data = self._config_data()
        except CorruptFile as err:
            raise ConfigInvalid(err.message, hint="fix .sdlc/config.yaml; see `sdlc doctor`") from None
        return parse_config(data or {}, default_name=self.root.name)

    def _config_data(self) -> Any:
        from sdlc.statcache import cached_by_stat

        def parse() -> Any:
            try:
                return self._load_yaml(self.paths.config)
            except FileNotFoundError:
                return {}

        return cached_by_stat(self.paths.config, self.paths.cache / "config.json", parse)

    def config_signature(self) -> list[int]:
        from sdlc.statcache import stat_key

        return stat_key(self.paths.config) or [0, 0]

    # -- features ----------------------------------------------------------------------

    def feature_slugs(self) -> list[str]:
        """Slugs of every directory under features/ that holds a manifest."""
        try:
            entries = list(os.scandir(self.paths.features))
        except FileNotFoundError:
            return []
        slugs = [e.name for e in entries if is_slug(e.name) and e.is_dir()]
        return sorted(s for s in slugs if os.path.exists(self.paths.features / s / MANIFEST))

    def feature_exists(self, slug: str) -> bool:
        return self.paths.manifest(slug).exists()

    def parse_feature(self, slug: str, raw: Any) -> Feature:
        from sdlc.migrations import migrate_feature
        from sdlc.model import ModelError, feature_from_dict

        path = self.paths.manifest(slug)
        try:
            if not isinstance(raw, dict):
                raise ModelError("not a mapping")
            feature = feature_from_dict(migrate_feature(raw))
        except (ModelError, ValueError, TypeError) as err:
            raise CorruptFile(f"corrupt file {self.paths.relative(path)}: {err}") from None
        if feature.slug != slug:
            raise CorruptFile(
                f"corrupt file {self.paths.relative(path)}: slug '{feature.slug}' does not "
                f"match its directory '{slug}'"
            )
        return feature

    def load_feature(self, slug: str) -> Feature:
        """The feature `slug`; FeatureNotFound or CorruptFile (naming the path) otherwise.
        Served from its cache record while the manifest is unchanged (no YAML parsing)."""
        import json

        from sdlc.feature_cache import manifest_key, manifest_record, read_record, write_record

        check_slug(slug)
        self.require_initialized()
        record = read_record(self.paths, slug)
        if record is not None:
            return self.parse_feature(slug, json.loads(record["manifest"]))
        key = manifest_key(self.paths, slug)  # taken before the read: a later write makes it stale
        try:
            raw = self._load_yaml(self.paths.manifest(slug))
        except FileNotFoundError:
            raise FeatureNotFound(
                f"feature '{slug}' not found", hint="list features with `sdlc feature list`"
            ) from None
        feature = self.parse_feature(slug, raw)
        fresh = manifest_record(key, feature.to_dict())
        if fresh is not None:
            write_record(self.paths, slug, fresh)
        return feature

    def file_hashes(self, feature: Feature) -> FileHashes:
        """Per artifact: its file's SHA-256 when an approval hash must be checked, "" when the
        file merely exists, None when it does not."""
        hashes: dict[str, str | None] = {}
        directory = self.paths.feature_dir(feature.slug)
        for kind, name in ARTIFACT_FILES.items():
            path = directory / name
            if needs_hash(feature, kind):
                hashes[kind] = sha256_file(path)
            else:
                hashes[kind] = "" if path.is_file() else None
        return hashes

    def dependency_states(self, feature: Feature) -> DependencyStates:
        states: dict[str, tuple[str, bool] | None] = {}
        for slug in feature.dependencies:
            try:
                dep = self.load_feature(slug)
            except SdlcError:  # missing, corrupt or a hand-edited bad name: absent
                states[slug] = None
            else:
                states[slug] = (dep.phase, dep.archived)
        return states

    def milestone_slugs(self) -> list[str]:
        try:
            entries = list(os.scandir(self.paths.milestones))
        except FileNotFoundError:
            return []
        return sorted(
            e.name
            for e in entries
            if is_slug(e.name) and os.path.exists(self.paths.milestones / e.name / MANIFEST)
        )

    def load_milestone(self, slug: str) -> Milestone:
        check_slug(slug)
        self.require_initialized()
        path = self.paths.milestone_manifest(slug)
        try:
            raw = self._load_yaml(path)
        except FileNotFoundError:
            raise MilestoneNotFound(
                f"milestone '{slug}' not found", hint="list milestones with `sdlc milestone list`"
            ) from None
        from sdlc.milestones import Milestone, ModelError

        try:
            return Milestone.from_dict(raw)
        except (ModelError, ValueError, TypeError) as err:
            raise CorruptFile(f"corrupt file {self.paths.relative(path)}: {err}") from None

    def read_state(self) -> dict[str, Any] | None:
        """state.yaml as a mapping, or None when it is missing or does not parse."""
        try:
            data = self._load_yaml(self.paths.state)
        except (FileNotFoundError, CorruptFile):
            return None
        if not isinstance(data, dict):
            return None
        if "active_work" not in data and "active_directives" in data:
            data["active_work"] = data.pop("active_directives")
        return data
