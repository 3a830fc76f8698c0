"""A corpus of facade requests and their replies, to prove a change of the settlement path changes no reply.

``drive`` plays a fixed script of HIS calls through :func:`yibao.api.fsi.call_service` (the bytes the HTTP route
sends): every transaction the facade serves, outpatient, inpatient with 中途结算, pharmacy, reversals by
2208/2305/2103/2601, queries, and refusals, then a seeded random mix. The clock is frozen one second further on
for each call and the id generator is seeded, so the replies are the same bytes on every run and on both
databases. The script reads ids from earlier replies, so it needs nothing but the world of :mod:`tests.world`.

Record the corpus (after a change of what the facade answers, on purpose):
    python -m tests.corpus record            # writes tests/fixtures/facade_corpus.jsonl (SQLite)
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import time_machine

from tests import world
from tests.world import HOSP2, HOSP3, OTHER, PHARMACY, POOR, RESIDENT, RETIREE, WORKER, line
from yibao import ids
from yibao.api import exactjson, signing

CORPUS = Path(__file__).parent / "fixtures" / "facade_corpus.jsonl"
T0 = datetime(2025, 6, 2, 8, 0, 0)
Call = Callable[[str, str, dict], dict]  # (infno, institution, input) → reply


def _caller(replies: list[tuple[dict, bytes]]) -> tuple[Call, Callable[[], None]]:
    """A call at the next second of the frozen clock; each request and its reply's bytes are kept."""
    from yibao.api import fsi, fsi_handlers  # noqa: F401 - registers the handlers

    traveller = time_machine.travel(T0, tick=False)
    clock = traveller.start()
    step = iter(range(10**6))

    def call(infno: str, code: str, input_: dict) -> dict:  # (call.last_msgid: the msgid it sent)
        k = next(step)
        clock.move_to(T0 + timedelta(seconds=k))
        env = {
            "infno": infno,
            "msgid": f"{code}{(T0 + timedelta(seconds=k)):%Y%m%d%H%M%S}{k % 10000:04d}",
            "fixmedins_code": code,
            "opter": "001",
            "inf_time": f"{T0 + timedelta(seconds=k):%Y-%m-%d %H:%M:%S}",
            "input": input_,
        }
        body = exactjson.dumps(env).encode()
        ts = str(int((T0 + timedelta(seconds=k)).timestamp() * 1000))
        headers = {
            signing.HEADER_CLIENT: f"c-{code}",
            signing.HEADER_TIMESTAMP: ts,
            signing.HEADER_SIGNATURE: signing.sign("sha256", f"secret-{code}", ts, body),
        }
        reply = fsi.call_service(body, headers)
        replies.append((env, reply))
        call.last_msgid = env["msgid"]
        return exactjson.loads(reply)

    return call, traveller.stop


def _out(reply: dict) -> dict:
    return reply["output"] if reply["infcode"] == 0 else {}


def _visit(call: Call, code: str, psn: str, ins: str, begin: str, **data) -> str | None:
    r = call("2201", code, {"data": {"psn_no": psn, "insutype": ins, "begntime": begin, **data}})
    return _out(r).get("data", {}).get("mdtrt_id")


def _settle(call: Call, infno: str, code: str, mdtrt: str, psn: str, fee: Decimal, **data) -> dict:
    body = {"psn_no": psn, "mdtrt_id": mdtrt, "medfee_sumamt": str(fee), **data}
    return _out(call(infno, code, {"data": body})).get("setlinfo", {})


def _script(call: Call) -> None:
    """Every transaction and the usual refusals, in the order a day's HIS traffic has them."""
    call("9001", HOSP2, {"signIn": {"opter_no": "001", "mac": "", "ip": ""}})
    call("1101", HOSP2, {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "110101198001010011"}})
    call("1101", HOSP2, {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "NOBODY"}})
    call("2001", HOSP2, {"data": {"psn_no": POOR, "insutype": "390", "begntime": "2025-06-02 08:00:00"}})
    # outpatient: 2201 → 2203 → 2204 → 2206 → 2207 → 5203 → 2208, and a 2205
    mdtrt = _visit(call, HOSP2, WORKER, "310", "2025-06-02 08:00:00")
    call(
        "2203",
        HOSP2,
        {"mdtrtinfo": {"mdtrt_id": mdtrt, "psn_no": WORKER, "med_type": "11", "dise_codg": "J00.x00"}},
    )
    lines = [line("1", "A1", "120.00", mdtrt_id=mdtrt), line("2", "B1", "35.50", 3, mdtrt_id=mdtrt)]
    lines.append(line("3", "C1", "20.00", mdtrt_id=mdtrt, chrg_bchno="X"))
    call("2204", HOSP2, {"feedetail": lines})
    call("2205", HOSP2, {"data": {"mdtrt_id": mdtrt, "psn_no": WORKER, "chrg_bchno": "X"}})
    _settle(call, "2206", HOSP2, mdtrt, WORKER, Decimal("226.50"), acct_used_flag="1")
    info = _settle(call, "2207", HOSP2, mdtrt, WORKER, Decimal("226.50"), acct_used_flag="1", insutype="310")
    call("5203", HOSP2, {"data": {"psn_no": WORKER, "setl_id": info.get("setl_id")}})
    call("2208", HOSP2, {"data": {"psn_no": WORKER, "mdtrt_id": mdtrt, "setl_id": info.get("setl_id")}})
    _settle(call, "2207", HOSP2, mdtrt, WORKER, Decimal("226.50"), acct_used_flag="0")
    # a chronic visit of a 低保 resident (救助), then 5206
    mdtrt = _visit(call, HOSP3, POOR, "390", "2025-06-02 09:00:00")
    call("2203", HOSP3, {"mdtrtinfo": {"mdtrt_id": mdtrt, "med_type": "14", "opsp_dise_code": "M03900"}})
    call("2204", HOSP3, {"feedetail": [line("1", "B2", "1500.00", 2, mdtrt_id=mdtrt)]})
    _settle(call, "2207", HOSP3, mdtrt, POOR, Decimal("3000.00"))
    call("5206", HOSP3, {"data": {"psn_no": POOR, "cum_ym": "202506"}})
    # inpatient: 2401 → 2403 → 2301 → 2303 → 2304 (中途) → 2301 → 2402 → 2405 → 2402 → 2304 → 2305
    adm = (
        _out(
            call(
                "2401",
                HOSP2,
                {
                    "mdtrtinfo": {
                        "psn_no": RESIDENT,
                        "insutype": "390",
                        "begntime": "2025-06-01 10:00:00",
                        "ipt_no": "Z1",
                    }
                },
            )
        )
        .get("result", {})
        .get("mdtrt_id")
    )
    call("2403", HOSP2, {"adminfo": {"mdtrt_id": adm, "dise_codg": "J18.900", "dise_name": "肺炎"}})
    first = [line("1", "A1", "30000.00", mdtrt_id=adm), line("2", "B1", "6000.00", 2, mdtrt_id=adm)]
    call("2301", HOSP2, {"feedetail": first})
    call("2302", HOSP2, {"data": [{"mdtrt_id": adm, "feedetl_sn": "2"}]})
    call("2301", HOSP2, {"feedetail": [line("3", "B1", "6000.00", 2, mdtrt_id=adm)]})
    _settle(call, "2303", HOSP2, adm, RESIDENT, Decimal("42000.00"), mid_setl_flag="1")
    mid = _settle(call, "2304", HOSP2, adm, RESIDENT, Decimal("42000.00"), mid_setl_flag="1")
    call(
        "2301",
        HOSP2,
        {
            "feedetail": [
                line("4", "B2", "1500.00", 2, mdtrt_id=adm),
                line("5", "C1", "3000.00", mdtrt_id=adm),
            ]
        },
    )
    call("2402", HOSP2, {"dscginfo": {"mdtrt_id": adm, "endtime": "2025-06-02 10:00:00", "dscg_way": "1"}})
    call("2405", HOSP2, {"data": {"mdtrt_id": adm, "psn_no": RESIDENT}})
    call("2402", HOSP2, {"dscginfo": {"mdtrt_id": adm, "endtime": "2025-06-02 11:00:00", "dscg_way": "1"}})
    final = _settle(call, "2304", HOSP2, adm, RESIDENT, Decimal("6000.00"))
    call("2305", HOSP2, {"data": {"psn_no": RESIDENT, "mdtrt_id": adm, "setl_id": mid.get("setl_id")}})
    call("2305", HOSP2, {"data": {"psn_no": RESIDENT, "mdtrt_id": adm, "setl_id": final.get("setl_id")}})
    _settle(call, "2304", HOSP2, adm, RESIDENT, Decimal("6000.00"))
    # an admission cancelled (2404) and one reversed by 2601
    other = (
        _out(
            call(
                "2401",
                HOSP3,
                {"mdtrtinfo": {"psn_no": RETIREE, "insutype": "310", "begntime": "2025-06-02 12:00:00"}},
            )
        )
        .get("result", {})
        .get("mdtrt_id")
    )
    call("2404", HOSP3, {"data": {"mdtrt_id": other, "psn_no": RETIREE}})
    call(
        "2401",
        HOSP3,
        {"mdtrtinfo": {"psn_no": RETIREE, "insutype": "310", "begntime": "2025-06-02 13:00:00"}},
    )
    call("2601", HOSP3, {"data": {"psn_no": RETIREE, "omsgid": call.last_msgid, "oinfno": "2401"}})
    # pharmacy: 2101 → 2102 → 2103, and a 2601 of a 2102
    drugs = [line("1", "B1", "12.80", 2), line("2", "A1", "9.90")]
    data = {"psn_no": WORKER, "insutype": "310", "medfee_sumamt": "35.50", "acct_used_flag": "1"}
    call("2101", PHARMACY, {"data": data, "drugdetail": drugs})
    sold = _out(call("2102", PHARMACY, {"data": data, "drugdetail": drugs})).get("setlinfo", {})
    call("2103", PHARMACY, {"data": {"psn_no": WORKER, "setl_id": sold.get("setl_id")}})
    call("2102", PHARMACY, {"data": data, "drugdetail": drugs})
    call("2601", PHARMACY, {"data": {"psn_no": WORKER, "omsgid": "P99010200001NEVER", "oinfno": "2102"}})
    # reconciliation
    stmt = {"insutype": "390", "clr_type": "21", "stmt_begndate": "2025-06-01", "stmt_enddate": "2025-06-30"}
    call(
        "3201",
        HOSP2,
        {
            "data": {
                **stmt,
                "medfee_sumamt": "0.00",
                "fund_pay_sumamt": "0.00",
                "acct_pay": "0.00",
                "fixmedins_setl_cnt": "0",
            }
        },
    )
    # refusals: bad input, wrong visit, another institution's visit, wrong kind of visit
    mdtrt = _visit(call, HOSP2, RESIDENT, "390", "2025-06-02 14:00:00")
    call("2204", HOSP2, {"feedetail": [line("1", "ZZ", "1.00", mdtrt_id=mdtrt)]})
    call("2204", HOSP2, {"feedetail": [{**line("1", "A1", "1.00", mdtrt_id=mdtrt), "pric": "５"}]})
    call("2204", OTHER, {"feedetail": [line("1", "A1", "1.00", mdtrt_id=mdtrt)]})
    call("2207", HOSP2, {"data": {"psn_no": RESIDENT, "mdtrt_id": mdtrt, "medfee_sumamt": "1.00"}})
    call("2404", HOSP2, {"data": {"mdtrt_id": mdtrt, "psn_no": RESIDENT}})
    call("2201", HOSP2, {"data": {"psn_no": RESIDENT, "insutype": "310", "begntime": "2025-06-02 15:00:00"}})
    call("2208", HOSP2, {"data": {"setl_id": "S" * 40}})


def _random_day(rng: random.Random, call: Call, n: int) -> None:
    """``n`` outpatient, inpatient and pharmacy flows in a seeded random mix, some reversed or cancelled."""
    persons = [(WORKER, "310"), (RETIREE, "310"), (RESIDENT, "390"), (POOR, "390")]
    codes = ["A1", "B1", "B2", "C1", "S1"]
    for _ in range(n):
        psn, ins = rng.choice(persons)
        code = rng.choice([HOSP2, HOSP3])
        spec = [
            (str(j + 1), rng.choice(codes), f"{rng.randrange(1, 400000) / 100:.2f}", rng.randrange(1, 4))
            for j in range(rng.randrange(1, 5))
        ]
        fee = sum((Decimal(p) * c for _, _, p, c in spec), Decimal("0.00"))
        begin = f"2025-{rng.randrange(1, 12):02d}-{rng.randrange(1, 28):02d} 09:00:00"
        kind = rng.random()
        if kind < 0.55:
            mdtrt = _visit(call, code, psn, ins, begin)
            if rng.random() < 0.2 and psn == POOR:
                call(
                    "2203",
                    code,
                    {"mdtrtinfo": {"mdtrt_id": mdtrt, "med_type": "14", "opsp_dise_code": "M03900"}},
                )
            call("2204", code, {"feedetail": [line(sn, c, p, n_, mdtrt_id=mdtrt) for sn, c, p, n_ in spec]})
            flag = str(rng.choice([0, 1])) if ins == "310" else "0"
            info = _settle(call, "2207", code, mdtrt, psn, fee, acct_used_flag=flag)
            if info and rng.random() < 0.25:
                call("2208", code, {"data": {"psn_no": psn, "setl_id": info["setl_id"]}})
        elif kind < 0.85:
            r = call("2401", code, {"mdtrtinfo": {"psn_no": psn, "insutype": ins, "begntime": begin}})
            adm = _out(r).get("result", {}).get("mdtrt_id")
            if adm is None:
                continue
            call("2301", code, {"feedetail": [line(sn, c, p, n_, mdtrt_id=adm) for sn, c, p, n_ in spec]})
            end = begin.replace("09:00:00", "18:00:00")
            call("2402", code, {"dscginfo": {"mdtrt_id": adm, "endtime": end, "dscg_way": "1"}})
            info = _settle(call, "2304", code, adm, psn, fee)
            if info and rng.random() < 0.3:
                call("2305", code, {"data": {"psn_no": psn, "setl_id": info["setl_id"]}})
            elif not info:
                call("2404", code, {"data": {"mdtrt_id": adm, "psn_no": psn}})
        else:
            drugs = [line(sn, c, p, n_) for sn, c, p, n_ in spec]
            data = {"psn_no": psn, "insutype": ins, "medfee_sumamt": str(fee), "begntime": begin}
            if ins == "310":
                data["acct_used_flag"] = "1"
            call("2102", PHARMACY, {"data": data, "drugdetail": drugs})


def drive(engine, seed: int = 18) -> Iterator[tuple[dict, bytes]]:
    """Build the world in ``engine`` and play the script; yields (request envelope, reply bytes)."""
    world.build(engine)
    replies: list[tuple[dict, bytes]] = []
    call, stop = _caller(replies)
    state = ids._rng.getstate()
    ids._rng.seed(seed)
    try:
        _script(call)
        _random_day(random.Random(seed), call, 60)
    finally:
        ids._rng.setstate(state)
        stop()
    yield from replies


def record(engine) -> int:
    CORPUS.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with CORPUS.open("w", encoding="utf-8") as f:
        for env, reply in drive(engine):
            f.write(
                json.dumps(
                    {"request": exactjson.dumps(env), "reply": reply.decode("utf-8")}, ensure_ascii=False
                )
            )
            f.write("\n")
            n += 1
    return n


def load() -> list[dict]:
    return [json.loads(x) for x in CORPUS.read_text(encoding="utf-8").splitlines()]


if __name__ == "__main__":  # python -m tests.corpus record
    import os
    import tempfile

    from tests.conftest import REPO
    from yibao.config import reset_settings
    from yibao.store import migrate
    from yibao.store.db import get_engine

    if sys.argv[1:] != ["record"]:
        sys.exit("usage: python -m tests.corpus record")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/corpus.db"
        os.environ.update(YIBAO_MODE="test", YIBAO_DATABASE_URL=url, YIBAO_REGIONS_DIR=str(REPO / "regions"))
        reset_settings()
        migrate.upgrade(get_engine(url))
        print(f"{record(get_engine(url))} calls recorded in {CORPUS}")
