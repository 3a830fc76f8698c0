"""The facade's inpatient and pharmacy settlements, amount by amount, against the kernel run directly on the
same inputs (the same lines, person facts, accumulators and balance before the visit); and 1101's identities.

Every reply is compared to the fen: each setlinfo amount and each setldetail row."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.kernel_helpers import demo_bundle, fee
from tests.world import HOSP2, HOSP3, PHARMACY, POOR, RESIDENT, WORKER, His, line
from yibao.money import fmt_fen
from yibao.settlement import online
from yibao.settlement.inputs import Dated, PersonFacts, VisitRequest
from yibao.settlement.result import SETLINFO_AMOUNTS, Settled

# the catalogue tests/world.py builds, in the kernel's terms: level, self-pay ratio, price cap
CATALOGUE = {
    "A1": {"lv": 1},
    "B1": {"lv": 2, "selfpay": "0.10"},
    "B2": {"lv": 2, "selfpay": "0.20", "cap": "1200.00"},
    "C1": {"lv": 3},
}

# the persons of tests/world.py as settlement sees them (none of the 390 persons has a personal account)
FACTS = {
    # 低保 (2303) since 2024-01-01: 大病 tilt (起付 9000, +10 %) and 医疗救助 80 %; no 惠民保
    POOR: PersonFacts(
        "390",
        "16",
        [Dated("2303", date(2024, 1, 1))],
        [Dated("M03900", date(2024, 1, 1))],
        set(),
        has_account=False,
    ),
    # an adult resident enrolled in 惠民保 for 2025: 大病 then 惠民保
    RESIDENT: PersonFacts("390", "15", [], [], {2025}, has_account=False),
}
WORKER_FACTS = PersonFacts("310", "11")
WORKER_ID = {
    "mdtrt_cert_type": "02",
    "mdtrt_cert_no": "110101198001010011",
    "psn_cert_type": "01",
    "certno": "110101198001010011",
    "psn_name": "张三",
}

# (feedetl_sn, med_list_codg, pric, cnt): two batches of one stay
BATCH_1 = [("1", "A1", "30000.00", 1), ("2", "B1", "6000.00", 2), ("3", "C1", "3000.00", 1)]
BATCH_2 = [("4", "B2", "1500.00", 2), ("5", "A1", "333.33", 3), ("6", "A1", "60000.00", 1)]


def api_lines(spec, **extra) -> list[dict]:
    return [line(sn, codg, pric, cnt, **extra) for sn, codg, pric, cnt in spec]


def kernel_fees(spec) -> list:
    return [fee(CATALOGUE[codg]["lv"], pric, cnt, **_attrs(codg)) for _, codg, pric, cnt in spec]


def _attrs(codg: str) -> dict:
    return {k: v for k, v in CATALOGUE[codg].items() if k != "lv"}


def total(spec) -> Decimal:
    return sum((Decimal(pric) * cnt for _, _, pric, cnt in spec), Decimal("0.00"))


def yuan(fen: int) -> Decimal:
    return Decimal(fmt_fen(fen))


def assert_balanced(info: dict) -> None:
    """I3 and I5 of the contract, on the reply as the HIS reads it."""
    assert info["medfee_sumamt"] == info["fund_pay_sumamt"] + info["psn_part_amt"] + info["hosp_part_amt"]
    assert info["psn_part_amt"] == info["acct_pay"] + info["psn_cash_pay"]


def assert_matches(reply: dict, expected: Settled) -> None:
    """Every setlinfo amount (and the ratio) and every setldetail row of ``reply`` as the kernel gives them."""
    info = reply["setlinfo"]
    assert_balanced(info)
    want = expected.setlinfo_json()
    assert set(want) <= set(info)
    diffs = {k: (info[k], Decimal(v)) for k, v in want.items() if info[k] != Decimal(v)}
    assert not diffs, f"setlinfo (facade, kernel): {diffs}"
    got_rows = [
        (d["fund_pay_type"], d["inscp_scp_amt"], d["crt_payb_lmt_amt"], d["setl_proc_info"], d["fund_payamt"])
        for d in reply["setldetail"]
    ]
    want_rows = [
        (
            d["fund_pay_type"],
            Decimal(d["inscp_scp_amt"]),
            Decimal("0.00") if d["crt_payb_lmt_amt"] is None else Decimal(d["crt_payb_lmt_amt"]),
            "不设限额" if d["crt_payb_lmt_amt"] is None else "",
            Decimal(d["fund_payamt"]),
        )
        for d in expected.setldetail_json()
    ]
    assert got_rows == want_rows
    assert sum((d["fund_payamt"] for d in reply["setldetail"]), Decimal("0.00")) == (
        info["fund_pay_sumamt"] + info["acct_pay"]
    )


def cuminfo(accum: dict[str, int], insutype: str, year: int) -> list[dict]:
    """What 5206 shows for named accumulators: amounts in yuan, admission counts as numbers."""
    return [
        {
            "insutype": insutype,
            "year": str(year),
            "cum_type_code": k,
            "cum": Decimal(v) if k.startswith("admissions:") else yuan(v),
        }
        for k, v in sorted(accum.items())
    ]


def accumulators(his: His, psn_no: str, ym: str) -> list[dict]:
    rows = his.ok("5206", {"data": {"psn_no": psn_no, "cum_ym": ym}})["cuminfo"]
    return [{k: r[k] for k in ("insutype", "year", "cum_type_code", "cum")} for r in rows]


def admit(his: His, psn_no: str, begin: str) -> str:
    return his.ok(
        "2401",
        {
            "mdtrtinfo": {
                "psn_no": psn_no,
                "insutype": "390",
                "med_type": "21",
                "begntime": begin,
                "dise_codg": "K35.800",
            }
        },
    )["result"]["mdtrt_id"]


def discharge(his: His, psn_no: str, mdtrt: str, end: str) -> None:
    his.ok("2402", {"dscginfo": {"mdtrt_id": mdtrt, "psn_no": psn_no, "endtime": end, "dscg_way": "1"}})


def inpatient_visit(spec, **kw) -> VisitRequest:
    return VisitRequest("21", date(2025, 2, 10), kernel_fees(spec), hosp_lv=3, **kw)


@pytest.mark.parametrize("psn_no", [POOR, RESIDENT])
def test_inpatient_presettlement_and_settlement_match_the_kernel(client, engine, psn_no):
    """2401 → 2301 ×2 → 2402 → 2303 → 2304 at a level-3 hospital: pool, 大病 and 救助 / 惠民保 all pay."""
    his = His(client, HOSP3)
    mdtrt = admit(his, psn_no, "2025-02-10 10:00:00")
    his.ok("2301", {"feedetail": api_lines(BATCH_1, mdtrt_id=mdtrt)})
    his.ok("2301", {"feedetail": api_lines(BATCH_2, mdtrt_id=mdtrt)})
    discharge(his, psn_no, mdtrt, "2025-02-20 10:00:00")
    data = {
        "psn_no": psn_no,
        "mdtrt_id": mdtrt,
        "insutype": "390",
        "acct_used_flag": "0",
        "medfee_sumamt": total(BATCH_1 + BATCH_2),
        "mid_setl_flag": "0",
    }
    pre = his.ok("2303", {"data": data})
    expected, accum, _ = online.settle(
        demo_bundle(), FACTS[psn_no], inpatient_visit(BATCH_1 + BATCH_2), {}, 0
    )
    e = expected.setlinfo
    # the case exercises every tier the person's policy has
    assert e["act_pay_dedc"] == 80_000 and e["hifp_pay"] > 0 and e["hifmi_pay"] > 0
    assert (e["maf_pay"] > 0, e["oth_pay"] > 0) == ((True, False) if psn_no == POOR else (False, True))
    assert e["overlmt_selfpay"] and e["preselfpay_amt"] and e["fulamt_ownpay_amt"]
    assert_matches(pre, expected)
    assert "setl_id" not in pre["setlinfo"]
    setl = his.ok("2304", {"data": data})
    assert setl["setlinfo"]["setl_id"]
    assert_matches(setl, expected)
    assert accumulators(his, psn_no, "202502") == cuminfo(accum, "390", 2025)


@pytest.mark.parametrize("psn_no", [POOR, RESIDENT])
def test_mid_settlement_and_final_settlement_match_the_kernel_in_two_parts(client, engine, psn_no):
    """中途结算 of the first batch, then the rest at discharge: each part is the kernel's, the second a
    continuation (the admission's deductible kept, its used part and the accumulators carried)."""
    his = His(client, HOSP3)
    mdtrt = admit(his, psn_no, "2025-02-10 10:00:00")
    his.ok("2301", {"feedetail": api_lines(BATCH_1, mdtrt_id=mdtrt)})
    base = {"psn_no": psn_no, "mdtrt_id": mdtrt, "insutype": "390", "acct_used_flag": "0"}
    mid_data = {**base, "medfee_sumamt": total(BATCH_1), "mid_setl_flag": "1"}
    bundle = demo_bundle()
    part1, accum1, _ = online.settle(bundle, FACTS[psn_no], inpatient_visit(BATCH_1), {}, 0)
    assert_matches(his.ok("2303", {"data": mid_data}), part1)
    mid = his.ok("2304", {"data": mid_data})
    assert_matches(mid, part1)

    his.ok("2301", {"feedetail": api_lines(BATCH_2, mdtrt_id=mdtrt)})
    discharge(his, psn_no, mdtrt, "2025-02-20 10:00:00")
    final_data = {**base, "medfee_sumamt": total(BATCH_2), "mid_setl_flag": "0"}
    rest = inpatient_visit(
        BATCH_2,
        new_admission=False,
        adm_dedc_used=part1.setlinfo["act_pay_dedc"],
        adm_dedc=part1.admission_deductible,
    )
    part2, accum2, _ = online.settle(bundle, FACTS[psn_no], rest, accum1, 0)
    assert part1.admission_deductible == 80_000 and part2.setlinfo["act_pay_dedc"] == 0
    assert_matches(his.ok("2303", {"data": final_data}), part2)
    final = his.ok("2304", {"data": final_data})
    assert_matches(final, part2)

    for k in SETLINFO_AMOUNTS:
        if k != "balc":
            got = mid["setlinfo"][k] + final["setlinfo"][k]
            assert got == yuan(part1.setlinfo[k] + part2.setlinfo[k]), k
    assert accumulators(his, psn_no, "202502") == cuminfo(accum2, "390", 2025)
    # the stay is one admission of the year, counted once
    assert accum2.get("admissions:inpatient") == 1


def test_pharmacy_presettlement_settlement_and_reversal_match_the_kernel(client, engine):
    """A 职工 with accumulators and a spent account from an earlier outpatient visit buys more than the
    account holds: 2101 and 2102 are the kernel's; 2103 is its reversal and restores the account and the
    accumulators."""
    bundle = demo_bundle()
    hosp = His(client, HOSP2)
    mdtrt = hosp.ok(
        "2201", {"data": {"psn_no": WORKER, "insutype": "310", "begntime": "2025-03-01 09:00:00"}}
    )["data"]["mdtrt_id"]
    outpatient = [("1", "A1", "400.00", 1), ("2", "B2", "250.00", 1), ("3", "C1", "100.00", 1)]
    hosp.ok("2204", {"feedetail": api_lines(outpatient, mdtrt_id=mdtrt)})
    opd = {
        "psn_no": WORKER,
        "mdtrt_id": mdtrt,
        "insutype": "310",
        "medfee_sumamt": total(outpatient),
        "acct_used_flag": "1",
    }
    first, accum, balance = online.settle(
        bundle,
        WORKER_FACTS,
        VisitRequest("11", date(2025, 3, 1), kernel_fees(outpatient), hosp_lv=2, acct_used_flag=1),
        {},
        100_000,
    )
    assert_matches(hosp.ok("2207", {"data": opd}), first)
    assert accum and 0 < balance < 100_000

    ph = His(client, PHARMACY)
    before = accumulators(ph, WORKER, "202504")
    assert before == cuminfo(accum, "310", 2025)
    drugs_spec = [("1", "A1", "300.00", 3), ("2", "B1", "12.34", 5), ("3", "C1", "45.60", 1)]
    drugs = {
        "drugdetail": api_lines(drugs_spec),
        "data": {
            "psn_no": WORKER,
            "insutype": "310",
            "med_type": "41",
            "medfee_sumamt": total(drugs_spec),
            "acct_used_flag": "1",
            "begntime": "2025-04-01 10:00:00",
        },
    }
    expected, accum_after, balance_after = online.settle(
        bundle,
        WORKER_FACTS,
        VisitRequest("41", date(2025, 4, 1), kernel_fees(drugs_spec), hosp_lv=1, acct_used_flag=1),
        accum,
        balance,
    )
    e = expected.setlinfo
    assert e["acct_pay"] == balance and e["psn_cash_pay"] > 0 and balance_after == 0  # the account runs dry
    assert_matches(ph.ok("2101", drugs), expected)
    assert ph.ok("1101", {"data": WORKER_ID})["insuinfo"][0]["balc"] == yuan(balance)  # nothing recorded
    setl = ph.ok("2102", drugs)
    assert_matches(setl, expected)
    assert accumulators(ph, WORKER, "202504") == cuminfo(accum_after, "310", 2025)
    assert ph.ok("1101", {"data": WORKER_ID})["insuinfo"][0]["balc"] == yuan(balance_after)

    negated, accum_back, balance_back = online.reverse(expected, accum_after, balance_after)
    rev = ph.ok("2103", {"data": {"psn_no": WORKER, "setl_id": setl["setlinfo"]["setl_id"]}})
    assert_matches(rev, negated)
    assert rev["setlinfo"]["acct_pay"] == -setl["setlinfo"]["acct_pay"]
    assert accum_back == accum and balance_back == balance
    assert accumulators(ph, WORKER, "202504") == before
    assert ph.ok("1101", {"data": WORKER_ID})["insuinfo"][0]["balc"] == yuan(balance)


def test_person_info_of_the_assistance_person_shows_the_identity(client, engine):
    """1101 for 赵六 (POOR): a 390 老年居民 without an account, holding 2303 低保 from 2024-01-01, open-ended."""
    his = His(client, HOSP2)
    info = his.ok(
        "1101",
        {
            "data": {
                "mdtrt_cert_type": "02",
                "mdtrt_cert_no": "110101196001010047",
                "psn_cert_type": "01",
                "certno": "110101196001010047",
                "psn_name": "赵六",
            }
        },
    )
    assert info["baseinfo"]["psn_no"] == POOR and info["baseinfo"]["psn_name"] == "赵六"
    assert info["baseinfo"]["gend"] == "2" and info["baseinfo"]["brdy"] == "1960-01-01"
    assert info["idetinfo"] == [
        {"psn_idet_type": "2303", "psn_type_lv": "", "memo": "", "begntime": "2024-01-01", "endtime": ""}
    ]
    [insu] = info["insuinfo"]
    assert (insu["insutype"], insu["psn_type"], insu["psn_insu_stas"], insu["balc"]) == (
        "390",
        "16",
        "1",
        Decimal("0.00"),
    )
    assert insu["psn_insu_date"] == "2020-01-01"
