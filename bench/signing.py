"""Benchmark: the gateway's signature check (``yibao.api.signing.check``), HMAC-SM3 and HMAC-SHA256.

Times one ``check`` of an authentic request — the timestamp window, the HMAC of timestamp ‖ body, the
constant-time comparison — for a typical 2207 envelope (≈ 1 KB) and a large 2204 upload (≈ 200 KB of fee
lines). Each figure is the median of ``--runs`` runs; a run repeats the check until it has taken at least
``--min-seconds``. Also prints the online kernel's p50 as a yardstick of this minute's machine speed.

    .venv/bin/python bench/signing.py [--runs 7]
    PYTHONPATH=<other tree>/src .venv/bin/python bench/signing.py    # another tree's signing, same bodies
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time

from kernel_online import QUIET_P50_MS, yardstick

from yibao.api import exactjson, signing

TS = "1740790800000"  # 2025-03-01 09:00:00 +08:00, and "now" for the check: inside the window
SECRET = "s-H99010200001-0123456789abcdef"  # as long as a `yibao clients create` secret (43 characters)


def envelope(infno: str, input_: dict, n: int = 1) -> dict:
    """The national envelope with the fields a HIS fills in."""
    return {
        "infno": infno,
        "msgid": f"H99010200001202503010900{n:06d}",
        "mdtrtarea_admvs": "990100",
        "insuplc_admdvs": "990100",
        "recer_sys_code": "YBXT",
        "dev_no": "",
        "dev_safe_info": "",
        "cainfo": "",
        "signtype": "",
        "infver": "V1.0",
        "opter_type": "1",
        "opter": "001",
        "opter_name": "收费员张三",
        "inf_time": "2025-03-01 09:00:00",
        "fixmedins_code": "H99010200001",
        "fixmedins_name": "示例市第一人民医院",
        "sign_no": "990100000000202503010000001",
        "input": input_,
    }


def body_2207() -> bytes:
    """A 2207 (门诊结算) as a HIS sends it: about 1 KB."""
    data = {
        "psn_no": "99000000000000000001",
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": "990100197001010011",
        "med_type": "11",
        "medfee_sumamt": "250.00",
        "psn_setlway": "01",
        "mdtrt_id": "990100202503010000000000000001",
        "chrg_bchno": "H990102000012025030100000001",
        "insutype": "310",
        "acct_used_flag": "1",
        "invono": "",
        "fulamt_ownpay_amt": "0.00",
        "overlmt_selfpay": "0.00",
        "preselfpay_amt": "12.50",
        "inscp_scp_amt": "237.50",
        "mid_setl_flag": "0",
        "pub_hosp_rfom_flag": "0",
        "exp_content": "",
        "insuplc_admdvs": "990100",
        "mdtrtarea_admvs": "990100",
        "dise_codg": "J06.900",
        "dise_name": "急性上呼吸道感染",
    }
    return exactjson.dumps_bytes(envelope("2207", {"data": data}))


def body_2204(target: int = 200_000) -> bytes:
    """A 2204 (费用明细上传) of as many fee lines as make ``target`` bytes (about 330: an inpatient stay)."""
    lines = []
    while True:
        k = len(lines)
        lines.append(
            {
                "feedetl_sn": f"FD{k:08d}",
                "init_feedetl_sn": "",
                "mdtrt_id": "990100202503010000000000000001",
                "drord_no": f"YZ{k:08d}",
                "psn_no": "99000000000000000001",
                "med_type": "21",
                "fee_ocur_time": f"2025-03-{1 + k % 28:02d} 10:{k % 60:02d}:00",
                "med_list_codg": f"XB01AB{k % 97:03d}A001010{k % 10}",
                "medins_list_codg": f"YP{k:06d}",
                "det_item_fee_sumamt": "37.60",
                "cnt": "2.0000",
                "pric": "18.8000",
                "sin_dos_dscr": "每次1片",
                "used_frqu_dscr": "每日三次",
                "prd_days": "3",
                "medc_way_dscr": "口服",
                "bilg_dept_codg": "A03",
                "bilg_dept_name": "内科",
                "bilg_dr_codg": "D990102000010001",
                "bilg_dr_name": "李医生",
                "acord_dept_codg": "A03",
                "acord_dept_name": "内科",
                "orders_dr_code": "D990102000010001",
                "orders_dr_name": "李医生",
                "hosp_appr_flag": "1",
                "tcmdrug_used_way": "",
                "etip_flag": "",
                "etip_hosp_code": "",
                "dscg_tkdrug_flag": "",
                "matn_fee_flag": "",
            }
        )
        body = exactjson.dumps_bytes(envelope("2204", {"feedetail": lines}))
        if len(body) >= target:
            return body


def per_check_us(algo: str, body: bytes, runs: int, min_seconds: float) -> float:
    """Median over ``runs`` of the time of one :func:`signing.check` of an authentic request, in µs."""
    creds = signing.Credentials("c-bench", TS, signing.sign(algo, SECRET, TS, body))
    now = int(TS)

    def check() -> None:
        assert signing.check(creds, secret=SECRET, algo=algo, body=body, now_ms=now) is None

    t0 = time.perf_counter()
    check()  # warm up, and size the runs
    once = time.perf_counter() - t0
    repeat = max(1, math.ceil(min_seconds / max(once, 1e-9)))
    results = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(repeat):
            check()
        results.append((time.perf_counter() - t0) / repeat * 1e6)
    return statistics.median(results)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7, help="runs per figure (the median is printed)")
    ap.add_argument(
        "--min-seconds", type=float, default=0.2, help="each run repeats the check at least this long"
    )
    args = ap.parse_args()
    bodies = {"2207": body_2207(), "2204": body_2204()}
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; signing from {os.path.dirname(signing.__file__)}"
    )
    print(f"machine speed: kernel yardstick p50 {yardstick():.3f} ms ({QUIET_P50_MS} ms on a quiet day)")
    for algo in ("sm3", "sha256"):
        for infno, body in bodies.items():
            us = per_check_us(algo, body, args.runs, args.min_seconds)
            print(
                f"HMAC-{algo.upper():6} {infno} body {len(body):>7,} bytes: {us:12,.1f} µs per check "
                f"(median of {args.runs} runs)"
            )


if __name__ == "__main__":
    main()
