"""Health, version and identity."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from rdev_api.domain.keys import ApiKey
from rdev_api.http.auth import ANY_KEY, require
from rdev_api.http.errors import error_responses
from rdev_api.services.keys import Principal

router = APIRouter(tags=["system"])


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    uptime_s: float
    checks: dict[str, str]


class Version(BaseModel):
    version: str
    api: str


@router.get("/health", response_model=Health)
def health(request: Request) -> dict[str, Any]:
    """Liveness and the state of the parts the server depends on (no key needed): database,
    executor (bwrap or plain), workers (the embedded ones)."""
    state = request.app.state
    checks = {"database": "ok"}
    try:
        state.services.db.connection().execute("SELECT 1").fetchone()
    except Exception as err:  # the probe reports, it does not fail
        checks["database"] = f"error: {type(err).__name__}"
    checks["executor"] = state.services.executor.mode  # bwrap (sandboxed) or plain: a mode, not a failure
    checks["workers"] = state.services.embedded_workers.health()
    status = "degraded" if any(v.startswith("error") for v in checks.values()) else "ok"
    return {
        "status": status,
        "version": state.version,
        "uptime_s": round(time.monotonic() - state.started, 3),
        "checks": checks,
    }


@router.get("/version", response_model=Version)
def version(request: Request) -> dict[str, str]:
    return {"version": request.app.state.version, "api": "v1"}


@router.get("/whoami", response_model=ApiKey, responses=error_responses(401, 403, 429))
def whoami(principal: Annotated[Principal, Depends(require(ANY_KEY))]) -> ApiKey:
    """The calling key (never its secret)."""
    return principal.key
