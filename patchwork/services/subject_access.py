"""Exports of a network's record, as JSON: a lead's (what that lead may see) and a subject access export.

A subject access export is how a system admin answers a subject access request: everything held about the child,
given the request's reference. It is the only way an admin ever reads notes, it is audited with the reference
(`subject_access.exported`) and it appears in the family's access log. What it holds, and why:

- the child's identifiers, and those of any duplicate network merged into this one;
- every involvement, sensitive and ended ones included: the request is for everything held, and deciding what to
  withhold (a refuge worker's identity, say) is the data protection officer's judgement, not the software's;
- every note with its whole history: every revision, every reply, the sharing basis, acknowledgements, who it was
  shared with in the family, and for a redacted note the redaction (who, when, why) *and the body*. A redaction hides
  the body from views, but the text is still held, so it is part of what the request is about; the export marks it
  so the reviewer can decide whether an exemption applies before anything is disclosed;
- family memberships, history openings (with their reasons), alerts (none are held yet) and every audit event
  about the network, this export's own event included.

A lead's export (`network.exported`) holds what the lead may see through the app: the child's identifiers, the
active involvements, the family members, and the notes the lead may see, shaped as the API shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from patchwork import policy
from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.errors import Invalid, NotFound
from patchwork.models import Account
from patchwork.models.notes import FamilyMembership, Note
from patchwork.services import access_log, audit, networks, notes, sealed_facts
from patchwork.services.access_log import current_network, lineage
from patchwork.services.accounts import actor_of
from patchwork.services.subject_access_gather import Gather, batches
from patchwork.services.subject_access_records import SubjectAccessExport
from patchwork.services.visibility import visible

MAX_REFERENCE = 100


@dataclass(frozen=True)
class ExportedFamilyMember:
    account_id: str
    name: str
    relationship: str


@dataclass(frozen=True)
class LeadExport:
    exported_at: datetime
    view: networks.NetworkView
    family_members: list[ExportedFamilyMember]
    notes: list[notes.NoteView]
    access_log: list[access_log.Entry]  # as the family and the leads see it, newest first


def export(
    *, session: Session, keys: Keyring, account: Account, network_id: str, reference: object = None
) -> LeadExport | SubjectAccessExport:
    """A system admin's subject access export (which needs `reference`), or a lead's export; 404 for anyone else."""
    if policy.subject_access_export(actor_of(account)):
        return subject_access_export(
            session=session, keys=keys, account=account, network_id=network_id, reference=reference
        )
    return lead_export(session=session, keys=keys, account=account, network_id=network_id)


def lead_export(*, session: Session, keys: Keyring, account: Account, network_id: str) -> LeadExport:
    actor = actor_of(account)
    network = current_network(session, network_id)
    if not policy.export_network(actor, networks.facts(session, network)):
        raise NotFound("No such network")
    view = networks.view_network(session=session, keys=keys, actor=actor, network_id=network.id, audited=False)
    place = notes.standing(session=session, account=account, network_id=network.id)
    rows = session.exec(
        select(Note)
        .where(Note.network_id == network.id, visible(place.viewer, history_rule=network.history_rule))
        .order_by(col(Note.created_at), col(Note.id))
    ).all()
    shown: list[notes.NoteView] = []
    for chunk in batches(rows):
        shown += notes.views(session=session, keys=keys, place=place, notes=chunk)
    family = session.exec(
        select(FamilyMembership, Account)
        .join(Account, col(Account.id) == col(FamilyMembership.account_id))
        .where(FamilyMembership.network_id == network.id, FamilyMembership.active == True)  # noqa: E712
        .order_by(col(FamilyMembership.joined_at))
    ).all()
    log = access_log.every_entry(session=session, network=network)
    audit.record(
        session=session,
        key=keys.audit,
        action="network.exported",
        actor_id=account.id,
        network_id=network.id,
        details={"notes": len(shown)},
    )
    return LeadExport(
        exported_at=utcnow(),
        view=view,
        family_members=[
            ExportedFamilyMember(a.id, a.name, sealed_facts.relationship(keys.cipher, m)) for m, a in family
        ],
        notes=shown,
        access_log=log,
    )


def clean_reference(value: object) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        problem = "Enter the reference of the subject access request"
    elif len(text) > MAX_REFERENCE:
        problem = f"The reference must be {MAX_REFERENCE} characters or fewer"
    elif not text.isprintable():
        problem = "The reference must be plain text on one line"
    else:
        return text
    raise Invalid({"reference": problem}, "A subject access export needs the request's reference")


def subject_access_export(
    *, session: Session, keys: Keyring, account: Account, network_id: str, reference: object
) -> SubjectAccessExport:
    if not policy.subject_access_export(actor_of(account)):
        raise NotFound("No such network")
    ref = clean_reference(reference)
    network = current_network(session, network_id)
    ids = lineage(session, network)
    audit.record(
        session=session,
        key=keys.audit,
        action="subject_access.exported",
        actor_id=account.id,
        network_id=network.id,
        details={"reference": ref},
    )
    return Gather(session, keys, ids).document(network, ref, account)
