"""Find a child, start a network, register involvement, leads, merge: through the pages and the API."""

from __future__ import annotations

from sqlmodel import func, select
from starlette.testclient import TestClient

from patchwork.models import AccountKind
from patchwork.models.audit import AuditEvent
from patchwork.models.networks import Child, Involvement, Network
from tests.conftest import PASSWORD, World
from tests.helpers import api_token, bearer, browsers, post_form, sign_in

CHILD = {
    "given_name": "Maya",
    "family_name": "Thompson",
    "date_of_birth": "2017-03-27",
    "nhs_number": "9434765919",
    "postcode": "ea1 4qt",
}
START = {"child": CHILD, "role_label": "School nurse", "reason": "Weekly drop-in"}


def _error(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code
    return body  # type: ignore[no-any-return]


def _people(world: World):  # type: ignore[no-untyped-def]
    school = world.organisation("Oakfield Primary", "school")
    health = world.organisation("Northgate Health", "health")
    police = world.organisation("Eastshire Police", "police")
    world.account("nurse@health.example.org", organisation=health, name="Helen Morgan")
    world.account("teacher@school.example.org", organisation=school, name="Tom Fletcher")
    world.account("officer@police.example.org", organisation=police, name="Joe Bennett")
    return school, health, police


def _tokens(client: TestClient) -> dict[str, str]:
    return {
        who: api_token(client, email, PASSWORD)
        for who, email in (
            ("nurse", "nurse@health.example.org"),
            ("teacher", "teacher@school.example.org"),
            ("officer", "officer@police.example.org"),
        )
    }


def test_api_lifecycle_search_start_join_lead_end(client: TestClient, world: World) -> None:
    _people(world)
    t = _tokens(client)
    search = {"family_name": "thompson", "date_of_birth": "2017-03-27", "given_name": "MAYA"}
    assert client.post("/api/v1/children/search", json=search, headers=bearer(t["teacher"])).json() == {"match": None}
    created = client.post("/api/v1/networks", json=START, headers=bearer(t["nurse"]))
    assert created.status_code == 201, created.text
    network = created.json()
    assert (
        network["child"]["postcode"] == "EA1 4QT"
        and network["leads"] == []
        and network["history_rule"] == "from_joining"
    )
    assert [i["role_label"] for i in network["involvements"]] == ["School nurse"]

    match = client.post("/api/v1/children/search", json=search, headers=bearer(t["teacher"])).json()["match"]
    assert match["network_id"] == network["id"]
    assert match["involvements"][0]["name"] == "Helen Morgan" and "notes" not in str(match)
    _error(client.get(f"/api/v1/networks/{network['id']}", headers=bearer(t["teacher"])), 404, "not_found")

    joined = client.post(
        f"/api/v1/networks/{network['id']}/involvements",
        json={"role_label": "Class teacher", "reason": "Teaches Maya", "contact": "01234 567890"},
        headers=bearer(t["teacher"]),
    )
    assert joined.status_code == 201 and joined.json()["status"] == "active"
    _error(
        client.post(
            f"/api/v1/networks/{network['id']}/involvements",
            json={"role_label": "Again", "reason": "x"},
            headers=bearer(t["teacher"]),
        ),
        409,
        "already_member",
    )
    teacher_id = joined.json()["user_id"]
    nurse_id = network["involvements"][0]["user_id"]

    _error(
        client.post(
            f"/api/v1/networks/{network['id']}/leads", json={"user_id": teacher_id}, headers=bearer(t["nurse"])
        ),
        403,
        "not_permitted",
    )
    stepped = client.post(
        f"/api/v1/networks/{network['id']}/leads", json={"user_id": nurse_id}, headers=bearer(t["nurse"])
    )
    assert stepped.status_code == 201 and stepped.json()["is_lead"]
    _error(
        client.post(
            f"/api/v1/networks/{network['id']}/leads", json={"user_id": teacher_id}, headers=bearer(t["teacher"])
        ),
        403,
        "not_permitted",
    )
    outsider = client.post(
        f"/api/v1/networks/{network['id']}/leads", json={"user_id": "not-a-member"}, headers=bearer(t["nurse"])
    )
    _error(outsider, 422, "invalid")
    assert (
        client.post(
            f"/api/v1/networks/{network['id']}/leads", json={"user_id": teacher_id}, headers=bearer(t["nurse"])
        ).status_code
        == 201
    )

    listed = client.get("/api/v1/networks", headers=bearer(t["teacher"])).json()["networks"]
    assert [(n["id"], n["is_lead"], n["member_count"]) for n in listed] == [(network["id"], True, 2)]

    involvement_id = joined.json()["id"]
    ended = client.delete(
        f"/api/v1/networks/{network['id']}/involvements/{involvement_id}", headers=bearer(t["teacher"])
    )
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    _error(client.get(f"/api/v1/networks/{network['id']}", headers=bearer(t["teacher"])), 404, "not_found")
    _error(
        client.delete(f"/api/v1/networks/{network['id']}/involvements/{involvement_id}", headers=bearer(t["nurse"])),
        409,
        "already_ended",
    )


def test_near_duplicates_are_refused(client: TestClient, world: World) -> None:
    _people(world)
    t = _tokens(client)
    assert client.post("/api/v1/networks", json=START, headers=bearer(t["nurse"])).status_code == 201
    variants = [
        CHILD | {"given_name": "Maja", "nhs_number": None, "postcode": None},
        CHILD | {"family_name": "Thomson", "nhs_number": None, "postcode": None},
        CHILD | {"given_name": "Zoe", "family_name": "Smith", "date_of_birth": "2018-01-01", "postcode": None},
        CHILD | {"given_name": "Zoe", "date_of_birth": "2018-01-01", "nhs_number": None},
    ]
    for child in variants:
        body = START | {"child": child}
        _error(client.post("/api/v1/networks", json=body, headers=bearer(t["teacher"])), 409, "possible_duplicate")
    twin = CHILD | {"given_name": "Oliver", "nhs_number": None, "postcode": None}
    assert (
        client.post("/api/v1/networks", json=START | {"child": twin}, headers=bearer(t["teacher"])).status_code == 201
    )
    with world.db.transaction() as session:
        assert session.exec(select(func.count()).select_from(Network)).one() == 2


def test_bad_child_details_change_nothing(client: TestClient, world: World) -> None:
    _people(world)
    t = _tokens(client)
    bad = {
        "given_name": "",
        "family_name": "x" * 150,
        "date_of_birth": "2030-02-30",
        "nhs_number": "1234567890",
        "postcode": "NOT A CODE",
    }
    problem = _error(
        client.post("/api/v1/networks", json=START | {"child": bad}, headers=bearer(t["nurse"])), 422, "invalid"
    )
    assert {"given_name", "family_name", "date_of_birth", "nhs_number", "postcode"} <= set(problem["fields"])
    old = CHILD | {"date_of_birth": "1990-01-01"}
    assert (
        "date_of_birth"
        in _error(
            client.post("/api/v1/networks", json=START | {"child": old}, headers=bearer(t["nurse"])), 422, "invalid"
        )["fields"]
    )
    with world.db.transaction() as session:
        assert session.exec(select(func.count()).select_from(Child)).one() == 0
        assert session.exec(select(func.count()).select_from(Involvement)).one() == 0


def test_search_needs_the_listed_fields_and_is_rate_limited(settings, world: World) -> None:  # type: ignore[no-untyped-def]
    from patchwork.app import create_app
    from tests.conftest import make_settings

    _people(world)
    with TestClient(create_app(make_settings(settings.database_url, search_rate_limit=3))) as client:
        token = api_token(client, "teacher@school.example.org", PASSWORD)
        missing = _error(
            client.post(
                "/api/v1/children/search",
                json={"family_name": "Thompson", "date_of_birth": "2017-03-27"},
                headers=bearer(token),
            ),
            422,
            "invalid",
        )
        assert "given_name" in missing["fields"]
        body = {"family_name": "Thompson", "date_of_birth": "2017-03-27", "given_name": "Maya"}
        for _ in range(3):
            assert client.post("/api/v1/children/search", json=body, headers=bearer(token)).status_code == 200
        _error(client.post("/api/v1/children/search", json=body, headers=bearer(token)), 429, "too_many_requests")
    with world.db.transaction() as session:
        searches = session.exec(select(AuditEvent).where(AuditEvent.action == "child.searched")).all()
        assert len(searches) == 3
        assert all("Thompson" not in e.details and "Maya" not in e.details for e in searches)


def test_only_practitioners_search(client: TestClient, world: World) -> None:
    world.account("root@example.org", kind=AccountKind.admin)
    token = api_token(client, "root@example.org", PASSWORD)
    body = {"family_name": "Thompson", "date_of_birth": "2017-03-27", "given_name": "Maya"}
    _error(client.post("/api/v1/children/search", json=body, headers=bearer(token)), 404, "not_found")


def test_closed_network_cannot_be_joined_and_lead_settings(client: TestClient, world: World) -> None:
    _people(world)
    t = _tokens(client)
    network = client.post("/api/v1/networks", json=START, headers=bearer(t["nurse"])).json()
    url = f"/api/v1/networks/{network['id']}"
    _error(client.patch(url, json={"status": "closed"}, headers=bearer(t["nurse"])), 403, "not_lead")
    client.post(f"{url}/leads", json={"user_id": network["involvements"][0]["user_id"]}, headers=bearer(t["nurse"]))
    updated = client.patch(url, json={"status": "closed", "history_rule": "full"}, headers=bearer(t["nurse"]))
    assert (
        updated.status_code == 200 and updated.json()["status"] == "closed" and updated.json()["history_rule"] == "full"
    )
    _error(
        client.post(f"{url}/involvements", json={"role_label": "Teacher", "reason": "x"}, headers=bearer(t["teacher"])),
        409,
        "network_closed",
    )
    assert client.patch(url, json={"status": "open"}, headers=bearer(t["nurse"])).json()["status"] == "open"
    _error(client.patch(url, json={"history_rule": "everything"}, headers=bearer(t["nurse"])), 422, "invalid")
    assert client.delete(f"{url}/leads/me", headers=bearer(t["nurse"])).json()["is_lead"] is False


def test_merge_moves_members_and_the_old_network_points_to_the_new(client: TestClient, world: World) -> None:
    _people(world)
    world.account("root@example.org", kind=AccountKind.admin)
    t = _tokens(client)
    first = client.post("/api/v1/networks", json=START, headers=bearer(t["nurse"])).json()
    other_child = {"given_name": "Sam", "family_name": "Jones", "date_of_birth": "2016-05-05"}
    second = client.post("/api/v1/networks", json=START | {"child": other_child}, headers=bearer(t["teacher"])).json()
    client.post(
        f"/api/v1/networks/{second['id']}/involvements",
        json={"role_label": "Nurse", "reason": "x"},
        headers=bearer(t["nurse"]),
    )
    admin = api_token(client, "root@example.org", PASSWORD)
    _error(
        client.post(
            "/api/v1/networks/merges",
            json={"source_id": second["id"], "target_id": first["id"], "reason": "dup"},
            headers=bearer(t["nurse"]),
        ),
        404,
        "not_found",
    )
    merged = client.post(
        "/api/v1/networks/merges",
        json={"source_id": second["id"], "target_id": first["id"], "reason": "Duplicate found"},
        headers=bearer(admin),
    )
    assert merged.status_code == 201
    via_old_id = client.get(f"/api/v1/networks/{second['id']}", headers=bearer(t["teacher"])).json()
    assert via_old_id["id"] == first["id"]
    names = sorted(i["name"] for i in via_old_id["involvements"])
    assert names == ["Helen Morgan", "Tom Fletcher"], "the nurse was in both: one active involvement remains"
    with world.db.transaction() as session:
        assert (
            session.exec(select(AuditEvent).where(AuditEvent.action == "network.merged")).one().target_id
            == second["id"]
        )


def test_pages_search_start_join_and_appear_as_member(settings, world: World) -> None:  # type: ignore[no-untyped-def]
    from patchwork.app import create_app

    _people(world)
    app = create_app(settings)
    with browsers(app) as (nurse, teacher):
        sign_in(nurse, "nurse@health.example.org", PASSWORD)
        searched = post_form(
            nurse,
            "/search",
            {
                "family_name": "Thompson",
                "given_name": "Maya",
                "dob_day": "27",
                "dob_month": "3",
                "dob_year": "2017",
                "nhs_number": "",
            },
        )
        assert searched.status_code == 200 and "No network found" in searched.text
        prefill = post_form(
            nurse,
            "/networks/new",
            {
                "prefill": "yes",
                "family_name": "Thompson",
                "given_name": "Maya",
                "dob_day": "27",
                "dob_month": "3",
                "dob_year": "2017",
            },
            token_from="/search",
        )
        assert 'value="Thompson"' in prefill.text and 'value="27"' in prefill.text
        bad = post_form(
            nurse,
            "/networks/new",
            {
                "family_name": "Thompson",
                "given_name": "Maya",
                "dob_day": "31",
                "dob_month": "2",
                "dob_year": "2017",
                "role_label": "",
                "reason": "",
            },
        )
        assert (
            bad.status_code == 422
            and "real date" in bad.text
            and "Enter your role" in bad.text
            and 'value="Thompson"' in bad.text
        )
        started = post_form(
            nurse,
            "/networks/new",
            {
                "family_name": "Thompson",
                "given_name": "Maya",
                "dob_day": "27",
                "dob_month": "3",
                "dob_year": "2017",
                "nhs_number": "943 476 5919",
                "postcode": "ea14qt",
                "role_label": "School nurse",
                "reason": "Drop-in",
                "contact": "01234",
            },
        )
        assert started.status_code == 303
        network_path = started.headers["location"].split("?")[0]
        assert "Maya" not in network_path and "Thompson" not in network_path
        page = nurse.get(network_path)
        assert (
            "Maya Thompson" in page.text
            and "EA1 4QT" in page.text
            and "<title>Network – Patchwork</title>" in page.text
        )

        sign_in(teacher, "teacher@school.example.org", PASSWORD)
        found = post_form(
            teacher,
            "/search",
            {"family_name": "THOMPSON", "given_name": "maya", "dob_day": "27", "dob_month": "03", "dob_year": "2017"},
        )
        assert "A network was found" in found.text and "Helen Morgan" in found.text
        assert teacher.get(network_path).status_code == 404, "not a member yet"
        joined = post_form(
            teacher,
            f"{network_path}/involvements",
            {"role_label": "Class teacher", "reason": "Teaches Maya"},
            token_from=f"{network_path}/join",
        )
        assert joined.headers["location"].startswith(network_path)
        assert "Tom Fletcher" in teacher.get(network_path).text
        assert "Tom Fletcher" in nurse.get(network_path).text
        home = teacher.get("/")
        assert "Maya Thompson" in home.text and "Class teacher" in home.text


def test_closed_network_is_shown_as_closed_and_join_explains(settings, world: World) -> None:  # type: ignore[no-untyped-def]
    from patchwork.app import create_app

    _people(world)
    app = create_app(settings)
    with browsers(app) as (api_client, teacher):
        t = _tokens(api_client)
        network = api_client.post("/api/v1/networks", json=START, headers=bearer(t["nurse"])).json()
        nurse_id = network["involvements"][0]["user_id"]
        api_client.post(
            f"/api/v1/networks/{network['id']}/leads", json={"user_id": nurse_id}, headers=bearer(t["nurse"])
        )
        api_client.patch(f"/api/v1/networks/{network['id']}", json={"status": "closed"}, headers=bearer(t["nurse"]))
        sign_in(teacher, "teacher@school.example.org", PASSWORD)
        found = post_form(
            teacher,
            "/search",
            {"family_name": "Thompson", "given_name": "Maya", "dob_day": "27", "dob_month": "3", "dob_year": "2017"},
        )
        assert "This network is closed" in found.text and f"/networks/{network['id']}/join" not in found.text
        page = teacher.get(f"/networks/{network['id']}/join")
        assert (
            page.status_code == 200
            and "You cannot join this network now" in page.text
            and 'name="role_label"' not in page.text
        )
        refused = post_form(
            teacher,
            f"/networks/{network['id']}/involvements",
            {"role_label": "Teacher", "reason": "Teaches her"},
            token_from="/search",
        )
        assert refused.status_code == 409 and "closed" in refused.text
        assert teacher.get("/networks/00000000-0000-0000-0000-000000000000/join").status_code == 404
