"""The error envelope (spec/rdev-api.md "Errors"): every failure is
`{"error": {"code", "message", "details"?, "request_id"}}`, never a stack trace."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from rdev_api.domain.errors import DomainError, RateLimited
from rdev_api.http.middleware import BodyTooLarge
from rdev_api.logging import FIELD_ERROR, FIELD_ERROR_CODE, current_context, get_logger

log = get_logger("http")


class ErrorDetail(BaseModel):
    field: str | None = None
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] | None = None
    request_id: str | None = None


class ErrorEnvelope(BaseModel):
    error: ErrorBody


def envelope(
    status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    body["request_id"] = current_context().get("request_id")
    return JSONResponse({"error": body}, status_code=status)


def domain_error_response(err: DomainError) -> JSONResponse:
    """The envelope of a DomainError (Retry-After on a 429); also sent by the fast path."""
    response = envelope(err.status, err.code, err.message, err.details)
    if isinstance(err, RateLimited):
        response.headers["Retry-After"] = str(max(1, round(err.retry_after)))
    return response


def _field(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p not in ("body",)] or ["body"]
    return ".".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, err: DomainError) -> JSONResponse:
        return domain_error_response(err)

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, err: BodyTooLarge) -> JSONResponse:
        return envelope(413, "PAYLOAD_TOO_LARGE", "request body too large")

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, err: RequestValidationError) -> JSONResponse:
        problems = err.errors()
        if any(p.get("type") == "json_invalid" for p in problems):
            return envelope(400, "BAD_REQUEST", "invalid request body: it is not valid JSON")
        details = [{"field": _field(tuple(p.get("loc", ()))), "message": str(p.get("msg"))} for p in problems]
        return envelope(422, "VALIDATION_FAILED", f"{len(details)} invalid field(s)", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        if err.status_code == 404:
            return envelope(404, "NOT_FOUND", f"no route {request.method} {request.url.path}")
        if err.status_code == 405:
            return envelope(
                405, "BAD_REQUEST", f"method {request.method} is not allowed on {request.url.path}"
            )
        return envelope(err.status_code, "BAD_REQUEST", str(err.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, err: Exception) -> JSONResponse:
        log.error(
            "unhandled error",
            exc_info=err,
            extra={FIELD_ERROR: f"{type(err).__name__}: {err}", FIELD_ERROR_CODE: "INTERNAL"},
        )
        return envelope(500, "INTERNAL", "internal error: the server logged it with this request id")


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting the envelope for each status a route can return."""
    return {status: {"model": ErrorEnvelope, "description": _DESCRIPTIONS[status]} for status in statuses}


_DESCRIPTIONS = {
    400: "BAD_REQUEST: the body is not valid JSON, or a parameter is malformed",
    401: "UNAUTHORIZED, KEY_REVOKED, KEY_EXPIRED or BAD_SIGNATURE",
    403: "FORBIDDEN (scope), PROJECT_FORBIDDEN or IP_NOT_ALLOWED",
    404: "NOT_FOUND",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    422: "VALIDATION_FAILED: details list every bad field",
    429: "RATE_LIMITED (see Retry-After)",
}
