"""Child-search benchmark: fill a throwaway database with N children, then time the real search and
near-duplicate check against them.

SQLite runs in a temporary file; given a PostgreSQL admin URL, a database is created for the run and dropped
after it. Children are sealed as `children.seal` seals them (same ciphertext format, same blind-index keys;
the tests prove the rows equivalent) but built as plain rows and written in batches with executemany, so that
a hundred thousand children take seconds rather than a hundred thousand transactions. Every search runs
through `networks.search` in its own transaction, as the app runs it, audit event included, and every answer
is checked against what was written.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import random
import secrets
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, insert, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel, col, select

from bench.audit import _throwaway_postgres
from bench.signin import latency_summary
from patchwork import identifiers, policy
from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.db import Database, normalise_url
from patchwork.migrate import upgrade
from patchwork.models import (
    Account,
    AccountKind,
    AccountStatus,
    AuditEvent,
    Child,
    ChildSearchKey,
    Involvement,
    Network,
    Organisation,
    OrganisationType,
    new_id,
)
from patchwork.runtime import keyring_for
from patchwork.services import audit, children, networks, sealed_facts
from patchwork.services.children import ChildIdentity, SearchQuery
from patchwork.settings import Settings, new_data_key

FILL_BATCH = 5000
YEARS_OF_BIRTHS = 18
UNLIMITED = 10**9
WARM_UP_SEARCHES = 5
TIME_LIMIT_SECONDS = 3600.0
SHARE_WITH_NHS_NUMBER = 0.5
SHARE_WITH_POSTCODE = 0.5
SHARE_WITH_KNOWN_AS = 0.05

_GIVEN = """
Oliver George Arthur Noah Muhammad Leo Oscar Harry Archie Jack Henry Charlie Freddie Theodore Thomas Finley Theo
Alfie Jacob William Isaac Tommy Joshua James Lucas Alexander Arlo Roman Edward Elijah Teddy Max Mohammed Albie
Ethan Louie Hugo Reggie Jude Harrison Sebastian Adam Logan Hunter Rory Mason Ezra Reuben Toby Jaxon Albert Daniel
Ronnie Jenson Ralph Dylan Benjamin Elliot Samuel Joseph Louis Frankie Luca Finn Harvey Rowan Stanley Frederick
Caleb Gabriel Jasper Ibrahim Riley Ellis Harley Austin Otis Rupert Ollie Bobby Zachary Felix Nathan Ryan Alfred
Jesse Ali Yusuf Kai Grayson Carter Aaron Michael Liam Callum Kian Cameron Connor Declan Eoin Cillian Ciarán Seán
Oisín Darragh Rhys Dafydd Gethin Iwan Owain Aled Ewan Fraser Angus Hamish Struan Kyle Jamie Lewis Marcus Tyler
Kieran Jordan Aidan Bilal Hamza Zain Ayaan Arjun Rohan Aarav Vihaan Krish Dev Ravi Sanjay Kwame Kofi Chidi Emeka
Tunde Femi Jakub Szymon Kacper Filip Mateusz Łukasz Andrei Mihai Luka Matteo Marco Pablo Diego Mateo Santiago
Tomás João Rafael Yosef Levi Eli Amir Omar Yahya Musa Idris Tariq Hassan Hussain Abdullah Khalid Jayden Malachi
Tobias Nico Milo Ezekiel Brody Cody Kayden Olivia Amelia Isla Ava Ivy Freya Lily Florence Mia Willow Rosie Sophia
Isabella Grace Daisy Sienna Poppy Elsie Emily Ella Evelyn Phoebe Sofia Evie Charlotte Harper Millie Matilda Maya
Alice Emilia Ruby Luna Maisie Aria Penelope Mila Bonnie Eva Hallie Mabel Violet Esme Thea Scarlett Ellie Jessica
Chloë Zoë Hannah Lucy Eliza Imogen Erin Layla Nancy Harriet Arabella Edith Beatrice Iris Maryam Aisha Fatima Zara
Amira Hafsa Khadija Zainab Inaya Anaya Priya Diya Saanvi Kiara Amara Adaeze Chiamaka Ngozi Ife Abena Zuzanna Julia
Maja Zofia Alicja Oliwia Wiktoria Natalia Emma Chiara Giulia Lucía Valentina Mariana Inês Beatriz Siobhán Niamh
Aoife Saoirse Caoimhe Orla Róisín Ciara Eilidh Catriona Morag Ffion Cerys Seren Carys Megan Bethan Mali Lowri
Elin Rhiannon Tegan Keira Leah Jasmine Summer Skye Lola Nell Clara Martha Heidi Robyn Hollie Amber Molly Georgia
Lacey Darcie Lexi Macie Gracie Elena Lydia Rose Aurora Hazel Ada Delilah Naomi Rebecca Rachel Sarah Leila Yasmin
Noor Safiya Elif Zeynep Defne Mei Yuki Linh Ayesha Mariam Sumaya Hodan Nasra Deqa Anne-Marie Mary-Jane
"""

_FAMILY = """
Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson Wright Walker White
Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner Martin Cooper Hill Ward Morris Moore Clark
Lee King Baker Harrison Morgan Allen James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths
Mitchell Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson
Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain Campbell
Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins Murray Dixon
Harvey Graham Pearson Ahmed Fletcher Walsh Kaur Gibson Howard Andrews Stewart Elliott Reynolds Saunders Payne Fox
Ford Pearce Day Brooks West Lawrence Cole Atkinson Bradley Spencer Gill Dawson Ball Burton O'Brien Watts Booth
Perry Ryan Grant Wells Armstrong Francis Rees Hayes Hart Hudson Newman Barrett Webster Gregory Carr Lowe Page
Marsh Dunn Woods Parsons Berry Stone Reid Holland Hawkins Harding Porter Robertson Newton Reed Kennedy Williamson
Bird Gardner Shah Dean Lane Cooke Bates Henderson Parry Burgess Bishop Walton Burns Nicholson Shepherd Ross Cross
Long Freeman Warren Nicholls Hamilton Byrne Sutton McDonald Yates Hodgson Robson Curtis Hopkins O'Connor Coleman
Watkins Moss McCarthy Chambers O'Neill Griffin Sharp Hardy Wheeler Potter Osborne Johnston Gordon Doyle Wallace
Hutchinson Rowe Burke Pritchard Gilbert Willis Higgins Read Miles Stevenson Hammond Arnold Buckley Walters Hewitt
Barber Nelson Slater Sullivan Whitehead Mann Frost Lambert Blake Akhtar Lynch Goodwin Barton Woodward Cunningham
Quinn Barnett Baxter Bibi Clayton Nash Greenwood Jennings Holt Kemp Poole Gallagher Bond Stokes Tucker Davidson
Fowler Heath Norman Middleton Lawson Banks French Jarvis Gibbs Ferguson Hayward Carroll Douglas Dickinson Todd
Barlow Peters Knowles Hartley Miah Simmons Morton Field Morrison Norris Townsend Preston Hancock Thornton Baldwin
Burrows Briggs Storey Pennington Nowak Kowalski Wiśniewski Wójcik Lewandowski Nguyen Tran Chen Wang Zhang Liu
Okafor Adeyemi Mensah Osei Boateng Okoro Eze Abdi Mohamed Yilmaz Kaya Demir Rossi Ferrari Silva Santos Pereira
Costa Rodrigues Fernandes Popescu Ionescu Müller Dubois Smith-Jones Lloyd-Davies MacLeod McKenzie Fitzgerald
"""

_AREAS = "B E G L M N S W BS CB CF LS NE NW OX SE SW YO BN BT CV DE EX GL HU LE LN NG NR PE PL PO RG SO ST TN WF WR"
_POSTCODE_AREAS = tuple(_AREAS.split())
_POSTCODE_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def _unique_names(words: str) -> tuple[str, ...]:
    """The names in order, keeping the first of any two that normalise alike (they would search alike)."""
    seen: dict[str, str] = {}
    for word in words.split():
        seen.setdefault(identifiers.normalise_name(word), word)
    return tuple(seen.values())


GIVEN_NAMES = _unique_names(_GIVEN)
FAMILY_NAMES = _unique_names(_FAMILY)


class BenchError(RuntimeError):
    """The benchmark could not run, ran out of time, or the service gave a wrong answer; the message says why."""


# --- Identities -------------------------------------------------------------------------------------------------


def nhs_check_digit(first_nine: str) -> int | None:
    """Modulus 11: weights 10 down to 2; check = 11 - (sum mod 11), 11 means 0, 10 means no valid number."""
    total = sum(int(digit) * weight for digit, weight in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    return 0 if check == 11 else None if check == 10 else check


def random_nhs_number(rng: random.Random) -> str:
    while True:
        first_nine = str(rng.randrange(400_000_000, 700_000_000))
        check = nhs_check_digit(first_nine)
        if check is not None:
            return f"{first_nine}{check}"


def random_postcode(rng: random.Random) -> str:
    inward = f"{rng.randrange(10)}{rng.choice(_POSTCODE_INWARD_LETTERS)}{rng.choice(_POSTCODE_INWARD_LETTERS)}"
    return identifiers.postcode(f"{rng.choice(_POSTCODE_AREAS)}{rng.randint(1, 29)} {inward}")


def random_identity(rng: random.Random, today: date) -> ChildIdentity:
    """A child as `children.clean_identity` would leave them: born in the last 18 years, about half with an
    NHS number and half with a postcode, a few with a known-as name."""
    given = rng.choice(GIVEN_NAMES)
    known_as = rng.choice(GIVEN_NAMES) if rng.random() < SHARE_WITH_KNOWN_AS else None
    return ChildIdentity(
        given_name=given,
        family_name=rng.choice(FAMILY_NAMES),
        date_of_birth=today - timedelta(days=rng.randrange(YEARS_OF_BIRTHS * 365 + 4)),
        nhs_number=random_nhs_number(rng) if rng.random() < SHARE_WITH_NHS_NUMBER else None,
        postcode=random_postcode(rng) if rng.random() < SHARE_WITH_POSTCODE else None,
        known_as=known_as if known_as != given else None,
    )


NameKey = tuple[str, date, str]


def _name_keys(identity: ChildIdentity) -> list[NameKey]:
    family = identifiers.normalise_name(identity.family_name)
    names = [identity.given_name] + ([identity.known_as] if identity.known_as else [])
    return [(family, identity.date_of_birth, identifiers.normalise_name(name)) for name in names]


def _nhs_key(identity: ChildIdentity) -> NameKey | None:
    if not identity.nhs_number:
        return None
    return (identifiers.normalise_name(identity.family_name), identity.date_of_birth, identity.nhs_number)


@dataclass
class Population:
    """The children written, in plain text, with the lookups needed to know what every search should find."""

    identities: list[ChildIdentity] = field(default_factory=list)
    by_name: dict[NameKey, int] = field(default_factory=dict)
    by_nhs_key: dict[NameKey, int] = field(default_factory=dict)
    nhs_numbers: set[str] = field(default_factory=set)
    by_born: defaultdict[date, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_nhs: dict[str, int] = field(default_factory=dict)
    by_postcode_family: defaultdict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(list))

    def clashes(self, identity: ChildIdentity) -> bool:
        """Whether an exact search for this identity could find another child (so searches stay unambiguous)."""
        keys = _name_keys(identity)
        return (
            len(set(keys)) != len(keys)
            or any(key in self.by_name for key in keys)
            or (identity.nhs_number is not None and identity.nhs_number in self.nhs_numbers)
        )

    def add(self, identity: ChildIdentity) -> int:
        number = len(self.identities)
        self.identities.append(identity)
        for key in _name_keys(identity):
            self.by_name[key] = number
        nhs_key = _nhs_key(identity)
        if nhs_key is not None and identity.nhs_number:
            self.by_nhs_key[nhs_key] = number
            self.nhs_numbers.add(identity.nhs_number)
            self.by_nhs[identity.nhs_number] = number
        self.by_born[identity.date_of_birth].append(number)
        if identity.postcode:
            self.by_postcode_family[_postcode_family(identity)].append(number)
        return number

    def exact(self, query: SearchQuery) -> int | None:
        """What `children.find_exact` should answer, worked out from the plain text."""
        family = identifiers.normalise_name(query.family_name)
        found: list[int | None] = []
        if query.given_name:
            found.append(self.by_name.get((family, query.date_of_birth, identifiers.normalise_name(query.given_name))))
        if query.nhs_number:
            found.append(self.by_nhs_key.get((family, query.date_of_birth, query.nhs_number)))
        if not found or any(f is None for f in found) or len(set(found)) != 1:
            return None
        return found[0]

    def near(self, identity: ChildIdentity) -> set[int]:
        """What `children.near_duplicates` should answer: same NHS number, same postcode and family name, or
        same date of birth and similar names."""
        found: set[int] = set()
        if identity.nhs_number and identity.nhs_number in self.by_nhs:
            found.add(self.by_nhs[identity.nhs_number])
        if identity.postcode:
            found.update(self.by_postcode_family.get(_postcode_family(identity), []))
        for number in self.by_born.get(identity.date_of_birth, []):
            if children._similar_person(identity, self.identities[number]):
                found.add(number)
        return found


def _postcode_family(identity: ChildIdentity) -> tuple[str, str]:
    return (identity.postcode or "", identifiers.normalise_name(identity.family_name))


def make_population(rng: random.Random, count: int, today: date) -> Population:
    population = Population()
    while len(population.identities) < count:
        identity = random_identity(rng, today)
        if not population.clashes(identity):
            population.add(identity)
    return population


# --- Sealing and writing ------------------------------------------------------------------------------------------


def _row(instance: SQLModel) -> dict[str, Any]:
    table = type(instance).__table__  # type: ignore[attr-defined]
    return {column.name: getattr(instance, column.name) for column in table.columns}


def sealed_rows(keys: Keyring, identity: ChildIdentity) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The child row and search-key rows `children.seal` writes for this identity, as plain dicts for executemany.

    The same ciphertext format and context and the same blind-index keys as `seal`, built without the ORM's
    per-object cost (constructing the models is most of the time `seal` takes). The tests check that these
    rows are found by `find_exact` and `near_duplicates` exactly as rows written by `seal` are.
    """
    child_id = new_id()
    index, born, family = keys.index, identity.date_of_birth, identity.family_name
    child = {
        "id": child_id,
        "sealed_identity": keys.cipher.encrypt(identity.to_json(), context=f"child:{child_id}"),
        "dob_index": index("dob", born.isoformat()),
        "nhs_index": index("nhs-only", identity.nhs_number) if identity.nhs_number else None,
        "postcode_family_index": (
            index("postcode-family", identity.postcode, identifiers.normalise_name(family))
            if identity.postcode
            else None
        ),
        "created_at": utcnow(),
    }
    search_keys = [("given", children._name_key(index, family, born, identity.given_name))]
    if identity.known_as:
        search_keys.append(("known_as", children._name_key(index, family, born, identity.known_as)))
    if identity.nhs_number:
        search_keys.append(("nhs", children._nhs_key(index, family, born, identity.nhs_number)))
    return child, [{"id": new_id(), "child_id": child_id, "kind": kind, "key": key} for kind, key in search_keys]


@dataclass(frozen=True)
class Owner:
    organisation_id: str
    account_id: str

    @property
    def actor(self) -> policy.Actor:
        return policy.Actor(
            account_id=self.account_id,
            kind=AccountKind.practitioner,
            organisation_id=self.organisation_id,
            is_org_admin=False,
        )


def create_owner(db: Database) -> Owner:
    """The one organisation and practitioner that start every network in the benchmark."""
    with db.transaction() as session:
        organisation = Organisation(name="Bench Primary School", type=OrganisationType.school)
        session.add(organisation)
        session.flush()
        account = Account(
            email="bench.practitioner@bench-primary-school.example.org",
            name="Bench Practitioner",
            job_title="Designated safeguarding lead",
            kind=AccountKind.practitioner,
            organisation_id=organisation.id,
            status=AccountStatus.active,
            password_hash="!bench: no password signs in",
        )
        session.add(account)
        session.flush()
        return Owner(organisation_id=organisation.id, account_id=account.id)


def bulk_insert(
    db: Database, keys: Keyring, owner: Owner, identities: Sequence[ChildIdentity], *, deadline: float | None = None
) -> tuple[list[str], list[str], dict[str, int]]:
    """Write each identity as `networks.start_network` would (child, search keys, network, one involvement),
    in batches; return the child ids and network ids in the order given, and the rows written per table."""
    child_ids: list[str] = []
    network_ids: list[str] = []
    written = {"child": 0, "child_search_key": 0, "network": 0, "involvement": 0}
    # One network and involvement made as start_network makes them; each row copies its defaults.
    network_template = _row(Network(child_id="", created_by_id=owner.account_id))
    involvement_text = sealed_facts.InvolvementText("Class teacher", "Concerns about attendance", "")
    for start in range(0, len(identities), FILL_BATCH):
        _check(deadline, "filling the database")
        child_rows, key_rows, network_rows, involvement_rows = [], [], [], []
        for identity in identities[start : start + FILL_BATCH]:
            child_row, search_keys = sealed_rows(keys, identity)
            now = utcnow()
            network_row = network_template | {
                "id": new_id(),
                "child_id": child_row["id"],
                "created_at": now,
                "last_activity_at": now,
            }
            # Sealed afresh for each row: a ciphertext opens only in the row it was made for.
            involvement = sealed_facts.new_involvement(
                keys.cipher,
                network_id=network_row["id"],
                account_id=owner.account_id,
                organisation_id=owner.organisation_id,
                sensitive=False,
                text=involvement_text,
            )
            involvement_row = _row(involvement) | {"started_at": now}
            child_rows.append(child_row)
            key_rows.extend(search_keys)
            network_rows.append(network_row)
            involvement_rows.append(involvement_row)
            child_ids.append(child_row["id"])
            network_ids.append(network_row["id"])
        batches: tuple[tuple[str, type[SQLModel], list[dict[str, Any]]], ...] = (
            ("child", Child, child_rows),
            ("child_search_key", ChildSearchKey, key_rows),
            ("network", Network, network_rows),
            ("involvement", Involvement, involvement_rows),
        )
        with db.engine.begin() as connection:
            for table, model, rows in batches:
                connection.execute(insert(model), rows)
                written[table] += len(rows)
    return child_ids, network_ids, written


# --- Searches ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    query: SearchQuery
    expected: int | None  # the child the search must find, by position in the population; None: no match
    kind: str


def _spelled(rng: random.Random, name: str) -> str:
    """The same name as someone might type it: case changed, spaces around."""
    return rng.choice((name, name.upper(), name.lower(), f" {name} "))


def _query(rng: random.Random, identity: ChildIdentity, kind: str, today: date) -> SearchQuery:
    given = identity.known_as if identity.known_as and rng.random() < 0.5 else identity.given_name
    raw: dict[str, object] = {
        "family_name": _spelled(rng, identity.family_name),
        "date_of_birth": identity.date_of_birth.isoformat(),
    }
    if kind in ("name", "both"):
        raw["given_name"] = _spelled(rng, given)
    if kind in ("nhs", "both") and identity.nhs_number:
        number = identity.nhs_number
        raw["nhs_number"] = rng.choice((number, f"{number[:3]} {number[3:6]} {number[6:]}"))
    return children.clean_query(raw, today=today)


def _kind(rng: random.Random, identity: ChildIdentity) -> str:
    return rng.choice(("name", "nhs", "both")) if identity.nhs_number else "name"


def _near_miss(rng: random.Random, identity: ChildIdentity, today: date) -> tuple[ChildIdentity, str]:
    """The child with one detail wrong: the date of birth, a name, or the NHS number."""
    change = rng.choice(("born", "given", "family", "nhs") if identity.nhs_number else ("born", "given", "family"))
    if change == "born":
        days = rng.randint(1, 40)
        later = identity.date_of_birth + timedelta(days=days)
        born = later if later <= today else identity.date_of_birth - timedelta(days=days)
        return _replace(identity, date_of_birth=born), change
    if change == "given":
        return _replace(identity, given_name=rng.choice(GIVEN_NAMES), known_as=None), change
    if change == "family":
        return _replace(identity, family_name=rng.choice(FAMILY_NAMES)), change
    return _replace(identity, nhs_number=random_nhs_number(rng)), change


def _replace(identity: ChildIdentity, **changes: Any) -> ChildIdentity:
    return dataclasses.replace(identity, **changes)


def search_probes(rng: random.Random, population: Population, count: int, today: date) -> list[Probe]:
    """Half searches for children who are there, half near misses that must find nobody, shuffled."""
    probes: list[Probe] = []
    everyone = len(population.identities)
    for _ in range(count - count // 2):
        number = rng.randrange(everyone)
        identity = population.identities[number]
        kind = _kind(rng, identity)
        probes.append(Probe(_query(rng, identity, kind, today), number, f"match:{kind}"))
    while len(probes) < count:
        original = population.identities[rng.randrange(everyone)]
        missed, change = _near_miss(rng, original, today)
        query = _query(rng, missed, _kind(rng, missed), today)
        if population.exact(query) is None:
            probes.append(Probe(query, None, f"miss:{change}"))
    for probe in probes:
        if population.exact(probe.query) != probe.expected:
            raise BenchError(f"the benchmark built a search it cannot judge: {probe.kind}")
    rng.shuffle(probes)
    return probes


@dataclass(frozen=True)
class NearProbe:
    identity: ChildIdentity
    source: int | None  # the child this is a near duplicate of; None for an unrelated child
    kind: str


def _typo(rng: random.Random, name: str) -> str:
    """One letter of a name changed, as a slip of the keyboard would."""
    letters = [i for i, ch in enumerate(name) if ch.isascii() and ch.isalpha()]
    if len(letters) < 2:
        return name + "e"
    at = rng.choice(letters[1:])
    replacement = rng.choice([ch for ch in "aeiourstn" if ch != name[at].lower()])
    return name[:at] + replacement + name[at + 1 :]


def near_probes(rng: random.Random, population: Population, count: int, today: date) -> list[NearProbe]:
    """Half true near duplicates of children who are there (a typed slip in the given name, the same NHS
    number, or the same postcode and family name), half unrelated children."""
    probes: list[NearProbe] = []
    everyone = len(population.identities)
    with_nhs = [n for n in population.by_nhs.values()]
    with_postcode = [n for numbers in population.by_postcode_family.values() for n in numbers]
    kinds = ("typo", "nhs", "postcode")
    for turn in range(count - count // 2):
        kind = kinds[turn % len(kinds)]
        if kind == "nhs" and with_nhs:
            number = rng.choice(with_nhs)
            source = population.identities[number]
            stranger = random_identity(rng, today)
            identity = _replace(stranger, nhs_number=source.nhs_number, postcode=None)
        elif kind == "postcode" and with_postcode:
            number = rng.choice(with_postcode)
            source = population.identities[number]
            stranger = random_identity(rng, today)
            identity = _replace(stranger, family_name=source.family_name, postcode=source.postcode, nhs_number=None)
        else:
            kind = "typo"
            number = rng.randrange(everyone)
            source = population.identities[number]
            identity = _replace(
                source, given_name=_typo(rng, source.given_name), known_as=None, nhs_number=None, postcode=None
            )
        probes.append(NearProbe(identity, number, kind))
    while len(probes) < count:
        identity = random_identity(rng, today)
        if not population.clashes(identity):
            probes.append(NearProbe(identity, None, "unrelated"))
    rng.shuffle(probes)
    return probes


# --- The run ----------------------------------------------------------------------------------------------------


def run_search_bench(
    database_url: str | None,
    children_count: int,
    searches: int,
    *,
    seed: int | None = None,
    time_limit: float = TIME_LIMIT_SECONDS,
) -> dict[str, Any]:
    """Fill a fresh database with `children_count` children and time `searches` searches and a tenth as many
    near-duplicate checks against it. BenchError if it cannot finish in `time_limit` or an answer is wrong."""
    if children_count < 1:
        raise BenchError("--children must be 1 or more")
    if searches < 2:
        raise BenchError("--searches must be 2 or more")
    deadline = time.monotonic() + time_limit
    if database_url is None:
        with tempfile.TemporaryDirectory(prefix="patchwork-bench-search-") as folder:
            return _run(f"sqlite:///{folder}/search.db", children_count, searches, seed, deadline)
    url = normalise_url(database_url)
    if not url.startswith("postgresql"):
        raise BenchError("--database-url takes a PostgreSQL admin URL; leave it out for a temporary SQLite file")
    with _throwaway_postgres(url) as bench_url:
        return _run(bench_url, children_count, searches, seed, deadline)


def _check(deadline: float | None, doing: str) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise BenchError(f"the search benchmark ran out of time while {doing}")


def _run(url: str, children_count: int, searches: int, seed: int | None, deadline: float) -> dict[str, Any]:
    load_at_start = _load_average()
    seed = secrets.randbits(32) if seed is None else seed
    rng = random.Random(seed)
    settings = Settings(env="local", database_url=url, secret_key=secrets.token_urlsafe(36), data_key=new_data_key())
    keys = keyring_for(settings)
    today = utcnow().date()
    upgrade(url)
    db = Database(url)
    try:
        dialect = db.engine.dialect.name
        started = time.perf_counter()
        owner = create_owner(db)
        population = make_population(rng, children_count, today)
        generate_seconds = time.perf_counter() - started
        child_ids, network_ids, written = bulk_insert(db, keys, owner, population.identities, deadline=deadline)
        settled = _settle(db)
        fill_seconds = time.perf_counter() - started
        with _quiet_collector() as collections:
            search_result = _time_searches(db, keys, owner, population, network_ids, rng, searches, today, deadline)
            near_result = _time_near_duplicates(
                db, keys, population, child_ids, rng, max(2, searches // 10), today, deadline
            )
        with db.transaction() as session:
            trail = audit.verify(session=session, key=keys.audit, previous_keys=keys.audit_previous)
    finally:
        db.dispose()
    if not trail.ok:
        raise BenchError(f"the audit trail the searches wrote did not verify: {trail.problem}")
    return {
        "benchmark": "child-search",
        "database": dialect,
        "children": children_count,
        "seed": seed,
        "cpu_count": os.cpu_count(),
        # Other work on the machine shares its CPUs with this process and the database: it shows in the tails.
        "load_average_1min_at_start_and_end": [load_at_start, _load_average()],
        "identities": {
            "with_nhs_number": len(population.nhs_numbers),
            "with_postcode": sum(len(n) for n in population.by_postcode_family.values()),
            "with_known_as": sum(1 for i in population.identities if i.known_as),
            "distinct_dates_of_birth": len(population.by_born),
        },
        "rows_written": written,
        "fill_seconds": round(fill_seconds, 3),
        "fill_generate_seconds": round(generate_seconds, 3),
        "after_fill": settled,
        "full_garbage_collections_while_timing": collections,
        "search": search_result,
        "near_duplicates": near_result,
        "audit_events": trail.events_checked,
        "audit_chain_ok": trail.ok,
    }


@contextmanager
def _quiet_collector() -> Iterator[dict[str, float]]:
    """Keep the benchmark's own data (the plain-text population: hundreds of thousands of objects) out of the
    timings. A full collection walks every tracked object, about 200 ms with the population in memory, and lands
    on whichever search is running; so the population is frozen out of collection while timing, and any full
    collections that still happen are counted."""
    seen = {"count": 0, "ms": 0.0}
    began = [0.0]

    def watch(phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            seen["count"] += 1
            seen["ms"] = round(seen["ms"] + (time.perf_counter() - began[0]) * 1000, 2)

    gc.collect()
    gc.freeze()
    gc.callbacks.append(watch)
    try:
        yield seen
    finally:
        gc.callbacks.remove(watch)
        gc.unfreeze()


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _settle(db: Database) -> list[str]:
    """Leave the freshly loaded database as a working one would be, so the timings do not pay for the load:
    on PostgreSQL, planner statistics and visibility maps (autovacuum's work, and autovacuum may be off) and the
    load's dirty pages written out; on SQLite, the load's write-ahead log folded into the database file."""
    if db.engine.dialect.name == "postgresql":
        done = ["VACUUM ANALYZE", "CHECKPOINT"]
    else:
        done = ["PRAGMA wal_checkpoint(TRUNCATE)"]
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for statement in list(done):
            try:
                connection.execute(text(statement))
            except DBAPIError:  # CHECKPOINT needs a superuser or pg_checkpoint; the rest is still worth doing
                done.remove(statement)
    return done


def _search_once(db: Database, keys: Keyring, actor: policy.Actor, query: SearchQuery) -> tuple[float, str | None]:
    started = time.perf_counter()
    with db.transaction() as session:
        match = networks.search(session=session, keys=keys, actor=actor, query=query, per_hour=UNLIMITED)
        found = None
        if match is not None:
            if not match.already_member or len(match.members) != 1:
                raise BenchError(f"search found network {match.network_id} without its one member")
            found = match.network_id
    return (time.perf_counter() - started) * 1000, found


def _time_searches(
    db: Database,
    keys: Keyring,
    owner: Owner,
    population: Population,
    network_ids: Sequence[str],
    rng: random.Random,
    searches: int,
    today: date,
    deadline: float,
) -> dict[str, Any]:
    probes = search_probes(rng, population, searches, today)
    actor = owner.actor
    for probe in search_probes(rng, population, WARM_UP_SEARCHES, today):
        _search_once(db, keys, actor, probe.query)
    all_ms: list[float] = []
    by_outcome: dict[str, list[float]] = {"matched": [], "not_found": []}
    counts = {"matched": 0, "not_found": 0, "wrong": 0}
    wrong: list[str] = []
    cpu_started = time.process_time()
    for turn, probe in enumerate(probes):
        if turn % 50 == 0:
            _check(deadline, "timing searches")
        elapsed, found = _search_once(db, keys, actor, probe.query)
        expected = None if probe.expected is None else network_ids[probe.expected]
        all_ms.append(elapsed)
        by_outcome["matched" if expected else "not_found"].append(elapsed)
        if found != expected:
            counts["wrong"] += 1
            wrong.append(f"{probe.kind}: expected {expected}, found {found}")
        else:
            counts["matched" if found else "not_found"] += 1
    cpu_ms = (time.process_time() - cpu_started) * 1000 / searches
    with db.transaction() as session:
        recorded = session.exec(
            select(func.count()).where(
                col(AuditEvent.actor_id) == owner.account_id, col(AuditEvent.action) == "child.searched"
            )
        ).one()
    if wrong:
        raise BenchError(f"{len(wrong)} of {searches} searches answered wrongly, first: {wrong[0]}")
    if recorded != searches + WARM_UP_SEARCHES:
        raise BenchError(f"{searches + WARM_UP_SEARCHES} searches recorded {recorded} audit events")
    return {
        "service": "networks.search, one db.transaction() each, audit event included, rate limit 10^9/hour",
        "searches": searches,
        "warm_up_not_counted": WARM_UP_SEARCHES,
        "latency_ms": latency_summary(all_ms),
        # This process's CPU (service code, ORM, driver; not the database server's) per search.
        "client_cpu_ms_mean": round(cpu_ms, 2),
        "latency_ms_matched": latency_summary(by_outcome["matched"]),
        "latency_ms_not_found": latency_summary(by_outcome["not_found"]),
        "expected_matches": sum(1 for p in probes if p.expected is not None),
        "expected_not_found": sum(1 for p in probes if p.expected is None),
        "query_kinds": dict(sorted(_tally(p.kind for p in probes).items())),
        **counts,
        "audit_events_recorded": recorded,
    }


def _tally(values: Iterable[str]) -> dict[str, int]:
    counted: dict[str, int] = defaultdict(int)
    for value in values:
        counted[value] += 1
    return dict(counted)


def _time_near_duplicates(
    db: Database,
    keys: Keyring,
    population: Population,
    child_ids: Sequence[str],
    rng: random.Random,
    count: int,
    today: date,
    deadline: float,
) -> dict[str, Any]:
    probes = near_probes(rng, population, count, today)
    numbers = {child_id: number for number, child_id in enumerate(child_ids)}
    latencies: list[float] = []
    wrong: list[str] = []
    flagged_true = flagged_unrelated = candidates = 0
    cpu_started = time.process_time()
    for turn, probe in enumerate(probes):
        if turn % 20 == 0:
            _check(deadline, "timing near-duplicate checks")
        started = time.perf_counter()
        with db.transaction() as session:
            found = children.near_duplicates(
                session=session, cipher=keys.cipher, index=keys.index, identity=probe.identity
            )
        latencies.append((time.perf_counter() - started) * 1000)
        got = {numbers[child.id] for child in found}
        expected = population.near(probe.identity)
        candidates += len(got)
        if got != expected or (probe.source is not None and probe.source not in got):
            wrong.append(f"{probe.kind}: expected {sorted(expected)}, found {sorted(got)}")
        elif probe.source is not None:
            flagged_true += 1
        elif got:
            flagged_unrelated += 1
    cpu_ms = (time.process_time() - cpu_started) * 1000 / count
    if wrong:
        raise BenchError(f"{len(wrong)} of {count} near-duplicate checks answered wrongly, first: {wrong[0]}")
    true_ones = sum(1 for p in probes if p.source is not None)
    return {
        "service": "children.near_duplicates, one db.transaction() each",
        "checks": count,
        "latency_ms": latency_summary(latencies),
        "client_cpu_ms_mean": round(cpu_ms, 2),
        "true_near_duplicates": true_ones,
        "true_near_duplicates_flagged": flagged_true,
        "unrelated": count - true_ones,
        "unrelated_flagged_by_chance": flagged_unrelated,
        "kinds": dict(sorted(_tally(p.kind for p in probes).items())),
        "children_flagged_total": candidates,
        "wrong": len(wrong),
    }
