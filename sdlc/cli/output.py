"""Everything the CLI writes: one JSON document in JSON mode, plain text otherwise,
warnings and errors on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any


class Options:
    """Global options, set once by the entry point before a command runs."""

    def __init__(self) -> None:
        self.json = False
        self.root: str | None = None


OPTIONS = Options()


def store() -> Any:
    """The Store of the project this invocation works on."""
    from sdlc.paths import find_root
    from sdlc.store import Store

    return Store(find_root(OPTIONS.root))


def init_root() -> Path:
    """`init` uses the current directory unless --root/SDLC_ROOT is given."""
    import os

    given = OPTIONS.root or os.environ.get("SDLC_ROOT")
    return Path(given) if given else Path.cwd()


def actor(by: str | None = None) -> str:
    from sdlc.actor import resolve_actor

    return resolve_actor(by)


def write(text: str) -> None:
    """Write to stdout now. A reader that went away (`sdlc ... | head`) is not an error of
    ours: the rest of the output is dropped quietly and the exit code stays the command's."""
    try:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()


def silence_stdout() -> None:
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def warn(message: str) -> None:
    sys.stderr.write(f"warning: {message}\n")


def warnings(messages: Iterable[str]) -> None:
    for message in messages:
        warn(message)


def emit(data: Any, text: str | Callable[[Any], str]) -> None:
    """Print `data` as JSON in JSON mode, else the text (or text function of data)."""
    from sdlc.jsontext import JsonList, JsonText

    if OPTIONS.json:
        if isinstance(data, JsonText):
            write(data)
        else:
            write(data.encode() if isinstance(data, JsonList) else json.dumps(data, ensure_ascii=False))
    else:
        if isinstance(data, JsonList | JsonText):
            data = data.decode()
        rendered = text(data) if callable(text) else text
        if rendered:
            write(rendered)


def hops_line(result: dict[str, Any]) -> str:
    hops = result.get("transitioned") or []
    return f"\ntransitioned: [{', '.join(hops)}]" if hops else ""


def table(rows: Sequence[Sequence[Any]], header: Sequence[str] | None = None) -> str:
    """Left-aligned columns separated by two spaces."""
    all_rows = [list(map(_cell, r)) for r in ([header] if header else []) + list(rows)]
    if not all_rows:
        return ""
    widths = [max(len(r[i]) for r in all_rows) for i in range(len(all_rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in all_rows
    )


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "-"
    return str(value)


def classification_text(c: dict[str, Any]) -> str:
    lines = [f"{c['feature']} ({c['current_phase']}): {c['action']}", f"  {c['message']}"]
    if c["next_command"]:
        lines.append(f"  next: {c['next_command']}")
    if c.get("output_path"):
        lines.append(f"  output: {c['output_path']}")
    return "\n".join(lines)
