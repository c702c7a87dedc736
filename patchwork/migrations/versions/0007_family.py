"""Family invitations: a one-time code (stored as its digest) that brings a family member into one network.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "family_invitation",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("network_id", sa.String(36), sa.ForeignKey("network.id"), nullable=False),
        sa.Column("invited_by_id", sa.String(36), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("relationship", sa.String(100), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_account_id", sa.String(36), sa.ForeignKey("account.id"), nullable=True),
    )
    op.create_index("ix_family_invitation_network_id", "family_invitation", ["network_id"])


def downgrade() -> None:
    op.drop_index("ix_family_invitation_network_id", table_name="family_invitation")
    op.drop_table("family_invitation")
