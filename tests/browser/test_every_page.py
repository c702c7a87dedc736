"""Every page of every role, at 320, 375 and 1280 px: nothing scrolls sideways and axe-core finds nothing.

Each role starts from its home page and follows every link it is shown (one page per kind of address: a second
network's page adds nothing), so a new page is walked as soon as something links to it. Together the roles must
reach every page the app serves, but for the few listed in NOT_LINKED with the reason. A screenshot of each page
at 375 px goes to test-results/screenshots/<role>/ for a reviewer to look through (not committed).

The walk only reads: confirmation pages are opened, never confirmed. Forms' answers (errors, the check before
posting) are walked by the tests of each area.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import LOOKED_AT, Server
from tests.browser.helpers import axe_violations, report, sign_in

WIDTHS = (320, 375, 1280)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"
MOST_PAGES_PER_ROLE = 60
ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NOT_PAGES = re.compile(r"^/(static|api)/|\.(csv|pdf)$|^/notifications/unread$|^/sign-out$|^/healthz$|^/readyz$")

SIGNED_OUT_STARTS = ["/sign-in", "/request-account", "/forgot-password", "/reset-password", "/no-such-page"]

# Pages no role is shown a link to, and why each is walked elsewhere.
NOT_LINKED = {
    "/sign-in/code": "only after a password when a second factor is on (test_accessibility, test_signin_totp)",
    "/sso/callback": "the identity provider's redirect back (tests/browser/test_identity.py)",
    "/networks/{id}/join": "linked from a search's results, which a form posts (test_networks.py)",
}

WHO = {
    "signed out": None,
    "practitioner": LOOKED_AT["practitioner"],
    "lead and organisation admin": LOOKED_AT["lead and organisation admin"],
    "system admin": "admin",
    "parent": LOOKED_AT["parent"],
    "young person": LOOKED_AT["young person"],
}

walked: dict[str, set[str]] = {}


def kind_of(path: str) -> str:
    return ID.sub("{id}", path)


def links_on(page: Page) -> list[str]:
    hrefs: list[str] = page.evaluate("Array.from(document.querySelectorAll('a[href]'), (a) => a.href)")
    here = urlsplit(page.url).netloc
    paths = []
    for href in hrefs:
        parts = urlsplit(href)
        if parts.netloc == here and not NOT_PAGES.search(parts.path):
            paths.append(parts.path)
    return paths


def fits(page: Page, where: str) -> list[str]:
    """Problems at every width: the page scrolling sideways, and what axe finds."""
    found: list[str] = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        sizes = page.evaluate(
            "({scroll: document.documentElement.scrollWidth, inner: window.innerWidth,"
            " client: document.documentElement.clientWidth})"
        )
        if sizes["scroll"] > min(sizes["inner"], sizes["client"]):
            wide = page.evaluate(
                """(limit) => Array.from(document.querySelectorAll('main *'))
                  .filter((e) => e.getBoundingClientRect().right > limit + 1)
                  .slice(0, 3).map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                    + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ')[0] : ''))""",
                sizes["client"],
            )
            found.append(f"{where} scrolls sideways at {width}px: {sizes}, widest: {', '.join(wide)}")
        # A box that scrolls sideways inside the page hides what is off its edge as surely: on a phone, every table
        # becomes cards instead (pw-cards).
        clipped = page.evaluate(
            """() => Array.from(document.querySelectorAll('main *'))
              .filter((e) => e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 20
                && ['auto', 'scroll', 'hidden'].includes(getComputedStyle(e).overflowX)
                && !['TEXTAREA', 'INPUT', 'SELECT', 'PRE', 'CODE'].includes(e.tagName))
              .map((e) => (e.getAttribute('aria-label') || e.id || e.className)
                + ` (${e.scrollWidth} in ${e.clientWidth})`)"""
        )
        if clipped and width < 641:
            found.append(f"{where} hides content off the side at {width}px: {'; '.join(clipped)}")
        found += axe_violations(page, where)
    return found


def screenshot(page: Page, role: str, path: str) -> None:
    page.set_viewport_size({"width": 375, "height": 812})
    name = (kind_of(path).strip("/").replace("/", "_").replace("{id}", "id") or "home") + ".png"
    folder = SCREENSHOTS / role.replace(" ", "-")
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=True)


@pytest.mark.parametrize("role", list(WHO))
def test_every_page_fits_and_passes_axe(open_page: Callable[..., Page], server: Server, role: str) -> None:
    page = open_page()
    email = WHO[role]
    if email == "admin":
        email = server.shared("admin").email
    family = role in ("parent", "young person")
    starts = SIGNED_OUT_STARTS if email is None else ["/family" if family else "/"]
    if email is not None:
        sign_in(page, email, server.password, lands_on=starts[0])
        # A token of their own, so the API tokens page lists one and links to revoking it.
        made = page.request.post(
            f"{server.url}/api/v1/tokens", data={"email": email, "password": server.password, "name": "Walk"}
        )
        assert made.status == 201, made.text()
    queue = list(starts)
    seen: set[str] = set()
    found: list[str] = []
    while queue and len(seen) < MOST_PAGES_PER_ROLE:
        path = queue.pop(0)
        if kind_of(path) in seen:
            continue
        seen.add(kind_of(path))
        response = page.goto(path)
        assert response is not None
        if response.status >= 500:
            found.append(f"{path} answered {response.status}")
            continue
        if urlsplit(page.url).path != path and kind_of(urlsplit(page.url).path) in seen:
            continue  # sent somewhere already walked (a page this role may not see sends them home)
        found += fits(page, f"{role}: {kind_of(path)}")
        screenshot(page, role, path)
        if email is not None:
            queue += [p for p in links_on(page) if kind_of(p) not in seen]
    assert len(seen) < MOST_PAGES_PER_ROLE, f"{role} reached {MOST_PAGES_PER_ROLE} kinds of page: raise the cap"
    walked[role] = seen
    report(found)


def test_the_roles_together_walked_every_page(server: Server) -> None:
    """Run after the walks above (same module, in order): every GET page the app routes was reached by a role."""
    from patchwork.app import create_app
    from patchwork.settings import Settings

    assert set(walked) == set(WHO), "run with the walks of every role"
    app = create_app(Settings(database_url="sqlite://"))
    pages = set()
    for route in app.routes:
        path = getattr(route, "path", "")
        methods = getattr(route, "methods", None) or set()
        if "GET" in methods and not NOT_PAGES.search(path):
            pages.add(re.sub(r"\{[a-z_]+\}", "{id}", path))
    reached = set().union(*walked.values())
    missing = sorted(pages - reached - set(NOT_LINKED))
    assert not missing, f"no role was shown a link to: {missing}"
    assert not set(NOT_LINKED) & reached, "NOT_LINKED lists a page that was walked: take it out"
