"""The shape of a subject access export: everything held about one child, as one JSON document.

Pydantic models because the document is the product (it is what an admin hands to the data protection officer),
and the API's OpenAPI description is generated from these same classes, so the two cannot drift.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PersonRef(Record):
    id: str
    name: str


class OrganisationRef(Record):
    id: str
    name: str
    type: str


class ChildRecord(Record):
    given_name: str
    family_name: str
    date_of_birth: str
    nhs_number: str | None
    postcode: str | None
    known_as: str | None


class NetworkRecord(Record):
    id: str
    status: str
    history_rule: str
    created_at: str
    created_by: PersonRef | None
    last_activity_at: str
    status_changed_at: str | None


class MergedNetworkRecord(Record):
    """A duplicate network that was merged into this one, with the identifiers it was started with."""

    id: str
    merged_into_id: str
    merged_at: str | None
    child: ChildRecord


class InvolvementRecord(Record):
    id: str
    network_id: str
    person: PersonRef
    organisation: OrganisationRef | None
    role_label: str
    reason: str
    contact: str
    sensitive: bool
    status: str
    is_lead: bool
    lead_since: str | None
    started_at: str
    ended_at: str | None
    ended_by: PersonRef | None


class FamilyMemberRecord(Record):
    id: str
    network_id: str
    person: PersonRef
    relationship: str
    active: bool
    joined_at: str


class AudienceRecord(Record):
    kind: str
    organisations: list[OrganisationRef]
    people: list[PersonRef]


class BasisRecord(Record):
    kind: str
    consent_from: str | None
    consented_on: str | None
    reason: str | None
    justification: str | None


class RevisionRecord(Record):
    number: int
    body: str
    author: PersonRef | None
    at: str


class ReplyRecord(Record):
    id: str
    author: PersonRef | None
    organisation: OrganisationRef | None
    body: str
    at: str


class AcknowledgementRecord(Record):
    person: PersonRef | None
    at: str


class RedactionRecord(Record):
    at: str
    by: PersonRef | None
    reason: str | None


class NoteRecord(Record):
    id: str
    network_id: str
    kind: str
    category: str
    level: str
    observed_on: str
    author: PersonRef | None
    author_organisation: OrganisationRef | None
    author_sensitive: bool
    audience: AudienceRecord
    family_shares: list[PersonRef]
    basis: BasisRecord | None
    body: str = Field(description="The current text, also when the note is redacted (see `redaction`)")
    created_at: str
    updated_at: str
    revisions: list[RevisionRecord]
    replies: list[ReplyRecord]
    acknowledgements: list[AcknowledgementRecord]
    redaction: RedactionRecord | None = Field(
        description="Who hid the body from every view, when and why; null when the note is not redacted"
    )


class HistoryOpeningRecord(Record):
    id: str
    network_id: str
    person: PersonRef | None
    opened_by: PersonRef | None
    reason: str
    at: str


class AuditRecord(Record):
    id: str
    at: str
    actor: PersonRef | None
    action: str
    network_id: str | None
    target_type: str | None
    target_id: str | None
    details: dict[str, Any]


class SubjectAccessExport(Record):
    """Everything held about the child of one network (and of the networks merged into it)."""

    kind: str = Field(default="subject_access", description='Always "subject_access"')
    reference: str = Field(description="The subject access request's reference, as given by the admin")
    exported_at: str
    exported_by: PersonRef
    network: NetworkRecord
    child: ChildRecord
    merged_networks: list[MergedNetworkRecord]
    involvements: list[InvolvementRecord]
    family_members: list[FamilyMemberRecord]
    notes: list[NoteRecord]
    history_openings: list[HistoryOpeningRecord]
    alerts: list[dict[str, Any]] = Field(description="Alerts raised for the network (none are held yet)")
    audit_events: list[AuditRecord]
