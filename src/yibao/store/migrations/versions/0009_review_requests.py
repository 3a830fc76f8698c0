"""review_request: requests awaiting a second person (双人复核), first a bureau-initiated 结算撤销

A handler files a reversal of a settlement found wrong after the fact, with a reason; another member of staff
(审核) approves it — the reversal is made in the same transaction — or rejects it, or the requester withdraws
it. A unique index over the waiting rows keeps one waiting request per settlement and kind.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 01:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

WAITING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_table(
        "review_request",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("setl_id", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("requested_by", sa.String(length=40), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=40), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("comment", sa.String(length=200), nullable=True),
        sa.Column("result_setl_id", sa.String(length=30), nullable=True),
        sa.ForeignKeyConstraint(
            ["setl_id"], ["settlement.setl_id"], name=op.f("fk_review_request_setl_id_settlement")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_request")),
    )
    with op.batch_alter_table("review_request") as batch:
        batch.create_index("ix_review_request_queue", ["status", "requested_at"], unique=False)
        batch.create_index("ix_review_request_settlement", ["setl_id"], unique=False)
        batch.create_index(
            "ix_review_request_waiting",
            ["setl_id", "kind"],
            unique=True,
            sqlite_where=WAITING,
            postgresql_where=WAITING,
        )


def downgrade() -> None:
    with op.batch_alter_table("review_request") as batch:
        batch.drop_index("ix_review_request_waiting")
        batch.drop_index("ix_review_request_settlement")
        batch.drop_index("ix_review_request_queue")
    op.drop_table("review_request")
