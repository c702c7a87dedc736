"""Organisations: created and kept by system admins."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from patchwork import limits, policy
from patchwork.errors import Forbidden, Invalid, NotFound
from patchwork.models import ORGANISATION_TYPE_LABELS, Organisation
from patchwork.services.validation import Fields

TYPE_CHOICES = {kind.value: label for kind, label in ORGANISATION_TYPE_LABELS.items()}


def _clean(name: object, type_: object) -> tuple[str, str]:
    fields = Fields()
    clean_name = fields.text("name", name, label="Organisation name", max_length=limits.ORGANISATION_NAME)
    clean_type = fields.choice("type", type_, options=TYPE_CHOICES, message="Select the type of organisation")
    fields.check()
    return clean_name, clean_type


def _name_taken(session: Session, name: str, *, other_than: str | None = None) -> bool:
    query = select(Organisation.id).where(func.lower(Organisation.name) == name.lower())
    if other_than is not None:
        query = query.where(Organisation.id != other_than)
    return session.exec(query).first() is not None


def create_organisation(*, session: Session, actor: policy.Actor, name: object, type: object) -> Organisation:
    if not policy.manage_organisations(actor):
        raise Forbidden("Only system admins can add organisations")
    clean_name, clean_type = _clean(name, type)
    if _name_taken(session, clean_name):
        raise Invalid({"name": "An organisation with this name already exists"})
    organisation = Organisation(name=clean_name, type=clean_type)
    session.add(organisation)
    session.flush()
    return organisation


def update_organisation(
    *, session: Session, actor: policy.Actor, organisation_id: str, name: object, type: object, active: bool
) -> Organisation:
    if not policy.manage_organisations(actor):
        raise Forbidden("Only system admins can change organisations")
    organisation = get_organisation(session=session, organisation_id=organisation_id)
    clean_name, clean_type = _clean(name, type)
    if _name_taken(session, clean_name, other_than=organisation.id):
        raise Invalid({"name": "An organisation with this name already exists"})
    organisation.name, organisation.type, organisation.active = clean_name, clean_type, active
    session.add(organisation)
    session.flush()
    return organisation


def get_organisation(*, session: Session, organisation_id: str) -> Organisation:
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("No such organisation")
    return organisation


def list_organisations(*, session: Session, active_only: bool = False) -> list[Organisation]:
    query = select(Organisation).order_by(func.lower(Organisation.name))
    if active_only:
        query = query.where(Organisation.active == True)  # noqa: E712
    return list(session.exec(query).all())
