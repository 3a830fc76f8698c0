"""Labelled fraud for screening evaluation (欺诈注入): a synthetic region whose honest year carries decoys, with
each named pattern of supervision.md §11 injected at a known rate, and a labels table saying where.

``build_region(seed)`` returns the audit view's raw tables (:class:`yibao.supervision.frame.Frame`) and the labels
(``entity_type, entity_id, pattern, injected_loss_fen, decoy``). The labels never go to screening: ``yibao
screening generate`` writes them to ``labels.parquet`` beside the raw tables, and only ``evaluate`` reads them.
This module shares no code with :mod:`yibao.supervision.screening` (§12): the injections below are written
from the patterns' descriptions, not from the detectors.

Injected (rates are shares of hospitals, stores, doctors or persons):

* ``hospital_surge`` (§11.1): for 3–5 months from July–October, admissions of one diagnosis add 60–100 % to the
  hospital's monthly volume; groups of 2–6 admitted together, LOS fixed (85 % exactly), one bill template.
  Only hospitals with ≥ 15 admissions a month are chosen: below that S1's N ≥ 20 cannot be reached.
* ``fictitious_stay`` (§11.4): 15–35 % more stays all year, the card holders at home (their other visits go on,
  some cards belong to the dead), nursing and drugs billed every third day, mostly no laboratory test,
  identical per-day bills, co-admitted in groups of 1–4.
* ``pharmacy_skimming`` (§11.2): 1–3 bursts on 28–31 December of 20–60 cards in 15–30 minutes, one basket
  for 85–100 % of them; some cards of inpatients or of the dead; a third of the stores also burst in late June.
* ``doctor_overcapacity`` (§11.5): on 30–80 days a doctor "sees" 25–60 extra patients 1–3 minutes apart.
* ``person_stockpiling`` (§11.5): one or two chronic drugs bought every 6–12 days at 3–6 stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from yibao.supervision.frame import Frame
from yibao.synth import fraud_decoys as decoys
from yibao.synth.fraud_base import (
    chronic,
    clinic_queue,
    hospital_mix,
    inpatient,
    make_register,
    outpatient,
    pharmacy,
)
from yibao.synth.fraud_inject import doctors_overcapacity, fictitious, skimming, stockpiling, surge
from yibao.synth.fraud_world import INPATIENT, Catalogue, Ledger, Register, make_catalogue, to_frame

LABEL_SCHEMA = pa.schema(
    [
        ("entity_type", pa.string()),
        ("entity_id", pa.string()),
        ("pattern", pa.string()),
        ("injected_loss_fen", pa.int64()),
        ("decoy", pa.bool_()),
    ]
)


@dataclass(frozen=True)
class FraudRates:
    """Shares of units injected with each pattern, and of decoys."""

    hospital_surge: float = 0.02
    fictitious_stay: float = 0.02
    pharmacy_skimming: float = 0.02
    doctor_overcapacity: float = 0.02
    person_stockpiling: float = 0.003
    flu_hospitals: float = 0.03
    chemo_hospitals: float = 0.015
    busy_stores: float = 0.03
    busy_doctors: float = 0.03
    heavy_persons: float = 0.002
    intensity: float = 1.0  # 1: the ranges above; 0.5: half the extra volume, twice the spacing (harder)


@dataclass
class Region:
    frame: Frame
    labels: pa.Table
    stats: dict = field(default_factory=dict)


def _count(rate: float, n: int) -> int:
    return max(1, round(rate * n)) if rate > 0 else 0


def build_region(
    seed: int,
    persons: int = 100_000,
    hospitals: int = 200,
    pharmacies: int = 300,
    year: int = 2025,
    rates: FraudRates | None = None,
) -> Region:
    rates = rates or FraudRates()
    rng = np.random.default_rng(seed)
    cat = make_catalogue(rng)
    reg = make_register(rng, year, persons, hospitals, pharmacies)
    labels: list[tuple] = []
    hosp, ph = reg.hospitals, reg.pharmacies
    flu = rng.choice(hosp, _count(rates.flu_hospitals, len(hosp)), replace=False)
    level3 = np.setdiff1d(hosp[reg.inst_grade[hosp] == 3], flu)
    chemo = rng.choice(level3, min(len(level3), _count(rates.chemo_hospitals, len(hosp))), replace=False)
    busy = rng.choice(ph, _count(rates.busy_stores, len(ph)), replace=False)
    reg.inst_weight[busy] *= 4.0
    busy_docs = rng.choice(len(reg.doc_code), _count(rates.busy_doctors, len(reg.doc_code)), replace=False)
    ledger = Ledger()
    primary = rng.choice(hosp, persons, p=reg.inst_weight[hosp] / reg.inst_weight[hosp].sum())
    store_p = reg.inst_weight[ph] / reg.inst_weight[ph].sum()
    stores = np.stack([rng.choice(ph, persons, p=store_p), rng.choice(ph, persons, p=store_p)], 1)
    outpatient(reg, ledger, cat, rng, primary)
    inpatient(reg, ledger, cat, rng, primary, hospital_mix(reg, rng, np.searchsorted(hosp, flu)))
    decoys.chemotherapy(reg, ledger, cat, rng, chemo)
    pharmacy(reg, ledger, cat, rng, stores[:, 0], stores[:, 1])
    candidates = np.flatnonzero((reg.age >= 50) & (reg.death < 0))
    heavy = rng.choice(candidates, _count(rates.heavy_persons, persons), replace=False)
    regular = np.setdiff1d(np.flatnonzero((reg.age >= 45) & (rng.random(persons) < 0.15)), heavy)
    two_monthly = rng.random(len(regular)) < 0.1
    chronic(reg, ledger, cat, rng, regular[~two_monthly], stores[regular[~two_monthly], 0])
    chronic(reg, ledger, cat, rng, regular[two_monthly], stores[regular[two_monthly], 0], months=2)
    decoys.store_queues(reg, ledger, cat, rng, busy)
    decoys.busy_doctors(reg, ledger, cat, rng, busy_docs, primary)
    decoys.heavy_patients(reg, ledger, cat, rng, heavy, stores[heavy])
    clinic_queue(ledger, rng)
    honest_presence(reg, ledger, rng)
    labels += [("hospital", reg.inst_code[h], "hospital_surge", 0, True) for h in flu]
    labels += [
        ("hospital", reg.inst_code[h], p, 0, True)
        for h in chemo
        for p in ("hospital_surge", "fictitious_stay")
    ]
    labels += [("pharmacy", reg.inst_code[s], "pharmacy_skimming", 0, True) for s in busy]
    labels += [("doctor", reg.doc_code[d], "doctor_overcapacity", 0, True) for d in busy_docs]
    labels += [("person", reg.psn_no[p], "person_stockpiling", 0, True) for p in heavy]
    taken = set(flu) | set(chemo)
    k = rates.intensity
    labels += surge(reg, ledger, cat, rng, _count(rates.hospital_surge, len(hosp)), taken, k)
    labels += fictitious(reg, ledger, cat, rng, _count(rates.fictitious_stay, len(hosp)), taken, k)
    labels += skimming(
        reg, ledger, cat, rng, _count(rates.pharmacy_skimming, len(ph)), set(busy), stores[:, 0], k
    )
    labels += doctors_overcapacity(
        reg, ledger, cat, rng, _count(rates.doctor_overcapacity, len(reg.doc_code)), set(busy_docs), k
    )
    labels += stockpiling(reg, ledger, cat, rng, _count(rates.person_stockpiling, persons), set(heavy), k)
    frame = to_frame(reg, ledger, cat)
    table = pa.table(list(zip(*labels, strict=True)) if labels else [[]] * 5, schema=LABEL_SCHEMA)
    return Region(frame, table, {"visits": frame.raw_visits.num_rows, "lines": frame.raw_lines.num_rows})


def honest_presence(reg: Register, ledger: Ledger, rng, keep_share: float = 0.03) -> None:
    """Honest persons are where their claims say: drop visits inside their own stays (keeping 3 %: a family
    member buying for an inpatient, 委托购药) and every visit after death."""
    v = ledger.visit_table()
    day = v["ts"] // 86_400
    stay = np.flatnonzero(v["kind"] == INPATIENT)
    order = stay[np.lexsort((day[stay], v["person"][stay]))]
    span = np.int64(1 << 20)
    key = v["person"][order] * span + day[order]
    pos = (
        np.searchsorted(key, v["person"] * span + day, "left") - 1
    )  # the person's last stay starting earlier
    ok = pos >= 0
    s = order[np.maximum(pos, 0)]
    inside = ok & (v["person"][s] == v["person"]) & (day < day[s] + v["los"][s]) & (v["kind"] != INPATIENT)
    inside &= rng.random(len(day)) >= keep_share
    dead = (reg.death[v["person"]] >= 0) & (day > reg.death[v["person"]])
    ledger.drop_visits(v["visit"][inside | dead])


__all__ = ["LABEL_SCHEMA", "Catalogue", "FraudRates", "Region", "build_region", "honest_presence"]
