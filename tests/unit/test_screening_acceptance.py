"""The §11 acceptance tests of supervision.md, on small constructed worlds (not the generator):

* §11.1: of 200 hospitals in a region with an influenza winter, the one with +80 % admissions of one diagnosis
  for three months, LOS fixed at 7 days and identical item lists ranks first; a hospital whose admissions
  nearly double every winter because a third of its patients have influenza is not flagged.
* §11.2: a store settling 40 cards in 20 minutes on 29 December with identical baskets is found; a busy honest
  store with queues is not.
"""

from __future__ import annotations

import numpy as np
import pytest

from yibao.supervision.frame import Frame, lines_table, visits_table
from yibao.supervision.screening.claims import load_claims
from yibao.supervision.screening.hospital import surge_leads
from yibao.supervision.screening.leads import CASE, LEAD, NONE, rank
from yibao.supervision.screening.params import HospitalParams, PharmacyParams
from yibao.supervision.screening.pharmacy import skimming_leads

YEAR = 2025
DAY0 = int(np.datetime64(f"{YEAR}-01-01").astype(np.int64))
DX = ["I63.900", "I25.100", "J18.900", "J11.100", "E11.900", "K35.800", "K80.100", "N18.500", "M54.500", "M17.900",
      "S72.000", "O80.000", "C34.900", "I50.900", "A09.900", "K29.700", "N39.000", "G45.900", "I48.x00", "J20.900"]  # fmt: skip
FLU = DX.index("J11.100")
WINTER = np.array([4.0, 2.5, 1.2, 1, 1, 1, 1, 1, 1, 1, 1.2, 3.0])  # the region's influenza season, Jan … Dec


def frame_of(v: dict, lines: dict) -> Frame:
    """Raw tables from arrays: visits (person, inst, kind "21"/"41", ts seconds, los days, dx, grade, type) and
    lines (visit index, item code, chrg type, count units, price yuan)."""
    n = len(v["person"])
    ts = np.asarray(v["ts"], np.int64)
    mdtrt = np.array([f"V{i:07d}" for i in range(n)])
    inpatient = np.asarray(v["kind"]) == "21"
    visits = visits_table(
        {
            "mdtrt_id": mdtrt,
            "psn_no": np.array([f"P{p:06d}" for p in v["person"]]),
            "fixmedins_code": np.asarray(v["inst"]),
            "insutype": np.full(n, "310"),
            "med_type": np.asarray(v["kind"]),
            "gend": np.full(n, "1"),
            "inst_grade": np.where(inpatient, 2, 0).astype(np.int32),
            "inst_type": np.where(inpatient, "1", "2"),
            "dept_code": np.where(inpatient, "A03", None),
            "atddr_no": np.where(inpatient, "D0001", None),
            "dise_codg": np.where(inpatient, np.asarray(v["dx"], object), None),
            "setl_id": mdtrt,
            "begntime": ts.astype("datetime64[s]"),
            "endtime": np.where(inpatient, ts + np.asarray(v["los"]) * 86_400, np.iinfo(np.int64).min).astype(
                "datetime64[s]"
            ),
            "brdy": np.full(n, np.datetime64("1950-06-01")),
            "death_date": np.full(n, np.datetime64("NaT"), "datetime64[D]"),
        }
    )
    m = len(lines["visit"])
    cnt = np.asarray(lines["units"], np.int64) * 10_000
    pric = np.asarray(lines["yuan"], np.int64) * 1_000_000
    table = lines_table(
        {
            "line_id": np.arange(m),
            "mdtrt_id": mdtrt[lines["visit"]],
            "feedetl_sn": np.arange(m).astype(str),
            "med_list_codg": np.asarray(lines["item"]),
            "list_type": np.full(m, "101"),
            "med_chrgitm_type": np.asarray(lines["chrg"]),
            "cnt": cnt,
            "pric": pric,
            "amt": cnt * pric // 100_000_000,
            "fee_ocur_time": ts[lines["visit"]].astype("datetime64[s]"),
        }
    )
    return Frame(
        visits, table, visits.slice(0, 0).select(["mdtrt_id"]), visits.slice(0, 0).select(["mdtrt_id"])
    )


def month_days(rng, month: np.ndarray) -> np.ndarray:
    first = (np.datetime64(f"{YEAR}-01", "M") + month).astype("datetime64[D]").astype(np.int64)
    return first + rng.integers(0, 28, len(month))


@pytest.fixture(scope="module")
def hospital_world():
    rng = np.random.default_rng(11)
    n_h, target, flu_heavy = 200, 57, 123
    mix = rng.gamma(4.0, 0.25, (n_h, len(DX)))
    mix[flu_heavy, FLU] *= 12  # a third of its patients have influenza, outside the winter too
    joint = mix[:, :, None] * np.ones(12)[None, None, :]
    joint[:, FLU, :] *= WINTER
    rate = rng.uniform(25, 45, n_h)  # admissions a month outside the season
    hosp, dx, month = [], [], []
    for h in range(n_h):
        p = joint[h] / joint[h].sum(axis=0, keepdims=True)  # a month's case mix
        lift = joint[h].sum(axis=0) / mix[h].sum()  # the winter lifts the volume by the flu share
        for m in range(12):
            k = rng.poisson(rate[h] * lift[m])
            hosp += [h] * k
            dx += list(rng.choice(len(DX), k, p=p[:, m]))
            month += [m] * k
    hosp, dx, month = np.array(hosp), np.array(dx), np.array(month)
    los = np.maximum(1, np.round(rng.lognormal(np.log(8) - 0.09, 0.43, len(hosp)))).astype(int)
    # the target: October–December, +80 % admissions, all M54, 7 days, one item list
    extra = rng.poisson(0.8 * rate[target], 3)
    hosp = np.r_[hosp, np.full(extra.sum(), target)]
    month = np.r_[month, np.repeat([9, 10, 11], extra)]
    dx = np.r_[dx, np.full(extra.sum(), DX.index("M54.500"))]
    los = np.r_[los, np.full(extra.sum(), 7)]
    template = np.arange(len(hosp)) >= len(hosp) - extra.sum()
    day = month_days(rng, month)
    v = {
        "person": rng.integers(0, 100_000, len(hosp)),
        "inst": np.array([f"H{h:04d}" for h in hosp]),
        "kind": np.full(len(hosp), "21"),
        "ts": day * 86_400 + 9 * 3600,
        "los": los,
        "dx": np.array(DX)[dx],
    }
    k = np.where(template, 6, rng.integers(4, 9, len(hosp)))
    visit = np.repeat(np.arange(len(hosp)), k)
    slot = np.arange(len(visit)) - np.repeat(np.cumsum(k) - k, k)
    item = np.where(template[visit], slot, rng.integers(0, 300, len(visit)))
    units = np.where(template[visit], 2, rng.integers(1, 6, len(visit)))
    lines = {
        "visit": visit,
        "item": np.array([f"X{i:04d}" for i in item]),
        "chrg": np.full(len(visit), "09"),
        "units": units,
        "yuan": (item % 50) + 10,
    }
    return frame_of(v, lines), f"H{target:04d}", f"H{flu_heavy:04d}"


@pytest.fixture(scope="module")
def surge_ranked(hospital_world):
    return rank(surge_leads(load_claims(hospital_world[0]), YEAR, HospitalParams()))


def test_a_surge_of_one_diagnosis_with_template_stays_ranks_first_of_200(hospital_world, surge_ranked):
    _, target, _ = hospital_world
    ranked = surge_ranked
    assert len(ranked) == 200
    first = ranked[0]
    assert first.entity_id == target and first.level == LEAD
    assert {"S1", "S2", "S3", "S4"} <= set(first.flagged)
    assert sum(x.level != NONE for x in ranked) == 1  # the only lead


def test_a_hospital_inside_the_regions_influenza_winter_is_not_flagged(hospital_world, surge_ranked):
    frame, _, flu_heavy = hospital_world
    ranked = {x.entity_id: x for x in surge_ranked}
    lead = ranked[flu_heavy]
    s1 = lead.signals[0]
    assert lead.level == NONE and not s1.flagged
    # the rise is real: January holds about twice the hospital's median month (S1's N / median ≥ 1.5 and
    # N ≥ 20 hold); only the region's season explains it
    v = frame.raw_visits
    mine = np.asarray(v["fixmedins_code"].to_pylist()) == flu_heavy
    month = v["begn_month"].to_numpy()[mine] - (YEAR * 12)
    counts = np.bincount(month, minlength=12)
    assert counts[0] >= 1.5 * np.median(counts) and counts[0] >= 20


@pytest.fixture(scope="module")
def pharmacy_world():
    rng = np.random.default_rng(5)
    n_s, skimmer, busy = 100, 42, 7
    size = rng.integers(500, 1100, n_s)
    size[busy] *= 5
    store = np.repeat(np.arange(n_s), size)
    w = np.ones(365)
    w[-15:] = 1.3  # everyone spends a little more at the year's end
    day = DAY0 + rng.choice(365, len(store), p=w / w.sum())
    ts = day * 86_400 + rng.integers(8 * 3600, 21 * 3600, len(store))
    person = rng.integers(0, 30_000, len(store))
    # the busy store's queues: 10 of 20 different persons within 10 minutes, one on 30 December
    q_day = np.r_[DAY0 + rng.integers(0, 350, 9), DAY0 + 363]
    q = np.repeat(np.arange(10), 20)
    store = np.r_[store, np.full(200, busy)]
    ts = np.r_[ts, q_day[q] * 86_400 + 10 * 3600 + rng.integers(0, 600, 200)]
    person = np.r_[person, rng.integers(0, 30_000, 200)]
    # the skimmer: 40 cards between 14:00 and 14:20 on 29 December
    card = DAY0 + 362
    store = np.r_[store, np.full(40, skimmer)]
    ts = np.r_[ts, card * 86_400 + 14 * 3600 + np.sort(rng.integers(0, 1200, 40))]
    person = np.r_[person, rng.choice(30_000, 40, replace=False)]
    n = len(store)
    skim = np.arange(n) >= n - 40
    k = np.where(skim, 2, 1 + (rng.random(n) < 0.4) + (rng.random(n) < 0.1))
    visit = np.repeat(np.arange(n), k)
    zipf = 1 / np.arange(1, 81)
    drug = rng.choice(80, len(visit), p=zipf / zipf.sum())
    slot = np.arange(len(visit)) - np.repeat(np.cumsum(k) - k, k)
    drug = np.where(skim[visit], 90 + slot, drug)
    units = np.where(skim[visit], 3, rng.integers(1, 3, len(visit)))
    v = {
        "person": person,
        "inst": np.array([f"S{s:04d}" for s in store]),
        "kind": np.full(n, "41"),
        "ts": ts,
        "los": np.zeros(n, int),
        "dx": np.full(n, ""),
    }
    lines = {
        "visit": visit,
        "item": np.array([f"D{d:03d}" for d in drug]),
        "chrg": np.full(len(visit), "09"),
        "units": units,
        "yuan": 20 + drug % 40,
    }
    return frame_of(v, lines), f"S{skimmer:04d}", f"S{busy:04d}"


def test_a_store_settling_40_cards_in_20_minutes_at_year_end_with_one_basket_is_found(pharmacy_world):
    frame, skimmer, _ = pharmacy_world
    ranked = rank(skimming_leads(load_claims(frame), YEAR, PharmacyParams()))
    first = ranked[0]
    assert first.entity_id == skimmer and first.level in (LEAD, CASE)
    assert {"P5", "P6", "P7"} <= set(first.flagged)
    values = {s.name.split()[0]: s.value for s in first.signals}
    assert values["P5"] >= 20 and values["P7"] == 40  # 40 persons, one basket, one day


def test_a_busy_honest_store_is_not_flagged(pharmacy_world):
    frame, _, busy = pharmacy_world
    ranked = {x.entity_id: x for x in skimming_leads(load_claims(frame), YEAR, PharmacyParams())}
    assert ranked[busy].level == NONE
    assert "P7" not in ranked[busy].flagged and "P6" not in ranked[busy].flagged
    assert sum(x.level != NONE for x in ranked.values()) == 1
