"""An export of 150,000 settlements runs in the background: the server keeps answering /health in under 200 ms
meanwhile, and the workbook holds every row (issue 20: one export used to stop everyone for 37 s)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import insert

from tests.world import HOSP2, RESIDENT, His
from yibao.api.app import create_app
from yibao.console import queries as q
from yibao.console.export import export_list
from yibao.jobs.runner import DONE, runner
from yibao.store.tables import Settlement

ROWS = 150_000


def seed(engine, mdtrt_id: str) -> None:
    start = datetime(2025, 1, 1, 8)
    base = {
        "mdtrt_id": mdtrt_id,
        "psn_no": RESIDENT,
        "fixmedins_code": HOSP2,
        "insutype": "390",
        "psn_type": "15",
        "med_type": "11",
        "year": 2025,
        "policy_version": "2025",
        "policy_hash": "0" * 64,
    }
    with engine.begin() as conn:
        for lo in range(0, ROWS, 25_000):
            rows = []
            for i in range(lo, lo + 25_000):
                at = start + timedelta(minutes=i)
                fee = 1_000 + i % 90_000
                rows.append(
                    {
                        **base,
                        "setl_id": f"T{i:09d}",
                        "setl_time": at,
                        "begndate": at.date(),
                        "medfee_sumamt": fee,
                        "inscp_scp_amt": fee,
                        "psn_part_amt": fee,
                        "psn_cash_pay": fee,
                    }
                )
            conn.execute(insert(Settlement), rows)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_health_answers_while_150000_rows_export(client, engine):
    mdtrt = His(client, HOSP2).ok(
        "2201", {"data": {"psn_no": RESIDENT, "insutype": "390", "begntime": "2025-01-01 08:00:00"}}
    )["data"]["mdtrt_id"]
    seed(engine, mdtrt)
    times: list[float] = []
    with TestClient(create_app(console=False)) as web:  # the service as served, in this process
        assert web.get("/health").status_code == 200  # (warm: its first answer opens the connections)
        target = runner().directory / "all-settlements.xlsx"
        began = time.perf_counter()
        job = runner().submit(
            "export",
            "导出结算",
            "tester",
            export_list,
            name="settlements",
            flt=q.SettlementFilter(),
            path=str(target),
        )
        while not job.finished:
            t0 = time.perf_counter()
            assert web.get("/health").status_code == 200
            times.append(time.perf_counter() - t0)
            time.sleep(0.05)
        took = time.perf_counter() - began
    assert job.state == DONE, job.message
    assert len(times) >= 10 and job.done == job.total == ROWS
    # the test suite runs two workers on two cores beside the export: an answer may wait for a core now and
    # then (one took 1.8 s beside a demo build in the other worker, one 3.3 s on a busy CI machine), so the bounds
    # are on 19 answers in 20, on how rare a slow answer is, and on the slowest against the export's own time;
    # blocking, as before, would stall an answer for the export's whole run (and leave too few answers)
    times.sort()
    p95, slowest = times[int(len(times) * 0.95)], times[-1]
    slow = sum(t > 1.0 for t in times)
    assert p95 < 0.2, f"/health p95 {p95 * 1000:.0f} ms over {len(times)} answers"
    assert slow <= max(1, len(times) // 100), f"{slow} of {len(times)} /health answers took over 1 s"
    assert slowest < took / 4, f"/health slowest {slowest * 1000:.0f} ms beside an export of {took:.1f} s"
    ws = load_workbook(job.path, read_only=True).active
    ids = [r[0] for r in ws.iter_rows(min_col=1, max_col=1, values_only=True)]
    assert len(ids) == ROWS + 2 and ids[1] == "结算ID"  # the title row, the header row, every settlement
