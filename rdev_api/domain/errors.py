"""Domain errors: each has the stable `code` and HTTP status of the error envelope
(spec/rdev-api.md "Errors"); the HTTP layer renders them, services raise them."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "INTERNAL"
    status: ClassVar[int] = 500

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Unauthorized(DomainError):
    code, status = "UNAUTHORIZED", 401


class KeyRevoked(DomainError):
    code, status = "KEY_REVOKED", 401


class KeyExpired(DomainError):
    code, status = "KEY_EXPIRED", 401


class BadSignature(DomainError):
    code, status = "BAD_SIGNATURE", 401


class IpNotAllowed(DomainError):
    code, status = "IP_NOT_ALLOWED", 403


class Forbidden(DomainError):
    code, status = "FORBIDDEN", 403


class ProjectForbidden(DomainError):
    code, status = "PROJECT_FORBIDDEN", 403


class NotFound(DomainError):
    code, status = "NOT_FOUND", 404


class Conflict(DomainError):
    code, status = "CONFLICT", 409


class PayloadTooLarge(DomainError):
    code, status = "PAYLOAD_TOO_LARGE", 413


class ValidationFailed(DomainError):
    code, status = "VALIDATION_FAILED", 422


class BadRequest(DomainError):
    code, status = "BAD_REQUEST", 400


class RateLimited(DomainError):
    code, status = "RATE_LIMITED", 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Internal(DomainError):
    code, status = "INTERNAL", 500


ERRORS: tuple[type[DomainError], ...] = (
    Unauthorized,
    KeyRevoked,
    KeyExpired,
    BadSignature,
    IpNotAllowed,
    Forbidden,
    ProjectForbidden,
    NotFound,
    Conflict,
    PayloadTooLarge,
    ValidationFailed,
    BadRequest,
    RateLimited,
    Internal,
)
