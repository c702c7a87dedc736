"""The console script, run as a real process, as an operator would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_AUDIT_KEY, TEST_DATA_KEY, TEST_SECRET


def patchwork(
    *args: str, database_url: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = (
        {k: v for k, v in os.environ.items() if not k.startswith("PATCHWORK_") or k.startswith("PATCHWORK_TEST_")}
        | {
            "PATCHWORK_DATABASE_URL": database_url,
            "PATCHWORK_SECRET_KEY": TEST_SECRET,
            "PATCHWORK_DATA_KEY": TEST_DATA_KEY,
            "PATCHWORK_AUDIT_KEY": TEST_AUDIT_KEY,
            "PATCHWORK_ARGON2_TIME_COST": "1",
            "PATCHWORK_ARGON2_MEMORY_KIB": "8",
            "PATCHWORK_ARGON2_PARALLELISM": "1",
        }
        | (extra_env or {})
    )
    return subprocess.run(
        [sys.executable, "-c", "from patchwork.cli import main; raise SystemExit(main())", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_demo_is_idempotent_and_prints_accounts(database_url: str) -> None:
    first = patchwork("demo", "--password", "demo-password-2026", "--json", database_url=database_url)
    assert first.returncode == 0, first.stderr
    second = patchwork("demo", "--password", "demo-password-2026", "--json", database_url=database_url)
    assert second.returncode == 0, second.stderr
    data = json.loads(first.stdout)
    assert json.loads(second.stdout) == data
    kinds = [a["kind"] for a in data["accounts"]]
    assert kinds.count("admin") == 1 and kinds.count("practitioner") >= 12
    assert sum("org_admin" in a["roles"] for a in data["accounts"]) >= 6
    assert len({a["organisation"] for a in data["accounts"] if a["organisation"]}) >= 6
    assert len(data["networks"]) >= 3
    caseload = next(a for a in data["accounts"] if a["email"].startswith("ravi.patel@"))
    assert len(caseload["leads"]) == 40, "one lead coordinates 40 networks"
    assert any(a["leads"] == ["Maya Thompson"] for a in data["accounts"]), "the account list says who leads which"
    from patchwork.db import Database
    from patchwork.models import Account, Organisation

    db = Database(database_url)
    with db.transaction() as session:
        from sqlmodel import func, select

        assert session.exec(select(func.count()).select_from(Account)).one() == len(data["accounts"])
        types = session.exec(select(Organisation.type)).all()
        assert len(set(types)) >= 6
        from patchwork.models import Involvement

        for network in data["networks"]:
            members = session.exec(
                select(Involvement).where(Involvement.network_id == network["id"], Involvement.status == "active")
            ).all()
            assert len({m.organisation_id for m in members}) >= 3
            assert any(m.is_lead for m in members)
        from patchwork.models import Alert

        kinds = {(kind, state) for kind, state in session.exec(select(Alert.kind, Alert.state)).all()}
        for kind in ("accumulation", "urgent", "escalation", "no_lead"):
            assert (kind, "open") in kinds, f"the demo has an open {kind} alert"
        assert ("accumulation", "resolved") in kinds, "and a resolved one in the history"
    db.dispose()


def test_the_demo_account_list_says_who_leads_which_network(database_url: str) -> None:
    shown = patchwork("demo", "--password", "demo-password-2026", database_url=database_url)
    assert shown.returncode == 0, shown.stderr
    lines = [" ".join(line.split()) for line in shown.stdout.splitlines()]
    led = lines[lines.index("Who leads which network:") + 1 :]
    assert led == [
        "Maya Thompson Amira Khan, Oakfield Primary School",
        "Leo Kowalski (known as Lenny) Priya Nair, Riverside Children's Centre",
        "Aisha Begum Claire Dawson, Eastshire Children's Social Care",
        "40 more networks (a caseload) Ravi Patel, Eastshire Children's Social Care",
    ]
    nadia = lines.index(next(line for line in lines if line.startswith("nadia.begum@")))
    aisha = lines.index(next(line for line in lines if line.startswith("aisha.begum@")))
    assert lines[nadia + 1] == "family member in Aisha Begum's network, as Mother"
    assert lines[aisha + 1] == "family member in Aisha Begum's network, as the young person"

    data = json.loads(patchwork("demo", "--json", database_url=database_url).stdout)
    assert [(n["child"], n["leads"]) for n in data["networks"]] == [
        ("Maya Thompson", ["Amira Khan, Oakfield Primary School"]),
        ("Leo Kowalski (known as Lenny)", ["Priya Nair, Riverside Children's Centre"]),
        ("Aisha Begum", ["Claire Dawson, Eastshire Children's Social Care"]),
    ]
    assert data["caseloads"] == [{"lead": "Ravi Patel, Eastshire Children's Social Care", "networks": 40}]
    by_email = {a["email"]: a for a in data["accounts"]}
    assert by_email["nadia.begum@family.example.org"]["family_of"] == ["Aisha Begum's network, as Mother"]


def test_demo_without_password_prints_new_passwords_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/demo.db"
    first = patchwork("demo", database_url=url)
    assert first.returncode == 0, first.stderr
    assert "(unchanged" not in first.stdout
    second = patchwork("demo", database_url=url)
    assert "(unchanged; run with --password to reset)" in second.stdout


def test_createadmin_from_environment(database_url: str) -> None:
    ok = patchwork(
        "createadmin",
        "--email",
        "Root@Example.org",
        database_url=database_url,
        extra_env={"PATCHWORK_ADMIN_PASSWORD": "admin passphrase for tests"},
    )
    assert ok.returncode == 0, ok.stderr
    assert "root@example.org" in ok.stdout
    again = patchwork(
        "createadmin",
        "--email",
        "root@example.org",
        database_url=database_url,
        extra_env={"PATCHWORK_ADMIN_PASSWORD": "admin passphrase for tests"},
    )
    assert again.returncode == 2 and "already exists" in again.stderr
    weak = patchwork(
        "createadmin",
        "--email",
        "x@example.org",
        database_url=database_url,
        extra_env={"PATCHWORK_ADMIN_PASSWORD": "password"},
    )
    assert weak.returncode == 2 and "12 characters" in weak.stderr


def test_createadmin_without_password_or_terminal_explains(tmp_path: Path) -> None:
    result = patchwork("createadmin", "--email", "x@example.org", database_url=f"sqlite:///{tmp_path}/a.db")
    assert result.returncode == 2 and "PATCHWORK_ADMIN_PASSWORD" in result.stderr


def test_db_upgrade(tmp_path: Path) -> None:
    result = patchwork("db", "upgrade", database_url=f"sqlite:///{tmp_path}/fresh.db")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "fresh.db").exists()


@pytest.mark.parametrize("missing", ["PATCHWORK_SECRET_KEY", "PATCHWORK_DATA_KEY"])
def test_production_refuses_to_start_without_secrets(tmp_path: Path, missing: str) -> None:
    result = patchwork(
        "serve", database_url=f"sqlite:///{tmp_path}/p.db", extra_env={"PATCHWORK_ENV": "production", missing: ""}
    )
    assert result.returncode == 2
    assert "Production mode refuses to start" in result.stderr and missing in result.stderr
