"""The access log: a family sees which practitioner viewed, exported or found their child's record, and when;
never a sensitive involvement, never their own reads; only the family and the leads may read it."""

from __future__ import annotations

from sqlmodel import col, select
from starlette.testclient import TestClient

from patchwork import policy
from patchwork.app import create_app
from patchwork.models import Account, AccountKind
from patchwork.models.audit import AuditEvent
from patchwork.runtime import keyring_for
from patchwork.services import exports, notes
from tests.conftest import PASSWORD, World
from tests.helpers import api_token, bearer, sign_in
from tests.web.test_networks import CHILD, START
from tests.web.test_notes_api import NOTE

SEARCH = {"family_name": CHILD["family_name"], "given_name": CHILD["given_name"], "date_of_birth": "2017-03-27"}


def family_member(
    world: World,
    network_id: str,
    email: str = "parent@example.org",
    name: str = "Pat Parent",
    relationship: str = "Mother",
) -> Account:
    """A family account in one network, made directly (the invitation flow is tested on its own)."""
    account = world.account(email, kind=AccountKind.family, name=name)
    world.family_member(network_id, account.id, relationship)
    return account


def refuge_worker(client: TestClient, world: World, network_id: str) -> str:
    """A practitioner whose involvement is sensitive; returns their token."""
    refuge = world.organisation("Safe Haven Refuge", "voluntary")
    world.account("refuge@haven.example.org", organisation=refuge, name="Rita Hidden")
    token = api_token(client, "refuge@haven.example.org", PASSWORD)
    joined = client.post(
        f"/api/v1/networks/{network_id}/involvements",
        json={"role_label": "Refuge support worker", "reason": "Supports mum", "sensitive": True},
        headers=bearer(token),
    )
    assert joined.status_code == 201, joined.text
    return token


def log_of(client: TestClient, network_id: str, token: str, **params: str) -> dict:  # type: ignore[type-arg]
    response = client.get(f"/api/v1/networks/{network_id}/access-log", params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def said(log: dict) -> list[tuple[str, str | None, str]]:  # type: ignore[type-arg]
    return [(e["actor"]["name"], e["actor"]["organisation"], e["action"]) for e in log["entries"]]


def test_family_sees_practitioners_reads_but_never_a_sensitive_one_or_their_own(
    client: TestClient, world: World, net: dict, settings
) -> None:  # type: ignore[no-untyped-def,type-arg]
    t, network_id = net["t"], net["id"]
    parent = family_member(world, network_id)
    family = api_token(client, "parent@example.org", PASSWORD)
    rita = refuge_worker(client, world, network_id)
    note = client.post(
        f"/api/v1/networks/{network_id}/notes",
        json=NOTE | {"family_user_ids": [parent.id]},
        headers=bearer(t["teacher"]),
    ).json()

    client.get(f"/api/v1/networks/{network_id}/notes", headers=bearer(t["teacher"]))
    client.get(f"/api/v1/notes/{note['id']}", headers=bearer(t["officer"]))
    client.get(f"/api/v1/networks/{network_id}", headers=bearer(t["officer"]))
    with world.db.transaction() as session:
        teacher = session.exec(select(Account).where(Account.email == "teacher@school.example.org")).one()
        exports.export_chronology(
            session=session,
            keys=keyring_for(settings),
            account=teacher,
            network_id=network_id,
            filters=notes.ChronologyFilters(),
            fmt="csv",
        )
    # The sensitive worker reads everything, and even searches; the family member reads what is shared with them.
    client.get(f"/api/v1/networks/{network_id}/notes", headers=bearer(rita))
    client.get(f"/api/v1/notes/{note['id']}", headers=bearer(rita))
    client.get(f"/api/v1/networks/{network_id}", headers=bearer(rita))
    client.post("/api/v1/children/search", json=SEARCH, headers=bearer(rita))
    client.get(f"/api/v1/networks/{network_id}/notes", headers=bearer(family))
    client.get(f"/api/v1/notes/{note['id']}", headers=bearer(family))

    log = log_of(client, network_id, family)
    assert said(log)[:4] == [
        ("Tom Fletcher", "Oakfield Primary", "exported the chronology"),
        ("Joe Bennett", "Eastshire Police", "looked at who is involved"),
        ("Joe Bennett", "Eastshire Police", "viewed the notes"),
        ("Tom Fletcher", "Oakfield Primary", "viewed the notes"),
    ]
    text = str(log)
    assert "a note" not in text, "opening one note must not tell the family that a note exists"
    assert "Rita Hidden" not in text and "Safe Haven" not in text and "Pat Parent" not in text
    assert all(e["at"].endswith("Z") for e in log["entries"])
    assert {e["kind"] for e in log["entries"]} >= {"notes.viewed", "network.viewed", "chronology.exported"}

    # Still hidden once the sensitive involvement has ended: "is or was sensitive".
    rita_involvement = next(
        i
        for i in client.get(f"/api/v1/networks/{network_id}", headers=bearer(rita)).json()["involvements"]
        if i["name"] == "Rita Hidden"
    )
    ended = client.delete(f"/api/v1/networks/{network_id}/involvements/{rita_involvement['id']}", headers=bearer(rita))
    assert ended.status_code == 200
    assert "Rita Hidden" not in str(log_of(client, network_id, family))
    # The lead sees exactly what the family sees.
    assert said(log_of(client, network_id, t["nurse"])) == said(log_of(client, network_id, family))


def test_a_search_hit_appears_and_a_miss_does_not(client: TestClient, world: World, net: dict) -> None:  # type: ignore[type-arg]
    family_member(world, net["id"])
    family = api_token(client, "parent@example.org", PASSWORD)
    housing = world.organisation("Eastshire Homes", "housing")
    world.account("housing@homes.example.org", organisation=housing, name="Sam Reid")
    searcher = api_token(client, "housing@homes.example.org", PASSWORD)
    miss = client.post("/api/v1/children/search", json=SEARCH | {"given_name": "Mia"}, headers=bearer(searcher))
    assert miss.json() == {"match": None}
    hit = client.post("/api/v1/children/search", json=SEARCH, headers=bearer(searcher))
    assert hit.json()["match"]["network_id"] == net["id"]
    entries = said(log_of(client, net["id"], family))
    assert entries[0] == ("Sam Reid", "Eastshire Homes", "found the child by searching")
    assert [e for e in entries if e[0] == "Sam Reid"] == [entries[0]], "the miss names no network"


def test_subject_access_export_appears_in_the_log(client: TestClient, world: World, net: dict) -> None:  # type: ignore[type-arg]
    family_member(world, net["id"])
    family = api_token(client, "parent@example.org", PASSWORD)
    world.account("root@example.org", kind=AccountKind.admin, name="Root Admin")
    admin = api_token(client, "root@example.org", PASSWORD)
    exported = client.get(
        f"/api/v1/networks/{net['id']}/export", params={"reference": "SAR-2026-014"}, headers=bearer(admin)
    )
    assert exported.status_code == 200, exported.text
    lead_export = client.get(f"/api/v1/networks/{net['id']}/export", headers=bearer(net["t"]["nurse"]))
    assert lead_export.status_code == 200
    assert said(log_of(client, net["id"], family))[:2] == [
        ("Helen Morgan", "Northgate Health", "exported the record (the parts they may see)"),
        ("Root Admin", None, "exported the record for a subject access request"),
    ]


def test_only_the_family_and_the_leads_read_it(client: TestClient, world: World, net: dict) -> None:  # type: ignore[type-arg]
    t, network_id = net["t"], net["id"]
    family_member(world, network_id)
    other = client.post(
        "/api/v1/networks",
        json=START | {"child": {"given_name": "Sam", "family_name": "Jones", "date_of_birth": "2016-05-05"}},
        headers=bearer(t["officer"]),
    ).json()
    family_member(world, other["id"], email="other@example.org", name="Other Parent")
    world.account("root@example.org", kind=AccountKind.admin)
    outsider_org = world.organisation("Elsewhere", "housing")
    world.account("out@elsewhere.example.org", organisation=outsider_org)
    url = f"/api/v1/networks/{network_id}/access-log"
    missing = client.get("/api/v1/networks/00000000-0000-4000-8000-000000000000/access-log", headers=bearer(t["nurse"]))
    assert missing.status_code == 404
    assert client.get(url, headers=bearer(t["nurse"])).status_code == 200
    assert client.get(url, headers=bearer(api_token(client, "parent@example.org", PASSWORD))).status_code == 200
    for who in (
        t["teacher"],  # a member, not a lead
        api_token(client, "out@elsewhere.example.org", PASSWORD),
        api_token(client, "root@example.org", PASSWORD),
        api_token(client, "other@example.org", PASSWORD),  # family of another network
    ):
        refused = client.get(url, headers=bearer(who))
        assert refused.status_code == 404 and refused.json() == missing.json()
    assert client.get(url).status_code == 401


def test_paging_with_an_opaque_cursor_and_the_reading_is_audited(client: TestClient, world: World, net: dict) -> None:  # type: ignore[type-arg]
    t, network_id = net["t"], net["id"]
    family_member(world, network_id)
    family = api_token(client, "parent@example.org", PASSWORD)
    for _ in range(4):
        client.get(f"/api/v1/networks/{network_id}/notes", headers=bearer(t["teacher"]))
    everything = log_of(client, network_id, family)["entries"]
    seen: list[dict] = []  # type: ignore[type-arg]
    cursor = None
    while True:
        page = log_of(client, network_id, family, limit="2", **({"before": cursor} if cursor else {}))
        assert len(page["entries"]) <= 2
        seen += page["entries"]
        cursor = page["next"]
        if cursor is None:
            break
        assert "-" in cursor and not cursor.isdigit()
    assert seen == everything and len(seen) >= 4
    bad = client.get(f"/api/v1/networks/{network_id}/access-log?before=12", headers=bearer(family))
    assert bad.status_code == 422 and bad.json()["error"]["fields"] == {"before": "The page cursor is not valid"}
    with world.db.transaction() as session:
        reads = session.exec(
            select(AuditEvent).where(AuditEvent.action == "access_log.read", AuditEvent.network_id == network_id)
        ).all()
        assert len(reads) >= 4


def test_pages_record_what_was_read_once(client: TestClient, world: World, net: dict) -> None:  # type: ignore[type-arg]
    """The feed, chronology and note pages are audited as reads of the notes, each once."""
    network_id = net["id"]
    note = client.post(f"/api/v1/networks/{network_id}/notes", json=NOTE, headers=bearer(net["t"]["teacher"])).json()
    with world.db.transaction() as session:
        before = session.exec(select(AuditEvent.seq).order_by(col(AuditEvent.seq).desc())).first()
    sign_in(client, "officer@police.example.org", PASSWORD)
    for path in (f"/networks/{network_id}/notes", f"/networks/{network_id}/chronology", f"/notes/{note['id']}"):
        assert client.get(path).status_code == 200, path
    with world.db.transaction() as session:
        events = session.exec(
            select(AuditEvent).where(col(AuditEvent.seq) > before).order_by(col(AuditEvent.seq))
        ).all()
    reads = [(e.action, e.details, e.target_id) for e in events if e.network_id == network_id]
    assert reads == [
        ("notes.viewed", '{"view":"feed"}', None),
        ("notes.viewed", '{"view":"chronology"}', None),
        ("notes.viewed", '{"view":"note"}', note["id"]),
    ]


def test_the_page_for_a_family_member_and_a_lead(client: TestClient, world: World, net: dict, settings) -> None:  # type: ignore[no-untyped-def,type-arg]
    t, network_id = net["t"], net["id"]
    family_member(world, network_id)
    refuge_worker_token = refuge_worker(client, world, network_id)
    client.get(f"/api/v1/networks/{network_id}/notes", headers=bearer(t["teacher"]))
    client.get(f"/api/v1/networks/{network_id}/notes", headers=bearer(refuge_worker_token))
    sign_in(client, "parent@example.org", PASSWORD)
    page = client.get(f"/networks/{network_id}/access-log")
    assert page.status_code == 200
    assert "Who has looked at Maya&#39;s record" in page.text, "a mother is told of her child's record by name"
    assert "Tom Fletcher" in page.text and "Oakfield Primary" in page.text and "Viewed the notes" in page.text
    assert "Rita Hidden" not in page.text and "Safe Haven" not in page.text
    assert CHILD["given_name"] not in page.text.split("<title>", 1)[1].split("</title>", 1)[0]
    assert f'href="/family/networks/{network_id}"' in page.text

    with TestClient(create_app(settings)) as lead:
        sign_in(lead, "nurse@health.example.org", PASSWORD)
        assert "Tom Fletcher" in lead.get(f"/networks/{network_id}/access-log").text
    with TestClient(create_app(settings)) as member:
        sign_in(member, "teacher@school.example.org", PASSWORD)
        assert member.get(f"/networks/{network_id}/access-log").status_code == 404


def test_merged_networks_keep_their_history(client: TestClient, world: World, net: dict) -> None:  # type: ignore[type-arg]
    """A search that found a duplicate before it was merged is still part of the child's record."""
    t = net["t"]
    duplicate = client.post(
        "/api/v1/networks",
        json=START | {"child": {"given_name": "Sam", "family_name": "Jones", "date_of_birth": "2016-05-05"}},
        headers=bearer(t["officer"]),
    ).json()
    client.post(
        "/api/v1/children/search",
        json={"family_name": "Jones", "given_name": "Sam", "date_of_birth": "2016-05-05"},
        headers=bearer(t["teacher"]),
    )
    world.account("root@example.org", kind=AccountKind.admin)
    merged = client.post(
        "/api/v1/networks/merges",
        json={"source_id": duplicate["id"], "target_id": net["id"], "reason": "Duplicate"},
        headers=bearer(api_token(client, "root@example.org", PASSWORD)),
    )
    assert merged.status_code == 201, merged.text
    family_member(world, net["id"])
    family = api_token(client, "parent@example.org", PASSWORD)
    assert ("Tom Fletcher", "Oakfield Primary", "found the child by searching") in said(
        log_of(client, net["id"], family)
    )
    assert log_of(client, duplicate["id"], family) == log_of(client, net["id"], family)


def _actor(kind: str = "practitioner", account_id: str = "me") -> policy.Actor:
    return policy.Actor(
        account_id=account_id, kind=kind, organisation_id="org" if kind == "practitioner" else None, is_org_admin=False
    )


def test_policy_for_the_access_log_and_exports() -> None:
    lead = policy.NetworkFacts(status="open", members=(policy.Member("me", "org", True),))
    member = policy.NetworkFacts(status="open", members=(policy.Member("me", "org", False),))
    nobody = policy.NetworkFacts(status="open", members=())
    assert policy.read_access_log(_actor(), lead, family_member=False)
    assert not policy.read_access_log(_actor(), member, family_member=False)
    assert policy.read_access_log(_actor("family"), nobody, family_member=True)
    assert not policy.read_access_log(_actor("family"), nobody, family_member=False)
    assert not policy.read_access_log(_actor("admin"), nobody, family_member=False)
    assert policy.export_network(_actor(), lead) and not policy.export_network(_actor(), member)
    assert not policy.export_network(_actor("admin"), nobody)
    assert policy.subject_access_export(_actor("admin")) and not policy.subject_access_export(_actor())


def test_one_persons_many_views_on_a_day_are_one_row(client: TestClient, world: World, net: dict) -> None:  # type: ignore[type-arg]
    t, network_id = net["t"], net["id"]
    family_member(world, network_id)
    for _ in range(17):
        assert client.get(f"/api/v1/networks/{network_id}/notes", headers=bearer(t["teacher"])).status_code == 200
    client.get(f"/api/v1/networks/{network_id}/notes", headers=bearer(t["officer"]))
    sign_in(client, "parent@example.org", PASSWORD)
    page = client.get(f"/networks/{network_id}/access-log").text
    rows = page.split('<tbody class="govuk-table__body">', 1)[1].split("</tbody>", 1)[0].count("<tr")
    teacher = [r for r in page.split("<tr")[1:] if "Tom Fletcher" in r]
    assert len(teacher) == 1 and "Viewed the notes 17 times" in teacher[0], "17 views, one row"
    officer = [r for r in page.split("<tr")[1:] if "Joe Bennett" in r]
    assert len(officer) == 1 and "Viewed the notes" in officer[0] and "times" not in officer[0]
    assert rows == len(teacher) + len(officer) + sum(1 for r in page.split("<tr")[1:] if "Helen Morgan" in r)
