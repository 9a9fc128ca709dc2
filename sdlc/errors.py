"""Typed errors with stable codes; the CLI maps them to the error object and exit codes."""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_HUMAN = 3
EXIT_GATE_FAILED = 4
EXIT_AGENT_FAILED = 5
EXIT_MAX_STEPS = 6


class SdlcError(Exception):
    """Base of every error `sdlc` reports; `code` is a stable string scripts may match."""

    code = "error"
    exit_code = EXIT_ERROR
    default_hint: str | None = None

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint or self.default_hint

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.full_message(), "hint": self.hint}

    def full_message(self) -> str:
        """The message plus every chained cause, so no error hides where it came from."""
        parts = [self.message]
        cause = self.__cause__
        while cause is not None:
            text = cause.message if isinstance(cause, SdlcError) else str(cause)
            if text and text not in parts[-1]:
                parts.append(text)
            cause = cause.__cause__
        return ": ".join(parts)


class NotInitialized(SdlcError):
    code = "not_initialized"


class FeatureNotFound(SdlcError):
    code = "feature_not_found"


class FeatureExists(SdlcError):
    code = "feature_exists"


class InvalidSlug(SdlcError):
    code = "invalid_slug"


class InvalidTransition(SdlcError):
    code = "invalid_transition"


class InvalidArtifactTransition(SdlcError):
    code = "invalid_artifact_transition"


class MissingArtifact(SdlcError):
    code = "missing_artifact"


class TaskNotFound(SdlcError):
    code = "task_not_found"


class CommentNotFound(SdlcError):
    code = "comment_not_found"


class MilestoneNotFound(SdlcError):
    code = "milestone_not_found"


class MilestoneExists(SdlcError):
    code = "milestone_exists"


class DependencyCycle(SdlcError):
    code = "dependency_cycle"
    default_hint = "drop one of the dependencies that close the cycle"


class CorruptFile(SdlcError):
    code = "corrupt_file"
    default_hint = "repair or restore the file (e.g. `git checkout -- <path>`), then run `sdlc doctor`"


class LockTimeout(SdlcError):
    code = "lock_timeout"


class ConfigInvalid(SdlcError):
    code = "config_invalid"
    default_hint = "fix .sdlc/config.yaml (spec: `sdlc config validate` lists every problem)"


class AgentForbidden(SdlcError):
    code = "agent_forbidden"


class InvalidValue(SdlcError):
    code = "invalid_value"
    exit_code = EXIT_USAGE


class UsageError(SdlcError):
    code = "usage_error"
    exit_code = EXIT_USAGE


class CallbackFailed(SdlcError):
    """The callback receiver refused a batch of events or could not be reached (spec §9)."""

    code = "callback_failed"


class RunInProgress(SdlcError):
    """Another `sdlc run` holds the feature."""

    code = "run_in_progress"
