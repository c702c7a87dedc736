"""Notifications: how far each person has read and been e-mailed about each network's events, and their e-mail choice.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_mark",
        sa.Column("account_id", sa.String(36), sa.ForeignKey("account.id"), primary_key=True),
        sa.Column("network_id", sa.String(36), sa.ForeignKey("network.id"), primary_key=True),
        sa.Column("seen_seq", sa.Integer(), nullable=False),
        sa.Column("mailed_seq", sa.Integer(), nullable=False),
    )
    op.create_table(
        "notification_preference",
        sa.Column("account_id", sa.String(36), sa.ForeignKey("account.id"), primary_key=True),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.Column("last_emailed_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("notification_preference")
    op.drop_table("notification_mark")
