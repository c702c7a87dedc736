"""Merging two networks of one child, for system admins: each network is found by an exact look-up (the child's
details or the network's reference) and picked from what matched; the merge itself is `networks.merge`, as the
API's. One form, so that what was typed in either look-up is kept while the other is searched."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from patchwork.clock import uk_time
from patchwork.errors import Invalid, NotFound
from patchwork.services import admin_search, networks
from patchwork.services.admin_search import NetworkChoice
from patchwork.web.context import runtime
from patchwork.web.pages.common import form_of, redirect, render, signed_in

# The two look-ups: each one's fields are prefixed with its name, and its choice is posted as `<name>_id`.
SIDES = {"source": "the duplicate network", "target": "the network that stays"}
NOT_FOUND = "No network matches these details exactly"


async def merge_form(request: Request) -> Response:
    viewer = signed_in(request)
    if not viewer.is_system_admin:
        raise NotFound()
    return _render(request, {}, {})


async def merge(request: Request) -> Response:
    """Either a look-up (the button `find` names the side) or the merge."""
    viewer = signed_in(request)
    rt = runtime(request)
    if not viewer.is_system_admin:
        raise NotFound()
    form = await form_of(request)
    side = form.get("find", "")
    if side in SIDES:
        lookup = {name.removeprefix(f"{side}_"): value for name, value in form.items() if name.startswith(f"{side}_")}
        try:
            found = await rt.db.run(
                lambda session: admin_search.find_networks(
                    session=session,
                    keys=rt.keys,
                    actor=viewer.actor,
                    raw=lookup,
                    purpose="merge",
                    per_hour=rt.settings.search_rate_limit,
                    today=networks.today(),
                )
            )
        except Invalid as problem:
            return _render(request, form, {f"{side}_{name}": text for name, text in problem.fields.items()}, 422)
        if not found:
            field = "reference" if lookup.get("reference", "").strip() else "family_name"
            return _render(request, form, {f"{side}_{field}": NOT_FOUND}, 422)
        return _render(request, form, {}, found={side: found})
    try:
        await rt.db.run(
            lambda session: networks.merge(
                session=session,
                keys=rt.keys,
                actor=viewer.actor,
                source_id=form.get("source_id"),
                target_id=form.get("target_id"),
                reason=form.get("reason"),
            )
        )
    except Invalid as problem:
        return _render(request, form, _in_words(problem.fields, form), 422)
    return redirect("/admin/merge?notice=networks-merged")


def _in_words(errors: Mapping[str, str], form: Mapping[str, str]) -> dict[str, str]:
    """The service asks for ids, which this page never shows: a side left unchosen is told to find one."""
    worded = dict(errors)
    for side, words in SIDES.items():
        if side + "_id" in worded and not form.get(side + "_id", "").strip():
            worded[side + "_id"] = f"Find {words} and choose it"
    return worded


def _render(
    request: Request,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    status: int = 200,
    *,
    found: Mapping[str, list[NetworkChoice]] | None = None,
) -> Response:
    choices = {side: _choices(side, (found or {}).get(side), values) for side in SIDES}
    context = {"values": values, "errors": errors, "choices": choices, "sides": SIDES}
    return render(request, "admin_merge.html", context, status)


def _choices(side: str, found: list[NetworkChoice] | None, values: Mapping[str, str]) -> list[dict[str, object]]:
    """The radios for one side: what its look-up just found (the only one checked), or else the network chosen
    before, named by its reference only, since it was not looked up this time."""
    chosen = values.get(f"{side}_id", "")
    if found is None:
        if not chosen:
            return []
        return [{"value": chosen, "text": f"Network {chosen[:8]}", "hint": {"text": "Chosen earlier"}, "checked": True}]
    return [
        {
            "value": choice.id,
            "text": f"{choice.child.display_name}, born {choice.child.date_of_birth.strftime('%-d %B %Y')}",
            "hint": {"text": _about(choice)},
            "checked": choice.id == chosen or len(found) == 1,
        }
        for choice in found
    ]


def _about(choice: NetworkChoice) -> str:
    members = f"{choice.members} member" + ("" if choice.members == 1 else "s")
    leads = f", led by {', '.join(choice.leads)}" if choice.leads else ", no lead professional"
    started = uk_time(choice.started_at)
    return (
        f"Reference {choice.reference}. Started at {started} by {choice.started_by}; {members}{leads}; {choice.status}."
    )


routes = [
    Route("/admin/merge", merge_form, methods=["GET"]),
    Route("/admin/merge", merge, methods=["POST"]),
]
