"""The JSON API's request and response shapes; the OpenAPI document is built from them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from patchwork import limits
from patchwork.models import OrganisationType

Id = Annotated[str, StringConstraints(max_length=36)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=4000)


def text_field(limit: int, *, required: bool = True, default: Any = ..., description: str | None = None) -> Any:
    """A free-text field: the document states the service's limit (patchwork.limits), counted after trimming;
    what is parsed is looser, so that the service checks every field at once and answers with its own messages."""
    stated: dict[str, Any] = {"maxLength": limit} | ({"minLength": 1} if required else {})
    return Field(default, max_length=2 * limit + 16, description=description, json_schema_extra=stated)


class TokenRequest(Strict):
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)
    totp: str | None = Field(default=None, max_length=32)
    name: str | None = text_field(
        limits.API_TOKEN_NAME,
        required=False,
        default=None,
        description="What to call the token (optional): its holder sees it on their API tokens page",
    )


class TokenResponse(BaseModel):
    token: str
    expires_at: str


class OrganisationOut(BaseModel):
    id: str
    name: str
    type: OrganisationType
    active: bool = True


class MeResponse(BaseModel):
    id: str
    email: str
    name: str
    kind: Literal["practitioner", "family", "admin"]
    organisation: OrganisationOut | None
    roles: list[str]
    second_factor: bool


class OrganisationCreate(Strict):
    name: str = text_field(limits.ORGANISATION_NAME)
    type: OrganisationType


class OrganisationList(BaseModel):
    organisations: list[OrganisationOut]


class UserCreate(Strict):
    email: str = text_field(limits.EMAIL)
    name: str = text_field(limits.PERSON_NAME)
    organisation_id: str = Field(max_length=36)
    password: str = Field(max_length=256)
    role: Literal["practitioner", "org_admin"] = "practitioner"
    job_title: str = text_field(limits.JOB_TITLE, required=False, default="")


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    kind: Literal["practitioner", "family", "admin"]
    organisation_id: str | None
    roles: list[str]
    status: Literal["pending", "active", "refused", "deactivated"]


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: str
    checks: dict[str, str] | None = None


class ChildIn(Strict):
    given_name: str = text_field(limits.CHILD_NAME)
    family_name: str = text_field(limits.CHILD_NAME)
    date_of_birth: str = Field(max_length=10, description="ISO 8601 date, YYYY-MM-DD")
    nhs_number: str | None = Field(default=None, max_length=20)
    postcode: str | None = Field(default=None, max_length=12)
    known_as: str | None = text_field(limits.CHILD_NAME, required=False, default=None)


class ChildOut(BaseModel):
    given_name: str
    family_name: str
    date_of_birth: str
    nhs_number: str | None
    postcode: str | None
    known_as: str | None


class InvolvementIn(Strict):
    role_label: str = text_field(limits.ROLE_LABEL)
    reason: str = text_field(limits.INVOLVEMENT_REASON)
    contact: str = text_field(limits.CONTACT, required=False, default="")
    sensitive: bool = False


class DifferentChildIn(Strict):
    detail: str = text_field(
        limits.DIFFERENT_CHILD_DETAIL, description="What tells the children apart, e.g. 'Twin brother: Amir, not Amira'"
    )
    reason: str = text_field(limits.DIFFERENT_CHILD_REASON, description="Why you are sure this is a different child")


class NetworkCreate(InvolvementIn):
    child: ChildIn
    different_child: DifferentChildIn | None = Field(
        default=None,
        description="Send after a possible_duplicate refusal when the child is a different one (twins): the new "
        "network is linked to the similar one for their leads to see",
    )


class InvolvementOut(BaseModel):
    id: str
    user_id: str
    name: str
    role_label: str
    organisation: OrganisationOut
    contact: str | None = Field(description="The member's work contact route; null when shown to a family member")
    status: Literal["active", "ended"]
    is_lead: bool
    sensitive: bool
    since: str


class LeadOut(BaseModel):
    user_id: str
    name: str
    involvement_id: str


class LinkedNetworkOut(BaseModel):
    network_id: str
    detail: str = Field(description="What tells the two children apart, as the practitioner who started it said")
    reason: str
    declared_by: str
    declared_at: str
    may_open: bool = Field(description="Whether the caller is a member of the linked network too")


class NetworkOut(BaseModel):
    id: str
    status: Literal["open", "closed", "merged"]
    child: ChildOut
    involvements: list[InvolvementOut]
    leads: list[LeadOut]
    history_rule: Literal["from_joining", "full"]
    created_at: str
    last_activity_at: str
    linked_networks: list[LinkedNetworkOut] = Field(
        default_factory=list,
        description="Networks started for a different child with similar details (twins); shown to leads only",
    )


class NetworkSummary(BaseModel):
    id: str
    status: Literal["open", "closed", "merged"]
    child: ChildOut
    role_label: str
    is_lead: bool
    member_count: int
    last_activity_at: str


class NetworkList(BaseModel):
    networks: list[NetworkSummary]


class SearchRequest(Strict):
    family_name: str = text_field(limits.CHILD_NAME)
    date_of_birth: str = Field(max_length=10)
    given_name: str | None = text_field(limits.CHILD_NAME, required=False, default=None)
    nhs_number: str | None = Field(default=None, max_length=20)


class SearchInvolvement(BaseModel):
    id: str
    name: str
    role_label: str
    organisation: OrganisationOut
    contact: str


class SearchMatchOut(BaseModel):
    network_id: str
    involvements: list[SearchInvolvement]


class SearchResponse(BaseModel):
    match: SearchMatchOut | None


class LeadCreate(Strict):
    user_id: str = Field(max_length=36)


class NetworkUpdate(Strict):
    history_rule: Literal["from_joining", "full"] | None = None
    status: Literal["open", "closed"] | None = None
    reason: str | None = text_field(
        limits.ACTION_REASON,
        required=False,
        default=None,
        description="Why the network is being closed or reopened (optional); kept in the audit trail and shown to "
        "the members",
    )


class MergeRequest(Strict):
    source_id: str = Field(max_length=36)
    target_id: str = Field(max_length=36)
    reason: str = text_field(limits.MERGE_REASON)


class MergeResponse(BaseModel):
    id: str
    merged: str


class AudienceIn(Strict):
    kind: Literal["network", "lead", "organisations", "people"]
    organisation_ids: list[Id] = Field(default_factory=list, max_length=100)
    user_ids: list[Id] = Field(default_factory=list, max_length=200)


class BasisIn(Strict):
    kind: Literal["consent", "without_consent"]
    consent_from: str | None = text_field(limits.CONSENT_FROM, required=False, default=None)
    consented_on: str | None = Field(default=None, max_length=10)
    reason: str | None = Field(default=None, max_length=40)
    justification: str | None = text_field(limits.JUSTIFICATION, required=False, default=None)


class NoteCreate(Strict):
    body: str = text_field(limits.NOTE_BODY)
    category: str = Field(max_length=40)
    level: str = Field(max_length=20)
    observed_on: str = Field(max_length=10, description="ISO 8601 date")
    audience: AudienceIn
    family_user_ids: list[Id] = Field(default_factory=list, max_length=20)
    basis: BasisIn
    referral_route_acknowledged: bool = False


class FamilyVoiceCreate(Strict):
    body: str = text_field(limits.NOTE_BODY)


class BodyIn(Strict):
    body: str = text_field(limits.NOTE_BODY)
    level: Literal["observation", "concern", "urgent"] | None = Field(
        default=None, description="A revision may change the note's level (not on replies)"
    )


class ReasonIn(Strict):
    reason: str = text_field(limits.REDACTION_REASON)


class HistoryOpeningIn(Strict):
    user_id: str = Field(max_length=36)
    reason: str = text_field(limits.HISTORY_REASON)


class AuthorOut(BaseModel):
    id: str | None
    name: str
    organisation: str | None


class AudienceOut(BaseModel):
    kind: Literal["network", "lead", "organisations", "people"]
    organisation_ids: list[str]
    user_ids: list[str]
    words: str


class BasisOut(BaseModel):
    kind: Literal["consent", "without_consent"]
    consent_from: str | None
    consented_on: str | None
    reason: str | None
    justification: str | None
    words: str


class RevisionOut(BaseModel):
    number: int
    body: str | None
    at: str


class ReplyOut(BaseModel):
    id: str
    author: str
    organisation: str | None
    body: str | None
    at: str


class NoteOut(BaseModel):
    id: str
    network_id: str
    kind: Literal["practitioner", "family_voice"]
    body: str | None
    category: str
    level: Literal["observation", "concern", "urgent"]
    observed_on: str
    author: AuthorOut
    audience: AudienceOut | None = Field(
        description="Who may see the note; null for a family member, who is told only that it is shared with them"
    )
    family_user_ids: list[str]
    family_sharing: str
    basis: BasisOut | None
    revisions: list[RevisionOut]
    replies: list[ReplyOut]
    acknowledged_by: list[str] | None
    acknowledged_by_me: bool
    redacted: bool
    redaction: RedactionOut | None = Field(default=None, description="Who redacted the note, and when")
    edited: bool
    created_at: str


class RedactionOut(BaseModel):
    """Who redacted a note and when; why is kept in the audit trail, not shown with the note (it may describe
    what was taken back)."""

    by: str | None
    at: str


class NoteList(BaseModel):
    notes: list[NoteOut]
    next: str | None


class AcknowledgementOut(BaseModel):
    note_id: str
    at: str


class HistoryOpeningOut(BaseModel):
    id: str
    user_id: str
    at: str


class EventData(BaseModel):
    """An event's facts (ids, kinds, times: `note_id`, `alert_id`, `user_id`, ...); a note event's also carry the
    note as the receiving viewer is shown it now, the same JSON as `GET .../notes` gives them."""

    model_config = ConfigDict(extra="allow")
    note: NoteOut | None = None


class EventOut(BaseModel):
    cursor: str
    network_id: str
    type: str
    data: EventData


class EventList(BaseModel):
    events: list[EventOut]
    cursor: str
    more: bool


AlertKindName = Literal["accumulation", "urgent", "escalation", "no_lead"]
OutcomeName = Literal["no_further_action", "discussed_with_network", "referred_to_social_care", "other"]


class AlertOut(BaseModel):
    id: str
    network_id: str
    kind: AlertKindName
    state: Literal["open", "acknowledged", "resolved"]
    raised_at: str
    reason: str = Field(description="Plain language, naming and counting only what the caller may see")
    note_ids: list[str] = Field(description="The notes it was raised on that the caller may see")
    outcome: OutcomeName | None = None
    outcome_text: str | None = None
    acknowledged_at: str | None = None
    resolved_at: str | None = None
    may_acknowledge: bool
    may_resolve: bool
