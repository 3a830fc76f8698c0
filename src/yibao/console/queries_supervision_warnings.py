"""Read models of 智能监管 · 事前事中提醒 (查询): the 3101 / 3102 (and inline) warnings given to the HIS and the
institutions' 3103 answers, filtered, ordered and paged by the database with the names of institutions,
persons and rules. Amounts are exact ``Decimal`` yuan."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.console.queries import paged
from yibao.console.queries_supervision import ACTION_NAMES
from yibao.console.queries_supervision import severity as sev_words
from yibao.money import fen_to_decimal
from yibao.store.tables import AuditRule, AuditWarning, Institution, Person

WARN_TYPES = {"1": "事前", "2": "事中"}
INFNO_NAMES = {
    "3101": "3101 事前分析",
    "3102": "3102 事中分析",
    "2204": "2204 门诊费用明细上传",
    "2301": "2301 住院费用明细上传",
    "2206": "2206 门诊预结算",
    "2207": "2207 门诊结算",
    "2303": "2303 住院预结算",
    "2304": "2304 住院结算",
}
ANSWERS = {"1": "继续", "2": "修改", "none": "未反馈"}  # 3103 dspo_way


@dataclass(frozen=True)
class WarningFilter:
    """Warnings by day (given on), institution, rule, action (warn / block), stage (1 事前 / 2 事中) and answer
    (1 继续 / 2 修改 / none 未反馈)."""

    date_from: date | None = None
    date_to: date | None = None
    fixmedins_code: str = ""
    rule_code: str = ""
    action: str = ""
    warn_type: str = ""
    answer: str = ""

    def where(self) -> list:
        w = AuditWarning
        c = []
        if self.date_from:
            c.append(w.created_at >= datetime.combine(self.date_from, datetime.min.time()))
        if self.date_to:
            c.append(
                w.created_at
                < datetime.combine(date.fromordinal(self.date_to.toordinal() + 1), datetime.min.time())
            )
        if self.fixmedins_code:
            c.append(w.fixmedins_code == self.fixmedins_code)
        if self.rule_code:
            c.append(w.rule_code == self.rule_code)
        if self.action:
            c.append(w.action == self.action)
        if self.warn_type:
            c.append(w.warn_type == self.warn_type)
        if self.answer == "none":
            c.append(w.dspo_way.is_(None))
        elif self.answer:
            c.append(w.dspo_way == self.answer)
        return c

    def describe(self) -> str:
        out = []
        if self.date_from or self.date_to:
            out.append(f"{self.date_from or '…'} 至 {self.date_to or '…'}")
        if self.fixmedins_code:
            out.append(f"机构 {self.fixmedins_code}")
        if self.rule_code:
            out.append(f"规则 {self.rule_code}")
        if self.action:
            out.append(ACTION_NAMES.get(self.action, self.action))
        if self.warn_type:
            out.append(WARN_TYPES.get(self.warn_type, self.warn_type))
        if self.answer:
            out.append(f"反馈 {ANSWERS.get(self.answer, self.answer)}")
        return "，".join(out) or "全部提醒"


WARNING_COLUMNS = [  # (what a clerk reads first: who, which rule, blocked or warned, and the answer)
    ("created_at", "时间"),
    ("warn_type", "阶段"),
    ("fixmedins_name", "定点机构"),
    ("psn_name", "参保人"),
    ("rule_name", "规则"),
    ("action", "处理方式"),
    ("vola_amt", "涉及金额"),
    ("dspo_way", "机构反馈"),
    ("dspo_way_rea", "反馈理由"),
    ("vola_cont", "违规内容"),
    ("sev_deg", "严重程度"),
    ("infno", "交易"),
    ("mdtrt_id", "就诊ID"),
    ("dspo_at", "反馈时间"),
]
WARNING_MONEY = ("vola_amt",)


def warning_count(s: Session, f: WarningFilter) -> int:
    return s.scalar(select(func.count()).select_from(AuditWarning).where(*f.where())) or 0


def warning_records(
    s: Session, f: WarningFilter, limit: int | None = None, *, offset: int = 0, order=(None, False)
) -> Iterator[dict]:
    """The warnings, the latest first unless asked; names of institution, person and rule."""
    w = AuditWarning
    columns = {
        "created_at": w.created_at,
        "warn_type": w.warn_type,
        "infno": w.infno,
        "fixmedins_name": Institution.fixmedins_name,
        "psn_name": Person.psn_name,
        "mdtrt_id": w.mdtrt_id,
        "rule_name": AuditRule.name,
        "sev_deg": w.sev_deg,
        "action": w.action,
        "vola_amt": w.vola_amt,
        "dspo_way": w.dspo_way,
        "dspo_at": w.dspo_at,
    }
    q = (
        select(w, Institution.fixmedins_name, Person.psn_name, AuditRule.name)
        .outerjoin(Institution, Institution.fixmedins_code == w.fixmedins_code)
        .outerjoin(Person, Person.psn_no == w.psn_no)
        .outerjoin(AuditRule, AuditRule.rule_code == w.rule_code)
        .where(*f.where())
    )
    q = paged(q, columns, order, "created_at", w.jr_id, offset=offset, limit=limit, default_desc=True)
    for r, inst, psn, rule in s.execute(q):
        yield {
            "created_at": r.created_at,
            "warn_type": WARN_TYPES.get(r.warn_type, r.warn_type),
            "infno": INFNO_NAMES.get(r.infno, r.infno),
            "fixmedins_name": inst or r.fixmedins_code,
            "psn_name": psn or r.psn_no or "",
            "mdtrt_id": r.mdtrt_id or "",
            "rule_name": rule or r.rule_code,
            "sev_deg": sev_words(r.sev_deg),
            "action": ACTION_NAMES.get(r.action, r.action),
            "vola_amt": fen_to_decimal(r.vola_amt or 0),
            "vola_cont": r.vola_cont,
            "dspo_way": ANSWERS.get(r.dspo_way or "none", r.dspo_way),
            "dspo_way_rea": r.dspo_way_rea or "",
            "dspo_at": r.dspo_at,
        }


def warning_choices(s: Session) -> dict[str, dict[str, str]]:
    """The filter's options: institutions and rules that have warnings, by name."""
    insts = s.execute(
        select(Institution.fixmedins_code, Institution.fixmedins_name)
        .where(Institution.fixmedins_code.in_(select(AuditWarning.fixmedins_code).distinct()))
        .order_by(Institution.fixmedins_name)
    ).all()
    rules = s.execute(
        select(AuditRule.rule_code, AuditRule.name)
        .where(AuditRule.rule_code.in_(select(AuditWarning.rule_code).distinct()))
        .order_by(AuditRule.rule_code)
    ).all()
    return {"institution": dict(insts), "rule": {c: f"{n}（{c}）" for c, n in rules}}
