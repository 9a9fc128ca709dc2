"""Platform commands (`platform.commands` of .sdlc/config.yaml, spec/sdlc.md §6): parse and
check the section, list the commands, check a command line against a command's declared
arguments, and run its script with `sh -c 'SCRIPT "$@"' sh ARGS...` from the project root.

Declared `args` are positional. They are checked on the words before the first option (a
word starting with `-`): from there on the script parses its own command line, so
`logs -f -n 5 api` reaches the script untouched."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdlc.errors import ConfigInvalid, InvalidValue, UsageError

COMMAND_KEYS = ("description", "script", "args", "subcommands")
ARG_KEYS = ("name", "required", "choices")
RESERVED = frozenset({"list"})  # `sdlc platform list` lists the commands
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
NO_COMMANDS = "no platform commands configured"

Report = Callable[[str, str], None]


@dataclass(frozen=True)
class Arg:
    name: str
    required: bool = False
    choices: tuple[str, ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "required": self.required}
        if self.choices is not None:
            data["choices"] = list(self.choices)
        return data


@dataclass(frozen=True)
class PlatformCommand:
    name: str
    description: str = ""
    script: str | None = None
    args: tuple[Arg, ...] = ()
    subcommands: tuple[tuple[str, str], ...] = ()  # (name, script), in file order

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "script": self.script,
            "args": [a.as_dict() for a in self.args],
            "subcommands": [{"name": n, "script": s} for n, s in self.subcommands],
        }


def _key(path: str, key: object) -> str:
    return f"{path}.{key}"


def _unknown(entry: dict[str, Any], path: str, known: tuple[str, ...], report: Report) -> None:
    for key in entry:
        if key not in known:
            report(_key(path, key), f"unknown key (known: {', '.join(known)})")


def _script(value: Any, path: str, report: Report) -> str | None:
    if not isinstance(value, str) or not value.strip():
        report(path, "must be a command line (a non-empty string), relative to the project root")
        return None
    return value


def _arg(entry: Any, path: str, report: Report) -> Arg | None:
    if not isinstance(entry, dict):
        report(path, "must be a mapping {name, required, choices}")
        return None
    _unknown(entry, path, ARG_KEYS, report)
    name, required, choices = entry.get("name"), entry.get("required", False), entry.get("choices")
    ok = True
    if not isinstance(name, str) or not name:
        report(_key(path, "name"), "is required (a string)")
        ok = False
    if not isinstance(required, bool):
        report(_key(path, "required"), f"must be true or false, got {required!r}")
        ok = False
    if choices is not None and (
        not isinstance(choices, list) or not choices or not all(isinstance(c, str) for c in choices)
    ):
        report(_key(path, "choices"), "must be a non-empty list of strings")
        ok = False
    if not ok:
        return None
    return Arg(str(name), bool(required), tuple(choices) if choices is not None else None)


def _args(value: Any, path: str, report: Report) -> tuple[Arg, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        report(path, "must be a list of {name, required, choices}")
        return ()
    args: list[Arg] = []
    for position, entry in enumerate(value):
        arg = _arg(entry, f"{path}[{position}]", report)
        if arg is None:
            continue
        if any(a.name == arg.name for a in args):
            report(f"{path}[{position}].name", f"duplicate argument '{arg.name}'")
        elif arg.required and any(not a.required for a in args):
            report(f"{path}[{position}]", f"required argument '{arg.name}' follows an optional one")
        args.append(arg)
    return tuple(args)


def _subcommands(value: Any, path: str, report: Report) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        report(path, "must be a mapping of subcommand name to script")
        return ()
    subs = []
    for name, script in value.items():
        if not NAME.fullmatch(str(name)):
            report(_key(path, name), "invalid subcommand name: letters, digits, '.', '_', '-'")
            continue
        checked = _script(script, _key(path, name), report)
        if checked is not None:
            subs.append((str(name), checked))
    return tuple(subs)


def _command(name: str, entry: Any, path: str, report: Report) -> PlatformCommand | None:
    if not NAME.fullmatch(name):
        report(path, "invalid command name: letters, digits, '.', '_', '-', not starting with '-'")
        return None
    if name in RESERVED:
        report(path, f"'{name}' is reserved by `sdlc platform {name}`; rename the command")
        return None
    if not isinstance(entry, dict):
        report(path, "must be a mapping {description, script, args, subcommands}")
        return None
    _unknown(entry, path, COMMAND_KEYS, report)
    description = entry.get("description")
    if description is not None and not isinstance(description, str):
        report(_key(path, "description"), "must be a string")
        description = None
    script = _script(entry["script"], _key(path, "script"), report) if "script" in entry else None
    args = _args(entry.get("args"), _key(path, "args"), report)
    subcommands = _subcommands(entry.get("subcommands"), _key(path, "subcommands"), report)
    if "script" not in entry and not entry.get("subcommands"):
        report(path, "needs a `script` or `subcommands`")
    return PlatformCommand(name, description or "", script, args, subcommands)


def check_platform(data: Any, path: str, report: Report) -> dict[str, PlatformCommand]:
    """The commands of the `platform` section; every problem goes to `report(path, message)`."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        report(path, "must be a mapping {commands: {...}}")
        return {}
    _unknown(data, path, ("commands",), report)
    commands_data = data.get("commands")
    if commands_data is None:
        return {}
    if not isinstance(commands_data, dict):
        report(_key(path, "commands"), "must be a mapping of command name to command")
        return {}
    commands = {}
    for name, entry in commands_data.items():
        command = _command(str(name), entry, _key(_key(path, "commands"), name), report)
        if command is not None:
            commands[command.name] = command
    return commands


def parse_platform(data: Any) -> dict[str, PlatformCommand]:
    """The platform commands; raises ConfigInvalid naming every problem of the section."""
    problems: list[str] = []
    commands = check_platform(data, "platform", lambda p, m: problems.append(f"{p}: {m}"))
    if problems:
        raise ConfigInvalid("invalid config: " + "; ".join(problems))
    return commands


def load_commands(store: Any) -> dict[str, PlatformCommand]:
    from sdlc.ops.config_ops import read_document

    document = read_document(store)
    return parse_platform(document.get("platform"))


def list_commands(store: Any) -> list[dict[str, Any]]:
    """`platform list`: every configured command, in file order."""
    return [c.as_dict() for c in load_commands(store).values()]


def _choices(arg: Arg) -> str:
    return ", ".join(arg.choices or ())


def check_args(command: PlatformCommand, args: list[str], label: str) -> None:
    """Refuse a command line that does not fit the declared arguments (UsageError, exit 2)."""
    if not command.args:
        return
    positional: list[str] = []
    for word in args:
        if word.startswith("-") and word != "-":
            break
        positional.append(word)
    options = len(positional) < len(args)
    for arg, value in zip(command.args, positional, strict=False):
        if arg.choices is not None and value not in arg.choices:
            raise InvalidValue(
                f"invalid value: {arg.name} must be one of {_choices(arg)}, got '{value}'",
                hint=f"see `sdlc platform list` for {label}'s arguments",
            )
    if len(positional) > len(command.args):
        extra = " ".join(positional[len(command.args) :])
        names = " ".join(a.name.upper() for a in command.args)
        raise UsageError(
            f"too many arguments for platform command {label}: '{extra}' (usage: {label} {names})",
            hint="see `sdlc platform list`",
        )
    missing = [a for a in command.args[len(positional) :] if a.required]
    if missing and not options:
        detail = f" (one of {_choices(missing[0])})" if missing[0].choices else ""
        raise UsageError(
            f"missing required argument: {missing[0].name}{detail}",
            hint=f"usage: sdlc platform {label} {' '.join(a.name.upper() for a in command.args)}",
        )


def resolve(commands: dict[str, PlatformCommand], name: str, args: list[str]) -> tuple[str, list[str]]:
    """The script to run for `platform NAME ARGS...` and the arguments it gets, checked."""
    if not commands:
        raise UsageError(
            NO_COMMANDS, hint="add `platform.commands` to .sdlc/config.yaml, or `sdlc init --platform NAME`"
        )
    command = commands.get(name)
    if command is None:
        raise UsageError(
            f"unknown subcommand: no platform command '{name}' (known: list, {', '.join(commands)})",
            hint="see `sdlc platform list`",
        )
    if command.subcommands:
        subs = dict(command.subcommands)
        if args and args[0] in subs:
            return subs[args[0]], args[1:]
        if args and not args[0].startswith("-"):
            raise UsageError(
                f"unknown subcommand: '{args[0]}' is not a subcommand of platform command "
                f"'{name}' (known: {', '.join(subs)})",
                hint="see `sdlc platform list`",
            )
    if command.script is None:
        raise UsageError(
            f"missing required argument: a subcommand of '{name}' ({', '.join(dict(command.subcommands))})",
            hint="see `sdlc platform list`",
        )
    check_args(command, args, name)
    return command.script, args


def run_script(root: Path, script: str, args: list[str]) -> int:
    """Run `script` from `root` with the caller's stdin/stdout/stderr; its exit code (a
    signal N gives 128+N, as a shell reports it)."""
    import subprocess
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    process = subprocess.Popen(["sh", "-c", f'{script} "$@"', "sh", *args], cwd=root)
    while True:
        try:
            code = process.wait()
            break
        except KeyboardInterrupt:  # the script got the same SIGINT: let it finish its way
            continue
    return 128 - code if code < 0 else code
