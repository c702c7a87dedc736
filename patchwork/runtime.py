"""Everything a running app holds: settings, database, broker, hashers, ciphers. Built in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from patchwork import policy
from patchwork.auth.passwords import Passwords
from patchwork.auth.sessions import Timeouts
from patchwork.auth.token_cache import TokenCache
from patchwork.bus import Broker, broker_for
from patchwork.crypto import BlindIndex, Cursors, DataCipher, Keyring, derive_key
from patchwork.db import Database
from patchwork.events import Batch
from patchwork.realtime import Hub
from patchwork.services import delivery
from patchwork.services.audit import audit_key, previous_audit_keys
from patchwork.services.email_digest import Mailer
from patchwork.services.escalation import EscalationSchedule
from patchwork.services.notes import carried
from patchwork.services.stream import RecordedReads
from patchwork.services.throttle import Limits
from patchwork.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    db: Database
    broker: Broker
    passwords: Passwords
    keys: Keyring
    hub: Hub
    tokens: TokenCache
    mailer: Mailer | None = None
    escalation: EscalationSchedule | None = None
    stream_reads: RecordedReads = field(default_factory=RecordedReads)

    @property
    def cipher(self) -> DataCipher:
        return self.keys.cipher

    @property
    def timeouts(self) -> Timeouts:
        return Timeouts(
            idle=timedelta(minutes=self.settings.session_idle_minutes),
            absolute=timedelta(hours=self.settings.session_absolute_hours),
        )

    @property
    def sign_in_limits(self) -> Limits:
        return Limits(
            per_account=self.settings.sign_in_account_limit,
            per_address=self.settings.sign_in_address_limit,
            window=timedelta(minutes=self.settings.sign_in_window_minutes),
        )

    @property
    def account_request_limits(self) -> Limits:
        """Account requests per client address and per e-mail address, within the sign-in window."""
        return Limits(
            per_account=self.settings.account_request_limit,
            per_address=self.settings.account_request_limit,
            window=timedelta(minutes=self.settings.sign_in_window_minutes),
        )

    @property
    def production(self) -> bool:
        return self.settings.env == "production"

    @classmethod
    async def start(cls, settings: Settings) -> Runtime:
        broker = broker_for(settings.redis_url, prefix=settings.redis_prefix)
        await broker.connect()
        db = Database(settings.database_url, write_concurrency=settings.write_concurrency)
        keys = keyring_for(settings)

        async def read(network_id: str, after: int, account_ids: frozenset[str]) -> Batch:
            return await db.run(
                lambda session: delivery.read(
                    session=session, cursors=keys.cursors, network_id=network_id, after=after, account_ids=account_ids
                )
            )

        async def load_notes(network_id: str, notes: dict[str, policy.NoteFacts | None]) -> carried.Carried:
            return await db.run(
                lambda session: carried.load(session=session, keys=keys, network_id=network_id, notes=notes)
            )

        tokens = TokenCache()
        hub = Hub(broker, read, keys.cursors.seal, forget=tokens.forget, load_notes=load_notes)
        db.on_commit = hub.ring
        hub.start()
        # E-mail digests only when an SMTP server is configured; every process may run one (they claim per person).
        mailer = Mailer(db, keys, settings) if settings.smtp_host else None
        if mailer is not None:
            mailer.start()
        escalation = EscalationSchedule(
            db,
            keys,
            minutes=settings.urgent_escalation_minutes,
            every_seconds=settings.alert_poll_seconds,
            thresholds=settings.alert_thresholds,
        )
        escalation.start()
        return cls(
            settings=settings,
            db=db,
            broker=broker,
            passwords=passwords_for(settings),
            keys=keys,
            hub=hub,
            tokens=tokens,
            mailer=mailer,
            escalation=escalation,
        )

    async def stop(self) -> None:
        try:
            if self.escalation is not None:
                await self.escalation.stop()
            if self.mailer is not None:
                await self.mailer.stop()
            await self.hub.stop()
            self.passwords.close()
            await self.broker.disconnect()
        finally:
            self.db.dispose()


def passwords_for(settings: Settings) -> Passwords:
    return Passwords(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        threads=settings.password_hashing_threads,
    )


def keyring_for(settings: Settings) -> Keyring:
    return Keyring(
        cipher=DataCipher(settings.data_key, settings.previous_data_keys),
        index=BlindIndex.from_data_key(settings.data_key, settings.previous_data_keys),
        audit=audit_key(settings),
        cursors=Cursors(derive_key(settings.secret_key.encode(), b"patchwork-event-cursors")),
        audit_previous=previous_audit_keys(settings),
    )
