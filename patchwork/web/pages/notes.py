"""The notes pages: the feed, posting with a check of who will see it, the chronology, one note and its actions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from patchwork import policy
from patchwork.crypto import Keyring
from patchwork.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from patchwork.models import Account
from patchwork.models.networks import Network
from patchwork.models.notes import CATEGORY_LABELS, REASON_LABELS, Level
from patchwork.services import networks, notes, stream
from patchwork.web.context import runtime
from patchwork.web.filters import chronology_filters
from patchwork.web.pages.common import form_lists_of, form_of, redirect, render, signed_in
from patchwork.web.viewer import Viewer

LEVEL_LABELS = {
    Level.observation: "Observation",
    Level.concern: "Concern",
    Level.urgent: "Urgent",
}
LIST_FIELDS = ("organisation_ids", "user_ids", "family_user_ids")
TEXT_FIELDS = (
    "body",
    "category",
    "level",
    "observed_day",
    "observed_month",
    "observed_year",
    "audience",
    "basis",
    "consent_from",
    "consented_day",
    "consented_month",
    "consented_year",
    "reason",
    "justification",
    "referral_route_acknowledged",
    "checked_audience",
)
FORM_ORDER = [
    "body",
    "category",
    "level",
    "referral_route_acknowledged",
    "observed_on",
    "audience",
    "organisation_ids",
    "user_ids",
    "family_user_ids",
    "basis",
    "consent_from",
    "consented_on",
    "reason",
    "justification",
]


@dataclass(frozen=True)
class Place:
    """The network a notes page belongs to, and what the page needs to know about the viewer there."""

    standing: notes.Standing
    child_name: str | None = None
    members: list[networks.MemberView] = field(default_factory=list)

    @property
    def network(self) -> Network:
        return self.standing.network

    @property
    def viewer(self) -> policy.NoteViewer:
        return self.standing.viewer

    @property
    def can_post(self) -> bool:
        return bool(policy.practitioner_view(self.viewer)) and bool(
            policy.post_note(self.viewer, network_status=self.network.status)
        )

    @property
    def can_open_history(self) -> bool:
        return bool(policy.open_history(self.viewer)) and self.network.history_rule != "full"

    @property
    def organisations(self) -> list[tuple[str, str]]:
        found = {m.organisation.id: m.organisation.name for m in self.members}
        return sorted(found.items(), key=lambda pair: pair[1])

    @property
    def others(self) -> list[tuple[str, str]]:
        return [
            (m.involvement.account_id, f"{m.name}, {m.organisation.name}")
            for m in self.members
            if m.involvement.account_id != self.viewer.account_id
        ]


def _place(session: Session, keys: Keyring, viewer: Viewer, network_id: str) -> Place:
    """The notes services audit the read itself ("notes.viewed"), so the network's view is not audited again."""
    standing = notes.standing(session=session, account=viewer.account, network_id=network_id)
    if not policy.practitioner_view(standing.viewer):
        return Place(standing=standing)
    view = networks.view_network(
        session=session, keys=keys, actor=viewer.actor, network_id=standing.network.id, audited=False
    )
    return Place(standing=standing, child_name=view.child.display_name, members=view.members)


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
        place = _place(session, rt.keys, viewer, network_id)
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


# Posting


def _iso_date(day: str, month: str, year: str) -> str | None:
    """Three boxes as YYYY-MM-DD; anything that cannot be a date is passed on for the service to refuse."""
    if not (day.strip() or month.strip() or year.strip()):
        return None
    day, month, year = day.strip(), month.strip(), year.strip()
    if day.isdigit() and month.isdigit() and year.isdigit() and len(year) == 4:
        return f"{year}-{int(month):02d}-{int(day):02d}"
    return "not a date"


def _note_values(form: Mapping[str, list[str]]) -> dict[str, Any]:
    values: dict[str, Any] = {key: (form.get(key) or [""])[0] for key in TEXT_FIELDS}
    for key in LIST_FIELDS:
        values[key] = list(form.get(key, []))
    return values


def _note_input(values: Mapping[str, Any]) -> notes.NoteInput:
    return notes.NoteInput(
        body=values["body"],
        category=values["category"] or None,
        level=values["level"] or None,
        observed_on=_iso_date(values["observed_day"], values["observed_month"], values["observed_year"]),
        audience=values["audience"] or None,
        organisation_ids=values["organisation_ids"],
        user_ids=values["user_ids"],
        family_user_ids=values["family_user_ids"],
        basis=values["basis"] or None,
        consent_from=values["consent_from"],
        consented_on=_iso_date(values["consented_day"], values["consented_month"], values["consented_year"]),
        reason=values["reason"] or None,
        justification=values["justification"],
        referral_route_acknowledged=values["referral_route_acknowledged"] == "yes",
    )


def _audience_key(draft: notes.Draft) -> str:
    """What the author checked: posting with a different audience shows the check again first."""
    return "|".join(
        [
            draft.audience,
            ",".join(sorted(draft.organisation_ids)),
            ",".join(sorted(draft.user_ids)),
            ",".join(sorted(draft.family_user_ids)),
        ]
    )


async def _note_form(
    request: Request,
    values: Mapping[str, Any],
    *,
    errors: dict[str, str] | None = None,
    draft: notes.Draft | None = None,
    status: int = 200,
) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    network_id = request.path_params["network_id"]

    def load(session: Session) -> tuple[Place, list[tuple[str, str]], notes.AudiencePreview | None, dict[str, str]]:
        place = _place(session, rt.keys, viewer, network_id)
        if not policy.practitioner_view(place.viewer):
            raise NotFound("No such network")
        family = notes.family_choices(
            session=session, keys=rt.keys, account=viewer.account, network_id=place.network.id
        )
        if draft is None:
            return place, family, None, {}
        try:
            notes.check_audience(session=session, account=viewer.account, network_id=place.network.id, draft=draft)
            notes.check_observed_on(session=session, keys=rt.keys, network=place.network, observed_on=draft.observed_on)
        except Invalid as problem:
            return place, family, None, problem.fields
        preview = notes.preview_audience(
            session=session,
            account=viewer.account,
            network_id=place.network.id,
            audience=draft.audience,
            organisation_ids=draft.organisation_ids,
            user_ids=draft.user_ids,
            family_user_ids=draft.family_user_ids,
        )
        return place, family, preview, {}

    place, family, preview, refused = await rt.db.run(load)
    errors = {**(errors or {}), **refused}
    if refused:
        status = 422
    context = {
        "place": place,
        "values": values,
        "errors": errors,
        "preview": preview,
        "checked_audience": _audience_key(draft) if preview is not None and draft is not None else "",
        "family": family,
        "categories": CATEGORY_LABELS,
        "reasons": REASON_LABELS,
        "referral_route": rt.settings.referral_route,
        "form_order": FORM_ORDER,
    }
    return render(request, "notes/new.html", context, status)


async def new_note_form(request: Request) -> Response:
    today = networks.today()
    values: dict[str, Any] = {key: "" for key in TEXT_FIELDS} | {key: [] for key in LIST_FIELDS}
    values |= {
        "audience": "lead",
        "observed_day": str(today.day),
        "observed_month": str(today.month),
        "observed_year": str(today.year),
    }
    return await _note_form(request, values)


async def post_note(request: Request) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    network_id = request.path_params["network_id"]
    form = await form_lists_of(request)
    values = _note_values(form)
    action = (form.get("action") or ["preview"])[0]
    try:
        draft = notes.clean_draft(_note_input(values), today=networks.today())
    except Invalid as problem:
        return await _note_form(request, values, errors=problem.fields, status=422)
    if notes.referral_route_unconfirmed(draft, acknowledged=values["referral_route_acknowledged"] == "yes"):
        errors = {"referral_route_acknowledged": notes.REFERRAL_ROUTE_UNCONFIRMED}
        return await _note_form(request, values, errors=errors, status=422)
    changed = bool(values["checked_audience"]) and values["checked_audience"] != _audience_key(draft)
    if action != "post" or changed:
        return await _note_form(request, values, draft=draft)
    try:
        await rt.db.run(
            lambda session: notes.post_note(
                session=session,
                keys=rt.keys,
                account=viewer.account,
                network_id=network_id,
                draft=draft,
                referral_route=rt.settings.referral_route,
                referral_route_acknowledged=values["referral_route_acknowledged"] == "yes",
                thresholds=rt.settings.alert_thresholds,
            )
        )
    except Invalid as problem:
        return await _note_form(request, values, errors=problem.fields, status=422)
    except notes.ReferralRouteNotAcknowledged as problem:
        errors = {"referral_route_acknowledged": problem.message}
        return await _note_form(request, values, errors=errors, draft=draft, status=422)
    return redirect(f"/networks/{network_id}/notes?notice=note-posted")


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
        place = _place(session, rt.keys, viewer, network_id)
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
        "errors": errors,
        "categories": CATEGORY_LABELS,
        "levels": LEVEL_LABELS,
        "organisations": sorted(organisations.items(), key=lambda pair: pair[1] or ""),
        "query": query,
        "live_cursor": cursor,
    }
    return render(request, "notes/chronology.html", context, 422 if errors else 200)


# One note and what can be done to it


async def _load_note(request: Request, *, audited: bool) -> tuple[Place, notes.NoteView, str]:
    viewer = signed_in(request)
    rt = runtime(request)
    note_id = request.path_params["note_id"]

    def load(session: Session) -> tuple[Place, notes.NoteView, str]:
        network_id = notes.network_of_note(session=session, account=viewer.account, note_id=note_id)
        cursor = stream.page_cursor(session=session, keys=rt.keys, network_id=network_id)
        item = notes.one_note(session=session, keys=rt.keys, account=viewer.account, note_id=note_id, audited=audited)
        return _place(session, rt.keys, viewer, network_id), item, cursor

    return await rt.db.run(load)


async def note_page(
    request: Request,
    *,
    errors: dict[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
    template: str = "notes/note.html",
    loaded: tuple[Place, notes.NoteView, str] | None = None,
) -> Response:
    place, item, cursor = loaded or await _load_note(request, audited=status == 200)
    return_to = (values or {}).get("return_to") or request.query_params.get("return_to") or "note"
    context = {
        "place": place,
        "item": item,
        "errors": errors or {},
        "values": values or {},
        "return_to": "feed" if return_to == "feed" else "note",
        "live_cursor": cursor if template == "notes/note.html" else None,
    }
    return render(request, template, context, status)


async def show_note(request: Request) -> Response:
    return await note_page(request)


def _back(network_id: str, note_id: str, return_to: str | None, notice: str) -> Response:
    if return_to == "note":
        return redirect(f"/notes/{note_id}?notice={notice}")
    return redirect(f"/networks/{network_id}/notes?notice={notice}")


def _refused(note_id: str, problem: DomainError) -> dict[str, str]:
    return {f"note-{note_id}": problem.message}


async def revise_form(request: Request) -> Response:
    loaded = await _load_note(request, audited=True)
    _, item, _ = loaded
    if not item.can_revise:
        message = "This note has been redacted" if item.redacted else "Only the author can revise this note"
        status = 409 if item.redacted else 403
        return await note_page(request, errors={f"note-{item.note.id}": message}, status=status, loaded=loaded)
    return await note_page(request, template="notes/revise.html", loaded=loaded)


async def redact_form(request: Request) -> Response:
    loaded = await _load_note(request, audited=True)
    _, item, _ = loaded
    if not item.can_redact:
        message = (
            "This note has already been redacted"
            if item.redacted
            else "Only the author or a lead professional can redact this note"
        )
        status = 409 if item.redacted else 403
        return await note_page(request, errors={f"note-{item.note.id}": message}, status=status, loaded=loaded)
    return await note_page(request, template="notes/redact.html", loaded=loaded)


NoteChange = Callable[[Session, Account, str, dict[str, str]], str]


async def _note_action(
    request: Request,
    change: NoteChange,
    *,
    notice: str,
    on_invalid: Callable[[str, Invalid, dict[str, str]], Awaitable[Response]] | None = None,
) -> Response:
    """Run one change to a note, then go back where the person came from; refusals re-render the note."""
    viewer = signed_in(request)
    rt = runtime(request)
    note_id = request.path_params["note_id"]
    form = await form_of(request)
    try:
        network_id = await rt.db.run(lambda session: change(session, viewer.account, note_id, form))
    except Invalid as problem:
        if on_invalid is None:
            raise
        return await on_invalid(note_id, problem, form)
    except (Conflict, Forbidden) as problem:
        return await note_page(request, errors=_refused(note_id, problem), values=form, status=problem.status)
    return _back(network_id, note_id, form.get("return_to"), notice)


def _form_again(request: Request, template: str) -> Callable[[str, Invalid, dict[str, str]], Awaitable[Response]]:
    async def render_again(note_id: str, problem: Invalid, form: dict[str, str]) -> Response:
        return await note_page(request, errors=problem.fields, values=form, status=422, template=template)

    return render_again


async def revise(request: Request) -> Response:
    rt = runtime(request)

    def change(session: Session, account: Account, note_id: str, form: dict[str, str]) -> str:
        note = notes.revise(
            session=session,
            keys=rt.keys,
            account=account,
            note_id=note_id,
            body=form.get("body"),
            level=form.get("level") or None,
            thresholds=rt.settings.alert_thresholds,
        )
        return note.network_id

    return await _note_action(
        request, change, notice="note-revised", on_invalid=_form_again(request, "notes/revise.html")
    )


async def redact(request: Request) -> Response:
    rt = runtime(request)

    def change(session: Session, account: Account, note_id: str, form: dict[str, str]) -> str:
        note = notes.redact(
            session=session,
            keys=rt.keys,
            account=account,
            note_id=note_id,
            reason=form.get("reason"),
            thresholds=rt.settings.alert_thresholds,
        )
        return note.network_id

    return await _note_action(
        request, change, notice="note-redacted", on_invalid=_form_again(request, "notes/redact.html")
    )


async def reply(request: Request) -> Response:
    keys = runtime(request).keys

    def change(session: Session, account: Account, note_id: str, form: dict[str, str]) -> str:
        notes.reply(session=session, keys=keys, account=account, note_id=note_id, body=form.get("body"))
        return notes.network_of_note(session=session, account=account, note_id=note_id)

    async def reply_again(note_id: str, problem: Invalid, form: dict[str, str]) -> Response:
        field_id = f"reply-{note_id}"
        errors = {field_id: problem.fields.get("body", problem.message)}
        values = {field_id: form.get("body", ""), "return_to": form.get("return_to", "")}
        return await note_page(request, errors=errors, values=values, status=422)

    return await _note_action(request, change, notice="reply-posted", on_invalid=reply_again)


async def acknowledge(request: Request) -> Response:
    keys = runtime(request).keys

    def change(session: Session, account: Account, note_id: str, form: dict[str, str]) -> str:
        notes.acknowledge(session=session, keys=keys, account=account, note_id=note_id)
        return notes.network_of_note(session=session, account=account, note_id=note_id)

    return await _note_action(request, change, notice="note-acknowledged")


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
