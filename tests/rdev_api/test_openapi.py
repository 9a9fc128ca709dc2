"""docs/openapi.json is the app's document, and every operation documents its errors."""

from __future__ import annotations

import json

from rdev_api.openapi import OUT, document, rendered

OPEN = {"/health", "/version"}
# Signed by the project's callback token instead of a key (X-Rdev-Signature): 401, no X-API-Key.
SIGNED = {"/projects/{project_id}/sdlc/events"}


def test_committed_openapi_matches_the_app() -> None:
    assert OUT.read_text(encoding="utf-8") == rendered(), (
        "run `python -m rdev_api.openapi` and commit docs/openapi.json"
    )


def test_every_keyed_operation_documents_its_errors() -> None:
    spec = document()
    missing = []
    for path, operations in spec["paths"].items():
        if path in SIGNED:
            continue
        for method, operation in operations.items():
            codes = set(operation.get("responses", {}))
            if path not in OPEN and not {"401", "403", "429"} <= codes:
                missing.append(f"{method.upper()} {path}: {sorted(codes)}")
            if path not in OPEN and operation.get("security") != [{"APIKeyHeader": []}]:
                missing.append(f"{method.upper()} {path}: no X-API-Key security")
    assert not missing, "\n".join(missing)
    assert json.loads(OUT.read_text())["info"]["title"] == "rdev API"
