"""What browser tests do again and again: sign in, answer a TOTP prompt, run axe-core on a page."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyotp
from playwright.sync_api import Page, expect

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

# One known finding is set aside, and only that one: GOV.UK Frontend's conditional reveals put aria-expanded on the
# radio or checkbox that reveals a question. ARIA does not list it for those roles, but screen readers announce it
# and GOV.UK keeps it on purpose after research with their users (alphagov/govuk-frontend#979, a documented known
# issue). Any other attribute on those inputs, or aria-expanded anywhere else, is still reported.
_RUN_AXE = """async (tags) => {
  const results = await axe.run(document, {
    runOnly: {type: "tag", values: tags}, resultTypes: ["violations"], elementRef: true,
  });
  const revealer = ".govuk-radios__input[aria-controls^='conditional-'], "
    + ".govuk-checkboxes__input[aria-controls^='conditional-']";
  const onlyExpanded = /^ARIA attribute is not allowed: aria-expanded="(true|false)"$/;
  const govukReveal = (v, n) => v.id === "aria-allowed-attr" && n.element.matches(revealer)
    && [...n.any, ...n.all, ...n.none].every((check) => onlyExpanded.test(check.message));
  return results.violations
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes
        .filter((n) => !govukReveal(v, n))
        .map((n) => ({target: n.target.join(" "), summary: n.failureSummary})),
    }))
    .filter((v) => v.nodes.length > 0);
}"""


def at_path(path: str) -> re.Pattern[str]:
    """Matches a page URL by its path, whatever the host and query string."""
    return re.compile(rf"^https?://[^/]+{re.escape(path)}(?:\?.*)?$")


def sign_in(page: Page, email: str, password: str, *, lands_on: str = "/") -> None:
    page.goto("/sign-in")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(at_path(lands_on))


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page).to_have_url(at_path("/sign-in"))


def name_on_account_page(page: Page) -> str:
    page.goto("/account")
    row = page.locator(".govuk-summary-list__row").filter(has=page.locator("dt", has_text=re.compile(r"^\s*Name\s*$")))
    return row.locator("dd").first.inner_text().strip()


@dataclass
class Authenticator:
    """A phone's authenticator app: knows the secret and never shows a code for a time step already used."""

    secret: str
    last_step: int

    def code(self) -> str:
        # The server refuses a step at or before the last one used but allows one step of drift, so the step after
        # the last one is always accepted straight away: no need to sleep until the clock moves on.
        totp = pyotp.TOTP(self.secret)
        self.last_step = max(self.last_step + 1, int(time.time()) // totp.interval)
        code: str = totp.generate_otp(self.last_step)
        return code

    def wrong_code(self) -> str:
        totp = pyotp.TOTP(self.secret)
        now = int(time.time()) // totp.interval
        valid = {totp.generate_otp(step) for step in range(now - 2, now + 4)}
        return next(str(digit) * 6 for digit in range(10) if str(digit) * 6 not in valid)


def turn_on_two_factor(page: Page) -> Authenticator:
    """From the account page to the recovery codes: set up TOTP as a person would."""
    page.goto("/account")
    page.get_by_role("link", name="Set up two-step verification").click()
    expect(page).to_have_url(at_path("/account/two-factor"))
    return confirm_two_factor(page)


def confirm_two_factor(page: Page) -> Authenticator:
    """On the set-up page: type the key shown for entering by hand into an 'app' and send its code."""
    secret = re.sub(r"\s", "", page.locator("#manual-key").inner_text())
    totp = pyotp.TOTP(secret)
    step = int(time.time()) // totp.interval
    page.locator("#code").fill(totp.generate_otp(step))
    page.get_by_role("button", name="Turn on two-step verification").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Save your recovery codes")
    return Authenticator(secret=secret, last_step=step)


@cache
def _axe_source() -> str:
    assert AXE.exists(), f"{AXE} is missing: run `npm ci`"
    return AXE.read_text(encoding="utf-8")


def axe_violations(page: Page, label: str = "") -> list[str]:
    """axe-core's WCAG 2.2 AA and best-practice violations on the page as it is now, readable in a failure."""
    # Injected with evaluate, not a <script> tag: the page's CSP (rightly) refuses inline scripts.
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    found = page.evaluate(_RUN_AXE, AXE_TAGS)
    size = page.viewport_size
    where = f"{label or page.url} at {size['width'] if size else '?'}px wide"
    return [
        f"{where}: {v['id']} ({v['impact']}): {v['help']}\n"
        + "\n".join(" " * 6 + f"{n['target']}: {n['summary']}".replace("\n", " ") for n in v["nodes"])
        for v in found
    ]


def assert_accessible(page: Page, label: str = "") -> None:
    report(axe_violations(page, label))


def report(violations: list[str]) -> None:
    assert not violations, "axe found violations:\n" + "\n".join(f"  - {v}" for v in violations)


def assert_no_horizontal_scroll(page: Page) -> None:
    # Not window.innerWidth: on a mobile viewport Chromium widens the layout viewport to fit content that overflows,
    # so innerWidth grows with the very overflow this looks for. The root's clientWidth stays the device's width.
    widths = page.evaluate(
        "({scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth})"
    )
    assert widths["scroll"] <= widths["client"], f"{page.url} scrolls sideways: {widths}"
