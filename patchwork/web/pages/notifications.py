"""The notifications page: what is new for you in your networks, updated live, and marking it all as read."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from patchwork.services import notifications
from patchwork.web.context import runtime
from patchwork.web.pages.common import form_of, redirect, render, signed_in

NOTICES = {"read": ("Success", "Everything here is marked as read.")}
CURSOR_FIELD = "cursor:"


async def notifications_page(request: Request) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    page = await rt.db.run(
        lambda session: notifications.for_person(session=session, keys=rt.keys, account=viewer.account)
    )
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return render(request, "notifications.html", {"page": page, "page_notice": notice})


async def unread(request: Request) -> Response:
    """The count beside Notifications in the menu, for htmx to fetch after the page has loaded."""
    viewer = signed_in(request)
    rt = runtime(request)
    count = await rt.db.run(
        lambda session: notifications.unread_count(session=session, keys=rt.keys, account=viewer.account)
    )
    response = render(request, "_unread.html", {"unread": count, "cap": notifications.UNREAD_CAP})
    response.headers["Cache-Control"] = "no-store"
    return response


async def mark_read(request: Request) -> Response:
    """Marks read up to the moment the page showed (its cursors), so nothing that arrived since is lost."""
    viewer = signed_in(request)
    rt = runtime(request)
    form = await form_of(request)
    cursors = {key.removeprefix(CURSOR_FIELD): value for key, value in form.items() if key.startswith(CURSOR_FIELD)}
    await rt.db.run(
        lambda session: notifications.mark_read(session=session, keys=rt.keys, account=viewer.account, cursors=cursors)
    )
    return redirect("/notifications?notice=read")


routes = [
    Route("/notifications", notifications_page, methods=["GET"]),
    Route("/notifications/read", mark_read, methods=["POST"]),
    Route("/notifications/unread", unread, methods=["GET"]),
]
