"""One rule for refusals' status codes (README, "API"; the OpenAPI document's description): every error code a
service or route raises is listed here with the status the rule gives it, so a new code must be placed by the rule."""

from __future__ import annotations

import ast
from pathlib import Path

import patchwork
from patchwork.errors import REFUSAL_RULE

PERMISSION, HIDDEN, STATE, INVALID = 403, 404, 409, 422
RULE: dict[str, int] = {
    "bad_request": 400,
    "malformed_json": 400,
    "unauthenticated": 401,
    "invalid_credentials": 401,
    "totp_required": 401,  # a token asked for without the authenticator's code
    "account_pending": 401,  # the right password, an account not (or no longer) allowed in
    "account_refused": 401,
    "account_deactivated": 401,
    "forbidden": PERMISSION,
    "not_author": PERMISSION,
    "not_permitted": PERMISSION,
    "not_lead": PERMISSION,
    "second_factor_enrolment_required": PERMISSION,
    "second_factor_required": PERMISSION,  # a lead or admin in production, until they set one up
    "not_found": HIDDEN,
    "conflict": STATE,
    "network_closed": STATE,
    "already_member": STATE,
    "already_lead": STATE,
    "already_ended": STATE,
    "already_acknowledged": STATE,
    "already_redacted": STATE,
    "already_open": STATE,
    "already_closed": STATE,
    "note_redacted": STATE,
    "possible_duplicate": STATE,
    "already_resolved": STATE,
    "same_nhs_number": STATE,  # declared a different child, but the NHS number is the same child's
    "invalid": INVALID,
    "invalid_cursor": INVALID,
    "referral_route_not_acknowledged": INVALID,
    "too_large": 413,
    "unsupported_media_type": 415,
    "too_many_requests": 429,
    "sso_refused": 400,  # pages only: a sign-in the organisation's provider could not complete, said why
    "sso_unavailable": 503,  # pages only: the organisation's provider does not answer; nothing of ours failed
}
FAN_OUT = {  # codes written as f-strings, and every value they take
    "already_": ("already_open", "already_closed"),
    "account_": ("account_pending", "account_refused", "account_deactivated"),
}


def _error_classes(trees: list[ast.Module]) -> dict[str, tuple[int, str]]:
    """Every DomainError subclass in the code base, with its status and default code."""
    classes: dict[str, tuple[int, str]] = {"DomainError": (400, "bad_request")}
    changed = True
    while changed:
        changed = False
        for tree in trees:
            for node in ast.walk(tree):
                if not isinstance(node, ast.ClassDef) or node.name in classes:
                    continue
                bases = [b.id for b in node.bases if isinstance(b, ast.Name) and b.id in classes]
                if not bases:
                    continue
                status, code = classes[bases[0]]
                for statement in node.body:
                    if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant):
                        for target in statement.targets:
                            if isinstance(target, ast.Name) and target.id == "status":
                                status = int(statement.value.value)
                            if isinstance(target, ast.Name) and target.id == "code":
                                code = str(statement.value.value)
                classes[node.name] = (status, code)
                changed = True
    return classes


def _raised(trees: list[tuple[str, ast.Module]], classes: dict[str, tuple[int, str]]) -> list[tuple[str, str, int]]:
    """(where, code, status) for every `raise SomeError(..., code=...)` of a domain error."""
    found = []
    for where, tree in trees:
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            call = node.exc
            if not (isinstance(call.func, ast.Name) and call.func.id in classes):
                continue
            status, code = classes[call.func.id]
            codes = [code]
            for keyword in call.keywords:
                if keyword.arg != "code":
                    continue
                if isinstance(keyword.value, ast.Constant):
                    codes = [str(keyword.value.value)]
                elif isinstance(keyword.value, ast.JoinedStr):
                    prefix = keyword.value.values[0]
                    assert isinstance(prefix, ast.Constant), f"{where}:{node.lineno}: a code must start with text"
                    codes = list(FAN_OUT[str(prefix.value)])
                else:
                    raise AssertionError(f"{where}:{node.lineno}: an error code must be written out")
            found += [(f"{where}:{node.lineno}", c, status) for c in codes]
    return found


def test_every_refusal_code_answers_the_status_the_rule_gives_it() -> None:
    root = Path(patchwork.__file__).parent
    trees = [(str(p.relative_to(root)), ast.parse(p.read_text())) for p in sorted(root.rglob("*.py"))]
    classes = _error_classes([tree for _, tree in trees])
    raised = _raised(trees, classes)
    assert len(raised) > 60, "the scan finds the services' refusals"
    unknown = sorted({(where, code) for where, code, _ in raised if code not in RULE})
    assert not unknown, f"place these codes in the rule: {unknown}"
    wrong = [(where, code, status, RULE[code]) for where, code, status in raised if RULE[code] != status]
    assert not wrong, f"(where, code, raised as, the rule says): {wrong}"


def test_the_rule_is_written_where_callers_read_it() -> None:
    readme = (Path(patchwork.__file__).parent.parent / "README.md").read_text()
    assert REFUSAL_RULE in readme.replace("\n", " ")
    for status in (400, 401, 403, 404, 409, 413, 415, 422, 429):
        assert str(status) in REFUSAL_RULE
