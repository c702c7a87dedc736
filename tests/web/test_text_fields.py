"""Every free-text field of the API: one text rule (the field named when refused), and the limit the OpenAPI
document states is exactly the one the service enforces: its length is accepted, one more is refused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from patchwork.models.accounts import AccountKind
from tests.conftest import PASSWORD, World
from tests.helpers import api_token, bearer
from tests.web.test_networks import START
from tests.web.test_notes_api import NOTE

CONSENT = {"kind": "consent", "consent_from": "Mother", "consented_on": "2026-10-01"}
OTHER = {"given_name": "Sam", "family_name": "Jones", "date_of_birth": "2016-05-05"}


@dataclass(frozen=True)
class Case:
    schema: str  # the request body's component in the OpenAPI document
    prop: str
    field: str  # the name the refusal gives the field
    who: str  # nurse (lead), teacher, officer or admin
    path: Callable[[dict[str, Any]], str]
    body: Callable[[str, dict[str, Any]], dict[str, Any]]


def _note(net: dict[str, Any]) -> str:
    return f"/api/v1/networks/{net['id']}/notes"


def _a_note(client: TestClient, net: dict[str, Any]) -> str:
    return str(client.post(_note(net), json=NOTE, headers=bearer(net["t"]["teacher"])).json()["id"])


CASES = {
    "note body": Case("NoteCreate", "body", "body", "teacher", _note, lambda v, n: NOTE | {"body": v}),
    "consent from": Case(
        "BasisIn",
        "consent_from",
        "consent_from",
        "teacher",
        _note,
        lambda v, n: NOTE | {"basis": CONSENT | {"consent_from": v}},
    ),
    "justification": Case(
        "BasisIn",
        "justification",
        "justification",
        "teacher",
        _note,
        lambda v, n: NOTE | {"basis": NOTE["basis"] | {"justification": v}},  # type: ignore[operator]
    ),
    "revision": Case(
        "BodyIn", "body", "body", "teacher", lambda n: f"/api/v1/notes/{n['note']}/revisions", lambda v, n: {"body": v}
    ),
    "reply": Case(
        "BodyIn", "body", "body", "officer", lambda n: f"/api/v1/notes/{n['note']}/replies", lambda v, n: {"body": v}
    ),
    "redaction reason": Case(
        "ReasonIn",
        "reason",
        "reason",
        "teacher",
        lambda n: f"/api/v1/notes/{n['note']}/redaction",
        lambda v, n: {"reason": v},
    ),
    "history opening": Case(
        "HistoryOpeningIn",
        "reason",
        "reason",
        "nurse",
        lambda n: f"/api/v1/networks/{n['id']}/history-openings",
        lambda v, n: {"user_id": n["members"]["Joe Bennett"]["user_id"], "reason": v},
    ),
    "role label": Case(
        "NetworkCreate",
        "role_label",
        "role_label",
        "officer",
        lambda n: "/api/v1/networks",
        lambda v, n: START | {"child": OTHER, "role_label": v},
    ),
    "involvement reason": Case(
        "NetworkCreate",
        "reason",
        "reason",
        "officer",
        lambda n: "/api/v1/networks",
        lambda v, n: START | {"child": OTHER, "reason": v},
    ),
    "contact": Case(
        "NetworkCreate",
        "contact",
        "contact",
        "officer",
        lambda n: "/api/v1/networks",
        lambda v, n: START | {"child": OTHER, "contact": v},
    ),
    "invitation name": Case(
        "FamilyInvitationIn",
        "name",
        "name",
        "nurse",
        lambda n: f"/api/v1/networks/{n['id']}/family-invitations",
        lambda v, n: {"name": v, "relationship": "Mother", "email": "m@example.net"},
    ),
    "relationship": Case(
        "FamilyInvitationIn",
        "relationship",
        "relationship",
        "nurse",
        lambda n: f"/api/v1/networks/{n['id']}/family-invitations",
        lambda v, n: {"name": "Sarah", "relationship": v, "email": "m@example.net"},
    ),
    "organisation name": Case(
        "OrganisationCreate",
        "name",
        "name",
        "admin",
        lambda n: "/api/v1/organisations",
        lambda v, n: {"name": v, "type": "school"},
    ),
}


@pytest.fixture
def tokens(client: TestClient, world: World, net: dict[str, Any]) -> dict[str, Any]:
    world.account("root@example.org", kind=AccountKind.admin)
    return net | {
        "t": net["t"] | {"admin": api_token(client, "root@example.org", PASSWORD)},
        "note": _a_note(client, net),
    }


def _post(client: TestClient, case: Case, net: dict[str, Any], value: str):  # type: ignore[no-untyped-def]
    return client.post(case.path(net), json=case.body(value, net), headers=bearer(net["t"][case.who]))


def _refused_field(response: Any, field: str) -> str | None:
    if response.status_code != 422:
        return None
    fields: dict[str, str] = response.json()["error"].get("fields", {})
    return next((message for key, message in fields.items() if key.split(".")[-1] == field), None)


@pytest.mark.parametrize("name", sorted(CASES))
def test_format_characters_are_refused_with_the_field_named(
    client: TestClient, tokens: dict[str, Any], name: str
) -> None:
    case = CASES[name]
    for sneaky in ("Ok \u202e reversed", "NUL\x00", "zero\u200bwidth"):
        message = _refused_field(_post(client, case, tokens, sneaky), case.field)
        assert message is not None and "must not contain" in message, (name, repr(sneaky))


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_documented_limit_is_the_enforced_one(client: TestClient, tokens: dict[str, Any], name: str) -> None:
    case = CASES[name]
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"][case.schema]["properties"][case.prop]
    limit = schema["maxLength"]
    if case.prop in client.get("/api/v1/openapi.json").json()["components"]["schemas"][case.schema].get("required", []):
        assert schema.get("minLength") == 1, f"{name}: a required text field says it cannot be empty"
    widest = "\U0001f600"  # four UTF-8 bytes: the most a sealed column must hold for one character
    too_long = _post(client, case, tokens, widest * (limit + 1))
    assert _refused_field(too_long, case.field), f"{name}: {limit + 1} characters are refused ({too_long.text[:200]})"
    at_limit = _post(client, case, tokens, widest * limit)
    assert _refused_field(at_limit, case.field) is None, (
        f"{name}: {limit} characters are accepted ({at_limit.text[:300]})"
    )
    assert at_limit.status_code < 300 or at_limit.status_code == 409, at_limit.text[:300]
