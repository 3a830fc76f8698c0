"""The pure rules of the entitlement feeds against hand cases: periods, overlaps, end dates that never
reopen, grades, 惠民保 years, opening-balance corrections — and that the module touches no database."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest

from yibao.enrollment import entitlements as ent
from yibao.enrollment.rules import Period
from yibao.errors import InputError

D = date
ALL = set(ent.IDENTITY.fields)


def identity(begin, end=None, code="2303", psn="P1", **extra) -> dict:
    return {
        "psn_no": psn,
        "psn_idet_type": code,
        "psn_type_lv": None,
        "begntime": begin,
        "endtime": end,
        "idet_org": "民政局",
        "memo": None,
        **extra,
    }


def stored(row: dict, id_: int = 7) -> dict:
    return {"id": id_, **row}


def held(row: dict, ref: str = "identity 7") -> ent.Held:
    return ent.held(ent.IDENTITY, ref, (row["psn_no"], row["psn_idet_type"], row["begntime"]), row)


def refused(fn, *args, **kw) -> str:
    with pytest.raises(InputError) as exc:
        fn(*args, **kw)
    return exc.value.message


def test_a_new_key_is_registered_and_the_same_row_again_is_unchanged():
    row = identity(D(2025, 1, 1))
    assert ent.plan(ent.IDENTITY, row, None, [], present=ALL) == ent.Change("insert", None, row, "register")
    same = ent.plan(ent.IDENTITY, row, stored(row), [held(row)], present=ALL)
    assert (same.kind, same.action) == ("unchanged", None)


def test_an_end_date_ends_the_period_and_an_empty_one_keeps_it():
    old = identity(D(2025, 1, 1), D(2025, 6, 30))
    reopen = ent.plan(ent.IDENTITY, identity(D(2025, 1, 1)), stored(old), [held(old)], present=ALL)
    assert reopen.kind == "unchanged" and reopen.after["endtime"] == D(2025, 6, 30)
    open_ = identity(D(2025, 1, 1))
    ended = ent.plan(ent.IDENTITY, old, stored(open_), [held(open_)], present=ALL)
    assert (ended.kind, ended.action) == ("update", "end")
    assert ended.before["endtime"] is None and ended.after["endtime"] == D(2025, 6, 30)
    later = ent.plan(
        ent.IDENTITY, identity(D(2025, 1, 1), D(2025, 9, 30)), stored(old), [held(old)], present=ALL
    )
    assert later.action == "end" and later.after["endtime"] == D(2025, 9, 30)  # a correction moves it


def test_a_column_the_file_lacks_keeps_its_stored_value_and_a_changed_one_is_a_change():
    old = identity(D(2025, 1, 1), memo="低保")
    row = identity(D(2025, 1, 1), D(2025, 3, 31), memo=None)
    kept = ent.plan(ent.IDENTITY, row, stored(old), [held(old)], present=ALL - {"memo"})
    assert kept.after["memo"] == "低保" and kept.action == "end"
    wiped = ent.plan(ent.IDENTITY, row, stored(old), [held(old)], present=ALL)
    assert wiped.after["memo"] is None and wiped.action == "change"


def test_periods_of_one_type_may_touch_but_not_overlap():
    first = identity(D(2024, 1, 1), D(2024, 12, 31))
    nxt = ent.plan(ent.IDENTITY, identity(D(2025, 1, 1)), None, [held(first)], present=ALL)
    assert nxt.kind == "insert"  # 31 Dec then 1 Jan: adjacent
    assert refused(ent.plan, ent.IDENTITY, identity(D(2024, 12, 31)), None, [held(first)], present=ALL) == (
        "begntime: 与现有人员身份重叠 (identity 7: 2303 自 2024-01-01 至 2024-12-31)；"
        "同一人员身份的期间不能重叠，请先结束现有记录"
    )
    open_ = identity(D(2020, 1, 1))
    msg = refused(ent.plan, ent.IDENTITY, identity(D(2030, 1, 1)), None, [held(open_, "第2行")], present=ALL)
    assert msg.startswith("begntime: 与现有人员身份重叠 (第2行: 2303 自 2020-01-01 起)")
    other_type = ent.plan(
        ent.IDENTITY, identity(D(2030, 1, 1), code="2302"), None, [held(open_)], present=ALL
    )
    assert other_type.kind == "insert"  # 低保 and 脱贫 at once: two identities, both held


def test_an_end_before_the_start_and_an_add_of_a_known_key_are_refused():
    assert refused(
        ent.plan, ent.IDENTITY, identity(D(2025, 3, 1), D(2025, 2, 28)), None, [], present=ALL
    ) == ("endtime: 结束日期 2025-02-28 早于开始日期 2025-03-01")
    row = identity(D(2025, 1, 1))
    assert refused(ent.plan, ent.IDENTITY, row, stored(row), [held(row)], present=ALL, may_update=False) == (
        "begntime: 已有同一开始日期的人员身份 (identity 7: 2303 自 2025-01-01)；请修改或结束该记录"
    )


def test_ending_on_a_day():
    row = stored(identity(D(2025, 1, 1)))
    assert ent.ending(ent.IDENTITY, row, D(2025, 1, 1))["endtime"] == D(2025, 1, 1)  # one day held
    assert refused(ent.ending, ent.IDENTITY, row, D(2024, 12, 31)) == (
        "date: 结束日期 2024-12-31 早于开始日期 2025-01-01"
    )
    done = stored(identity(D(2025, 1, 1), D(2025, 6, 30)))
    assert ent.ending(ent.IDENTITY, done, D(2025, 3, 31))["endtime"] == D(2025, 3, 31)  # earlier: allowed
    assert refused(ent.ending, ent.IDENTITY, done, D(2025, 6, 30)) == "date: 该人员身份已于 2025-06-30 结束"


def chronic(begin, end=None, status="approved", code="M03900") -> dict:
    return {
        "psn_no": "P1",
        "opsp_dise_code": code,
        "begndate": begin,
        "enddate": end,
        "status": status,
        "fixmedins_code": None,
    }


def test_a_revoked_registration_holds_no_period():
    old = chronic(D(2025, 1, 1))
    other = [ent.held(ent.CHRONIC, "chronic_registration 3", ("P1", "M03900", D(2025, 1, 1)), old)]
    assert refused(
        ent.plan, ent.CHRONIC, chronic(D(2025, 3, 1)), None, other, present=set(ent.CHRONIC.fields)
    )
    revoked = ent.revoking({"id": 3, **old})
    assert revoked["status"] == "revoked" and not ent.holds(ent.CHRONIC, revoked)
    r = ent.plan(ent.CHRONIC, revoked, {"id": 3, **old}, other, present=set(ent.CHRONIC.fields))
    assert (r.kind, r.action) == ("update", "revoke")
    assert refused(ent.revoking, {"id": 3, **revoked}) == "status: 当前状态为 已撤销，不能撤销"


@pytest.mark.parametrize(
    ("code", "given", "expected"),
    [("25", "2", "2"), ("25", "二级", "2"), ("25", "4级", "4"), ("2303", None, None), ("21", "一等", "一等")],
)
def test_grades(code, given, expected):
    assert ent.grade(code, given) == expected


@pytest.mark.parametrize("given", [None, "", "5", "五级", "0"])
def test_a_disability_needs_a_grade_of_one_to_four(given):
    assert refused(ent.grade, "25", given).startswith("psn_type_lv: 残疾人员须填残疾等级 1–4（一级至四级）")


def test_huiminbao_years():
    row = {"psn_no": "P1", "year": 2025, "product": None, "status": "enrolled"}
    assert ent.plan_supplementary(row, None).after == {"psn_no": "P1", "year": 2025, "product": "huiminbao"}
    have = {"psn_no": "P1", "year": 2025, "product": "huiminbao"}
    assert ent.plan_supplementary(row, have).kind == "unchanged"
    assert ent.plan_supplementary({**row, "product": "B"}, have).kind == "update"
    cancel = {**row, "status": "cancelled"}
    assert (ent.plan_supplementary(cancel, have).kind, ent.plan_supplementary(cancel, None).kind) == (
        "delete",
        "unchanged",
    )
    assert ent.supplementary_year(2027, D(2026, 11, 1)) == 2027  # sold ahead of 1 January
    assert (
        refused(ent.supplementary_year, 2028, D(2026, 11, 1))
        == "year: 惠民保年度应在 2000–2027 之间（填写的是 2028）"
    )


def test_opening_balance_adjustments():
    assert ent.opening_adjustment(0, 123_456, 0) == 123_456
    assert ent.opening_adjustment(123_456, 123_456, 150_000) == 0  # the same file again posts nothing
    assert ent.opening_adjustment(123_456, 100_000, 150_000) == -23_456  # a correction posts the difference
    assert refused(ent.opening_adjustment, 123_456, 0, 100_000) == (
        "balc: 期初余额由 1234.56 改为 0.00 后账户余额为负 (balance 1000.00)"
    )
    assert refused(ent.opening_adjustment, 0, -1, 0) == "balc: 期初余额不能为负（填写的是 -0.01）"


def test_period_overlap_is_inclusive_at_both_ends():
    assert Period(D(2025, 1, 1), D(2025, 1, 31)).overlaps(Period(D(2025, 1, 31), None))
    assert not Period(D(2025, 1, 1), D(2025, 1, 31)).overlaps(Period(D(2025, 2, 1), None))


def test_the_rules_touch_no_database():
    """A boundary contract: the entitlement rules import nothing from the store, the API, the console or
    the settings (the import, REST and console call them; they call nothing back)."""
    src = Path(ent.__file__).read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    assert not {
        m for m in imported if m.split(".")[:2] in (["yibao", x] for x in ("store", "api", "console"))
    }
    assert "yibao.config" not in imported and "sqlalchemy" not in {m.split(".")[0] for m in imported}
