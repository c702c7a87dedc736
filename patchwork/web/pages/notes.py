"""The notes pages of a network: the feed, opening the earlier history, the chronology; and every notes route."""

from __future__ import annotations

from collections.abc import Mapping

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from patchwork import policy
from patchwork.errors import Conflict, Forbidden, Invalid
from patchwork.models.notes import CATEGORY_LABELS, Level
from patchwork.services import notes, stream
from patchwork.web.context import runtime
from patchwork.web.filters import chronology_filters, date_boxes
from patchwork.web.pages.common import form_of, redirect, render, signed_in
from patchwork.web.pages.note import acknowledge, redact, redact_form, reply, revise, revise_form, show_note
from patchwork.web.pages.note_form import new_note_form, post_note
from patchwork.web.pages.place import Place, load_place

LEVEL_LABELS = {
    Level.observation: "Observation",
    Level.concern: "Concern",
    Level.urgent: "Urgent",
}


# The feed


async def feed_page(
    request: Request,
    *,
    errors: dict[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    network_id = request.path_params["network_id"]
    before = request.query_params.get("before") or None

    def load(session: Session) -> tuple[Place, notes.NotePage, str | None]:
        place = load_place(session, rt.keys, viewer, network_id)
        cursor = None if before else stream.page_cursor(session=session, keys=rt.keys, network_id=place.network.id)
        page = notes.feed(
            session=session,
            keys=rt.keys,
            account=viewer.account,
            network_id=place.network.id,
            before=before,
            known=place.standing,
            audited=status == 200,
        )
        return place, page, cursor

    place, page, cursor = await rt.db.run(load)
    if place.network.id != network_id:
        return redirect(f"/networks/{place.network.id}/notes")
    context = {
        "place": place,
        "page": page,
        "errors": errors or {},
        "values": values or {},
        "return_to": "feed",
        "live_cursor": cursor,
    }
    return render(request, "notes/feed.html", context, status)


async def show_feed(request: Request) -> Response:
    return await feed_page(request)


async def open_history(request: Request) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    network_id = request.path_params["network_id"]
    form = await form_of(request)
    try:
        await rt.db.run(
            lambda session: notes.open_history(
                session=session,
                keys=rt.keys,
                account=viewer.account,
                network_id=network_id,
                user_id=form.get("user_id") or None,
                reason=form.get("reason"),
            )
        )
    except Invalid as problem:
        return await feed_page(request, errors=problem.fields, values=form, status=422)
    except (Conflict, Forbidden) as problem:
        return await feed_page(request, errors={"user_id": problem.message}, values=form, status=problem.status)
    return redirect(f"/networks/{network_id}/notes?notice=history-opened")


# The chronology


async def show_chronology(request: Request) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    network_id = request.path_params["network_id"]
    errors: dict[str, str] = {}
    filters = notes.ChronologyFilters()
    try:
        filters = chronology_filters(request.query_params)
    except Invalid as problem:
        errors = problem.fields

    def load(session: Session) -> tuple[Place, list[notes.NoteView], str | None]:
        place = load_place(session, rt.keys, viewer, network_id)
        if errors:
            return place, [], None
        cursor = stream.page_cursor(session=session, keys=rt.keys, network_id=place.network.id)
        rows = notes.chronology(
            session=session,
            keys=rt.keys,
            account=viewer.account,
            network_id=place.network.id,
            filters=filters,
            known=place.standing,
            audited=True,
        )
        return place, rows, cursor

    place, rows, cursor = await rt.db.run(load)
    query = f"?{request.url.query}" if request.url.query else ""
    if place.network.id != network_id:
        return redirect(f"/networks/{place.network.id}/chronology{query}")
    organisations = dict(place.organisations)
    if policy.practitioner_view(place.viewer):
        organisations |= {
            v.note.author_organisation_id: v.organisation
            for v in rows
            if v.note.author_organisation_id and v.organisation
        }
    context = {
        "place": place,
        "rows": rows,
        "filters": filters,
        "params": request.query_params,
        "dates": date_boxes(request.query_params),
        "filtered": filters.narrowed,
        "errors": errors,
        "categories": CATEGORY_LABELS,
        "levels": LEVEL_LABELS,
        "organisations": sorted(organisations.items(), key=lambda pair: pair[1] or ""),
        "query": query,
        "live_cursor": cursor,
    }
    return render(request, "notes/chronology.html", context, 422 if errors else 200)


routes = [
    Route("/networks/{network_id}/notes", show_feed, methods=["GET"]),
    Route("/networks/{network_id}/notes/new", new_note_form, methods=["GET"]),
    Route("/networks/{network_id}/notes/new", post_note, methods=["POST"]),
    Route("/networks/{network_id}/chronology", show_chronology, methods=["GET"]),
    Route("/networks/{network_id}/history-openings", open_history, methods=["POST"]),
    Route("/notes/{note_id}", show_note, methods=["GET"]),
    Route("/notes/{note_id}/revise", revise_form, methods=["GET"]),
    Route("/notes/{note_id}/revise", revise, methods=["POST"]),
    Route("/notes/{note_id}/redact", redact_form, methods=["GET"]),
    Route("/notes/{note_id}/redact", redact, methods=["POST"]),
    Route("/notes/{note_id}/replies", reply, methods=["POST"]),
    Route("/notes/{note_id}/acknowledgements", acknowledge, methods=["POST"]),
]
