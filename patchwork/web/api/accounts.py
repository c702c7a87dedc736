"""The JSON API under /api/v1: thin handlers over the same services the pages use."""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response

from patchwork.auth.sessions import issue_api_token, revoke_api_token
from patchwork.clock import isoformat
from patchwork.errors import Forbidden, Unauthenticated
from patchwork.services import accounts, api_tokens, organisations, second_factor, signin
from patchwork.web.api.convert import organisation_out, user_out
from patchwork.web.api.jsonio import json_response, parse_json, require_viewer
from patchwork.web.api.openapi import operation
from patchwork.web.api.schemas import (
    MeResponse,
    OrganisationCreate,
    OrganisationList,
    OrganisationOut,
    TokenRequest,
    TokenResponse,
    UserCreate,
    UserOut,
)
from patchwork.web.context import client_address, runtime


@operation(
    "POST",
    "/tokens",
    summary="Exchange e-mail, password and (when enrolled) a TOTP code for a bearer token",
    body=TokenRequest,
    responses={201: TokenResponse},
    public=True,
    refusals=(401, 403, 429),
)
async def create_token(request: Request) -> Response:
    rt = runtime(request)
    data = await parse_json(request, TokenRequest)
    name = api_tokens.clean_name(data.name, required=False)
    address = client_address(request)
    account = await signin.authenticate(
        db=rt.db,
        passwords=rt.passwords,
        limits=rt.sign_in_limits,
        email=data.email,
        password=data.password,
        address=address,
    )
    if account.has_second_factor:
        if not data.totp:
            raise Unauthenticated(
                "This account needs the code from its authenticator app in `totp`", code="totp_required"
            )
        await signin.second_factor(
            db=rt.db,
            cipher=rt.cipher,
            limits=rt.sign_in_limits,
            account_id=account.id,
            code=data.totp,
            address=address,
        )
    elif await rt.db.run(lambda session: second_factor.required(session, account, production=rt.production)):
        raise Forbidden("Set up two-step verification in the web app first", code="second_factor_enrolment_required")
    lifetime = timedelta(hours=rt.settings.api_token_hours)
    token, row = await rt.db.run(
        lambda session: issue_api_token(session=session, account_id=account.id, lifetime=lifetime, name=name)
    )
    return json_response(TokenResponse(token=token, expires_at=isoformat(row.expires_at)), 201)


@operation("DELETE", "/tokens/current", summary="Revoke the token used for this call", responses={204: None})
async def revoke_token(request: Request) -> Response:
    viewer = require_viewer(request, allow_without_second_factor=True)
    token_id = viewer.token_id or ""
    await runtime(request).db.run(lambda session: revoke_api_token(session=session, token_id=token_id))
    return Response(status_code=204)


@operation("GET", "/me", summary="The caller's account", responses={200: MeResponse})
async def me(request: Request) -> Response:
    viewer = require_viewer(request, allow_without_second_factor=True)
    account = viewer.account
    organisation_id = account.organisation_id
    organisation = (
        await runtime(request).db.run(
            lambda session: organisations.get_organisation(session=session, organisation_id=organisation_id)
        )
        if organisation_id
        else None
    )
    return json_response(
        MeResponse(
            id=account.id,
            email=account.email,
            name=account.name,
            kind=account.kind,
            organisation=organisation_out(organisation) if organisation else None,
            roles=accounts.roles_of(account),
            second_factor=account.has_second_factor,
        )
    )


@operation("GET", "/organisations", summary="Active organisations", responses={200: OrganisationList})
async def list_organisations(request: Request) -> Response:
    require_viewer(request)
    found = await runtime(request).db.run(
        lambda session: organisations.list_organisations(session=session, active_only=True)
    )
    return json_response(OrganisationList(organisations=[organisation_out(o) for o in found]))


@operation(
    "POST",
    "/organisations",
    summary="Add an organisation (system admin)",
    body=OrganisationCreate,
    responses={201: OrganisationOut},
    refusals=(403,),
)
async def create_organisation(request: Request) -> Response:
    viewer = require_viewer(request)
    data = await parse_json(request, OrganisationCreate)
    organisation = await runtime(request).db.run(
        lambda session: organisations.create_organisation(
            session=session, actor=viewer.actor, name=data.name, type=data.type.value
        )
    )
    return json_response(organisation_out(organisation), 201)


@operation(
    "POST",
    "/users",
    summary="Create an approved account (system admin, or an organisation admin for their organisation)",
    body=UserCreate,
    responses={201: UserOut},
    refusals=(403,),
)
async def create_user(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    data = await parse_json(request, UserCreate)
    account = await accounts.create_account(
        db=rt.db,
        passwords=rt.passwords,
        actor=viewer.actor,
        details=accounts.AccountDetails(
            name=data.name,
            email=data.email,
            organisation_id=data.organisation_id,
            password=data.password,
            job_title=data.job_title,
            role=data.role,
        ),
    )
    return json_response(user_out(account), 201)
