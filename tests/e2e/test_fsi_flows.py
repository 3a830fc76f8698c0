"""The national facade end to end on both databases: outpatient, inpatient and pharmacy flows,
checked against the kernel run directly on the same inputs; the ledger agrees afterwards."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.kernel_helpers import demo_bundle, fee
from tests.world import HOSP2, HOSP3, PHARMACY, POOR, RESIDENT, WORKER, His, line
from yibao.funds.check import check_ledger
from yibao.settlement import online
from yibao.settlement.inputs import Dated, PersonFacts, VisitRequest
from yibao.store.db import unit_of_work


def ledger_ok(engine):
    with unit_of_work(engine, write=False) as s:
        report = check_ledger(s)
    assert report.ok, report.problems
    return report


def test_outpatient_flow(client, engine):
    his = His(client, HOSP2)
    info = his.ok(
        "1101",
        {
            "data": {
                "mdtrt_cert_type": "02",
                "mdtrt_cert_no": "110101198001010011",
                "psn_cert_type": "01",
                "certno": "110101198001010011",
                "psn_name": "张三",
            }
        },
    )
    assert info["baseinfo"]["psn_no"] == WORKER
    assert info["insuinfo"][0]["balc"] == Decimal("1000.00") and info["insuinfo"][0]["insutype"] == "310"
    mdtrt = his.ok(
        "2201",
        {
            "data": {
                "psn_no": WORKER,
                "insutype": "310",
                "begntime": "2025-03-01 09:00:00",
                "mdtrt_cert_type": "02",
                "mdtrt_cert_no": "110101198001010011",
            }
        },
    )["data"]["mdtrt_id"]
    his.ok(
        "2203",
        {
            "mdtrtinfo": {
                "mdtrt_id": mdtrt,
                "psn_no": WORKER,
                "med_type": "11",
                "begntime": "2025-03-01 09:00:00",
                "dise_codg": "J06.900",
                "dise_name": "急性上呼吸道感染",
            },
            "diseinfo": [
                {"diag_type": "1", "maindiag_flag": "1", "diag_code": "J06.900", "diag_name": "上感"}
            ],
        },
    )
    result = his.ok(
        "2204",
        {
            "feedetail": [
                line("1", "A1", "400.00", mdtrt_id=mdtrt, chrg_bchno="B1"),
                line("2", "B2", "1500.00", mdtrt_id=mdtrt, chrg_bchno="B1"),
                line("3", "C1", "100.00", mdtrt_id=mdtrt, chrg_bchno="B1"),
            ]
        },
    )["result"]
    assert [r["inscp_scp_amt"] for r in result] == [Decimal("400.00"), Decimal("960.00"), Decimal("0.00")]
    assert result[1]["overlmt_amt"] == Decimal("300.00") and result[2]["fulamt_ownpay_amt"] == Decimal(
        "100.00"
    )
    data = {
        "psn_no": WORKER,
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": "110101198001010011",
        "med_type": "11",
        "medfee_sumamt": Decimal("2000.00"),
        "psn_setlway": "01",
        "mdtrt_id": mdtrt,
        "chrg_bchno": "B1",
        "insutype": "310",
        "acct_used_flag": "1",
    }
    pre = his.ok("2206", {"data": data})
    assert "setl_id" not in pre["setlinfo"]
    setl = his.ok("2207", {"data": data})
    info = setl["setlinfo"]
    assert info == {
        **info,
        **{k: v for k, v in pre["setlinfo"].items() if k not in ("setl_time", "medins_setl_id")},
    }
    # the same inputs through the kernel directly (the scenario result)
    expected, _, _ = online.settle(
        demo_bundle(),
        PersonFacts("310", "11"),
        VisitRequest(
            "11",
            date(2025, 3, 1),
            [fee(1, "400.00"), fee(2, "1500.00", selfpay="0.20", cap="1200.00"), fee(3, "100.00")],
            hosp_lv=2,
            acct_used_flag=1,
        ),
        {},
        100_000,
    )
    for k, v in expected.setlinfo_json().items():
        assert info[k] == Decimal(v), k
    assert (
        info["setl_id"]
        and info["psn_name"] == "张三"
        and info["balc"] == Decimal(expected.setlinfo_json()["balc"])
    )
    assert [d["fund_pay_type"] for d in setl["setldetail"]] == ["310100", "310200"]
    ledger_ok(engine)
    # after settlement: more fees and settling again are refused; the reversal restores the account
    his.fails("2204", {"feedetail": [line("9", "A1", "1.00", mdtrt_id=mdtrt)]}, "不能上传费用")
    his.fails("2207", {"data": data}, "不能再结算")
    rev = his.ok("2208", {"data": {"psn_no": WORKER, "mdtrt_id": mdtrt, "setl_id": info["setl_id"]}})[
        "setlinfo"
    ]
    assert rev["hifp_pay"] == -info["hifp_pay"] and rev["balc"] == Decimal("1000.00")
    his.fails(
        "2208", {"data": {"psn_no": WORKER, "mdtrt_id": mdtrt, "setl_id": info["setl_id"]}}, "不能重复撤销"
    )
    his.fails("2208", {"data": {"psn_no": WORKER, "mdtrt_id": mdtrt, "setl_id": rev["setl_id"]}}, "撤销记录")
    again = his.ok("2207", {"data": data})[
        "setlinfo"
    ]  # the lines are open again: same result as the first time
    assert again["hifp_pay"] == info["hifp_pay"] and again["act_pay_dedc"] == info["act_pay_dedc"]
    acc = his.ok("5206", {"data": {"psn_no": WORKER, "cum_ym": "202503"}})["cuminfo"]
    assert {r["cum_type_code"]: r["cum"] for r in acc}["dedc:outpatient"] == Decimal("100.00")
    q = his.ok("5203", {"data": {"psn_no": WORKER, "setl_id": again["setl_id"], "mdtrt_id": mdtrt}})[
        "setlinfo"
    ]
    assert q["psn_pay"] == again["psn_part_amt"] and q["refd_setl_flag"] == "0"
    report = ledger_ok(engine)
    assert report.settlements == 3


def test_inpatient_flow_with_mid_settlement(client, engine):
    his = His(client, HOSP3)
    mdtrt = his.ok(
        "2401",
        {
            "mdtrtinfo": {
                "psn_no": RESIDENT,
                "insutype": "390",
                "med_type": "21",
                "begntime": "2025-02-10 10:00:00",
                "dise_codg": "K35.800",
            }
        },
    )["result"]["mdtrt_id"]
    his.fails(
        "2401",
        {"mdtrtinfo": {"psn_no": RESIDENT, "insutype": "390", "begntime": "2025-02-11 10:00:00"}},
        "已在院",
    )
    his.ok(
        "2301",
        {
            "feedetail": [
                line("1", "A1", "20000.00", mdtrt_id=mdtrt),
                line("2", "B1", "10000.00", mdtrt_id=mdtrt),
                line("3", "C1", "2000.00", mdtrt_id=mdtrt),
                line("4", "B2", "1500.00", mdtrt_id=mdtrt),
            ]
        },
    )
    base = {"psn_no": RESIDENT, "mdtrt_id": mdtrt, "insutype": "390", "acct_used_flag": "0"}
    his.fails("2304", {"data": {**base, "medfee_sumamt": "33500.00", "mid_setl_flag": "0"}}, "须先办理出院")
    mid = his.ok("2304", {"data": {**base, "medfee_sumamt": "33500.00", "mid_setl_flag": "1"}})["setlinfo"]
    # worked example 2 of the contract, as a 中途结算
    assert (mid["inscp_scp_amt"], mid["act_pay_dedc"], mid["hifp_pay"], mid["psn_part_amt"]) == (
        Decimal("29960.00"),
        Decimal("800.00"),
        Decimal("18954.00"),
        Decimal("14546.00"),
    )
    his.ok("2301", {"feedetail": [line("5", "A1", "50000.00", mdtrt_id=mdtrt)]})
    his.ok(
        "2402",
        {
            "dscginfo": {
                "mdtrt_id": mdtrt,
                "psn_no": RESIDENT,
                "endtime": "2025-03-01 10:00:00",
                "dscg_way": "1",
            }
        },
    )
    pre = his.ok("2303", {"data": {**base, "medfee_sumamt": "50000.00", "mid_setl_flag": "0"}})["setlinfo"]
    # same admission: no new deductible (already consumed); 50000 × 0.65 = 32500
    # 大病: base 50000 − 32500 = 17500, cumulative 11006 → 28506: (28506 − 18000) × 0.60 = 6303.60
    # 惠民保 (enrolled 2025): c = 17500 − 6303.60 = 11196.40, cumulative 11006 → 22202.40: 2202.40 × 0.70 = 1541.68
    assert pre["act_pay_dedc"] == Decimal("0.00") and pre["hifp_pay"] == Decimal("32500.00")
    assert pre["hifmi_pay"] == Decimal("6303.60") and pre["oth_pay"] == Decimal("1541.68")
    final = his.ok("2304", {"data": {**base, "medfee_sumamt": "50000.00", "mid_setl_flag": "0"}})["setlinfo"]
    assert final["hifmi_pay"] == pre["hifmi_pay"]
    his.fails("2305", {"data": {**base, "setl_id": mid["setl_id"]}}, "后续结算")
    his.ok("2305", {"data": {**base, "setl_id": final["setl_id"]}})
    his.ok("2305", {"data": {**base, "setl_id": mid["setl_id"]}})
    acc = his.ok("5206", {"data": {"psn_no": RESIDENT, "cum_ym": "202502"}})["cuminfo"]
    assert acc == []  # everything reversed: all accumulators back to zero
    ledger_ok(engine)


def test_pharmacy_flow_and_assistance_in_a_chronic_visit(client, engine):
    ph = His(client, PHARMACY)
    drugs = {
        "drugdetail": [line("1", "A1", "30.00"), line("2", "B1", "20.00")],
        "data": {
            "psn_no": WORKER,
            "insutype": "310",
            "med_type": "41",
            "medfee_sumamt": "50.00",
            "acct_used_flag": "1",
            "begntime": "2025-04-01 10:00:00",
        },
    }
    pre = ph.ok("2101", drugs)["setlinfo"]
    setl = ph.ok("2102", drugs)["setlinfo"]
    assert pre["acct_pay"] == setl["acct_pay"] == Decimal("50.00") and setl["fund_pay_sumamt"] == Decimal(
        "0.00"
    )
    assert setl["balc"] == Decimal("950.00")
    ph.ok("2103", {"data": {"psn_no": WORKER, "setl_id": setl["setl_id"]}})
    info = ph.ok(
        "1101",
        {
            "data": {
                "mdtrt_cert_type": "02",
                "mdtrt_cert_no": "110101198001010011",
                "psn_cert_type": "01",
                "certno": "110101198001010011",
                "psn_name": "张三",
            }
        },
    )
    assert info["insuinfo"][0]["balc"] == Decimal("1000.00")
    # a 低保 resident with hypertension: chronic visit, assistance pays last
    his = His(client, HOSP2)
    mdtrt = his.ok("2201", {"data": {"psn_no": POOR, "insutype": "390", "begntime": "2025-05-01 09:00:00"}})[
        "data"
    ]["mdtrt_id"]
    his.fails(
        "2203", {"mdtrtinfo": {"mdtrt_id": mdtrt, "psn_no": POOR, "med_type": "99"}}, '不支持的医疗类别 "99"'
    )
    his.ok(
        "2203", {"mdtrtinfo": {"mdtrt_id": mdtrt, "psn_no": POOR, "med_type": "14", "dise_codg": "M03900"}}
    )
    his.ok("2204", {"feedetail": [line("1", "A1", "300.00", mdtrt_id=mdtrt)]})
    s = his.ok(
        "2207", {"data": {"psn_no": POOR, "mdtrt_id": mdtrt, "medfee_sumamt": "300.00", "insutype": "390"}}
    )["setlinfo"]
    expected, _, _ = online.settle(
        demo_bundle(),
        PersonFacts("390", "16", [Dated("2303")], [Dated("M03900")]),
        VisitRequest("14", date(2025, 5, 1), [fee(1, "300.00")], hosp_lv=2, opsp_dise_code="M03900"),
        {},
        0,
    )
    assert s["hifp_pay"] == Decimal("210.00") and s["maf_pay"] == Decimal(
        expected.setlinfo_json()["maf_pay"]
    ) == Decimal("72.00")
    ledger_ok(engine)


def _admit(his: His, begin: str, psn=RESIDENT) -> str:
    return his.ok(
        "2401",
        {
            "mdtrtinfo": {
                "psn_no": psn,
                "insutype": "390",
                "med_type": "21",
                "begntime": begin,
                "dise_codg": "K35.800",
            }
        },
    )["result"]["mdtrt_id"]


def _discharge(his: His, mdtrt: str, end: str, psn=RESIDENT) -> None:
    his.ok("2402", {"dscginfo": {"mdtrt_id": mdtrt, "psn_no": psn, "endtime": end, "dscg_way": "1"}})


def test_a_continuation_keeps_the_deductible_its_admission_opened_with(client, engine):
    """中途结算 then a change to the year's admissions (an earlier admission reversed): the rest of the
    stay still carries the deductible fixed when it opened (second admission: 800 × 0.50 = 400),
    not the one the admissions counted now would give (first admission again: 800)."""
    h2, h3 = His(client, HOSP2), His(client, HOSP3)
    first = _admit(h2, "2025-01-05 10:00:00")
    h2.ok("2301", {"feedetail": [line("1", "A1", "1000.00", mdtrt_id=first)]})
    _discharge(h2, first, "2025-01-10 10:00:00")
    base1 = {"psn_no": RESIDENT, "mdtrt_id": first, "insutype": "390", "acct_used_flag": "0"}
    s1 = h2.ok("2304", {"data": {**base1, "medfee_sumamt": "1000.00"}})["setlinfo"]
    assert s1["act_pay_dedc"] == Decimal("500.00")  # level 2, first admission of the year

    stay = _admit(h3, "2025-02-10 10:00:00")
    base = {"psn_no": RESIDENT, "mdtrt_id": stay, "insutype": "390", "acct_used_flag": "0"}
    h3.ok("2301", {"feedetail": [line("1", "A1", "300.00", mdtrt_id=stay)]})
    mid = h3.ok("2304", {"data": {**base, "medfee_sumamt": "300.00", "mid_setl_flag": "1"}})["setlinfo"]
    assert mid["act_pay_dedc"] == Decimal("300.00")  # of the 400 this (second) admission carries

    h2.ok("2305", {"data": {**base1, "setl_id": s1["setl_id"]}})  # the first admission is reversed

    h3.ok("2301", {"feedetail": [line("2", "A1", "1000.00", mdtrt_id=stay)]})
    _discharge(h3, stay, "2025-02-20 10:00:00")
    pre = h3.ok("2303", {"data": {**base, "medfee_sumamt": "1000.00"}})["setlinfo"]
    final = h3.ok("2304", {"data": {**base, "medfee_sumamt": "1000.00"}})["setlinfo"]
    assert pre["act_pay_dedc"] == final["act_pay_dedc"] == Decimal("100.00")  # 400 − 300, not 800 − 300
    ledger_ok(engine)
