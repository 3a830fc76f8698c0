"""Bad input at the facade (issue 18): numbers beyond the national field lengths, digits outside ASCII, another
person's fee lines, values echoed without bound, codes outside the catalogue, counts of 0 and refunds beyond the
charge. Each is refused by name with infcode -1, writes nothing, and a resend of the same msgid gets the same
refusal."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.world import HOSP2, RESIDENT, WORKER, His, demo_policy_with, line
from yibao.store.db import unit_of_work
from yibao.store.tables import FeeLine, MessageLog, Settlement, Visit

ADMIT = "2025-03-01 09:00:00"


def count(engine, table, *where) -> int:
    with unit_of_work(engine, write=False) as s:
        return s.scalar(select(func.count()).select_from(table).where(*where))


def visit(his: His, psn: str = RESIDENT, ins: str = "390") -> str:
    data = {"psn_no": psn, "insutype": ins, "begntime": ADMIT}
    return his.ok("2201", {"data": data})["data"]["mdtrt_id"]


def refused_once_and_again(his: His, infno: str, input_: dict, expected: str) -> str:
    """The refusal's err_msg, after checking that the same msgid resent is refused in the same words."""
    msgid = his.envelope(infno, input_)["msgid"]
    first = his.call(infno, input_, msgid)
    assert first["infcode"] == -1, first
    assert expected in first["err_msg"], first["err_msg"]
    again = his.call(infno, input_, msgid)
    assert (again["infcode"], again["err_msg"]) == (-1, first["err_msg"])
    return first["err_msg"]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("pric", "99999999999999.99", 'input.feedetail[0].pric: "99999999999999.99" 整数部分超过 10 位'),
        ("pric", 1e308, 'input.feedetail[0].pric: "1E+308" 整数部分超过 10 位'),
        ("cnt", "1000000000000", 'input.feedetail[0].cnt: "1000000000000" 整数部分超过 12 位'),
        ("det_item_fee_sumamt", "123456789012345", "input.feedetail[0].det_item_fee_sumamt:"),
        ("pric", "５０.００", 'input.feedetail[0].pric: "５０.００" 不是有效的单价'),
        ("cnt", "２", 'input.feedetail[0].cnt: "２" 不是有效的数量'),
        ("det_item_fee_sumamt", "١٠٠.٠٠", 'input.feedetail[0].det_item_fee_sumamt: "١٠٠.٠٠" 不是有效的金额'),
        ("feedetl_sn", "９９", 'input.feedetail[0].feedetl_sn: "９９" 应为ASCII字母、数字或符号'),
        ("hosp_appr_flag", "１", 'input.feedetail[0].hosp_appr_flag: "１" 不是整数'),
        ("cnt", "0", "input.feedetail[0].cnt: 数量不能为 0"),
    ],
)
def test_numbers_and_codes_are_refused_by_name(client, engine, field, value, expected):
    his = His(client, HOSP2)
    mdtrt = visit(his)
    bad = {**line("1", "A1", "50.00", mdtrt_id=mdtrt), field: value}
    refused_once_and_again(his, "2204", {"feedetail": [bad]}, expected)
    assert count(engine, FeeLine) == 0


def test_a_line_beyond_the_settlement_limit_is_refused_not_crashed(client, engine):
    """Within the national field lengths, but above what a fee line may amount to (9,999,999,999.99)."""
    his = His(client, HOSP2)
    mdtrt = visit(his)
    big = {
        **line("1", "A1", "9999999999.00", mdtrt_id=mdtrt),
        "cnt": "2",
        "det_item_fee_sumamt": "19999999998.00",
    }
    refused_once_and_again(
        his, "2204", {"feedetail": [big]}, "input.feedetail[0].det_item_fee_sumamt: 金额超过单行上限"
    )
    huge = {
        **line("2", "A1", "9999999999.999999", mdtrt_id=mdtrt),
        "cnt": "999999999999.9999",
        "det_item_fee_sumamt": "1.00",
    }
    refused_once_and_again(his, "2204", {"feedetail": [huge]}, "input.feedetail[0].cnt: 金额超过单行上限")
    assert count(engine, FeeLine) == 0


def test_a_full_width_serial_number_is_not_stored_beside_its_ascii_twin(client, engine):
    his = His(client, HOSP2)
    mdtrt = visit(his)
    his.ok("2204", {"feedetail": [line("99", "A1", "10.00", mdtrt_id=mdtrt)]})
    refused_once_and_again(
        his, "2204", {"feedetail": [line("９９", "A1", "10.00", mdtrt_id=mdtrt)]}, "feedetl_sn"
    )
    assert count(engine, FeeLine) == 1


def test_fee_lines_of_another_person_are_refused(client, engine):
    his = His(client, HOSP2)
    mdtrt = visit(his)
    theirs = {**line("1", "A1", "10.00", mdtrt_id=mdtrt), "psn_no": WORKER}
    refused_once_and_again(
        his, "2204", {"feedetail": [theirs]}, "input.feedetail[0].psn_no: 与就诊登记的人员不符"
    )
    assert count(engine, FeeLine) == 0
    his.ok("2204", {"feedetail": [{**line("1", "A1", "10.00", mdtrt_id=mdtrt), "psn_no": RESIDENT}]})


def test_err_msg_quotes_a_short_prefix_and_escapes_control_characters(client, engine):
    his = His(client, HOSP2)
    long_id = "S" * 5000
    msg = refused_once_and_again(his, "2208", {"data": {"setl_id": long_id, "psn_no": RESIDENT}}, "setl_id")
    assert "长度超过 30" in msg and len(msg) < 100
    mdtrt = visit(his)
    msg = refused_once_and_again(
        his,
        "2207",
        {"data": {"psn_no": RESIDENT, "mdtrt_id": mdtrt + "\x00", "medfee_sumamt": "1.00"}},
        "mdtrt_id",
    )
    assert "\x00" not in msg and "\\x00" in msg
    msg = refused_once_and_again(
        his, "2201", {"data": {"psn_no": "P\x01\u2028", "insutype": "390"}}, "psn_no"
    )
    assert msg.isprintable()
    msg = refused_once_and_again(his, "X" * 3000, {}, "infno: 不支持的交易编号")
    assert len(msg) < 100 and msg.endswith('…"')
    # a control character in free text is refused, not stored
    admit = {"psn_no": RESIDENT, "insutype": "390", "begntime": ADMIT, "dise_name": "肺炎\x07"}
    refused_once_and_again(his, "2401", {"mdtrtinfo": admit}, "input.mdtrtinfo.dise_name:")
    with unit_of_work(engine, write=False) as s:  # every refusal kept under its msgid is printable
        assert all(r.isprintable() for r in s.scalars(select(MessageLog.response)))


def test_a_code_outside_the_catalogue_is_refused_by_default(client, engine):
    his = His(client, HOSP2)
    mdtrt = visit(his)
    lines = [line("1", "A1", "10.00", mdtrt_id=mdtrt), line("2", "ZZ-NOT-LISTED", "10.00", mdtrt_id=mdtrt)]
    refused_once_and_again(
        his, "2204", {"feedetail": lines}, 'input.feedetail[1].med_list_codg: 目录中不存在 "ZZ-NOT-LISTED"'
    )
    assert count(engine, FeeLine) == 0
    # a pharmacy's 2102 carries its lines in the call: the same rule, the same naming
    data = {"psn_no": WORKER, "insutype": "310", "medfee_sumamt": "10.00", "acct_used_flag": "1"}
    pharmacy = His(client, "P99010200001")
    refused_once_and_again(
        pharmacy,
        "2102",
        {"data": data, "drugdetail": [line("1", "NOPE", "10.00")]},
        'input.drugdetail[0].med_list_codg: 目录中不存在 "NOPE"',
    )
    assert (count(engine, Visit), count(engine, Settlement)) == (1, 0)


def test_a_region_may_settle_unknown_codes_as_self_pay(client, engine, tmp_path, monkeypatch):
    """``catalogue: {unknown_items: self_pay}`` in the 就医地's policy: the lenient behaviour, as data."""
    demo_policy_with(tmp_path, monkeypatch, "unknown_items: refuse", "unknown_items: self_pay")
    his = His(client, HOSP2)
    mdtrt = visit(his)
    split = his.ok("2204", {"feedetail": [line("1", "ZZ-NOT-LISTED", "10.00", mdtrt_id=mdtrt)]})["result"][0]
    assert (split["chrgitm_lv"], str(split["fulamt_ownpay_amt"])) == ("03", "10.00")


def test_refunds_take_back_no_more_than_was_charged(client, engine):
    """退费: a negative count takes back part of an unsettled charge of the same item (optionally naming the
    line, as national 2301 退单 does with init_feedetl_sn), never more."""
    his = His(client, HOSP2)
    mdtrt = visit(his)
    his.ok("2204", {"feedetail": [line("1", "B1", "10.00", 3, mdtrt_id=mdtrt)]})

    def refund(sn: str, cnt: str, codg: str = "B1", **extra) -> dict:
        amount = f"{-10 * int(cnt):.2f}"
        return {
            **line(sn, codg, "10.00", mdtrt_id=mdtrt),
            "cnt": f"-{cnt}",
            "det_item_fee_sumamt": amount,
            **extra,
        }

    refused_once_and_again(
        his,
        "2204",
        {"feedetail": [refund("2", "4")]},
        'input.feedetail[0].cnt: 退费超过本次就诊未结算的 "B1" 收费',
    )
    refused_once_and_again(
        his, "2204", {"feedetail": [refund("2", "1", "A1")]}, "input.feedetail[0].cnt: 退费超过"
    )
    refused_once_and_again(
        his,
        "2204",
        {"feedetail": [refund("2", "1", init_feedetl_sn="7")]},
        'input.feedetail[0].init_feedetl_sn: 原费用明细 "7"',
    )
    charge = {**line("3", "B1", "10.00", mdtrt_id=mdtrt), "init_feedetl_sn": "1"}
    refused_once_and_again(his, "2204", {"feedetail": [charge]}, "只有退费行")
    assert count(engine, FeeLine) == 1
    his.ok("2204", {"feedetail": [refund("2", "1", init_feedetl_sn="1")]})
    his.ok("2204", {"feedetail": [refund("3", "2", init_feedetl_sn="1")]})
    refused_once_and_again(his, "2204", {"feedetail": [refund("4", "1", init_feedetl_sn="1")]}, "退费")
    with unit_of_work(engine, write=False) as s:
        assert sorted(
            s.scalars(select(FeeLine.init_feedetl_sn).where(FeeLine.init_feedetl_sn.is_not(None)))
        ) == ["1", "1"]
    # the charge fully refunded: the visit settles to 0.00
    data = {"psn_no": RESIDENT, "mdtrt_id": mdtrt, "medfee_sumamt": "0.00", "insutype": "390"}
    assert his.ok("2207", {"data": data})["setlinfo"]["medfee_sumamt"] == 0


def test_a_refund_left_without_its_charge_is_refused_at_settlement(client, engine):
    """2205 cancels a batch of charges after their refund was uploaded in another batch: the settlement of what
    is left would pay back more than was charged, and is refused."""
    his = His(client, HOSP2)
    mdtrt = visit(his)
    charge = {**line("1", "B1", "10.00", mdtrt_id=mdtrt), "chrg_bchno": "C1"}
    other = {**line("2", "A1", "50.00", mdtrt_id=mdtrt), "chrg_bchno": "C2"}
    back = {
        **line("3", "B1", "10.00", mdtrt_id=mdtrt),
        "cnt": "-1",
        "det_item_fee_sumamt": "-10.00",
        "chrg_bchno": "C2",
    }
    his.ok("2204", {"feedetail": [charge, other, back]})
    his.ok("2205", {"data": {"mdtrt_id": mdtrt, "psn_no": RESIDENT, "chrg_bchno": "C1"}})
    data = {"psn_no": RESIDENT, "mdtrt_id": mdtrt, "medfee_sumamt": "40.00", "insutype": "390"}
    refused_once_and_again(his, "2207", {"data": data}, 'feedetail: 项目 "B1" 的退费超过本次结算的收费')
    assert count(engine, Settlement) == 0


def test_a_msgid_of_up_to_40_characters_settles(client, engine):
    """The facade takes msgids up to 40 characters; the settlement keeps it whole (medins_setl_id)."""
    his = His(client, HOSP2)
    mdtrt = visit(his)
    his.ok("2204", {"feedetail": [line("1", "A1", "10.00", mdtrt_id=mdtrt)]})
    data = {"psn_no": RESIDENT, "mdtrt_id": mdtrt, "medfee_sumamt": "10.00", "insutype": "390"}
    assert his.ok("2207", {"data": data}, msgid="M" * 40)["setlinfo"]["medins_setl_id"] == "M" * 40
