"""`python -m rdev_api.openapi`: write the app's OpenAPI document to docs/openapi.json (the
committed contract; tests/rdev_api/test_openapi.py fails when it drifts)."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"


def document() -> dict[str, Any]:
    from rdev_api.app import build_services, create_app

    with tempfile.TemporaryDirectory() as scratch:
        services = build_services(Path(scratch))
        try:
            spec: dict[str, Any] = create_app(services).openapi()
        finally:
            services.db.close()
    return spec


def rendered() -> str:
    return json.dumps(document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> int:
    text = rendered()
    if not OUT.is_file() or OUT.read_text(encoding="utf-8") != text:
        OUT.write_text(text, encoding="utf-8")
        sys.stdout.write(f"wrote {OUT}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
