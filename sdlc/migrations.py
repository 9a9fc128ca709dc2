"""schema_version migrations, applied on load; written back only by a mutating command."""

from __future__ import annotations

from typing import Any

from sdlc.model import SCHEMA_VERSION


def _from_reference(data: dict[str, Any]) -> dict[str, Any]:
    """Version 0 (the reference release, no schema_version) → 1."""
    data = dict(data)
    data.setdefault("revision", 0)
    for artifact in data.get("artifacts") or []:
        if isinstance(artifact, dict) and artifact.get("artifact_type") in (
            "qa-plan",
            "qa-results",
        ):
            artifact["artifact_type"] = artifact["artifact_type"].replace("-", "_")
    data["schema_version"] = 1
    return data


_STEPS = {0: _from_reference}


def migrate_feature(data: dict[str, Any]) -> dict[str, Any]:
    """Bring a manifest mapping up to SCHEMA_VERSION; unknown newer versions are refused."""
    version = data.get("schema_version", 0)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ValueError(
            f"schema_version {version!r} is newer than this sdlc understands ({SCHEMA_VERSION}); upgrade sdlc"
        )
    while version < SCHEMA_VERSION:
        data = _STEPS[version](data)
        version = data["schema_version"]
    return data
