"""The smart-audit engine's mechanics: the audit view's numbers, the library's parsing and dating, the SQL's
portability, the amounts, and online = batch on random worlds (supervision.md §3.5, §4)."""

from __future__ import annotations

import random
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibao.supervision import sqltext
from yibao.supervision.batch import BatchEngine
from yibao.supervision.frame import day_number, frame_from_rows
from yibao.supervision.kinds import KINDS
from yibao.supervision.library import LibraryError
from yibao.supervision.library_files import load_library
from yibao.supervision.online import OnlineEngine
from yibao.supervision.testing import world


def _write(tmp_path: Path, text: str, **files: str) -> Path:
    (tmp_path / "rules.yaml").write_text(text, encoding="utf-8")
    for name, body in files.items():
        (tmp_path / name.replace("__", ".")).write_text(body, encoding="utf-8")
    return tmp_path


def test_view_numbers_are_days_and_whole_years():
    frame = frame_from_rows(
        [{"mdtrt_id": "V", "psn_no": "P", "begntime": datetime(2025, 3, 1, 9), "endtime": None,
          "brdy": date(2015, 3, 2), "death_date": None, "gend": "2", "inst_grade": 2, "med_type": "11"}],
        [{"line_id": 1, "mdtrt_id": "V", "fee_ocur_time": datetime(2025, 3, 2, 23, 59), "cnt": 1, "pric": 1, "amt": 1}],
    )  # fmt: skip
    v = frame.raw_visits.to_pylist()[0]
    assert v["begn_day"] == day_number(date(2025, 3, 1)) == 20148
    assert (v["begn_year"], v["begn_md"], v["brdy_md"], v["begn_month"]) == (2025, 301, 302, 2025 * 12 + 2)
    assert frame.raw_lines.to_pylist()[0]["fee_day"] == 20149
    # the view: 9 on the day before the 10th birthday, 10 on it
    engine = BatchEngine(load_library(_write_min()), stage=None)
    engine.load(frame)
    ages = engine.con.execute("SELECT age_years, age_days FROM visits").fetchone()
    assert ages == (9, day_number(date(2025, 3, 1)) - day_number(date(2015, 3, 2)))
    assert engine.con.execute("SELECT age_years FROM lines").fetchone() == (10,)


def _write_min() -> Path:
    import tempfile

    d = Path(tempfile.mkdtemp())
    (d / "r.yaml").write_text(
        "rules:\n  - {rule_code: T1, name: 死亡后就医, kind: after_death, result_type: 违规, effective_from: 2025-01-01}\n",
        encoding="utf-8",
    )
    return d


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("dialect", ["sqlite", "duckdb", "spark"])
def test_every_template_transpiles(kind, dialect):
    sql = sqltext.render(KINDS[kind], {"rule_code": "X", "pct": "0.9", "min_visits": 3})
    assert "SELECT" in sqltext.transpile(sql, dialect)
    assert " LIKE " not in KINDS[kind].sql.upper()  # SQLite's LIKE ignores case; prefixes use SUBSTRING


def test_problems_name_file_rule_and_row(tmp_path):
    _write(
        tmp_path,
        """rules:
  - {rule_code: A1, name: 限性别, kind: sex_limit, result_type: 违规, effective_from: 2025-01-01,
     knowledge: k.csv}
  - {rule_code: A2, name: x, kind: no_such_kind, result_type: 违规, effective_from: 2025-01-01}
  - {rule_code: A3, name: y, kind: readmission, result_type: 可疑, sev_deg: "1", effective_from: 2025-01-01,
     actions: {upload: block}, params: {window_days: "-3"}}
""",
        k__csv="code,gend\nX1,2\nX2,3\n",
    )
    with pytest.raises(LibraryError) as e:
        load_library(tmp_path)
    problems = e.value.problems
    assert any("A1" in p and "k.csv row 3" in p and "gend" in p for p in problems), problems
    assert any("A2" in p and "kind" in p for p in problems)
    assert any("A3" in p and "sev_deg" in p for p in problems)
    assert any("A3" in p and "actions.upload" in p for p in problems)
    assert any("A3" in p and "window_days" in p for p in problems)


def test_superseding_row_ends_the_old_one(tmp_path):
    _write(
        tmp_path,
        """rules:
  - rule_code: Q1
    name: 限定数量
    kind: max_quantity
    result_type: 违规
    effective_from: 2025-01-01
    knowledge:
      - {code: C1, max_cnt: "1", row_key: a}
      - {code: C1, max_cnt: "3", row_key: b, supersedes: a, from: 2025-07-01}
""",
    )
    lib = load_library(tmp_path)
    names, rows = lib.tables()["max_quantity"]
    by_key = {r[names.index("max_cnt")]: (r[2], r[3]) for r in rows}
    assert by_key[10000] == (day_number(date(2025, 1, 1)), day_number(date(2025, 6, 30)))
    assert by_key[30000][0] == day_number(date(2025, 7, 1))

    def case(day):
        return {"visits": [{"begn": f"{day} 09:00", "lines": [[1, "C1", 2, "5"]]}]}

    online = OnlineEngine(lib)
    for day, hits in (("2025-03-01", 1), ("2025-08-01", 0)):  # 2 above 1 in March; within 3 in August
        frame, subject = world(case(day))
        assert len(online.check(frame, {subject}, stage="mid")) == hits
        batch = BatchEngine(lib)
        batch.load(frame)
        assert len(batch.run()) == hits


def test_excess_amount_is_the_share_above_the_limit(tmp_path):
    _write(
        tmp_path,
        """rules:
  - {rule_code: Q2, name: 诊察费每日一次, kind: max_quantity, result_type: 违规, effective_from: 2025-01-01,
     knowledge: [{code: C9, max_cnt: "1"}]}
""",
    )
    frame, subject = world({"visits": [{"lines": [[1, "C9", 2, "10"], [2, "C9", 1, "10"]]}]})
    (f,) = OnlineEngine(load_library(tmp_path)).check(frame, {subject})
    # 3 units billed, 1 allowed: 2/3 of 30.00 = 20.00
    assert (f.observed, f.lim, f.vola_amt) == ("30000", "10000", 2000)
    assert [x.feedetl_sn for x in f.lines] == ["1", "2"]


RANDOM_LIBRARY = """rules:
  - {rule_code: R1, name: 限女性, kind: sex_limit, result_type: 违规, effective_from: 2025-01-01,
     knowledge: [{code: C1, gend: "2"}, {code: C2, gend: "1"}]}
  - {rule_code: R2, name: 限儿童, kind: age_limit, result_type: 违规, effective_from: 2025-01-01,
     knowledge: [{code: C3, max_age: "14"}]}
  - {rule_code: R3, name: 限级别, kind: level_limit, result_type: 违规, effective_from: 2025-01-01,
     knowledge: [{code: C4, min_grade: "2"}]}
  - {rule_code: R4, name: 限定频次, kind: max_quantity, result_type: 违规, effective_from: 2025-01-01,
     knowledge: [{code: C5, max_cnt: "1"}]}
  - {rule_code: R5, name: 重复收费, kind: pair_conflict, result_type: 违规, effective_from: 2025-01-01,
     knowledge: [{code: C6, with_code: C7}]}
  - {rule_code: R6, name: 疗程, kind: course_days, result_type: 违规, effective_from: 2025-01-01,
     knowledge: [{code: C1, max_days: "2"}]}
  - {rule_code: R7, name: 周期, kind: cycle_frequency, result_type: 可疑, effective_from: 2025-01-01,
     knowledge: [{code: C8, cycle_days: "30", max_in_cycle: "1"}]}
  - {rule_code: R8, name: 分解住院, kind: readmission, result_type: 可疑, effective_from: 2025-01-01}
  - {rule_code: R9, name: 频繁门诊, kind: visit_frequency, result_type: 可疑, effective_from: 2025-01-01,
     knowledge: [{med_type: "1"}], params: {max_visits: "2"}}
  - {rule_code: R10, name: 住院期间门诊, kind: visit_during_stay, result_type: 违规, effective_from: 2025-01-01}
  - {rule_code: R11, name: 限适应症, kind: indication, result_type: 违规, effective_from: 2025-01-01,
     knowledge: [{code: C3, dise_prefix: J}]}
  - {rule_code: R12, name: 挂床, kind: idle_stay, result_type: 可疑, effective_from: 2025-01-01,
     knowledge: [{chrgitm_type: "01"}, {chrgitm_type: "07"}]}
"""


@st.composite
def worlds(draw):
    rnd = random.Random(draw(st.integers(0, 10**9)))
    persons = {
        f"P{i}": {
            "gend": rnd.choice("12"),
            "brdy": f"{rnd.randint(1940, 2020)}-0{rnd.randint(1, 9)}-1{rnd.randint(0, 9)}",
        }
        for i in range(3)
    }
    visits = []
    for i in range(draw(st.integers(1, 8))):
        inpatient = rnd.random() < 0.4
        month, day = rnd.randint(1, 3), rnd.randint(1, 20)
        begn = f"2025-0{month}-{day:02d} {rnd.randint(8, 17):02d}:00"
        lines = [
            {"sn": k + 1, "code": rnd.choice(["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C0"]),
             "cnt": rnd.choice(["1", "2", "0.5"]), "pric": "10", "day": rnd.randint(0, 6 if inpatient else 0),
             "chrg": rnd.choice(["01", "07", "09"])}
            for k in range(rnd.randint(0, 7))
        ]  # fmt: skip
        visits.append(
            {
                "id": f"V{i}",
                "psn": rnd.choice(list(persons)),
                "med_type": "21" if inpatient else "11",
                "begn": begn,
                "end": f"2025-0{month}-{day + rnd.randint(1, 8):02d} 10:00" if inpatient else None,
                "grade": rnd.randint(1, 3),
                "dx": [rnd.choice(["J18.900", "K35.800", "I10.x00"])],
                "lines": lines,
            }
        )
    return {"persons": persons, "visits": visits}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=worlds())
def test_online_equals_batch_on_random_worlds(case, tmp_path_factory):
    lib = load_library(_write(tmp_path_factory.mktemp("lib"), RANDOM_LIBRARY))
    frame, _ = world(case)
    batch = BatchEngine(lib, stage=None)
    batch.load(frame)
    expected = sorted(f.signature() for f in batch.run())
    online = OnlineEngine(lib).check(frame, stage=None)
    assert sorted(f.signature() for f in online) == expected


def test_each_group_of_a_visit_is_priced_on_its_own_excess(tmp_path):
    _write(
        tmp_path,
        """rules:
  - {rule_code: Q3, name: 每日限一次, kind: max_quantity, result_type: 违规, effective_from: 2025-01-01,
     knowledge: [{code: C8, max_cnt: "1"}, {code: C9, max_cnt: "1"}]}
""",
    )
    lib = load_library(tmp_path)
    # C9: 2 × 10.00 with 1 allowed → 10.00; C8: 3 × 4.00 with 1 allowed → 8.00; the same in either engine
    frame, subject = world({"visits": [{"lines": [[1, "C9", 2, "10"], [2, "C8", 3, "4"]]}]})
    (online,) = OnlineEngine(lib).check(frame, {subject})
    batch = BatchEngine(lib)
    batch.load(frame)
    (offline,) = batch.run()
    assert online.vola_amt == offline.vola_amt == 1800
    assert "等 2 处" in online.vola_cont
