"""Exact-match search and near-duplicate detection on the real database, with property tests."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import text

from patchwork import identifiers
from patchwork.crypto import Keyring
from patchwork.db import Database
from patchwork.runtime import keyring_for
from patchwork.services import children
from patchwork.services.children import ChildIdentity, SearchQuery
from patchwork.settings import Settings

TODAY = date(2026, 11, 21)
MAYA = ChildIdentity("Maya", "Thompson-Hughes", date(2017, 3, 27), "9434765919", "EA1 4QT", "May")


@pytest.fixture
def keys(settings: Settings) -> Keyring:
    return keyring_for(settings)


def _store(db: Database, keys: Keyring, identity: ChildIdentity) -> str:
    with db.transaction() as session:
        return children.seal(session=session, cipher=keys.cipher, index=keys.index, identity=identity).id


def _find(db: Database, keys: Keyring, query: SearchQuery) -> str | None:
    with db.transaction() as session:
        return children.find_exact(session=session, index=keys.index, query=query)


@pytest.mark.parametrize(
    ("family", "born", "given_name", "nhs"),
    [
        ("Thompson-Hughes", date(2017, 3, 27), "Maya", None),
        ("thompson hughes", date(2017, 3, 27), "MAYA", None),
        ("THOMPSONHUGHES", date(2017, 3, 27), " maya ", None),
        ("Thompson–Hughes", date(2017, 3, 27), "May", None),
        ("Thompson-Hughes", date(2017, 3, 27), None, "9434765919"),
        ("Thompson-Hughes", date(2017, 3, 27), "Maya", "9434765919"),
    ],
)
def test_exact_details_find_the_child(
    db: Database, keys: Keyring, family: str, born: date, given_name: str | None, nhs: str | None
) -> None:
    child_id = _store(db, keys, MAYA)
    assert _find(db, keys, SearchQuery(family, born, given_name, nhs)) == child_id


@pytest.mark.parametrize(
    ("family", "born", "given_name", "nhs"),
    [
        ("Thompson", date(2017, 3, 27), "Maya", None),
        ("Thompson-Hughes", date(2017, 3, 28), "Maya", None),
        ("Thompson-Hughes", date(2017, 3, 27), "Maia", None),
        ("Thompson-Hughes", date(2017, 3, 27), None, "4010232137"),
        ("Thompson-Hughes", date(2017, 3, 27), "Maya", "4010232137"),
        ("Hughes", date(2017, 3, 27), None, "9434765919"),
    ],
)
def test_near_misses_find_nothing(
    db: Database, keys: Keyring, family: str, born: date, given_name: str | None, nhs: str | None
) -> None:
    _store(db, keys, MAYA)
    assert _find(db, keys, SearchQuery(family, born, given_name, nhs)) is None


def test_identifiers_are_not_stored_in_clear(db: Database, keys: Keyring) -> None:
    _store(db, keys, MAYA)
    with db.engine.connect() as connection:
        dump = " ".join(
            str(row)
            for table in ("child", "child_search_key")
            for row in connection.execute(text(f"SELECT * FROM {table}")).all()
        )
    for secret in ("Maya", "Thompson", "9434765919", "EA1 4QT", "2017-03-27"):
        assert secret not in dump


NEAR_DUPLICATES = [
    ChildIdentity("Maia", "Thompson-Hughes", date(2017, 3, 27)),
    ChildIdentity("Maya", "Thomson-Hughes", date(2017, 3, 27)),
    ChildIdentity("May", "Thompson Hughes", date(2017, 3, 27)),
    ChildIdentity("Zed", "Other", date(2015, 1, 1), nhs_number="9434765919"),
    ChildIdentity("Zed", "Thompson-Hughes", date(2015, 1, 1), postcode="EA1 4QT"),
]
NOT_DUPLICATES = [
    ChildIdentity("Oliver", "Thompson-Hughes", date(2017, 3, 27)),
    ChildIdentity("Maya", "Patel", date(2017, 3, 27)),
    ChildIdentity("Maya", "Thompson-Hughes", date(2016, 3, 27)),
    ChildIdentity("Zed", "Other", date(2015, 1, 1), postcode="EA1 4QT"),
]


@pytest.mark.parametrize("candidate", NEAR_DUPLICATES, ids=lambda c: f"{c.given_name}-{c.family_name}")
def test_near_duplicates_are_found(db: Database, keys: Keyring, candidate: ChildIdentity) -> None:
    child_id = _store(db, keys, MAYA)
    with db.transaction() as session:
        found = children.near_duplicates(session=session, cipher=keys.cipher, index=keys.index, identity=candidate)
    assert [c.id for c in found] == [child_id]


@pytest.mark.parametrize("candidate", NOT_DUPLICATES, ids=lambda c: f"{c.given_name}-{c.family_name}-{c.date_of_birth}")
def test_different_children_are_not_duplicates(db: Database, keys: Keyring, candidate: ChildIdentity) -> None:
    _store(db, keys, MAYA)
    with db.transaction() as session:
        assert children.near_duplicates(session=session, cipher=keys.cipher, index=keys.index, identity=candidate) == []


NAMES = st.sampled_from(["Maya", "Leo", "Aisha", "Zoë", "Sean", "Shaun", "O'Neil", "Jean-Luc", "Ana", "Anna"])
FAMILIES = st.sampled_from(["Thompson", "Kowalski", "Begum", "O'Brien", "Smith-Jones", "Nguyen", "Smith"])
DATES = st.dates(min_value=date(2002, 1, 1), max_value=date(2026, 11, 1))
NHS = st.sampled_from([None, "9434765919", "4010232137"])


@st.composite
def spelling(draw: st.DrawFn, name: str) -> str:
    """The same name as a person might type it: other case, extra spaces, hyphens or apostrophes moved."""
    chosen = draw(st.sampled_from([name, name.upper(), name.lower(), name.replace("-", " "), f"  {name} "]))
    return chosen.replace("'", draw(st.sampled_from(["'", "’", ""])))


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    stored=st.tuples(NAMES, FAMILIES, DATES, NHS),
    asked=st.tuples(NAMES, FAMILIES, DATES, NHS),
    use_nhs=st.booleans(),
    data=st.data(),
)
def test_search_matches_only_exact_identifiers(
    database_url: str,
    keys: Keyring,
    stored: tuple,
    asked: tuple,
    use_nhs: bool,
    data: st.DataObject,  # type: ignore[type-arg]
) -> None:
    db = Database(database_url)
    try:
        with db.engine.begin() as connection:
            connection.execute(text("DELETE FROM child_search_key"))
            connection.execute(text("DELETE FROM child"))
        given_name, family, born, nhs = stored
        child_id = _store(db, keys, ChildIdentity(given_name, family, born, nhs))
        q_given, q_family, q_born, q_nhs = asked
        query = SearchQuery(
            data.draw(spelling(q_family)),
            q_born,
            None if (use_nhs and q_nhs) else data.draw(spelling(q_given)),
            q_nhs if use_nhs else None,
        )
        expected = (
            identifiers.normalise_name(q_family) == identifiers.normalise_name(family)
            and q_born == born
            and (
                query.given_name is None
                or identifiers.normalise_name(q_given) == identifiers.normalise_name(given_name)
            )
            and (query.nhs_number is None or query.nhs_number == nhs)
        )
        assert (_find(db, keys, query) == child_id) is expected
    finally:
        db.dispose()


def test_query_needs_family_name_date_and_given_name_or_nhs_number() -> None:
    from patchwork.errors import Invalid

    with pytest.raises(Invalid) as missing:
        children.clean_query({"family_name": "Thompson", "date_of_birth": "2017-03-27"}, today=TODAY)
    assert "given_name" in missing.value.fields
    with pytest.raises(Invalid) as nothing:
        children.clean_query({}, today=TODAY)
    assert {"family_name", "date_of_birth"} <= set(nothing.value.fields)
