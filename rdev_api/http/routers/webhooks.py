"""Webhooks: list, get and their deliveries with attempts (`webhooks:read`); create (the secret
is returned once), change, delete, test ping and redeliver (`webhooks:write`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from rdev_api.domain.webhooks import ALL_EVENTS, Delivery, Webhook
from rdev_api.http.auth import audit, require
from rdev_api.http.errors import error_responses
from rdev_api.http.pagination import Cursor, Limit, link_next
from rdev_api.services.keys import Principal

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
Reader = Annotated[Principal, Depends(require("webhooks:read"))]
Writer = Annotated[Principal, Depends(require("webhooks:write"))]
READ_ERRORS = error_responses(400, 401, 403, 404, 422, 429)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422, 429)

Url = Annotated[
    str, Field(min_length=1, max_length=2048, description="http(s) URL the deliveries are POSTed to")
]
Events = Annotated[
    list[Annotated[str, Field(max_length=64)]],
    Field(min_length=1, max_length=50, description=f'event names, or ["{ALL_EVENTS}"] for all'),
]
Description = Annotated[str, Field(max_length=500)]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url
    events: Events = Field(default_factory=lambda: [ALL_EVENTS])
    active: bool = True
    description: Description | None = None


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    events: Events | None = None
    active: bool | None = None
    description: Description | None = None


class WebhookWithSecret(Webhook):
    secret: str = Field(
        description="Signs every delivery (X-Rdev-Signature: sha256=<hex HMAC-SHA256 of the body>): "
        "shown once, store it now."
    )


@router.get("", response_model=list[Webhook], responses=READ_ERRORS)
def list_webhooks(
    request: Request, response: Response, principal: Reader, limit: Limit = 100, cursor: Cursor = None
) -> list[Webhook]:
    webhooks, next_cursor = request.app.state.services.webhooks.list(limit, cursor)
    link_next(request, response, next_cursor)
    return list(webhooks)


@router.post("", response_model=WebhookWithSecret, status_code=201, responses=WRITE_ERRORS)
def create_webhook(request: Request, body: WebhookCreate, principal: Writer) -> WebhookWithSecret:
    """Private and loopback URLs are refused unless the server allows them."""
    webhook, secret = request.app.state.services.webhooks.create(
        body.url, body.events, body.description, body.active
    )
    audit(request, principal, "webhook.create", webhook.id)
    return WebhookWithSecret(**webhook.model_dump(), secret=secret)


@router.get("/{webhook_id}", response_model=Webhook, responses=READ_ERRORS)
def get_webhook(request: Request, webhook_id: str, principal: Reader) -> Webhook:
    webhook: Webhook = request.app.state.services.webhooks.get(webhook_id)
    return webhook


@router.patch("/{webhook_id}", response_model=Webhook, responses=WRITE_ERRORS)
def update_webhook(request: Request, webhook_id: str, body: WebhookUpdate, principal: Writer) -> Webhook:
    """Change the fields given; the others stay."""
    webhook: Webhook = request.app.state.services.webhooks.update(
        webhook_id, body.model_dump(exclude_unset=True)
    )
    audit(request, principal, "webhook.update", webhook_id)
    return webhook


@router.delete("/{webhook_id}", status_code=204, responses=WRITE_ERRORS)
def delete_webhook(request: Request, webhook_id: str, principal: Writer) -> Response:
    """The webhook and its deliveries."""
    request.app.state.services.webhooks.delete(webhook_id)
    audit(request, principal, "webhook.delete", webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=list[Delivery], responses=READ_ERRORS)
def list_deliveries(
    request: Request,
    response: Response,
    webhook_id: str,
    principal: Reader,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> list[Delivery]:
    """Newest first, each with its attempts."""
    deliveries, next_cursor = request.app.state.services.webhooks.deliveries(webhook_id, limit, cursor)
    link_next(request, response, next_cursor)
    return list(deliveries)


@router.post("/{webhook_id}/test", response_model=Delivery, status_code=202, responses=WRITE_ERRORS)
def test_webhook(request: Request, webhook_id: str, principal: Writer) -> Delivery:
    """A `webhook.test` delivery to this webhook only."""
    delivery: Delivery = request.app.state.services.webhooks.test(webhook_id)
    audit(request, principal, "webhook.test", webhook_id)
    return delivery


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    response_model=Delivery,
    status_code=202,
    responses=WRITE_ERRORS,
)
def redeliver(request: Request, webhook_id: str, delivery_id: str, principal: Writer) -> Delivery:
    """A new delivery with the same event and payload."""
    delivery: Delivery = request.app.state.services.webhooks.redeliver(webhook_id, delivery_id)
    audit(request, principal, "webhook.redeliver", delivery_id)
    return delivery
