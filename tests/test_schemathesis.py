"""Schemathesis against a served app on the embedded default (SQLite, demo data), signed in as a demo
practitioner: no server errors; responses, status codes, content types, headers and Allow as documented; and
nothing the document forbids is accepted (negative_data_rejection).

Every check runs. `positive_data_acceptance` (what the document allows is accepted) counts 422 as accepting, as
well as its usual 2xx, 401, 403, 404, 409 and 429: some rules cannot be written in OpenAPI at all (a date observed
not in the future nor before the child's birth, an NHS number's check digit, a child's name of letters,
consent_from needed only with consent, a near-duplicate child), so a request the document allows may rightly be
refused with 422 and the field named. A document-valid request answered 400 (malformed), 405, 413 or 415 still
fails it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.servers import new_secrets, patchwork_env, run_patchwork, serving

PASSWORD = "correct horse battery staple"
CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]
"""
EXAMPLES = "40"


def test_schemathesis_finds_no_server_error_and_no_disagreement(tmp_path: Path) -> None:
    binary = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if binary is None:
        pytest.fail("schemathesis is a dev dependency: pip install -e '.[dev]'")
    secret_key, data_key = new_secrets()
    env = patchwork_env(
        database_url=f"sqlite:///{tmp_path / 'fuzzed.sqlite'}", secret_key=secret_key, data_key=data_key
    )
    run_patchwork(env, tmp_path, "db", "upgrade")
    accounts = json.loads(run_patchwork(env, tmp_path, "demo", "--password", PASSWORD, "--json"))["accounts"]
    practitioner = next(a["email"] for a in accounts if a["kind"] == "practitioner")
    with serving(env, tmp_path, "fuzzed") as (server,):
        answer = httpx.post(
            f"{server.base}/api/v1/tokens", json={"email": practitioner, "password": PASSWORD}, trust_env=False
        )
        assert answer.status_code == 201, answer.text
        config = tmp_path / "schemathesis.toml"
        config.write_text(CONFIG)
        run = subprocess.run(
            [
                binary,
                "--config-file",
                str(config),
                "run",
                f"{server.base}/api/v1/openapi.json",
                "--checks",
                "all",
                "--header",
                f"Authorization: Bearer {answer.json()['token']}",
                "--exclude-path",
                "/api/v1/tokens/current",  # it would end the run's own token
                "--max-examples",
                EXAMPLES,
                "--seed",
                "20261203",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
            check=False,
        )
        output = run.stdout + run.stderr
        assert run.returncode == 0, output[-6000:] + "\n" + server.tail()
        assert "passed" in output.split("SUMMARY")[-1], output[-2000:]
