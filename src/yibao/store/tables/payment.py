"""Case-based payment (支付方式) on the fund → hospital side: history, budgets, month and clearing runs, their
priced cases and hospital lines, and special-review requests (特例单议). payment-drg-dip.md §3.7, §3.8, §5.

Money is integer fen; points are integer 1e-4 points (``points4``); a point value or rate is the decimal
string actually used (§3.7 step 5: the rounded PV is stored and used)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from yibao.store.base import Base, BigId, Fen, money


class PaymentHistory(Base):
    """Past years' inpatient cases, grouped and trimmed, aggregated per year × pool × hospital × group
    (历史数据): what weights, group means and the budget point value are computed from."""

    __tablename__ = "payment_history"
    __table_args__ = (UniqueConstraint("year", "pool", "fixmedins_code", "kind", "group_code"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    pool: Mapped[str] = mapped_column(String(6))  # 统筹基金池: 310 职工, 390 居民
    fixmedins_code: Mapped[str] = mapped_column(String(12))
    level: Mapped[int] = mapped_column(Integer)  # dedc_hosp_lv 1/2/3
    kind: Mapped[str] = mapped_column(String(8))  # drg | dip
    group_code: Mapped[str] = mapped_column(String(60))
    cases: Mapped[int] = mapped_column(Integer)
    cost_fen: Mapped[int] = mapped_column(Fen)  # 医疗费总额 of the kept (untrimmed-away) cases
    los_days: Mapped[int] = mapped_column(BigInteger, default=0)
    deaths: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(20))  # import | synthetic | settled
    loaded_at: Mapped[datetime] = mapped_column(DateTime)


class PaymentBudget(Base):
    """A year's global budget of one pool and scheme (总额预算, §5) and its budget point value or rate.

    ``version`` rises with every rebuild; ``is_current`` marks the one month runs use. ``figures`` keeps every
    input and intermediate figure as strings (the budget's trace)."""

    __tablename__ = "payment_budget"
    __table_args__ = (UniqueConstraint("year", "pool", "scheme", "version"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    pool: Mapped[str] = mapped_column(String(6))
    scheme: Mapped[str] = mapped_column(String(8))  # drg | dip
    version: Mapped[int] = mapped_column(Integer)
    is_current: Mapped[bool] = mapped_column(default=True)
    fund_budget_fen: Mapped[int] = money()  # the scheme's fund budget
    total_cost_budget_fen: Mapped[int] = money()  # ÷ fund share
    pv_budget: Mapped[str] = mapped_column(String(24))  # yuan per point (DIP) or per RW (DRG rate)
    policy_version: Mapped[str] = mapped_column(String(20))
    figures: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(40))


class PaymentNorm(Base):
    """A group's norms for a budget year: weight or score, and prior-year mean cost by hospital level
    (``level`` 0: every level) — the ``A_g`` of §3.5 and the outlier base of §4.5."""

    __tablename__ = "payment_norm"
    __table_args__ = (UniqueConstraint("budget_id", "group_code", "level"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("payment_budget.id"))
    group_code: Mapped[str] = mapped_column(String(60))
    level: Mapped[int] = mapped_column(Integer)
    weight4: Mapped[int] = mapped_column(BigInteger)  # RW × 10⁴ (DRG) or score × 10⁴ (DIP)
    mean_fen: Mapped[int] = money()
    cases: Mapped[int] = mapped_column(Integer)


class PaymentRun(Base):
    """One month's pre-settlement (月度预结算) or one year's clearing (年度清算) of every pool.

    A run is written with its cases, lines and ledger entries in one transaction, so a crash leaves no trace
    and the run is simply run again. A re-run is a new ``version``; the one it replaces is ``superseded`` and
    its ledger entries are reversed in the same transaction."""

    __tablename__ = "payment_run"
    __table_args__ = (UniqueConstraint("kind", "year", "month", "version"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))  # month | clear
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)  # 0 for a clearing
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))  # posted | superseded
    policy_version: Mapped[str] = mapped_column(String(20))
    params_hash: Mapped[str] = mapped_column(String(64))  # policy + budgets + rule packs
    snapshot_hash: Mapped[str] = mapped_column(String(64))  # the cases priced
    summary: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(40))


class PaymentCase(Base):
    """A case (or a capitation month) as a run priced it: group, deviation class, points, money."""

    __tablename__ = "payment_case"
    __table_args__ = (
        Index("ix_payment_case_run", "run_id", "fixmedins_code"),
        Index("ix_payment_case_setl", "setl_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("payment_run.id"))
    setl_id: Mapped[str] = mapped_column(String(30))
    fixmedins_code: Mapped[str] = mapped_column(String(12))
    pool: Mapped[str] = mapped_column(String(6))
    method: Mapped[str] = mapped_column(String(12))  # dip | drg | perdiem | ffs
    group_code: Mapped[str | None] = mapped_column(String(60))
    dscg_date: Mapped[date] = mapped_column(Date)
    los: Mapped[int] = mapped_column(Integer)
    cost_class: Mapped[str] = mapped_column(String(8))  # normal | high | low
    extreme: Mapped[bool] = mapped_column(default=False)
    r4: Mapped[int] = mapped_column(BigInteger)  # cost ÷ base × 10⁴ (-1: no base)
    base_fen: Mapped[int] = money()  # the group mean or standard r is taken against
    weight4: Mapped[int] = mapped_column(BigInteger)  # score or RW × 10⁴
    coef4: Mapped[int] = mapped_column(BigInteger)  # hospital × auxiliary coefficient × 10⁴
    points4: Mapped[int] = mapped_column(BigInteger)
    extra_fen: Mapped[int] = money()  # money outside the points (FFS part, DRG excess, per-diem, review)
    amount_fen: Mapped[int] = money()  # points × PV + extra, for the statement (the line rounds once)
    cost_fen: Mapped[int] = money()  # 医疗费总额 (FFS-valued charges)
    personal_fen: Mapped[int] = money()  # psn_part_amt the settlement recorded
    fund_ffs_fen: Mapped[int] = money()  # fund_pay_sumamt the settlement recorded


class PaymentLine(Base):
    """A hospital's line of a run, per pool and method (the statement's total row, and its ledger entry)."""

    __tablename__ = "payment_line"
    __table_args__ = (
        UniqueConstraint("run_id", "fixmedins_code", "pool", "method"),
        Index("ix_payment_line_entry", "entry_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("payment_run.id"))
    fixmedins_code: Mapped[str] = mapped_column(String(12))
    pool: Mapped[str] = mapped_column(String(6))
    method: Mapped[str] = mapped_column(String(12))
    cases: Mapped[int] = mapped_column(Integer)
    points4: Mapped[int] = mapped_column(BigInteger)
    pv: Mapped[str] = mapped_column(String(24))  # the point value or rate used
    entitlement_fen: Mapped[int] = money()
    personal_fen: Mapped[int] = money()
    cost_fen: Mapped[int] = money()
    fund_ffs_fen: Mapped[int] = money()
    owed_fen: Mapped[int] = money()  # entitlement − personal (+ adjustments at clearing)
    paid_fen: Mapped[int] = money()  # paid now: the month's payout, or the clearing balance
    deposit_fen: Mapped[int] = money()  # withheld this month (质量保证金)
    pre_settled_fen: Mapped[int] = money()  # clearing: the year's monthly payments
    deposit_withheld_fen: Mapped[int] = money()  # clearing: the year's deposits
    adjustments_fen: Mapped[int] = money()  # clearing: 考核, payment-ratio cap, risk sharing
    detail: Mapped[dict] = mapped_column(JSON)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))


class SpecialReview(Base):
    """A special-review request (特例单议, §3.6): filed by a hospital for one case, decided by reviewers from
    another institution; an approval adds points or an FFS amount to the year's clearing."""

    __tablename__ = "special_review"
    __table_args__ = (Index("ix_special_review_year", "year", "fixmedins_code"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    setl_id: Mapped[str] = mapped_column(String(30))
    fixmedins_code: Mapped[str] = mapped_column(String(12))
    scheme: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(
        String(40)
    )  # candidate kind: long_stay | icu | new_tech | extreme | rescue
    statement: Mapped[str] = mapped_column(Text)  # the hospital's account of the case
    evidence: Mapped[list] = mapped_column(JSON)  # attachments: names and digests
    status: Mapped[str] = mapped_column(String(12))  # filed | approved | rejected | withdrawn
    filed_by: Mapped[str] = mapped_column(String(40))
    filed_at: Mapped[datetime] = mapped_column(DateTime)
    decided_by: Mapped[str | None] = mapped_column(String(40))
    reviewer_institution: Mapped[str | None] = mapped_column(String(12))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    extra_points4: Mapped[int] = mapped_column(BigInteger, default=0)
    ffs_fen: Mapped[int | None] = money(nullable=True, default=None)  # approved FFS payment instead of points
