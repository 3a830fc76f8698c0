"""fee_line: no index on setl_id, pages with room, so settling a line is a HOT update

Settlement sets each line's ``status`` and ``setl_id``. With ``setl_id`` indexed, PostgreSQL wrote a new entry in
all three of the table's indexes for every line settled; without it, and with 15 % of each page kept free, the
new row version stays on its page and no index is touched (measured in docs/performance.md: PostgreSQL CPU per
settlement −7 to −18 %, every settle-time update HOT). Lines are found through their visit, whose unique key
(mdtrt_id, feedetl_sn) serves the reads by settlement too. The fillfactor applies to pages written from now on.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 01:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fee_line") as batch:
        batch.drop_index("ix_fee_line_setl")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE fee_line SET (fillfactor = 85)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE fee_line RESET (fillfactor)")
    with op.batch_alter_table("fee_line") as batch:
        batch.create_index("ix_fee_line_setl", ["setl_id"], unique=False)
