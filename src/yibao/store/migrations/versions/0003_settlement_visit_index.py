"""settlement: index by visit (2202, 2404, 2208, 2601 and mid-way settlements look settlements up by mdtrt_id)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 21:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_settlement_visit", "settlement", ["mdtrt_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_settlement_visit", table_name="settlement")
