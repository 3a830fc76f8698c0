"""Read models of the 付费 pages (查询): grouped cases, one case with its trace, the 歧义 / 未入组 worklist and
the case-mix statistics (CMI). Plain typed dicts for the pages and the exports (amounts exact ``Decimal``
yuan, dates ``date``).

A case is a valid settlement list (结算清单, vali_flag 1) of a settlement that stands (not reversed since),
with its grouping by the scheme of ``kind`` (``drg``). Paging and ordering are the database's over every
matching case; the statistics are aggregated by the database and their ratios computed exactly
(:mod:`yibao.payment.weights`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from yibao.console import payment_trace as pt
from yibao.console.queries import INSUTYPES, mask_certno, paged
from yibao.money import fen_to_decimal
from yibao.payment.cases import normalise_code
from yibao.payment.settlement_list import VALID
from yibao.store.tables import (
    ClinicalCode,
    Department,
    Institution,
    Person,
    Settlement,
    SettlementList,
    SettlementListDiagnosis,
    SettlementListGroup,
    SettlementListProcedure,
    Visit,
)

STATUS = {"ok": "已入组", "qy": "歧义", "ungrouped": "未入组"}
TO_FIX = ("qy", "ungrouped")  # the worklist's cases
DISCHARGE_WAYS = {
    "1": "医嘱离院",
    "2": "医嘱转院",
    "3": "医嘱转社区",
    "4": "非医嘱离院",
    "5": "死亡",
    "9": "其他",
}
Group, List = SettlementListGroup, SettlementList
_PDX = aliased(SettlementListDiagnosis, name="pdx")  # the principal diagnosis (seq 0)
_PPX = aliased(SettlementListProcedure, name="ppx")  # the principal procedure (seq 0)
_DX_NAME = aliased(ClinicalCode, name="dx_name")


@lru_cache(maxsize=8)
def scheme_names(scheme: str) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The MDC, ADRG and DRG names of a registered DRG scheme (none for another kind or an unknown one)."""
    from yibao.payment.drg_tables import RulePackError
    from yibao.payment.packs import load_drg_pack

    try:
        pack = load_drg_pack(scheme)
    except (RulePackError, OSError):
        return {}, {}, {}
    return pack.mdc_names, pack.adrg_names, pack.drg_names


def mdc_choices(scheme: str = "chs-drg-1.1") -> dict[str, str]:
    return {code: f"{code} {name}" for code, name in sorted(scheme_names(scheme)[0].items())}


@dataclass
class GroupFilter:
    """分组结果: discharge dates, institution, 险种, MDC (``MDCG``), DRG code prefix, status (or ``statuses``)."""

    date_from: date | None = None
    date_to: date | None = None
    fixmedins_code: str | None = None
    insutype: str | None = None
    mdc: str | None = None
    drg: str = ""
    status: str | None = None
    statuses: tuple[str, ...] = ()
    kind: str = "drg"

    def where(self) -> list:
        c = [List.vali_flag == VALID, Settlement.reversed_by.is_(None)]
        if self.date_from:
            c.append(List.dscg_time >= datetime.combine(self.date_from, time.min))
        if self.date_to:
            c.append(List.dscg_time <= datetime.combine(self.date_to, time.max))
        for col, v in (
            (List.fixmedins_code, self.fixmedins_code),
            (Settlement.insutype, self.insutype),
            (Group.mdc, self.mdc),
            (Group.status, self.status),
        ):
            if v:
                c.append(col == v)
        if (self.drg or "").strip():
            c.append(Group.group_code.like(f"{self.drg.strip().upper()}%"))
        if self.statuses:
            c.append(Group.status.in_(self.statuses))
        return c

    def describe(self, institutions: dict[str, str] | None = None) -> list[str]:
        """The filter in words (an export's title row)."""
        out = []
        if self.date_from or self.date_to:
            out.append(f"出院日期 {self.date_from or '…'} 至 {self.date_to or '…'}")
        if self.fixmedins_code:
            out.append(f"定点机构 {(institutions or {}).get(self.fixmedins_code, self.fixmedins_code)}")
        if self.insutype:
            out.append(f"险种 {INSUTYPES.get(self.insutype, self.insutype)}")
        if self.mdc:
            out.append(f"MDC {self.mdc}")
        if (self.drg or "").strip():
            out.append(f"DRG {self.drg.strip().upper()}*")
        if self.status:
            out.append(f"状态 {STATUS.get(self.status, self.status)}")
        return out


def joined_cases(q, kind: str):
    """``q`` over the lists with their current grouping of ``kind`` (a regrouped list keeps its earlier ones)
    and their settlement."""
    return (
        q.select_from(List)
        .join(Group, and_(Group.setl_list_id == List.setl_list_id, Group.kind == kind, Group.is_current))
        .join(Settlement, Settlement.setl_id == List.setl_id)
    )


GROUP_COLUMNS = [
    ("setl_id", "结算ID"),
    ("psn_name", "人员"),
    ("fixmedins_name", "机构"),
    ("dept_name", "科室"),
    ("dscg_date", "出院日期"),
    ("main_diag", "主要诊断"),
    ("main_oprn", "主要手术"),
    ("mdc", "MDC"),
    ("adrg", "ADRG"),
    ("drg", "DRG"),
    ("status", "状态"),
    ("medfee_sumamt", "医疗费总额"),
]
WORKLIST_COLUMNS = [
    ("fixmedins_name", "机构"),
    ("setl_id", "结算ID"),
    ("psn_name", "人员"),
    ("dscg_date", "出院日期"),
    ("status", "状态"),
    ("main_diag", "主要诊断"),
    ("main_oprn", "主要手术"),
    ("reason", "原因"),
    ("advice", "请医院核对"),
]
MONEY = ("medfee_sumamt",)
DATES = ("dscg_date",)
GROUP_ORDER = {
    "setl_id": List.setl_id,
    "psn_name": Person.psn_name,
    "fixmedins_name": (Institution.fixmedins_name, List.dscg_time),
    "dept_name": Department.dept_name,
    "dscg_date": List.dscg_time,
    "main_diag": _PDX.diag_code,
    "main_oprn": _PPX.oprn_oprt_code,
    "mdc": Group.mdc,
    "adrg": Group.adrg,
    "drg": Group.group_code,
    "status": Group.status,
    "reason": Group.reason,
    "medfee_sumamt": Settlement.medfee_sumamt,
}


def group_count(s: Session, f: GroupFilter) -> int:
    q = joined_cases(select(func.count()), f.kind).where(*f.where())
    return s.scalar(q) or 0


def group_records(
    s: Session,
    f: GroupFilter,
    limit: int | None = None,
    *,
    offset: int = 0,
    order: tuple[str | None, bool] = (None, True),
) -> Iterator[dict]:
    """The filtered cases in the ``order`` asked for (a key of ``GROUP_ORDER``; the latest discharged first
    by default), with the names of their codes and groups, streamed in chunks."""
    return _records(s, f, limit, offset, order, "dscg_date", True)


def _records(s: Session, f: GroupFilter, limit, offset, order, default: str, desc: bool) -> Iterator[dict]:
    q = (
        joined_cases(
            select(List, Group, Settlement.medfee_sumamt, Person.psn_name, Institution.fixmedins_name)
            .add_columns(Department.dept_name, _PDX.diag_code, _PDX.diag_name, _DX_NAME.name)
            .add_columns(_PPX.oprn_oprt_code, _PPX.oprn_oprt_name),
            f.kind,
        )
        .join(Person, Person.psn_no == List.psn_no)
        .join(Institution, Institution.fixmedins_code == List.fixmedins_code)
        .outerjoin(Visit, Visit.mdtrt_id == List.mdtrt_id)
        .outerjoin(
            Department,
            and_(Department.fixmedins_code == List.fixmedins_code, Department.dept_code == Visit.dept_code),
        )
        .outerjoin(_PDX, and_(_PDX.setl_list_id == List.setl_list_id, _PDX.seq == 0))
        .outerjoin(_DX_NAME, and_(_DX_NAME.system == "icd10", _DX_NAME.code == _PDX.diag_code))
        .outerjoin(_PPX, and_(_PPX.setl_list_id == List.setl_list_id, _PPX.seq == 0))
        .where(*f.where())
        .execution_options(yield_per=2_000)
    )
    q = paged(
        q, GROUP_ORDER, order, default, List.setl_list_id, offset=offset, limit=limit, default_desc=desc
    )
    for row in s.execute(q):
        lst, g, medfee, psn_name, inst, dept, dx, dx_upload, dx_name, px, px_name = row
        mdc_names, adrg_names, _ = scheme_names(g.scheme)
        yield {
            "setl_id": lst.setl_id,
            "psn_name": psn_name,
            "fixmedins_name": inst,
            "dept_name": dept or "",
            "dscg_date": lst.dscg_time.date(),
            "main_diag": f"{dx} {dx_name or dx_upload}".strip() if dx else "",
            "main_oprn": f"{px} {px_name}".strip() if px else "",
            "mdc": f"{g.mdc} {mdc_names.get(g.mdc, '')}".strip() if g.mdc else "",
            "adrg": f"{g.adrg} {adrg_names.get(g.adrg, '')}".strip() if g.adrg else "",
            "drg": f"{g.group_code} {g.group_name or ''}".strip(),
            "status": STATUS.get(g.status, g.status),
            "reason": g.reason or "",
            "advice": pt.advice(g.status, g.reason),
            "medfee_sumamt": fen_to_decimal(medfee),
        }


# --- the worklist: 歧义 and 未入组 cases by institution --------------------------------------------------------


def worklist_filter(f: GroupFilter) -> GroupFilter:
    """``f`` narrowed to the cases the hospitals must fix (a chosen status stays, if it is one of them)."""
    return GroupFilter(
        **{**f.__dict__, "statuses": TO_FIX, "status": f.status if f.status in TO_FIX else None}
    )


def worklist_count(s: Session, f: GroupFilter) -> int:
    return group_count(s, worklist_filter(f))


def worklist_records(
    s: Session,
    f: GroupFilter,
    limit: int | None = None,
    *,
    offset: int = 0,
    order: tuple[str | None, bool] = (None, False),
) -> Iterator[dict]:
    """The 歧义 and 未入组 cases, by institution and discharge date unless another order is asked for."""
    return _records(s, worklist_filter(f), limit, offset, order, "fixmedins_name", False)


def worklist_summary(s: Session, f: GroupFilter) -> list[dict]:
    """Per institution with cases to fix: its cases, 歧义 and 未入组 counts and their share of its lists."""
    flt = GroupFilter(**{**f.__dict__, "status": None, "statuses": ()})
    q = (
        joined_cases(
            select(List.fixmedins_code, Institution.fixmedins_name, Group.status, func.count()), f.kind
        )
        .join(Institution, Institution.fixmedins_code == List.fixmedins_code)
        .where(*flt.where())
        .group_by(List.fixmedins_code, Institution.fixmedins_name, Group.status)
    )
    by: dict[str, dict] = {}
    for code, name, status, n in s.execute(q):
        row = by.setdefault(code, {"fixmedins_code": code, "fixmedins_name": name, "cases": 0})
        row["cases"] += n
        row[status] = row.get(status, 0) + n
    out = []
    for row in by.values():
        qy, ungrouped = row.get("qy", 0), row.get("ungrouped", 0)
        if qy + ungrouped:
            share = f"{(qy + ungrouped) * 100 / row['cases']:.1f}%"
            out.append({**row, "qy": qy, "ungrouped": ungrouped, "to_fix": qy + ungrouped, "share": share})
    return sorted(out, key=lambda r: (-r["to_fix"], r["fixmedins_code"]))


# --- one case ------------------------------------------------------------------------------------------------


def case_detail(s: Session, setl_id: str, kind: str = "drg") -> dict | None:
    """The settlement's list (the valid one, else the latest voided) with its diagnoses, procedures, grouping
    and trace in Chinese; None: the settlement has no list."""
    lst = s.scalars(
        select(List)
        .where(List.setl_id == setl_id)
        .order_by((List.vali_flag == VALID).desc(), List.uploaded_at.desc())
        .limit(1)
    ).first()
    if lst is None:
        return None
    g = s.scalar(
        select(Group).where(Group.setl_list_id == lst.setl_list_id, Group.kind == kind, Group.is_current)
    )
    setl = s.get(Settlement, lst.setl_id)
    person = s.get(Person, lst.psn_no)
    inst = s.get(Institution, lst.fixmedins_code)
    visit = s.get(Visit, lst.mdtrt_id)
    dept = None
    if visit is not None and visit.dept_code:
        dept = s.scalar(
            select(Department.dept_name).where(
                Department.fixmedins_code == lst.fixmedins_code, Department.dept_code == visit.dept_code
            )
        )
    dxs = s.scalars(
        select(SettlementListDiagnosis)
        .where(SettlementListDiagnosis.setl_list_id == lst.setl_list_id)
        .order_by(SettlementListDiagnosis.seq)
    ).all()
    pxs = s.scalars(
        select(SettlementListProcedure)
        .where(SettlementListProcedure.setl_list_id == lst.setl_list_id)
        .order_by(SettlementListProcedure.seq)
    ).all()
    names = _code_names(s, dxs, pxs)
    trace = g.trace if g is not None else {}
    marks = pt.complication_marks(trace)
    mdc_names, adrg_names, drg_names = scheme_names(g.scheme) if g is not None else ({}, {}, {})
    n = pt.Names(names, mdc_names, adrg_names, drg_names)
    return {
        "setl_list_id": lst.setl_list_id,
        "setl_id": lst.setl_id,
        "valid": lst.vali_flag == VALID,
        "reversed_by": setl.reversed_by if setl else None,
        "psn": f"{person.psn_name}（{person.psn_no}，{mask_certno(person.certno)}）"
        if person
        else lst.psn_no,
        "fixmedins_name": inst.fixmedins_name if inst else lst.fixmedins_code,
        "dept_name": dept or (visit.dept_code if visit is not None and visit.dept_code else ""),
        "insutype": INSUTYPES.get(setl.insutype, setl.insutype) if setl else "",
        "medfee_sumamt": setl.medfee_sumamt if setl else None,
        "stay": (
            f"{'男' if lst.gend == '1' else '女'} · {lst.age} 岁 · 入院 {lst.adm_time:%Y-%m-%d} · "
            f"出院 {lst.dscg_time:%Y-%m-%d} · 住院 {lst.los} 天 · "
            f"离院方式 {DISCHARGE_WAYS.get(lst.dscg_way, lst.dscg_way)}"
            + (f" · 新生儿体重 {lst.weight_g} 克" if lst.weight_g else "")
        ),
        "diagnoses": [_diagnosis(d, names, marks) for d in dxs],
        "procedures": [
            {
                "seq": p.seq,
                "role": "主要手术" if p.seq == 0 else "其他手术操作",
                "code": p.oprn_oprt_code,
                "name": names.get(normalise_code(p.oprn_oprt_code)) or p.oprn_oprt_name,
                "date": f"{p.oprn_oprt_date:%Y-%m-%d}" if p.oprn_oprt_date else "",
            }
            for p in pxs
        ],
        "group": None if g is None else _grouping(g, n),
        "steps": [step.shown() for step in pt.steps(trace, n)],
    }


def _code_names(s: Session, dxs, pxs) -> dict[str, str]:
    """Each code's name: the code table's, else the name uploaded with the list (keyed as the trace writes
    the codes)."""
    out = {normalise_code(d.diag_code): d.diag_name for d in dxs if d.diag_name}
    out |= {normalise_code(p.oprn_oprt_code): p.oprn_oprt_name for p in pxs if p.oprn_oprt_name}
    wanted = {normalise_code(d.diag_code) for d in dxs} | {normalise_code(p.oprn_oprt_code) for p in pxs}
    if wanted:
        rows = s.execute(
            select(ClinicalCode.code, ClinicalCode.name).where(ClinicalCode.code.in_(sorted(wanted)))
        )
        out |= {code: name for code, name in rows if name}
    return out


def _diagnosis(d: SettlementListDiagnosis, names: dict[str, str], marks: dict[str, str]) -> dict:
    code = normalise_code(d.diag_code)
    western = d.diag_type == "1"
    return {
        "seq": d.seq,
        "role": "主要诊断" if d.seq == 0 else "其他诊断" if western else "中医诊断（不参与分组）",
        "code": d.diag_code,
        "name": names.get(code) or d.diag_name,
        "mark": "" if d.seq == 0 or not western else marks.get(code, "—"),
    }


def _grouping(g: SettlementListGroup, n: pt.Names) -> dict:
    return {
        "kind": g.kind.upper(),
        "scheme": g.scheme,
        "grouper_version": g.grouper_version,
        "pack_hash": g.pack_hash,
        "grouped_at": f"{g.grouped_at:%Y-%m-%d %H:%M}",
        "status": STATUS.get(g.status, g.status),
        "status_code": g.status,
        "mdc": n.group("mdc", g.mdc) if g.mdc else "",
        "adrg": n.group("adrg", g.adrg) if g.adrg else "",
        "drg": f"{g.group_code} {g.group_name or ''}".strip(),
        "reason": g.reason or "",
        "advice": pt.advice(g.status, g.reason),
    }
