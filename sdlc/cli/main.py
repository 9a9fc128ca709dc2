"""Entry point of `sdlc`. `--version` is answered before anything heavy is imported, and
only the invoked command group is loaded (spec/sdlc.md §11)."""

from __future__ import annotations

import os
import sys
from typing import Any

# first word → module holding its typer app (a group) or its command (top-level verbs)
GROUPS = {
    "feature": "sdlc.cli.feature",
    "artifact": "sdlc.cli.artifact",
    "task": "sdlc.cli.task",
    "comment": "sdlc.cli.comment",
    "milestone": "sdlc.cli.milestone",
    "score": "sdlc.cli.score",
    "query": "sdlc.cli.query",
    "project": "sdlc.cli.project",
    "gate": "sdlc.cli.gate",
    "commands": "sdlc.cli.commands",
    "platform": "sdlc.cli.platform",
    "config": "sdlc.cli.config",
    "callbacks": "sdlc.cli.callbacks",
}
# top-level verbs living in their own module (a function named `command`)
TOP_MODULES = {"run": "sdlc.cli.run"}
TOP_LEVEL = "sdlc.cli.top"
TOP_COMMANDS = ("init", "state", "next", "focus", "history", "merge", "archive", "doctor", *TOP_MODULES)
USAGE_MARKERS = {
    "MissingParameter": "missing required argument",
    "BadParameter": "invalid value",
    "BadOptionUsage": "invalid value",
    "NoSuchOption": "invalid value",
    "NoSuchCommand": "unknown subcommand",
}


def _split_global(args: list[str]) -> tuple[list[str], bool, str | None]:
    """Take --json/-j and --root PATH out wherever they stand (before `--`): both are global
    and may come before or after the subcommand."""
    out: list[str] = []
    json_mode, root = False, None
    rest = iter(enumerate(args))
    for position, arg in rest:
        if arg == "--":
            out.extend(args[position:])
            break
        if arg in ("--json", "-j"):
            json_mode = True
        elif arg.startswith("--root="):
            root = arg.split("=", 1)[1]
        elif arg == "--root" and position + 1 < len(args):
            root = next(rest)[1]
        else:
            out.append(arg)
    return out, json_mode, root


def _words(args: list[str]) -> tuple[str | None, str | None]:
    """The command and subcommand named in `args` (None where absent)."""
    words: list[str | None] = [arg for arg in args if not arg.startswith("-")]
    words += [None, None]
    return words[0], words[1]


def _only(group: Any, name: str | None) -> Any:
    """`group` with just the subcommand `name`, when it has one: turning every command of a
    group into a click command costs more than running the one asked for."""
    import typer

    chosen = [c for c in group.registered_commands if c.name == name]
    if not chosen:
        return group
    narrowed = typer.Typer()
    narrowed.registered_commands = chosen
    return narrowed


def build_app(word: str | None, subword: str | None = None) -> Any:
    """A typer app holding only what `word subword` needs (everything when `word` is not a
    command, so that help and errors list them all)."""
    import importlib

    import typer

    from sdlc.cli import top

    app = typer.Typer(
        name="sdlc",
        help="The feature lifecycle engine: state, classifier, artifacts, tasks, comments.",
        pretty_exceptions_enable=False,
        add_completion=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(top.root_options)
    selected = [word] if word in GROUPS or word in TOP_COMMANDS else [*TOP_COMMANDS, *GROUPS]
    for name in selected:
        if name in GROUPS:
            module = importlib.import_module(GROUPS[name])
            app.add_typer(_only(module.app, subword), name=name, help=module.HELP)
        elif name in TOP_MODULES:
            app.command(name)(importlib.import_module(TOP_MODULES[name]).command)
        else:
            top.register(app, name)
    return app


def _usage_error(err: BaseException) -> tuple[str, str, str]:
    """(code, message, hint) for a command-line parsing error."""
    message = err.format_message() if hasattr(err, "format_message") else str(err)
    kind = type(err).__name__
    marker = USAGE_MARKERS.get(kind, "")
    if message.startswith("No such command"):
        marker = "unknown subcommand"
    elif message.startswith("Missing command"):
        marker, message = "missing required argument", "a subcommand is required"
    ctx = getattr(err, "ctx", None)
    path = getattr(ctx, "command_path", None) or "sdlc"
    code = "invalid_value" if marker == "invalid value" else "usage_error"
    return code, f"{marker}: {message}" if marker else message, f"see `{path} --help`"


def _report(code: str, message: str, hint: str | None, exit_code: int, json_mode: bool) -> int:
    from sdlc.cli.output import write

    if json_mode:
        import json

        write(json.dumps({"error": {"code": code, "message": message, "hint": hint}}, ensure_ascii=False))
    else:
        sys.stderr.write(f"error: {message}\n")
        if hint:
            sys.stderr.write(f"hint: {hint}\n")
    return exit_code


def _completion_command(typed: list[str]) -> tuple[Any, list[str]]:
    """The command that knows the words a completion script sent, and those words without the
    global options."""
    import typer.main

    words = _split_global(typed)[0]
    return typer.main.get_command(build_app(*_words(words))), words


def run(argv: list[str]) -> int:
    if os.environ.get("_SDLC_COMPLETE"):  # a completion script asking (completions/)
        from sdlc.cli.shell_completion import answer

        return answer("sdlc", os.environ["_SDLC_COMPLETE"], _completion_command)
    args, json_mode, root = _split_global(argv)
    if args in (["--version"], ["-V"]):
        from sdlc._version import __version__

        sys.stdout.write(f"sdlc {__version__}\n")
        return 0
    from sdlc.cli.output import OPTIONS
    from sdlc.errors import SdlcError

    OPTIONS.json, OPTIONS.root = json_mode, root
    try:
        command = build_app(*_words(args))
        import typer.main

        result = typer.main.get_command(command).main(args, prog_name="sdlc", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except SdlcError as err:
        if os.environ.get("SDLC_DEBUG") == "1":
            import traceback

            traceback.print_exc()
        return _report(err.code, err.full_message(), err.hint, err.exit_code, json_mode)
    except KeyboardInterrupt:
        return 130
    except Exception as err:
        if hasattr(err, "exit_code") and hasattr(err, "format_message"):
            return _report(*_usage_error(err), 2, json_mode)
        if type(err).__name__ == "Abort":
            return 1
        if os.environ.get("SDLC_DEBUG") == "1":
            raise
        return _report(
            "internal",
            f"unexpected {type(err).__name__}: {err}",
            "rerun with SDLC_DEBUG=1",
            1,
            json_mode,
        )


def main() -> None:
    code = run(sys.argv[1:])
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        from sdlc.cli.output import silence_stdout

        silence_stdout()
    sys.stderr.flush()
    # Every file is closed and every lock released by now: skip the interpreter's teardown of
    # the modules, which costs 30-40 ms on every call (spec/sdlc.md §11).
    os._exit(code)
