"""Shared by the provider service tests: the world in the database, a complete application of a new hospital,
a panel that meets the demo region's scheme, and a scorer's sheet at a share of full marks."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

from sqlalchemy import select

from tests import world
from yibao.providers.scheme import load_scheme
from yibao.providers.service import applications, evaluations
from yibao.store.db import unit_of_work
from yibao.store.tables import AuditLog
from yibao.validation import org_check_char, uscc_check_char

REPO = Path(__file__).resolve().parents[2]
SCHEME = load_scheme(REPO / "regions" / "990100" / "providers")
STAFF = "clerk"
ADMDVS = "990100"
# a day of the world's 2025: the institutions of tests.world hold standing agreements from 2020
DAY = date(2025, 3, 3)


def at(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time()).replace(hour=9)


def make_uscc(kind: str, org: str) -> str:
    """A valid 统一社会信用代码: ``kind`` (52 民办非企业, 91 企业, 12 事业单位), region 990102, the 8-digit ``org``."""
    first16 = f"{kind}990102{org}{org_check_char(org)}"
    return first16 + uscc_check_char(first16)


PRIVATE_USCC = make_uscc("52", "12345678")
PUBLIC_USCC = make_uscc("12", "87654321")


def hospital_org(opened_on: date = date(2024, 6, 1), **over) -> dict:
    org = {
        "name": "示例康复医院",
        "uscc": PRIVATE_USCC,
        "class": "hospital",
        "beds": 120,
        "hosp_lv": "8",
        "dedc_hosp_lv": 2,
        "opened_on": opened_on.isoformat(),
        "licence_no": "PDY00001X99010217A1001",
        "licence_begndate": "2024-05-01",
        "licence_enddate": "2029-04-30",
        "departments": ["内科", "康复医学科"],
        "staff": [{"name": "李医生", "qualification": "执业医师"}],
        "info_ready": True,
        "legal_rep": "王法人",
        "address": "示例市东城区康复路1号",
        "materials": list(SCHEME.application.required_materials["hospital"]),
    }
    return org | over


def panel(affiliation: str | None = None) -> list[dict]:
    """Three experts (one per field), two supervisors: five sheets, so the trimmed mean drops two."""
    fields = ["医保管理", "信息技术", "医疗质控"]
    experts = [
        {"scorer_id": f"E{i}", "name": f"专家{i}", "role": "expert", "field": f, "affiliation": None}
        for i, f in enumerate(fields, start=1)
    ]
    supervisors = [
        {
            "scorer_id": "S1",
            "name": "代表甲",
            "role": "supervisor",
            "field": "人大代表",
            "affiliation": affiliation,
        },
        {"scorer_id": "S2", "name": "参保人乙", "role": "supervisor", "field": "参保人", "affiliation": None},
    ]
    return experts + supervisors


def scores(share: str) -> dict[str, str]:
    """Every indicator at ``share`` of its full marks (two decimals, rounded down)."""
    f = Decimal(share)
    return {
        i.code: str((i.max_points * f).quantize(Decimal("0.01"), rounding=ROUND_DOWN))
        for i in SCHEME.evaluation.indicators
    }


def build(engine) -> None:
    world.build(engine)


def accepted_application(engine, day: date = DAY, **org) -> str:
    with unit_of_work(engine) as s:
        app = applications.submit(
            s, kind="apply", admdvs=ADMDVS, org=hospital_org(**org), services=["S01", "S04", "S05"],
            actor="counter", now=at(day),
        )  # fmt: skip
        applications.accept(s, app.appl_no, actor=STAFF, now=at(day))
        assert app.status == "accepted", app.problems
        return app.appl_no


def passed_application(engine, day: date = DAY, share: str = "0.8") -> str:
    appl_no = accepted_application(engine, day)
    with unit_of_work(engine) as s:
        evaluations.appoint_panel(s, appl_no, scorers=panel(), actor=STAFF, now=at(day))
        for x in panel():
            evaluations.record_sheet(
                s, appl_no, scorer_id=x["scorer_id"], scores=scores(share), actor=STAFF, now=at(day)
            )
        evaluations.conclude_evaluation(s, appl_no, actor=STAFF, now=at(day))
    return appl_no


def audit_actions(engine, entity_id: str) -> list[str]:
    with unit_of_work(engine, write=False) as s:
        return list(
            s.scalars(select(AuditLog.action).where(AuditLog.entity_id == entity_id).order_by(AuditLog.seq))
        )
