"""Notes: family memberships, notes with audience and family sharing, revisions, replies, acknowledgements,
history openings.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 10:51:03.393627
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "family_membership",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("network_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("relationship", sa.String(100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["network.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("family_membership", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_family_membership_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_family_membership_network_id"), ["network_id"], unique=False)

    op.create_table(
        "history_opening",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("network_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("opened_by_id", sa.String(36), nullable=False),
        sa.Column("reason_sealed", sa.String(2000), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["network.id"],
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_id"],
            ["account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("history_opening", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_history_opening_network_id"), ["network_id"], unique=False)

    op.create_table(
        "note",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("network_id", sa.String(36), nullable=False),
        sa.Column("author_id", sa.String(36), nullable=False),
        sa.Column("author_organisation_id", sa.String(36), nullable=True),
        sa.Column("author_sensitive", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("observed_on", sa.Date(), nullable=False),
        sa.Column("audience", sa.String(16), nullable=False),
        sa.Column("basis", sa.String(16), nullable=True),
        sa.Column("basis_sealed", sa.String(4000), nullable=True),
        sa.Column("body_sealed", sa.String(12000), nullable=False),
        sa.Column("revision_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("redacted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("redacted_by_id", sa.String(36), nullable=True),
        sa.Column("redaction_sealed", sa.String(2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["author_organisation_id"],
            ["organisation.id"],
        ),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["network.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_note_author_id"), ["author_id"], unique=False)
        batch_op.create_index("ix_note_network_created", ["network_id", "created_at"], unique=False)
        batch_op.create_index("ix_note_network_observed", ["network_id", "observed_on"], unique=False)

    op.create_table(
        "acknowledgement",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("note_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["note_id"],
            ["note.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("note_id", "account_id", name="uq_acknowledgement_note_account"),
    )
    with op.batch_alter_table("acknowledgement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_acknowledgement_note_id"), ["note_id"], unique=False)

    op.create_table(
        "note_audience_organisation",
        sa.Column("note_id", sa.String(36), nullable=False),
        sa.Column("organisation_id", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint(
            ["note_id"],
            ["note.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("note_id", "organisation_id"),
    )
    op.create_table(
        "note_audience_person",
        sa.Column("note_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["note_id"],
            ["note.id"],
        ),
        sa.PrimaryKeyConstraint("note_id", "account_id"),
    )
    with op.batch_alter_table("note_audience_person", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_note_audience_person_account_id"), ["account_id"], unique=False)

    op.create_table(
        "note_family_share",
        sa.Column("note_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["note_id"],
            ["note.id"],
        ),
        sa.PrimaryKeyConstraint("note_id", "account_id"),
    )
    with op.batch_alter_table("note_family_share", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_note_family_share_account_id"), ["account_id"], unique=False)

    op.create_table(
        "note_reply",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("note_id", sa.String(36), nullable=False),
        sa.Column("author_id", sa.String(36), nullable=False),
        sa.Column("author_organisation_id", sa.String(36), nullable=True),
        sa.Column("body_sealed", sa.String(12000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["author_organisation_id"],
            ["organisation.id"],
        ),
        sa.ForeignKeyConstraint(
            ["note_id"],
            ["note.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("note_reply", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_note_reply_note_id"), ["note_id"], unique=False)

    op.create_table(
        "note_revision",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("note_id", sa.String(36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("body_sealed", sa.String(12000), nullable=False),
        sa.Column("author_id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["note_id"],
            ["note.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("note_id", "number", name="uq_note_revision_number"),
    )
    with op.batch_alter_table("note_revision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_note_revision_note_id"), ["note_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("note_revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_note_revision_note_id"))

    op.drop_table("note_revision")
    with op.batch_alter_table("note_reply", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_note_reply_note_id"))

    op.drop_table("note_reply")
    with op.batch_alter_table("note_family_share", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_note_family_share_account_id"))

    op.drop_table("note_family_share")
    with op.batch_alter_table("note_audience_person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_note_audience_person_account_id"))

    op.drop_table("note_audience_person")
    op.drop_table("note_audience_organisation")
    with op.batch_alter_table("acknowledgement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_acknowledgement_note_id"))

    op.drop_table("acknowledgement")
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.drop_index("ix_note_network_observed")
        batch_op.drop_index("ix_note_network_created")
        batch_op.drop_index(batch_op.f("ix_note_author_id"))

    op.drop_table("note")
    with op.batch_alter_table("history_opening", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_history_opening_network_id"))

    op.drop_table("history_opening")
    with op.batch_alter_table("family_membership", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_family_membership_network_id"))
        batch_op.drop_index(batch_op.f("ix_family_membership_account_id"))

    op.drop_table("family_membership")
