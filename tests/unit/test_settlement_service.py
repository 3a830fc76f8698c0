"""The settlement services' logic without a database (a fake unit of work): which reads they make, in what
order, what they refuse by the visit state table and the agreement, and the writes they hand over, in order."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tests.fake_uow import FakeUnitOfWork, row
from yibao.errors import SettlementError
from yibao.settlement import service as svc
from yibao.settlement import settle
from yibao.settlement.states import TRANSITIONS, VisitStatus, transition

CODE = "H99010200001"


def ctx() -> svc.Context:
    return svc.Context(fixmedins_code=CODE, admdvs="990102", dedc_hosp_lv=2, msgid="M1")


def world(*, status="open", med_type="11", agreement_end=None, lines=None, live=()) -> FakeUnitOfWork:
    visit = row(
        mdtrt_id="V1",
        psn_no="P1",
        fixmedins_code=CODE,
        insutype="390",
        med_type=med_type,
        begntime=datetime(2025, 3, 1, 9),
        endtime=datetime(2025, 3, 5, 9) if status == "discharged" else None,
        status=status,
        opsp_dise_code=None,
        dise_codg=None,
        dise_name=None,
        enr_id=1,
        enr_insutype="390",
        enr_psn_type="15",
        enr_psn_insu_stas="1",
        enr_begndate=date(2020, 1, 1),
        enr_enddate=None,
        enr_wait_until=None,
        enr_insuplc_admdvs="990100",
        enr_paus_insu_date=None,
    )
    line = row(
        id=7,
        med_list_codg="A1",
        fulamt_ownpay_amt=0,
        overlmt_amt=0,
        preselfpay_amt=0,
        inscp_scp_amt=10000,
        pric=100_000_000,
        cnt=10_000,
        det_item_fee_sumamt=10000,
        chrgitm_lv="01",
        selfpay_prop=0,
        pric_uplmt_amt=None,
        lmt_used_flag="0",
        hosp_appr_flag="0",
    )
    person = row(
        psn_no="P1",
        psn_cert_type="01",
        certno="x",
        psn_name="甲",
        gend="1",
        brdy=date(1980, 1, 1),
        naty="01",
        death_date=None,
    )
    state = {"identities": [], "chronic": [], "supplementary": [], "accumulators": [], "account": []}
    return FakeUnitOfWork(
        {
            "agreement": [
                row(
                    begndate=date(2020, 1, 1),
                    enddate=agreement_end,
                    status="active",
                    med_types=None,
                    reason="",
                )
            ],
            "lock_person": [person],
            "visit_to_settle": [visit],
            "visit": [visit],
            "lock_visit": [visit],
            "open_lines": [line] if lines is None else lines,
            "prior_deductibles": [],
            "person_state": state,
            "live_settlement": [row(setl_id=s) for s in live],
        }
    )


def settle_outpatient(uow, **kw):
    return settle.settle(uow, ctx(), mdtrt_id="V1", psn_no="P1", medfee_sumamt=10000, **kw)


def test_a_settlement_reads_its_list_in_order_and_hands_its_writes_in_the_order_written():
    uow = world()
    outcome = settle_outpatient(uow)
    assert [name for name, _ in uow.reads] == [
        "agreement",
        "lock_person",
        "visit_to_settle",
        "open_lines",
        "person_state",
    ]
    assert uow.written() == [
        "insert_settlement",
        "insert_details",
        "ledger_entry",
        "set_accumulators",
        "bump_accumulator_year",
        "settle_lines",
        "set_visit_status",
    ]
    assert [a["action"] for a in uow.audit] == ["settle"]
    assert dict(uow.writes)["set_visit_status"]["k_status"] == "settled"
    info = outcome.settled.setlinfo
    assert (
        info["medfee_sumamt"]
        == info["fund_pay_sumamt"] + info["psn_part_amt"] + info["hosp_part_amt"]
        == 10000
    )


def test_a_presettlement_writes_nothing():
    uow = world()
    settle_outpatient(uow, pre=True)
    assert uow.writes == [] and uow.audit == []


@pytest.mark.parametrize(
    ("status", "med_type", "mid", "reason"),
    [
        ("settled", "11", False, "mdtrt_id: 就诊已结算，不能再结算"),
        ("cancelled", "11", False, "mdtrt_id: 就诊已撤销，不能再结算"),
        (
            "admitted",
            "21",
            False,
            "mdtrt_id: 住院须先办理出院 (2402) 才能出院结算；中途结算请传 mid_setl_flag=1",
        ),
        ("settled", "21", True, "mdtrt_id: 就诊已结算，不能再结算"),
    ],
)
def test_the_state_table_refuses_before_anything_is_written(status, med_type, mid, reason):
    uow = world(status=status, med_type=med_type)
    with pytest.raises(SettlementError) as caught:
        settle_outpatient(uow, mid_setl_flag=mid)
    assert caught.value.message == reason and uow.writes == []


def test_a_midway_settlement_leaves_the_stay_in_hospital():
    uow = world(status="admitted", med_type="21")
    settle_outpatient(uow, mid_setl_flag=True, inpatient_hint=True)
    assert "set_visit_status" not in uow.written()
    assert [name for name, _ in uow.reads][:5] == [
        "agreement",
        "lock_person",
        "visit_to_settle",
        "open_lines",
        "prior_deductibles",
    ]


def test_a_day_the_agreement_does_not_cover_is_refused_naming_the_institution():
    uow = world(agreement_end=date(2025, 2, 28))
    with pytest.raises(SettlementError, match=f"定点医药机构 {CODE} 在 2025-03-01 没有有效的医保服务协议"):
        settle_outpatient(uow)
    assert uow.writes == []


def test_a_visit_with_a_standing_settlement_is_not_cancelled():
    uow = world(live=("S9",))
    with pytest.raises(SettlementError, match="就诊已有结算 S9，请先撤销结算"):
        svc.cancel_visit(uow, ctx(), "V1")
    uow = world()
    svc.cancel_visit(uow, ctx(), "V1")
    assert uow.written() == ["cancel_open_lines", "set_visit_status"]
    assert dict(uow.writes)["set_visit_status"]["k_status"] == "cancelled"


def test_every_transition_of_the_table_and_nothing_else():
    for (admission, event), allowed in TRANSITIONS.items():
        for status in VisitStatus:
            if status in allowed:
                assert transition(status, event, admission=admission) == allowed[status]
            elif event != "reverse":
                with pytest.raises(SettlementError):
                    transition(status, event, admission=admission)
    # a reversal of a part-way settlement leaves the stay as it was
    assert transition("admitted", "reverse", admission=True) == VisitStatus.ADMITTED
    with pytest.raises(SettlementError, match="门诊就诊中，不能办理出院"):
        transition("open", "discharge", admission=False)
