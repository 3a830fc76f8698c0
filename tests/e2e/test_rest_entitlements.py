"""REST resources of a person's entitlements on both databases: identities, chronic registrations and 惠民保
years listed, added, ended (and a registration revoked), with the refusals the import gives — 404 for what
does not exist, 422 naming the field — each change audited with the handler as actor."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests import world
from tests.rest import bearer, ok, refused
from tests.world import HOSP2, POOR, RESIDENT, WORKER
from yibao.api.app import create_app
from yibao.ingest.region import load_dictionaries
from yibao.security import create_user
from yibao.store.db import unit_of_work
from yibao.store.tables import NATIONAL, AuditLog, Identity

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def api(engine):
    world.build(engine)
    load_dictionaries(engine, REPO / "regions" / "000000" / "dictionaries", NATIONAL)
    load_dictionaries(engine, REPO / "regions" / "990100" / "dictionaries", "990100")
    with unit_of_work(engine) as s:
        create_user(s, "jb", "王经办", ["handler"], "pass-word-1", actor="test")
        create_user(s, "sh", "李审核", ["reviewer"], "pass-word-2", actor="test")
    with TestClient(create_app(console=False)) as c:
        c.headers.update(bearer(c, "jb", "pass-word-1"))
        yield c


def actions(engine, entity: str) -> list[tuple[str, str]]:
    with unit_of_work(engine, write=False) as s:
        return [
            (a.action, a.actor)
            for a in s.scalars(select(AuditLog).where(AuditLog.entity == entity).order_by(AuditLog.seq))
        ]


def test_identities_added_refused_and_ended(api, engine):
    base = f"/api/persons/{RESIDENT}/identities"
    low = ok(
        api.post(base, json={"psn_idet_type": "2303", "begntime": "2025-01-01", "idet_org": "示例市民政局"}),
        201,
    )
    assert (low["psn_idet_type_name"], low["idet_org"], low["endtime"], low["valid"]) == (
        "最低生活保障对象",
        "示例市民政局",
        None,
        True,
    )
    assert refused(api.post(base, json={"psn_idet_type": "2303", "begntime": "2025-01-01"})) == (
        f"begntime: 已有同一开始日期的人员身份 (identity {low['id']}: 2303 自 2025-01-01)；请修改或结束该记录"
    )
    assert refused(api.post(base, json={"psn_idet_type": "2303", "begntime": "2025-06-01"})).startswith(
        f"begntime: 与现有人员身份重叠 (identity {low['id']}: 2303 自 2025-01-01 起)"
    )
    assert refused(api.post(base, json={"psn_idet_type": "25", "begntime": "2025-01-01"})) == (
        "psn_type_lv: 残疾人员须填残疾等级 1–4（一级至四级）"
    )
    assert refused(api.post(base, json={"psn_idet_type": "9999", "begntime": "2025-01-01"})) == (
        "psn_idet_type: 不在字典 psn_idet_type 中: 9999"
    )
    assert refused(
        api.post(base, json={"psn_idet_type": "2302", "begntime": "2025-03-01", "endtime": "2025-01-01"})
    ) == ("endtime: 结束日期 2025-01-01 早于开始日期 2025-03-01")
    disabled = ok(
        api.post(base, json={"psn_idet_type": "25", "psn_type_lv": "三级", "begntime": "2024-05-01"}), 201
    )
    assert (disabled["psn_type_lv"], disabled["psn_type_lv_name"], disabled["psn_idet_type_name"]) == (
        "3",
        "三级",
        "残疾人员",
    )
    assert refused(
        api.post("/api/persons/P9999/identities", json={"psn_idet_type": "2303", "begntime": "2025-01-01"}),
        404,
    ) == ("psn_no: 人员不存在 P9999")
    assert isinstance(
        refused(api.post(base, json={"begntime": "2025-01-01"})), list
    )  # the field is named in loc

    end = f"{base}/{low['id']}/end"
    assert (
        refused(api.post(end, json={"date": "2024-12-31"}))
        == "date: 结束日期 2024-12-31 早于开始日期 2025-01-01"
    )
    assert ok(api.post(end, json={"date": "2025-06-30"}))["endtime"] == "2025-06-30"
    assert refused(api.post(end, json={"date": "2025-07-31"})) == "date: 该人员身份已于 2025-06-30 结束"
    assert refused(
        api.post(f"/api/persons/{WORKER}/identities/{low['id']}/end", json={"date": "2025-06-30"}), 404
    ) == (f"identity: 人员 {WORKER} 没有人员身份 {low['id']}")
    items = ok(api.get(base))["items"]
    assert [(i["psn_idet_type"], i["endtime"]) for i in items] == [("25", None), ("2303", "2025-06-30")]
    assert actions(engine, "identity") == [("register", "jb"), ("register", "jb"), ("end", "jb")]
    with unit_of_work(engine, write=False) as s:  # nothing written by any refusal
        assert len(s.scalars(select(Identity).where(Identity.psn_no == RESIDENT)).all()) == 2


def test_a_reviewer_reads_but_does_not_write(api):
    anon = TestClient(api.app)
    reviewer = bearer(anon, "sh", "pass-word-2")
    assert (
        ok(anon.get(f"/api/persons/{POOR}/entitlements", headers=reviewer))["identities"][0]["psn_idet_type"]
        == "2303"
    )
    r = anon.post(
        f"/api/persons/{POOR}/identities",
        headers=reviewer,
        json={"psn_idet_type": "2302", "begntime": "2025-01-01"},
    )
    assert r.status_code == 403 and "person.write" in r.json()["detail"]
    assert anon.get(f"/api/persons/{POOR}/identities").status_code == 401


def test_chronic_registrations_added_ended_and_revoked(api, engine):
    base = f"/api/persons/{RESIDENT}/chronic-registrations"
    reg = ok(
        api.post(base, json={"opsp_dise_code": "M01600", "begndate": "2025-01-01", "fixmedins_code": HOSP2}),
        201,
    )
    assert (reg["opsp_dise_name"], reg["fixmedins_name"], reg["status"], reg["status_name"]) == (
        "糖尿病",
        "示例市第二人民医院",
        "approved",
        "已备案",
    )
    assert refused(api.post(base, json={"opsp_dise_code": "M04800", "begndate": "2025-01-01"})) == (
        "opsp_dise_code: 待遇政策未设此门诊慢特病病种: M04800"
    )
    assert (
        refused(
            api.post(
                base,
                json={"opsp_dise_code": "M03900", "begndate": "2025-01-01", "fixmedins_code": "H99010299999"},
            )
        )
        == "fixmedins_code: 定点医药机构不存在: H99010299999"
    )
    assert refused(api.post(base, json={"opsp_dise_code": "M01600", "begndate": "2025-02-01"})).startswith(
        f"begndate: 与现有门诊慢特病备案重叠 (chronic_registration {reg['id']}: M01600 自 2025-01-01 起)"
    )
    assert ok(api.post(f"{base}/{reg['id']}/end", json={"date": "2025-12-31"}))["enddate"] == "2025-12-31"
    assert ok(api.post(f"{base}/{reg['id']}/revoke"))["status"] == "revoked"
    assert refused(api.post(f"{base}/{reg['id']}/revoke")) == "status: 当前状态为 已撤销，不能撤销"
    assert (
        refused(api.post(f"{base}/999999/revoke"), 404)
        == f"chronic_registration: 人员 {RESIDENT} 没有门诊慢特病备案 999999"
    )
    # revoked, it holds no period: the disease may be registered again over the same dates
    ok(api.post(base, json={"opsp_dise_code": "M01600", "begndate": "2025-02-01"}), 201)
    assert actions(engine, "chronic_registration") == [
        ("register", "jb"),
        ("end", "jb"),
        ("revoke", "jb"),
        ("register", "jb"),
    ]


def test_huiminbao_years_added_and_cancelled(api, engine):
    base = f"/api/persons/{WORKER}/supplementary"
    assert ok(api.post(base, json={"year": 2025}), 201) == {
        "psn_no": WORKER,
        "year": 2025,
        "product": "huiminbao",
    }
    assert (
        refused(api.post(base, json={"year": 2025, "product": "其他"}))
        == "year: 已参加 2025 年惠民保 (huiminbao)"
    )
    assert refused(api.post(base, json={"year": 2101})) != ""  # out of the schema's range: FastAPI's 422
    assert [r["year"] for r in ok(api.get(base))["items"]] == [2025]
    assert ok(api.post(f"{base}/2025/end"))["items"] == []
    assert refused(api.post(f"{base}/2025/end"), 404) == f"year: 人员 {WORKER} 没有 2025 年惠民保"
    assert actions(engine, "supplementary_enrollment") == [("register", "jb"), ("cancel", "jb")]
