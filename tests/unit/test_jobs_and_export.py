"""The job runner and the Excel writer: a job reports progress and its file, a failure is one line; the
workbook has a title row with the filter, a frozen header, typed number and date cells, columns sized for
Chinese text."""

from __future__ import annotations

import io
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook

from yibao.console.export import write_xlsx
from yibao.errors import InputError
from yibao.jobs.runner import DONE, FAILED, Runner

COLUMNS = [
    ("setl_id", "结算ID"),
    ("fixmedins_name", "定点机构"),
    ("amount", "医疗费总额"),
    ("at", "结算时间"),
]


def wait(job, seconds: float = 30.0):
    end = time.monotonic() + seconds
    while not job.finished and time.monotonic() < end:
        time.sleep(0.02)
    return job


# jobs run in a new interpreter: their work is a module-level function of this module
def counting(progress, *, path: str, rows: int):
    progress(0, rows)
    for n in range(1, rows + 1):
        progress(n)
    Path(path).write_text("ok", encoding="utf-8")
    return Path(path), "out.txt"


def refusing(progress):
    raise InputError("金额 ≥: 不是金额 'x'")


def breaking(progress):
    raise KeyError("internal")


def test_a_job_runs_in_its_own_process_and_reports_its_file(tmp_path):
    r = Runner(tmp_path)
    job = wait(r.submit("export", "导出测试", "alice", counting, path=str(tmp_path / "out.txt"), rows=3))
    assert (job.state, job.fraction, job.filename, job.path.read_text()) == (DONE, 1.0, "out.txt", "ok")
    assert job.describe() == "导出测试: 已完成 3 / 3 行"
    assert r.get(job.id, "alice") is job and r.get(job.id, "bob") is None and r.of("bob") == []


def test_a_failed_job_says_why_in_one_line(tmp_path):
    r = Runner(tmp_path)
    assert wait(r.submit("export", "导出", "a", refusing)).describe() == "导出: 失败 — 金额 ≥: 不是金额 'x'"
    job = wait(r.submit("export", "导出", "a", breaking))
    assert job.state == FAILED and "KeyError" not in job.message and "系统内部错误" in job.message


def test_the_workbook_is_typed_titled_and_frozen():
    rows = [
        {
            "setl_id": f"S{i}",
            "fixmedins_name": "示例市第一人民医院",
            "amount": Decimal("1234.50"),
            "at": datetime(2025, 3, 1, 9, 30),
        }
        for i in range(5)
    ]
    buf = io.BytesIO()
    seen = []
    assert write_xlsx(buf, "结算", COLUMNS, rows, note="筛选: 全部", progress=seen.append, every=2) == 5
    assert seen == [2, 4, 5]
    ws = load_workbook(io.BytesIO(buf.getvalue())).active
    assert ws["A1"].value == "结算　筛选: 全部" and ws["A1"].font.bold
    assert [c.value for c in ws[2]] == [
        "结算ID",
        "定点机构",
        "医疗费总额",
        "结算时间",
    ] and ws.freeze_panes == "A3"
    amount, at = ws["C3"], ws["D3"]
    assert (amount.value, amount.number_format) == (1234.5, "#,##0.00")
    assert at.value == datetime(2025, 3, 1, 9, 30) and at.number_format == "yyyy-mm-dd hh:mm"
    assert ws.column_dimensions["B"].width >= 2 * len("示例市第一人民医院")  # CJK is two columns wide
