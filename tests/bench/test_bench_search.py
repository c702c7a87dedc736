"""The child-search benchmark runs end to end and checks every answer; its bulk fill writes what `seal` writes.

Timing targets belong to the bench; these tests assert only that the answers and counts are right.
"""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bench.search import (
    FAMILY_NAMES,
    GIVEN_NAMES,
    BenchError,
    bulk_insert,
    create_owner,
    make_population,
    nhs_check_digit,
    random_identity,
    run_search_bench,
    sealed_rows,
)
from patchwork import identifiers
from patchwork.cli import main
from patchwork.clock import utcnow
from patchwork.crypto import FORMAT, Keyring
from patchwork.db import Database
from patchwork.migrate import upgrade
from patchwork.models import Child, ChildSearchKey, Involvement, Network
from patchwork.runtime import keyring_for
from patchwork.services import children, networks, sealed_facts
from patchwork.services.children import ChildIdentity, SearchQuery
from tests.conftest import PG_URL, TEST_DATA_KEY, TEST_SECRET, make_settings

TODAY = utcnow().date()


def assert_small_run_is_right(result: dict[str, Any], *, database: str) -> None:
    assert result["database"] == database
    assert result["children"] == 500
    assert result["rows_written"]["child"] == 500
    assert result["rows_written"]["network"] == 500
    assert result["rows_written"]["involvement"] == 500
    assert result["rows_written"]["child_search_key"] >= 500
    assert 150 < result["identities"]["with_nhs_number"] < 350
    assert 150 < result["identities"]["with_postcode"] < 350

    search = result["search"]
    assert search["searches"] == 40
    assert (search["expected_matches"], search["expected_not_found"]) == (20, 20)
    assert (search["matched"], search["not_found"], search["wrong"]) == (20, 20, 0)
    assert search["audit_events_recorded"] == 40 + search["warm_up_not_counted"]
    assert all(value > 0 for value in search["latency_ms"].values())

    near = result["near_duplicates"]
    assert near["checks"] == 4
    assert (near["true_near_duplicates"], near["true_near_duplicates_flagged"]) == (2, 2)
    assert near["unrelated"] == 2
    assert near["wrong"] == 0
    assert all(value > 0 for value in near["latency_ms"].values())

    assert result["audit_chain_ok"] is True
    assert set(result["full_garbage_collections_while_timing"]) == {"count", "ms"}
    assert result["audit_events"] == search["audit_events_recorded"]


def test_a_small_run_on_sqlite_answers_every_search_rightly() -> None:
    result = run_search_bench(None, 500, 40)

    assert_small_run_is_right(result, database="sqlite")
    assert result["after_fill"] == ["PRAGMA wal_checkpoint(TRUNCATE)"]


@pytest.mark.postgres
def test_a_small_run_on_postgres_answers_every_search_rightly() -> None:
    if not PG_URL:
        pytest.skip("PostgreSQL tests need PATCHWORK_TEST_DATABASE_URL")
    result = run_search_bench(PG_URL, 500, 40)

    assert_small_run_is_right(result, database="postgresql")
    assert "VACUUM ANALYZE" in result["after_fill"]


def test_the_same_seed_builds_the_same_run() -> None:
    first, second = run_search_bench(None, 200, 20, seed=7), run_search_bench(None, 200, 20, seed=7)

    assert first["seed"] == second["seed"] == 7
    for part in ("identities", "rows_written"):
        assert first[part] == second[part]
    assert first["search"]["query_kinds"] == second["search"]["query_kinds"]


def test_it_refuses_what_it_cannot_run() -> None:
    with pytest.raises(BenchError, match="--children"):
        run_search_bench(None, 0, 40)
    with pytest.raises(BenchError, match="--searches"):
        run_search_bench(None, 10, 1)
    with pytest.raises(BenchError, match="PostgreSQL"):
        run_search_bench("mysql://nobody@localhost/none", 10, 10)


def test_it_stops_when_out_of_time() -> None:
    with pytest.raises(BenchError, match="ran out of time"):
        run_search_bench(None, 10, 10, time_limit=-1)


def test_the_command_prints_json(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATCHWORK_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("PATCHWORK_DATA_KEY", TEST_DATA_KEY)

    assert main(["bench", "search", "--children", "50", "--searches", "10"]) == 0

    result = json.loads(capsys.readouterr().out)
    assert result["children"] == 50
    assert (result["search"]["matched"], result["search"]["not_found"], result["search"]["wrong"]) == (5, 5, 0)


# --- The identities are what the app would store ---------------------------------------------------------------


def test_the_check_digit_is_modulus_11() -> None:
    assert nhs_check_digit("943476591") == 9  # 943 476 5919, the NHS's own example
    assert nhs_check_digit("413515887") == 0  # 11 - 0 gives 11, written 0
    assert nhs_check_digit("000000006") is None  # 11 - 1 gives 10: never issued
    rng = random.Random(8)
    for _ in range(1000):
        first_nine = str(rng.randrange(10**8, 10**9))
        check = nhs_check_digit(first_nine)
        if check is None:
            with pytest.raises(identifiers.IdentifierError):
                identifiers.nhs_number(first_nine + "0")
        else:
            assert identifiers.nhs_number(f"{first_nine}{check}") == f"{first_nine}{check}"


def test_generated_identities_are_what_clean_identity_keeps() -> None:
    rng = random.Random(3)
    identities = [random_identity(rng, TODAY) for _ in range(2000)]

    for identity in identities:
        raw: dict[str, object] = {
            "given_name": identity.given_name,
            "family_name": identity.family_name,
            "date_of_birth": identity.date_of_birth.isoformat(),
            "nhs_number": identity.nhs_number,
            "postcode": identity.postcode,
            "known_as": identity.known_as,
        }
        assert children.clean_identity(raw, today=TODAY) == identity
    born = [i.date_of_birth for i in identities]
    assert TODAY - timedelta(days=18 * 366) <= min(born) and max(born) <= TODAY
    assert 800 < sum(1 for i in identities if i.nhs_number) < 1200
    assert 800 < sum(1 for i in identities if i.postcode) < 1200
    assert len(GIVEN_NAMES) >= 300 and len(FAMILY_NAMES) >= 300


def test_a_population_has_no_two_children_an_exact_search_could_confuse() -> None:
    population = make_population(random.Random(4), 3000, TODAY)

    assert len(population.identities) == 3000
    # No given or known-as name key is shared (a shared one would have overwritten another in by_name).
    assert len(population.by_name) == sum(1 + bool(i.known_as) for i in population.identities)
    numbers = [i.nhs_number for i in population.identities if i.nhs_number]
    assert len(numbers) == len(set(numbers))


# --- The bulk path writes what `children.seal` writes ----------------------------------------------------------


def tricky_identities() -> list[ChildIdentity]:
    born = TODAY - timedelta(days=3000)
    return [
        ChildIdentity("Zoë", "O'Brien", born, "9434765919", "SW1A 1AA", "Zoe"),
        ChildIdentity("Łukasz", "Wiśniewski", born, None, "M1 1AE"),
        ChildIdentity("Anne-Marie", "Smith-Jones", born, "4010232137", None, "Annie"),
        ChildIdentity("Seán", "Ó Súilleabháin", TODAY - timedelta(days=10), None, None),
        ChildIdentity("Amelia", "Khan", TODAY, "4857773457", "B1 1AA"),
        ChildIdentity("Amelie", "Khan", TODAY, None, "B1 1AA"),  # a near duplicate of the one before
    ]


def sealed_world(database_url: str, keys: Keyring, identities: list[ChildIdentity], *, bulk: bool) -> list[str]:
    db = Database(database_url)
    try:
        if bulk:
            child_ids, _, _ = bulk_insert(db, keys, create_owner(db), identities)
            return child_ids
        with db.transaction() as session:
            return [
                children.seal(session=session, cipher=keys.cipher, index=keys.index, identity=identity).id
                for identity in identities
            ]
    finally:
        db.dispose()


def queries_for(identity: ChildIdentity) -> list[SearchQuery]:
    family, born = identity.family_name.upper(), identity.date_of_birth
    found = [SearchQuery(family, born, identity.given_name.lower(), None)]
    if identity.known_as:
        found.append(SearchQuery(family, born, identity.known_as, None))
    if identity.nhs_number:
        found += [
            SearchQuery(family, born, None, identity.nhs_number),
            SearchQuery(family, born, identity.given_name, identity.nhs_number),
        ]
    found += [
        SearchQuery(family, born + timedelta(days=1), identity.given_name, None),
        SearchQuery(family + "x", born, identity.given_name, None),
        SearchQuery(family, born, identity.given_name + "x", identity.nhs_number),
    ]
    return found


def near_probes_for(identity: ChildIdentity, rng: random.Random) -> list[ChildIdentity]:
    stranger = random_identity(rng, TODAY)
    return [
        identity,
        dataclasses.replace(identity, given_name=identity.given_name + "a", nhs_number=None, postcode=None),
        dataclasses.replace(stranger, nhs_number=identity.nhs_number),
        dataclasses.replace(stranger, family_name=identity.family_name, postcode=identity.postcode),
        stranger,
    ]


def test_bulk_rows_are_the_rows_seal_writes(database_url: str, tmp_path: Path) -> None:
    """Bulk-fill one database and seal the same children one by one into another: the rows match, and
    find_exact and near_duplicates answer alike in both."""
    seal_url = f"sqlite:///{tmp_path / 'sealed.db'}"
    upgrade(seal_url)
    keys = keyring_for(make_settings(database_url))
    identities = tricky_identities() + make_population(random.Random(5), 300, TODAY).identities

    bulk_ids = sealed_world(database_url, keys, identities, bulk=True)
    sealed_ids = sealed_world(seal_url, keys, identities, bulk=False)

    bulk, sealed = Database(database_url), Database(seal_url)
    try:
        with bulk.transaction() as bulk_session, sealed.transaction() as sealed_session:
            bulk_rows = read_rows(bulk_session, bulk_ids)
            sealed_rows = read_rows(sealed_session, sealed_ids)
            for (bulk_child, bulk_keys), (sealed_child, sealed_keys), identity in zip(
                bulk_rows, sealed_rows, identities, strict=True
            ):
                assert blind_columns(bulk_child) == blind_columns(sealed_child)
                assert bulk_keys == sealed_keys
                assert bulk_child.sealed_identity.split(":")[:2] == sealed_child.sealed_identity.split(":")[:2]
                assert bulk_child.sealed_identity.startswith(f"{FORMAT}:{keys.cipher.current_id}:")
                assert children.open_identity(keys.cipher, bulk_child) == identity
                assert children.open_identity(keys.cipher, sealed_child) == identity

            bulk_number = {child_id: n for n, child_id in enumerate(bulk_ids)}
            sealed_number = {child_id: n for n, child_id in enumerate(sealed_ids)}
            matched = 0
            for number, identity in enumerate(identities):
                for query in queries_for(identity):
                    in_bulk = children.find_exact(session=bulk_session, index=keys.index, query=query)
                    in_sealed = children.find_exact(session=sealed_session, index=keys.index, query=query)
                    assert (in_bulk is None) == (in_sealed is None)
                    if in_bulk is not None and in_sealed is not None:
                        assert bulk_number[in_bulk] == sealed_number[in_sealed] == number
                        matched += 1
            assert matched >= len(identities)

            rng = random.Random(6)
            flagged = 0
            for identity in identities[:60]:
                for probe in near_probes_for(identity, rng):
                    in_bulk = near(bulk_session, keys, probe, bulk_number)
                    assert in_bulk == near(sealed_session, keys, probe, sealed_number)
                    flagged += len(in_bulk)
            assert flagged >= 3 * 60
    finally:
        bulk.dispose()
        sealed.dispose()


def read_rows(session: Any, child_ids: list[str]) -> list[tuple[Child, list[tuple[str, str]]]]:
    rows = []
    for child_id in child_ids:
        child = session.get(Child, child_id)
        assert child is not None
        search_keys = session.exec(select(ChildSearchKey).where(ChildSearchKey.child_id == child_id)).all()
        rows.append((child, sorted((k.kind, k.key) for k in search_keys)))
    return rows


def blind_columns(child: Child) -> tuple[str, str | None, str | None]:
    return (child.dob_index, child.nhs_index, child.postcode_family_index)


def near(session: Any, keys: Keyring, identity: ChildIdentity, numbers: dict[str, int]) -> set[int]:
    found = children.near_duplicates(session=session, cipher=keys.cipher, index=keys.index, identity=identity)
    return {numbers[child.id] for child in found}


def test_bulk_rows_fill_every_column() -> None:
    keys = keyring_for(make_settings("sqlite://"))
    for identity in tricky_identities():
        child, search_keys = sealed_rows(keys, identity)
        assert set(child) == set(Child.__table__.columns.keys())  # type: ignore[attr-defined]
        for row in search_keys:
            assert set(row) == set(ChildSearchKey.__table__.columns.keys())  # type: ignore[attr-defined]


def test_bulk_networks_and_involvements_are_what_start_network_makes(database_url: str, tmp_path: Path) -> None:
    started_url = f"sqlite:///{tmp_path / 'started.db'}"
    upgrade(started_url)
    keys = keyring_for(make_settings(database_url))
    identity = tricky_identities()[0]
    bulk, started = Database(database_url), Database(started_url)
    try:
        bulk_insert(bulk, keys, create_owner(bulk), [identity])
        owner = create_owner(started)
        with started.transaction() as session:
            networks.start_network(
                session=session,
                keys=keys,
                actor=owner.actor,
                identity=identity,
                details=networks.InvolvementDetails(role_label="Class teacher", reason="Concerns about attendance"),
            )
        rows = []
        for db in (bulk, started):
            with db.transaction() as session:
                network = session.exec(select(Network)).one()
                involvement = session.exec(select(Involvement)).one()
                child = session.exec(select(Child)).one()
                assert network.child_id == child.id and involvement.network_id == network.id
                opened = sealed_facts.open_involvement(keys.cipher, involvement)  # ciphertexts differ by nonce
                rows.append((comparable(network), comparable(involvement), opened, blind_columns(child)))
        assert rows[0] == rows[1]
    finally:
        bulk.dispose()
        started.dispose()


VARIES = {"id", "child_id", "network_id", "account_id", "organisation_id", "created_by_id", "created_at"}
VARIES |= {"last_activity_at", "started_at"}


def comparable(row: Any) -> dict[str, Any]:
    return {k: v for k, v in row.model_dump().items() if k not in VARIES and not k.endswith("_sealed")}


def test_tricky_identities_are_clean() -> None:
    for identity in tricky_identities():
        raw = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in dataclasses.asdict(identity).items()}
        assert children.clean_identity(raw, today=TODAY) == identity
