"""The 筛查线索 read models: a screening result's leads in words (pattern, entity with its name, level, the
flagged signals in Chinese), the charts' data from the database — a hospital's monthly admissions against its
peers' median, the stays' lengths of its top diagnosis against its peers', a pharmacy's settlements by minute
— and the job that screens a year of the database.

Admissions (住院, med_type 21) in 2025, by hospital and month (H3 and OTHER are peers: level 2 and 3 are not the
same level, so H3's peers are none of these; HOSP2 and OTHER are both level 2)::

    HOSP2  Mar ×3 (J18.0, 5, 5, 6 days)    Apr ×1 (J18.0, 7 days)
    OTHER  Mar ×1 (J18.0, 5 days)          Apr ×2 (J18.0 5 days, K35 3 days)
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from tests import world
from yibao.console import queries_supervision_screening as qg
from yibao.store.db import unit_of_work
from yibao.store.tables import ClinicalCode, Visit

RESULT = {
    "year": 2025,
    "at": "2026-01-05T09:00:00",
    "by": "jicha",
    "leads": [
        {
            "entity_type": "hospital",
            "entity_id": world.HOSP2,
            "pattern": "hospital_surge",
            "level": "lead",
            "score": 2.61,
            "amount_fen": 1_234_500,
            "rank": 1,
            "opened": True,
            "signals": [
                {"name": "S1 volume surge z", "value": 4.2, "threshold": 3.0, "flagged": True, "note": "x"},
                {
                    "name": "S2 top-diagnosis share",
                    "value": 0.75,
                    "threshold": 0.4,
                    "flagged": True,
                    "note": "",
                },
                {"name": "S3 LOS CV", "value": float("nan"), "threshold": 0.1, "flagged": False, "note": ""},
            ],
        },
        {
            "entity_type": "person",
            "entity_id": world.WORKER,
            "pattern": "person_stockpiling",
            "level": "none",
            "score": 0.4,
            "amount_fen": 999,
            "rank": 1,
            "opened": False,
            "signals": [{"name": "U5 stores used", "value": 3, "threshold": 9, "flagged": False, "note": ""}],
        },
        {
            "entity_type": "doctor",
            "entity_id": "D0001",
            "pattern": "doctor_overcapacity",
            "level": "case",
            "score": 3.0,
            "amount_fen": 0,
            "rank": 1,
            "opened": True,
            "signals": [
                {"name": "D3 cost per visit (fen)", "value": 12345, "threshold": 10000, "flagged": True}
            ],
        },
    ],
}


def test_leads_in_words(engine):
    world.build(engine)
    with unit_of_work(engine, write=False) as s:
        opened = qg.lead_rows(s, RESULT)
        everything = qg.lead_rows(s, RESULT, all_ranked=True)
    assert [r["entity"] for r in opened] == ["D0001", f"示例市第二人民医院（{world.HOSP2}）"]
    hospital = opened[1]
    assert (hospital["pattern"], hospital["entity_type"], hospital["level"]) == (
        "单病种激增、住院同质",
        "医院",
        "疑点线索",
    )
    assert hospital["flagged"] == "单病种住院量激增（稳健 z 值）、首位诊断占比"
    assert hospital["amount"] == Decimal("12345.00") and hospital["score"] == 2.61
    assert opened[0]["level"] == "立案线索" and opened[0]["entity_type"] == "医师"
    assert [r["entity"] for r in everything][-1] == f"张三（{world.WORKER}）"
    assert everything[-1]["level"] == "未达线索标准" and everything[-1]["flagged"] == "—"
    lead = qg.one_lead(RESULT, f"hospital_surge|{world.HOSP2}")
    assert qg.signal_rows(lead) == [
        {"signal": "单病种住院量激增（稳健 z 值）", "value": "4.2", "threshold": "3", "flagged": "是"},
        {"signal": "首位诊断占比", "value": "0.75", "threshold": "0.4", "flagged": "是"},
        {"signal": "首位诊断住院天数变异系数", "value": "—", "threshold": "0.1", "flagged": "否"},
    ]
    assert qg.signal_rows(qg.one_lead(RESULT, "doctor_overcapacity|D0001"))[0]["value"] == "123.45"  # 元
    assert qg.one_lead(RESULT, "hospital_surge|nobody") is None
    assert set(qg.SIGNAL_NAMES) >= {"S1", "S5", "F4", "P7", "U5", "D5"}


def _stay(s, n: int, inst: str, begin: datetime, days: int, dx: str) -> None:
    s.add(
        Visit(
            mdtrt_id=f"V{n}", psn_no=world.WORKER, fixmedins_code=inst, insutype="310", med_type="21",
            begntime=begin, endtime=begin + timedelta(days=days), dise_codg=dx, status="settled",
        )
    )  # fmt: skip


def test_a_hospitals_charts_against_its_peers(engine):
    world.build(engine)
    h2, other = world.HOSP2, world.OTHER
    with unit_of_work(engine) as s:
        s.add(ClinicalCode(system="icd10", code="J18.0", name="支气管肺炎"))
        for n, (inst, month, days, dx) in enumerate(
            [
                (h2, 3, 5, "J18.0"),
                (h2, 3, 5, "J18.0"),
                (h2, 3, 6, "J18.0"),
                (h2, 4, 7, "J18.0"),
                (other, 3, 5, "J18.0"),
                (other, 4, 5, "J18.0"),
                (other, 4, 3, "K35"),
            ]
        ):
            _stay(s, n, inst, datetime(2025, month, 10 + n, 9), days, dx)
        _stay(s, 99, h2, datetime(2024, 3, 1, 9), 5, "J18.0")  # (another year)
    with unit_of_work(engine, write=False) as s:
        admissions = qg.monthly_admissions(s, h2, 2025)
        los = qg.los_histogram(s, h2, 2025)
        none = qg.los_histogram(s, world.HOSP3, 2025)
    assert admissions["own"][2:4] == [3, 1] and sum(admissions["own"]) == 4
    assert admissions["peer_count"] == 1 and admissions["peers"][2:4] == [1, 2]  # OTHER alone: its counts
    assert los["diagnosis"] == "支气管肺炎（J18.0）"
    assert los["days"] == ["5 天", "6 天", "7 天"] and los["own"] == [2, 1, 1]
    assert los["peers"] == [4.0, 0.0, 0.0]  # OTHER's J18.0 stays: both 5 days, scaled to H2's 4 stays
    assert none == {"diagnosis": "", "days": [], "own": [], "peers": []}


def test_settlements_by_minute_and_the_screening_job(engine, tmp_path, monkeypatch):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from yibao.api import routes_fsi
    from yibao.api.facade_route import FacadeFront

    world.build(engine)
    monkeypatch.setenv("YIBAO_DATA_DIR", str(tmp_path))
    from yibao.config import reset_settings

    reset_settings()
    app = FastAPI()
    app.include_router(routes_fsi.router)
    today = date.today()
    with TestClient(FacadeFront(app)) as client:
        his = world.His(client, world.HOSP3)
        for _ in range(3):
            world.settle_outpatient(his, today.isoformat(), "12.50")
    with unit_of_work(engine, write=False) as s:
        minutes = qg.settlements_by_minute(s, world.HOSP3, today.year)
        assert qg.settlements_by_minute(s, world.PHARMACY, today.year)["counts"] == []
    assert minutes["day"] == today.isoformat() and sum(minutes["counts"]) == 3
    assert len(minutes["minutes"]) == len(minutes["counts"]) and minutes["counts"][-1] >= 1
    # the job over the database: a snapshot of the year (and the one before) screened, the leads kept (the
    # detectors themselves are the screening's tests; here a stand-in ranks the snapshot's institutions)
    from yibao.supervision.screening import leads as sl
    from yibao.supervision.screening import run

    seen = {}

    def screen(folder, year, params=None, patterns=None, progress=None):
        import pyarrow.parquet as pq

        seen["visits"] = pq.read_table(folder / "raw_visits.parquet").num_rows
        signal = sl.Signal("P5 persons in 10 min", 3.0, 2.0, True, "")
        ranked = [
            sl.Lead("pharmacy", world.HOSP3, "pharmacy_skimming", sl.LEAD, 1.5, (signal,), 3750, rank=1)
        ]
        ranked += [
            sl.Lead("pharmacy", f"X{i}", "pharmacy_skimming", sl.NONE, 0.1, (), 0, rank=i)
            for i in range(2, 14)
        ]
        if progress:
            for p in run.DETECTORS:
                progress(p)
        return run.Screening(year, {"pharmacy_skimming": ranked})

    monkeypatch.setattr(run, "screen", screen)
    ticks = []
    path, name = qg.screening_job(
        lambda done, total=None: ticks.append((done, total)),
        year=today.year,
        actor="jicha",
        path=str(tmp_path / "job.json"),
    )
    assert json.loads(path.read_text(encoding="utf-8")) == {"year": today.year, "leads": qg.SHOWN_PER_PATTERN}
    assert name == f"screening-{today.year}.json"
    saved = qg.load_result(today.year)  # kept in the database (screening_lead)
    assert seen["visits"] == 3  # the year's three settled visits
    assert saved["by"] == "jicha" and saved["year"] == today.year and ticks[-1][0] == ticks[-1][1]
    assert [(x["entity_id"], x["opened"]) for x in saved["leads"]][:2] == [(world.HOSP3, True), ("X2", False)]
    assert len(saved["leads"]) == qg.SHOWN_PER_PATTERN  # the opened lead and the ranking's head, no more
    assert qg.load_result(today.year - 1) is None
    # a second screening of the year replaces the first
    qg.screening_job(lambda *_: None, year=today.year, actor="jicha2", path=str(tmp_path / "job2.json"))
    again = qg.load_result(today.year)
    assert again["by"] == "jicha2" and len(again["leads"]) == qg.SHOWN_PER_PATTERN
    with unit_of_work(engine, write=False) as s:
        [row] = qg.lead_rows(s, saved)
    assert row["entity"] == f"示例市第一人民医院（{world.HOSP3}）" and row["flagged"] == "10 分钟内结算人数"


@pytest.mark.parametrize(
    ("value", "code", "shown"),
    [(3, "", "3"), (12_345.0, "", "12,345"), (0.123456, "", "0.123"), (None, "", "—"), (250, "D3", "2.50")],
)
def test_numbers(value, code, shown):
    assert qg.number(value, code) == shown
