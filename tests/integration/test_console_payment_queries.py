"""The 付费 read models: grouped cases counted and filtered by the database (voided lists and reversed
settlements left out), one case's trace in Chinese with the CC/MCC marks, the 歧义 / 未入组 worklist with its
reasons, and the CMI arithmetic against a hand-computed example."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from tests import payment_cases as pc
from tests import world
from yibao.console import queries_payment as qp
from yibao.console import queries_payment_cmi as qc
from yibao.console.export import export_lists, write_xlsx
from yibao.store import settlement_lists as lists
from yibao.store.db import unit_of_work
from yibao.store.tables import ClinicalCode, Department, Settlement, SettlementList, SettlementListGroup

H2, H3 = world.HOSP2, world.HOSP3
MARCH, APRIL = datetime(2025, 3, 6, 9, 0), datetime(2025, 4, 10, 9, 0)


def _cases(engine) -> None:
    """Seven settled stays, hand-costed:

    ============ ===== ========= ======== ============= =====================
    setl_id      inst  insutype  cost     discharged    grouping
    ============ ===== ========= ======== ============= =====================
    S1           H3    390       6000.00  March         GD13 (J18.900 a CC)
    S2           H3    310       8000.00  March         GD13
    S3           H3    390       4000.00  March         GD15
    S4           H2    390       2000.00  April         GD15
    S5           H2    310      10000.00  April         GQY  (歧义)
    S6           H2    390       3000.00  April         0000 (未入组)
    S7           H3    390      99000.00  March         GD13, then voided: not counted
    S8           H3    390      50000.00  March         GD15, settlement reversed since: not counted
    (S1 also has an earlier grouping, GD15, no longer current: not counted)
    ============ ===== ========= ======== ============= =====================

    Grouped cases: GD13 2 cases, 14,000.00 (mean 7,000); GD15 2 cases, 6,000.00 (mean 3,000); all 4 cases
    20,000.00 (mean 5,000). RW GD13 = 7000/5000 = 7/5, RW GD15 = 3000/5000 = 3/5.
    CMI H3 = (2 × 7/5 + 3/5) / 3 = 17/15 = 1.1333…; CMI H2 = (3/5) / 1 = 0.6; the region (8/5 × … ) = 1.
    """
    world.build(engine)
    with unit_of_work(engine) as s:
        s.add(ClinicalCode(system="icd10", code="K35.200", name="急性阑尾炎伴弥漫性腹膜炎"))
        s.add(ClinicalCode(system="icd10", code="J18.900", name="肺炎"))
        s.add(Department(fixmedins_code=H3, dept_code="D01", dept_name="普外科"))
        rows = [
            ("S1", world.RESIDENT, H3, "390", 600_000, MARCH, pc.APPENDIX, pc.APPENDECTOMY, "D01"),
            ("S2", world.WORKER, H3, "310", 800_000, MARCH, pc.APPENDIX, pc.APPENDECTOMY, "D01"),
            ("S3", world.RESIDENT, H3, "390", 400_000, MARCH, pc.APPENDIX_ONLY, pc.APPENDECTOMY, None),
            ("S4", world.POOR, H2, "390", 200_000, APRIL, pc.APPENDIX_ONLY, pc.APPENDECTOMY, None),
            ("S5", world.WORKER, H2, "310", 1_000_000, APRIL, pc.APPENDIX, pc.HIP, None),
            ("S6", world.POOR, H2, "390", 300_000, APRIL, pc.HEAD_INJURY, (), None),
            ("S7", world.RESIDENT, H3, "390", 9_900_000, MARCH, pc.APPENDIX, pc.APPENDECTOMY, None),
            ("S8", world.RESIDENT, H3, "390", 5_000_000, MARCH, pc.APPENDIX_ONLY, pc.APPENDECTOMY, None),
        ]
        for setl_id, psn, inst, ins, fen, day, dx, px, dept in rows:
            pc.settled(s, setl_id, psn, inst, ins, fen, day, dept_code=dept)
            pc.upload(s, setl_id, dx, px)
        lists.set_status(s, s.get(SettlementList, "LS7"), "0", actor="test", now=MARCH)
        # an earlier grouping of S1 (before a regrouping): kept as history, never counted
        s.add(
            SettlementListGroup(
                setl_list_id="LS1",
                kind="drg",
                scheme="chs-drg-1.1",
                pack_hash="0" * 64,
                grouper_version="0.0.1",
                status="ok",
                mdc="MDCG",
                adrg="GD1",
                group_code="GD15",
                trace={},
                grouped_at=datetime(2025, 3, 7),
                is_current=False,
            )
        )
        s.get(Settlement, "S8").reversed_by = "S8R"


def _ids(s, f: qp.GroupFilter, **kw) -> list[str]:
    return [r["setl_id"] for r in qp.group_records(s, f, **kw)]


def test_grouped_cases_are_counted_and_filtered_by_the_database(engine):
    _cases(engine)
    with unit_of_work(engine, write=False) as s:
        everything = qp.GroupFilter()
        assert qp.group_count(s, everything) == 6  # S7 voided, S8 reversed
        assert sorted(_ids(s, everything)) == ["S1", "S2", "S3", "S4", "S5", "S6"]
        by_cost = _ids(s, everything, order=("medfee_sumamt", True))
        assert by_cost == ["S5", "S2", "S1", "S3", "S6", "S4"]  # as numbers, over the whole list
        # pages put together are the list, in order
        pages = [_ids(s, everything, limit=4, order=("medfee_sumamt", True))]
        pages.append(_ids(s, everything, limit=4, offset=4, order=("medfee_sumamt", True)))
        assert pages[0] + pages[1] == by_cost

        def count(**kw) -> int:
            f = qp.GroupFilter(**kw)
            assert qp.group_count(s, f) == len(list(qp.group_records(s, f)))
            return qp.group_count(s, f)

        assert count(fixmedins_code=H3) == 3 and count(fixmedins_code=H2) == 3
        assert count(date_from=date(2025, 4, 1)) == 3 and count(date_to=date(2025, 3, 6)) == 3
        assert count(insutype="310") == 2
        assert count(status="ok") == 4 and count(status="qy") == 1 and count(status="ungrouped") == 1
        assert count(mdc="MDCG") == 5  # the QY case is of MDCG too; the ungrouped one has no MDC
        assert count(drg="gd1") == 4 and count(drg="GD13") == 2 and count(drg="GQY") == 1
        assert count(drg="GD15") == 2  # S3, S4: not S1's earlier grouping

        first = next(iter(qp.group_records(s, qp.GroupFilter(drg="GD13"), order=("setl_id", False))))
        assert first["main_diag"] == "K35.200 急性阑尾炎伴弥漫性腹膜炎"  # the code table's name
        assert first["main_oprn"] == "47.0901 上传的手术 47.0901"  # (no code table entry: as uploaded)
        assert first["mdc"] == "MDCG 消化系统疾病及功能障碍" and first["adrg"].startswith("GD1 ")
        assert first["drg"].startswith("GD13 ") and first["status"] == "已入组"
        assert first["dept_name"] == "普外科" and first["medfee_sumamt"] == Decimal("6000.00")
        assert first["dscg_date"] == date(2025, 3, 6) and first["psn_name"] == "王五"


def test_a_case_explains_its_group_in_chinese(engine):
    _cases(engine)
    with unit_of_work(engine, write=False) as s:
        c = qp.case_detail(s, "S1")
        assert qp.case_detail(s, "NO-SUCH") is None
        voided = qp.case_detail(s, "S7")
    g = c["group"]
    assert (g["scheme"], g["status"], g["drg"][:4], len(g["pack_hash"])) == (
        "chs-drg-1.1",
        "已入组",
        "GD13",
        64,
    )
    marks = {d["code"]: d["mark"] for d in c["diagnoses"]}
    assert marks == {"K35.200": "", "J18.900": "CC", "E11.900": "非 CC/MCC"}
    assert c["diagnoses"][0]["role"] == "主要诊断" and c["diagnoses"][1]["name"] == "肺炎"
    text = [f"{step['stage']}｜{step['text']}" for step in c["steps"]]
    assert text[0] == (
        "主要诊断大类（MDC）｜进入 MDCG 消化系统疾病及功能障碍：主要诊断 K35.200（急性阑尾炎伴弥漫性腹膜炎）在 MDCG 主诊表"
    )
    assert text[1].startswith("核心疾病诊断相关组（ADRG）｜入 ADRG GD1 ")
    assert "主要手术 47.0901（上传的手术 47.0901）在主要手术或操作表" in text[1]
    assert text[2] == (
        "并发症或合并症（CC/MCC）｜其他诊断 J18.900（肺炎）：是并发症或合并症（CC），计入（主要诊断不在其排除表（表 7-101）中）"
    )
    assert text[3] == "并发症或合并症（CC/MCC）｜其他诊断 E11.900（上传的诊断 E11.900）：不是 CC 或 MCC"
    assert text[4].startswith("细分组（DRG）｜入 DRG GD13 ") and "病例伴并发症或合并症" in text[4]
    assert not any(w in " ".join(text) for w in ("None", "steps", "MCC 计入"))
    assert voided["valid"] is False  # the voided list still shows, marked


def test_the_worklist_gives_each_case_its_reason_and_what_to_check(engine):
    _cases(engine)
    with unit_of_work(engine, write=False) as s:
        f = qp.GroupFilter()
        assert qp.worklist_count(s, f) == 2
        rows = list(qp.worklist_records(s, f))
        summary = qp.worklist_summary(s, f)
        assert qp.worklist_count(s, qp.GroupFilter(status="qy")) == 1
        assert qp.worklist_count(s, qp.GroupFilter(fixmedins_code=H3)) == 0
    assert [r["setl_id"] for r in rows] == ["S5", "S6"]  # by institution, then discharge date
    qy, ungrouped = rows
    assert qy["status"] == "歧义" and "81.5100" in qy["reason"] and "歧义组" in qy["reason"]
    assert "主要手术" in qy["advice"]
    assert ungrouped["status"] == "未入组" and "S06.500x007" in ungrouped["reason"]
    assert "先期分组" in ungrouped["advice"]
    assert summary == [
        {
            "fixmedins_code": H2,
            "fixmedins_name": "示例市第二人民医院",
            "cases": 3,
            "ok": 1,
            "qy": 1,
            "ungrouped": 1,
            "to_fix": 2,
            "share": "66.7%",
        }
    ]


def test_cmi_against_the_hand_computed_example(engine):
    _cases(engine)
    with unit_of_work(engine, write=False) as s:
        st = qc.stats(s, qc.CmiFilter())
        units = {r["fixmedins_code"]: r for r in qc.unit_records(s, qc.CmiFilter())}
        weights = {r["drg"]: r for r in qc.weight_records(s, qc.CmiFilter())}
        depts = list(qc.unit_records(s, qc.CmiFilter(by="department")))
        workers = {r["fixmedins_code"]: r for r in qc.unit_records(s, qc.CmiFilter(insutype="310"))}
        march = qc.unit_count(s, qc.CmiFilter(date_to=date(2025, 3, 31)))
    assert st.weights == {"GD13": Fraction(7, 5), "GD15": Fraction(3, 5)}
    assert (st.cases, st.fen) == (4, 2_000_000)
    assert weights["GD13"]["rw"] == Decimal("1.4000") and weights["GD15"]["rw"] == Decimal("0.6000")
    assert weights["GD13"]["mean_cost"] == Decimal("7000.00") and weights["GD13"]["cases"] == 2
    h3, h2 = units[H3], units[H2]
    assert (h3["cases"], h3["grouped"], h3["to_fix"], h3["drg_groups"]) == (3, 3, 0, 2)
    assert h3["weight"] == Decimal("3.4000") and h3["cmi"] == Decimal("1.1333")  # 17/15
    assert (h2["cases"], h2["grouped"], h2["to_fix"], h2["drg_groups"]) == (3, 1, 2, 1)
    assert h2["cmi"] == Decimal("0.6000") and h2["medfee"] == Decimal("15000.00")
    assert h2["mean_cost"] == Decimal("5000.00")  # of all its cases, grouped or not
    # the case-weighted mean of the weights is exactly 1: the region's CMI
    assert sum(r["cmi_exact"] * r["grouped"] for r in st.units) / st.cases == 1
    # by department: H3's 普外科 (S1, S2: two GD13) and its cases without one
    by_dept = {(r["fixmedins_code"], r["dept_name"]): r for r in depts}
    assert set(by_dept) == {(H3, "普外科"), (H3, qc.NO_DEPT), (H2, qc.NO_DEPT)}
    assert by_dept[(H3, "普外科")]["cmi"] == Decimal("1.4000") and by_dept[(H3, qc.NO_DEPT)][
        "cmi"
    ] == Decimal("0.6000")
    # 职工 only: S2 (GD13 8,000) alone is grouped, RW 1 and CMI 1; S5 is 歧义
    assert workers[H3]["cmi"] == Decimal("1.0000") and workers[H2]["cmi"] is None
    assert march == 1


def test_every_payment_list_exports(engine, tmp_path):
    _cases(engine)
    specs = export_lists()
    with unit_of_work(engine, write=False) as s:
        for name, flt, n in (
            ("payment_groups", qp.GroupFilter(), 6),
            ("payment_worklist", qp.GroupFilter(), 2),
            ("payment_cmi", qc.CmiFilter(), 2),
            ("payment_cmi_dept", qc.CmiFilter(by="department"), 3),
            ("payment_weights", qc.CmiFilter(), 2),
        ):
            spec = specs[name]
            assert spec.count(s, flt) == n
            written = write_xlsx(tmp_path / f"{name}.xlsx", spec.title, spec.columns, spec.rows(s, flt))
            assert written == n, name
        rows = list(specs["payment_cmi"].rows(s, qc.CmiFilter()))
    assert {r["cmi"] for r in rows} == {1.1333, 0.6}  # numbers with their four places in the sheet
