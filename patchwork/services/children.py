"""A child's identifiers: checked, sealed at rest, found only by exact match, and compared for near duplicates."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import delete, or_
from sqlmodel import Session, col, select

from patchwork import identifiers, limits
from patchwork.crypto import BlindIndex, DataCipher
from patchwork.errors import Invalid
from patchwork.models.networks import Child, ChildSearchKey


@dataclass(frozen=True)
class ChildIdentity:
    given_name: str
    family_name: str
    date_of_birth: date
    nhs_number: str | None = None
    postcode: str | None = None
    known_as: str | None = None

    @property
    def display_name(self) -> str:
        known = f" (known as {self.known_as})" if self.known_as else ""
        return f"{self.given_name} {self.family_name}{known}"

    def to_json(self) -> str:
        data = asdict(self)
        data["date_of_birth"] = self.date_of_birth.isoformat()
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str) -> ChildIdentity:
        data = json.loads(raw)
        data["date_of_birth"] = date.fromisoformat(data["date_of_birth"])
        return cls(**data)


@dataclass(frozen=True)
class SearchQuery:
    family_name: str
    date_of_birth: date
    given_name: str | None
    nhs_number: str | None


def _optional(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        return "\x00not text"
    return value.strip() or None


def _date(fields: dict[str, str], raw: Mapping[str, object], today: date) -> date | None:
    try:
        if any(key in raw for key in ("dob_day", "dob_month", "dob_year")):
            return identifiers.date_from_parts(
                str(raw.get("dob_day") or ""),
                str(raw.get("dob_month") or ""),
                str(raw.get("dob_year") or ""),
                today=today,
            )
        value = raw.get("date_of_birth")
        if not isinstance(value, str | date) or value == "":
            raise identifiers.IdentifierError("Enter the child's date of birth")
        return identifiers.date_of_birth(value, today=today)
    except identifiers.IdentifierError as problem:
        fields["date_of_birth"] = str(problem)
        return None


def _name(fields: dict[str, str], raw: Mapping[str, object], key: str, label: str, required: bool) -> str | None:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            fields[key] = f"Enter the child's {label.lower()}"
        return None
    if not isinstance(value, str):
        fields[key] = f"{label} must be text"
        return None
    try:
        return identifiers.clean_display_name(value, label=label, max_length=limits.CHILD_NAME)
    except identifiers.IdentifierError as problem:
        fields[key] = str(problem)
        return None


def _nhs(fields: dict[str, str], raw: Mapping[str, object]) -> str | None:
    value = _optional(raw.get("nhs_number"))
    if value is None:
        return None
    try:
        return identifiers.nhs_number(value)
    except identifiers.IdentifierError as problem:
        fields["nhs_number"] = str(problem)
        return None


def clean_identity(raw: Mapping[str, object], *, today: date) -> ChildIdentity:
    fields: dict[str, str] = {}
    given = _name(fields, raw, "given_name", "given name", True)
    family = _name(fields, raw, "family_name", "family name", True)
    known_as = _name(fields, raw, "known_as", "known-as name", False)
    born = _date(fields, raw, today)
    nhs = _nhs(fields, raw)
    postcode = None
    raw_postcode = _optional(raw.get("postcode"))
    if raw_postcode is not None:
        try:
            postcode = identifiers.postcode(raw_postcode)
        except identifiers.IdentifierError as problem:
            fields["postcode"] = str(problem)
    if fields:
        raise Invalid(fields)
    assert given and family and born
    return ChildIdentity(given, family, born, nhs, postcode, known_as)


def clean_query(raw: Mapping[str, object], *, today: date) -> SearchQuery:
    fields: dict[str, str] = {}
    family = _name(fields, raw, "family_name", "family name", True)
    given = _name(fields, raw, "given_name", "given name", False)
    born = _date(fields, raw, today)
    nhs = _nhs(fields, raw)
    if given is None and nhs is None and "given_name" not in fields and "nhs_number" not in fields:
        fields["given_name"] = "Enter the child's given name or NHS number"
    if fields:
        raise Invalid(fields)
    assert family and born
    return SearchQuery(family, born, given, nhs)


def _name_parts(family: str, born: date, given: str) -> tuple[str, str, str, str]:
    return ("name", identifiers.normalise_name(family), born.isoformat(), identifiers.normalise_name(given))


def _nhs_parts(family: str, born: date, nhs: str) -> tuple[str, str, str, str]:
    return ("nhs", identifiers.normalise_name(family), born.isoformat(), nhs)


def _name_key(index: BlindIndex, family: str, born: date, given: str) -> str:
    return index(*_name_parts(family, born, given))


def _nhs_key(index: BlindIndex, family: str, born: date, nhs: str) -> str:
    return index(*_nhs_parts(family, born, nhs))


def seal(*, session: Session, cipher: DataCipher, index: BlindIndex, identity: ChildIdentity) -> Child:
    child = Child(sealed_identity="", dob_index="")
    session.add(child)
    _write_sealed(session, cipher, index, child, identity)
    return child


def reseal(*, session: Session, cipher: DataCipher, index: BlindIndex, child: Child) -> None:
    """Re-encrypt and re-index a child under the current keys (used by key rotation)."""
    identity = open_identity(cipher, child)
    session.execute(delete(ChildSearchKey).where(col(ChildSearchKey.child_id) == child.id))
    _write_sealed(session, cipher, index, child, identity)


def _write_sealed(
    session: Session, cipher: DataCipher, index: BlindIndex, child: Child, identity: ChildIdentity
) -> None:
    child.sealed_identity = cipher.encrypt(identity.to_json(), context=f"child:{child.id}")
    child.dob_index = index("dob", identity.date_of_birth.isoformat())
    child.nhs_index = index("nhs-only", identity.nhs_number) if identity.nhs_number else None
    child.postcode_family_index = (
        index("postcode-family", identity.postcode, identifiers.normalise_name(identity.family_name))
        if identity.postcode
        else None
    )
    session.add(child)
    session.flush()
    keys = [("given", _name_key(index, identity.family_name, identity.date_of_birth, identity.given_name))]
    if identity.known_as:
        keys.append(("known_as", _name_key(index, identity.family_name, identity.date_of_birth, identity.known_as)))
    if identity.nhs_number:
        keys.append(("nhs", _nhs_key(index, identity.family_name, identity.date_of_birth, identity.nhs_number)))
    for kind, key in keys:
        session.add(ChildSearchKey(child_id=child.id, kind=kind, key=key))


def open_identity(cipher: DataCipher, child: Child) -> ChildIdentity:
    return ChildIdentity.from_json(cipher.decrypt(child.sealed_identity, context=f"child:{child.id}"))


def find_exact(*, session: Session, index: BlindIndex, query: SearchQuery) -> str | None:
    """The child whose identifiers match every part of the query exactly, after normalising; else None."""
    found = find_all_exact(session=session, index=index, query=query)
    return found[0] if found else None


def find_all_exact(*, session: Session, index: BlindIndex, query: SearchQuery) -> list[str]:
    """Every child whose identifiers match every part of the query exactly: one child recorded twice is two, which
    a system admin merging duplicates must see both of."""
    wanted: list[set[str]] = []
    if query.given_name:
        keys = index.every(*_name_parts(query.family_name, query.date_of_birth, query.given_name))
        wanted.append(set(session.exec(select(ChildSearchKey.child_id).where(col(ChildSearchKey.key).in_(keys))).all()))
    if query.nhs_number:
        keys = index.every(*_nhs_parts(query.family_name, query.date_of_birth, query.nhs_number))
        wanted.append(set(session.exec(select(ChildSearchKey.child_id).where(col(ChildSearchKey.key).in_(keys))).all()))
    matches = set.intersection(*wanted) if wanted else set()
    return sorted(matches)


def near_duplicates(*, session: Session, cipher: DataCipher, index: BlindIndex, identity: ChildIdentity) -> list[Child]:
    """Children who may be this child: same date of birth and a similar name, the same NHS number,
    or the same postcode and family name."""
    conditions = [col(Child.dob_index).in_(index.every("dob", identity.date_of_birth.isoformat()))]
    if identity.nhs_number:
        conditions.append(col(Child.nhs_index).in_(index.every("nhs-only", identity.nhs_number)))
    if identity.postcode:
        conditions.append(
            col(Child.postcode_family_index).in_(
                index.every("postcode-family", identity.postcode, identifiers.normalise_name(identity.family_name))
            )
        )
    found: list[Child] = []
    for child in session.exec(select(Child).where(or_(*conditions))).all():
        other = open_identity(cipher, child)
        same_nhs = bool(identity.nhs_number) and identity.nhs_number == other.nhs_number
        same_postcode_family = (
            bool(identity.postcode)
            and identity.postcode == other.postcode
            and identifiers.normalise_name(identity.family_name) == identifiers.normalise_name(other.family_name)
        )
        same_born_similar_name = identity.date_of_birth == other.date_of_birth and _similar_person(identity, other)
        if same_nhs or same_postcode_family or same_born_similar_name:
            found.append(child)
    return found


def same_nhs_number(cipher: DataCipher, child: Child, identity: ChildIdentity) -> bool:
    return bool(identity.nhs_number) and open_identity(cipher, child).nhs_number == identity.nhs_number


def _similar_person(a: ChildIdentity, b: ChildIdentity) -> bool:
    if not identifiers.similar_names(a.family_name, b.family_name):
        return False
    names_a = [n for n in (a.given_name, a.known_as) if n]
    names_b = [n for n in (b.given_name, b.known_as) if n]
    return any(identifiers.similar_names(x, y) for x in names_a for y in names_b)
