"""The house rules, read from the source: imports run one way (web → services → policy, models, events, bus), and
only `patchwork/policy/` and its SQL twin `patchwork/services/visibility.py` decide who sees what, so nothing else
compares an account's kind or a note's audience."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from patchwork.models.accounts import AccountKind
from patchwork.models.notes import AudienceKind

PACKAGE = Path(__file__).resolve().parents[1] / "patchwork"
TEMPLATES = PACKAGE.parent / "templates"
DECIDERS = ("policy/", "services/visibility.py")
GUARDED_ENUMS = {"AccountKind", "AudienceKind"}
GUARDED_WORDS = {str(k) for k in AccountKind} | {str(a) for a in AudienceKind}

# Who may import whom: a module in the layer on the left imports nothing from the layers on the right.
FORBIDDEN_IMPORTS = {
    "policy": ("patchwork.models", "patchwork.services", "patchwork.web", "patchwork.db", "patchwork.bus"),
    "models": ("patchwork.services", "patchwork.web"),
    "events": ("patchwork.services", "patchwork.web"),
    "bus": ("patchwork.services", "patchwork.web", "patchwork.models"),
    "services": ("patchwork.web",),
}


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if not relative.startswith("migrations/"):
            yield relative, ast.parse(path.read_text(), filename=relative)


def _guarded(node: ast.expr) -> bool:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.value.id in GUARDED_ENUMS
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and node.value in GUARDED_WORDS
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_guarded(element) for element in node.elts)
    return False


def _decisions_outside_policy(relative: str, tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(_guarded(side) for side in (node.left, *node.comparators)):
            yield f"{relative}:{node.lineno}: {ast.unparse(node)}"
        pattern = node.pattern if isinstance(node, ast.match_case) else None
        if isinstance(pattern, ast.MatchValue) and _guarded(pattern.value):
            yield f"{relative}:{pattern.lineno}: case {ast.unparse(pattern.value)}"


def test_only_the_policy_compares_account_kinds_and_audiences() -> None:
    found = [
        finding
        for relative, tree in _modules()
        if not relative.startswith(DECIDERS)
        for finding in _decisions_outside_policy(relative, tree)
    ]
    assert not found, "decided outside patchwork/policy/:\n" + "\n".join(found)


def test_the_check_sees_a_comparison_of_kind_and_of_audience() -> None:
    samples = 'a.kind == "family"\nif b in (AudienceKind.people, AudienceKind.lead): pass\nc.kind != AccountKind.admin'
    assert len(list(_decisions_outside_policy("sample.py", ast.parse(samples)))) == 3
    assert not list(_decisions_outside_policy("sample.py", ast.parse('note.kind == NoteKind.family_voice\nx == "y"')))


ACCOUNT_KIND_IN_TEMPLATE = re.compile(
    r"kind\s*(?:==|!=)\s*[\"'](?:practitioner|family|admin)[\"']"
    r"|kind\s+(?:not\s+)?in\s*[(\[][^)\]]*[\"'](?:practitioner|family|admin)[\"']"
)


def test_templates_ask_the_viewer_not_its_kind() -> None:
    """A template shows what the policy allows through the viewer's answers (viewer.sees_as_family,
    place.practitioner_view, ...), never by reading the account's kind itself."""
    found = [
        f"{path.relative_to(TEMPLATES)}:{number}: {line.strip()}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if ACCOUNT_KIND_IN_TEMPLATE.search(line)
    ]
    assert not found, "\n".join(found)


def test_the_template_check_sees_a_kind_comparison() -> None:
    assert ACCOUNT_KIND_IN_TEMPLATE.search('{% if viewer.account.kind == "admin" %}')
    assert ACCOUNT_KIND_IN_TEMPLATE.search("{% if viewer.account.kind in ('practitioner', 'family') %}")
    assert not ACCOUNT_KIND_IN_TEMPLATE.search('{% if note.kind == "family_voice" %}')


def _imported(tree: ast.Module, relative: str) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN_IMPORTS))
def test_imports_run_one_way(layer: str) -> None:
    found = [
        f"{relative} imports {name}"
        for relative, tree in _modules()
        if relative.split("/")[0].removesuffix(".py") == layer
        for name in _imported(tree, relative)
        if name.startswith(FORBIDDEN_IMPORTS[layer])
    ]
    assert not found, "\n".join(found)
