"""Posting a note: the form, and the check of who will see it before it is posted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from patchwork import policy
from patchwork.errors import Invalid, NotFound
from patchwork.models.notes import CATEGORY_LABELS, REASON_LABELS
from patchwork.services import networks, notes
from patchwork.web.context import runtime
from patchwork.web.pages.common import form_lists_of, redirect, render, signed_in
from patchwork.web.pages.place import Place, load_place

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
        place = load_place(session, rt.keys, viewer, network_id)
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
            ),
            writes_notes=True,
        )
    except Invalid as problem:
        return await _note_form(request, values, errors=problem.fields, status=422)
    except notes.ReferralRouteNotAcknowledged as problem:
        errors = {"referral_route_acknowledged": problem.message}
        return await _note_form(request, values, errors=errors, draft=draft, status=422)
    return redirect(f"/networks/{network_id}/notes?notice=note-posted")
