"""The figures of the annual assessment (年度考核) yibao computes from its own data, for every institution of a
year at once: one set-based query per figure, grouped by institution, the same SQL on SQLite and PostgreSQL.

* ``settlement_compliance`` (结算合规率): the share of the institution's settlements of the year that no
  upheld suspicion (疑点 ``upheld`` 复核维持 or ``deducted`` 已扣款) names — by its ``setl_id``, or by its visit
  when the suspicion names no settlement;
* ``upheld_suspicion_rate`` (查实疑点率): upheld suspicions of the year per 100 settlements;
* ``upheld_amount_share``: the amount upheld (``upheld_fen``) ÷ the fund paid (``fund_pay_sumamt`` +
  ``acct_pay``: the pooled funds and the personal account);
* ``payment_indicator`` (支付方式考核得分): 100 × the share of the institution's DRG/DIP cases priced within
  the norm (费用正常病例, neither 费用超高 nor 费用超低) in the year's clearing, else in its current month
  runs — the statement's own measure of how its cases fit their groups.

The year's settlements are the standing ones settled in it (``setl_time``): not a reversal, not reversed, not
a 补充救助 supplement (its money goes to the person). A suspicion belongs to the year of its service date
(one without: of its decision). A figure without a denominator (no settlement, no fund paid, no DRG/DIP
case) is ``None``: the assessment notes it missing. Ratios are :class:`~decimal.Decimal`, six places, half up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from yibao.payment.period import DIP, DRG
from yibao.payment.pricing import CLASS_NAMES, NORMAL
from yibao.store.payment_runs import POSTED
from yibao.store.tables import (
    AuditSuspicion,
    Designation,
    Institution,
    PaymentCase,
    PaymentRun,
    ProviderAssessment,
    ProviderAssessmentSheet,
    Settlement,
)

COMPUTED = ("settlement_compliance", "upheld_suspicion_rate", "upheld_amount_share", "payment_indicator")
UPHELD = ("upheld", "deducted")  # yibao.supervision.suspicion_states.Status.UPHELD / DEDUCTED
PLACES = Decimal("0.000001")
HUNDRED = Decimal(100)
CLEAR, MONTH = "clear", "month"


def ratio(num: int, den: int, scale: Decimal = Decimal(1)) -> Decimal | None:
    """``num`` × ``scale`` ÷ ``den`` to six places, half up; None without a denominator."""
    if not den:
        return None
    return (Decimal(num) * scale / Decimal(den)).quantize(PLACES, rounding=ROUND_HALF_UP)


def _share(amount: int, fund: int, settled: int) -> Decimal | None:
    """The upheld amount's share of the fund paid: 0 when nothing was upheld of an institution that settled;
    None when it settled nothing, or had an amount upheld and no fund paid."""
    if amount == 0 and settled:
        return Decimal(0).quantize(PLACES)
    return ratio(amount, fund) if fund > 0 else None


def _bounds(year: int) -> tuple[date, date, datetime, datetime]:
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    return start, end, datetime(year, 1, 1), datetime(year + 1, 1, 1)


@dataclass(frozen=True)
class InForce:
    """An institution with an agreement in force (active or suspended) on some day of the year."""

    fixmedins_code: str
    fixmedins_name: str
    fixmedins_type: str
    beds: int | None
    admdvs: str


def in_force(s: Session, admdvs: str | None, year: int) -> list[InForce]:
    """The institutions whose designation covers a day of ``year`` (a city's ``xxyy00`` takes its districts'),
    by code."""
    start, end, _, _ = _bounds(year)
    d, i = Designation, Institution
    covered = exists().where(
        d.fixmedins_code == i.fixmedins_code, d.begndate < end, or_(d.enddate.is_(None), d.enddate >= start)
    )
    q = select(i.fixmedins_code, i.fixmedins_name, i.fixmedins_type, i.beds, i.admdvs).where(covered)
    if admdvs:
        q = q.where(i.admdvs.like(admdvs[:4] + "%") if admdvs.endswith("00") else i.admdvs == admdvs)
    return [InForce(*r) for r in s.execute(q.order_by(i.fixmedins_code))]


def _standing(year: int):
    """The conditions of a settlement counted in the year."""
    _, _, t0, t1 = _bounds(year)
    st = Settlement
    return (
        st.setl_time >= t0,
        st.setl_time < t1,
        st.refd_setl_flag == "0",
        st.reversed_by.is_(None),
        st.supplement_of.is_(None),
    )


def _upheld_in_year(year: int):
    start, end, t0, t1 = _bounds(year)
    a = AuditSuspicion
    return and_(
        a.status.in_(UPHELD),
        a.fixmedins_code.is_not(None),
        or_(
            and_(a.service_date >= start, a.service_date < end),
            and_(a.service_date.is_(None), a.decided_at >= t0, a.decided_at < t1),
        ),
    )


def _only(q, column, codes: list[str] | None):
    return q.where(column.in_(codes)) if codes is not None else q


def settlements(s: Session, year: int, codes: list[str] | None = None) -> dict[str, tuple[int, int, int]]:
    """Per institution: (settlements of the year, of them named by an upheld suspicion, the fund paid in fen —
    统筹 and the other funds (``fund_pay_sumamt``) and the personal account (``acct_pay``): a pharmacy's
    purchases are mostly paid from the account)."""
    st, a = Settlement, AuditSuspicion
    flagged = exists().where(
        a.mdtrt_id == st.mdtrt_id,
        a.status.in_(UPHELD),
        or_(a.setl_id == st.setl_id, a.setl_id.is_(None)),
    )
    q = select(
        st.fixmedins_code,
        func.count(),
        func.sum(case((flagged, 1), else_=0)),
        func.coalesce(func.sum(st.fund_pay_sumamt + st.acct_pay), 0),
    ).where(*_standing(year))
    q = _only(q, st.fixmedins_code, codes).group_by(st.fixmedins_code)
    return {code: (int(n), int(bad or 0), int(fund)) for code, n, bad, fund in s.execute(q)}


def upheld(s: Session, year: int, codes: list[str] | None = None) -> dict[str, tuple[int, int]]:
    """Per institution: (upheld suspicions of the year, the amount upheld in fen)."""
    a = AuditSuspicion
    q = select(a.fixmedins_code, func.count(), func.coalesce(func.sum(a.upheld_fen), 0)).where(
        _upheld_in_year(year)
    )
    q = _only(q, a.fixmedins_code, codes).group_by(a.fixmedins_code)
    return {code: (int(n), int(fen)) for code, n, fen in s.execute(q)}


def payment_cases(s: Session, year: int, codes: list[str] | None = None) -> dict[str, tuple[int, int]]:
    """Per institution: (DRG/DIP cases of the year's clearing — else of its current month runs —, of them
    priced as normal)."""
    r, c, other = PaymentRun, PaymentCase, aliased(PaymentRun)
    cleared = exists().where(other.kind == CLEAR, other.year == year, other.status == POSTED)
    runs = select(r.id).where(
        r.year == year,
        r.status == POSTED,
        or_(r.kind == CLEAR, and_(r.kind == MONTH, ~cleared)),
    )
    q = select(
        c.fixmedins_code,
        func.count(),
        func.sum(case((c.cost_class == CLASS_NAMES[NORMAL], 1), else_=0)),
    ).where(c.run_id.in_(runs), c.method.in_((DRG, DIP)))
    q = _only(q, c.fixmedins_code, codes).group_by(c.fixmedins_code)
    return {code: (int(n), int(normal or 0)) for code, n, normal in s.execute(q)}


def figures(
    s: Session, year: int, codes: Iterable[str] | None = None
) -> dict[str, dict[str, Decimal | None]]:
    """Every computed figure of ``year`` for each institution of ``codes`` (all with data, when None): figure
    name → Decimal, or None when it has no denominator."""
    wanted = sorted(set(codes)) if codes is not None else None
    setl = settlements(s, year, wanted)
    held = upheld(s, year, wanted)
    paid = payment_cases(s, year, wanted)
    keys = wanted if wanted is not None else sorted(set(setl) | set(held) | set(paid))
    out: dict[str, dict[str, Decimal | None]] = {}
    for code in keys:
        n, bad, fund = setl.get(code, (0, 0, 0))
        count, amount = held.get(code, (0, 0))
        cases, normal = paid.get(code, (0, 0))
        out[code] = {
            "settlement_compliance": ratio(n - bad, n),
            "upheld_suspicion_rate": ratio(count, n, HUNDRED),
            "upheld_amount_share": _share(amount, fund, n),
            "payment_indicator": ratio(normal, cases, HUNDRED),
        }
    return out


# --- the stored assessments ----------------------------------------------------------------------------------


def assessment_of(s: Session, admdvs: str, year: int) -> ProviderAssessment | None:
    """The region's assessment of ``year``, if it was assessed."""
    return s.scalar(
        select(ProviderAssessment).where(ProviderAssessment.admdvs == admdvs, ProviderAssessment.year == year)
    )


def sheets_of(s: Session, assessment_id: int) -> list[ProviderAssessmentSheet]:
    """An assessment's sheets, by institution code."""
    return list(
        s.scalars(
            select(ProviderAssessmentSheet)
            .where(ProviderAssessmentSheet.assessment_id == assessment_id)
            .order_by(ProviderAssessmentSheet.fixmedins_code)
        )
    )


def sheet_of(s: Session, year: int, fixmedins_code: str) -> ProviderAssessmentSheet | None:
    """The institution's sheet of ``year``'s assessment, locked until commit (two clerks entering its
    figures take turns)."""
    sh, a = ProviderAssessmentSheet, ProviderAssessment
    return s.scalar(
        select(sh)
        .join(a, a.id == sh.assessment_id)
        .where(a.year == year, sh.fixmedins_code == fixmedins_code)
        .with_for_update(of=sh)
        .execution_options(populate_existing=True)
    )


def grades_of(s: Session, assessment_id: int) -> list[str]:
    sh = ProviderAssessmentSheet
    return list(s.scalars(select(sh.grade).where(sh.assessment_id == assessment_id)))


def names_of(s: Session, codes: list[str]) -> dict[str, str]:
    """The institutions' names by code."""
    i = Institution
    return dict(
        s.execute(select(i.fixmedins_code, i.fixmedins_name).where(i.fixmedins_code.in_(codes))).all()
    )
