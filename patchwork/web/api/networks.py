"""The networks part of the JSON API: search, networks, involvements, leads, merge."""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from patchwork import policy
from patchwork.clock import isoformat
from patchwork.services import children, family, network_links, networks
from patchwork.web.api.convert import child_out, involvement_out, network_out, organisation_out
from patchwork.web.api.jsonio import json_response, parse_json, require_viewer
from patchwork.web.api.openapi import operation
from patchwork.web.api.schemas import (
    InvolvementIn,
    InvolvementOut,
    LeadCreate,
    MergeRequest,
    MergeResponse,
    NetworkCreate,
    NetworkList,
    NetworkOut,
    NetworkSummary,
    NetworkUpdate,
    SearchInvolvement,
    SearchMatchOut,
    SearchRequest,
    SearchResponse,
)
from patchwork.web.context import runtime


async def _view(request: Request, network_id: str, *, audited: bool) -> NetworkOut:
    viewer = require_viewer(request)
    rt = runtime(request)

    def read(session: Session) -> networks.NetworkView:
        if policy.sees_as_family(viewer.actor):
            return family.network_view(
                session=session, keys=rt.keys, account=viewer.account, network_id=network_id, audited=audited
            )
        return networks.view_network(
            session=session, keys=rt.keys, actor=viewer.actor, network_id=network_id, audited=audited
        )

    return network_out(await rt.db.run(read))


@operation(
    "POST",
    "/children/search",
    summary="Find a child's network by exact identifiers (family name, date of birth, and given name or NHS number)",
    body=SearchRequest,
    responses={200: SearchResponse},
    refusals=(404, 429),
)
async def search_children(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    data = await parse_json(request, SearchRequest)
    query = children.clean_query(data.model_dump(), today=networks.today())
    match = await rt.db.run(
        lambda session: networks.search(
            session=session, keys=rt.keys, actor=viewer.actor, query=query, per_hour=rt.settings.search_rate_limit
        )
    )
    if match is None:
        return json_response(SearchResponse(match=None))
    return json_response(
        SearchResponse(
            match=SearchMatchOut(
                network_id=match.network_id,
                involvements=[
                    SearchInvolvement(
                        id=m.involvement.id,
                        name=m.name,
                        role_label=m.role_label,
                        organisation=organisation_out(m.organisation),
                        contact=m.contact,
                    )
                    for m in match.members
                ],
            )
        )
    )


@operation(
    "POST",
    "/networks",
    summary="Start a network for a child; the caller becomes its first member",
    body=NetworkCreate,
    responses={201: NetworkOut},
    refusals=(404, 409),
)
async def create_network(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    data = await parse_json(request, NetworkCreate)
    identity = children.clean_identity(data.child.model_dump(), today=networks.today())
    details = networks.InvolvementDetails(
        role_label=data.role_label, reason=data.reason, contact=data.contact, sensitive=data.sensitive
    )

    different = (
        network_links.DifferentChild(detail=data.different_child.detail, reason=data.different_child.reason)
        if data.different_child is not None
        else None
    )

    def create(session: Session) -> networks.NetworkView:
        network = networks.start_network(
            session=session,
            keys=rt.keys,
            actor=viewer.actor,
            identity=identity,
            details=details,
            different_child=different,
        )
        return networks.view_network(
            session=session, keys=rt.keys, actor=viewer.actor, network_id=network.id, audited=False
        )

    view = await rt.db.run(create)
    return json_response(network_out(view), 201)


@operation(
    "GET",
    "/networks",
    summary="The networks the caller belongs to (a family member: those they were invited into; role_label is "
    "their relationship)",
    responses={200: NetworkList},
)
async def list_networks(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)

    def read(session: Session) -> list[NetworkSummary]:
        if policy.sees_as_family(viewer.actor):
            return [
                NetworkSummary(
                    id=item.network.id,
                    status=item.network.status,
                    child=child_out(item.child),
                    role_label=item.relationship,
                    is_lead=False,
                    member_count=item.involved,
                    last_activity_at=isoformat(item.last_activity_at),
                )
                for item in family.my_family_networks(session=session, keys=rt.keys, account=viewer.account)
            ]
        return [
            NetworkSummary(
                id=item.network.id,
                status=item.network.status,
                child=child_out(item.child),
                role_label=item.role_label,
                is_lead=item.is_lead,
                member_count=item.member_count,
                last_activity_at=isoformat(item.last_activity_at),
            )
            for item in networks.my_networks(session=session, keys=rt.keys, actor=viewer.actor)
        ]

    return json_response(NetworkList(networks=await rt.db.run(read)))


@operation(
    "GET",
    "/networks/{network_id}",
    summary="A network the caller belongs to",
    responses={200: NetworkOut},
    refusals=(404,),
)
async def get_network(request: Request) -> Response:
    return json_response(await _view(request, request.path_params["network_id"], audited=True))


@operation(
    "PATCH",
    "/networks/{network_id}",
    summary="Set the history rule, or close or reopen the network (a lead)",
    body=NetworkUpdate,
    responses={200: NetworkOut},
    refusals=(403, 404, 409),
)
async def update_network(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    network_id = request.path_params["network_id"]
    data = await parse_json(request, NetworkUpdate)

    def update(session: Session) -> None:
        if data.history_rule is not None:
            networks.set_history_rule(
                session=session, keys=rt.keys, actor=viewer.actor, network_id=network_id, rule=data.history_rule
            )
        if data.status is not None:
            networks.set_open(
                session=session,
                keys=rt.keys,
                actor=viewer.actor,
                network_id=network_id,
                open_=data.status == "open",
                reason=data.reason,
            )

    await rt.db.run(update)
    return json_response(await _view(request, network_id, audited=False))


@operation(
    "POST",
    "/networks/{network_id}/involvements",
    summary="Register the caller's involvement in a network",
    body=InvolvementIn,
    responses={201: InvolvementOut},
    refusals=(404, 409),
)
async def add_involvement(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    network_id = request.path_params["network_id"]
    data = await parse_json(request, InvolvementIn)
    details = networks.InvolvementDetails(
        role_label=data.role_label, reason=data.reason, contact=data.contact, sensitive=data.sensitive
    )

    def add(session: Session) -> networks.MemberView:
        involvement = networks.register_involvement(
            session=session, keys=rt.keys, actor=viewer.actor, network_id=network_id, details=details
        )
        return networks.member_view(session=session, cipher=rt.cipher, involvement=involvement)

    return json_response(involvement_out(await rt.db.run(add)), 201)


@operation(
    "DELETE",
    "/networks/{network_id}/involvements/{involvement_id}",
    summary="End an involvement (its holder, or a lead)",
    responses={200: InvolvementOut},
    refusals=(403, 404, 409),
)
async def end_involvement(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)

    def end(session: Session) -> networks.MemberView:
        involvement = networks.end_involvement(
            session=session,
            keys=rt.keys,
            actor=viewer.actor,
            network_id=request.path_params["network_id"],
            involvement_id=request.path_params["involvement_id"],
        )
        return networks.member_view(session=session, cipher=rt.cipher, involvement=involvement)

    return json_response(involvement_out(await rt.db.run(end)))


@operation(
    "POST",
    "/networks/{network_id}/leads",
    summary="Appoint a lead professional (by a lead; or by a member for themselves while there is none)",
    body=LeadCreate,
    responses={201: InvolvementOut},
    refusals=(403, 404, 409),
)
async def appoint_lead(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    data = await parse_json(request, LeadCreate)

    def appoint(session: Session) -> networks.MemberView:
        involvement = networks.appoint_lead(
            session=session,
            keys=rt.keys,
            actor=viewer.actor,
            network_id=request.path_params["network_id"],
            user_id=data.user_id,
        )
        return networks.member_view(session=session, cipher=rt.cipher, involvement=involvement)

    return json_response(involvement_out(await rt.db.run(appoint)), 201)


@operation(
    "DELETE",
    "/networks/{network_id}/leads/me",
    summary="Step down as lead professional",
    responses={200: InvolvementOut},
    refusals=(403, 404, 409),
)
async def step_down(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)

    def down(session: Session) -> networks.MemberView:
        involvement = networks.step_down(
            session=session, keys=rt.keys, actor=viewer.actor, network_id=request.path_params["network_id"]
        )
        return networks.member_view(session=session, cipher=rt.cipher, involvement=involvement)

    return json_response(involvement_out(await rt.db.run(down)))


@operation(
    "POST",
    "/networks/merges",
    summary="Merge a duplicate network into another (system admin)",
    body=MergeRequest,
    responses={201: MergeResponse},
    refusals=(404,),
)
async def merge_networks(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    data = await parse_json(request, MergeRequest)
    target = await rt.db.run(
        lambda session: networks.merge(
            session=session,
            keys=rt.keys,
            actor=viewer.actor,
            source_id=data.source_id,
            target_id=data.target_id,
            reason=data.reason,
        )
    )
    return json_response(MergeResponse(id=target.id, merged=data.source_id), 201)
