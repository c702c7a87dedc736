"""Alerts and the notes they were raised on.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("network_id", sa.String(36), sa.ForeignKey("network.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("dedupe_key", sa.String(64), nullable=True),
        sa.Column("note_id", sa.String(36), sa.ForeignKey("note.id"), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by_id", sa.String(36), sa.ForeignKey("account.id"), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_id", sa.String(36), sa.ForeignKey("account.id"), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("outcome_text_sealed", sa.String(2000), nullable=True),
        sa.UniqueConstraint("dedupe_key", name="uq_alert_dedupe_key"),
    )
    op.create_index("ix_alert_network_id", "alert", ["network_id"])
    op.create_table(
        "alert_note",
        sa.Column("alert_id", sa.String(36), sa.ForeignKey("alert.id"), primary_key=True),
        sa.Column("note_id", sa.String(36), sa.ForeignKey("note.id"), primary_key=True),
    )
    op.create_index("ix_alert_note_note_id", "alert_note", ["note_id"])


def downgrade() -> None:
    op.drop_index("ix_alert_note_note_id", table_name="alert_note")
    op.drop_table("alert_note")
    op.drop_index("ix_alert_network_id", table_name="alert")
    op.drop_table("alert")
