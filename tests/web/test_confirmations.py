"""Closing a network, ending someone else's involvement and deactivating an account go through a confirmation page
that says what will happen and asks why; the reason is audited and shown where it matters."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from patchwork.app import create_app
from patchwork.clock import utcnow
from patchwork.models import Account, AccountStatus, Organisation
from patchwork.models.audit import AuditEvent
from patchwork.models.networks import Involvement, InvolvementStatus, Network
from patchwork.runtime import keyring_for
from patchwork.services import audit
from patchwork.settings import Settings
from tests.conftest import PASSWORD, World
from tests.helpers import bearer, browsers, page_token, post_form, sign_in
from tests.web.test_networks import START, _people, _tokens


@dataclass
class Site:
    world: World
    api: TestClient
    nurse: TestClient  # the lead, Helen Morgan
    teacher: TestClient  # Tom Fletcher
    officer: TestClient  # Joe Bennett, a member who is not a lead
    head: TestClient  # Ann Head, the school's organisation admin (Tom Fletcher's)
    other_head: TestClient  # Hal Health, the health organisation's admin
    outsider: TestClient  # Olive Outsider, a practitioner in no network
    tokens: dict[str, str]
    network_id: str
    involvements: dict[str, str]  # by name
    school: Organisation

    @property
    def school_id(self) -> str:
        return self.school.id

    @property
    def page(self) -> str:
        return f"/networks/{self.network_id}"

    def end_path(self, name: str) -> str:
        return f"{self.page}/involvements/{self.involvements[name]}/end"

    def involvement(self, name: str) -> Involvement:
        with self.world.db.transaction() as session:
            found = session.get(Involvement, self.involvements[name])
            assert found is not None
            return found

    def network(self) -> Network:
        with self.world.db.transaction() as session:
            found = session.get(Network, self.network_id)
            assert found is not None
            return found

    def events(self, action: str) -> list[AuditEvent]:
        with self.world.db.transaction() as session:
            return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


@pytest.fixture
def site(settings: Settings, world: World) -> Iterator[Site]:
    school, health, _ = _people(world)
    world.account("head@school.example.org", organisation=school, org_admin=True, name="Ann Head")
    world.account("head@health.example.org", organisation=health, org_admin=True, name="Hal Health")
    world.account("outsider@school.example.org", organisation=school, name="Olive Outsider")
    # One server for every browser: a change made through one is heard at once by the others (sessions, tokens).
    with browsers(create_app(settings), 7) as (api, nurse, teacher, officer, head, other_head, outsider):
        t = _tokens(api)
        network = api.post("/api/v1/networks", json=START, headers=bearer(t["nurse"])).json()
        for who, role in (("teacher", "Class teacher"), ("officer", "Police officer")):
            joined = api.post(
                f"/api/v1/networks/{network['id']}/involvements",
                json={"role_label": role, "reason": "x"},
                headers=bearer(t[who]),
            )
            assert joined.status_code == 201, joined.text
        nurse_id = network["involvements"][0]["user_id"]
        api.post(f"/api/v1/networks/{network['id']}/leads", json={"user_id": nurse_id}, headers=bearer(t["nurse"]))
        detail = api.get(f"/api/v1/networks/{network['id']}", headers=bearer(t["nurse"])).json()
        for browser, email in (
            (nurse, "nurse@health.example.org"),
            (teacher, "teacher@school.example.org"),
            (officer, "officer@police.example.org"),
            (head, "head@school.example.org"),
            (other_head, "head@health.example.org"),
            (outsider, "outsider@school.example.org"),
        ):
            assert sign_in(browser, email, PASSWORD).status_code == 303
        yield Site(
            world=world,
            api=api,
            nurse=nurse,
            teacher=teacher,
            officer=officer,
            head=head,
            other_head=other_head,
            outsider=outsider,
            tokens=t,
            network_id=network["id"],
            involvements={i["name"]: i["id"] for i in detail["involvements"]},
            school=school,
        )


def _today() -> str:
    return utcnow().strftime("%-d %B %Y")


def _teacher_sees_the_network(site: Site) -> bool:
    answer = site.api.get(f"/api/v1/networks/{site.network_id}", headers=bearer(site.tokens["teacher"]))
    assert answer.status_code in (200, 404), answer.text
    return answer.status_code == 200


def _error_beside(page: str, field: str) -> str:
    """The error message shown with a field (the GOV.UK pattern: <p id="field-error">)."""
    found = re.search(rf'<p id="{field}-error" class="govuk-error-message">(.*?)</p>', page, re.S)
    assert found, f"no error next to {field}"
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split()))


# Ending someone else's involvement


def test_the_member_list_links_to_the_confirmation_instead_of_ending_at_once(site: Site) -> None:
    page = site.nurse.get(site.page).text
    end = site.end_path("Tom Fletcher")
    assert f'href="{end}"' in page
    assert f'action="{end}"' not in page, "one click must not end an involvement"


def test_the_confirmation_says_whose_involvement_ends_and_what_they_lose(site: Site) -> None:
    page = site.nurse.get(site.end_path("Tom Fletcher"))
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "End Tom Fletcher's involvement?" in text
    assert "Class teacher, Oakfield Primary" in text and "Maya Thompson" in text
    assert "can no longer see this network's notes" in text
    assert '<textarea class="govuk-textarea" id="reason" name="reason"' in text
    assert f'<a class="govuk-link" href="{site.page}">Cancel</a>' in text
    assert site.involvement("Tom Fletcher").status == InvolvementStatus.active, "looking changes nothing"


def test_an_empty_reason_is_refused_beside_the_field_and_nothing_changes(site: Site) -> None:
    path = site.end_path("Tom Fletcher")
    refused = post_form(site.nurse, path, {"reason": "   "})
    assert refused.status_code == 422
    assert _error_beside(refused.text, "reason") == "Error: Enter why you are ending this involvement"
    assert site.involvement("Tom Fletcher").status == InvolvementStatus.active
    assert site.events("involvement.ended") == []
    assert (
        site.api.get(f"/api/v1/networks/{site.network_id}", headers=bearer(site.tokens["teacher"])).status_code == 200
    )

    too_long = post_form(site.nurse, path, {"reason": "Moved away. " + "x" * 200})
    assert too_long.status_code == 422
    assert "200 characters or fewer" in _error_beside(too_long.text, "reason")
    assert "Moved away. xxxx" in too_long.text, "what was typed is kept"
    assert site.involvement("Tom Fletcher").status == InvolvementStatus.active


def test_the_reason_is_audited_and_the_leads_see_who_ended_it_when_and_why(site: Site, settings: Settings) -> None:
    ended = post_form(site.nurse, site.end_path("Tom Fletcher"), {"reason": "Moved to another school"})
    assert ended.status_code == 303
    assert ended.headers["location"] == f"{site.page}?ended={site.involvements['Tom Fletcher']}"

    page = html.unescape(site.nurse.get(ended.headers["location"]).text)
    assert "Tom Fletcher's involvement has ended." in page
    assert "The involvement has been ended" not in page and "The network has been updated" not in page
    gone = page.split('id="ended-involvements"', 1)[1]
    assert "Tom Fletcher" in gone and "Class teacher, Oakfield Primary" in gone
    assert f"Ended on {_today()} by Helen Morgan: Moved to another school" in gone

    (event,) = site.events("involvement.ended")
    assert event.target_id == site.involvements["Tom Fletcher"]
    assert json.loads(event.details) == {"reason": "Moved to another school"}
    assert site.involvement("Tom Fletcher").ended_event_id == event.id
    with site.world.db.transaction() as session:
        assert audit.verify(session=session, key=keyring_for(settings).audit).ok
    assert (
        site.api.get(f"/api/v1/networks/{site.network_id}", headers=bearer(site.tokens["teacher"])).status_code == 404
    )

    member_view = site.officer.get(site.page).text
    assert "Moved to another school" not in member_view and 'id="ended-involvements"' not in member_view


def test_a_member_who_is_not_a_lead_cannot_end_someone_elses_involvement(site: Site) -> None:
    page = site.officer.get(site.page).text
    assert f'href="{site.end_path("Tom Fletcher")}"' not in page
    assert f'href="{site.end_path("Joe Bennett")}"' in page, "their own, to leave"

    assert site.officer.get(site.end_path("Tom Fletcher")).status_code == 403
    token = page_token(site.officer, site.page)
    refused = site.officer.post(
        site.end_path("Tom Fletcher"), data={"csrf_token": token, "reason": "Not my call"}, follow_redirects=False
    )
    assert refused.status_code == 403
    assert site.involvement("Tom Fletcher").status == InvolvementStatus.active
    assert site.events("involvement.ended") == []


def test_someone_outside_the_network_is_told_it_does_not_exist(site: Site) -> None:
    assert site.outsider.get(site.end_path("Tom Fletcher")).status_code == 404
    assert site.outsider.get(f"{site.page}/close").status_code == 404


def test_leaving_is_confirmed_without_a_reason(site: Site) -> None:
    confirm = site.teacher.get(site.end_path("Tom Fletcher"))
    assert confirm.status_code == 200
    assert "Leave this network?" in confirm.text and 'name="reason"' not in confirm.text
    assert site.involvement("Tom Fletcher").status == InvolvementStatus.active

    left = post_form(site.teacher, site.end_path("Tom Fletcher"), {}, token_from=site.end_path("Tom Fletcher"))
    assert left.status_code == 303 and left.headers["location"] == "/?notice=left-network"
    (event,) = site.events("involvement.ended")
    assert json.loads(event.details) == {}
    gone = site.nurse.get(site.page).text.split('id="ended-involvements"', 1)[1]
    assert f"Left on {_today()}." in gone


# Closing the network


def test_closing_is_a_link_to_a_page_that_says_what_closing_means(site: Site) -> None:
    page = site.nurse.get(site.page).text
    assert f'href="{site.page}/close"' in page
    assert 'name="status" value="closed"' not in page, "one click must not close the network"
    confirm = site.nurse.get(f"{site.page}/close")
    assert confirm.status_code == 200
    text = html.unescape(confirm.text)
    assert "Close this network?" in text and "Maya Thompson" in text
    assert "nobody can join it" in text and "its 3 members" in text
    assert 'name="reason"' in text and f'<a class="govuk-link" href="{site.page}">Cancel</a>' in text
    assert site.network().status == "open"


def test_closing_without_a_reason_is_refused_and_the_network_stays_open(site: Site) -> None:
    refused = post_form(site.nurse, f"{site.page}/status", {"status": "closed", "reason": ""}, token_from=site.page)
    assert refused.status_code == 422
    assert _error_beside(refused.text, "reason") == "Error: Enter why you are closing the network"
    assert "Close this network?" in refused.text
    assert site.network().status == "open" and site.events("network.closed") == []


def test_the_closing_reason_is_audited_and_every_member_sees_it(site: Site) -> None:
    closed = post_form(
        site.nurse, f"{site.page}/status", {"status": "closed", "reason": "Concerns resolved"}, token_from=site.page
    )
    assert closed.status_code == 303 and closed.headers["location"] == f"{site.page}?notice=network-closed"
    assert "The network has been closed." in site.nurse.get(closed.headers["location"]).text
    (event,) = site.events("network.closed")
    assert json.loads(event.details) == {"reason": "Concerns resolved"}
    expected = f"Closed on {_today()} by Helen Morgan: Concerns resolved"
    for member in (site.nurse, site.teacher, site.officer):
        assert expected in member.get(site.page).text

    reopened = post_form(site.nurse, f"{site.page}/status", {"status": "open"}, token_from=site.page)
    assert reopened.status_code == 303 and reopened.headers["location"] == f"{site.page}?notice=network-reopened"
    page = site.teacher.get(site.page).text
    assert site.network().status == "open" and "Closed on" not in page


def test_only_a_lead_closes_the_network(site: Site) -> None:
    assert f'href="{site.page}/close"' not in site.teacher.get(site.page).text
    assert site.teacher.get(f"{site.page}/close").status_code == 403
    refused = post_form(
        site.teacher, f"{site.page}/status", {"status": "closed", "reason": "I think so"}, token_from=site.page
    )
    assert refused.status_code == 403
    assert site.network().status == "open" and site.events("network.closed") == []


def test_the_api_closes_without_a_reason_as_before_and_keeps_one_when_given(site: Site) -> None:
    url = f"/api/v1/networks/{site.network_id}"
    nurse = bearer(site.tokens["nurse"])
    closed = site.api.patch(url, json={"status": "closed"}, headers=nurse)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert f"Closed on {_today()} by Helen Morgan." in site.teacher.get(site.page).text
    assert site.api.patch(url, json={"status": "open"}, headers=nurse).status_code == 200
    again = site.api.patch(url, json={"status": "closed", "reason": "Family moved away"}, headers=nurse)
    assert again.status_code == 200
    assert f"Closed on {_today()} by Helen Morgan: Family moved away" in site.teacher.get(site.page).text
    assert [json.loads(e.details) for e in site.events("network.closed")] == [{}, {"reason": "Family moved away"}]


def test_the_api_ends_an_involvement_without_a_reason_as_before(site: Site) -> None:
    ended = site.api.delete(
        f"/api/v1/networks/{site.network_id}/involvements/{site.involvements['Tom Fletcher']}",
        headers=bearer(site.tokens["nurse"]),
    )
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    gone = site.nurse.get(site.page).text.split('id="ended-involvements"', 1)[1]
    assert f"Ended on {_today()} by Helen Morgan." in gone


# Deactivating an account


def _account_id(site: Site, email: str) -> str:
    with site.world.db.transaction() as session:
        found = session.exec(select(Account).where(Account.email == email)).one()
        return found.id


def _status(site: Site, account_id: str) -> str:
    with site.world.db.transaction() as session:
        found = session.get(Account, account_id)
        assert found is not None
        return found.status


def test_deactivation_is_confirmed_with_what_it_does(site: Site) -> None:
    teacher_id = _account_id(site, "teacher@school.example.org")
    accounts = site.head.get(f"/organisations/{site.school_id}/accounts").text
    assert f'href="/accounts/{teacher_id}/deactivate"' in accounts
    assert f'action="/accounts/{teacher_id}/deactivate"' not in accounts, "one click must not deactivate"
    confirm = site.head.get(f"/accounts/{teacher_id}/deactivate")
    assert confirm.status_code == 200
    text = html.unescape(confirm.text)
    assert "Deactivate Tom Fletcher's account?" in text and "teacher@school.example.org" in text
    assert "is signed out on every device" in text and "their API tokens stop working" in text
    assert 'name="reason"' in text
    assert f'<a class="govuk-link" href="/organisations/{site.school_id}/accounts">Cancel</a>' in text
    assert _status(site, teacher_id) == AccountStatus.active


def test_deactivating_without_a_reason_changes_nothing(site: Site) -> None:
    teacher_id = _account_id(site, "teacher@school.example.org")
    refused = post_form(site.head, f"/accounts/{teacher_id}/deactivate", {"reason": ""})
    assert refused.status_code == 422
    assert _error_beside(refused.text, "reason") == "Error: Enter why you are deactivating this account"
    assert _status(site, teacher_id) == AccountStatus.active and site.events("account.deactivated") == []
    assert site.api.get("/api/v1/me", headers=bearer(site.tokens["teacher"])).status_code == 200
    assert site.teacher.get(site.page).status_code == 200, "still signed in"


def test_the_deactivation_reason_is_audited_and_shown_on_the_accounts_page(site: Site, settings: Settings) -> None:
    teacher_id = _account_id(site, "teacher@school.example.org")
    done = post_form(site.head, f"/accounts/{teacher_id}/deactivate", {"reason": "Left the school in July"})
    assert done.status_code == 303
    assert done.headers["location"] == f"/organisations/{site.school_id}/accounts?deactivated={teacher_id}"
    page = html.unescape(site.head.get(done.headers["location"]).text)
    assert "Tom Fletcher's account has been deactivated and signed out everywhere." in page
    assert f"Deactivated on {_today()} by Ann Head: Left the school in July" in page

    (event,) = site.events("account.deactivated")
    assert event.target_id == teacher_id and event.actor_id == _account_id(site, "head@school.example.org")
    assert json.loads(event.details) == {"reason": "Left the school in July"}
    with site.world.db.transaction() as session:
        assert audit.verify(session=session, key=keyring_for(settings).audit).ok
    assert _status(site, teacher_id) == AccountStatus.deactivated
    assert site.api.get("/api/v1/me", headers=bearer(site.tokens["teacher"])).status_code == 401
    assert site.teacher.get(site.page, follow_redirects=False).headers["location"] == "/sign-in"

    post_form(
        site.head, f"/accounts/{teacher_id}/reactivate", {}, token_from=f"/organisations/{site.school_id}/accounts"
    )
    assert _status(site, teacher_id) == AccountStatus.active
    assert "Left the school in July" not in site.head.get(f"/organisations/{site.school_id}/accounts").text


def test_only_the_organisations_admin_deactivates_its_accounts(site: Site) -> None:
    teacher_id = _account_id(site, "teacher@school.example.org")
    # A practitioner, and the admin of another organisation, are told there is no such account.
    for browser in (site.nurse, site.other_head):
        assert browser.get(f"/accounts/{teacher_id}/deactivate").status_code == 404
        token = page_token(browser, "/account")
        refused = browser.post(
            f"/accounts/{teacher_id}/deactivate",
            data={"csrf_token": token, "reason": "Because"},
            follow_redirects=False,
        )
        assert refused.status_code == 404
    assert _status(site, teacher_id) == AccountStatus.active and site.events("account.deactivated") == []
    head_id = _account_id(site, "head@school.example.org")
    assert site.head.get(f"/accounts/{head_id}/deactivate").status_code == 422, "not your own account"
