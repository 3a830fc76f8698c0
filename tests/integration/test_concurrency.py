"""16 threads settle for one person at once through the facade: caps hold, nothing is lost or doubled."""

from __future__ import annotations

import threading
from collections import defaultdict

import pytest
from sqlalchemy import select

from tests import world
from tests.world import RESIDENT, line
from yibao.store.db import unit_of_work
from yibao.store.tables import Accumulator, Settlement

THREADS, PER_THREAD = 16, 3


def call(infno: str, input_: dict, msgid: str) -> dict:
    return world.call_in_process(infno, input_, msgid)


def worker(n: int, errors: list) -> None:
    try:
        for k in range(PER_THREAD):
            tag = f"T{n:02d}{k}"
            r = call(
                "2201",
                {"data": {"psn_no": RESIDENT, "insutype": "390", "begntime": "2025-03-01 09:00:00"}},
                f"{tag}-2201",
            )
            assert r["infcode"] == 0, r["err_msg"]
            mdtrt = r["output"]["data"]["mdtrt_id"]
            r = call("2204", {"feedetail": [line("1", "A1", "60.00", mdtrt_id=mdtrt)]}, f"{tag}-2204")
            assert r["infcode"] == 0, r["err_msg"]
            r = call(
                "2207",
                {
                    "data": {
                        "psn_no": RESIDENT,
                        "mdtrt_id": mdtrt,
                        "medfee_sumamt": "60.00",
                        "insutype": "390",
                    }
                },
                f"{tag}-2207",
            )
            assert r["infcode"] == 0, r["err_msg"]
    except Exception as exc:  # collected and re-raised in the test thread
        errors.append(exc)


@pytest.mark.pg
def test_concurrent_settlements_for_one_person(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("row-lock concurrency is a PostgreSQL property; SQLite serialises all writers")
    world.build(engine)
    errors: list = []
    threads = [threading.Thread(target=worker, args=(n, errors)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    with unit_of_work(engine, write=False) as s:
        settlements = s.scalars(select(Settlement)).all()
        acc = dict(
            s.execute(
                select(Accumulator.acc_key, Accumulator.value).where(
                    Accumulator.psn_no == RESIDENT, Accumulator.year == 2025
                )
            ).all()
        )
    assert len(settlements) == THREADS * PER_THREAD
    # 48 visits × 60.00 at level 2 (0.50) would be 1,440.00; the 居民 outpatient cap is 500.00
    assert sum(x.hifp_pay for x in settlements) == 50_000
    expected = defaultdict(int)
    for x in settlements:
        for k, v in x.accum_delta.items():
            expected[k] += v
    assert acc == {k: v for k, v in expected.items() if v}
    assert acc["cap:outpatient"] == 50_000
