"""Every operation of docs/openapi.json is reachable from a named `rdev` command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer.main

from rdev_cli.contract import ROUTES
from rdev_cli.main import build_app

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def _operations() -> set[tuple[str, str]]:
    document = json.loads(OPENAPI.read_text(encoding="utf-8"))
    return {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}


def _resolve(root: Any, words: list[str]) -> Any:
    """The click command `words` name (typer vendors click: duck-typed)."""
    command = root
    for word in words:
        if word.startswith("-"):
            assert command is not None
            assert any(word in p.opts for p in command.params), f"{word} is not an option of {command.name}"
            continue
        if not hasattr(command, "commands"):
            return None
        command = command.commands.get(word)
        if command is None:
            return None
    return command


def test_every_api_operation_has_a_command() -> None:
    missing = sorted(_operations() - set(ROUTES))
    assert not missing, (
        "operations without an rdev command (add them to rdev_cli/contract.py):\n"
        + "\n".join(f"  {m} {p}" for m, p in missing)
    )
    stale = sorted(set(ROUTES) - _operations())
    assert not stale, f"rdev_cli/contract.py names operations the API no longer has: {stale}"


def test_every_named_command_exists() -> None:
    root = typer.main.get_command(build_app(None, everything=True))
    unknown = [
        f"{route}: {named}" for route, named in ROUTES.items() if _resolve(root, named.split()[1:]) is None
    ]
    assert not unknown, "commands named in rdev_cli/contract.py that rdev does not have:\n" + "\n".join(
        unknown
    )
