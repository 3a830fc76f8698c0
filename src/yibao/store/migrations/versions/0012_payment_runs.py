"""Case-based payment: history, budgets and norms, month and clearing runs with their cases and lines,
special-review requests (payment-drg-dip.md §3.6–§3.8, §5)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 04:04:10.256358
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_settlement_list_discharge", "settlement_list", ["dscg_time"], unique=False)
    op.create_table(
        "payment_budget",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("pool", sa.String(length=6), nullable=False),
        sa.Column("scheme", sa.String(length=8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("fund_budget_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("total_cost_budget_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("pv_budget", sa.String(length=24), nullable=False),
        sa.Column("policy_version", sa.String(length=20), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_budget")),
        sa.UniqueConstraint(
            "year", "pool", "scheme", "version", name=op.f("uq_payment_budget_year_pool_scheme_version")
        ),
    )
    op.create_table(
        "payment_history",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("pool", sa.String(length=6), nullable=False),
        sa.Column("fixmedins_code", sa.String(length=12), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("group_code", sa.String(length=60), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("cost_fen", sa.BigInteger(), nullable=False),
        sa.Column("los_days", sa.BigInteger(), nullable=False),
        sa.Column("deaths", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_history")),
        sa.UniqueConstraint(
            "year",
            "pool",
            "fixmedins_code",
            "kind",
            "group_code",
            name=op.f("uq_payment_history_year_pool_fixmedins_code_kind_group_code"),
        ),
    )
    op.create_table(
        "payment_run",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("policy_version", sa.String(length=20), nullable=False),
        sa.Column("params_hash", sa.String(length=64), nullable=False),
        sa.Column("snapshot_hash", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_run")),
        sa.UniqueConstraint(
            "kind", "year", "month", "version", name=op.f("uq_payment_run_kind_year_month_version")
        ),
    )
    op.create_table(
        "special_review",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("setl_id", sa.String(length=30), nullable=False),
        sa.Column("fixmedins_code", sa.String(length=12), nullable=False),
        sa.Column("scheme", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("filed_by", sa.String(length=40), nullable=False),
        sa.Column("filed_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=40), nullable=True),
        sa.Column("reviewer_institution", sa.String(length=12), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("extra_points4", sa.BigInteger(), nullable=False),
        sa.Column("ffs_fen", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_special_review")),
    )
    with op.batch_alter_table("special_review", schema=None) as batch_op:
        batch_op.create_index("ix_special_review_year", ["year", "fixmedins_code"], unique=False)

    op.create_table(
        "payment_case",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("setl_id", sa.String(length=30), nullable=False),
        sa.Column("fixmedins_code", sa.String(length=12), nullable=False),
        sa.Column("pool", sa.String(length=6), nullable=False),
        sa.Column("method", sa.String(length=12), nullable=False),
        sa.Column("group_code", sa.String(length=60), nullable=True),
        sa.Column("dscg_date", sa.Date(), nullable=False),
        sa.Column("los", sa.Integer(), nullable=False),
        sa.Column("cost_class", sa.String(length=8), nullable=False),
        sa.Column("extreme", sa.Boolean(), nullable=False),
        sa.Column("r4", sa.BigInteger(), nullable=False),
        sa.Column("base_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("weight4", sa.BigInteger(), nullable=False),
        sa.Column("coef4", sa.BigInteger(), nullable=False),
        sa.Column("points4", sa.BigInteger(), nullable=False),
        sa.Column("extra_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cost_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("personal_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("fund_ffs_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["payment_run.id"], name=op.f("fk_payment_case_run_id_payment_run")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_case")),
    )
    with op.batch_alter_table("payment_case", schema=None) as batch_op:
        batch_op.create_index("ix_payment_case_run", ["run_id", "fixmedins_code"], unique=False)
        batch_op.create_index("ix_payment_case_setl", ["setl_id"], unique=False)

    op.create_table(
        "payment_line",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fixmedins_code", sa.String(length=12), nullable=False),
        sa.Column("pool", sa.String(length=6), nullable=False),
        sa.Column("method", sa.String(length=12), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("points4", sa.BigInteger(), nullable=False),
        sa.Column("pv", sa.String(length=24), nullable=False),
        sa.Column("entitlement_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("personal_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cost_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("fund_ffs_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("owed_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("deposit_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("pre_settled_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("deposit_withheld_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("adjustments_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["ledger_entry.id"], name=op.f("fk_payment_line_entry_id_ledger_entry")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["payment_run.id"], name=op.f("fk_payment_line_run_id_payment_run")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_line")),
        sa.UniqueConstraint(
            "run_id",
            "fixmedins_code",
            "pool",
            "method",
            name=op.f("uq_payment_line_run_id_fixmedins_code_pool_method"),
        ),
    )
    op.create_table(
        "payment_norm",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("budget_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("group_code", sa.String(length=60), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("weight4", sa.BigInteger(), nullable=False),
        sa.Column("mean_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["budget_id"], ["payment_budget.id"], name=op.f("fk_payment_norm_budget_id_payment_budget")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_norm")),
        sa.UniqueConstraint(
            "budget_id", "group_code", "level", name=op.f("uq_payment_norm_budget_id_group_code_level")
        ),
    )


def downgrade() -> None:
    op.drop_index("ix_settlement_list_discharge", table_name="settlement_list")
    op.drop_table("payment_norm")
    op.drop_table("payment_line")
    with op.batch_alter_table("payment_case", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_case_setl")
        batch_op.drop_index("ix_payment_case_run")

    op.drop_table("payment_case")
    with op.batch_alter_table("special_review", schema=None) as batch_op:
        batch_op.drop_index("ix_special_review_year")

    op.drop_table("special_review")
    op.drop_table("payment_run")
    op.drop_table("payment_history")
    op.drop_table("payment_budget")
