"""Read models of 付费结算 · 指标: the performance indicators of a year's priced cases by hospital or by month —
the clearing's cases when the year is cleared, else the current month runs' — computed exactly with
:mod:`yibao.payment.indicators`; in a workbook indices with four places and rates as percentages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from yibao.console.queries_payment_runs import CLEAR, MONTH, institution_names
from yibao.money import fen_to_decimal
from yibao.payment import indicators as ind
from yibao.payment.period import DIP, DRG
from yibao.payment.pricing import CLASS_NAMES, NORMAL
from yibao.payment.settlement_list import VALID
from yibao.payment.weights import rounded
from yibao.store.payment_runs import POSTED, current_run
from yibao.store.tables import PaymentCase, PaymentLine, PaymentRun, SettlementList

CLASS_CODES = {name: code for code, name in CLASS_NAMES.items()}

HOSPITAL, BY_MONTH = "hospital", "month"
REGION = "全市"
INDICATOR_COLUMNS = [
    ("unit", "机构"),
    ("cases", "病例数"),
    ("grouped", "按病组/病种付费病例"),
    ("drg_cases", "DRG 病例"),
    ("cmi", "CMI"),
    ("cost_index", "费用消耗指数"),
    ("time_index", "时间消耗指数"),
    ("low_risk_cases", "低风险组病例"),
    ("low_risk_mortality", "低风险组死亡率"),
    ("entitlement", "核定金额"),
    ("ffs", "按项目费用"),
    ("payment_ratio", "支付率"),
    ("high_share", "高倍率病例占比"),
    ("low_share", "低倍率病例占比"),
]
INDEXES = ("cmi", "cost_index", "time_index")  # four places
RATES = ("low_risk_mortality", "payment_ratio", "high_share", "low_share")  # percentages
INDICATOR_MONEY = ("entitlement", "ffs")
INDICATOR_COUNTS = ("cases", "grouped", "drg_cases", "low_risk_cases")


@dataclass(frozen=True)
class IndicatorFilter:
    """指标: the year, by hospital or by month."""

    year: int
    by: str = HOSPITAL

    def describe(self) -> list[str]:
        return [f"{self.year} 年", "按月份" if self.by == BY_MONTH else "按医院"]


def indicator_columns(by: str) -> list[tuple[str, str]]:
    return [("unit", "月份" if by == BY_MONTH else "机构"), *INDICATOR_COLUMNS[1:]]


@dataclass
class YearCases:
    """The year's priced cases as arrays (one element a case), where they come from, and the lines the
    payment ratio is read from."""

    source: str
    fixmedins_code: np.ndarray
    month: np.ndarray  # 1–12, by discharge date
    method: np.ndarray
    group: np.ndarray  # method:group_code
    weight4: np.ndarray
    cost_fen: np.ndarray
    los: np.ndarray
    died: np.ndarray
    cost_class: np.ndarray  # pricing.NORMAL / HIGH / LOW
    hospital_lines: dict[str, tuple[int, int]]  # code → (entitlement, FFS charges) of its DRG/DIP lines
    month_lines: dict[int, tuple[int, int]]


def year_cases(s: Session, year: int) -> YearCases:
    """The year's priced cases: the clearing's when the year is cleared, else the current month runs'; a
    case died when its valid settlement list says 离院方式 5 (死亡)."""
    clearing = current_run(s, CLEAR, year, 0)
    if clearing is not None:
        runs = [clearing.id]
        source = f"{year} 年度清算（第 {clearing.version} 版）的病例"
    else:
        runs = list(
            s.scalars(
                select(PaymentRun.id).where(
                    PaymentRun.kind == MONTH, PaymentRun.year == year, PaymentRun.status == POSTED
                )
            )
        )
        source = f"{year} 年各月月度预结算（当前版本）的病例"
    rows = s.execute(
        select(
            PaymentCase.fixmedins_code,
            PaymentCase.dscg_date,
            PaymentCase.method,
            PaymentCase.group_code,
            PaymentCase.weight4,
            PaymentCase.cost_fen,
            PaymentCase.los,
            SettlementList.dscg_way,
            PaymentCase.cost_class,
        )
        .outerjoin(
            SettlementList,
            and_(SettlementList.setl_id == PaymentCase.setl_id, SettlementList.vali_flag == VALID),
        )
        .where(PaymentCase.run_id.in_(runs))
        .order_by(PaymentCase.id)
    ).all()
    cols = list(zip(*rows, strict=True)) if rows else [()] * 9
    return YearCases(
        source=source,
        fixmedins_code=np.array(cols[0], dtype=object),
        month=np.array([d.month for d in cols[1]], dtype=np.int64),
        method=np.array(cols[2], dtype=object),
        group=np.array([f"{m}:{g or ''}" for m, g in zip(cols[2], cols[3], strict=True)], dtype=object),
        weight4=np.array(cols[4], dtype=np.int64),
        cost_fen=np.array(cols[5], dtype=np.int64),
        los=np.array(cols[6], dtype=np.int64),
        died=np.array([w == "5" for w in cols[7]], dtype=bool),
        cost_class=np.array([CLASS_CODES.get(c, NORMAL) for c in cols[8]], dtype=np.int64),
        hospital_lines=_ratio_lines(s, year, clearing),
        month_lines=_month_ratio_lines(s, year),
    )


def _ratio_lines(s: Session, year: int, clearing: PaymentRun | None) -> dict[str, tuple[int, int]]:
    """Per hospital: Σ entitlement and Σ FFS charges of its DRG/DIP lines — the clearing's, else the months'."""
    q = (
        select(
            PaymentLine.fixmedins_code, func.sum(PaymentLine.entitlement_fen), func.sum(PaymentLine.cost_fen)
        )
        .join(PaymentRun, PaymentRun.id == PaymentLine.run_id)
        .where(PaymentLine.method.in_((DIP, DRG)), PaymentRun.status == POSTED, PaymentRun.year == year)
        .group_by(PaymentLine.fixmedins_code)
    )
    q = q.where(PaymentRun.id == clearing.id) if clearing is not None else q.where(PaymentRun.kind == MONTH)
    return {code: (int(e or 0), int(c or 0)) for code, e, c in s.execute(q)}


def _month_ratio_lines(s: Session, year: int) -> dict[int, tuple[int, int]]:
    q = (
        select(PaymentRun.month, func.sum(PaymentLine.entitlement_fen), func.sum(PaymentLine.cost_fen))
        .join(PaymentRun, PaymentRun.id == PaymentLine.run_id)
        .where(
            PaymentLine.method.in_((DIP, DRG)),
            PaymentRun.status == POSTED,
            PaymentRun.year == year,
            PaymentRun.kind == MONTH,
        )
        .group_by(PaymentRun.month)
    )
    return {m: (int(e or 0), int(c or 0)) for m, e, c in s.execute(q)}


def _measures(yc: YearCases, unit_idx: np.ndarray, n_units: int) -> list[dict]:
    """Each unit's counts and measures (exact fractions; None where a unit has nothing to measure)."""
    cases = np.bincount(unit_idx, minlength=n_units)
    scored = np.isin(yc.method, (DIP, DRG))
    drg = yc.method == DRG
    u, g = unit_idx[scored], yc.group[scored]
    groups, group_idx = (
        np.unique(g, return_inverse=True) if len(g) else (np.array([]), np.array([], dtype=int))
    )
    group_idx = group_idx.ravel()
    n_groups = len(groups)
    low = ind.low_risk_groups(group_idx, yc.died[scored], n_groups) if n_groups else np.zeros(0, dtype=bool)
    in_low = low[group_idx] if n_groups else np.zeros(0, dtype=bool)
    shares = ind.outlier_shares(u, yc.cost_class[scored], n_units)
    values = {
        "cases": cases.tolist(),
        "grouped": np.bincount(u, minlength=n_units).tolist(),
        "drg_cases": np.bincount(unit_idx[drg], minlength=n_units).tolist(),
        "cmi": ind.cmi(unit_idx[drg], yc.weight4[drg], n_units),
        "cost_index": ind.cost_index(u, group_idx, yc.cost_fen[scored], n_units, n_groups),
        "time_index": ind.time_index(u, group_idx, yc.los[scored], n_units, n_groups),
        "low_risk_cases": np.bincount(u[in_low], minlength=n_units).tolist(),
        "low_risk_mortality": ind.low_risk_mortality(u, group_idx, yc.died[scored], n_units, n_groups),
        "high_share": shares.high,
        "low_share": shares.low,
    }
    return [{k: v[i] for k, v in values.items()} for i in range(n_units)]


def indicators(s: Session, f: IndicatorFilter, cases: YearCases | None = None) -> tuple[str, list[dict]]:
    """Where the cases come from, and one row per hospital (by code) or per month with a case, then 全市:
    counts, CMI (DRG cases, RW = weight4 ÷ 10⁴), the cost and time consumption indices and the low-risk
    mortality (over the DRG/DIP groups), the payment ratio (Σ 核定 ÷ Σ 按项目费用 of the DRG/DIP lines) and
    the outlier shares. Measures are exact fractions. ``cases``: the year's, when already read (a page shows
    both views of one reading)."""
    yc = cases if cases is not None else year_cases(s, f.year)
    if f.by == BY_MONTH:
        keys = sorted(set(yc.month.tolist()))
        labels = {m: f"{m} 月" for m in keys}
        unit_of = yc.month
        ratio_lines = yc.month_lines
    else:
        keys = sorted(set(yc.fixmedins_code.tolist()) | set(yc.hospital_lines))
        names = institution_names(s, keys)
        labels = {c: names.get(c, c) for c in keys}
        unit_of = yc.fixmedins_code
        ratio_lines = yc.hospital_lines
    position = {k: i for i, k in enumerate(keys)}
    unit_idx = np.array([position[k] for k in unit_of.tolist()], dtype=np.int64)
    rows = []
    for key, m in zip(keys, _measures(yc, unit_idx, len(keys)), strict=True):
        ent, ffs = ratio_lines.get(key, (0, 0))
        rows.append({"key": key, "unit": labels[key], **m, **_ratio(ent, ffs)})
    whole = _measures(yc, np.zeros(len(unit_idx), dtype=np.int64), 1)[0]
    ent, ffs = (sum(v[i] for v in ratio_lines.values()) for i in (0, 1))
    rows.append({"key": "", "unit": REGION, **whole, **_ratio(ent, ffs)})
    return yc.source, rows


def _ratio(entitlement: int, ffs: int) -> dict:
    return {
        "entitlement": fen_to_decimal(entitlement),
        "ffs": fen_to_decimal(ffs),
        "payment_ratio": Fraction(entitlement, ffs) if ffs else None,
    }


def indicator_count(s: Session, f: IndicatorFilter) -> int:
    return len(indicators(s, f)[1])


def indicator_rows_for_excel(s: Session, f: IndicatorFilter) -> Iterator[dict]:
    """The indicator table for a workbook: indices with four places, rates as percentages with two."""
    for r in indicators(s, f)[1]:
        out = dict(r)
        for k in INDEXES:
            out[k] = None if r[k] is None else float(rounded(r[k], 4))
        for k in RATES:
            out[k] = None if r[k] is None else float(rounded(r[k] * 100, 2))
        yield out


def indicator_excel_columns(by: str) -> list[tuple[str, str]]:
    return [
        (k, f"{label}（%）" if k in RATES else f"{label}（元）" if k in INDICATOR_MONEY else label)
        for k, label in indicator_columns(by)
    ]
