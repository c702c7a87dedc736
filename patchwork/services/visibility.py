"""The notes visibility rule as SQL, and the facts the policy needs: one rule, two forms, held together by tests."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    exists,
    false,
    literal,
    or_,
    true,
)
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from patchwork import policy
from patchwork.models import Account, AccountKind, AccountStatus
from patchwork.models.audit import AuditEvent
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
    return standing_in(session, account, network)[0]


# Built once: a viewer's standing is looked up on every request that touches a network.
_MY_INVOLVEMENT = select(Involvement).where(
    Involvement.network_id == bindparam("network_id"),
    Involvement.account_id == bindparam("account_id"),
    Involvement.status == InvolvementStatus.active,
)
_HISTORY_OPENED = select(HistoryOpening.id).where(
    HistoryOpening.network_id == bindparam("network_id"), HistoryOpening.account_id == bindparam("account_id")
)
_FAMILY_MEMBER = select(FamilyMembership.id).where(
    FamilyMembership.network_id == bindparam("network_id"),
    FamilyMembership.account_id == bindparam("account_id"),
    FamilyMembership.active == True,  # noqa: E712
)


def standing_in(session: Session, account: Account, network: Network) -> tuple[policy.NoteViewer, Involvement | None]:
    """viewer_in, and the viewer's active involvement in the network if they are a practitioner member."""
    involvement = None
    opened = False
    family = False
    ids = {"network_id": network.id, "account_id": account.id}
    if account.kind == "practitioner":
        involvement = session.exec(_MY_INVOLVEMENT, params=ids).first()
        if involvement is not None and network.history_rule != "full":
            opened = session.exec(_HISTORY_OPENED, params=ids).first() is not None
    elif account.kind == "family":
        family = session.exec(_FAMILY_MEMBER, params=ids).first() is not None
    viewer = viewer_of(
        account.id,
        account.kind,
        membership=(involvement.organisation_id, involvement.started_at, involvement.is_lead) if involvement else None,
        history_opened=opened,
        family_member=family,
    )
    return viewer, involvement


def standing_from(
    account: Account, *, involvement: Involvement | None, history_rule: str, history_opened: bool, family_member: bool
) -> tuple[policy.NoteViewer, Involvement | None]:
    """standing_in's answer from what one statement read (services/notes/standing.py): the account's active
    involvement, whether a lead opened the history to it, whether it is an active family member."""
    involvement = involvement if account.kind == "practitioner" else None
    return (
        viewer_of(
            account.id,
            account.kind,
            membership=(involvement.organisation_id, involvement.started_at, involvement.is_lead)
            if involvement
            else None,
            history_opened=involvement is not None and history_rule != "full" and history_opened,
            family_member=account.kind == "family" and family_member,
        ),
        involvement,
    )


Membership = tuple[str, datetime, bool]  # an active involvement's organisation, start and whether it is a lead's


def viewer_of(
    account_id: str, kind: str, *, membership: Membership | None, history_opened: bool, family_member: bool
) -> policy.NoteViewer:
    """The one way the policy's view of a viewer in a network is built."""
    return policy.NoteViewer(
        account_id=account_id,
        kind=kind,
        member=membership is not None,
        organisation_id=membership[0] if membership else None,
        joined_at=membership[1] if membership else None,
        is_lead=bool(membership and membership[2]),
        history_opened=history_opened,
        family_member=family_member,
    )


def member_viewer(involvement: Involvement, *, history_opened: bool) -> policy.NoteViewer:
    """The policy's view of a practitioner through their active involvement in a network."""
    membership = (involvement.organisation_id, involvement.started_at, involvement.is_lead)
    return viewer_of(
        involvement.account_id,
        AccountKind.practitioner,
        membership=membership,
        history_opened=history_opened,
        family_member=False,
    )


def family_viewer(account_id: str) -> policy.NoteViewer:
    """The policy's view of a family member of the network."""
    return viewer_of(account_id, AccountKind.family, membership=None, history_opened=False, family_member=True)


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


@dataclass(frozen=True)
class MemberView:
    since: datetime | None  # notes before this are not shown (None: the whole history)
    organisation_id: str | None
    is_lead: bool


class Standings:
    """One practitioner's standing in each of several networks, so that "the notes this person may see in any of
    these networks" is one condition evaluated once a row, however many networks: see `seen_across`, the same rule
    as `visible` (a test holds the two together)."""

    def __init__(self, account_id: str, viewers: Mapping[str, tuple[Network, policy.NoteViewer]]) -> None:
        self.account_id = account_id
        self.by_network: dict[str, MemberView] = {}
        for network_id, (network, viewer) in viewers.items():
            if viewer.kind != "practitioner" or not viewer.member or viewer.account_id != account_id:
                raise ValueError("Standings are a practitioner member's, in networks they belong to")
            full = network.history_rule == "full" or viewer.history_opened
            self.by_network[network_id] = MemberView(
                None if full else viewer.joined_at, viewer.organisation_id, viewer.is_lead
            )


def _per_network(standings: Standings, value: Callable[[MemberView], Any]) -> Any:
    """A value that depends on the note's network, as SQL: a literal when every network agrees, else a CASE."""
    values = {network_id: value(standing) for network_id, standing in standings.by_network.items()}
    distinct = set(values.values())
    if len(distinct) == 1:
        return literal(distinct.pop())
    return case(values, value=col(Note.network_id), else_=None)


def seen_across(standings: Standings, network_ids: Collection[str]) -> ColumnElement[bool]:
    """policy.see_note for one practitioner over several of their networks, as one WHERE clause over the note
    table: `visible` with the viewer's standing looked up by the note's network."""
    ids = [network_id for network_id in network_ids if network_id in standings.by_network]
    if not ids:
        return false()
    author_is_me = col(Note.author_id) == standings.account_id
    since_of = {n: s.since for n, s in standings.by_network.items() if s.since is not None}
    if not since_of:
        history: ColumnElement[bool] = true()
    else:
        since = case(since_of, value=col(Note.network_id), else_=None)
        history = or_(since.is_(None), col(Note.created_at) >= since)
    organisation = _per_network(standings, lambda s: s.organisation_id)
    is_lead = _per_network(standings, lambda s: s.is_lead)
    in_my_organisation = exists(
        sa_select(col(NoteAudienceOrganisation.note_id)).where(
            col(NoteAudienceOrganisation.note_id) == col(Note.id),
            col(NoteAudienceOrganisation.organisation_id) == organisation,
        )
    )
    named_me = exists(
        sa_select(col(NoteAudiencePerson.note_id)).where(
            col(NoteAudiencePerson.note_id) == col(Note.id), col(NoteAudiencePerson.account_id) == standings.account_id
        )
    )
    audience = or_(
        col(Note.kind) == NoteKind.family_voice,
        col(Note.audience) == "network",
        and_(col(Note.audience) == "lead", is_lead.is_(True)),
        and_(col(Note.audience) == "organisations", in_my_organisation),
        and_(col(Note.audience) == "people", named_me),
    )
    return and_(col(Note.network_id).in_(ids), or_(author_is_me, and_(history, audience)))


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
    return facts_from(note, organisations=organisations, people=people, shares=shares)


def facts_from(
    note: Note,
    *,
    organisations: Collection[str] = (),
    people: Collection[str] = (),
    shares: Collection[str] = (),
) -> policy.NoteFacts:
    """The one way a note's facts are built: the note, its audience's organisations and people, its family shares."""
    return policy.NoteFacts(
        author_id=note.author_id,
        kind=note.kind,
        audience=note.audience,
        audience_organisations=frozenset(organisations),
        audience_people=frozenset(people),
        family_shares=frozenset(shares),
        created_at=note.created_at,
    )


def viewers_in(session: Session, network: Network, account_ids: Collection[str]) -> dict[str, policy.NoteViewer]:
    """viewer_in for many accounts at once (every follower of a live network), in four queries.
    Accounts that are no longer active are left out: they see nothing."""
    if not account_ids:
        return {}
    accounts = session.exec(
        select(Account.id, Account.kind).where(col(Account.id).in_(account_ids), Account.status == AccountStatus.active)
    ).all()
    involvements = {
        account_id: (organisation_id, started_at, is_lead)
        for account_id, organisation_id, started_at, is_lead in session.exec(
            select(
                Involvement.account_id, Involvement.organisation_id, Involvement.started_at, Involvement.is_lead
            ).where(
                Involvement.network_id == network.id,
                col(Involvement.account_id).in_(account_ids),
                Involvement.status == InvolvementStatus.active,
            )
        ).all()
    }
    opened: set[str] = set()
    if network.history_rule != "full" and involvements:
        opened = set(
            session.exec(
                select(HistoryOpening.account_id).where(
                    HistoryOpening.network_id == network.id, col(HistoryOpening.account_id).in_(involvements)
                )
            ).all()
        )
    family = set(
        session.exec(
            select(FamilyMembership.account_id).where(
                FamilyMembership.network_id == network.id,
                col(FamilyMembership.account_id).in_(account_ids),
                FamilyMembership.active == True,  # noqa: E712
            )
        ).all()
    )
    viewers = {}
    for account_id, kind in accounts:
        involvement = involvements.get(account_id) if kind == "practitioner" else None
        viewers[account_id] = viewer_of(
            account_id,
            kind,
            membership=involvement,
            history_opened=account_id in opened,
            family_member=kind == "family" and account_id in family,
        )
    return viewers


def facts_of_many(session: Session, note_ids: Collection[str]) -> dict[str, policy.NoteFacts]:
    """facts_of for many notes at once, in four queries."""
    if not note_ids:
        return {}
    found = session.exec(select(Note).where(col(Note.id).in_(note_ids))).all()
    organisations: dict[str, set[str]] = {}
    for note_id, organisation_id in session.exec(
        select(NoteAudienceOrganisation.note_id, NoteAudienceOrganisation.organisation_id).where(
            col(NoteAudienceOrganisation.note_id).in_(note_ids)
        )
    ).all():
        organisations.setdefault(note_id, set()).add(organisation_id)
    people: dict[str, set[str]] = {}
    for note_id, account_id in session.exec(
        select(NoteAudiencePerson.note_id, NoteAudiencePerson.account_id).where(
            col(NoteAudiencePerson.note_id).in_(note_ids)
        )
    ).all():
        people.setdefault(note_id, set()).add(account_id)
    shares: dict[str, set[str]] = {}
    for note_id, account_id in session.exec(
        select(NoteFamilyShare.note_id, NoteFamilyShare.account_id).where(col(NoteFamilyShare.note_id).in_(note_ids))
    ).all():
        shares.setdefault(note_id, set()).add(account_id)
    return {
        note.id: facts_from(
            note,
            organisations=organisations.get(note.id, ()),
            people=people.get(note.id, ()),
            shares=shares.get(note.id, ()),
        )
        for note in found
    }


def belonging_to(account: Account) -> SelectOfScalar[str]:
    """The networks an account belongs to now (policy.belongs): a practitioner's active involvements, a family
    member's active memberships; an admin belongs to none."""
    if account.kind == AccountKind.practitioner:
        return select(Involvement.network_id).where(
            Involvement.account_id == account.id, Involvement.status == InvolvementStatus.active
        )
    if account.kind == AccountKind.family:
        return select(FamilyMembership.network_id).where(
            FamilyMembership.account_id == account.id,
            FamilyMembership.active == True,  # noqa: E712
        )
    return select(Involvement.network_id).where(false())


def shown_to_family(network_ids: list[str]) -> ColumnElement[bool]:
    """Whose reads of a child's record the family (and so the leads) see in the access log, over audit events
    joined to their actor's account: practitioners' and admins', never a family member's own, and never anyone's
    who has or had a sensitive involvement in the network (policy.family_sees_involvement), not even a search from
    before they joined."""
    sensitive = exists(
        sa_select(col(Involvement.id)).where(
            col(Involvement.account_id) == col(AuditEvent.actor_id),
            col(Involvement.network_id).in_(network_ids),
            col(Involvement.sensitive) == True,  # noqa: E712
        )
    )
    return and_(col(Account.kind).in_((AccountKind.practitioner, AccountKind.admin)), ~sensitive)


def sensitive_among(session: Session, network_id: str, people: Collection[str]) -> set[str]:
    """Those of `people` whose involvement in the network is sensitive: a family member sees no name of theirs, on
    a reply or an acknowledgement any more than on a note (policy.family_sees_involvement)."""
    if not people:
        return set()
    return set(
        session.exec(
            select(Involvement.account_id).where(
                Involvement.network_id == network_id,
                col(Involvement.account_id).in_(people),
                Involvement.sensitive == True,  # noqa: E712
            )
        ).all()
    )
