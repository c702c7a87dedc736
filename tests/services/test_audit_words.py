"""Every audit action the code base records has a plain-words name, found by reading the source: a new action
without a name in services/audit_words.py fails here. And an event's details read as "label: value"."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from patchwork.services import audit
from patchwork.services.audit_words import NAMES, Known, action_name, detail_pairs, target_pair

PACKAGE = Path(__file__).resolve().parents[2] / "patchwork"
RECORDERS = {"record"}  # audit.record and changes.record, the two ways into the trail


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _strings(node: ast.expr) -> list[str] | None:
    """The action strings an expression can be, or None when it is not made of literals."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _strings(node.body), _strings(node.orelse)
        return None if body is None or orelse is None else body + orelse
    return None


def _trees() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if not relative.startswith("migrations/"):
            yield relative, ast.parse(path.read_text(), filename=relative)


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    arguments = function.args
    return [a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)]


def _action_argument(call: ast.Call, position: int | None, name: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    if position is not None and position < len(call.args):
        return call.args[position]
    return None


def recorded_actions() -> tuple[dict[str, str], list[str]]:
    """Every action string that reaches the trail (action -> where), and the calls whose action could not be read.

    A call to a recorder (or to a function that passes one of its parameters on as a recorder's action, found
    until nothing new turns up) gives its action as a literal, a choice between literals, or a parameter of the
    function it sits in (which makes that function a recorder too), or a constant of its module."""
    trees = list(_trees())
    # function name -> (position of the action parameter among positional ones, or None; its name)
    carriers: dict[str, tuple[int | None, str]] = {name: (None, "action") for name in RECORDERS}
    while True:
        grown = False
        for _, tree in trees:
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef) or function.name in carriers:
                    continue
                parameters = _parameters(function)
                for call in ast.walk(function):
                    if not isinstance(call, ast.Call) or _callee(call) not in carriers:
                        continue
                    position, name = carriers[_callee(call)]  # type: ignore[index]
                    value = _action_argument(call, position, name)
                    if isinstance(value, ast.Name) and value.id in parameters:
                        positional = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
                        index = positional.index(value.id) if value.id in positional else None
                        carriers[function.name] = (index, value.id)
                        grown = True
                        break
        if not grown:
            break
    # A module's constants (ACTION = "..."), which a call may name instead of writing the literal.
    constants = {
        relative: {
            target.id: node.value
            for node in tree.body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for relative, tree in trees
    }
    found: dict[str, str] = {}
    unread: list[str] = []
    for relative, tree in trees:
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            passing = carriers.get(function.name)
            for call in ast.walk(function):
                if not isinstance(call, ast.Call) or _callee(call) not in carriers:
                    continue
                position, name = carriers[_callee(call)]  # type: ignore[index]
                value = _action_argument(call, position, name)
                if value is None:
                    continue
                if isinstance(value, ast.Name) and passing is not None and value.id == passing[1]:
                    continue  # passed on: its callers give the literal
                if isinstance(value, ast.Name) and value.id in constants[relative]:
                    value = constants[relative][value.id]
                strings = _strings(value)
                if strings is None:
                    unread.append(f"{relative}:{call.lineno}: {ast.unparse(call)[:120]}")
                    continue
                for action in strings:
                    found.setdefault(action, f"{relative}:{call.lineno}")
    return found, unread


def test_the_scan_finds_actions_written_every_way_the_code_writes_them() -> None:
    found, _ = recorded_actions()
    for action in (
        "access_log.read",  # audit.record(action="...")
        "note.revised",  # _changed(..., "note.revised", ...), passed on to changes.record
        "alert.raised",  # tell(..., "alert.raised", ...), passed on as `event`
        "sso.linked",  # _audit(..., "sso.linked", ...)
        "network.closed",  # "network.reopened" if open_ else "network.closed"
        "audit.read",  # inside the audit package itself
        "child.searched_by_admin",  # action=ACTION, a module constant
    ):
        assert action in found, f"the scan missed {action}"
    assert len(found) >= 35


def test_every_action_recorded_has_a_name() -> None:
    found, unread = recorded_actions()
    assert not unread, "an audit action the scan cannot read; write it as a literal:\n" + "\n".join(unread)
    missing = sorted(f"{action} ({where})" for action, where in found.items() if action not in NAMES)
    assert not missing, "name these actions in patchwork/services/audit_words.py:\n" + "\n".join(missing)


def test_every_name_is_of_a_well_formed_action() -> None:
    # Names of actions the code no longer records stay: the append-only trail still holds their events.
    assert all(audit.ACTION_PATTERN.match(action) for action in NAMES)


def test_an_action_from_an_older_version_still_reads_as_words() -> None:
    assert action_name("note.created") == "Posted a note"
    assert action_name("account.long_gone") == "Account: long gone"


def test_details_read_as_labelled_values_with_names_for_ids() -> None:
    known = Known(accounts={"a-1": "Tom Fletcher"}, organisations={"o-1": "Oakfield Primary"})
    note = json.dumps({"audience": "lead", "level": "concern"})
    assert detail_pairs(note, known) == [("Who can see it", "Lead professionals only"), ("Level", "Concern")]
    reading = audit.details_json({"filters": {"actor_id": "a-1", "action": "note.created", "limit": 50}, "returned": 3})
    assert detail_pairs(reading, known) == [
        ("Filters: what", "Posted a note"),
        ("Filters: who", "Tom Fletcher"),
        ("Filters: page size", "50"),
        ("Results shown", "3"),
    ]
    merged = audit.details_json({"notes_moved": 2, "reason": "Same child", "matched": True})
    assert detail_pairs(merged, known) == [("Matched", "Yes"), ("Notes moved", "2"), ("Reason", "Same child")]
    assert detail_pairs("{}", known) == []
    assert detail_pairs('{"networks": ["0123456789abcdef"]}', known) == [("Networks found", "reference 01234567")]


@pytest.mark.parametrize(
    ("action", "target_type", "target_id", "pair"),
    [
        ("lead.appointed", "account", "a-1", ("New lead", "Tom Fletcher")),
        ("sso.configured", "organisation", "o-1", ("Organisation", "Oakfield Primary")),
        ("note.created", "note", "9f8e7d6c-0000", ("Note", "reference 9f8e7d6c")),
        ("network.merged", "network", "1a2b3c4d-0000", ("Duplicate merged in", "reference 1a2b3c4d")),
        ("involvement.ended", "involvement", "i-1", ("Involvement of", "Joe Bennett")),
        ("network.viewed", None, None, None),
    ],
)
def test_what_an_event_was_about(
    action: str, target_type: str | None, target_id: str | None, pair: tuple[str, str] | None
) -> None:
    known = Known(
        accounts={"a-1": "Tom Fletcher"}, organisations={"o-1": "Oakfield Primary"}, holders={"i-1": "Joe Bennett"}
    )
    assert target_pair(action, target_type, target_id, known) == pair
