"""Single sign-on end to end against a real OpenID provider (oidc-provider on 127.0.0.1), driven over HTTP: a
system admin connects it, a first sign-in asks for an account that the organisation admin approves, a verified
e-mail links an existing account, the provider's second factor counts in production, and every way a sign-in or
a connection can go wrong is refused with a clear page and nothing written."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from patchwork.app import create_app
from patchwork.db import Database
from patchwork.models import Account, AccountKind, AccountStatus, Organisation, SsoDomain, SsoIdentity, SsoProvider
from patchwork.settings import Settings
from tests.conftest import PASSWORD, World, make_settings
from tests.helpers import api_token, bearer, post_form, sign_in
from tests.oidc import OpenIdProvider, openid_provider, sign_in_at

BASE = "http://testserver"
CALLBACK = f"{BASE}/sso/callback"
ACCOUNTS = {
    "alice": {"claims": {"email": "alice@oakfield.test", "email_verified": True, "name": "Alice Adams"}},
    "bob": {"claims": {"email": "bob@oakfield.test", "email_verified": True, "name": "Bob Brown"}},
    "carol": {"claims": {"email": "carol@oakfield.test", "email_verified": False, "name": "Carol Cole"}},
    "nomail": {"claims": {"name": "No Mail"}},
    "outsider": {"claims": {"email": "eve@elsewhere.test", "email_verified": True}},
    "lead": {"claims": {"email": "lena@oakfield.test", "email_verified": True}, "amr": ["pwd", "mfa"]},
}


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenIdProvider]:
    with openid_provider(tmp_path_factory.mktemp("oidc"), redirect_uri=CALLBACK, accounts=ACCOUNTS) as running:
        yield running


@pytest.fixture
def sso_settings(database_url: str) -> Settings:
    return make_settings(database_url, base_url=BASE)


@pytest.fixture
def app_client(sso_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(sso_settings), base_url=BASE) as client:
        yield client


@pytest.fixture
def world_here(sso_settings: Settings) -> Iterator[World]:
    db = Database(sso_settings.database_url)
    try:
        yield World(db=db, settings=sso_settings)
    finally:
        db.dispose()


def _connect(client: TestClient, organisation: Organisation, provider: OpenIdProvider, **changes: str):  # type: ignore[no-untyped-def]
    form = {
        "discovery_url": provider.discovery_url,
        "client_id": provider.client.client_id,
        "client_secret": provider.client.client_secret,
        "domains": "oakfield.test",
        "multi_factor_acr": "",
    } | changes
    path = f"/organisations/{organisation.id}/single-sign-on"
    return post_form(client, path, form, token_from=path)


@pytest.fixture
def school(app_client: TestClient, world_here: World, provider: OpenIdProvider) -> Organisation:
    organisation = world_here.organisation()
    world_here.account("root@council.test", kind=AccountKind.admin)
    assert sign_in(app_client, "root@council.test", PASSWORD).status_code == 303
    saved = _connect(app_client, organisation, provider)
    assert saved.status_code == 303, saved.text
    app_client.cookies.clear()
    return organisation


def _through_provider(client: TestClient, provider: OpenIdProvider, email: str, account: str, **tamper: str):  # type: ignore[no-untyped-def]
    sent = post_form(client, "/sign-in", {"email": email, "password": ""})
    assert sent.status_code == 200 and 'http-equiv="refresh"' in sent.text, sent.text
    found = re.search(r'<a class="govuk-button" id="continue" href="([^"]+)"', sent.text)
    assert found is not None
    location = html.unescape(found.group(1))
    assert location.startswith(provider.issuer), "sent to the organisation's provider"
    if tamper.get("nonce"):
        parsed = urlparse(location)
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()} | {"nonce": tamper["nonce"]}
        location = parsed._replace(query=urlencode(query)).geturl()
    back = sign_in_at(provider, location, account)
    if tamper.get("state"):
        back["state"] = tamper["state"]
    return back


def _back(client: TestClient, query: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.get("/sso/callback", params=query, follow_redirects=False)


def _rows(world: World) -> tuple[int, int]:
    with world.db.transaction() as session:
        return len(session.exec(select(Account)).all()), len(session.exec(select(SsoIdentity)).all())


def test_a_first_sign_in_asks_for_an_account_that_the_admin_approves(
    app_client: TestClient, world_here: World, school: Organisation, provider: OpenIdProvider
) -> None:
    back = _through_provider(app_client, provider, "Alice@Oakfield.test", "alice")
    waiting = _back(app_client, back)
    assert waiting.status_code == 200 and "waiting for approval by your organisation" in waiting.text
    with world_here.db.transaction() as session:
        alice = session.exec(select(Account).where(Account.email == "alice@oakfield.test")).one()
        assert (alice.status, alice.organisation_id, alice.name) == (AccountStatus.pending, school.id, "Alice Adams")
    refused_before_approval = _back(app_client, _through_provider(app_client, provider, "alice@oakfield.test", "alice"))
    assert refused_before_approval.status_code == 403 and "waiting for approval" in refused_before_approval.text
    world_here.account("ada@admins.test", organisation=school, org_admin=True)  # a domain no provider claims
    assert sign_in(app_client, "ada@admins.test", PASSWORD).status_code == 303
    accounts = f"/organisations/{school.id}/accounts"
    assert "Alice Adams" in app_client.get(accounts).text, "the request waits on the admin's page"
    approved = post_form(app_client, f"/accounts/{alice.id}/decision", {"decision": "approve"}, token_from=accounts)
    assert approved.status_code == 303
    app_client.cookies.clear()
    again = _back(
        app_client,
        _through_provider(app_client, provider, "alice@oakfield.test", "alice"),
    )
    assert again.status_code == 303, again.text[-3000:]
    assert again.headers["location"] == "/"
    assert "Alice Adams" in app_client.get("/account").text


def test_a_verified_email_links_the_existing_account_and_says_so(
    app_client: TestClient, world_here: World, school: Organisation, provider: OpenIdProvider
) -> None:
    world_here.account("bob@oakfield.test", organisation=school, name="Bob Brown")
    linked = _back(
        app_client,
        _through_provider(app_client, provider, "bob@oakfield.test", "bob"),
    )
    assert (linked.status_code, linked.headers["location"]) == (303, "/?notice=sso-linked")
    assert "now linked to your Patchwork account" in app_client.get("/?notice=sso-linked").text


@pytest.mark.parametrize(
    ("account", "email", "words"),
    [
        ("carol", "carol@oakfield.test", "has not verified your e-mail address"),
        ("nomail", "nomail@oakfield.test", "did not tell us your e-mail address"),
        ("outsider", "eve@oakfield.test", "an address it does not cover"),
    ],
)
def test_an_email_the_provider_does_not_vouch_for_is_refused_and_nothing_is_written(
    app_client: TestClient,
    world_here: World,
    school: Organisation,
    provider: OpenIdProvider,
    account: str,
    email: str,
    words: str,
) -> None:
    world_here.account("carol@oakfield.test", organisation=school, name="Carol Cole")
    before = _rows(world_here)
    refused = _back(app_client, _through_provider(app_client, provider, email, account))
    assert refused.status_code == 400 and words in refused.text and "Nothing has been changed" in refused.text
    assert _rows(world_here) == before


@pytest.mark.parametrize(
    ("tamper", "words"),
    [
        ({"state": "a-state-we-never-sent"}, "expired or was used already"),
        ({"nonce": "an-attacker-nonce"}, "could not be trusted"),
    ],
)
def test_a_tampered_state_or_nonce_is_refused(
    app_client: TestClient,
    world_here: World,
    school: Organisation,
    provider: OpenIdProvider,
    tamper: dict[str, str],
    words: str,
) -> None:
    before = _rows(world_here)
    back = _through_provider(app_client, provider, "alice@oakfield.test", "alice", **tamper)
    refused = _back(app_client, back)
    assert refused.status_code == 400 and words in refused.text
    assert _rows(world_here) == before


def test_a_code_is_used_once(
    app_client: TestClient, world_here: World, school: Organisation, provider: OpenIdProvider
) -> None:
    back = _through_provider(app_client, provider, "alice@oakfield.test", "alice")
    assert _back(app_client, back).status_code == 200
    before = _rows(world_here)
    replayed = _back(app_client, back)
    assert replayed.status_code == 400 and "expired or was used already" in replayed.text
    assert _rows(world_here) == before


def test_an_expired_code_and_a_swapped_key_are_refused(
    tmp_path: Path, app_client: TestClient, world_here: World, school: Organisation
) -> None:
    world_here.account("root2@council.test", kind=AccountKind.admin)
    for options, words in (
        ({"code_ttl_seconds": 1}, "refused the sign-in"),
        ({"publish_other_keys": True}, "could not be trusted"),
    ):
        with openid_provider(tmp_path, redirect_uri=CALLBACK, accounts=ACCOUNTS, **options) as other:
            app_client.cookies.clear()
            assert sign_in(app_client, "root2@council.test", PASSWORD).status_code == 303
            assert _connect(app_client, school, other).status_code == 303
            app_client.cookies.clear()
            back = _through_provider(app_client, other, "alice@oakfield.test", "alice")
            if "code_ttl_seconds" in options:
                time.sleep(2.2)
            before = _rows(world_here)
            refused = _back(app_client, back)
            assert refused.status_code == 400 and words in refused.text, refused.text
            assert _rows(world_here) == before


def test_connecting_refuses_what_would_not_work_and_saves_nothing(
    app_client: TestClient, world_here: World, provider: OpenIdProvider
) -> None:
    school = world_here.organisation()
    clinic = world_here.organisation("Northgate Health", "health")
    world_here.account("root@council.test", kind=AccountKind.admin)
    assert sign_in(app_client, "root@council.test", PASSWORD).status_code == 303
    unreachable = _connect(
        app_client, school, provider, discovery_url="http://127.0.0.1:9/.well-known/openid-configuration"
    )
    assert unreachable.status_code == 422 and "could not be reached" in unreachable.text
    assert 'value="http://127.0.0.1:9/.well-known/openid-configuration"' in unreachable.text, "what was typed stays"
    wrong = _connect(app_client, school, provider, client_secret="not-the-secret")
    assert wrong.status_code == 422 and "refused the client id and secret" in wrong.text
    bad = _connect(app_client, school, provider, domains="not a domain!")
    assert bad.status_code == 422 and "is not an e-mail domain" in bad.text
    with world_here.db.transaction() as session:
        assert session.exec(select(SsoProvider)).first() is None
    assert _connect(app_client, school, provider).status_code == 303
    twice = _connect(app_client, clinic, provider, domains="oakfield.test\nclinic.test")
    assert twice.status_code == 422 and "oakfield.test is already signed in by another organisation" in twice.text
    with world_here.db.transaction() as session:
        assert [d.domain for d in session.exec(select(SsoDomain)).all()] == ["oakfield.test"]
        stored = session.exec(select(SsoProvider)).one()
        assert provider.client.client_secret not in stored.client_secret_sealed, "the secret is stored encrypted"


def test_only_system_admins_connect_a_provider(
    app_client: TestClient, world_here: World, provider: OpenIdProvider
) -> None:
    school = world_here.organisation()
    world_here.account("admin@oakfield.test", organisation=school, org_admin=True)
    assert sign_in(app_client, "admin@oakfield.test", PASSWORD).status_code == 303
    assert app_client.get(f"/organisations/{school.id}/single-sign-on").status_code == 403


def test_in_production_the_providers_second_factor_counts_and_its_absence_is_asked_for(
    database_url: str, world_here: World, tmp_path: Path
) -> None:
    school = world_here.organisation()
    world_here.account("lena@oakfield.test", organisation=school, org_admin=True, name="Lena Lead")
    world_here.account("ada@oakfield.test", organisation=school, org_admin=True, name="Ada Admin")
    world_here.account("root@council.test", kind=AccountKind.admin)
    secure_base = "https://testserver"
    accounts = ACCOUNTS | {"ada": {"claims": {"email": "ada@oakfield.test", "email_verified": True}, "amr": ["pwd"]}}
    with openid_provider(tmp_path, redirect_uri=f"{secure_base}/sso/callback", accounts=accounts) as secure:
        local = make_settings(database_url, base_url=secure_base)
        with TestClient(create_app(local), base_url=secure_base) as client:
            assert sign_in(client, "root@council.test", PASSWORD).status_code == 303
            assert _connect(client, school, secure).status_code == 303
        production = make_settings(database_url, env="production", base_url=secure_base)
        with TestClient(create_app(production), base_url=secure_base) as client:
            entered = _back(
                client,
                _through_provider(client, secure, "lena@oakfield.test", "lead"),
            )
            assert entered.status_code == 303
            accounts_page = client.get(f"/organisations/{school.id}/accounts", follow_redirects=False)
            assert accounts_page.status_code == 200, "amr says mfa: the provider's second factor counts"
            client.cookies.clear()
            back = _through_provider(client, secure, "ada@oakfield.test", "ada")
            entered = _back(client, back)
            assert entered.status_code == 303
            asked = client.get(f"/organisations/{school.id}/accounts", follow_redirects=False)
            assert (asked.status_code, asked.headers["location"]) == (303, "/account/two-factor")


def test_the_api_connects_reads_and_disconnects_a_provider_and_never_shows_the_secret(
    app_client: TestClient, world_here: World, provider: OpenIdProvider
) -> None:
    school = world_here.organisation()
    world_here.account("root@council.test", kind=AccountKind.admin)
    world_here.account("tom@oakfield.test", organisation=school)
    root = bearer(api_token(app_client, "root@council.test", PASSWORD))
    path = f"/api/v1/organisations/{school.id}/sso"
    body = {
        "discovery_url": provider.discovery_url,
        "client_id": provider.client.client_id,
        "client_secret": provider.client.client_secret,
        "domains": ["Oakfield.test"],
    }
    assert app_client.get(path, headers=root).status_code == 404
    unreachable = app_client.put(path, json=body | {"discovery_url": "http://127.0.0.1:9/x"}, headers=root)
    assert unreachable.status_code == 422 and "discovery_url" in unreachable.json()["error"]["fields"]
    saved = app_client.put(path, json=body, headers=root)
    assert saved.status_code == 200, saved.text
    shown = app_client.get(path, headers=root).json()
    assert shown["domains"] == ["oakfield.test"] and shown["issuer"] == provider.issuer
    assert shown["redirect_uri"] == CALLBACK and provider.client.client_secret not in str(shown)
    kept = app_client.put(
        path, json=body | {"client_secret": None, "domains": ["oakfield.test", "x.test"]}, headers=root
    )
    assert kept.status_code == 200 and kept.json()["domains"] == ["oakfield.test", "x.test"], "the secret is kept"
    tom = bearer(api_token(app_client, "tom@oakfield.test", PASSWORD))
    assert app_client.get(path, headers=tom).status_code == 403
    assert app_client.delete(path, headers=tom).status_code == 403
    assert app_client.delete(path, headers=root).status_code == 204
    assert app_client.get(path, headers=root).status_code == 404


def test_a_provider_that_stops_answering_gives_the_practitioner_a_clear_page(
    tmp_path: Path, app_client: TestClient, world_here: World
) -> None:
    school = world_here.organisation()
    world_here.account("root@council.test", kind=AccountKind.admin)
    with openid_provider(tmp_path, redirect_uri=CALLBACK, accounts=ACCOUNTS) as brief:
        assert sign_in(app_client, "root@council.test", PASSWORD).status_code == 303
        assert _connect(app_client, school, brief).status_code == 303
    app_client.cookies.clear()
    down = post_form(app_client, "/sign-in", {"email": "alice@oakfield.test", "password": ""})
    assert down.status_code == 503 and "not answering just now" in down.text
    assert 'value="alice@oakfield.test"' in down.text, "what was typed stays"


def test_sign_ins_that_never_came_back_are_cleared_after_a_day(
    app_client: TestClient, world_here: World, school: Organisation, provider: OpenIdProvider
) -> None:
    from datetime import timedelta

    from patchwork.clock import utcnow
    from patchwork.models import SsoAttempt

    with world_here.db.transaction() as session:
        provider_id = session.exec(select(SsoProvider)).one().id
        for age in (timedelta(days=2), timedelta(hours=2)):
            session.add(
                SsoAttempt(
                    state_hash=str(age.total_seconds()).ljust(64, "0"),
                    provider_id=provider_id,
                    nonce="n",
                    code_verifier_sealed="x",
                    created_at=utcnow() - age,
                )
            )
    _through_provider(app_client, provider, "alice@oakfield.test", "alice")
    with world_here.db.transaction() as session:
        ages = sorted(utcnow() - a.created_at for a in session.exec(select(SsoAttempt)).all())
    assert len(ages) == 2 and ages[-1] < timedelta(days=1), "the two-day-old one went; the new and the recent stay"
