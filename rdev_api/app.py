"""The one composition root: adapters wired to services, services to the HTTP app."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from pydantic_core import to_jsonable_python

from rdev_api.adapters.agents.providers import default_providers
from rdev_api.adapters.clock import SystemClock
from rdev_api.adapters.crypto.aesgcm import AesGcmBox, load_or_create_master_key
from rdev_api.adapters.local.sandbox import Executor, choose_executor
from rdev_api.adapters.local.scaffold import LocalScaffolder
from rdev_api.adapters.local.workspaces import LocalWorkspaces
from rdev_api.adapters.sqlite.audit import SqliteAuditStore
from rdev_api.adapters.sqlite.commands import SqliteCommandStore
from rdev_api.adapters.sqlite.credentials import SqliteCredentialStore
from rdev_api.adapters.sqlite.database import CHECKPOINT_EVERY_S, DATABASE_FILE, Database
from rdev_api.adapters.sqlite.keys import SqliteKeyStore
from rdev_api.adapters.sqlite.projects import SqliteProjectStore
from rdev_api.adapters.sqlite.sdlc_events import SqliteSdlcEventStore
from rdev_api.adapters.sqlite.webhooks import SqliteWebhookStore
from rdev_api.adapters.sqlite.work import SqliteWorkStore
from rdev_api.adapters.sqlite.workers import SqliteWorkerStore
from rdev_api.adapters.webhooks.http_sender import HttpWebhookSender
from rdev_api.envutil import get_env, get_env_bool, get_env_duration, get_env_int
from rdev_api.http.auth import RateLimiter
from rdev_api.http.errors import install_error_handlers
from rdev_api.http.fast_routes import FastRoutesMiddleware
from rdev_api.http.middleware import RequestContextMiddleware
from rdev_api.http.routers import (
    audit,
    commands,
    credentials,
    features,
    keys,
    projects,
    sdlc_events,
    system,
    templates,
    webhooks,
    work,
    workers,
)
from rdev_api.logging import FIELD_ERROR, get_logger
from rdev_api.services.audit import Auditor
from rdev_api.services.command_work import command_handler
from rdev_api.services.commands import CommandService
from rdev_api.services.credentials import CredentialService
from rdev_api.services.keys import KeyService
from rdev_api.services.projects import ProjectService
from rdev_api.services.sdlc import SdlcService
from rdev_api.services.sdlc_work import sdlc_handler
from rdev_api.services.webhooks import DeliveryPolicy, WebhookService
from rdev_api.services.work import EmbeddedWorkers, WorkService
from rdev_api.timeouts import TIMEOUT_LOOKUP, TIMEOUT_MAINTENANCE, TIMEOUT_QUICK_OP


@dataclass
class Services:
    db: Database
    keys: KeyService
    audit: Auditor
    rate_limiter: RateLimiter
    credentials: CredentialService
    projects: ProjectService
    webhooks: WebhookService
    work: WorkService
    embedded_workers: EmbeddedWorkers
    commands: CommandService
    sdlc: SdlcService
    executor: Executor  # how commands run: its mode, "bwrap" (sandboxed) or "plain"
    http_threads: int  # RDEV_HTTP_THREADS

    def start_background(self) -> None:
        """The server's background work: embedded workers, webhook deliveries."""
        self.embedded_workers.start()
        self.webhooks.start()

    def stop_background(self, timeout: float = TIMEOUT_MAINTENANCE) -> None:
        self.embedded_workers.stop(timeout)
        self.webhooks.stop()
        self.commands.shutdown()
        self.executor.close()  # the sandboxes kept for commands end


def build_services(data_dir: Path, loopback_bind: bool = True, public_url: str | None = None) -> Services:
    """`loopback_bind`: the server listens on loopback only (private webhook destinations are
    then allowed unless RDEV_WEBHOOK_ALLOW_PRIVATE says otherwise). `public_url`: where the
    server is reached, the base of the projects' callback URLs unless RDEV_PUBLIC_URL says."""
    executor = choose_executor(data_dir)  # first: RDEV_SANDBOX=bwrap may refuse to start
    clock = SystemClock()
    db = Database(data_dir / DATABASE_FILE, CHECKPOINT_EVERY_S)
    box = AesGcmBox(load_or_create_master_key(data_dir, get_env("RDEV_MASTER_KEY") or None)[0])
    rate = get_env_int("RDEV_RATE_LIMIT", minimum=1)
    credential_store = SqliteCredentialStore(db)
    work_service = WorkService(
        SqliteWorkStore(db), SqliteWorkerStore(db), clock, get_env_duration("RDEV_LEASE")
    )
    projects_service = ProjectService(
        SqliteProjectStore(db),
        credential_store,
        LocalWorkspaces(data_dir),
        LocalScaffolder(),
        box,
        clock,
        os.environ.get("RDEV_PUBLIC_URL") or public_url or get_env("RDEV_PUBLIC_URL"),
    )
    command_service = CommandService(
        SqliteCommandStore(db),
        projects_service,
        executor.runner,
        default_providers(),
        clock,
        _command_environment(),
        get_env_int("RDEV_COMMAND_OUTPUT_CAP", minimum=1024),
    )
    work_service.register_handler("command", command_handler(command_service))
    work_service.register_handler("sdlc", sdlc_handler(command_service, projects_service))
    webhook_service = _webhook_service(db, box, clock, loopback_bind)
    command_service.on_finished = _emitter(webhook_service, lambda c: ("command.finished", {"command": c}))
    work_service.on_finished = _emitter(webhook_service, lambda i: (f"work.{i['status']}", {"work_item": i}))
    return Services(
        db=db,
        keys=KeyService(SqliteKeyStore(db), clock),
        audit=Auditor(SqliteAuditStore(db), clock),
        rate_limiter=RateLimiter(rate=rate, burst=max(rate * 2, 1)),
        credentials=CredentialService(credential_store, box, clock),
        projects=projects_service,
        webhooks=webhook_service,
        work=work_service,
        embedded_workers=EmbeddedWorkers(
            work_service,
            get_env_int("RDEV_EMBEDDED_WORKERS", minimum=0),
            get_env_duration("RDEV_REAPER_INTERVAL"),
        ),
        commands=command_service,
        sdlc=SdlcService(
            projects_service, SqliteSdlcEventStore(db), work_service, webhook_service.emit, clock
        ),
        executor=executor,
        http_threads=get_env_int("RDEV_HTTP_THREADS", minimum=1),
    )


def _emitter(
    webhooks: WebhookService, event_of: Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]
) -> Callable[[dict[str, Any]], None]:
    """A finished command or work item becomes a webhook (its payload built only when a webhook
    wants it); a failure to store it is logged by the thread that finished the work (the work
    itself stands)."""
    log = get_logger("webhooks")

    def emit(resource: dict[str, Any]) -> None:
        event, payload = event_of(resource)
        try:
            if webhooks.subscribed(event):
                webhooks.emit(event, to_jsonable_python(payload))
        except Exception as err:
            log.error(
                "could not queue a webhook",
                extra={FIELD_ERROR: f"{type(err).__name__}: {err}", "event": event},
            )

    return emit


def _command_environment() -> dict[str, str]:
    """What a command inherits from the server: an allowlist, never its keys or secrets."""
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "TERM": "dumb",
    }


def _webhook_service(db: Database, box: AesGcmBox, clock: SystemClock, loopback_bind: bool) -> WebhookService:
    allow_private = get_env_bool("RDEV_WEBHOOK_ALLOW_PRIVATE", default=loopback_bind)
    policy = DeliveryPolicy(
        backoff_base=get_env_duration("RDEV_WEBHOOK_BACKOFF_BASE"),
        backoff_cap=get_env_duration("RDEV_WEBHOOK_BACKOFF_CAP"),
        max_attempts=get_env_int("RDEV_WEBHOOK_MAX_ATTEMPTS", minimum=1),
        timeout=TIMEOUT_LOOKUP,
        idle_poll=TIMEOUT_QUICK_OP,
    )
    log = get_logger("webhooks")

    def dispatch_failed(err: Exception) -> None:
        log.error(
            "webhook dispatch failed", exc_info=err, extra={FIELD_ERROR: f"{type(err).__name__}: {err}"}
        )

    sender = HttpWebhookSender(allow_private=allow_private)
    return WebhookService(SqliteWebhookStore(db), box, sender, clock, policy, allow_private, dispatch_failed)


def create_app(services: Services, fast_routes: bool = True) -> FastAPI:
    """`fast_routes`: serve the work queue's hot requests below FastAPI (off only in the tests
    that compare both)."""
    from sdlc._version import __version__

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # the blocking routes' thread pool (anyio's default: 40): on a few cores, more threads
        # than this only lengthen the queue for the GIL (GET /projects p99 under 20 clients:
        # 750 ms with 40 threads, 410 with 8)
        anyio.to_thread.current_default_thread_limiter().total_tokens = services.http_threads
        services.start_background()
        try:
            yield
        finally:
            services.stop_background()

    app = FastAPI(
        lifespan=lifespan,
        title="rdev API",
        version=__version__,
        description="Dispatch coding agents into project environments; follow their output; run work.",
    )
    app.state.services = services
    app.state.version = __version__
    app.state.started = time.monotonic()
    install_error_handlers(app)
    for module in (
        system,
        keys,
        audit,
        webhooks,
        work,
        workers,
        projects,
        credentials,
        commands,
        features,
        sdlc_events,
        templates,
    ):
        app.include_router(module.router)
    _document_body_limit(app)
    if fast_routes:  # added first, so inside RequestContextMiddleware (the last added is outermost)
        app.add_middleware(FastRoutesMiddleware)
    app.add_middleware(RequestContextMiddleware)
    return app


def _document_body_limit(app: FastAPI) -> None:
    """Every operation that reads a body can answer 413 (the body limit middleware): added to
    the generated document, where each route's own list cannot know about the middleware."""
    from rdev_api.http.errors import ErrorEnvelope, error_responses

    generate = app.openapi
    description = error_responses(413)[413]["description"]
    envelope_ref = {"$ref": f"#/components/schemas/{ErrorEnvelope.__name__}"}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            for operations in document.get("paths", {}).values():
                for operation in operations.values():
                    if "requestBody" in operation:
                        operation["responses"].setdefault(
                            "413",
                            {
                                "description": description,
                                "content": {"application/json": {"schema": envelope_ref}},
                            },
                        )
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
