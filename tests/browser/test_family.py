"""Families in the browser, on a phone: a lead invites a family member, who accepts the code in a browser of their own
and sees the note shared with them and not the one kept among practitioners; they post their own account, which the
lead's open notes page shows live. axe-core
on every family page. The practitioners and the child are made for this module through the JSON API."""

from __future__ import annotations

import json
import random
import string
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server
from tests.browser.helpers import assert_no_horizontal_scroll, at_path, axe_violations, report, sign_in

PASSWORD = "families in the browser, a long password"
FAMILY_PASSWORD = "blue kettle orchard lantern"
_random = random.Random()


def _tag(count: int = 6) -> str:
    return "".join(_random.choice(string.ascii_lowercase) for _ in range(count))


def call(server: Server, method: str, path: str, *, token: str | None = None, body: object = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{server.url}/api/v1{path}", data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raise AssertionError(f"{method} {path} answered {error.code}: {error.read().decode()[:500]}") from None


def token_for(server: Server, email: str, password: str) -> str:
    token: str = call(server, "POST", "/tokens", body={"email": email, "password": password})["token"]
    return token


def a_lead_with_a_network(server: Server) -> tuple[str, str, str]:
    """A new practitioner (made by a claimed organisation admin) who starts a network and steps up as its lead:
    (e-mail, API token, network id)."""
    admin = server.claim("practitioner", org_admin=True)
    admin_token = token_for(server, admin.email, server.password)
    organisation = call(server, "GET", "/me", token=admin_token)["organisation"]
    email = f"lead.{_tag()}@family-tests.example.org"
    lead = call(
        server,
        "POST",
        "/users",
        token=admin_token,
        body={"email": email, "name": "Lena Haddad", "organisation_id": organisation["id"], "password": PASSWORD},
    )
    token = token_for(server, email, PASSWORD)
    born = date.today() - timedelta(days=_random.randrange(3 * 365, 15 * 365))
    network = call(
        server,
        "POST",
        "/networks",
        token=token,
        body={
            "child": {
                "given_name": "Rosa",
                "family_name": f"{_tag(7).capitalize()}-Family",
                "date_of_birth": born.isoformat(),
            },
            "role_label": "Family support worker",
            "reason": "Supporting the family",
        },
    )
    call(server, "POST", f"/networks/{network['id']}/leads", token=token, body={"user_id": lead["id"]})
    return email, token, network["id"]


def note(server: Server, token: str, network_id: str, body: str, family_user_ids: list[str]) -> None:
    today = date.today().isoformat()
    call(
        server,
        "POST",
        f"/networks/{network_id}/notes",
        token=token,
        body={
            "body": body,
            "category": "other",
            "level": "observation",
            "observed_on": today,
            "audience": {"kind": "network"},
            "family_user_ids": family_user_ids,
            "basis": {"kind": "consent", "consent_from": "Jo (mother)", "consented_on": today},
        },
    )


def test_a_lead_invites_and_the_family_member_sees_what_is_shared(
    open_page: Callable[..., Page], server: Server
) -> None:
    lead_email, lead_token, network_id = a_lead_with_a_network(server)
    family_email = f"jo.{_tag()}@family-tests.example.org"
    found: list[str] = []

    # The lead, on a phone, invites Jo from the network page and reads the code out.
    lead = open_page(phone=True)
    sign_in(lead, lead_email, PASSWORD)
    lead.goto(f"/networks/{network_id}")
    lead.get_by_role("link", name="Invite a family member").click()
    expect(lead).to_have_url(at_path(f"/networks/{network_id}/family-invitations/new"))
    found += axe_violations(lead, "invite form")
    assert_no_horizontal_scroll(lead)
    lead.get_by_label("Their full name").fill("Jo Family")
    lead.get_by_label("Their relationship to the child").fill("Mother")
    lead.get_by_label("Their e-mail address").fill(family_email)
    lead.get_by_role("button", name="Create an invitation code").click()
    expect(lead.get_by_role("heading", level=1)).to_have_text("Give Jo Family this code")
    code = lead.locator("#invitation-code").inner_text().strip()
    assert len(code) == 19, code
    found += axe_violations(lead, "invitation code")
    assert_no_horizontal_scroll(lead)

    # Jo, in a browser of her own: a wrong code first, then the right one.
    family = open_page(phone=True)
    family.goto("/family/accept")
    found += axe_violations(family, "accept form")
    family.get_by_label("Invitation code").fill("ABCD-EFGH-JKMN-PQRS")
    family.get_by_label("Your e-mail address").fill(family_email)
    family.get_by_label("Your full name").fill("Jo Family")
    family.get_by_label("Choose a password").fill(FAMILY_PASSWORD)
    family.get_by_role("button", name="Join").click()
    expect(family.locator(".govuk-error-summary")).to_contain_text("This code cannot be used")
    expect(family.get_by_label("Your e-mail address")).to_have_value(family_email)
    expect(family.get_by_label("Choose a password")).to_have_value("")
    found += axe_violations(family, "accept form with errors")
    family.get_by_label("Invitation code").fill(code.lower().replace("-", " "))
    family.get_by_label("Choose a password").fill(FAMILY_PASSWORD)
    family.get_by_role("button", name="Join").click()
    expect(family).to_have_url(at_path(f"/family/networks/{network_id}"))
    expect(family.get_by_role("heading", level=1)).to_contain_text("Rosa")

    # The lead shares one note with Jo by name and keeps another among practitioners.
    members = call(server, "GET", f"/networks/{network_id}/family-members", token=lead_token)["family_members"]
    jo = next(m["user_id"] for m in members if m["name"] == "Jo Family")
    note(server, lead_token, network_id, "Jo came to the meeting and agreed the plan.", [jo])
    note(server, lead_token, network_id, "Kept among practitioners: a worry about the new partner.", [])

    family.reload()
    shared = family.locator("#notes")
    expect(shared).to_contain_text("Jo came to the meeting and agreed the plan.")
    expect(family.locator("main")).not_to_contain_text("Kept among practitioners")
    expect(shared).to_contain_text("Shared with you")
    for word in ("Observation", "Who can see it", "Basis for sharing"):  # practitioners' words, not the family's
        expect(shared).not_to_contain_text(word)
    expect(family.locator("#involved-people")).to_contain_text("Lena Haddad")
    expect(family.get_by_role("link", name="Who has looked at Rosa's record", exact=True)).to_have_attribute(
        "href", f"/networks/{network_id}/access-log"
    )
    assert_no_horizontal_scroll(family)
    found += axe_violations(family, "family view")

    # The lead has the notes open on her phone while Jo writes: Jo's account appears there as it is posted.
    lead.goto(f"/networks/{network_id}/notes")
    expect(lead.locator("#live")).to_have_count(1)
    lead.wait_for_timeout(500)  # the page's live socket connects and resumes from the page's cursor

    # Jo tells her side; too long first, then as she means it.
    box = family.get_by_label("What do you want the professionals to know?")
    box.fill("x" * 4001)
    family.get_by_role("button", name="Post", exact=True).click()
    expect(family.locator(".govuk-error-summary")).to_contain_text("4,000 characters or fewer")
    expect(family.get_by_label("What do you want the professionals to know?")).to_have_value("x" * 4001)
    found += axe_violations(family, "family voice with an error")
    family.get_by_label("What do you want the professionals to know?").fill("We moved flat last month.")
    family.get_by_role("button", name="Post", exact=True).click()
    expect(family.locator(".govuk-notification-banner")).to_contain_text("Your account has been posted")
    expect(family.locator("#notes")).to_contain_text("We moved flat last month.")
    found += axe_violations(family, "family view after posting")

    family.goto("/")
    expect(family).to_have_url(at_path("/family"))
    expect(family.get_by_role("link", name="Rosa")).to_be_visible()
    found += axe_violations(family, "family home")

    expect(lead.locator("#notes")).to_contain_text("We moved flat last month.")  # live, without a reload
    expect(lead.locator("#notes > article").first).to_contain_text("Family voice")
    report(found)
