"""The watch on every page works: a CSP refusal or a console error would fail the test that caused it."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import PROBLEMS


def test_csp_violations_and_console_errors_are_caught(request: pytest.FixtureRequest, page: Page) -> None:
    page.goto("/sign-in")
    page.evaluate(
        """() => {
        const image = new Image();
        image.src = "https://example.invalid/tracker.png";
        document.body.append(image);
        console.error("deliberate console error");
    }"""
    )
    problems = request.node.stash[PROBLEMS]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(p.startswith("CSP violation: img-src") for p in problems):
        page.wait_for_timeout(50)
    assert any(p.startswith("CSP violation: img-src refused https://example.invalid/tracker.png") for p in problems), (
        problems
    )
    assert any(p.endswith("deliberate console error") for p in problems), problems
    problems.clear()  # caught as intended; the test itself passes
