"""One typed configuration, read from PATCHWORK_* environment variables."""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from patchwork.policy import AlertThresholds

DEFAULT_DATABASE_URL = "sqlite:///patchwork.db"
PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev", "development", "insecure"})


class ConfigurationError(RuntimeError):
    """Raised when the settings cannot run safely; the message says what to change."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PATCHWORK_", extra="ignore")

    env: Literal["local", "production"] = "local"
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    redis_prefix: str = "patchwork"
    secret_key: str = ""
    data_key: str = ""
    data_keys_previous: str = ""
    # The audit chain's own key; when unset, the chain is keyed from secret_key, as before it existed (services.audit).
    audit_key: str = ""
    audit_keys_previous: str = ""

    session_idle_minutes: int = Field(default=30, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    api_token_hours: int = Field(default=12, ge=1)

    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)
    password_hashing_threads: int = Field(default=2, ge=1)

    sign_in_account_limit: int = Field(default=5, ge=1)
    sign_in_address_limit: int = Field(default=30, ge=1)
    sign_in_window_minutes: int = Field(default=15, ge=1)
    account_request_limit: int = Field(default=5, ge=1)

    search_rate_limit: int = Field(default=30, ge=1)
    family_invitation_hours: int = Field(default=72, ge=1)
    referral_route: str = (
        "If a child is in immediate danger, call 999. Otherwise make a referral to the local children's "
        "services front door by phone on 0300 000 0000 (out of hours 0300 000 0001) the same day, and "
        "follow your organisation's safeguarding procedure."
    )

    base_url: str = "http://localhost:8000"
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    email_from: str = "patchwork@localhost"
    email_digest_minutes: float = Field(default=60, gt=0)
    email_poll_seconds: float = Field(default=60, gt=0)

    alert_min_notes: int = Field(default=3, ge=1)
    alert_min_organisations: int = Field(default=2, ge=1)
    alert_window_days: int = Field(default=30, ge=1)
    alert_min_level: Literal["observation", "concern", "urgent"] = "concern"
    urgent_escalation_minutes: float = Field(default=240, gt=0)
    alert_poll_seconds: float = Field(default=30, gt=0)
    stream_resume_wait_seconds: float = Field(default=1.0, gt=0, le=30)
    # How many notes (posts, replies, revisions, acknowledgements) one worker process writes at once; more wait
    # their turn in the process. Writers of a network take its rows in turn anyway: a few at a time keep the
    # database's lock queue and the interpreter's lock short (see `patchwork bench throughput`).
    write_concurrency: int = Field(default=2, ge=1, le=64)

    log_level: str = "INFO"
    log_json: bool = True
    demo_banner: bool = False

    @property
    def alert_thresholds(self) -> AlertThresholds:
        return AlertThresholds(
            min_notes=self.alert_min_notes,
            min_organisations=self.alert_min_organisations,
            window_days=self.alert_window_days,
            min_level=self.alert_min_level,
        )

    @field_validator("redis_url", "smtp_host", "smtp_username", "smtp_password", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("base_url")
    @classmethod
    def _base_url_is_http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("PATCHWORK_BASE_URL must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _secrets_fit_the_mode(self) -> Settings:
        if self.env == "production":
            problems = []
            if self.secret_key.strip().lower() in PLACEHOLDER_SECRETS or len(self.secret_key) < 32:
                problems.append("PATCHWORK_SECRET_KEY must be set to a random value of at least 32 characters")
            if not self.data_key:
                problems.append("PATCHWORK_DATA_KEY must be set (32 random bytes, URL-safe base64)")
            if self.audit_key and (self.audit_key.strip().lower() in PLACEHOLDER_SECRETS or len(self.audit_key) < 32):
                problems.append("PATCHWORK_AUDIT_KEY, when set, must be a random value of at least 32 characters")
            if problems:
                raise ConfigurationError("Production mode refuses to start: " + "; ".join(problems) + ".")
        if self.data_key:
            decode_data_key(self.data_key)
        for previous in self.previous_data_keys:
            decode_data_key(previous)
        return self

    @property
    def previous_data_keys(self) -> tuple[str, ...]:
        """Keys notes may still be sealed with while `patchwork keys rotate` moves them to the current one."""
        return tuple(key.strip() for key in self.data_keys_previous.split(",") if key.strip())

    @property
    def previous_audit_keys(self) -> tuple[str, ...]:
        """Keys older audit events were sealed with, kept so `patchwork audit verify` can check them. A former
        PATCHWORK_SECRET_KEY goes here too, for events sealed while PATCHWORK_AUDIT_KEY was unset."""
        return tuple(key.strip() for key in self.audit_keys_previous.split(",") if key.strip())

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def second_factor_required_for_privileged(self) -> bool:
        return self.env == "production"

    def with_local_secrets(self) -> Settings:
        """Fill missing secrets in local mode from a key file kept beside the database. A key file written before
        the audit key existed has none: its trail stays keyed from the secret key."""
        if self.secret_key and self.data_key:
            return self
        if self.env != "local":
            raise ConfigurationError("Secrets are generated only in local mode.")
        stored = _load_or_create_local_secrets(local_secrets_path(self.database_url))
        return self.model_copy(
            update={
                "secret_key": self.secret_key or stored["secret_key"],
                "data_key": self.data_key or stored["data_key"],
                "audit_key": self.audit_key or stored.get("audit_key", ""),
            }
        )


def decode_data_key(value: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(value.encode())
    except (binascii.Error, ValueError) as error:
        raise ConfigurationError("PATCHWORK_DATA_KEY is not URL-safe base64.") from error
    if len(raw) != 32:
        raise ConfigurationError("PATCHWORK_DATA_KEY must decode to exactly 32 bytes.")
    return raw


def new_data_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def sqlite_path(database_url: str) -> Path | None:
    prefix = "sqlite:///"
    if not database_url.startswith(prefix):
        return None
    path = database_url[len(prefix) :].split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


def local_secrets_path(database_url: str) -> Path:
    database_file = sqlite_path(database_url)
    if database_file is not None:
        return database_file.with_name(database_file.name + ".keys.json")
    return Path("patchwork-local.keys.json")


def _load_or_create_local_secrets(path: Path) -> dict[str, str]:
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    stored = {"secret_key": secrets.token_urlsafe(48), "data_key": new_data_key(), "audit_key": new_data_key()}
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(stored, handle)
    return stored


def load_settings() -> Settings:
    """Settings from the environment, with local secrets filled in where allowed; a value that makes no sense stops
    start-up with a message naming its variable."""
    try:
        settings = Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"PATCHWORK_{'_'.join(str(part) for part in problem['loc']).upper()}: {problem['msg']}"
            for problem in error.errors(include_url=False)
        )
        raise ConfigurationError(f"invalid settings: {problems}") from None
    return settings if settings.env == "production" else settings.with_local_secrets()
