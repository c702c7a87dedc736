"""An organisation's single sign-on settings (system admins): read, connect or change, disconnect. The client
secret is written, never read back."""

from __future__ import annotations

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from patchwork.clock import isoformat
from patchwork.errors import NotFound
from patchwork.models.identity import CLIENT_ID_LIMIT, CLIENT_SECRET_LIMIT, DISCOVERY_URL_LIMIT
from patchwork.services import sso
from patchwork.web.api.jsonio import json_response, parse_json, require_viewer
from patchwork.web.api.openapi import operation
from patchwork.web.api.schemas import Strict, text_field
from patchwork.web.context import runtime
from patchwork.web.pages.auth import sso_callback_url


class SsoIn(Strict):
    discovery_url: str = text_field(DISCOVERY_URL_LIMIT, description="The provider's OpenID configuration URL")
    client_id: str = text_field(CLIENT_ID_LIMIT)
    client_secret: str | None = text_field(
        CLIENT_SECRET_LIMIT, required=False, default=None, description="Required to connect; left out keeps it"
    )
    domains: list[str] = Field(min_length=1, max_length=50, description="E-mail domains the provider signs in")
    multi_factor_acr: list[str] = Field(default_factory=list, max_length=20)


class SsoOut(BaseModel):
    organisation_id: str
    discovery_url: str
    issuer: str
    client_id: str
    domains: list[str]
    multi_factor_acr: list[str]
    redirect_uri: str
    updated_at: str


def _out(request: Request, found: sso.SsoView) -> SsoOut:
    return SsoOut(
        organisation_id=found.organisation_id,
        discovery_url=found.discovery_url,
        issuer=found.issuer,
        client_id=found.client_id,
        domains=found.domains,
        multi_factor_acr=found.multi_factor_acr,
        redirect_uri=sso_callback_url(request),
        updated_at=isoformat(found.updated_at),
    )


@operation(
    "GET",
    "/organisations/{organisation_id}/sso",
    summary="An organisation's identity provider (system admin)",
    responses={200: SsoOut},
    refusals=(403, 404),
)
async def get_sso(request: Request) -> Response:
    viewer = require_viewer(request)
    organisation_id = request.path_params["organisation_id"]
    found = await runtime(request).db.run(
        lambda session: sso.view(session=session, actor=viewer.actor, organisation_id=organisation_id)
    )
    if found is None:
        raise NotFound("This organisation has no identity provider")
    return json_response(_out(request, found))


@operation(
    "PUT",
    "/organisations/{organisation_id}/sso",
    summary="Connect or change an organisation's identity provider, tested first (system admin)",
    body=SsoIn,
    responses={200: SsoOut},
    refusals=(403, 404),
)
async def put_sso(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    data = await parse_json(request, SsoIn)
    found = await sso.save(
        db=rt.db,
        keys=rt.keys,
        actor=viewer.actor,
        organisation_id=request.path_params["organisation_id"],
        raw=sso.SsoInput(
            discovery_url=data.discovery_url,
            client_id=data.client_id,
            client_secret=data.client_secret or "",
            domains=data.domains,
            multi_factor_acr=data.multi_factor_acr,
        ),
        redirect_uri=sso_callback_url(request),
    )
    return json_response(_out(request, found))


@operation(
    "DELETE",
    "/organisations/{organisation_id}/sso",
    summary="Disconnect an organisation's identity provider (system admin)",
    responses={204: None},
    refusals=(403, 404),
)
async def delete_sso(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    organisation_id = request.path_params["organisation_id"]
    await rt.db.run(
        lambda session: sso.remove(session=session, keys=rt.keys, actor=viewer.actor, organisation_id=organisation_id)
    )
    return Response(status_code=204)
