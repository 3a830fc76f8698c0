"""The entitlement feeds end to end: `yibao import` from the command line (dry run, rejections by line, the
errors file, a rerun that changes nothing), and the proof that a feed reaches settlement — a 低保 identity
imported for a resident turns on medical assistance (maf_pay) in the next 2207, exactly as the kernel
computes it, and an imported 门诊慢特病备案 lets a chronic visit settle that was refused before."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from tests.kernel_helpers import demo_bundle, fee
from tests.world import HOSP2, RESIDENT, WORKER, His, line
from yibao.cli import main
from yibao.funds.check import check_ledger
from yibao.settlement import online
from yibao.settlement.inputs import Dated, PersonFacts, VisitRequest
from yibao.store.db import unit_of_work
from yibao.store.tables import Accumulator


def run(*args: str) -> int:
    return main(["import", *args])


def test_the_feeds_from_the_command_line(client, tmp_path, capsys):
    f = tmp_path / "民政.csv"
    f.write_text(
        "人员编号,人员身份类别,开始日期,结束日期,认定机构\n"
        f"{RESIDENT},2303,2025-01-01,,示例市民政局\n"
        "P9999,2303,2025-01-01,,示例市民政局\n"
        f"{WORKER},2305,2025-05-01,2025-04-30,示例市民政局\n",
        encoding="utf-8",
    )
    assert run("identities", str(f), "--dry-run") == 0
    out = capsys.readouterr().out
    assert "(dry run, nothing written)" in out and "民政.csv 第3行 psn_no: 人员不存在" in out
    errors = tmp_path / "rejected.csv"
    assert run("identities", str(f), "--errors", str(errors)) == 0
    out = capsys.readouterr().out
    assert "民政.csv 第4行 endtime: 结束日期 2025-04-30 早于开始日期 2025-05-01" in out
    assert errors.read_text(encoding="utf-8-sig").splitlines()[1:] == [
        "3,psn_no,人员不存在 (import persons first): P9999",
        "4,endtime,结束日期 2025-04-30 早于开始日期 2025-05-01",
    ]
    assert run("identities", str(f)) == 0
    rerun = capsys.readouterr().out
    # the table's one row of counts: read 3, inserted 0, updated 0, unchanged 1, rejected 2
    assert any(
        r.split() == ["│", "3", "│", "0", "│", "0", "│", "1", "│", "2", "│"] for r in rerun.splitlines()
    )
    balances = tmp_path / "balances.csv"
    balances.write_text(f"psn_no,balc\n{WORKER},2000.00\n", encoding="utf-8")
    assert run("account_balances", str(balances)) == 0
    with unit_of_work(write=False) as s:
        report = check_ledger(s)
    assert report.ok, report.problems
    assert run("pets", str(f)) == 2 and "未知的导入类型 pets" in capsys.readouterr().err


def _visit(his: His, med_type: str, day: str, amount: str, **mdtrt) -> tuple[str, dict]:
    mdtrt_id = his.ok(
        "2201", {"data": {"psn_no": RESIDENT, "insutype": "390", "begntime": f"{day} 09:00:00"}}
    )["data"]["mdtrt_id"]
    his.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": RESIDENT, "med_type": med_type, **mdtrt}})
    his.ok("2204", {"feedetail": [line("1", "A1", amount, mdtrt_id=mdtrt_id)]})
    return mdtrt_id, {"psn_no": RESIDENT, "mdtrt_id": mdtrt_id, "medfee_sumamt": amount, "insutype": "390"}


def test_an_imported_identity_and_registration_reach_settlement(client, engine, tmp_path):
    his = His(client, HOSP2)
    _, data = _visit(his, "11", "2025-03-01", "300.00")
    before = his.ok("2207", {"data": data})["setlinfo"]
    assert before["maf_pay"] == Decimal("0.00")  # no identity yet: no medical assistance
    _, chronic = _visit(his, "14", "2025-03-01", "200.00", dise_codg="M01600")
    his.fails("2207", {"data": chronic}, "未备案的门诊慢特病: M01600")

    feed = tmp_path / "低保.csv"
    feed.write_text(
        f"psn_no,psn_idet_type,begntime,idet_org\n{RESIDENT},2303,2025-01-01,示例市民政局\n", "utf-8"
    )
    assert run("identities", str(feed)) == 0
    reg = tmp_path / "慢特病.csv"
    reg.write_text(
        f"psn_no,opsp_dise_code,begndate,fixmedins_code\n{RESIDENT},M01600,2025-01-01,{HOSP2}\n", "utf-8"
    )
    assert run("chronic_registrations", str(reg)) == 0

    info = his.ok(
        "1101",
        {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "110101199001010032", "psn_cert_type": "01"}},
    )
    assert [(i["psn_idet_type"], i["begntime"]) for i in info["idetinfo"]] == [("2303", "2025-01-01")]
    _, data = _visit(his, "11", "2025-03-02", "300.00")
    with unit_of_work(engine, write=False) as s:  # the year so far, as the kernel is to start from it
        year = dict(
            s.execute(
                select(Accumulator.acc_key, Accumulator.value).where(
                    Accumulator.psn_no == RESIDENT, Accumulator.year == 2025, Accumulator.insutype == "390"
                )
            ).all()
        )
    after = his.ok("2207", {"data": data})["setlinfo"]
    expected, _, _ = online.settle(
        demo_bundle(),
        PersonFacts("390", "15", [Dated("2303", date(2025, 1, 1))]),
        VisitRequest("11", date(2025, 3, 2), [fee(1, "300.00")], hosp_lv=2),
        year,
        0,
    )
    assert after["maf_pay"] == Decimal(expected.setlinfo_json()["maf_pay"]) > 0
    assert his.ok("2207", {"data": chronic})["setlinfo"]["hifp_pay"] > 0  # registered now: it settles
    with unit_of_work(engine, write=False) as s:
        report = check_ledger(s)
    assert report.ok, report.problems
