"""Errors `rdev` reports and its exit codes (spec/rdev-cli.md "Exit codes")."""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_AUTH = 4
EXIT_CONFLICT = 5
EXIT_NETWORK = 6
EXIT_STILL_RUNNING = 8
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 error; 2 usage (also API 400/422); 3 not found; 4 auth; 5 conflict; "
    "6 network, timeout, 429 or 5xx after retries; 8 still running (wait --timeout); 130 interrupted. "
    "exec, git, agent and `commands logs -f` exit with the remote exit code "
    "(124 remote timeout, 128+N killed by signal N, 255 stream lost)."
)


class CliError(Exception):
    """An error for the user: message, optional details and hint, and the exit code."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        exit_code: int = EXIT_ERROR,
        details: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code
        self.details = details or []


def from_skeleton_error(err: Exception) -> CliError:
    """The CLI form of a template library error, with the exit code of its kind."""
    from skeletons import errors

    code = {
        errors.TemplateNotFound: EXIT_NOT_FOUND,
        errors.UnitNotFound: EXIT_NOT_FOUND,
        errors.VariableInvalid: EXIT_USAGE,
        errors.DestinationNotEmpty: EXIT_USAGE,
        errors.CompositionRefused: EXIT_USAGE,
        errors.SlotEdited: EXIT_CONFLICT,
    }.get(type(err), EXIT_ERROR)
    problems = getattr(err, "problems", None)
    if problems and len(problems) > 1:
        return CliError(
            f"{len(problems)} invalid answers",
            hint=getattr(err, "hint", None),
            exit_code=code,
            details=problems,
        )
    return CliError(getattr(err, "message", str(err)), hint=getattr(err, "hint", None), exit_code=code)
