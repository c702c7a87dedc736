"""Organisation admins decide account requests and deactivate accounts; system admins keep organisations."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from patchwork import policy
from patchwork.errors import Forbidden, Invalid, NotFound
from patchwork.models import Account, Organisation
from patchwork.services import accounts, organisations, recovery
from patchwork.services.organisations import TYPE_CHOICES
from patchwork.web.context import runtime
from patchwork.web.pages.common import form_of, redirect, render, signed_in


async def organisation_accounts(request: Request) -> Response:
    viewer = signed_in(request)
    organisation_id = request.path_params.get("organisation_id") or viewer.account.organisation_id
    if not organisation_id or not policy.manage_accounts_of(viewer.actor, organisation_id):
        raise NotFound()

    def load(session):  # type: ignore[no-untyped-def]
        organisation = organisations.get_organisation(session=session, organisation_id=organisation_id)
        found = accounts.accounts_of_organisation(session=session, actor=viewer.actor, organisation_id=organisation_id)
        return organisation, found, accounts.deactivations(session=session, accounts=found)

    organisation, found, deactivations = await runtime(request).db.run(load)
    deactivated = request.query_params.get("deactivated")
    return render(
        request,
        "organisation_accounts.html",
        {
            "organisation": organisation,
            "pending": [a for a in found if a.status == "pending"],
            "active": [a for a in found if a.status == "active"],
            "inactive": [a for a in found if a.status in ("deactivated", "refused")],
            "deactivations": deactivations,
            "deactivated_notice": next((a for a in found if a.id == deactivated and a.id in deactivations), None),
            "values": {},
            "errors": {},
        },
    )


def _back_to(organisation_id: str | None, notice: str) -> str:
    return f"/organisations/{organisation_id}/accounts?notice={notice}"


async def _change_account(request: Request, change: Callable[[Session, str], Account], notice: str) -> Response:
    account_id = request.path_params["account_id"]
    account = await runtime(request).db.run(lambda session: change(session, account_id))
    return redirect(_back_to(account.organisation_id, notice))


async def decide(request: Request) -> Response:
    viewer = signed_in(request)
    form = await form_of(request)
    decision = form.get("decision")
    if decision not in ("approve", "refuse"):
        raise Invalid({"decision": "Choose approve or refuse"}, "Choose approve or refuse")

    def change(session: Session, account_id: str) -> Account:
        return accounts.decide_request(
            session=session, actor=viewer.actor, account_id=account_id, approve=decision == "approve"
        )

    return await _change_account(request, change, "account-approved" if decision == "approve" else "account-refused")


async def deactivate_form(
    request: Request, *, values: dict[str, str] | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    """Whose account, and what deactivating it does, before it happens; asks why."""
    viewer = signed_in(request)
    account_id = request.path_params["account_id"]

    def load(session: Session) -> tuple[Account, Organisation | None]:
        account = accounts.deactivatable(session=session, actor=viewer.actor, account_id=account_id)
        organisation_id = account.organisation_id
        found = (
            organisations.get_organisation(session=session, organisation_id=organisation_id)
            if organisation_id
            else None
        )
        return account, found

    account, organisation = await runtime(request).db.run(load)
    context = {"account": account, "organisation": organisation, "values": values or {}, "errors": errors or {}}
    return render(request, "account_deactivate.html", context, status)


async def deactivate(request: Request) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    account_id = request.path_params["account_id"]
    form = await form_of(request)
    try:
        account = await rt.db.run(
            lambda session: accounts.deactivate(
                session=session, keys=rt.keys, actor=viewer.actor, account_id=account_id, reason=form.get("reason")
            )
        )
    except Invalid as problem:
        return await deactivate_form(request, values=form, errors=problem.fields, status=422)
    return redirect(f"/organisations/{account.organisation_id}/accounts?deactivated={account.id}")


async def reactivate(request: Request) -> Response:
    viewer = signed_in(request)

    def change(session: Session, account_id: str) -> Account:
        return accounts.reactivate(session=session, actor=viewer.actor, account_id=account_id)

    return await _change_account(request, change, "account-reactivated")


async def reset_code(request: Request) -> Response:
    """A one-time password reset code for one of the organisation's people, shown to the admin once."""
    viewer = signed_in(request)
    account_id = request.path_params["account_id"]
    rt = runtime(request)

    def issue(session: Session) -> tuple[Account, str]:
        code = recovery.issue_code(session=session, keys=rt.keys, actor=viewer.actor, account_id=account_id)
        account = accounts.get_account(session=session, account_id=account_id)
        return account, code

    account, code = await rt.db.run(issue)
    response = render(request, "reset_code.html", {"account": account, "code": code})
    response.headers["Cache-Control"] = "no-store"
    return response


async def add_account(request: Request) -> Response:
    viewer = signed_in(request)
    organisation_id = request.path_params["organisation_id"]
    rt = runtime(request)
    form = await form_of(request)
    try:
        await accounts.create_account(
            db=rt.db,
            passwords=rt.passwords,
            actor=viewer.actor,
            details=accounts.AccountDetails(
                name=form.get("name"),
                email=form.get("email"),
                job_title=form.get("job_title", ""),
                organisation_id=organisation_id,
                password=form.get("password"),
                role=form.get("role", "practitioner"),
            ),
        )
    except Forbidden as error:
        raise NotFound() from error
    except Invalid as problem:
        response = await organisation_accounts(request)
        return _with_form_errors(request, response, form, problem.fields)
    return redirect(_back_to(organisation_id, "account-created"))


def _with_form_errors(request: Request, page: Response, form: dict[str, str], errors: dict[str, str]) -> Response:
    context = dict(getattr(page, "context", {}))
    context.update(values={k: v for k, v in form.items() if k != "password"}, errors=errors)
    return render(request, "organisation_accounts.html", context, 422)


async def organisations_page(request: Request) -> Response:
    viewer = signed_in(request)
    if not policy.manage_organisations(viewer.actor):
        raise NotFound()
    found = await runtime(request).db.run(lambda session: organisations.list_organisations(session=session))
    return render(
        request,
        "organisations.html",
        {"organisations": found, "types": TYPE_CHOICES, "values": {}, "errors": {}},
    )


async def add_organisation(request: Request) -> Response:
    viewer = signed_in(request)
    if not policy.manage_organisations(viewer.actor):
        raise NotFound()
    form = await form_of(request)
    rt = runtime(request)
    try:
        await rt.db.run(
            lambda session: organisations.create_organisation(
                session=session, actor=viewer.actor, name=form.get("name"), type=form.get("type")
            )
        )
    except Invalid as problem:
        found = await rt.db.run(lambda session: organisations.list_organisations(session=session))
        return render(
            request,
            "organisations.html",
            {"organisations": found, "types": TYPE_CHOICES, "values": form, "errors": problem.fields},
            422,
        )
    return redirect("/organisations?notice=organisation-saved")


async def edit_organisation(request: Request) -> Response:
    viewer = signed_in(request)
    if not policy.manage_organisations(viewer.actor):
        raise NotFound()
    organisation_id = request.path_params["organisation_id"]
    form = await form_of(request)
    rt = runtime(request)
    try:
        await rt.db.run(
            lambda session: organisations.update_organisation(
                session=session,
                actor=viewer.actor,
                organisation_id=organisation_id,
                name=form.get("name"),
                type=form.get("type"),
                active=form.get("active") == "yes",
            )
        )
    except Invalid as problem:
        found = await rt.db.run(lambda session: organisations.list_organisations(session=session))
        return render(
            request,
            "organisations.html",
            {
                "organisations": found,
                "types": TYPE_CHOICES,
                "values": {},
                "errors": {},
                "edit_errors": {organisation_id: problem.fields},
                "edit_values": {organisation_id: form},
            },
            422,
        )
    return redirect("/organisations?notice=organisation-saved")


routes = [
    Route("/organisation/accounts", organisation_accounts, methods=["GET"]),
    Route("/organisations/{organisation_id}/accounts", organisation_accounts, methods=["GET"]),
    Route("/organisations/{organisation_id}/accounts", add_account, methods=["POST"]),
    Route("/accounts/{account_id}/decision", decide, methods=["POST"]),
    Route("/accounts/{account_id}/deactivate", deactivate_form, methods=["GET"]),
    Route("/accounts/{account_id}/deactivate", deactivate, methods=["POST"]),
    Route("/accounts/{account_id}/reactivate", reactivate, methods=["POST"]),
    Route("/accounts/{account_id}/reset-code", reset_code, methods=["POST"]),
    Route("/organisations", organisations_page, methods=["GET"]),
    Route("/organisations", add_organisation, methods=["POST"]),
    Route("/organisations/{organisation_id}", edit_organisation, methods=["POST"]),
]
