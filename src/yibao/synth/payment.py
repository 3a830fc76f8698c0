"""The demo's payment year (按病例付费): the settled year's history and the years derived before it, the
year's budgets, the twelve month pre-settlements and the year-end clearing — run as staff would run them
(``yibao payment history synthetic``, ``budget``, ``month``, ``clear``), each a transaction of its own."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from yibao.payment.dip_catalogue import load_dip_catalogue
from yibao.payment.service.budget import build_budgets
from yibao.payment.service.clearing import run_clearing
from yibao.payment.service.history import derive_synthetic
from yibao.payment.service.month import run_month
from yibao.store.db import unit_of_work
from yibao.synth.store import Progress

ACTOR = "yibao demo"
STAGE = "付费 payment (months, clearing)"


def pay_year(engine: Engine, region_dir: Path, year: int, progress: Progress) -> Counter:
    """Run the payment year; what it did (cases priced, months run, clearing run)."""
    done: Counter = Counter()
    if not (region_dir / "policy" / "payment").is_dir():
        return done
    catalogue = None
    if (region_dir / "payment" / "dip_catalogue.csv").is_file():
        catalogue = load_dip_catalogue(region_dir / "payment", region_dir.name)
    trim = catalogue.params.build.get("trim", "sd3") if catalogue is not None else "sd3"
    progress(STAGE, 0, 14)
    aggregated, _ = derive_synthetic(engine, year, catalogue, trim, actor=ACTOR)
    if not aggregated.rows:
        return done
    now = datetime(year + 1, 1, 20, 9, 0)  # the year is run after it ends, as a bureau would
    with unit_of_work(engine) as s:
        build_budgets(s, region_dir, year, actor=ACTOR, now=now)
    progress(STAGE, 1, 14)
    for month in range(1, 13):
        with unit_of_work(engine) as s:
            run = run_month(s, region_dir, year, month, actor=ACTOR, now=now)
            done["cases"] += run.summary["cases"]
        progress(STAGE, 1 + month, 14)
    with unit_of_work(engine) as s:
        run_clearing(s, region_dir, year, actor=ACTOR, now=now)
    done["clearing"] += 1
    progress(STAGE, 14, 14)
    return done
