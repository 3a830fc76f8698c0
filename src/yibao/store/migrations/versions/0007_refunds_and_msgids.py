"""fee_line.init_feedetl_sn: the line a refund (退费, a negative count) takes back; settlement.medins_setl_id
as long as the msgid it keeps

National 2301 退单 names the original line of a refund; keeping it lets a refund be checked against that line
(never more than it charged) and shows, years later, what a negative line cancelled. The facade accepts msgids
of up to 40 characters (message_log.msgid); the settlement's copy of it was 30, so a 2207 with a longer msgid
failed on PostgreSQL.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fee_line") as batch:
        batch.add_column(sa.Column("init_feedetl_sn", sa.String(30), nullable=True))
    with op.batch_alter_table("settlement") as batch:
        batch.alter_column("medins_setl_id", type_=sa.String(40), existing_type=sa.String(30))


def downgrade() -> None:
    with op.batch_alter_table("settlement") as batch:
        batch.alter_column("medins_setl_id", type_=sa.String(30), existing_type=sa.String(40))
    with op.batch_alter_table("fee_line") as batch:
        batch.drop_column("init_feedetl_sn")
