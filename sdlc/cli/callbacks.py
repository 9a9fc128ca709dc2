"""`sdlc callbacks`: event callbacks to the rdev API: status, flush (spec/sdlc.md §9)."""

from __future__ import annotations

from typing import Any

import typer

from sdlc.cli import output as out

HELP = "Event callbacks to the rdev API: status, flush (spec/sdlc.md §9)."
app = typer.Typer(no_args_is_help=True)
OFF = "callbacks are off: set RDEV_CALLBACK_URL or callbacks.url in .sdlc/config.yaml"


def _status_text(d: dict[str, Any]) -> str:
    backlog = [f"offset: {d['offset']}", f"last event: {d['last_event_id']}", f"pending: {d['pending']}"]
    if not d["enabled"]:
        return "\n".join([OFF, *backlog])
    return "\n".join(
        [
            f"url: {d['url']} (from {d['source']})",
            f"project: {d['project']}",
            f"signed with: ${d['token_env']}",
            *backlog,
        ]
    )


def _flush_text(d: dict[str, Any]) -> str:
    if not d["enabled"]:
        return f"{OFF}; nothing to flush"
    if not d["delivered"]:
        return f"nothing to deliver to {d['url']}; offset {d['offset']}, {d['pending']} pending"
    sent = f"delivered {d['delivered']} event(s) in {d['batches']} batch(es) to {d['url']}"
    return f"{sent}; offset {d['offset']}, {d['pending']} pending"


@app.command("status")
def status() -> None:
    """Where events go, the last acknowledged id and the backlog."""
    from sdlc.callbacks import status as callback_status

    store = out.store()
    store.require_initialized()
    out.emit(callback_status(store), _status_text)


@app.command("flush")
def flush() -> None:
    """Deliver every pending event now, in the foreground; exit 1 when the receiver refuses."""
    from sdlc.callbacks import flush_now
    from sdlc.transaction import lock_timeout

    store = out.store()
    store.require_initialized()
    out.emit(flush_now(store, wait=lock_timeout()), _flush_text)
