"""Several `patchwork serve` processes sharing one PostgreSQL database and one Redis: a note posted through one
process reaches a socket on another; a Redis restart in the middle of a stream loses and repeats nothing; and a
note published just as Redis comes back is not lost while the listener of the other process subscribes again."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from tests.conftest import PG_URL, REDIS_URL
from tests.helpers import bearer
from tests.servers import (
    RedisServer,
    Server,
    need,
    new_secrets,
    own_redis,
    patchwork_env,
    redis_server_binary,
    run_patchwork,
    serving,
    throwaway_database,
)

PASSWORD = "correct horse battery staple"
ADMIN_EMAIL = "admin@processes.example.org"
NOTE = {
    "body": "Came to school hungry.",
    "category": "hunger_nutrition",
    "level": "observation",
    "observed_on": "2026-11-01",
    "audience": {"kind": "network"},
    "family_user_ids": [],
    "basis": {"kind": "without_consent", "reason": "risk_to_child", "justification": "Parent is the concern."},
}
STREAM_NOTES = 1000
RESTART_AT_NOTE = 300
RECONNECT_AT_NOTE = 600
REDIS_DOWN_SECONDS = 1.5
QUIET_DOWN_SECONDS = 3.0
ARRIVAL_SECONDS = 10.0
CATCH_UP_SECONDS = 30.0
REQUEST_SECONDS = 30.0


@dataclass(frozen=True)
class Deployment:
    """One migrated database with a system admin, and the secrets every process of the deployment shares."""

    database_url: str
    secret_key: str
    data_key: str
    workdir: Path

    def env(self, redis_url: str) -> dict[str, str]:
        return patchwork_env(
            database_url=self.database_url, secret_key=self.secret_key, data_key=self.data_key, redis_url=redis_url
        )


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    admin_url = need(PG_URL, "PostgreSQL: set PATCHWORK_TEST_DATABASE_URL")
    workdir = tmp_path_factory.mktemp("processes")
    secret_key, data_key = new_secrets()
    with throwaway_database(admin_url) as database_url:
        env = patchwork_env(database_url=database_url, secret_key=secret_key, data_key=data_key)
        run_patchwork(env, workdir, "db", "upgrade")
        run_patchwork(env | {"PATCHWORK_ADMIN_PASSWORD": PASSWORD}, workdir, "createadmin", "--email", ADMIN_EMAIL)
        yield Deployment(database_url=database_url, secret_key=secret_key, data_key=data_key, workdir=workdir)


@pytest.fixture
def on_shared_redis(deployment: Deployment) -> Iterator[list[Server]]:
    """Processes A and B on the machine's Redis, under a key prefix of their own."""
    redis_url = need(REDIS_URL, "Redis: set PATCHWORK_TEST_REDIS_URL")
    with serving(deployment.env(redis_url), deployment.workdir, "shared-a", "shared-b") as servers:
        yield servers


@pytest.fixture(scope="module")
def redis(deployment: Deployment) -> Iterator[RedisServer]:
    """A redis-server of this test's own, which it may kill: the machine's Redis serves other tests."""
    binary = need(redis_server_binary(), "the redis-server binary on PATH")
    with own_redis(binary, deployment.workdir) as server:
        yield server


@pytest.fixture(scope="module")
def on_own_redis(deployment: Deployment, redis: RedisServer) -> Iterator[list[Server]]:
    """Processes A and B on the test's own redis-server, which the tests kill and start again."""
    with serving(deployment.env(redis.url), deployment.workdir, "own-a", "own-b") as servers:
        yield servers


@dataclass(frozen=True)
class Network:
    id: str
    poster: str
    reader: str


def http(server: Server) -> httpx.AsyncClient:
    # trust_env=False: no proxy from the environment may stand between the test and 127.0.0.1.
    return httpx.AsyncClient(base_url=server.base, trust_env=False, timeout=REQUEST_SECONDS)


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, f"{response.request.method} {response.request.url}: {response.text}"
    body: dict[str, Any] = response.json()
    return body


async def open_network(server: Server, *, tag: str, child: dict[str, str]) -> Network:
    """Through the JSON API: two organisations, a poster (who starts the network) and a reader (who joins it)."""
    async with http(server) as client:
        sign_in = {"email": ADMIN_EMAIL, "password": PASSWORD}
        admin = bearer(created(await client.post("/api/v1/tokens", json=sign_in))["token"])
        tokens = {}
        for who, organisation_type in (("poster", "health"), ("reader", "school")):
            organisation = created(
                await client.post(
                    "/api/v1/organisations", json={"name": f"{who} {tag}", "type": organisation_type}, headers=admin
                )
            )
            email = f"{who}.{tag}@processes.example.org"
            user = {"email": email, "name": f"{who.title()} {tag}", "organisation_id": organisation["id"]}
            created(await client.post("/api/v1/users", json=user | {"password": PASSWORD}, headers=admin))
            token = created(await client.post("/api/v1/tokens", json={"email": email, "password": PASSWORD}))
            tokens[who] = token["token"]
        start = {"child": child, "role_label": "School nurse", "reason": "Weekly drop-in"}
        network = created(await client.post("/api/v1/networks", json=start, headers=bearer(tokens["poster"])))
        created(
            await client.post(
                f"/api/v1/networks/{network['id']}/involvements",
                json={"role_label": "Class teacher", "reason": "Teaches the child"},
                headers=bearer(tokens["reader"]),
            )
        )
    return Network(id=network["id"], poster=tokens["poster"], reader=tokens["reader"])


async def events_after(server: Server, network: Network, cursor: str | None = None) -> tuple[list[dict[str, Any]], str]:
    """Every event the reader may see after `cursor`, page by page, and the cursor to resume from."""
    found: list[dict[str, Any]] = []
    async with http(server) as client:
        while True:
            params = {"after": cursor} if cursor else {}
            response = await client.get(
                f"/api/v1/networks/{network.id}/events", params=params, headers=bearer(network.reader)
            )
            assert response.status_code == 200, response.text
            page = response.json()
            found += page["events"]
            cursor = page["cursor"]
            if not page["events"] or not page.get("more"):
                return found, cursor


@dataclass
class Reader:
    """A websocket client following one network: it keeps the last cursor it received and, when its socket
    closes, connects again and resumes from that cursor, as a careful client would."""

    url: str
    token: str
    network_id: str
    cursor: str
    note_ids: list[str] = field(default_factory=list)
    connections: int = 0
    closes: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    socket: ClientConnection | None = None

    async def run(self) -> None:
        while True:
            try:
                async with connect(
                    self.url, additional_headers=bearer(self.token), proxy=None, open_timeout=10
                ) as socket:
                    self.connections += 1
                    self.socket = socket
                    await socket.send(json.dumps({"type": "resume", "cursors": {self.network_id: self.cursor}}))
                    async for raw in socket:
                        self._take(json.loads(raw))
                    self.closes.append(f"closed: {socket.close_code} {socket.close_reason}")
            except (OSError, WebSocketException, TimeoutError) as error:
                self.closes.append(f"{type(error).__name__}: {error}")
            await asyncio.sleep(0.2)

    async def drop(self) -> None:
        """Close the socket as a flaky network would; the reader connects again and resumes."""
        if self.socket is not None:
            await self.socket.close()

    def _take(self, frame: dict[str, Any]) -> None:
        if frame.get("type") == "error":
            self.errors.append(frame)
        if frame.get("network_id") != self.network_id or "cursor" not in frame:
            return
        if frame["type"] == "note.created":
            self.note_ids.append(frame["data"]["note_id"])
            self.arrived.set()
        self.cursor = frame["cursor"]

    async def wait_for(self, count: int, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while len(self.note_ids) < count:
                    self.arrived.clear()
                    await self.arrived.wait()
        return len(self.note_ids) >= count

    def report(self, *servers: Server) -> str:
        return (
            f"reader: {len(self.note_ids)} notes, {self.connections} connections, closes {self.closes[-5:]}, "
            f"errors {self.errors[-5:]}\n" + "\n".join(server.tail() for server in servers)
        )


@contextlib.asynccontextmanager
async def reading(reader: Reader) -> AsyncIterator[Reader]:
    task = asyncio.create_task(reader.run())
    try:
        yield reader
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def post_note(client: httpx.AsyncClient, network: Network, body: str, *, via: Server) -> str:
    response = await client.post(
        f"/api/v1/networks/{network.id}/notes", json=NOTE | {"body": body}, headers=bearer(network.poster)
    )
    assert response.status_code == 201, f"posting {body!r}: {response.status_code} {response.text}\n{via.tail()}"
    note_id: str = response.json()["id"]
    return note_id


async def test_a_note_posted_through_one_process_reaches_a_socket_on_another(on_shared_redis: list[Server]) -> None:
    a, b = on_shared_redis
    child = {"given_name": "Maya", "family_name": "Thompson", "date_of_birth": "2017-03-27"}
    network = await open_network(b, tag="shared", child=child)
    _, cursor = await events_after(a, network)
    async with reading(Reader(a.stream_url, network.reader, network.id, cursor)) as reader, http(b) as poster:
        first = await post_note(poster, network, "first", via=b)
        assert await reader.wait_for(1, ARRIVAL_SECONDS), reader.report(a, b)
        # The socket has delivered once, so it is past its snapshot and resume: the second note can only
        # reach it live, from process B through Redis to process A.
        second = await post_note(poster, network, "second", via=b)
        assert await reader.wait_for(2, ARRIVAL_SECONDS), reader.report(a, b)
        assert reader.note_ids == [first, second]


async def test_a_resume_on_one_process_crossing_notes_posted_on_another_is_in_order_once(
    on_shared_redis: list[Server],
) -> None:
    """Five notes missed, then three posted through process B after the reader's socket on process A is open
    and has had time to hear them through Redis, and only then the resume frame: eight, in order, once."""
    a, b = on_shared_redis
    child = {"given_name": "Tomasz", "family_name": "Nowak", "date_of_birth": "2016-11-02"}
    network = await open_network(b, tag="resume", child=child)
    _, cursor = await events_after(a, network)
    async with http(b) as poster:
        missed = [await post_note(poster, network, f"missed {n}", via=b) for n in range(5)]
        async with connect(a.stream_url, additional_headers=bearer(network.reader), proxy=None) as socket:
            meanwhile = [await post_note(poster, network, f"meanwhile {n}", via=b) for n in range(3)]
            await asyncio.sleep(0.3)  # B's announcements reach A through Redis while the frame is unsent
            await socket.send(json.dumps({"type": "resume", "cursors": {network.id: cursor}}))
            got: list[str] = []
            async with asyncio.timeout(ARRIVAL_SECONDS):
                while len(got) < 8:
                    frame = json.loads(await socket.recv())
                    if frame.get("type") == "note.created":
                        got.append(frame["data"]["note_id"])
            assert got == missed + meanwhile, "\n".join(server.tail() for server in (a, b))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.5):
                    extra = json.loads(await socket.recv())
                    assert extra.get("type") == "heartbeat", f"nothing after the eight but heartbeats: {extra}"


async def test_a_redis_restart_mid_stream_loses_and_repeats_nothing(
    on_own_redis: list[Server], redis: RedisServer
) -> None:
    a, b = on_own_redis
    child = {"given_name": "Sam", "family_name": "Okafor", "date_of_birth": "2015-09-14"}
    network = await open_network(b, tag="own", child=child)
    _, start = await events_after(a, network)
    posted: list[str] = []
    down_from: int | None = None
    up_from: int | None = None
    b_ready_while_down: int | None = None

    async def restart() -> None:
        nonlocal up_from
        await asyncio.sleep(REDIS_DOWN_SECONDS)
        await asyncio.to_thread(redis.start)
        up_from = len(posted)

    async with reading(Reader(a.stream_url, network.reader, network.id, start)) as reader, http(b) as poster:
        restarting: asyncio.Task[None] | None = None
        try:
            for n in range(STREAM_NOTES):
                if n == RESTART_AT_NOTE:
                    await asyncio.to_thread(redis.kill)
                    down_from = n
                    b_ready_while_down = (await poster.get("/readyz")).status_code
                    restarting = asyncio.create_task(restart())
                if n == RECONNECT_AT_NOTE:
                    await reader.drop()
                posted.append(await post_note(poster, network, f"note {n}", via=b))
            if restarting is not None:
                await restarting
        finally:
            if restarting is not None:  # let a restart under way finish, so the fixture can stop that server
                await asyncio.gather(restarting, return_exceptions=True)
        arrived = await reader.wait_for(STREAM_NOTES, CATCH_UP_SECONDS)
        await asyncio.sleep(1.0)  # long enough for a duplicate sent after the last note to show
    assert b_ready_while_down == 503, "Redis was really down for process B"
    assert down_from is not None and up_from is not None and up_from > down_from, (
        f"notes were posted while Redis was down: from {down_from} to {up_from}"
    )
    assert arrived, reader.report(a, b)
    assert reader.connections >= 2, "the reader resumed on a new socket mid-stream"
    assert len(set(reader.note_ids)) == len(reader.note_ids), "no note twice\n" + reader.report(a, b)
    assert reader.note_ids == posted, "every note once, in posting order\n" + reader.report(a, b)
    events, _ = await events_after(a, network, start)
    assert [e["data"]["note_id"] for e in events if e["type"] == "note.created"] == posted


async def test_a_note_posted_as_redis_comes_back_arrives_without_a_later_one(
    on_own_redis: list[Server], redis: RedisServer
) -> None:
    a, b = on_own_redis
    child = {"given_name": "Ada", "family_name": "Lovelace", "date_of_birth": "2014-12-10"}
    network = await open_network(b, tag="quiet", child=child)
    _, start = await events_after(a, network)
    async with reading(Reader(a.stream_url, network.reader, network.id, start)) as reader, http(b) as poster:
        before = await post_note(poster, network, "before", via=b)
        assert await reader.wait_for(1, ARRIVAL_SECONDS), reader.report(a, b)
        await asyncio.to_thread(redis.kill)
        # Long enough for A's listener to give up reconnecting and fail: A is now between subscriptions.
        await asyncio.sleep(QUIET_DOWN_SECONDS)
        await asyncio.to_thread(redis.start)
        # B publishes this one at once, before A has subscribed again, and nothing comes after it: only a hub
        # that looks at the outbox once it is listening again can deliver it.
        last = await post_note(poster, network, "last", via=b)
        assert await reader.wait_for(2, ARRIVAL_SECONDS), reader.report(a, b)
        assert reader.note_ids == [before, last]


async def refused_within(server: Server, token: str, seconds: float) -> float | None:
    """How long until `server` refuses the token (polling /api/v1/me), or None if it still accepts it."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    async with http(server) as client:
        while loop.time() - start < seconds:
            response = await client.get("/api/v1/me", headers=bearer(token))
            if response.status_code == 401:
                return loop.time() - start
            assert response.status_code == 200, response.text
            await asyncio.sleep(0.02)
    return None


async def test_a_token_revoked_through_one_process_is_refused_by_another_at_once(
    on_shared_redis: list[Server],
) -> None:
    a, b = on_shared_redis
    child = {"given_name": "Noor", "family_name": "Hussain", "date_of_birth": "2016-05-02"}
    network = await open_network(b, tag="revoked", child=child)
    async with http(a) as client_a, http(b) as client_b:
        for _ in range(3):  # in use on A, so A holds it (auth.token_cache)
            assert (await client_a.get("/api/v1/me", headers=bearer(network.reader))).status_code == 200
        revoked = await client_b.delete("/api/v1/tokens/current", headers=bearer(network.reader))
        assert revoked.status_code == 204, revoked.text
    # A holds a token for up to 10 s; the account's doorbell, through Redis, ends that well before.
    took = await refused_within(a, network.reader, 2.0)
    assert took is not None, "process A still accepted a token revoked through process B\n" + a.tail()


async def test_while_redis_is_down_no_held_token_is_trusted(on_own_redis: list[Server], redis: RedisServer) -> None:
    a, b = on_own_redis
    child = {"given_name": "Leo", "family_name": "Marsh", "date_of_birth": "2018-01-19"}
    network = await open_network(b, tag="untrusted", child=child)
    async with http(a) as client_a:
        for _ in range(3):
            assert (await client_a.get("/api/v1/me", headers=bearer(network.reader))).status_code == 200
    await asyncio.to_thread(redis.kill)
    try:
        # A's listener notices at once and stops listening; it tries again after a second (and a new listener
        # starts with nothing held), so this looks in between, when A still holds the token.
        await asyncio.sleep(0.3)
        async with http(b) as client_b:
            # B commits the revocation; its doorbell cannot reach A while Redis is down.
            revoked = await client_b.delete("/api/v1/tokens/current", headers=bearer(network.reader))
            assert revoked.status_code == 204, revoked.text
        async with http(a) as client_a:
            refused = await client_a.get("/api/v1/me", headers=bearer(network.reader))
        assert refused.status_code == 401, "process A trusted a held token while it could not hear doorbells"
    finally:
        await asyncio.to_thread(redis.start)
