from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    """A private copy of the fixture templates (tests may edit them)."""
    target = tmp_path / "templates"
    shutil.copytree(FIXTURES, target, symlinks=True)
    return target
