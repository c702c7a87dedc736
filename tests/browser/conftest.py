"""End-to-end fixtures: a real `patchwork serve` on demo data, driven by Debian's Chromium through Playwright.

Run in their own process: `pytest tests/browser -p no:asyncio -p no:playwright`. Every page a test opens is
watched, and the test fails if the browser logs an error, a script throws, or the CSP refuses something.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, Response, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_PASSWORD = "browser-tests-demo-password"
PHONE = {"width": 375, "height": 812}
STARTUP_SECONDS = 30

PROBLEMS = pytest.StashKey[list[str]]()

# Demo accounts that tests only look at, by role, for the walk through every page (test_every_page.py): kept
# from `Server.claim` so no test changes them (a second factor turned on, a network left) before the walk.
LOOKED_AT = {
    "practitioner": "tom.fletcher@oakfield-primary-school.example.org",
    "lead and organisation admin": "claire.dawson@eastshire-childrens-social-care.example.org",
    "parent": "nadia.begum@family.example.org",
    "young person": "aisha.begum@family.example.org",
}


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    # This suite runs with `-p no:asyncio`, but pyproject's shared pytest settings name pytest-asyncio's options
    # and `--strict-config` refuses options nobody registered. Register them (inert) only when the plugin is off.
    if not pluginmanager.has_plugin("asyncio"):
        parser.addini("asyncio_mode", "ignored: pytest-asyncio is off in the browser suite")
        parser.addini("asyncio_default_fixture_loop_scope", "ignored: pytest-asyncio is off in the browser suite")


def pytest_sessionstart(session: pytest.Session) -> None:
    # Never a pass that skipped them: without the browser the suite stops and says what to run (`make test`
    # installs it first when it may).
    if not CHROMIUM.exists():
        pytest.exit(f"The browser tests need Debian's Chromium at {CHROMIUM}: sudo apt-get install -y chromium", 1)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    try:
        result = yield
    except BaseException:
        # The test failed on its own; what the browser saw meanwhile often explains why.
        if problems := item.stash.get(PROBLEMS, []):
            item.add_report_section("call", "browser problems", "\n".join(problems))
        raise
    if problems := item.stash.get(PROBLEMS, []):
        pytest.fail("The browser reported problems:\n" + "\n".join(f"  - {p}" for p in problems), pytrace=False)
    return result


@dataclass(frozen=True)
class DemoAccount:
    email: str
    kind: str
    roles: tuple[str, ...]
    organisation: str | None
    leads: tuple[str, ...] = ()  # the children whose networks this account leads

    @property
    def is_org_admin(self) -> bool:
        return "org_admin" in self.roles


@dataclass
class Server:
    url: str
    password: str
    accounts: list[DemoAccount]
    networks: list[str] = field(default_factory=list)  # the demo networks' ids, when the demo data has any
    _claimed: set[str] = field(default_factory=set)
    _shared: dict[tuple[str, bool], DemoAccount] = field(default_factory=dict)

    def claim(
        self, kind: str = "practitioner", *, org_admin: bool | None = False, not_from: tuple[str | None, ...] = ()
    ) -> DemoAccount:
        """An account no other test has claimed, for a test that changes it (turning on TOTP, joining a network).

        `org_admin=None` takes either kind of practitioner; `not_from` skips accounts of those organisations.
        """
        for account in self.accounts:
            if (
                account.kind == kind
                and (org_admin is None or account.is_org_admin == org_admin)
                and account.organisation not in not_from
                and account.email not in self._claimed
            ):
                self._claimed.add(account.email)
                return account
        raise LookupError(f"no unclaimed demo account of kind {kind!r} (org_admin={org_admin}) left")

    def shared(self, kind: str = "practitioner", *, org_admin: bool = False) -> DemoAccount:
        """One account per kind that tests only look at, kept from any test that changes accounts."""
        key = (kind, org_admin)
        if key not in self._shared:
            self._shared[key] = self.claim(kind, org_admin=org_admin)
        return self._shared[key]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _environment(database_url: str) -> dict[str, str]:
    # Start from a clean slate: a developer's own PATCHWORK_* settings (a PostgreSQL URL, production mode) must not
    # leak into the server under test.
    env = {name: value for name, value in os.environ.items() if not name.startswith("PATCHWORK_")}
    env.update(
        PATCHWORK_ENV="local",
        PATCHWORK_DATABASE_URL=database_url,
        PATCHWORK_ARGON2_TIME_COST="1",
        PATCHWORK_ARGON2_MEMORY_KIB="8192",
        PATCHWORK_ARGON2_PARALLELISM="1",
    )
    return env


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"patchwork serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"patchwork serve was not healthy after {STARTUP_SECONDS}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("patchwork")
    env = _environment(f"sqlite:///{directory / 'pw.db'}")
    patchwork = str(Path(sys.executable).with_name("patchwork"))
    demo = subprocess.run(
        [patchwork, "demo", "--password", DEMO_PASSWORD, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert demo.returncode == 0, f"patchwork demo failed:\n{demo.stderr}"
    demo_data = json.loads(demo.stdout)
    accounts = [
        DemoAccount(a["email"], a["kind"], tuple(a["roles"]), a["organisation"], tuple(a.get("leads", ())))
        for a in demo_data["accounts"]
    ]
    demo_networks = [n["id"] for n in demo_data.get("networks", [])]
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = directory / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [patchwork, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_healthy(url, process, log)
        yield Server(
            url=url,
            password=DEMO_PASSWORD,
            accounts=accounts,
            networks=demo_networks,
            _claimed=set(LOOKED_AT.values()),
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    driver = sync_playwright().start()
    try:
        yield driver
    finally:
        driver.stop()


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()


# Pages answer some navigations with 4xx on purpose (a form with errors is 422, a wrong password 401, an
# unknown path 404) and Chromium logs each as "Failed to load resource". Those are expected for the page's own
# document; the same message for a stylesheet or script is a real fault and still fails the test.
_FAILED_LOAD = "Failed to load resource: the server responded with a status of 4"

_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__patchworkCspViolation(
    `${event.effectiveDirective} refused ${event.blockedURI || "inline"} at ${event.sourceFile}:${event.lineNumber}`
  );
});
"""


def _watch(context: BrowserContext, page: Page, problems: list[str]) -> None:
    documents_with_4xx: set[str] = set()

    def on_response(response: Response) -> None:
        request = response.request
        if not request.is_navigation_request() or not 400 <= response.status < 500:
            return
        documents_with_4xx.add(response.url)
        if request.method == "POST" and response.status == 403:
            # No test here submits a form it may not; a refusal is the server rejecting a genuine browser's form.
            origin = request.header_value("origin")
            problems.append(f"POST {response.url} was refused with 403 (the browser sent Origin: {origin!r})")

    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = message.location.get("url") or page.url
        if message.text.startswith(_FAILED_LOAD) and where in documents_with_4xx:
            return
        problems.append(f"console error at {where}: {message.text}")

    page.on("response", on_response)
    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"uncaught exception on {page.url}: {error}"))
    context.expose_function("__patchworkCspViolation", lambda text: problems.append(f"CSP violation: {text}"))
    context.add_init_script(script=_CSP_LISTENER)


def page_opener(
    browser: Browser, base_url: str, problems: list[str], contexts: list[BrowserContext]
) -> Callable[..., Page]:
    """Opens pages on `base_url`, each in a fresh, watched browser context (kept in `contexts` to close)."""

    def open_one(*, phone: bool = False, javascript: bool = True) -> Page:
        options: dict[str, object] = {"base_url": base_url, "locale": "en-GB", "java_script_enabled": javascript}
        if phone:
            options.update(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
        context = browser.new_context(**options)  # type: ignore[arg-type]
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        _watch(context, page, problems)
        return page

    return open_one


@pytest.fixture
def open_page(request: pytest.FixtureRequest, browser: Browser, server: Server) -> Iterator[Callable[..., Page]]:
    """Opens a page in a fresh browser context (no cookies shared with other pages): `open_page(phone=True)`.

    `open_page(javascript=False)` opens one with scripts off, as for a person whose browser does not run them."""
    contexts: list[BrowserContext] = []
    yield page_opener(browser, server.url, request.node.stash.setdefault(PROBLEMS, []), contexts)
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page: Callable[..., Page]) -> Page:
    return open_page()


@pytest.fixture(scope="session")
def cast(server: Server) -> Any:
    """Five practitioners from three organisations (see tests/browser/test_notes.py), made once for the session:
    each set takes three of the demo's organisation admins, and modules that share them must not make their own."""
    from tests.browser.test_notes import make_cast

    return make_cast(server)
