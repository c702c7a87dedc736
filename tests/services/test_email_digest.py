"""E-mail digests against a real SMTP server on loopback (aiosmtpd): a scripted day of activity across two networks and
five organisations, every e-mail read back. None names a child, quotes a note or names an organisation; at most one
per person per interval; none for a person who switched e-mail off; none when nothing is new; two processes never
both send the same digest; and the app's own digest task sends on its own when SMTP is configured."""

from __future__ import annotations

import asyncio
import email
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from starlette.testclient import TestClient

from patchwork.app import create_app
from patchwork.clock import utcnow
from patchwork.db import Database
from patchwork.runtime import keyring_for
from patchwork.services import email_digest, notifications
from patchwork.services.email_digest import Mailer
from patchwork.settings import Settings
from tests.conftest import PASSWORD, World, make_settings
from tests.helpers import api_token, bearer

FAMILY_PASSWORD = "kitchen table sunflower radio"
WORDS = "There is something new for you in Patchwork. Sign in to see it:"
INTERVAL = 30
ORGANISATIONS = {
    "teacher": ("Oakfield Primary", "school"),
    "nurse": ("Northgate Health", "health"),
    "officer": ("Eastshire Police", "police"),
    "housing": ("Riverside Housing", "housing"),
    "refuge": ("Safe Harbour Refuge", "voluntary"),
}
PEOPLE = {
    "teacher": ("tom@class.test", "Tom Fletcher"),
    "nurse": ("helen@clinic.test", "Helen Morgan"),
    "officer": ("joe@beat.test", "Joe Bennett"),
    "housing": ("ann@homes.test", "Ann Lee"),
    "refuge": ("dana@shelter.test", "Dana Quill"),
}
FAMILY = {
    "sarah": ("sarah@family.test", "Sarah Thompson", "Mother"),
    "daniel": ("daniel@family.test", "Dan Okafor", "Father"),
}
MAYA = {
    "given_name": "Maya",
    "family_name": "Thompson",
    "known_as": "Mimi",
    "date_of_birth": "2017-03-27",
    "nhs_number": "943 476 5919",
    "postcode": "sw1a1aa",
}
LEO = {
    "given_name": "Leopold",
    "family_name": "Okafor",
    "date_of_birth": "2015-09-02",
    "nhs_number": "4010232137",
    "postcode": "M1 1AE",
}
NOTE = {
    "category": "hunger_nutrition",
    "level": "concern",
    "observed_on": "2026-11-01",
    "audience": {"kind": "network"},
    "family_user_ids": [],
    "basis": {"kind": "without_consent", "reason": "risk_to_child", "justification": "Justified-by-risk-at-home"},
}


class Inbox:
    """aiosmtpd's handler: keeps every message as it arrived."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), bytes(envelope.original_content or envelope.content)))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def mail_settings(database_url: str, port: int, **more: Any) -> Settings:
    return make_settings(
        database_url,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        email_from="patchwork@council.test",
        base_url="https://patchwork.council.test/",
        email_digest_minutes=INTERVAL,
        **more,
    )


@dataclass
class Day:
    """The people, their tokens, the networks, and every secret that must never reach an e-mail."""

    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    networks: dict[str, str] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)

    def call(self, who: str, method: str, path: str, json: dict[str, Any] | None = None) -> Any:
        response = self.client.request(method, "/api/v1" + path, json=json, headers=bearer(self.tokens[who]))
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def note(self, who: str, network: str, body: str, **more: Any) -> str:
        self.secrets.add(body)
        payload = {"body": body} if who in FAMILY else NOTE | {"body": body, **more}
        return str(self.call(who, "POST", f"/networks/{self.networks[network]}/notes", payload)["id"])

    def reply(self, who: str, note_id: str, body: str) -> None:
        self.secrets.add(body)
        self.call(who, "POST", f"/notes/{note_id}/replies", {"body": body})

    def read_all(self, who: str) -> None:
        cursors = self.call(who, "GET", "/notifications")["cursors"]
        self.call(who, "POST", "/notifications/read", {"cursors": cursors})


def set_up(client: TestClient, world: World) -> Day:
    day = Day(client)
    organisations = {who: world.organisation(*details) for who, details in ORGANISATIONS.items()}
    for who, (address, name) in PEOPLE.items():
        world.account(address, organisation=organisations[who], name=name)
        day.tokens[who] = api_token(client, address, PASSWORD)
    day.secrets |= {name for name, _ in ORGANISATIONS.values()}
    for child in (MAYA, LEO):
        day.secrets |= {child["given_name"], child["family_name"], child["nhs_number"].replace(" ", "")}
        day.secrets |= {child["nhs_number"], child["postcode"].upper(), child.get("known_as", child["given_name"])}
    day.secrets |= {"943 476 5919", "SW1A 1AA", "SW1A1AA", "M11AE", "Justified-by-risk-at-home"}

    start = {"child": MAYA, "role_label": "School nurse", "reason": "Drop-in"}
    maya = day.call("nurse", "POST", "/networks", start)
    day.networks["maya"] = maya["id"]
    day.ids["nurse"] = maya["involvements"][0]["user_id"]
    for who, role in (("teacher", "Class teacher"), ("officer", "PCSO")):
        day.ids[who] = day.call(
            who, "POST", f"/networks/{maya['id']}/involvements", {"role_label": role, "reason": "x"}
        )["user_id"]
    refuge = {"role_label": "Refuge worker", "reason": "Supporting mum", "sensitive": True}
    day.ids["refuge"] = day.call("refuge", "POST", f"/networks/{maya['id']}/involvements", refuge)["user_id"]
    day.call("nurse", "POST", f"/networks/{maya['id']}/leads", {"user_id": day.ids["nurse"]})

    leo = day.call("housing", "POST", "/networks", {"child": LEO, "role_label": "Housing officer", "reason": "Tenancy"})
    day.networks["leo"] = leo["id"]
    day.ids["housing"] = leo["involvements"][0]["user_id"]
    day.call("nurse", "POST", f"/networks/{leo['id']}/involvements", {"role_label": "Health visitor", "reason": "x"})
    day.call("housing", "POST", f"/networks/{leo['id']}/leads", {"user_id": day.ids["housing"]})

    for who, lead, network in (("sarah", "nurse", "maya"), ("daniel", "housing", "leo")):
        address, name, relationship = FAMILY[who]
        invitation = {"name": name, "relationship": relationship, "email": address}
        code = day.call(lead, "POST", f"/networks/{day.networks[network]}/family-invitations", invitation)["code"]
        accepted = client.post(
            "/api/v1/family/accept", json={"code": code, "email": address, "name": name, "password": FAMILY_PASSWORD}
        )
        assert accepted.status_code == 201, accepted.text
        day.ids[who] = accepted.json()["id"]
        day.tokens[who] = api_token(client, address, FAMILY_PASSWORD)
    return day


@dataclass
class Post:
    at: datetime
    to: str
    message: Message
    raw: bytes


class Clock:
    """Runs digest rounds at chosen moments of the day and files what arrived under the moment it was sent."""

    def __init__(self, inbox: Inbox, mailers: list[Mailer]) -> None:
        self.inbox = inbox
        self.mailers = mailers
        self.start = utcnow()
        self.posts: list[Post] = []

    def tick(self, minutes: int, *, together: bool = False) -> set[str]:
        moment = self.start + timedelta(minutes=minutes)
        before = len(self.inbox.received)

        async def rounds() -> None:
            mailers = self.mailers if together else self.mailers[:1]
            await asyncio.gather(*(mailer.tick(moment) for mailer in mailers))

        asyncio.run(rounds())
        arrived = self.inbox.received[before:]
        for recipients, raw in arrived:
            self.posts += [Post(moment, to, email.message_from_bytes(raw), raw) for to in recipients]
        return {to for recipients, _ in arrived for to in recipients}


def addresses(*who: str) -> set[str]:
    return {(PEOPLE | {k: v[:2] for k, v in FAMILY.items()})[w][0] for w in who}


def test_a_day_of_activity_sends_only_sign_in_prompts_at_most_once_an_interval(
    client: TestClient, world: World, database_url: str, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    settings = mail_settings(database_url, port)
    databases = [Database(database_url), Database(database_url)]  # two processes' engines
    keys = keyring_for(settings)
    try:
        day = set_up(client, world)
        _switch_off(databases[0], keys, world, PEOPLE["officer"][0])
        for who in day.tokens:
            day.read_all(who)
        clock = Clock(inbox, [Mailer(db, keys, settings) for db in databases])

        assert clock.tick(0) == set(), "nothing new: no e-mail"
        n1 = day.note(
            "nurse",
            "maya",
            "Maya Thompson (Mimi) came in hungry; lives at SW1A 1AA",
            family_user_ids=[day.ids["sarah"]],
        )
        assert clock.tick(5) == addresses("teacher", "refuge", "sarah"), "the officer switched e-mail off"
        day.reply("teacher", n1, "Maya told me she had no breakfast at Oakfield Primary")
        assert clock.tick(10) == addresses("nurse"), "the others were e-mailed less than an interval ago"
        day.call("officer", "POST", f"/notes/{n1}/acknowledgements")
        day.note("refuge", "maya", "Mum and Maya are staying with us now", family_user_ids=[day.ids["sarah"]])
        assert clock.tick(15) == set()
        day.note("sarah", "maya", "We are fine, Maya is eating now")
        assert clock.tick(20) == set()
        day.note("housing", "leo", "Damp in Leopold Okafor's flat at M1 1AE", audience={"kind": "lead"})
        assert clock.tick(25) == set(), "a lead-only note by the only lead concerns nobody else"
        day.note("nurse", "leo", "Leopold missed his hearing test")
        assert clock.tick(30) == addresses("housing"), "not the father: nothing was shared with him"
        assert clock.tick(35) == addresses("teacher", "refuge", "sarah"), "an interval on, with something new"
        day.read_all("nurse")
        assert clock.tick(40) == set(), "the nurse is due but has read everything"
        school = world_organisation_id(day, "teacher")
        day.note(
            "teacher",
            "maya",
            "Only for Oakfield Primary",
            audience={"kind": "organisations", "organisation_ids": [school]},
        )
        assert clock.tick(70) == set(), "nothing anyone else may see"
        day.note("nurse", "leo", "Leopold's dad asked for help with forms", family_user_ids=[day.ids["daniel"]])
        assert clock.tick(75) == addresses("daniel", "housing")
        day.note("nurse", "maya", "Maya seemed happier today", family_user_ids=[day.ids["sarah"]])
        assert clock.tick(200, together=True) == addresses("teacher", "refuge", "sarah")
        assert clock.tick(201, together=True) == set()

        by_person: dict[str, list[datetime]] = {}
        for post in clock.posts:
            by_person.setdefault(post.to, []).append(post.at)
        assert PEOPLE["officer"][0] not in by_person
        for times in by_person.values():
            assert len(times) == len(set(times)), "two processes never both send one digest"
            assert all(b - a >= timedelta(minutes=INTERVAL) for a, b in itertools.pairwise(times))
        assert len(clock.posts) == 13
        for post in clock.posts:
            assert post.message["Subject"] == "Something new in Patchwork"
            assert post.message["From"] == "patchwork@council.test" and post.message["To"] == post.to
            body = post.message.get_payload(decode=True).decode().replace("\r\n", "\n")  # type: ignore[union-attr]
            assert body == WORDS + "\n\nhttps://patchwork.council.test/sign-in\n"
            text = post.raw.decode("utf-8", "replace") + body
            for secret in day.secrets | {name for _, name in PEOPLE.values()}:
                assert secret.lower() not in text.lower(), f"{secret!r} leaked into an e-mail"
    finally:
        for db in databases:
            db.dispose()


def world_organisation_id(day: Day, who: str) -> str:
    me = day.call(who, "GET", "/me")
    return str(me["organisation"]["id"])


def _switch_off(db: Database, keys: Any, world: World, address: str) -> None:
    from sqlmodel import select

    from patchwork.models import Account

    with db.transaction() as session:
        account = session.exec(select(Account).where(Account.email == address)).one()
        notifications.set_email(session=session, keys=keys, account=account, enabled=False)


def test_the_message_is_fixed_words_and_the_sign_in_link(database_url: str) -> None:
    settings = make_settings(database_url, base_url="https://example.test/")
    message = email_digest.message(settings, "someone@example.test")
    assert message.get_content() == WORDS + "\n\nhttps://example.test/sign-in\n"
    assert message["Subject"] == "Something new in Patchwork"


def test_the_app_sends_digests_on_its_own_when_smtp_is_configured(
    world: World, database_url: str, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    settings = mail_settings(database_url, port, email_poll_seconds=0.1)
    school = world.organisation("Oakfield Primary", "school")
    world.account("tom@class.test", organisation=school, name="Tom Fletcher")
    world.account("helen@clinic.test", organisation=school, name="Helen Morgan")
    with TestClient(create_app(settings)) as client:
        assert client.app.state.settings.smtp_host == "127.0.0.1"  # type: ignore[attr-defined]
        tom, helen = api_token(client, "tom@class.test", PASSWORD), api_token(client, "helen@clinic.test", PASSWORD)
        network = client.post(
            "/api/v1/networks", json={"child": MAYA, "role_label": "Teacher", "reason": "x"}, headers=bearer(tom)
        ).json()
        joined = client.post(
            f"/api/v1/networks/{network['id']}/involvements",
            json={"role_label": "Nurse", "reason": "x"},
            headers=bearer(helen),
        )
        assert joined.status_code == 201
        deadline = time.monotonic() + 10
        while not inbox.received and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [to for to, _ in inbox.received] == [["tom@class.test"]], "Tom hears that Helen joined; Helen of nothing"
    assert b"Maya" not in inbox.received[0][1]


def test_the_digest_task_runs_only_when_smtp_is_configured(database_url: str, smtp: tuple[Inbox, int]) -> None:
    _, port = smtp
    with TestClient(create_app(make_settings(database_url))) as client:
        assert client.app_state["runtime"].mailer is None
    with TestClient(create_app(mail_settings(database_url, port))) as client:
        assert client.app_state["runtime"].mailer.healthy
