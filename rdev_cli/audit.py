"""`rdev audit list`: the API's audit trail of changes (admin)."""

from __future__ import annotations

import typer

from rdev_cli.common import AllPages, Limit, api, command
from rdev_cli.output import emit

app = typer.Typer(no_args_is_help=True)

COLUMNS = ("ts", "action", "target", "key_id", "client_ip")
WIDE = ("request_id", "id")


@command(app, "list", "ls")
def list_entries(limit: Limit = None, all_pages: AllPages = False) -> None:
    """Audit entries, oldest first (one page unless --all): who changed what, from where."""
    with api() as client:
        entries = client.list("/audit", limit=limit, all_pages=all_pages)
    emit(entries, COLUMNS, wide=WIDE, name_key="id")
