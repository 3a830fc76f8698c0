"""Read models of 智能监管 · 筛查线索 (查询): the screening (:mod:`yibao.supervision.screening`) run over a year of
settled data as a background job (:func:`screening_job`: the year and the one before it as the baseline, in a
period snapshot), its leads kept in the database (``screening_lead``), and what makes a lead convincing, read from the
database: a hospital's monthly admissions against the median of its peers (same level), the length-of-stay
histogram of its top diagnosis against its peers', a pharmacy's settlements minute by minute on its busiest
day. Signal names in Chinese; the detectors' own notes (English, for analysts) are not shown."""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from yibao.money import fen_to_decimal
from yibao.store.tables import Institution, Person, Settlement, Visit
from yibao.supervision.service import screening as service

ENTITY_NAMES = {"hospital": "医院", "pharmacy": "药店", "doctor": "医师", "person": "参保人"}
LEVEL_NAMES = {"case": "立案线索", "lead": "疑点线索", "none": "未达线索标准"}
PATTERN_NAMES = {
    "hospital_surge": "单病种激增、住院同质",
    "fictitious_stay": "虚构住院",
    "pharmacy_skimming": "药店盗刷、空刷、冒名购药",
    "doctor_overcapacity": "医师超负荷接诊",
    "person_stockpiling": "参保人囤药、倒卖",
}
SIGNAL_NAMES = {  # by the signal's code (the first word of its name)
    "S1": "单病种住院量激增（稳健 z 值）",
    "S2": "首位诊断占比",
    "S3": "首位诊断住院天数变异系数",
    "S4": "费用清单相似度",
    "S5": "同时入院人员对数",
    "F1": "在院期间他处就医的矛盾",
    "F2": "无诊疗日占比",
    "F3": "模板化诊疗日占比",
    "F4": "同时入院超额",
    "P1": "住院期间购药",
    "P2": "死亡后购药",
    "P5": "10 分钟内结算人数",
    "P6": "年末结算占比",
    "P7": "购药清单相同的人数",
    "U1": "单月就诊次数",
    "U2": "单月就诊机构数",
    "U3": "同日两家以上机构就诊天数",
    "U4": "每 30 天用药天数",
    "U5": "使用药店数",
    "D1": "超负荷接诊小时数",
    "D2": "单日接诊人次",
    "D3": "次均费用（元）",
    "D4": "夜间、周末接诊占比",
    "D5": "首位药店占比",
}
SHOWN_PER_PATTERN = service.SHOWN_PER_PATTERN  # the ranking's head kept beside the opened leads (near misses)
LEAD_COLUMNS = [
    ("rank", "排名"),
    ("pattern", "模式"),
    ("entity_type", "对象类型"),
    ("entity", "对象"),
    ("level", "线索级别"),
    ("score", "得分"),
    ("amount", "涉及金额"),
    ("flagged", "触发的信号"),
]


def screening_job(progress, *, year: int, actor: str, path: str) -> tuple[Path, str]:
    """(In the job's own process) screen ``year`` (with the year before as the baseline) over a snapshot of the
    settled data; the opened leads and the head of each pattern's ranking replace the year's earlier ones
    (``screening_lead``). Writes a one-line summary to ``path``."""
    from yibao.supervision.screening.run import DETECTORS

    total, done = len(DETECTORS) + 2, [0]
    progress(0, total)

    def step(_what: str) -> None:
        done[0] += 1
        progress(done[0], total)

    kept = service.save(service.screen_year(year, progress=step), actor)
    progress(total, total)
    out = Path(path)
    out.write_text(json.dumps({"year": year, "leads": kept}, ensure_ascii=False), encoding="utf-8")
    return out, f"screening-{year}.json"


def load_result(year: int) -> dict | None:
    """The year's latest screening: ``{"year", "at", "by", "leads"}``, None before the first."""
    return service.latest(year)


def signal_name(name: str) -> str:
    code = name.split(" ")[0]
    return SIGNAL_NAMES.get(code, code)


def number(value, code: str = "") -> str:
    """A signal's value or threshold as people read it (D3 is fen: 元)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    x = float(value)
    if code == "D3":
        return f"{x / 100:,.2f}"
    if x.is_integer() and abs(x) < 1e12:
        return f"{int(x):,}"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def entity_names(s: Session, leads: list[dict]) -> dict[tuple[str, str], str]:
    """Names of the leads' institutions and persons (a doctor as its code)."""
    insts = {x["entity_id"] for x in leads if x["entity_type"] in ("hospital", "pharmacy")}
    persons = {x["entity_id"] for x in leads if x["entity_type"] == "person"}
    inst = dict(
        s.execute(
            select(Institution.fixmedins_code, Institution.fixmedins_name).where(
                Institution.fixmedins_code.in_(sorted(insts) or [""])
            )
        ).all()
    )
    psn = dict(
        s.execute(
            select(Person.psn_no, Person.psn_name).where(Person.psn_no.in_(sorted(persons) or [""]))
        ).all()
    )
    out = {}
    for x in leads:
        key = (x["entity_type"], x["entity_id"])
        name = (
            inst.get(x["entity_id"])
            if x["entity_type"] in ("hospital", "pharmacy")
            else psn.get(x["entity_id"])
        )
        out[key] = f"{name}（{x['entity_id']}）" if name else x["entity_id"]
    return out


def lead_rows(s: Session, result: dict, *, all_ranked: bool = False) -> list[dict]:
    """The leads as the list shows them (opened ones, or also the head of each ranking), typed for ordering."""
    leads = [x for x in result["leads"] if all_ranked or x["opened"]]
    names = entity_names(s, leads)
    return [
        {
            "key": f"{x['pattern']}|{x['entity_id']}",
            "rank": x["rank"],
            "pattern": PATTERN_NAMES.get(x["pattern"], x["pattern"]),
            "entity_type": ENTITY_NAMES.get(x["entity_type"], x["entity_type"]),
            "entity": names[(x["entity_type"], x["entity_id"])],
            "level": LEVEL_NAMES.get(x["level"], x["level"]),
            "score": round(float(x["score"]), 3),
            "amount": fen_to_decimal(int(x["amount_fen"] or 0)),
            "flagged": "、".join(signal_name(sg["name"]) for sg in x["signals"] if sg["flagged"]) or "—",
        }
        for x in sorted(leads, key=lambda x: (x["pattern"], x["rank"]))
    ]


def one_lead(result: dict, key: str) -> dict | None:
    pattern, _, entity = key.partition("|")
    return next((x for x in result["leads"] if x["pattern"] == pattern and x["entity_id"] == entity), None)


def signal_rows(lead: dict) -> list[dict]:
    return [
        {
            "signal": signal_name(sg["name"]),
            "value": number(sg["value"], sg["name"].split(" ")[0]),
            "threshold": number(sg["threshold"], sg["name"].split(" ")[0]),
            "flagged": "是" if sg["flagged"] else "否",
        }
        for sg in lead["signals"]
    ]


# --- the charts -----------------------------------------------------------------------------------------------------


def _year_span(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1), datetime(year + 1, 1, 1)


def _peers(s: Session, code: str) -> list[str]:
    """Hospitals of the same level (起付线等级) as ``code``, itself left out."""
    level = s.scalar(select(Institution.dedc_hosp_lv).where(Institution.fixmedins_code == code))
    return list(
        s.scalars(
            select(Institution.fixmedins_code).where(
                Institution.fixmedins_type == "1",
                Institution.dedc_hosp_lv == level,
                Institution.fixmedins_code != code,
            )
        )
    )


def monthly_admissions(s: Session, code: str, year: int) -> dict:
    """The hospital's admissions (住院 visits begun) each month, and the median of its peers' that month."""
    start, end = _year_span(year)
    month = extract("month", Visit.begntime)
    rows = s.execute(
        select(Visit.fixmedins_code, month, func.count())
        .where(Visit.begntime >= start, Visit.begntime < end, Visit.med_type.like("2%"))
        .group_by(Visit.fixmedins_code, month)
    ).all()
    counts: dict[str, dict[int, int]] = {}
    for inst, m, n in rows:
        counts.setdefault(inst, {})[int(m)] = int(n)
    peers = [p for p in _peers(s, code) if p in counts]
    own = counts.get(code, {})
    return {
        "months": [f"{m}月" for m in range(1, 13)],
        "own": [own.get(m, 0) for m in range(1, 13)],
        "peers": [
            statistics.median([counts[p].get(m, 0) for p in peers]) if peers else None for m in range(1, 13)
        ],
        "peer_count": len(peers),
    }


def los_histogram(s: Session, code: str, year: int) -> dict:
    """The hospital's top main diagnosis of the year's stays, and the stays' lengths (days) against its peers'
    for that diagnosis (their shares scaled to the hospital's number of stays)."""
    from yibao.console.display import diagnosis_names

    start, end = _year_span(year)
    inpatient = (
        Visit.begntime >= start,
        Visit.begntime < end,
        Visit.med_type.like("2%"),
        Visit.endtime.is_not(None),
    )
    top = s.execute(
        select(Visit.dise_codg, func.count())
        .where(Visit.fixmedins_code == code, Visit.dise_codg.is_not(None), *inpatient)
        .group_by(Visit.dise_codg)
        .order_by(func.count().desc(), Visit.dise_codg)
        .limit(1)
    ).first()
    if top is None:
        return {"diagnosis": "", "days": [], "own": [], "peers": []}
    dx = top[0]
    peers = _peers(s, code)

    def lengths(codes: list[str]) -> Counter:
        rows = s.execute(
            select(Visit.begntime, Visit.endtime).where(
                Visit.fixmedins_code.in_(codes or [""]), Visit.dise_codg == dx, *inpatient
            )
        )
        return Counter((e.date() - b.date()).days for b, e in rows)

    own, theirs = lengths([code]), lengths(peers)
    days = list(range(min([*own, *theirs]), max([*own, *theirs]) + 1)) if own or theirs else []
    n, m = sum(own.values()), sum(theirs.values())
    name = diagnosis_names(s, [dx]).get(dx, dx)
    return {
        "diagnosis": f"{name}（{dx}）" if name != dx else dx,
        "days": [f"{d} 天" for d in days],
        "own": [own.get(d, 0) for d in days],
        "peers": [round(theirs.get(d, 0) / m * n, 1) if m else None for d in days],
    }


def settlements_by_minute(s: Session, code: str, year: int) -> dict:
    """The pharmacy's busiest day of the year and its settlements minute by minute (from the first to the last)."""
    start, end = _year_span(year)
    times = [
        t
        for (t,) in s.execute(
            select(Settlement.setl_time).where(
                Settlement.fixmedins_code == code,
                Settlement.setl_time >= start,
                Settlement.setl_time < end,
                Settlement.refd_setl_flag == "0",
            )
        )
    ]
    if not times:
        return {"day": "", "minutes": [], "counts": []}
    busiest = Counter(t.date() for t in times).most_common(1)[0][0]
    per_minute = Counter(t.replace(second=0, microsecond=0) for t in times if t.date() == busiest)
    first, last = min(per_minute), max(per_minute)
    span = [first + timedelta(minutes=i) for i in range(int((last - first).total_seconds() // 60) + 1)]
    return {
        "day": busiest.isoformat(),
        "minutes": [f"{t:%H:%M}" for t in span],
        "counts": [per_minute.get(t, 0) for t in span],
    }
