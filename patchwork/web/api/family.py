"""The family part of the JSON API: a lead invites a family member, the family member accepts, practitioners list
the network's family members."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from patchwork import limits
from patchwork.clock import isoformat
from patchwork.services import accounts, family
from patchwork.web.api.jsonio import json_response, parse_json, require_viewer
from patchwork.web.api.openapi import operation
from patchwork.web.api.schemas import Strict, text_field
from patchwork.web.context import client_address, runtime


class FamilyInvitationIn(Strict):
    name: str = text_field(limits.PERSON_NAME)
    relationship: str = text_field(limits.RELATIONSHIP)
    email: str = text_field(limits.EMAIL)


class FamilyInvitationOut(BaseModel):
    id: str
    code: str = Field(description="Shown once: hand it to the family member; only its digest is kept")
    network_id: str
    name: str
    relationship: str
    email: str
    expires_at: str


class FamilyAcceptIn(Strict):
    code: str = Field(max_length=64)
    email: str = text_field(limits.EMAIL)
    password: str = Field(max_length=256)
    name: str = text_field(limits.PERSON_NAME)


class FamilyAccountOut(BaseModel):
    id: str
    email: str
    name: str
    kind: Literal["family"]
    organisation: None = None
    roles: list[str]
    status: Literal["active"]
    network_id: str
    relationship: str


class FamilyMemberOut(BaseModel):
    user_id: str
    name: str
    relationship: str
    since: str


class WaitingInvitationOut(BaseModel):
    id: str
    name: str
    relationship: str
    email: str
    expires_at: str


class FamilyList(BaseModel):
    family_members: list[FamilyMemberOut]
    invitations: list[WaitingInvitationOut] = Field(description="Invitations not yet accepted; leads only")


@operation(
    "POST",
    "/networks/{network_id}/family-invitations",
    summary="Invite a family member into the network (a lead); the one-time code is in the answer, once",
    body=FamilyInvitationIn,
    responses={201: FamilyInvitationOut},
    refusals=(403, 404, 409),
)
async def invite_family_member(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    data = await parse_json(request, FamilyInvitationIn)
    lifetime = timedelta(hours=rt.settings.family_invitation_hours)
    invited = await rt.db.run(
        lambda session: family.invite(
            session=session,
            keys=rt.keys,
            account=viewer.account,
            network_id=request.path_params["network_id"],
            details=family.InvitationDetails(name=data.name, relationship=data.relationship, email=data.email),
            lifetime=lifetime,
        )
    )
    invitation = invited.opened
    return json_response(
        FamilyInvitationOut(
            id=invitation.id,
            code=invited.code,
            network_id=invitation.network_id,
            name=invitation.name,
            relationship=invitation.relationship,
            email=invitation.email,
            expires_at=isoformat(invitation.expires_at),
        ),
        201,
    )


@operation(
    "POST",
    "/family/accept",
    summary="Accept a family invitation with its code: creates the family account (or adds the network to one)",
    body=FamilyAcceptIn,
    responses={201: FamilyAccountOut},
    public=True,
    refusals=(409, 429),
)
async def accept_family_invitation(request: Request) -> Response:
    rt = runtime(request)
    data = await parse_json(request, FamilyAcceptIn)
    joined = await family.accept(
        db=rt.db,
        passwords=rt.passwords,
        keys=rt.keys,
        limits=rt.sign_in_limits,
        details=family.Acceptance(code=data.code, email=data.email, name=data.name, password=data.password),
        address=client_address(request),
    )
    account = joined.account
    return json_response(
        FamilyAccountOut(
            id=account.id,
            email=account.email,
            name=account.name,
            kind="family",
            roles=accounts.roles_of(account),
            status="active",
            network_id=joined.membership.network_id,
            relationship=joined.relationship,
        ),
        201,
    )


@operation(
    "GET",
    "/networks/{network_id}/family-members",
    summary="The network's family members, whom notes can be shared with (practitioner members)",
    responses={200: FamilyList},
    refusals=(404,),
)
async def list_family_members(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)

    def load(session: Session) -> family.FamilyOfNetwork:
        return family.family_of_network(
            session=session, keys=rt.keys, account=viewer.account, network_id=request.path_params["network_id"]
        )

    found = await rt.db.run(load)
    return json_response(
        FamilyList(
            family_members=[
                FamilyMemberOut(user_id=m.user_id, name=m.name, relationship=m.relationship, since=isoformat(m.since))
                for m in found.members
            ],
            invitations=[
                WaitingInvitationOut(
                    id=i.id,
                    name=i.name,
                    relationship=i.relationship,
                    email=i.email,
                    expires_at=isoformat(i.expires_at),
                )
                for i in found.waiting
            ],
        )
    )
