"""统计 of the 付费 pages: cases, DRG groups and the case-mix index (CMI) by hospital or by department, and
the relative weight (RW) of every DRG they rest on.

The database counts and sums the grouped cases by unit and DRG in one query; the weights and the CMI are
then exact fractions (:mod:`yibao.payment.weights`): ``RW = the DRG's mean 医疗费总额 ÷ the mean of all
grouped cases`` of the same discharge period and 险种 (all hospitals: a weight is the region's), and
``CMI = Σ RW ÷ grouped cases``. 歧义 and 未入组 cases are counted but carry no weight. The tables are as long as
there are hospitals (or departments) and DRGs, so they are ordered and paged here, after the arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import and_, func, literal_column, select
from sqlalchemy.orm import Session

from yibao.console.queries_payment import GroupFilter, joined_cases, scheme_names
from yibao.money import fen_to_decimal
from yibao.payment.weights import GroupCost, case_mix_index, relative_weights, rounded, total_weight
from yibao.store.tables import Department, Institution, Settlement, SettlementListGroup, Visit
from yibao.store.tables import SettlementList as List

Group = SettlementListGroup
NO_DEPT = "（未填科室）"
RATIOS = ("weight", "cmi", "rw")  # exact ratios, shown with four decimals
UNIT_COLUMNS = [
    ("fixmedins_code", "机构编号"),
    ("fixmedins_name", "机构"),
    ("cases", "病例数"),
    ("grouped", "入组病例"),
    ("to_fix", "歧义/未入组"),
    ("drg_groups", "DRG 组数"),
    ("weight", "总权重"),
    ("cmi", "CMI"),
    ("medfee", "医疗费总额"),
    ("mean_cost", "例均费用"),
]
DEPT_COLUMNS = [*UNIT_COLUMNS[:2], ("dept_name", "科室"), *UNIT_COLUMNS[2:]]
WEIGHT_COLUMNS = [
    ("drg", "DRG"),
    ("drg_name", "DRG 名称"),
    ("cases", "病例数"),
    ("medfee", "医疗费总额"),
    ("mean_cost", "例均费用"),
    ("rw", "相对权重"),
]
MONEY = ("medfee", "mean_cost")
COUNTS = ("cases", "grouped", "to_fix", "drg_groups")


@dataclass
class CmiFilter:
    """统计: discharge dates and 险种; ``by`` hospital or department."""

    date_from: date | None = None
    date_to: date | None = None
    insutype: str | None = None
    by: str = "hospital"  # hospital | department
    kind: str = "drg"

    def cases(self) -> GroupFilter:
        return GroupFilter(self.date_from, self.date_to, insutype=self.insutype, kind=self.kind)

    def describe(self) -> list[str]:
        out = self.cases().describe()
        out.append("按科室" if self.by == "department" else "按医院")
        return out


@dataclass
class Stats:
    """The period's grouped cases: each DRG's cases and cost, its weight, and the rows by unit."""

    groups: dict[str, GroupCost]
    names: dict[str, str]
    weights: dict[str, Fraction]
    units: list[dict]

    @property
    def cases(self) -> int:
        return sum(g.cases for g in self.groups.values())

    @property
    def fen(self) -> int:
        return sum(g.fen for g in self.groups.values())


def stats(s: Session, f: CmiFilter) -> Stats:
    """Cases by unit, status and DRG (one grouped query), the weights and each unit's CMI."""
    by_dept = f.by == "department"
    # (a literal, not a bound parameter: PostgreSQL must see the grouped expression as the selected one)
    blank = literal_column("''")
    dept = func.coalesce(Department.dept_name, Visit.dept_code, blank) if by_dept else blank
    keys = (List.fixmedins_code, Institution.fixmedins_name, Group.status, Group.group_code, Group.scheme)
    q = (
        joined_cases(select(List.fixmedins_code, Institution.fixmedins_name, dept, *keys[2:]), f.kind)
        .add_columns(func.min(Group.group_name), func.count(), func.sum(Settlement.medfee_sumamt))
        .join(Institution, Institution.fixmedins_code == List.fixmedins_code)
        .where(*f.cases().where())
        .group_by(*keys)
    )
    if by_dept:
        q = (
            q.outerjoin(Visit, Visit.mdtrt_id == List.mdtrt_id)
            .outerjoin(
                Department,
                and_(
                    Department.fixmedins_code == List.fixmedins_code, Department.dept_code == Visit.dept_code
                ),
            )
            .group_by(dept)
        )
    groups: dict[str, GroupCost] = {}
    names: dict[str, str] = {}
    units: dict[tuple, dict] = {}
    for code, inst, dept_name, status, drg, scheme, name, n, fen in s.execute(q):
        unit = units.setdefault(
            (code, dept_name or ""),
            {
                "fixmedins_code": code,
                "fixmedins_name": inst,
                "dept_name": (dept_name or NO_DEPT) if by_dept else "",
                "by_drg": {},
            },
        )
        unit["cases"] = unit.get("cases", 0) + n
        unit["fen"] = unit.get("fen", 0) + int(fen or 0)
        if status != "ok":
            unit["to_fix"] = unit.get("to_fix", 0) + n
            continue
        unit["by_drg"][drg] = unit["by_drg"].get(drg, 0) + n
        unit["grouped_fen"] = unit.get("grouped_fen", 0) + int(fen or 0)
        g = groups.get(drg, GroupCost(0, 0))
        groups[drg] = GroupCost(g.cases + n, g.fen + int(fen or 0))
        names[drg] = name or scheme_names(scheme)[2].get(drg, "")
    weights = relative_weights(groups)
    return Stats(groups, names, weights, [_unit(u, weights) for u in units.values()])


def _unit(u: dict, weights: dict[str, Fraction]) -> dict:
    grouped = sum(u["by_drg"].values())
    cmi = case_mix_index(u["by_drg"], weights)
    return {
        "fixmedins_code": u["fixmedins_code"],
        "fixmedins_name": u["fixmedins_name"],
        "dept_name": u["dept_name"],
        "cases": u["cases"],
        "grouped": grouped,
        "to_fix": u.get("to_fix", 0),
        "drg_groups": len(u["by_drg"]),
        "weight": rounded(total_weight(u["by_drg"], weights)),
        "cmi": None if cmi is None else rounded(cmi),
        "cmi_exact": cmi,
        "medfee": fen_to_decimal(u["fen"]),
        "mean_cost": rounded(Fraction(u["fen"], u["cases"] * 100), 2),
    }


def _ordered(rows: list[dict], order: tuple[str | None, bool], default: str, desc: bool) -> list[dict]:
    key, descending = order
    if key is None or not rows or key not in rows[0]:
        key, descending = default, desc
    present = [r for r in rows if r.get(key) is not None]
    missing = [r for r in rows if r.get(key) is None]  # (no CMI: no grouped case) last either way
    return sorted(present, key=lambda r: r[key], reverse=descending) + missing


def _page(rows: list[dict], limit: int | None, offset: int) -> list[dict]:
    return rows[offset : offset + limit] if limit else rows[offset:]


def unit_count(s: Session, f: CmiFilter) -> int:
    return len(stats(s, f).units)


def unit_records(
    s: Session,
    f: CmiFilter,
    limit: int | None = None,
    *,
    offset: int = 0,
    order: tuple[str | None, bool] = (None, False),
    computed: Stats | None = None,
) -> Iterator[dict]:
    """The units with their counts, weight and CMI (by institution code by default)."""
    rows = sorted((computed or stats(s, f)).units, key=lambda r: (r["fixmedins_code"], r["dept_name"]))
    for r in _page(_ordered(rows, order, "fixmedins_code", False), limit, offset):
        yield {k: v for k, v in r.items() if k != "cmi_exact"}


def weight_count(s: Session, f: CmiFilter) -> int:
    return len(stats(s, f).groups)


def weight_records(
    s: Session,
    f: CmiFilter,
    limit: int | None = None,
    *,
    offset: int = 0,
    order: tuple[str | None, bool] = (None, False),
    computed: Stats | None = None,
) -> Iterator[dict]:
    """Every DRG of the period's grouped cases with its cases, cost and relative weight (by code)."""
    st = computed or stats(s, f)
    rows = [
        {
            "drg": code,
            "drg_name": st.names.get(code, ""),
            "cases": g.cases,
            "medfee": fen_to_decimal(g.fen),
            "mean_cost": rounded(Fraction(g.fen, g.cases * 100), 2),
            "rw": rounded(st.weights[code]),
        }
        for code, g in sorted(st.groups.items())
    ]
    yield from _page(_ordered(rows, order, "drg", False), limit, offset)


def for_excel(records: Iterator[dict]) -> Iterator[dict]:
    """Ratios as numbers with their four decimals (the writer would show a Decimal as money, two places)."""
    for r in records:
        yield {k: float(v) if k in RATIOS and isinstance(v, Decimal) else v for k, v in r.items()}


def unit_rows_for_excel(s: Session, f: CmiFilter) -> Iterator[dict]:
    return for_excel(unit_records(s, f))


def weight_rows_for_excel(s: Session, f: CmiFilter) -> Iterator[dict]:
    return for_excel(weight_records(s, f))
