"""The one composition root: adapters wired to services, services to the HTTP app."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from rdev_api.adapters.clock import SystemClock
from rdev_api.adapters.sqlite.audit import SqliteAuditStore
from rdev_api.adapters.sqlite.database import DATABASE_FILE, Database
from rdev_api.adapters.sqlite.keys import SqliteKeyStore
from rdev_api.envutil import get_env_int
from rdev_api.http.auth import RateLimiter
from rdev_api.http.errors import install_error_handlers
from rdev_api.http.middleware import RequestContextMiddleware
from rdev_api.http.routers import audit, keys, system
from rdev_api.services.audit import Auditor
from rdev_api.services.keys import KeyService


@dataclass
class Services:
    db: Database
    keys: KeyService
    audit: Auditor
    rate_limiter: RateLimiter


def build_services(data_dir: Path) -> Services:
    clock = SystemClock()
    db = Database(data_dir / DATABASE_FILE)
    rate = get_env_int("RDEV_RATE_LIMIT", minimum=1)
    return Services(
        db=db,
        keys=KeyService(SqliteKeyStore(db), clock),
        audit=Auditor(SqliteAuditStore(db), clock),
        rate_limiter=RateLimiter(rate=rate, burst=max(rate * 2, 1)),
    )


def create_app(services: Services) -> FastAPI:
    from sdlc._version import __version__

    app = FastAPI(
        title="rdev API",
        version=__version__,
        description="Dispatch coding agents into project environments; follow their output; run work.",
    )
    app.state.services = services
    app.state.version = __version__
    app.state.started = time.monotonic()
    install_error_handlers(app)
    for module in (system, keys, audit):
        app.include_router(module.router)
    app.add_middleware(RequestContextMiddleware)
    return app
