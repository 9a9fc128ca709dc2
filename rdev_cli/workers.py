"""`rdev workers`: the queue's worker registry: list, get, drain, remove."""

from __future__ import annotations

from typing import Annotated

import typer

from rdev_cli.common import AllPages, Limit, Yes, api, command, confirm, show
from rdev_cli.output import emit, info

app = typer.Typer(no_args_is_help=True)

COLUMNS = ("id", "name", "status", "types", "embedded", "last_seen_at")
WIDE = ("registered_at",)
WorkerId = Annotated[str, typer.Argument(help="The worker's id.", show_default=False)]


@command(app, "list", "ls")
def list_workers(limit: Limit = None, all_pages: AllPages = False) -> None:
    """Registered workers: embedded (threads of the server) and external (`rdev worker run`)."""
    with api() as client:
        workers = client.list("/workers", limit=limit, all_pages=all_pages)
    emit(workers, COLUMNS, wide=WIDE, name_key="id")


@app.command("get")
def get(worker_id: WorkerId) -> None:
    """One worker."""
    show("GET", f"/workers/{worker_id}", COLUMNS, WIDE)


@app.command("drain")
def drain(worker_id: WorkerId) -> None:
    """The worker finishes what it holds and claims nothing new."""
    show("POST", f"/workers/{worker_id}/drain", COLUMNS, WIDE)
    info(f"worker {worker_id} is draining: it claims nothing new")


@command(app, "remove", "rm")
def remove(worker_id: WorkerId, yes: Yes = False) -> None:
    """Forget the worker; items it still holds return to the queue when their lease expires."""
    confirm(f"Remove worker {worker_id}?", yes, f"rdev workers remove {worker_id}")
    with api() as client:
        client.call("DELETE", f"/workers/{worker_id}")
    info(f"removed worker {worker_id}")
