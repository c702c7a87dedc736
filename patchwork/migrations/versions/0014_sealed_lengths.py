"""Sealed columns long enough for the longest text the services accept in any script (4 UTF-8 bytes a
character): a note's body, basis and redaction reason, revisions and replies, history openings' reasons,
network links and alert outcomes. PostgreSQL enforces these lengths; SQLite does not, and recreating those
tables there (SQLite cannot change a column's type in place) would trip the foreign keys that point at notes,
so on SQLite the declared lengths stay as they were.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# (table, column, old length, new length, nullable): the new lengths are patchwork.crypto.sealed_length of the
# limits in patchwork.limits, as the models compute them.
CHANGES = (
    ("note", "body_sealed", 12000, 21388, False),
    ("note", "basis_sealed", 4000, 13920, True),
    ("note", "redaction_sealed", 2000, 2720, True),
    ("note_revision", "body_sealed", 12000, 21388, False),
    ("note_reply", "body_sealed", 12000, 21388, False),
    ("history_opening", "reason_sealed", 2000, 2720, False),
    ("network_link", "detail_sealed", 2000, 1120, False),
    ("network_link", "reason_sealed", 2000, 2720, False),
    ("alert", "outcome_text_sealed", 2000, 5388, True),
)


def _alter(backwards: bool) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, old, new, nullable in CHANGES:
        before, after = (new, old) if backwards else (old, new)
        op.alter_column(
            table, column, type_=sa.String(after), existing_type=sa.String(before), existing_nullable=nullable
        )


def upgrade() -> None:
    _alter(backwards=False)


def downgrade() -> None:
    _alter(backwards=True)
