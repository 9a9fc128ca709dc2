"""Generate what is derived from the command trees of `rdev` and `sdlc`: the completion scripts
in completions/ and the references docs/cli/rdev.md and docs/cli/sdlc.md (every command with
its usage, arguments, options and help). A test regenerates them and fails when the committed
ones are stale.

    python -m rdev_cli.gen_docs [--root DIR] [--check]
"""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PROGRAMS = ("rdev", "sdlc")
COMPLETION_FILES = {"bash": "{prog}.bash", "zsh": "_{prog}", "fish": "{prog}.fish"}
REPO = Path(__file__).resolve().parent.parent


def command_tree(prog: str) -> Any:
    """The full click command of `prog` (every group loaded)."""
    import typer.main

    if prog == "rdev":
        from rdev_cli.main import build_app as build_rdev

        return typer.main.get_command(build_rdev(None, everything=True))
    from sdlc.cli.main import build_app as build_sdlc

    return typer.main.get_command(build_sdlc(None))


def _commands(command: Any, ctx: Any, aliases: list[str]) -> Iterator[tuple[Any, Any, list[str]]]:
    """(command, context, aliases) of `command` and every visible subcommand, depth first; a
    hidden subcommand with the function of a visible one is its alias (ls, rm)."""
    yield command, ctx, aliases
    subcommands = getattr(command, "commands", {})
    by_function: dict[int, list[str]] = {}
    for name, sub in subcommands.items():
        if sub.hidden and sub.callback is not None:
            by_function.setdefault(id(inspect.unwrap(sub.callback)), []).append(name)
    for name, sub in subcommands.items():
        if sub.hidden:
            continue
        own = by_function.get(id(inspect.unwrap(sub.callback)), []) if sub.callback is not None else []
        yield from _commands(sub, sub.context_class(sub, info_name=name, parent=ctx), own)


def _text(value: str | None) -> str:
    return inspect.cleandoc(value or "").replace("\b\n", "").strip()


def _metavar(param: Any) -> str:
    """What a value looks like: the choices, else the type's name in click's words."""
    if param.metavar:
        return str(param.metavar)
    choices = getattr(param.type, "choices", None)
    if choices:
        return "[" + "|".join(str(getattr(c, "value", c)) for c in choices) + "]"
    name = str(param.type.name).upper().removesuffix(" RANGE")
    return {"STR": "TEXT", "INT": "INTEGER", "BOOL": "BOOLEAN"}.get(name, name)


def _usage(command: Any, ctx: Any) -> str:
    """The usage line: options, then the arguments (optional in brackets, repeatable with ...)."""
    pieces = [ctx.command_path, "[OPTIONS]"]
    for param in command.get_params(ctx):
        if param.param_type_name != "argument":
            continue
        piece = param.name.upper() + ("..." if param.nargs == -1 else "")
        pieces.append(piece if param.required else f"[{piece}]")
    if getattr(command, "commands", None):
        pieces.append("COMMAND [ARGS]...")
    return " ".join(pieces)


def _param(param: Any) -> str:
    """One bullet: the names, the value's shape, the help, and what is required or repeatable."""
    if param.param_type_name == "argument":
        names = f"`{param.name.upper()}`"
    else:
        names = ", ".join(f"`{opt}`" for opt in [*param.opts, *param.secondary_opts])
        if not param.is_flag:
            names += f" {_metavar(param)}"
    extras = []
    if param.required:
        extras.append("required")
    if param.multiple or getattr(param, "nargs", 1) == -1:
        extras.append("repeatable")
    default = param.default
    shown = param.param_type_name == "option" and not param.is_flag and param.show_default is not False
    if shown and default not in (None, (), [], ""):
        extras.append(f"default: {default}")
    help_text = " ".join(_text(getattr(param, "help", None)).split())
    suffix = f" ({'; '.join(extras)})" if extras else ""
    return f"- {names}: {help_text}{suffix}".rstrip(": ")


def reference(prog: str, root: Any) -> str:
    """The Markdown reference of the command tree `root`."""
    root_ctx = root.context_class(root, info_name=prog)
    found = list(_commands(root, root_ctx, []))
    lines = [
        f"# `{prog}` command reference",
        "",
        f"Generated from the command tree by `python -m rdev_cli.gen_docs`; do not edit. `{prog} COMMAND "
        "--help` prints the same.",
        "",
    ]
    lines += [f"- [`{ctx.command_path}`](#{ctx.command_path.replace(' ', '-')})" for _, ctx, _ in found]
    for command, ctx, aliases in found:
        lines += [
            "",
            f'<a id="{ctx.command_path.replace(" ", "-")}"></a>',
            "",
            f"## `{ctx.command_path}`",
            "",
        ]
        if _text(command.help):
            lines += [_text(command.help), ""]
        lines += ["```", _usage(command, ctx), "```"]
        if aliases:
            lines += ["", "Aliases: " + ", ".join(f"`{a}`" for a in sorted(aliases))]
        subcommands = [n for n, c in getattr(command, "commands", {}).items() if not c.hidden]
        if subcommands:
            lines += ["", "Commands: " + ", ".join(f"`{n}`" for n in subcommands)]
        params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
        arguments = [_param(p) for p in params if p.param_type_name == "argument"]
        options = [_param(p) for p in params if p.param_type_name == "option"]
        for title, bullets in (("Arguments", arguments), ("Options", options)):
            if bullets:
                lines += ["", f"{title}:", "", *bullets]
        if command.epilog:
            lines += ["", _text(command.epilog)]
    return "\n".join(lines) + "\n"


def generated() -> dict[str, str]:
    """Every generated file: its path under the repository root, and its text."""
    from sdlc.cli.shell_completion import script

    files: dict[str, str] = {}
    for prog in PROGRAMS:
        for shell, pattern in COMPLETION_FILES.items():
            files[f"completions/{pattern.format(prog=prog)}"] = script(prog, shell)
        files[f"docs/cli/{prog}.md"] = reference(prog, command_tree(prog))
    return files


def stale(root: Path) -> list[str]:
    """The generated files under `root` that are missing or differ from a fresh generation."""
    return [
        name
        for name, text in generated().items()
        if not (root / name).is_file() or (root / name).read_text(encoding="utf-8") != text
    ]


def write(root: Path) -> list[Path]:
    written = []
    for name, text in generated().items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rdev_cli.gen_docs", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root", type=Path, default=REPO, help="Write under this directory (default: the repo)."
    )
    parser.add_argument("--check", action="store_true", help="Write nothing; exit 1 when a file is stale.")
    options = parser.parse_args(argv)
    if options.check:
        outdated = stale(options.root)
        for name in outdated:
            sys.stderr.write(f"stale: {name}\n")
        if outdated:
            sys.stderr.write("regenerate: python -m rdev_cli.gen_docs\n")
        return 1 if outdated else 0
    for path in write(options.root):
        sys.stderr.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
