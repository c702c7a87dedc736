"""The notifications part of the JSON API: what is new for the caller, and marking it read."""

from __future__ import annotations

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from patchwork.clock import isoformat
from patchwork.services.notifications import UNREAD_CAP, Notification, for_person, mark_read
from patchwork.web.api.jsonio import json_response, parse_json, require_viewer
from patchwork.web.api.openapi import operation
from patchwork.web.api.schemas import Strict
from patchwork.web.context import runtime


class NotificationOut(BaseModel):
    id: str
    network_id: str
    type: str
    at: str
    text: str = Field(description="What happened, worded for the caller")
    where: str = Field(description="The network's child, as the caller may see them")
    note_id: str | None
    unread: bool


class NotificationList(BaseModel):
    notifications: list[NotificationOut]
    unread: int = Field(description=f"How many are unread, counted up to {UNREAD_CAP + 1}")
    cursors: dict[str, str] = Field(description="Per network, the moment read: send them back to mark read")


class NotificationsRead(Strict):
    cursors: dict[str, str] = Field(max_length=500)


def notification_out(item: Notification) -> NotificationOut:
    return NotificationOut(
        id=item.id,
        network_id=item.network_id,
        type=item.type,
        at=isoformat(item.at),
        text=item.text,
        where=item.where,
        note_id=item.note_id,
        unread=item.unread,
    )


@operation("GET", "/notifications", summary="The caller's newest notifications", responses={200: NotificationList})
async def list_notifications(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    page = await rt.db.run(lambda session: for_person(session=session, keys=rt.keys, account=viewer.account))
    return json_response(
        NotificationList(
            notifications=[notification_out(item) for item in page.items], unread=page.unread, cursors=page.cursors
        )
    )


@operation(
    "POST",
    "/notifications/read",
    summary="Mark read everything up to the given cursors (from GET /notifications)",
    body=NotificationsRead,
    responses={204: None},
)
async def read_notifications(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    data = await parse_json(request, NotificationsRead)
    await rt.db.run(
        lambda session: mark_read(session=session, keys=rt.keys, account=viewer.account, cursors=data.cursors)
    )
    return Response(status_code=204)
