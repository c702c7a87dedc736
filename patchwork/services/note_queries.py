"""The notes visibility rule as SQL, and the facts the policy needs: one rule, two forms, held together by tests."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, or_, true
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from patchwork import policy
from patchwork.models import Account
from patchwork.models.networks import Involvement, InvolvementStatus, Network
from patchwork.models.notes import (
    FamilyMembership,
    HistoryOpening,
    Note,
    NoteAudienceOrganisation,
    NoteAudiencePerson,
    NoteFamilyShare,
    NoteKind,
)


def viewer_in(session: Session, account: Account, network: Network) -> policy.NoteViewer:
    """Everything about the viewer's standing in this network that the policy needs, in at most three queries."""
    involvement = None
    opened = False
    family = False
    if account.kind == "practitioner":
        involvement = session.exec(
            select(Involvement).where(
                Involvement.network_id == network.id,
                Involvement.account_id == account.id,
                Involvement.status == InvolvementStatus.active,
            )
        ).first()
        if involvement is not None and network.history_rule != "full":
            opened = (
                session.exec(
                    select(HistoryOpening.id).where(
                        HistoryOpening.network_id == network.id, HistoryOpening.account_id == account.id
                    )
                ).first()
                is not None
            )
    elif account.kind == "family":
        family = (
            session.exec(
                select(FamilyMembership.id).where(
                    FamilyMembership.network_id == network.id,
                    FamilyMembership.account_id == account.id,
                    FamilyMembership.active == True,  # noqa: E712
                )
            ).first()
            is not None
        )
    return policy.NoteViewer(
        account_id=account.id,
        kind=account.kind,
        member=involvement is not None,
        organisation_id=involvement.organisation_id if involvement else None,
        joined_at=involvement.started_at if involvement else None,
        is_lead=bool(involvement and involvement.is_lead),
        history_opened=opened,
        family_member=family,
    )


def visible(viewer: policy.NoteViewer, *, history_rule: str) -> ColumnElement[bool]:
    """policy.see_note, written as a WHERE clause over the note table."""
    author_is_me = col(Note.author_id) == viewer.account_id
    if viewer.kind == "family":
        if not viewer.family_member:
            return false()
        shared_with_me = exists(
            sa_select(col(NoteFamilyShare.note_id)).where(
                col(NoteFamilyShare.note_id) == col(Note.id), col(NoteFamilyShare.account_id) == viewer.account_id
            )
        )
        return or_(and_(col(Note.kind) == NoteKind.family_voice, author_is_me), shared_with_me)
    if viewer.kind != "practitioner" or not viewer.member:
        return false()
    if history_rule == "full" or viewer.history_opened:
        history: ColumnElement[bool] = true()
    elif viewer.joined_at is None:
        history = false()
    else:
        history = col(Note.created_at) >= viewer.joined_at
    in_my_organisation = exists(
        sa_select(col(NoteAudienceOrganisation.note_id)).where(
            col(NoteAudienceOrganisation.note_id) == col(Note.id),
            col(NoteAudienceOrganisation.organisation_id) == viewer.organisation_id,
        )
    )
    named_me = exists(
        sa_select(col(NoteAudiencePerson.note_id)).where(
            col(NoteAudiencePerson.note_id) == col(Note.id), col(NoteAudiencePerson.account_id) == viewer.account_id
        )
    )
    audience = or_(
        col(Note.kind) == NoteKind.family_voice,
        col(Note.audience) == "network",
        col(Note.audience) == "lead" if viewer.is_lead else false(),
        and_(col(Note.audience) == "organisations", in_my_organisation),
        and_(col(Note.audience) == "people", named_me),
    )
    return or_(author_is_me, and_(history, audience))


def facts_of(session: Session, note: Note) -> policy.NoteFacts:
    organisations = frozenset(
        session.exec(
            select(NoteAudienceOrganisation.organisation_id).where(NoteAudienceOrganisation.note_id == note.id)
        ).all()
    )
    people = frozenset(
        session.exec(select(NoteAudiencePerson.account_id).where(NoteAudiencePerson.note_id == note.id)).all()
    )
    shares = frozenset(session.exec(select(NoteFamilyShare.account_id).where(NoteFamilyShare.note_id == note.id)).all())
    return policy.NoteFacts(
        author_id=note.author_id,
        kind=note.kind,
        audience=note.audience,
        audience_organisations=organisations,
        audience_people=people,
        family_shares=shares,
        created_at=note.created_at,
    )
