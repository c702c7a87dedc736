"""After a search, the result takes focus: its heading can be focused and a small module, loaded only then, moves
focus to it (the browser side is static/js/focus-result.mjs)."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from tests.conftest import PASSWORD
from tests.helpers import post_form, sign_in

MAYA = {"family_name": "Thompson", "given_name": "Maya", "dob_day": "27", "dob_month": "3", "dob_year": "2017"}
SCRIPT = '<script type="module" src="/static/js/focus-result.mjs"></script>'
HEADING = re.compile(r'<h2 class="govuk-heading-m" id="search-result-heading" tabindex="-1">([^<]+)</h2>')


def test_the_search_result_takes_focus(client: TestClient, net: dict[str, Any]) -> None:
    assert sign_in(client, "teacher@school.example.org", PASSWORD).status_code == 303
    form = client.get("/search").text
    assert SCRIPT not in form and "search-result-heading" not in form

    found = post_form(client, "/search", MAYA, token_from="/search")
    assert found.status_code == 200
    assert [m.group(1) for m in HEADING.finditer(found.text)] == ["A network was found"]
    assert found.text.count(SCRIPT) == 1 and found.text.index(SCRIPT) < found.text.index("</head>")

    missed = post_form(client, "/search", MAYA | {"given_name": "Mia"}, token_from="/search")
    assert [m.group(1) for m in HEADING.finditer(missed.text)] == ["No network found"]
    assert SCRIPT in missed.text

    wrong = post_form(client, "/search", MAYA | {"dob_month": ""}, token_from="/search")
    assert wrong.status_code == 422 and SCRIPT not in wrong.text, "the error summary takes focus instead"

    module = client.get("/static/js/focus-result.mjs")
    assert module.status_code == 200 and "javascript" in module.headers["content-type"]
    assert "getElementById('search-result-heading')" in module.text and ".focus()" in module.text
    assert "script-src 'self'" in found.headers["content-security-policy"]
