"""Single sign-on (an organisation's OpenID Connect provider, its e-mail domains, the people it signs in and the
sign-ins on their way), one-time password resets, and whether a session's second factor came from the provider.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sso_provider",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("organisation_id", sa.String(36), sa.ForeignKey("organisation.id"), nullable=False),
        sa.Column("discovery_url", sa.String(500), nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("client_secret_sealed", sa.String(2720), nullable=False),
        sa.Column("multi_factor_acr", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("organisation_id"),
    )
    op.create_table(
        "sso_domain",
        sa.Column("domain", sa.String(253), primary_key=True),
        sa.Column("provider_id", sa.String(36), sa.ForeignKey("sso_provider.id"), nullable=False),
    )
    op.create_index("ix_sso_domain_provider_id", "sso_domain", ["provider_id"])
    op.create_table(
        "sso_identity",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("provider_id", sa.String(36), sa.ForeignKey("sso_provider.id"), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("account_id", sa.String(36), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("provider_id", "subject", name="uq_sso_identity_subject"),
    )
    op.create_index("ix_sso_identity_account_id", "sso_identity", ["account_id"])
    op.create_table(
        "sso_attempt",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("state_hash", sa.String(64), nullable=False),
        sa.Column("provider_id", sa.String(36), sa.ForeignKey("sso_provider.id"), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("code_verifier_sealed", sa.String(736), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("state_hash"),
    )
    op.create_index("ix_sso_attempt_created_at", "sso_attempt", ["created_at"])
    op.create_table(
        "password_reset",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(36), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("issued_by_id", sa.String(36), sa.ForeignKey("account.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_password_reset_account_id", "password_reset", ["account_id"])
    with op.batch_alter_table("web_session") as table:
        table.add_column(
            sa.Column("second_factor_by_provider", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("web_session") as table:
        table.drop_column("second_factor_by_provider")
    op.drop_index("ix_password_reset_account_id", table_name="password_reset")
    op.drop_table("password_reset")
    op.drop_index("ix_sso_attempt_created_at", table_name="sso_attempt")
    op.drop_table("sso_attempt")
    op.drop_index("ix_sso_identity_account_id", table_name="sso_identity")
    op.drop_table("sso_identity")
    op.drop_index("ix_sso_domain_provider_id", table_name="sso_domain")
    op.drop_table("sso_domain")
    op.drop_table("sso_provider")
