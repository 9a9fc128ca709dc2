"""`rdev webhooks`: HTTP callbacks for the API's events: list, create (prints the signing
secret once, like `keys create`), get, update, delete, test, deliveries, redeliver."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from rdev_cli.common import AllPages, Limit, WaitTimeout, Yes, api, command, confirm, show, wait_until
from rdev_cli.errors import EXIT_CONFLICT, EXIT_ERROR, EXIT_USAGE, CliError
from rdev_cli.output import emit, emit_secret, info

if TYPE_CHECKING:
    from rdev_cli.client import Api

app = typer.Typer(no_args_is_help=True)

COLUMNS = ("id", "url", "events", "active", "description")
WIDE = ("created_at", "updated_at")
DELIVERY_COLUMNS = ("id", "event", "status", "attempts", "last_status", "created_at")
DELIVERY_WIDE = ("delivered_at", "next_attempt_at", "last_error")

WebhookId = Annotated[str, typer.Argument(help="The webhook's id.", show_default=False)]
Events = Annotated[
    list[str] | None,
    typer.Option("--event", "-e", help="An event name to send (repeat), e.g. command.finished; * for all."),
]
Description = Annotated[str | None, typer.Option("--description", "-d", help="What it is for.")]
Wait = Annotated[
    bool,
    typer.Option(
        "--wait", "-w", help="Wait until it is delivered (exit 0) or failed (exit 1); --timeout implies it."
    ),
]


def _wait_delivery(
    client: Api, webhook_id: str, delivery: dict[str, Any], timeout: float | None
) -> dict[str, Any]:
    """Poll the webhook's deliveries until this one is no longer pending."""

    def fetch() -> dict[str, Any]:
        for page in client.pages(f"/webhooks/{webhook_id}/deliveries"):
            for found in page:
                if found["id"] == delivery["id"]:
                    return dict(found)
        return delivery

    done: dict[str, Any] = wait_until(
        fetch,
        lambda found: found["status"] != "pending",
        timeout=timeout,
        what=f"delivery {delivery['id']}",
        hint=f"rdev webhooks deliveries {webhook_id}",
    )
    return done


def _show_delivery(
    client: Api, webhook_id: str, delivery: dict[str, Any], wait: bool, timeout: float | None
) -> None:
    wait = wait or timeout is not None
    if wait:
        delivery = _wait_delivery(client, webhook_id, delivery, timeout)
    emit(delivery, DELIVERY_COLUMNS, wide=DELIVERY_WIDE, name_key="id")
    if not wait:
        info(f"queued delivery {delivery['id']}: see `rdev webhooks deliveries {webhook_id}`")
    elif delivery["status"] == "failed":
        raise CliError(
            f"delivery {delivery['id']} failed: {delivery.get('last_error') or delivery.get('last_status')}",
            hint=f"fix the receiver, then: rdev webhooks redeliver {webhook_id} {delivery['id']}",
            exit_code=EXIT_ERROR,
        )


@command(app, "list", "ls")
def list_webhooks(limit: Limit = None, all_pages: AllPages = False) -> None:
    """Webhooks (never their secrets)."""
    with api() as client:
        found = client.list("/webhooks", limit=limit, all_pages=all_pages)
    emit(found, COLUMNS, wide=WIDE, name_key="id")


@app.command("create")
def create(
    url: Annotated[str, typer.Argument(help="The http(s) URL deliveries are POSTed to.", show_default=False)],
    events: Events = None,
    description: Description = None,
    inactive: Annotated[bool, typer.Option("--inactive", help="Create it paused.")] = False,
) -> None:
    """Create a webhook; prints its signing secret once (the object with -o json)."""
    body: dict[str, Any] = {"url": url, "active": not inactive}
    if events:
        body["events"] = events
    if description is not None:
        body["description"] = description
    with api() as client:
        webhook = client.post("/webhooks", body)
    info(
        f"created webhook {webhook['id']}: the secret signs each delivery "
        "(X-Rdev-Signature: sha256=HMAC of the body); it is shown only now, store it"
    )
    emit_secret(webhook, "secret", COLUMNS)


@app.command("get")
def get(webhook_id: WebhookId) -> None:
    """One webhook."""
    show("GET", f"/webhooks/{webhook_id}", COLUMNS, WIDE)


@app.command("update")
def update(
    webhook_id: WebhookId,
    url: Annotated[str | None, typer.Option("--url", help="A new URL.")] = None,
    events: Events = None,
    description: Description = None,
    active: Annotated[
        bool | None,
        typer.Option("--active/--inactive", help="Resume or pause deliveries.", show_default=False),
    ] = None,
) -> None:
    """Change the fields given; the others stay."""
    changes = {"url": url, "events": events or None, "description": description, "active": active}
    body = {k: v for k, v in changes.items() if v is not None}
    if not body:
        raise CliError(
            "nothing to change",
            hint=f"e.g. rdev webhooks update {webhook_id} --inactive (or --url, --event, --description)",
            exit_code=EXIT_USAGE,
        )
    with api() as client:
        webhook = client.call("PATCH", f"/webhooks/{webhook_id}", json_body=body)
    emit(webhook, COLUMNS, wide=WIDE, name_key="id")
    info(f"updated webhook {webhook_id}")


@command(app, "delete", "rm")
def delete(webhook_id: WebhookId, yes: Yes = False) -> None:
    """Delete a webhook and its deliveries."""
    confirm(f"Delete webhook {webhook_id} and its deliveries?", yes, f"rdev webhooks delete {webhook_id}")
    with api() as client:
        client.call("DELETE", f"/webhooks/{webhook_id}")
    info(f"deleted webhook {webhook_id}")


@app.command("test")
def test(webhook_id: WebhookId, wait: Wait = False, timeout: WaitTimeout = None) -> None:
    """Send a `webhook.test` delivery to this webhook only."""
    with api() as client:
        try:
            delivery = client.post(f"/webhooks/{webhook_id}/test")
        except CliError as err:
            if err.exit_code == EXIT_CONFLICT and not err.hint:  # a paused webhook
                err.hint = f"resume it first: rdev webhooks update {webhook_id} --active"
            raise
        _show_delivery(client, webhook_id, delivery, wait, timeout)


@app.command("deliveries")
def deliveries(webhook_id: WebhookId, limit: Limit = None, all_pages: AllPages = False) -> None:
    """The webhook's deliveries, newest first, with their attempts (-o json)."""
    with api() as client:
        found = client.list(f"/webhooks/{webhook_id}/deliveries", limit=limit, all_pages=all_pages)
    emit(found, DELIVERY_COLUMNS, wide=DELIVERY_WIDE, name_key="id")


@app.command("redeliver")
def redeliver(
    webhook_id: WebhookId,
    delivery_id: Annotated[str, typer.Argument(help="The delivery to send again.", show_default=False)],
    wait: Wait = False,
    timeout: WaitTimeout = None,
) -> None:
    """Send a delivery again: a new delivery with the same event and payload."""
    with api() as client:
        delivery = client.post(f"/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver")
        _show_delivery(client, webhook_id, delivery, wait, timeout)
