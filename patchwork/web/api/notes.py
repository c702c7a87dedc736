"""The notes part of the JSON API: post, list, read one, revise, redact, reply, acknowledge, open history."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from patchwork import policy
from patchwork.clock import isoformat, utcnow
from patchwork.errors import Invalid
from patchwork.models import Account
from patchwork.services import notes, stream
from patchwork.services.notes import NoteView
from patchwork.web.api.convert import note_out
from patchwork.web.api.jsonio import json_response, parse_json, require_viewer
from patchwork.web.api.openapi import operation
from patchwork.web.api.schemas import (
    AcknowledgementOut,
    BodyIn,
    EventList,
    FamilyVoiceCreate,
    HistoryOpeningIn,
    HistoryOpeningOut,
    NoteCreate,
    NoteList,
    NoteOut,
    ReasonIn,
)
from patchwork.web.context import runtime


@operation(
    "POST",
    "/networks/{network_id}/notes",
    summary='Post a note (practitioners: the full shape; family members: {"body"} as family voice)',
    body=NoteCreate,
    responses={201: NoteOut},
    refusals=(404, 409),
)
async def post_note(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    network_id = request.path_params["network_id"]
    account = viewer.account
    if policy.posts_family_voice(viewer.actor):
        return await _post_family_voice(request, account, network_id)
    data = await parse_json(request, NoteCreate)
    draft = notes.clean_draft(
        notes.NoteInput(
            body=data.body,
            category=data.category,
            level=data.level,
            observed_on=data.observed_on,
            audience=data.audience.kind,
            organisation_ids=data.audience.organisation_ids,
            user_ids=data.audience.user_ids,
            family_user_ids=data.family_user_ids,
            basis=data.basis.kind,
            consent_from=data.basis.consent_from,
            consented_on=data.basis.consented_on,
            reason=data.basis.reason,
            justification=data.basis.justification,
        ),
        today=utcnow().date(),
    )

    def write(session: Session) -> NoteView:
        posted = notes.post_note(
            session=session,
            keys=rt.keys,
            account=account,
            network_id=network_id,
            draft=draft,
            referral_route=rt.settings.referral_route,
            referral_route_acknowledged=data.referral_route_acknowledged,
            thresholds=rt.settings.alert_thresholds,
        )
        return notes.posted_view(session=session, keys=rt.keys, posted=posted)

    return json_response(note_out(await rt.db.run(write, writes_notes=True)), 201)


async def _post_family_voice(request: Request, account: Account, network_id: str) -> Response:
    rt = runtime(request)
    voice = await parse_json(request, FamilyVoiceCreate)

    def write(session: Session) -> NoteView:
        posted = notes.post_family_voice(
            session=session, keys=rt.keys, account=account, network_id=network_id, body=voice.body
        )
        return notes.posted_view(session=session, keys=rt.keys, posted=posted)

    return json_response(note_out(await rt.db.run(write, writes_notes=True)), 201)


@operation(
    "GET",
    "/networks/{network_id}/notes",
    summary="The notes the caller may see, newest first; pass `next` back as `before` for older ones",
    responses={200: NoteList},
    refusals=(404, 422),
)
async def list_notes(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    limit_text = request.query_params.get("limit", str(notes.FEED_PAGE))
    limit = int(limit_text) if limit_text.isdigit() else notes.FEED_PAGE
    page = await rt.db.run(
        lambda session: notes.feed(
            session=session,
            keys=rt.keys,
            account=viewer.account,
            network_id=request.path_params["network_id"],
            before=request.query_params.get("before") or None,
            limit=limit,
            audited=True,
        )
    )
    return json_response(NoteList(notes=[note_out(v) for v in page.notes], next=page.next_cursor))


@operation("GET", "/notes/{note_id}", summary="One note the caller may see", responses={200: NoteOut}, refusals=(404,))
async def get_note(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    view = await rt.db.run(
        lambda session: notes.one_note(
            session=session,
            keys=rt.keys,
            account=viewer.account,
            note_id=request.path_params["note_id"],
            audited=True,
        )
    )
    return json_response(note_out(view))


NoteChange = Callable[[Session, Account, str], object]


async def _change_then_show(request: Request, change: NoteChange) -> Response:
    """Make one change to a note, then answer with the note as the caller now sees it."""
    viewer = require_viewer(request)
    rt = runtime(request)
    note_id = request.path_params["note_id"]
    account = viewer.account

    def act(session: Session) -> NoteView:
        change(session, account, note_id)
        return notes.one_note(session=session, keys=rt.keys, account=account, note_id=note_id)

    return json_response(note_out(await rt.db.run(act, writes_notes=True)), 201)


@operation(
    "POST",
    "/notes/{note_id}/revisions",
    summary="Revise a note (its author); the earlier text stays in the history",
    body=BodyIn,
    responses={201: NoteOut},
    refusals=(403, 404, 409),
)
async def revise_note(request: Request) -> Response:
    rt = runtime(request)
    data = await parse_json(request, BodyIn)

    def change(session: Session, account: Account, note_id: str) -> object:
        return notes.revise(
            session=session,
            keys=rt.keys,
            account=account,
            note_id=note_id,
            body=data.body,
            level=data.level,
            thresholds=rt.settings.alert_thresholds,
        )

    return await _change_then_show(request, change)


@operation(
    "POST",
    "/notes/{note_id}/redaction",
    summary="Redact a note (its author or a lead): the body is hidden, the fact and metadata remain",
    body=ReasonIn,
    responses={201: NoteOut},
    refusals=(403, 404, 409),
)
async def redact_note(request: Request) -> Response:
    rt = runtime(request)
    data = await parse_json(request, ReasonIn)

    def change(session: Session, account: Account, note_id: str) -> object:
        return notes.redact(
            session=session,
            keys=rt.keys,
            account=account,
            note_id=note_id,
            reason=data.reason,
            thresholds=rt.settings.alert_thresholds,
        )

    return await _change_then_show(request, change)


@operation(
    "POST",
    "/notes/{note_id}/replies",
    summary="Reply to a note; the reply has the note's audience",
    body=BodyIn,
    responses={201: NoteOut},
    refusals=(403, 404, 409),
)
async def reply_to_note(request: Request) -> Response:
    keys = runtime(request).keys
    data = await parse_json(request, BodyIn)

    def change(session: Session, account: Account, note_id: str) -> object:
        if data.level is not None:
            raise Invalid({"level": "A reply has no level of its own"})
        return notes.reply(session=session, keys=keys, account=account, note_id=note_id, body=data.body)

    return await _change_then_show(request, change)


@operation(
    "POST",
    "/notes/{note_id}/acknowledgements",
    summary="Mark a note as read",
    responses={201: AcknowledgementOut},
    refusals=(403, 404, 409),
)
async def acknowledge_note(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    note_id = request.path_params["note_id"]
    acknowledgement = await rt.db.run(
        lambda session: notes.acknowledge(session=session, keys=rt.keys, account=viewer.account, note_id=note_id),
        writes_notes=True,
    )
    return json_response(AcknowledgementOut(note_id=note_id, at=isoformat(acknowledgement.at)), 201)


@operation(
    "POST",
    "/networks/{network_id}/history-openings",
    summary="Let one member see the notes posted before they joined (a lead), with the reason",
    body=HistoryOpeningIn,
    responses={201: HistoryOpeningOut},
    refusals=(403, 404, 409),
)
async def open_history(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    data = await parse_json(request, HistoryOpeningIn)
    opening = await rt.db.run(
        lambda session: notes.open_history(
            session=session,
            keys=rt.keys,
            account=viewer.account,
            network_id=request.path_params["network_id"],
            user_id=data.user_id,
            reason=data.reason,
        )
    )
    return json_response(HistoryOpeningOut(id=opening.id, user_id=opening.account_id, at=isoformat(opening.at)), 201)


@operation(
    "GET",
    "/networks/{network_id}/events",
    summary="The events after `after` (an opaque cursor; from the start when left out) that the caller may see",
    responses={200: EventList},
    refusals=(404, 422),
)
async def network_events(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    page = await rt.db.run(
        lambda session: stream.catch_up(
            session=session,
            keys=rt.keys,
            account=viewer.account,
            network_id=request.path_params["network_id"],
            after=request.query_params.get("after") or None,
        )
    )
    return JSONResponse({"events": [_event_out(e) for e in page.events], "cursor": page.cursor, "more": page.more})


def _event_out(event: stream.Outgoing) -> dict[str, object]:
    """An event as the stream sends it: a note event's `data.note` is the note as GET .../notes gives it."""
    out = event.as_json()
    if event.note is not None:
        out["data"] = {**event.data, "note": note_out(event.note).model_dump(mode="json")}
    return out
