"""The demo's fee lines kept to the rule library's knowledge rows (synth/compliance.py), pure: a forbidden
line becomes a permitted item of its type and price, a per-day quantity is spread over the stay, a visit's
quantity is capped, about RESIDUAL of the visits keep their violations, the same result from the same seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from yibao.money import CNT, MICRO
from yibao.settlement.lines import NO_CAP, product_fen
from yibao.supervision.library_files import load_library
from yibao.synth import compliance
from yibao.synth import population as pop_mod
from yibao.synth.claims import Claims, Reference
from yibao.synth.params import Params
from yibao.synth.stays import prices

REPO = Path(__file__).resolve().parents[2]
DISTRICTS = [("990102", 300_000), ("990103", 200_000)]
FINASTERIDE = "XG04CBF052A001225279664"  # 非那雄胺片: men only
# code, med_chrgitm_type, price (yuan)
CATALOGUE = [
    (FINASTERIDE, "09", 30.0),
    ("DRUG-A", "09", 28.0),
    ("DRUG-B", "09", 33.0),
    ("DRUG-C", "09", 500.0),
    ("DRUG-HF", "09", 29.0),  # heart failure only: never a replacement
    ("ROUND", "02", 20.0),  # once a day
    ("CONSULT", "02", 10.0),
    ("LAB", "04", 15.0),
]
ROWS = {
    "sex_limit": [{"rule_code": "SEX", "code": FINASTERIDE, "gend": "1"}],
    "indication": [{"rule_code": "IND", "code": "DRUG-HF", "dise_prefix": "I50"}],
    "max_quantity": [
        {"rule_code": "QTY", "code": "ROUND", "max_cnt": 1 * CNT, "period": "day"},
        {"rule_code": "QTY", "code": "DRUG-A", "max_cnt": 3 * CNT, "period": "visit"},
    ],
    "_exempt": [],
}
CODE = {c: i for i, (c, _, _) in enumerate(CATALOGUE)}


@pytest.fixture(scope="module")
def pop():
    return pop_mod.generate(np.random.default_rng(5), Params(persons=400, seed=5), DISTRICTS, "990100")


def _ref() -> Reference:
    n = len(CATALOGUE)
    return Reference(
        inst_code=np.array(["H1", "H2"]),
        inst_level=np.array([2, 3]),
        inst_pharmacy=np.array([False, False]),
        inst_wards=np.array([True, True]),
        item_code=np.array([c for c, _, _ in CATALOGUE]),
        item_type=np.array([t for _, t, _ in CATALOGUE]),
        item_pric=np.array([round(p * MICRO) for _, _, p in CATALOGUE], dtype=np.int64),
        item_lv=np.ones(n, dtype=np.int64),
        item_selfpay=np.zeros(n, dtype=np.int64),
        item_cap=np.full(n, NO_CAP, dtype=np.int64),
        item_lmt=np.zeros(n, dtype=np.int64),
        dx_codes={},
        doctors={},
    )


def _claims(ref: Reference, person, dise, los, lines) -> Claims:
    """Visits of ``person`` (2025-03-01, institution H1) and ``lines``: (visit, code, count)."""
    v = len(person)
    visit = np.array([x for x, _, _ in lines], dtype=np.int64)
    item = np.array([CODE[c] for _, c, _ in lines], dtype=np.int64)
    cnt = np.array([n * CNT for _, _, n in lines], dtype=np.int64)
    level = np.full(v, 2, dtype=np.int64)
    pric = prices(ref, item, level[visit])
    los = np.asarray(los, dtype=np.int64)
    return Claims(
        person=np.asarray(person, dtype=np.int64),
        kind=np.where(los > 0, 2, 0),
        med_type=np.where(los > 0, "21", "11").astype("U2"),
        day=np.full(v, np.datetime64("2025-03-01")),
        los=los,
        inst=np.zeros(v, dtype=np.int64),
        level=level,
        dise=np.asarray(dise, dtype=str),
        opsp=np.full(v, "", dtype="U6"),
        doctor=np.full(v, "", dtype=object),
        coded=np.full(v, None, dtype=object),
        line_visit=visit,
        line_item=item,
        line_pric=pric,
        line_cnt=cnt,
        line_amt=product_fen(pric, cnt),
        line_appr=np.zeros(visit.size, dtype=np.int64),
    )


def _violations(cl: Claims, pop, ref: Reference) -> np.ndarray:
    """The visits with a line a row forbids or a quantity above its row."""
    at = compliance._Year.of(cl, pop, ref)
    lines = compliance._Lines(cl.line_item, ref, ROWS, at)
    bad = compliance._forbidden(ROWS, at, lines) | compliance._over(ROWS, at, lines, cl.line_cnt)
    out = np.zeros(len(cl), dtype=bool)
    out[cl.line_visit[bad]] = True
    return out


def test_a_line_for_the_other_sex_becomes_a_permitted_item_of_its_type_and_price(pop, monkeypatch):
    monkeypatch.setattr(compliance, "RESIDUAL", 0.0)
    ref = _ref()
    woman, man = int(np.flatnonzero(~pop.male)[0]), int(np.flatnonzero(pop.male)[0])
    cl = _claims(
        ref,
        [woman, man, woman],
        ["N40.x00", "N40.x00", "I50.900"],
        [0, 0, 0],
        [(0, "CONSULT", 1), (0, FINASTERIDE, 2), (1, FINASTERIDE, 2), (2, "DRUG-HF", 1)],
    )
    out = compliance.respect(np.random.default_rng(1), ROWS, pop, ref, cl)
    codes = ref.item_code[out.line_item].tolist()
    assert codes[0] == "CONSULT" and codes[2:] == [FINASTERIDE, "DRUG-HF"]  # the man's and the indicated stay
    assert codes[1] in ("DRUG-A", "DRUG-B")  # the nearest permitted drugs in price, not DRUG-HF nor DRUG-C
    assert out.line_cnt[1] == 2 * CNT and out.line_pric[1] == ref.item_pric[out.line_item[1]]
    assert out.line_amt[1] == product_fen(out.line_pric[1:2], out.line_cnt[1:2])[0]
    assert not _violations(out, pop, ref).any()
    assert out.line_amt[[0, 2, 3]].tolist() == cl.line_amt[[0, 2, 3]].tolist()


def test_quantities_are_capped_for_a_visit_and_spread_over_a_stay(pop, monkeypatch):
    monkeypatch.setattr(compliance, "RESIDUAL", 0.0)
    ref = _ref()
    cl = _claims(
        ref,
        [0, 1],
        ["J06.900", "J18.900"],
        [0, 6],
        [(0, "DRUG-A", 2), (0, "DRUG-A", 4), (1, "ROUND", 6), (1, "LAB", 2)],
    )
    out = compliance.respect(np.random.default_rng(1), ROWS, pop, ref, cl)
    first = out.line_visit == 0
    assert out.line_cnt[first].sum() == 3 * CNT  # 2 + 1, the rest dropped
    stay = (out.line_visit == 1) & (out.line_item == CODE["ROUND"])
    assert stay.sum() == 6 and (out.line_cnt[stay] == CNT).all()
    assert out.line_amt[out.line_visit == 1].sum() == cl.line_amt[cl.line_visit == 1].sum()  # the same cost
    assert not _violations(out, pop, ref).any()


def test_about_the_residual_share_of_visits_keep_their_violations(pop):
    ref = _ref()
    women = np.flatnonzero(~pop.male)
    n = 40_000
    person = women[np.arange(n) % women.size]
    # half the visits sell finasteride to a woman, half are clean
    lines = [(k, FINASTERIDE if k % 2 else "DRUG-B", 1) for k in range(n)]
    cl = _claims(ref, person, ["J06.900"] * n, np.zeros(n), lines)
    out = compliance.respect(np.random.default_rng(3), ROWS, pop, ref, cl)
    share = _violations(out, pop, ref).mean()
    assert abs(share - compliance.RESIDUAL) < 0.3 * compliance.RESIDUAL
    assert out.line_visit.size == n  # replaced, not removed


def test_the_same_seed_mends_the_same_way(pop):
    ref = _ref()
    women = np.flatnonzero(~pop.male)
    person = women[np.arange(2_000) % women.size]
    lines = [(k, FINASTERIDE, 1) for k in range(2_000)]
    cl = _claims(ref, person, ["J06.900"] * 2_000, np.zeros(2_000), lines)
    a, b, c = (compliance.respect(np.random.default_rng(s), ROWS, pop, ref, cl) for s in (9, 9, 10))
    assert np.array_equal(a.line_item, b.line_item) and np.array_equal(a.line_amt, b.line_amt)
    assert not np.array_equal(a.line_item, c.line_item)


def test_the_demo_library_gives_the_rows_in_force():
    rows = compliance.rows_in_force(load_library(REPO / "regions" / "990100" / "rules"), 2025)
    assert {r["code"] for r in rows["sex_limit"]} >= {FINASTERIDE}
    assert {r["mode"] for r in rows["age_limit"]} == {"allow", "forbid"}
    assert {r["period"] for r in rows["max_quantity"]} == {"day", "visit"}
    assert {(x["rule_code"], x["field"], x["value"]) for x in rows["_exempt"]} >= {
        ("GZ1000010100801", "med_type", "14")
    }
    assert (
        compliance.rows_in_force(load_library(REPO / "regions" / "990100" / "rules"), 2024)["sex_limit"] == []
    )
