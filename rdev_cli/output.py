"""What `rdev` writes (spec/rdev-cli.md "Output"): data on stdout in the chosen mode (a table
on a terminal, tab-separated text when piped, json/yaml/jsonl/name on request), everything for
people (hints, warnings, errors) on stderr."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MODES = ("table", "wide", "json", "yaml", "jsonl", "name")


@dataclass
class Options:
    """Global options, set once by the entry point before a command runs."""

    output: str | None = None  # None: table on a terminal, tsv otherwise
    quiet: bool = False
    debug: bool = False
    no_color: bool = False


OPTIONS = Options()


STRUCTURED = ("json", "yaml", "jsonl")


def structured() -> bool:
    """A program reads the output: json, yaml or jsonl was asked for."""
    return OPTIONS.output in STRUCTURED


def table_mode() -> bool:
    """A person reads the output: a table was asked for, or stdout is a terminal."""
    if OPTIONS.quiet:
        return False
    return OPTIONS.output in ("table", "wide") or (OPTIONS.output is None and sys.stdout.isatty())


def color_enabled() -> bool:
    if OPTIONS.no_color or os.environ.get("NO_COLOR"):
        return False
    return bool(os.environ.get("FORCE_COLOR")) or sys.stdout.isatty()


def write(text: str) -> None:
    """Write to stdout now; a reader that went away (`| head`) ends the output quietly."""
    try:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def info(message: str) -> None:
    """A line for people: stderr, never mixed with data."""
    sys.stderr.write(message.rstrip("\n") + "\n")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(map(_cell, value))
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value).replace("\t", " ").replace("\n", " ")


def _table(rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, header_style="bold" if color_enabled() else "", pad_edge=False)
    for column in columns:
        table.add_column(column.upper(), overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    Console(no_color=not color_enabled(), highlight=False, soft_wrap=False).print(table)


def emit(data: Any, columns: Sequence[str], *, wide: Sequence[str] = (), name_key: str = "name") -> None:
    """Print `data` (one object or a list of objects) in the chosen output mode. `columns`
    are the table's; `wide` adds more for `-o wide`."""
    rows = data if isinstance(data, list) else [data]
    mode = OPTIONS.output
    if OPTIONS.quiet or mode == "name":
        for row in rows:
            write(_cell(row.get(name_key)))
        return
    if mode == "json":
        write(json.dumps(data, ensure_ascii=False, indent=2))
    elif mode == "jsonl":
        for row in rows:
            write(json.dumps(row, ensure_ascii=False))
    elif mode == "yaml":
        import yaml

        write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    elif mode in ("table", "wide") or (mode is None and sys.stdout.isatty()):
        if rows:
            _table(rows, [*columns, *wide] if mode == "wide" else columns)
    else:  # piped: tab-separated, full values, no header
        for row in rows:
            write("\t".join(_cell(row.get(c)) for c in columns))


def emit_secret(data: dict[str, Any], secret_field: str, columns: Sequence[str]) -> None:
    """A secret shown once: the whole object in json/yaml/jsonl, the id with -q/-o name,
    otherwise the secret alone on stdout (for `$(...)`)."""
    if OPTIONS.quiet or OPTIONS.output in (*STRUCTURED, "name"):
        emit(data, columns, name_key="id")
    else:
        write(str(data[secret_field]))
