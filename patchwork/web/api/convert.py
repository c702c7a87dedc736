"""From what the services return to the API's response shapes (patchwork.web.api.schemas)."""

from __future__ import annotations

from patchwork.clock import isoformat
from patchwork.models import Account, Organisation
from patchwork.services import accounts, alerts, children, networks
from patchwork.services.notes import SENSITIVE_AUTHOR, NoteView
from patchwork.web.api.schemas import (
    AlertOut,
    AudienceOut,
    AuthorOut,
    BasisOut,
    ChildOut,
    InvolvementOut,
    LeadOut,
    LinkedNetworkOut,
    NetworkOut,
    NoteOut,
    OrganisationOut,
    RedactionOut,
    ReplyOut,
    RevisionOut,
    UserOut,
)


def organisation_out(organisation: Organisation) -> OrganisationOut:
    return OrganisationOut.model_validate(organisation, from_attributes=True)


def user_out(account: Account) -> UserOut:
    return UserOut(
        id=account.id,
        email=account.email,
        name=account.name,
        kind=account.kind,
        organisation_id=account.organisation_id,
        roles=accounts.roles_of(account),
        status=account.status,
    )


def child_out(identity: children.ChildIdentity) -> ChildOut:
    return ChildOut(
        given_name=identity.given_name,
        family_name=identity.family_name,
        date_of_birth=identity.date_of_birth.isoformat(),
        nhs_number=identity.nhs_number,
        postcode=identity.postcode,
        known_as=identity.known_as,
    )


def involvement_out(member: networks.MemberView, *, contact_shown: bool = True) -> InvolvementOut:
    involvement = member.involvement
    return InvolvementOut(
        id=involvement.id,
        user_id=involvement.account_id,
        name=member.name,
        role_label=member.role_label,
        organisation=organisation_out(member.organisation),
        contact=member.contact if contact_shown else None,
        status=involvement.status,
        is_lead=involvement.is_lead,
        sensitive=involvement.sensitive,
        since=isoformat(involvement.started_at),
    )


def network_out(view: networks.NetworkView) -> NetworkOut:
    return NetworkOut(
        id=view.network.id,
        status=view.network.status,
        child=child_out(view.child),
        involvements=[involvement_out(m, contact_shown=view.contacts_shown) for m in view.members],
        leads=[
            LeadOut(user_id=m.involvement.account_id, name=m.name, involvement_id=m.involvement.id) for m in view.leads
        ],
        history_rule=view.network.history_rule,
        created_at=isoformat(view.network.created_at),
        last_activity_at=isoformat(view.last_activity_at),
        linked_networks=[
            LinkedNetworkOut(
                network_id=link.network_id,
                detail=link.detail,
                reason=link.reason,
                declared_by=link.declared_by,
                declared_at=isoformat(link.declared_at),
                may_open=link.may_open,
            )
            for link in view.linked
        ],
    )


def note_out(view: NoteView) -> NoteOut:
    note = view.note
    hidden_author = view.author == SENSITIVE_AUTHOR
    basis = view.basis
    return NoteOut(
        id=note.id,
        network_id=note.network_id,
        kind=note.kind,
        body=view.body,
        category=note.category,
        level=note.level,
        observed_on=note.observed_on.isoformat(),
        author=AuthorOut(
            id=None if hidden_author else note.author_id, name=view.author, organisation=view.organisation
        ),
        audience=AudienceOut(
            kind=note.audience,
            organisation_ids=view.organisation_ids,
            user_ids=view.user_ids,
            words=view.audience_words,
        )
        if view.audience_shown
        else None,
        family_user_ids=view.family_user_ids,
        family_sharing=view.family_words,
        basis=BasisOut(
            kind=basis.kind,
            consent_from=basis.consent_from,
            consented_on=basis.consented_on.isoformat() if basis.consented_on else None,
            reason=basis.reason,
            justification=basis.justification,
            words=basis.words,
        )
        if basis
        else None,
        revisions=[RevisionOut(number=r.number, body=r.body, at=isoformat(r.at)) for r in view.revisions],
        replies=[
            ReplyOut(id=r.id, author=r.author, organisation=r.organisation, body=r.body, at=isoformat(r.at))
            for r in view.replies
        ],
        acknowledged_by=view.acknowledged_by,
        acknowledged_by_me=view.acknowledged_by_me,
        redacted=view.redacted,
        redaction=RedactionOut(by=view.redacted_by, at=isoformat(note.redacted_at))
        if note.redacted_at is not None
        else None,
        edited=view.edited,
        created_at=isoformat(note.created_at),
    )


def alert_out(view: alerts.AlertView) -> AlertOut:
    alert = view.alert
    return AlertOut(
        id=alert.id,
        network_id=alert.network_id,
        kind=alert.kind,
        state=alert.state,
        raised_at=isoformat(alert.raised_at),
        reason=view.reason,
        note_ids=list(view.note_ids),
        outcome=alert.outcome,
        outcome_text=view.outcome_text,
        acknowledged_at=isoformat(alert.acknowledged_at) if alert.acknowledged_at else None,
        resolved_at=isoformat(alert.resolved_at) if alert.resolved_at else None,
        may_acknowledge=view.may_acknowledge,
        may_resolve=view.may_resolve,
    )
