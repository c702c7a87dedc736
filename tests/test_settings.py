from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from patchwork.settings import ConfigurationError, Settings, load_settings

GOOD_KEY = base64.urlsafe_b64encode(b"a" * 32).decode()


def test_production_refuses_missing_secrets() -> None:
    with pytest.raises(ConfigurationError, match=r"PATCHWORK_SECRET_KEY.*PATCHWORK_DATA_KEY"):
        Settings(env="production")


@pytest.mark.parametrize("secret", ["change-me", "secret", "short-but-random-0123"])
def test_production_refuses_default_or_short_secret_key(secret: str) -> None:
    with pytest.raises(ConfigurationError, match="PATCHWORK_SECRET_KEY"):
        Settings(env="production", secret_key=secret, data_key=GOOD_KEY)


def test_production_accepts_real_secrets() -> None:
    settings = Settings(env="production", secret_key="s" * 48, data_key=GOOD_KEY)
    assert settings.second_factor_required_for_privileged


@pytest.mark.parametrize("bad", ["not base64!!", base64.urlsafe_b64encode(b"short").decode()])
def test_data_key_must_be_32_bytes_of_urlsafe_base64(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="PATCHWORK_DATA_KEY"):
        Settings(data_key=bad)


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATCHWORK_DATABASE_URL", "sqlite:///elsewhere.db")
    monkeypatch.setenv("PATCHWORK_REDIS_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("PATCHWORK_SESSION_IDLE_MINUTES", "45")
    monkeypatch.setenv("PATCHWORK_SEARCH_RATE_LIMIT", "7")
    settings = Settings()
    assert settings.database_url == "sqlite:///elsewhere.db"
    assert settings.redis_url == "redis://127.0.0.1:6379/3"
    assert settings.session_idle_minutes == 45
    assert settings.search_rate_limit == 7


def test_empty_redis_url_means_in_process_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATCHWORK_REDIS_URL", "")
    assert Settings().redis_url is None


def test_local_mode_generates_secrets_beside_the_database_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PATCHWORK_SECRET_KEY", "PATCHWORK_DATA_KEY", "PATCHWORK_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATCHWORK_DATABASE_URL", f"sqlite:///{tmp_path}/pw.db")
    first = load_settings()
    second = load_settings()
    key_file = tmp_path / "pw.db.keys.json"
    assert key_file.exists()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert first.secret_key == second.secret_key == json.loads(key_file.read_text())["secret_key"]
    assert len(base64.urlsafe_b64decode(first.data_key)) == 32


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PATCHWORK_ALERT_MIN_NOTES", "0"),
        ("PATCHWORK_ALERT_MIN_NOTES", "-3"),
        ("PATCHWORK_ALERT_MIN_ORGANISATIONS", "0"),
        ("PATCHWORK_ALERT_WINDOW_DAYS", "0"),
        ("PATCHWORK_ALERT_MIN_LEVEL", "worried"),
        ("PATCHWORK_URGENT_ESCALATION_MINUTES", "0"),
        ("PATCHWORK_URGENT_ESCALATION_MINUTES", "-1.5"),
        ("PATCHWORK_ALERT_POLL_SECONDS", "0"),
    ],
)
def test_nonsense_alert_thresholds_stop_start_up_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str
) -> None:
    from patchwork.settings import ConfigurationError, load_settings

    monkeypatch.setenv("PATCHWORK_DATABASE_URL", f"sqlite:///{tmp_path}/p.db")
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable):
        load_settings()


def test_alert_thresholds_are_read_with_fractions_of_a_minute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from patchwork.settings import load_settings

    monkeypatch.setenv("PATCHWORK_DATABASE_URL", f"sqlite:///{tmp_path}/p.db")
    monkeypatch.setenv("PATCHWORK_ALERT_MIN_LEVEL", "urgent")
    monkeypatch.setenv("PATCHWORK_URGENT_ESCALATION_MINUTES", "0.05")
    settings = load_settings()
    assert settings.urgent_escalation_minutes == 0.05
    assert settings.alert_thresholds.min_level == "urgent" and settings.alert_thresholds.min_notes == 3
