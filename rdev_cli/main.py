"""Entry point of `rdev`. `--version` is answered before anything heavy is imported, and only
the invoked command group is loaded (spec/rdev-cli.md "Startup")."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

from rdev_cli.errors import EXIT_CODES_HELP, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, CliError

# first word → (module, one-line help). Group modules have `app`; modules of top-level
# commands have `COMMANDS` {word: function}. Only the invoked word's module is imported.
GROUPS: dict[str, tuple[str, str]] = {
    "auth": ("rdev_cli.auth", "Log in and out: save a checked API key in the profile."),
    "config": ("rdev_cli.config_cmd", "Show and change settings and profiles."),
    "health": ("rdev_cli.system", "The API's health."),
    "version": ("rdev_cli.system", "Client and server versions."),
    "projects": ("rdev_cli.projects", "Projects: list, get, create, delete, credentials."),
    "exec": ("rdev_cli.run", "Run a shell command in a project; exits with its exit code."),
    "git": ("rdev_cli.run", "Run an allowlisted git subcommand in a project."),
    "agent": ("rdev_cli.run", "Run a coding agent (claude, opencode) in a project."),
    "claude": ("rdev_cli.run", "Same as `rdev agent --provider claude`."),
    "commands": ("rdev_cli.commands", "Commands: list, get, logs, cancel, wait."),
    "features": ("rdev_cli.features", "A project's sdlc features: list, get, next, create, run, approve."),
    "work": ("rdev_cli.work", "The work queue: submit, list, get, cancel, retry, stats, wait."),
    "workers": ("rdev_cli.workers", "Workers of the queue: list, get, drain, remove."),
    "worker": ("rdev_cli.worker", "Run work items of the API's queue on this machine (rdev worker run)."),
    "keys": ("rdev_cli.keys", "API keys: list, create, get, revoke, rotate."),
    "credentials": ("rdev_cli.credentials", "Credentials: list, set, delete, reveal."),
    "webhooks": ("rdev_cli.webhooks", "Webhooks: list, create, get, update, delete, test, deliveries."),
    "templates": ("rdev_cli.templates", "Project templates: list, show, render, compose, update, check."),
    "audit": ("rdev_cli.audit", "The audit log."),
    "api": ("rdev_cli.api_cmd", "Call any API path: rdev api PATH [-X METHOD] [-f k=v]."),
    "completion": ("rdev_cli.completion", "Shell completion: install or show (bash, zsh, fish)."),
    "server": (
        "rdev_cli.server",
        "Run the rdev API locally: start, status, stop, admin-key, rotate-master-key.",
    ),
}
CLI_EXTRA = frozenset({"httpx", "httpx_sse", "platformdirs"})  # what `pip install 'rdev[cli]'` adds
VALUE_OPTIONS = {"-o": "output", "--output": "output", "--profile": "profile", "--api-url": "api_url"}


def _split_global(args: list[str]) -> tuple[list[str], dict[str, Any]]:
    """Take the global options out wherever they stand (before `--`)."""
    out: list[str] = []
    found: dict[str, Any] = {}
    position = 0
    while position < len(args):
        arg = args[position]
        name, has_value, value = arg.partition("=")
        if arg == "--":
            out.extend(args[position:])
            break
        if name in VALUE_OPTIONS:
            if not has_value:
                if position + 1 >= len(args):
                    raise CliError(f"{name} needs a value", hint="see `rdev --help`", exit_code=EXIT_USAGE)
                position += 1
                value = args[position]
            found[VALUE_OPTIONS[name]] = value
        elif arg == "--json":
            found["output"] = "json"
        elif arg in ("-q", "--quiet"):
            found["quiet"] = True
        elif arg == "--debug":
            found["debug"] = True
        elif arg == "--no-color":
            found["no_color"] = True
        else:
            out.append(arg)
        position += 1
    return out, found


def _configure(found: dict[str, Any]) -> None:
    from rdev_cli.output import MODES, OPTIONS

    output = found.get("output")
    if output is not None and output not in MODES:
        raise CliError(
            f"invalid output mode {output!r}", hint=f"use one of: {', '.join(MODES)}", exit_code=EXIT_USAGE
        )
    OPTIONS.output = output
    OPTIONS.quiet = bool(found.get("quiet"))
    OPTIONS.debug = bool(found.get("debug")) or os.environ.get("RDEV_DEBUG") == "1"
    OPTIONS.no_color = bool(found.get("no_color"))
    from rdev_cli.settings import OVERRIDES

    OVERRIDES.profile = found.get("profile")
    OVERRIDES.api_url = found.get("api_url")


def build_app(word: str | None, everything: bool = False) -> Any:
    """The typer app with `word`'s group loaded; with no word, every group by name and help
    only (what `rdev --help` and completion of the first word need), or, with `everything`,
    every group loaded (the contract test, the reference docs)."""
    import importlib

    import typer

    app = typer.Typer(
        name="rdev",
        help="rdev: dispatch coding agents into project environments, follow their output, run work.",
        epilog=EXIT_CODES_HELP,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,  # plain help, like gh and kubectl: greppable, and twice as fast
        add_completion=False,
        no_args_is_help=True,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def root(
        version: bool = typer.Option(False, "--version", "-V", help="Print the version and exit."),
        output: str = typer.Option(None, "-o", "--output", help="table|wide|json|yaml|jsonl|name"),
        json_output: bool = typer.Option(False, "--json", help="Same as -o json."),
        quiet: bool = typer.Option(False, "-q", "--quiet", help="Print ids/names only."),
        debug: bool = typer.Option(False, "--debug", help="Log requests and tracebacks to stderr."),
        no_color: bool = typer.Option(False, "--no-color", help="No colour (also NO_COLOR)."),
        profile: str = typer.Option(None, "--profile", help="Use this profile (also RDEV_PROFILE)."),
        api_url: str = typer.Option(None, "--api-url", help="The API's URL (also RDEV_API_URL)."),
    ) -> None:
        """Global options may stand anywhere on the command line."""

    for name, (module_name, short_help) in GROUPS.items():
        if name != word and not everything:
            app.add_typer(typer.Typer(), name=name, help=short_help)  # listed, not loaded
            continue
        module = importlib.import_module(module_name)
        commands = getattr(module, "COMMANDS", {})
        if name in commands:
            function = commands[name]
            settings = getattr(function, "context_settings", None)
            app.command(name, short_help=short_help, context_settings=settings)(function)
        else:
            app.add_typer(module.app, name=name, help=short_help)
    return app


def _report(err: CliError) -> int:
    sys.stderr.write(f"Error: {err.message}\n")
    for detail in err.details:
        sys.stderr.write(f"  - {detail}\n")
    if err.hint:
        sys.stderr.write(f"Hint: {err.hint}\n")
    request_id = getattr(err, "request_id", None)
    if request_id:
        sys.stderr.write(f"Request ID: {request_id}\n")
    return err.exit_code


def run(argv: list[str]) -> int:
    if os.environ.get("_RDEV_COMPLETE"):  # a completion script asking (rdev completion)
        from rdev_cli.completion import answer

        return answer(os.environ["_RDEV_COMPLETE"])
    if argv in (["--version"], ["-V"]):
        from sdlc._version import __version__

        sys.stdout.write(f"rdev {__version__}\n")
        return 0
    try:
        args, found = _split_global(argv)
        _configure(found)
        word = next((a for a in args if not a.startswith("-")), None)
        if word is not None and word not in GROUPS and word != "help":
            raise CliError(
                f"unknown command '{word}'",
                hint=f"commands: {', '.join(GROUPS)}; see `rdev --help`",
                exit_code=EXIT_USAGE,
            )
        import typer.main

        command = typer.main.get_command(build_app(word))
        result = command.main(args, prog_name="rdev", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except CliError as err:
        if _debug():
            import traceback

            traceback.print_exc()
        return _report(err)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except ModuleNotFoundError as err:
        if err.name in CLI_EXTRA:
            return _report(
                CliError(
                    f"this command needs the cli extra ({err.name} is missing)",
                    hint="pip install 'rdev[cli]'",
                )
            )
        return _unexpected(err)
    except Exception as err:
        return _unexpected(err)


def _debug() -> bool:
    from rdev_cli.output import OPTIONS

    return OPTIONS.debug


def _unexpected(err: Exception) -> int:
    """click's own exceptions (usage errors, Exit, Abort) and anything else."""
    kind = type(err).__name__
    if kind == "Exit":
        return int(getattr(err, "exit_code", 0))
    if kind == "Abort":
        sys.stderr.write("aborted\n")
        return EXIT_ERROR
    if hasattr(err, "exit_code") and hasattr(err, "format_message"):
        ctx = getattr(err, "ctx", None)
        path = getattr(ctx, "command_path", None) or "rdev"
        return _report(CliError(err.format_message(), hint=f"see `{path} --help`", exit_code=EXIT_USAGE))
    if _debug():
        import traceback

        traceback.print_exception(err)  # the frames only: never the locals (keys, values)
        return _report(CliError(f"unexpected {kind}: {err}"))
    return _report(CliError(f"unexpected {kind}: {err}", hint="rerun with --debug for the traceback"))


def main() -> None:
    code = run(sys.argv[1:])
    with contextlib.suppress(BrokenPipeError):
        sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
