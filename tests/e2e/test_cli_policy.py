"""The policy and scenario commands end to end: output, exit codes, one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from yibao.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_policy_check_prints_a_summary(capsys):
    assert main(["policy", "check", str(REPO / "regions" / "990100")]) == 0
    out = capsys.readouterr().out
    assert "政策校验通过" in out and "2025-01-01 — 2025-12-31" in out
    assert "outpatient: 500 → 800" in out and "deductible: 18000 → 16000" in out


def test_policy_check_lists_every_error_and_exits_2(tmp_path, capsys):
    target = tmp_path / "990100"
    shutil.copytree(REPO / "regions" / "990100" / "policy", target / "policy")
    p = target / "policy" / "2025.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace('3: "0.65"', "3: 1.65"), encoding="utf-8")
    assert main(["policy", "check", str(target)]) == 2
    captured = capsys.readouterr()
    assert "insutype 390 › inpatient › ratio › 3: 1.65 is not a ratio in [0, 1]" in captured.out
    assert captured.err.count("\n") == 1 and "政策校验失败" in captured.err


def test_policy_show_by_date(capsys):
    assert main(["policy", "show", "--region", "990100", "--date", "2026-06-01"]) == 0
    out = capsys.readouterr().out
    assert "2026" in out and "800" in out
    assert main(["policy", "show", "--region", "990100", "--date", "2024-06-01"]) == 2
    assert main(["policy", "show", "--date", "June"]) == 2


def test_policy_show_tells_each_values_file_and_reference(capsys):
    assert main(["policy", "show", "--region", "990100", "--date", "2026-06-01"]) == 0
    lines = capsys.readouterr().out.splitlines()
    own = next(
        i for i, ln in enumerate(lines) if ln.endswith("2026.yaml  版本 2026 设定 9 项 (sets 9 values)")
    )
    parent = next(
        i for i, ln in enumerate(lines) if "2025.yaml  版本 2025 设定" in ln and "由 2026 继承" in ln
    )
    assert lines[own - 1] == "数值来源 (each value, the file that set it, its reference):" and own < parent
    cap = "  insutype 390 › caps › outpatient: 800.00  依据: 示例市医疗保障局 2025年第7号公告（示例） 第二条"
    assert lines.index(cap) in range(own, parent)
    assert lines.index("  insutype 390 › inpatient › ratio › 3: 0.65") > parent  # inherited, cites nothing
    assert "  insutype 390 › critical_illness › classes: [inpatient, chronic]" in lines
    assert "继承 2025 (inherits)" in lines[0]

    assert main(["policy", "show", "--region", "990100", "--date", "2025-06-01"]) == 0
    out = capsys.readouterr().out
    assert "2025.yaml  版本 2025 设定" in out and "依据" not in out and "2026.yaml" not in out


def test_policy_check_cites_the_reference_of_each_change(capsys):
    assert main(["policy", "check", str(REPO / "regions" / "990100")]) == 0
    out = capsys.readouterr().out
    assert (
        "insutype › 390 › caps › outpatient: 500 → 800  依据: 示例市医疗保障局 2025年第7号公告（示例） 第二条"
    ) in out
    assert "数值来源" not in out  # check keeps its one screen


SCENARIO = """
cases:
  - name: ok
    person: {insutype: "310", psn_type: "11", acct_balance: "100.00"}
    steps:
      - settle: {med_type: "11", begndate: 2025-03-01, hosp_lv: 2, acct_used_flag: 1,
                 fees: [{chrgitm_lv: "01", pric: "600.00", cnt: 1}]}
        expect: {hifp_pay: "350.00", acct_pay: "100.00", psn_cash_pay: "150.00", balc: "0.00"}
      - reverse: 1
        expect: {hifp_pay: "-350.00", balc: "100.00"}
  - name: wrong
    person: {insutype: "390", psn_type: "15"}
    steps:
      - settle: {med_type: "11", begndate: 2025-03-01, hosp_lv: 1, fees: [{chrgitm_lv: "01", pric: "100", cnt: 1}]}
        expect: {hifp_pay: "61.00"}
  - name: no expectations
    person: {insutype: "390", psn_type: "15", chronic: ["M01600"]}
    steps:
      - settle: {med_type: "11", begndate: 2025-03-01, hosp_lv: 1, fees: [{chrgitm_lv: "01", pric: "100", cnt: 1}]}
      - settle: {med_type: "14", begndate: 2025-03-02, hosp_lv: 1, opsp_dise_code: M03900,
                 fees: [{chrgitm_lv: "01", pric: "100", cnt: 1}]}
      - settle: {med_type: "11", begndate: 2025-03-03, hosp_lv: 1, fees: [{chrgitm_lv: "01", pric: "1", cnt: 1}]}
  - name: bad amount
    person: {insutype: "390", psn_type: "15"}
    steps:
      - settle: {med_type: "11", begndate: 2025-03-01, hosp_lv: 1, fees: [{chrgitm_lv: "01", pric: "1", cnt: 1}]}
      - settle: {med_type: "11", begndate: 2025-03-01, hosp_lv: 1,
                 fees: [{chrgitm_lv: "01", pric: "1", cnt: 1}, {chrgitm_lv: "01", pric: "1", cnt: 1},
                        {chrgitm_lv: "01", pric: "12.3.4", cnt: 1}]}
"""


def test_scenarios_run_prints_json_and_check_diffs(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(SCENARIO, encoding="utf-8")
    assert main(["scenarios", "run", str(f)]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    ok, wrong, none, bad = data["cases"]
    assert ok["passed"] is True and ok["steps"][1]["kind"] == "reverse"
    assert ok["steps"][0]["setldetail"] == [
        {
            "fund_pay_type": "310100",
            "inscp_scp_amt": "500.00",
            "crt_payb_lmt_amt": "2000.00",
            "fund_payamt": "350.00",
        },
        {
            "fund_pay_type": "310200",
            "inscp_scp_amt": "250.00",
            "crt_payb_lmt_amt": "100.00",
            "fund_payamt": "100.00",
        },
    ]
    assert wrong["passed"] is False
    assert none["passed"] is None
    assert none["steps"][1] == {"step": 2, "kind": "error", "error": "未备案的门诊慢特病: M03900"}
    assert len(none["steps"]) == 2  # a failing step stops its case
    assert bad["steps"][1]["error"] == 'fees[3].pric: "12.3.4" is not an amount'
    assert 'case "bad amount" step 2: fees[3].pric: "12.3.4" is not an amount' in captured.err

    assert main(["scenarios", "run", str(f), "--check"]) == 1
    err = capsys.readouterr().err
    assert "✗ wrong" in err and "hifp_pay: expected 61.00, got 60.00" in err and "1/2 cases passed" in err


def test_scenarios_refuse_a_file_that_is_not_one(tmp_path, capsys):
    f = tmp_path / "x.yaml"
    f.write_text("- 1\n- 2\n", encoding="utf-8")
    assert main(["scenarios", "run", str(f)]) == 2
    assert "不是结算案例文件" in capsys.readouterr().err
    assert main(["scenarios", "run", str(tmp_path / "missing.yaml")]) == 2


def test_every_shipped_region_passes_the_check(capsys):
    """The demo and the example regions from published policies (990201–990204) are all valid as shipped."""
    regions = sorted(p.parent for p in (REPO / "regions").glob("99*/policy"))
    assert len(regions) >= 5
    for region in regions:
        assert main(["policy", "check", str(region)]) == 0, capsys.readouterr().err
        assert "政策校验通过" in capsys.readouterr().out
