"""A person sees the API tokens that work for their account, makes one with a name (its secret shown once), and
revokes one after confirming."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from patchwork.app import create_app
from patchwork.models import Account, ApiToken
from patchwork.settings import Settings
from tests.conftest import PASSWORD, World
from tests.helpers import bearer, browsers, page_token, post_form, sign_in

PAGE = "/account/api-tokens"
TOKEN_VALUE = re.compile(r'<input class="govuk-input pw-code" id="token" name="token" type="text"[^>]*value="([^"]+)"')


@dataclass
class People:
    world: World
    api: TestClient
    tom: TestClient  # Tom Fletcher, signed in
    jo: TestClient  # Jo Bennett, signed in

    def tokens(self, email: str) -> list[ApiToken]:
        with self.world.db.transaction() as session:
            account = session.exec(select(Account).where(Account.email == email)).one()
            return list(session.exec(select(ApiToken).where(ApiToken.account_id == account.id)).all())


@pytest.fixture
def people(settings: Settings, world: World) -> Iterator[People]:
    school = world.organisation("Oakfield Primary", "school")
    world.account("tom@school.example.org", organisation=school, name="Tom Fletcher")
    world.account("jo@school.example.org", organisation=school, name="Jo Bennett")
    with browsers(create_app(settings), 3) as (api, tom, jo):
        assert sign_in(tom, "tom@school.example.org", PASSWORD).status_code == 303
        assert sign_in(jo, "jo@school.example.org", PASSWORD).status_code == 303
        yield People(world=world, api=api, tom=tom, jo=jo)


def _api_token(api: TestClient, email: str, **extra: str) -> str:
    made = api.post("/api/v1/tokens", json={"email": email, "password": PASSWORD, **extra})
    assert made.status_code == 201, made.text
    token: str = made.json()["token"]
    return token


def _cards(page: str) -> list[str]:
    """Each token's summary card, as text."""
    return [
        " ".join(html.unescape(re.sub(r"<[^>]+>", " ", card)).split())
        for card in page.split('<div class="govuk-summary-card">')[1:]
    ]


def test_the_account_page_links_to_the_tokens_page(people: People) -> None:
    assert f'href="{PAGE}"' in people.tom.get("/account").text
    assert people.tom.get(PAGE).status_code == 200


def test_the_list_shows_each_working_token_with_its_dates(people: People) -> None:
    named = _api_token(people.api, "tom@school.example.org", name="Case sync")
    _api_token(people.api, "tom@school.example.org")
    _api_token(people.api, "jo@school.example.org", name="Jo's script")
    assert people.api.get("/api/v1/me", headers=bearer(named)).status_code == 200

    cards = _cards(people.tom.get(PAGE).text)
    assert len(cards) == 2, "Tom's two tokens, not Jo's"
    unnamed, case_sync = cards  # newest first
    assert unnamed.startswith("A token made through the API, with no name") and "Not used yet" in unnamed
    assert case_sync.startswith("Case sync") and "Revoke token (Case sync)" in case_sync
    assert re.search(r"Created \d\d:\d\d on .* \(UK time\)", case_sync)
    assert re.search(r"Last used around \d\d:\d\d on .* \(UK time\)", case_sync)
    assert re.search(r"Expires \d\d:\d\d on .* \(UK time\)", case_sync)
    (row,) = [t for t in people.tokens("tom@school.example.org") if t.name == "Case sync"]
    assert row.last_used_at is not None


def test_a_new_token_is_shown_once_and_works(people: People) -> None:
    made = post_form(people.tom, PAGE, {"name": "Report sync", "password": PASSWORD})
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    found = TOKEN_VALUE.search(made.text)
    assert found, "the new token is on the page"
    secret = found.group(1)
    assert "It is shown only this once" in made.text
    me = people.api.get("/api/v1/me", headers=bearer(secret))
    assert me.status_code == 200 and me.json()["email"] == "tom@school.example.org"
    assert [t.name for t in people.tokens("tom@school.example.org")] == ["Report sync"]

    again = people.tom.get(PAGE).text
    assert secret not in again and 'id="token"' not in again
    assert _cards(again)[0].startswith("Report sync")


def test_a_token_needs_a_name_and_the_password_and_nothing_is_made_without(people: People) -> None:
    missing = post_form(people.tom, PAGE, {"name": "", "password": ""})
    assert missing.status_code == 422
    assert 'id="name-error"' in missing.text and "Enter a name for the token" in missing.text
    assert 'id="password-error"' in missing.text and "Enter your password" in missing.text

    wrong = post_form(people.tom, PAGE, {"name": "Report sync", "password": "not my password at all"})
    assert wrong.status_code == 422
    assert 'id="password-error"' in wrong.text and "Your password is not correct" in wrong.text
    assert 'value="Report sync"' in wrong.text, "the name typed is kept"
    assert "not my password at all" not in wrong.text, "the password is not sent back"
    assert people.tokens("tom@school.example.org") == []


def test_wrong_passwords_here_are_throttled_like_sign_in(people: People) -> None:
    for _ in range(5):
        assert post_form(people.tom, PAGE, {"name": "x", "password": "wrong password guess"}).status_code == 422
    throttled = post_form(people.tom, PAGE, {"name": "x", "password": PASSWORD})
    assert throttled.status_code == 429 and "Too many wrong passwords" in throttled.text
    assert int(throttled.headers["retry-after"]) > 0
    assert people.tokens("tom@school.example.org") == []


def test_revoking_asks_first_then_the_token_stops_working(people: People) -> None:
    secret = _api_token(people.api, "tom@school.example.org", name="Case sync")
    (row,) = people.tokens("tom@school.example.org")
    revoke = f"{PAGE}/{row.id}/revoke"
    listed = people.tom.get(PAGE).text
    assert f'href="{revoke}"' in listed and f'action="{revoke}"' not in listed

    confirm = people.tom.get(revoke)
    assert confirm.status_code == 200
    text = html.unescape(confirm.text)
    assert "Revoke the token “Case sync”?" in text and "stops working at once" in text
    assert f'<a class="govuk-link" href="{PAGE}">Cancel</a>' in text
    assert people.api.get("/api/v1/me", headers=bearer(secret)).status_code == 200, "asking revokes nothing"

    done = post_form(people.tom, revoke, {})
    assert done.status_code == 303 and done.headers["location"] == f"{PAGE}?notice=token-revoked"
    after = people.tom.get(done.headers["location"]).text
    assert "The API token has been revoked." in after and _cards(after) == []
    assert people.api.get("/api/v1/me", headers=bearer(secret)).status_code == 401
    assert people.tom.get(revoke).status_code == 404, "a revoked token is not offered again"


def test_nobody_revokes_another_persons_token(people: People) -> None:
    secret = _api_token(people.api, "tom@school.example.org", name="Case sync")
    (row,) = people.tokens("tom@school.example.org")
    revoke = f"{PAGE}/{row.id}/revoke"
    assert people.jo.get(revoke).status_code == 404
    refused = people.jo.post(revoke, data={"csrf_token": page_token(people.jo, PAGE)}, follow_redirects=False)
    assert refused.status_code == 404
    assert people.api.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    assert people.jo.get("/account/api-tokens/not-a-token/revoke").status_code == 404


def test_the_page_needs_signing_in(people: People) -> None:
    with TestClient(people.api.app) as stranger:
        assert stranger.get(PAGE, follow_redirects=False).headers["location"] == "/sign-in"
