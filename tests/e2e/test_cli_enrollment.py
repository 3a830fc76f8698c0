"""The enrollment commands end to end on both databases: ``yibao import`` of mixed valid/invalid Excel files
of employers, persons and enrollments (rejections by line and field, the rest loaded, the rules applied),
then ``yibao contributions run|declare|collect|residents`` and ``yibao accounts statement`` with their
figures, the ledger and audit checks, and one-line refusals with exit code 2."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from yibao.cli import main
from yibao.store.db import unit_of_work
from yibao.store.tables import Employer, Enrollment, Person, PersonalAccount
from yibao.synth.population import uscc
from yibao.validation import id_check_char

REPO = Path(__file__).resolve().parents[2]
EAST, WEST = "990102", "990103"


def certno(district: str, born: str, serial: str) -> str:
    body = f"{district}{born}{serial}"
    return body + id_check_char(body)


def xlsx(path: Path, header: list[str], rows: list[list]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


GOOD_A, GOOD_B = uscc(EAST, 101), uscc(WEST, 404)
BAD_USCC = GOOD_A[:-1] + ("0" if GOOD_A[-1] != "0" else "1")
EMP_A = "E990102" + GOOD_A[8:16]  # derived from the code when the file leaves 单位编号 empty
MAN, WOMAN = certno(EAST, "19800101", "001"), certno(EAST, "19850505", "002")
RES1, RES2 = certno(WEST, "19700707", "004"), certno(WEST, "19950505", "006")


@pytest.fixture
def loaded(engine, tmp_path, capsys):
    assert main(["region", "load", "990100", "--regions-dir", str(REPO / "regions")]) == 0
    capsys.readouterr()
    employers = xlsx(
        tmp_path / "employers.xlsx",
        ["单位编号", "统一社会信用代码", "单位名称", "区划"],
        [
            [None, GOOD_A, "示例市科技有限公司", EAST],
            ["E2", BAD_USCC, "校验位错", EAST],
            ["E3", uscc(WEST, 202), "区划不存在", "990199"],
            ["E4", GOOD_A, "代码重复", EAST],
            ["E5", uscc(WEST, 303), None, WEST],
            ["E6", GOOD_B, "示例市物流有限公司", WEST],
        ],
    )
    persons = xlsx(
        tmp_path / "persons.xlsx",
        ["人员编号", "证件号码", "姓名", "性别", "出生日期", "区划"],
        [
            ["P1", MAN, "张三", "1", date(1980, 1, 1), EAST],
            ["P2", MAN[:-1] + ("1" if MAN[-1] != "1" else "2"), "校验位", "1", date(1980, 1, 1), EAST],
            ["P3", certno(EAST, "19900101", "003"), "性别错", "2", date(1990, 1, 1), EAST],
            ["P4", WOMAN, "李四", "2", date(1985, 5, 5), EAST],
            ["P5", RES1, "赵六", "2", date(1970, 7, 7), WEST],
            ["P6", RES2, "钱七", "2", date(1995, 5, 5), WEST],
            ["P7", certno(WEST, "19600101", "008"), "生日错", "2", date(1960, 1, 2), WEST],
        ],
    )
    enrollments = xlsx(
        tmp_path / "enrollments.xlsx",
        [
            "人员编号",
            "险种类型",
            "人员类别",
            "参保日期",
            "终止日期",
            "参保地医保区划",
            "单位编号",
            "灵活就业缴费基数",
            "累计缴费月数",
            "登记日期",
        ],
        [
            ["P1", "310", "11", date(2025, 1, 1), None, "990100", EMP_A, None, 120, None],  # 2: ok
            ["P4", "310", "11", date(2025, 1, 1), None, "990100", None, None, None, None],  # 3: no employer
            [
                "P1",
                "390",
                "15",
                date(2025, 3, 1),
                None,
                "990100",
                None,
                None,
                None,
                None,
            ],  # 4: overlaps line 2
            ["P5", "390", "15", date(2025, 1, 1), None, "990100", None, None, None, date(2024, 10, 1)],  # 5
            [
                "P6",
                "390",
                "15",
                date(2025, 3, 1),
                None,
                "990100",
                None,
                None,
                None,
                date(2025, 3, 1),
            ],  # 6: late
            ["P9", "390", "15", date(2025, 1, 1), None, "990100", None, None, None, None],  # 7: no person
            ["P4", "310", "11", date(2025, 1, 1), None, "990100", None, "4000.00", None, None],  # 8: base
            ["P4", "310", "11", date(2025, 2, 1), None, "990100", "E404", None, None, None],  # 9: employer
            [
                "P4",
                "310",
                "11",
                date(2025, 3, 1),
                None,
                "990100",
                None,
                "6000.00",
                None,
                None,
            ],  # 10: flexible
            [
                "P5",
                "310",
                "12",
                date(2025, 6, 1),
                None,
                "990100",
                None,
                None,
                None,
                None,
            ],  # 11: overlaps P5's 390
            [
                "P6",
                "390",
                "11",
                date(2026, 1, 1),
                None,
                "990100",
                None,
                None,
                None,
                None,
            ],  # 12: wrong category
            [
                "P6",
                "390",
                "15",
                date(2024, 1, 1),
                date(2023, 1, 1),
                "990100",
                None,
                None,
                None,
                None,
            ],  # 13: dates
        ],
    )
    return employers, persons, enrollments


def test_import_of_mixed_excel_files_loads_the_valid_rows(loaded, engine, capsys):
    employers, persons, enrollments = loaded
    code, out, _ = run(capsys, "import", "employers", employers)
    assert code == 0
    for expected in (
        f"employers.xlsx 第3行 uscc: 校验位错误（末位应为 {GOOD_A[-1]}）",
        "employers.xlsx 第4行 admdvs: 医保区划不存在 (load the region first): 990199",
        "employers.xlsx 第5行 uscc: 与第2行的统一社会信用代码重复",
        "employers.xlsx 第6行 emp_name: 缺少 (missing)",
        "4 行被拒绝",
    ):
        assert expected in out, out
    code, out, _ = run(capsys, "import", "persons", persons)
    assert code == 0
    for expected in (
        f"persons.xlsx 第3行 certno: 校验位错误（末位应为 {MAN[-1]}）",
        "persons.xlsx 第4行 gend: 与证件号码中的性别 1 不一致",
        "persons.xlsx 第8行 brdy: 与证件号码中的出生日期 1960-01-01 不一致",
        "3 行被拒绝",
    ):
        assert expected in out, out
    code, out, _ = run(capsys, "import", "enrollments", enrollments)
    assert code == 0
    for expected in (
        "enrollments.xlsx 第3行 emp_no: 在职职工须登记参保单位 (灵活就业请填 灵活就业缴费基数)",
        "enrollments.xlsx 第4行 insutype: 与现有参保登记重叠 (第2行：职工基本医疗保险，自 2025-01-01)；一人同时只能参加一项基本医疗保险",
        "enrollments.xlsx 第7行 psn_no: 人员不存在 (import persons first): P9",
        "enrollments.xlsx 第8行 flexible_base: 缴费基数须在 4500.00 与 22500.00 元之间（填写的是 4000.00）",
        "enrollments.xlsx 第9行 emp_no: 单位不存在 (import employers first): E404",
        "enrollments.xlsx 第11行 insutype: 与现有参保登记重叠 (第5行：城乡居民基本医疗保险，自 2025-01-01)",
        'enrollments.xlsx 第12行 psn_type: 人员类别 "11" 不属于险种 390',
        "enrollments.xlsx 第13行 enddate: 结束日期 2023-01-01 早于开始日期 2024-01-01",
        "8 行被拒绝",
    ):
        assert expected in out, out
    with unit_of_work(engine, write=False) as s:
        assert sorted(s.scalars(select(Employer.emp_no))) == sorted([EMP_A, "E6"])
        assert sorted(s.scalars(select(Person.psn_no))) == ["P1", "P4", "P5", "P6"]
        got = {
            e.psn_no: (
                e.insutype,
                e.psn_type,
                e.emp_no,
                e.emp_name,
                e.flxempe_flag,
                e.flexible_base,
                e.contrib_months,
                e.wait_until,
            )
            for e in s.scalars(select(Enrollment))
        }
        accounts = sorted(s.scalars(select(PersonalAccount.psn_no)))
    assert got == {
        "P1": ("310", "11", EMP_A, "示例市科技有限公司", "0", None, 120, None),
        "P4": ("310", "11", None, None, "1", 600_000, 0, None),
        "P5": ("390", "15", None, None, "0", None, 0, None),  # registered inside the window
        "P6": ("390", "15", None, None, "0", None, 0, date(2025, 6, 1)),  # registered late: three months
    }
    assert accounts == ["P1"]  # a 职工 gets an account; the flexible worker and residents do not
    # a second load of the same file changes nothing and rejects the same lines
    code, out, _ = run(capsys, "import", "enrollments", enrollments)
    assert code == 0 and "8 行被拒绝" in out
    with unit_of_work(engine, write=False) as s:
        assert len(s.scalars(select(Enrollment)).all()) == 4
    # a file without 累计缴费月数 updates the employer's name but keeps the months
    (Path(enrollments).parent / "names.csv").write_text(
        "psn_no,insutype,psn_type,begndate,insuplc_admdvs,emp_no,emp_name\n"
        f"P1,310,11,2025-01-01,990100,{EMP_A},示例市科技股份有限公司\n",
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "import", "enrollments", Path(enrollments).parent / "names.csv")
    assert code == 0
    with unit_of_work(engine, write=False) as s:
        p1 = s.scalars(select(Enrollment).where(Enrollment.psn_no == "P1")).one()
    assert (p1.emp_name, p1.contrib_months) == ("示例市科技股份有限公司", 120)


def test_contribution_commands_and_statement(loaded, engine, capsys, tmp_path):
    employers, persons, enrollments = loaded
    for kind, f in (("employers", employers), ("persons", persons), ("enrollments", enrollments)):
        assert main(["import", kind, str(f)]) == 0
    capsys.readouterr()
    wages = tmp_path / "wages.csv"
    wages.write_text("psn_no,wage\nP1,8000.00\n", encoding="utf-8")
    code, out, _ = run(capsys, "contributions", "run", "--month", "2025-03", "--wages", wages)
    assert code == 0
    for label, value in (
        ("在职职工 employees", "1"),
        ("灵活就业 flexible", "1"),
        ("单位缴费 employer shares", "640.00"),  # 8 % of 8,000.00
        ("个人缴费 employee shares", "160.00"),  # 2 %
        ("灵活就业缴费 flexible", "480.00"),  # 8 % of 6,000.00
        ("应缴 due", "1280.00"),
        ("已收 collected", "0.00"),
    ):
        assert any(label in ln and ln.rstrip(" │").endswith(value) for ln in out.splitlines()), (label, out)
    code, out, _ = run(capsys, "contributions", "collect", "--month", "2025-03", "--employer", EMP_A)
    assert (code, out.strip()) == (0, f"已收缴 800.00 元 (202503 {EMP_A})")
    code, out, _ = run(capsys, "contributions", "collect", "--month", "2025-03", "--date", "2025-04-10")
    assert (code, out.strip()) == (0, "已收缴 480.00 元 (202503)")
    code, out, _ = run(capsys, "accounts", "statement", "P1")
    assert code == 0 and "contribution" in out and "160.00" in out
    assert out.strip().endswith("余额 balance: 160.00 元 (1 笔)")
    code, out, _ = run(capsys, "contributions", "residents", "--year", "2025", "--pay")
    assert (code, out.strip()) == (
        0,
        "2025 年居民缴费: 2 人, 个人应缴 800.00 元, 资助参保 0 人 0.00 元 (医疗救助基金), "
        "财政补助 1400.00 元, 已收 800.00 元",
    )
    declared = tmp_path / "april.csv"
    declared.write_text("psn_no,wage\nP1,9000.00\nP4,5000.00\n", encoding="utf-8")
    code, out, _ = run(
        capsys, "contributions", "declare", "--employer", EMP_A, "--month", "2025-04", "--wages", declared
    )
    assert code == 0
    assert f"{EMP_A} 2025-04: 1 人, 单位 720.00 元, 个人 180.00 元, 应缴 900.00 元" in out
    assert f"april.csv psn_no P4: 不是 {EMP_A} 本月在职参保职工" in out
    assert run(capsys, "ledger", "check")[0] == 0
    code, out, _ = run(capsys, "audit", "verify")
    assert code == 0 and "审计链完整" in out


def test_refusals_are_one_line_with_exit_2(loaded, tmp_path, capsys):
    _, persons, _ = loaded
    bad_wages = tmp_path / "bad.csv"
    bad_wages.write_text("psn_no,wage\nP1,12.345\n", encoding="utf-8")
    cases = [
        (["contributions", "run", "--month", "2025-13"], '错误: --month: "2025-13" 不是月份（格式 YYYY-MM）'),
        (["contributions", "run", "--month", "2025-03", "--wages", str(tmp_path / "none.csv")], "文件不存在"),
        (
            ["contributions", "run", "--month", "2025-03", "--wages", str(bad_wages)],
            'bad.csv 第2行 wage: "12.345" 小数位超过 2 位 (more than 2 decimals)',
        ),
        (["contributions", "collect", "--month", "2025-03", "--employer", "E404"], "emp_no: 单位不存在 E404"),
        (["contributions", "collect", "--month", "2025-03", "--date", "soon"], '--date: "soon" 不是日期'),
        (
            [
                "contributions",
                "declare",
                "--employer",
                "E404",
                "--month",
                "2025-03",
                "--wages",
                str(bad_wages),
            ],
            'bad.csv 第2行 wage: "12.345" 小数位超过 2 位 (more than 2 decimals)',
        ),
        (["accounts", "statement", "NOPE"], "psn_no: 人员不存在 NOPE"),
        (["contributions", "run", "--month", "2024-03"], "date: 2024-03-01 没有缴费政策"),
        (["import", "pets", str(persons)], "未知的导入类型 pets (choose institutions, employers, persons"),
    ]
    for args, expected in cases:
        code, _, err = run(capsys, *args)
        assert code == 2 and expected in err and err.count("\n") == 1 and "Traceback" not in err, (args, err)
