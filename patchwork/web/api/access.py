"""The access log and exports in the JSON API: who looked at a child's record; a lead's or a subject access export."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, RootModel
from starlette.requests import Request
from starlette.responses import Response

from patchwork.clock import isoformat
from patchwork.services import access_log, subject_access
from patchwork.services.subject_access_records import SubjectAccessExport
from patchwork.web.api.convert import child_out, involvement_out, note_out
from patchwork.web.api.jsonio import json_response, require_viewer
from patchwork.web.api.openapi import operation
from patchwork.web.api.schemas import ChildOut, InvolvementOut, NoteOut
from patchwork.web.context import runtime


class AccessActorOut(BaseModel):
    name: str
    organisation: str | None = Field(description="The practitioner's organisation; null for a system admin")


class AccessLogEntryOut(BaseModel):
    at: str
    actor: AccessActorOut
    action: str = Field(description='What they did, in plain words: "viewed the notes", "exported the chronology"...')
    kind: str = Field(description='The audit action behind it: "notes.viewed", "child.searched"...')


class AccessLogOut(BaseModel):
    entries: list[AccessLogEntryOut] = Field(description="Newest first")
    next: str | None = Field(description="Pass back as `before` for older entries; null on the last page")


class ExportedNetworkOut(BaseModel):
    id: str
    status: str
    history_rule: str
    created_at: str
    last_activity_at: str


class FamilyMemberOut(BaseModel):
    user_id: str
    name: str
    relationship: str


class LeadExportOut(BaseModel):
    """What a lead may see of their network: the child, who is involved, the family, and the notes they may see."""

    kind: Literal["lead"] = "lead"
    exported_at: str
    network: ExportedNetworkOut
    child: ChildOut
    involvements: list[InvolvementOut]
    family_members: list[FamilyMemberOut]
    notes: list[NoteOut]
    access_log: list[AccessLogEntryOut] = Field(
        description="The network's access log as its family sees it, newest first"
    )


class NetworkExportOut(RootModel[LeadExportOut | SubjectAccessExport]):
    """A lead's export (`"kind": "lead"`) or a system admin's subject access export (`"kind": "subject_access"`)."""


def lead_export_out(export: subject_access.LeadExport) -> LeadExportOut:
    network = export.view.network
    return LeadExportOut(
        exported_at=isoformat(export.exported_at),
        network=ExportedNetworkOut(
            id=network.id,
            status=network.status,
            history_rule=network.history_rule,
            created_at=isoformat(network.created_at),
            last_activity_at=isoformat(export.view.last_activity_at),
        ),
        child=child_out(export.view.child),
        involvements=[involvement_out(m) for m in export.view.members],
        family_members=[
            FamilyMemberOut(user_id=m.account_id, name=m.name, relationship=m.relationship)
            for m in export.family_members
        ],
        notes=[note_out(v) for v in export.notes],
        access_log=[access_entry_out(e) for e in export.access_log],
    )


def access_entry_out(entry: access_log.Entry) -> AccessLogEntryOut:
    return AccessLogEntryOut(
        at=isoformat(entry.at),
        actor=AccessActorOut(name=entry.name, organisation=entry.organisation),
        action=entry.words,
        kind=entry.action,
    )


@operation(
    "GET",
    "/networks/{network_id}/access-log",
    summary="Who has viewed, exported or found the child's record, newest first (the network's family and leads); "
    "sensitive involvements and family members' own reads are left out",
    responses={200: AccessLogOut},
    refusals=(404, 422),
)
async def get_access_log(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    limit_text = request.query_params.get("limit", str(access_log.PAGE))
    limit = int(limit_text) if limit_text.isdigit() else access_log.PAGE
    log = await rt.db.run(
        lambda session: access_log.access_log(
            session=session,
            keys=rt.keys,
            actor=viewer.actor,
            network_id=request.path_params["network_id"],
            before=request.query_params.get("before") or None,
            limit=limit,
        )
    )
    return json_response(
        AccessLogOut(
            entries=[access_entry_out(e) for e in log.entries],
            next=log.next_cursor,
        )
    )


@operation(
    "GET",
    "/networks/{network_id}/export",
    summary="Export the network as JSON: for a lead, what they may see; for a system admin, everything held about "
    "the child, with `?reference=` (the subject access request's reference, at most 100 characters). Audited",
    responses={200: NetworkExportOut},
    refusals=(404, 422),
)
async def export_network(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    export = await rt.db.run(
        lambda session: subject_access.export(
            session=session,
            keys=rt.keys,
            account=viewer.account,
            network_id=request.path_params["network_id"],
            reference=request.query_params.get("reference"),
        )
    )
    if isinstance(export, subject_access.LeadExport):
        return json_response(lead_export_out(export))
    return json_response(export)
