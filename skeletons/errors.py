"""Errors of the template library, each with a stable code and an exit code of 1 or 2."""

from __future__ import annotations


class SkeletonError(Exception):
    """Base of every error the renderer reports; `code` is stable for scripts."""

    code = "skeleton_error"
    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class TemplateNotFound(SkeletonError):
    code = "template_not_found"


class ManifestInvalid(SkeletonError):
    code = "manifest_invalid"


class VariableInvalid(SkeletonError):
    """One or more answers break their variable's rules; `problems` lists every one."""

    code = "invalid_variable"
    exit_code = 2

    def __init__(self, problems: list[str], hint: str | None = None) -> None:
        super().__init__("; ".join(problems), hint or "pass answers with --var NAME=VALUE")
        self.problems = problems


class UnsafePath(SkeletonError):
    code = "unsafe_path"


class DestinationNotEmpty(SkeletonError):
    code = "destination_not_empty"
    exit_code = 2


class RenderFailed(SkeletonError):
    code = "render_failed"


class SlotEdited(SkeletonError):
    """An assembled slot file was edited by hand; re-assembling would lose the edit."""

    code = "slot_edited"


class CompositionRefused(SkeletonError):
    """A component cannot be added or removed as asked (not a monorepo, name taken, a
    requirement missing, files in the way)."""

    code = "composition_refused"
    exit_code = 2


class UnitNotFound(SkeletonError):
    """No applied template of that name in the destination (no lock file)."""

    code = "unit_not_found"
