"""The settlement list through the facade: 4101 uploads the 医保结算清单 of a settled stay and groups it with
the DRG scheme of its discharge date (stored with the scheme and the pack hash, one transaction); 3605 reads
the grouping, which is the grouper's for the same case; 4103 returns the list; 4102 voids it (its grouping
no longer counts) and a new upload replaces it. Every bad list is refused with infcode -1 naming the field."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from tests.world import HOSP2, HOSP3, OTHER, POOR, RESIDENT, His, line
from yibao.payment.cases import DrgCase
from yibao.payment.drg import group_case
from yibao.payment.packs import load_drg_pack
from yibao.store.db import unit_of_work
from yibao.store.tables import (
    AuditLog,
    ClinicalCode,
    SettlementList,
    SettlementListDiagnosis,
    SettlementListGroup,
    SettlementListProcedure,
)

ADMITTED, DISCHARGED = "2025-03-01 10:00:00", "2025-03-06 09:00:00"


def settled_stay(his: His, psn: str = RESIDENT, *, settle: bool = True) -> tuple[str, str | None]:
    """An admission (2401) with one fee line, discharged (2402) and, with ``settle``, settled (2304): its
    mdtrt_id and setl_id."""
    mdtrt = his.ok(
        "2401",
        {"mdtrtinfo": {"psn_no": psn, "insutype": "390", "med_type": "21", "begntime": ADMITTED}},
    )["result"]["mdtrt_id"]
    his.ok("2301", {"feedetail": [line("1", "A1", "6000.00", mdtrt_id=mdtrt)]})
    his.ok("2402", {"dscginfo": {"mdtrt_id": mdtrt, "psn_no": psn, "endtime": DISCHARGED, "dscg_way": "1"}})
    if not settle:
        return mdtrt, None
    data = {"psn_no": psn, "mdtrt_id": mdtrt, "insutype": "390", "medfee_sumamt": "6000.00"}
    return mdtrt, his.ok("2304", {"data": data})["setlinfo"]["setl_id"]


def settlement_list(
    mdtrt: str,
    setl_id: str,
    psn: str = RESIDENT,
    gend: str = "1",
    diagnoses=(("K35.200", "1"), ("J18.900", "0"), ("E11.900", "0")),
    procedures=(("47.0901", "1"),),
) -> dict:
    """A 4101 input: setlinfo, the diagnoses (code, maindiag_flag), the procedures (code, oprn_oprt_type)."""
    return {
        "setlinfo": {
            "setl_id": setl_id,
            "mdtrt_id": mdtrt,
            "psn_no": psn,
            "gend": gend,
            "age": "35.0" if psn == RESIDENT else "65",
            "adm_time": ADMITTED,
            "dscg_time": DISCHARGED,
            "act_ipt_days": 5,
            "dscg_way": "1",
            "hi_paymtd": "4",
        },
        "diseinfo": [
            {"diag_type": "1", "diag_code": code, "diag_name": f"诊断 {code}", "maindiag_flag": flag}
            for code, flag in diagnoses
        ]
        + [{"diag_type": "2", "diag_code": "BNP010", "diag_name": "肠痈", "maindiag_flag": "0"}],
        "oprninfo": [
            {"oprn_oprt_type": kind, "oprn_oprt_code": code, "oprn_oprt_name": f"手术 {code}"}
            for code, kind in procedures
        ],
        "icuinfo": [],
        "payinfo": [{"fund_pay_type": "390100", "fund_payamt": "3000.00"}],
        "iteminfo": [{"med_chrgitm": "09", "amt": "6000.00", "claa_sumfee": "6000.00"}],
    }


def test_upload_groups_as_the_grouper_and_query_void_and_replace(client, engine):
    his = His(client, HOSP3)
    mdtrt, setl_id = settled_stay(his)
    msgid = f"{HOSP3}202503070900000001"
    body = settlement_list(mdtrt, setl_id)
    out = his.ok("4101", body, msgid=msgid)["data"]
    pack = load_drg_pack("chs-drg-1.1")
    case = DrgCase(
        "x", 1, 35, 0, ("K35.200", "J18.900", "E11.900"), ("47.0901",), los=5, dscg_way="1"
    )  # 王五, born 1990-01-01: 35 on admission
    expected = group_case(case, pack, trace=True)
    assert (expected.status, expected.drg) == (
        "ok",
        "GD13",
    )  # J18.900 is a CC (排除表 7-101 does not cancel it)
    assert out["drg_codg"] == "GD13" and out["grp_stas"] == "ok" and out["setl_id"] == setl_id
    assert out["pack_hash"] == pack.pack_hash and out["scheme"] == "chs-drg-1.1"

    # the same msgid again: the same answer, nothing stored twice
    assert his.ok("4101", body, msgid=msgid) == {"data": out}
    # another upload while the list is valid is refused
    his.fails("4101", body, "input.setlinfo.setl_id: 该结算已有有效的结算清单")

    result = his.ok("3605", {"data": {"setl_id": setl_id, "psn_no": RESIDENT}})["result"]
    assert (result["drg_codg"], result["mdc_codg"], result["adrg_codg"], result["grp_stas"]) == (
        expected.drg,
        expected.mdc,
        expected.adrg,
        expected.status,
    )
    assert result["drg_name"] == pack.drg_names["GD13"] and result["adrg_name"] == pack.adrg_names["GD1"]
    assert result["mdc_name"] == "消化系统疾病及功能障碍"
    assert result["trace"] == list(expected.trace) and result["pack_hash"] == pack.pack_hash

    with unit_of_work(engine, write=False) as s:
        stored = s.get(SettlementList, out["setl_list_id"])
        assert (stored.gend, stored.age, stored.los, stored.dscg_way, stored.vali_flag) == (
            "1",
            35,
            5,
            "1",
            "1",
        )
        assert stored.brdy == date(1990, 1, 1) and stored.med_type == "21" and stored.msgid == msgid
        dx = s.scalars(
            select(SettlementListDiagnosis.diag_code)
            .where(SettlementListDiagnosis.setl_list_id == stored.setl_list_id)
            .order_by(SettlementListDiagnosis.seq)
        ).all()
        assert dx == ["K35.200", "J18.900", "E11.900", "BNP010"]  # principal first, 中医 last
        px = s.scalars(
            select(SettlementListProcedure.oprn_oprt_code).where(
                SettlementListProcedure.setl_list_id == stored.setl_list_id
            )
        ).all()
        assert px == ["47.0901"]
        g = s.scalars(select(SettlementListGroup).where(SettlementListGroup.kind == "drg")).one()
        assert (g.scheme, g.pack_hash, g.kind, g.group_code, g.status) == (
            "chs-drg-1.1",
            pack.pack_hash,
            "drg",
            "GD13",
            "ok",
        )
        assert g.trace["versions"]["pack_hash"] == pack.pack_hash and g.trace["steps"] == list(expected.trace)
        assert len(g.trace["input_digest"]) == 64 and g.trace["inputs"]["diagnoses"][0] == "K35.200"
        audited = s.scalars(select(AuditLog.action).where(AuditLog.entity == "settlement_list")).all()
        assert audited == ["register"]

    # 4103: the list as uploaded, with its id and status
    listed = his.ok("4103", {"data": {"mdtrt_id": mdtrt}})
    assert (
        listed["setlinfo"]["setl_list_id"] == out["setl_list_id"] and listed["setlinfo"]["vali_flag"] == "1"
    )
    assert [d["diag_code"] for d in listed["diseinfo"]][:3] == ["K35.200", "J18.900", "E11.900"]
    assert listed["payinfo"] == body["payinfo"] and listed["oprninfo"] == body["oprninfo"]
    # another institution sees no list of this settlement
    His(client, HOSP2).fails("4103", {"data": {"setl_id": setl_id}}, "input.data.setl_id: 结算清单不存在")

    # 4102 voids it: its grouping no longer counts, a new upload replaces it
    his.fails("4102", {"data": {"setl_id": setl_id, "vali_flag": "1"}}, "input.data.vali_flag: 结算清单")
    voided = his.ok("4102", {"data": {"setl_id": setl_id, "vali_flag": "0"}})["data"]
    assert voided == {"setl_list_id": out["setl_list_id"], "setl_id": setl_id, "vali_flag": "0"}
    his.fails("3605", {"data": {"setl_id": setl_id}}, "已作废，其分组结果不再有效")
    assert his.ok("4103", {"data": {"setl_id": setl_id}})["setlinfo"]["vali_flag"] == "0"
    again = his.ok("4101", settlement_list(mdtrt, setl_id, diagnoses=(("K35.200", "1"),)))["data"]
    assert again["setl_list_id"] != out["setl_list_id"] and again["drg_codg"] == "GD15"
    assert his.ok("3605", {"data": {"setl_id": setl_id}})["result"]["drg_codg"] == "GD15"
    # the voided list cannot be made valid again while its settlement has a valid one
    his.fails(
        "4102",
        {"data": {"setl_list_id": out["setl_list_id"], "vali_flag": "1"}},
        "input.data.vali_flag: 该结算已有有效的结算清单",
    )
    with unit_of_work(engine, write=False) as s:
        assert s.scalar(select(func.count()).select_from(SettlementList)) == 2
        drg_groupings = (
            select(func.count()).select_from(SettlementListGroup).where(SettlementListGroup.kind == "drg")
        )
        assert s.scalar(drg_groupings) == 2

    # 3606: the demo region pays by DIP from 2025 on, so the new list has its DIP grouping beside the DRG one
    assert his.ok("3606", {"data": {"setl_id": setl_id}})["result"]["setl_list_id"] == again["setl_list_id"]


def test_bad_lists_are_refused_naming_the_field(client, engine):
    his = His(client, HOSP3)
    mdtrt, setl_id = settled_stay(his)

    def refused(contains: str, **changes) -> None:
        his.fails("4101", settlement_list(mdtrt, setl_id, **changes), contains)

    refused("input.diseinfo: 缺少主要诊断", diagnoses=(("K35.200", "0"), ("J18.900", "0")))
    refused(
        "input.diseinfo[1].maindiag_flag: 主要诊断只能有一个", diagnoses=(("K35.200", "1"), ("J18.900", "1"))
    )
    refused("input.diseinfo[0].diag_code: 主要诊断编码 K35.900 不在分组方案", diagnoses=(("K35.900", "1"),))
    refused("input.diseinfo[1].diag_code: 诊断编码格式错误", diagnoses=(("K35.200", "1"), ("K35", "0")))
    refused("input.oprninfo[0].oprn_oprt_code: 手术操作编码格式错误", procedures=(("4709", "1"),))
    refused("input.oprninfo: 缺少主要手术及操作", procedures=(("47.0901", "2"),))
    # a male with an obstetric principal diagnosis, a perinatal one at 35
    refused("input.diseinfo[0].diag_code: 性别与主要诊断不符: O80.000 属 MDCO", diagnoses=(("O80.000", "1"),))
    refused("input.diseinfo[0].diag_code: 年龄与主要诊断不符", diagnoses=(("P07.100", "1"),))
    refused("input.setlinfo.gend: 与参保人性别不符", gend="2")
    his.fails("4101", {"setlinfo": settlement_list(mdtrt, setl_id)["setlinfo"]}, "input.diseinfo: 缺少")

    # a grey code (灰码) is refused as the principal diagnosis
    with unit_of_work(engine) as s:
        s.add(ClinicalCode(system="icd10", code="K35.200", name="急性阑尾炎伴穿孔", grey_flag="1"))
    refused("input.diseinfo[0].diag_code: 主要诊断 K35.200 是灰码")

    # another institution's settlement does not exist for the caller
    His(client, OTHER).fails(
        "4101", settlement_list(mdtrt, setl_id), f"input.setlinfo.setl_id: 结算不存在 {setl_id}"
    )
    his.fails("4101", settlement_list(mdtrt, "NOSUCH"), "input.setlinfo.setl_id: 结算不存在 NOSUCH")
    with unit_of_work(engine, write=False) as s:
        assert s.scalar(select(func.count()).select_from(SettlementList)) == 0


def test_a_list_needs_a_standing_inpatient_settlement(client, engine):
    his = His(client, HOSP3)
    unsettled, _ = settled_stay(his, POOR, settle=False)
    his.fails(
        "4101",
        settlement_list(unsettled, "NONE", psn=POOR, gend="2"),
        "input.setlinfo.mdtrt_id: 就诊尚未结算（已办理出院），请先办理住院结算 (2304)",
    )

    mdtrt, setl_id = settled_stay(his)
    his.fails(
        "4101", settlement_list(unsettled, setl_id), f"input.setlinfo.mdtrt_id: 与结算 {setl_id} 的就诊"
    )
    base = {"psn_no": RESIDENT, "mdtrt_id": mdtrt, "insutype": "390"}
    reversal = his.ok("2305", {"data": {**base, "setl_id": setl_id}})["setlinfo"]["setl_id"]
    his.fails("4101", settlement_list(mdtrt, setl_id), f"input.setlinfo.setl_id: 结算 {setl_id} 已撤销")
    his.fails("4101", settlement_list(mdtrt, reversal), "是一笔撤销记录")

    outpatient = His(client, HOSP2)
    from tests.world import settle_outpatient

    visit, setlinfo = settle_outpatient(outpatient, "2025-03-01", "100.00")
    outpatient.fails(
        "4101",
        settlement_list(visit, setlinfo["setl_id"]),
        "input.setlinfo.setl_id: 结算 " + setlinfo["setl_id"],
    )


def test_a_list_that_fails_inside_the_database_leaves_nothing(client, engine):
    """The list, its rows, its grouping and its audit row are one transaction: a failure writing the
    grouping leaves none of them, and the resent message then uploads once."""
    from tests.e2e.test_fsi_atomicity import fail_inserts_into, heal, snapshot

    his = His(client, HOSP3)
    mdtrt, setl_id = settled_stay(his)
    body = settlement_list(mdtrt, setl_id)
    before = snapshot(engine)
    fail_inserts_into(engine, "settlement_list_group")
    try:
        reply = his.call("4101", body, msgid="M-LIST-ATOMIC-1")
    finally:
        heal(engine, "settlement_list_group")
    assert reply["infcode"] == -1 and "系统内部错误" in reply["err_msg"], reply
    assert snapshot(engine) == before
    out = his.ok("4101", body, msgid="M-LIST-ATOMIC-1")
    assert his.ok("4101", body, msgid="M-LIST-ATOMIC-1") == out
    with unit_of_work(engine, write=False) as s:
        assert s.scalars(select(SettlementList.setl_list_id)).all() == [out["data"]["setl_list_id"]]


def test_3606_answers_where_the_region_pays_by_dip(client, engine, tmp_path, monkeypatch):
    """The DIP hook: with the region's DIP parameters in effect on the discharge date, 3606 looks for the
    list's DIP grouping (stored beside the DRG one) instead of answering that DIP is not configured."""
    import shutil
    from pathlib import Path

    from yibao.config import reset_settings

    shipped = Path(__file__).resolve().parents[2] / "regions"
    regions = tmp_path / "regions"
    shutil.copytree(shipped / "990100", regions / "990100")
    params = regions / "990100" / "payment" / "dip.yaml"  # a copy of the demo where DIP starts in 2027
    params.write_text(
        params.read_text(encoding="utf-8").replace(
            "effective_from: 2025-01-01", "effective_from: 2027-01-01"
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("YIBAO_REGIONS_DIR", str(regions))
    reset_settings()
    his = His(client, HOSP3)
    mdtrt, setl_id = settled_stay(his)
    his.ok("4101", settlement_list(mdtrt, setl_id))
    his.fails("3606", {"data": {"setl_id": setl_id}}, "input.data.setl_id: 本统筹区未配置 DIP 分组方案")

    monkeypatch.setenv("YIBAO_REGIONS_DIR", str(shipped))  # the demo as shipped: DIP from 2025
    reset_settings()
    # the list uploaded before the region paid by DIP has no DIP grouping; uploaded again, it has one
    his.fails("3606", {"data": {"setl_id": setl_id}}, "没有 DIP 分组结果")
    his.ok("4102", {"data": {"setl_id": setl_id, "vali_flag": "0"}})
    his.ok("4101", settlement_list(mdtrt, setl_id))
    got = his.ok("3606", {"data": {"setl_id": setl_id}})["result"]
    assert (
        got["grp_stas"] == "ok" and got["dip_codg"] and got["dip_type"] in ("core", "comprehensive", "basic")
    )
    assert Decimal(got["points"]) == (Decimal(got["score"]) * Decimal(got["aux_coef"])).quantize(
        Decimal("0.0001")
    )
    assert got["scheme"] == "dip:990100" and got["pack_hash"] and got["trace"]
    assert his.ok("3605", {"data": {"setl_id": setl_id}})["result"]["drg_codg"]  # the DRG one beside it
