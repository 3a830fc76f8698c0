"""Labelled fraud in the demo year (示例市欺诈注入): ``yibao demo --fraud`` adds the named patterns of
supervision.md §11 to the generated claims before they are settled, plus decoys, and keeps a label per injected
or decoy entity in the ``screening_label`` table. The settled year then carries the fraud like any other visit
(settlements, ledger, accumulators); screening reads the audit view only and never the labels, which
``yibao screening evaluate --year`` compares its ranking with.

Written from the patterns' descriptions (§11), like :mod:`yibao.synth.fraud` for the standalone screening
region, and sharing no code with :mod:`yibao.supervision.screening`. The demo is small (20,000 persons, 40
hospitals, 20 stores, ~700 doctors), so each pattern is injected into at least one unit:

* ``hospital_surge``: a hospital with ≥ 20 admissions a month gets +60–100 % admissions of one diagnosis for
  3–5 months from July–October; elderly persons of its district, admitted in groups of 2–6, LOS 7 days for 85 %,
  one bill template.
* ``fictitious_stay``: a hospital gets 15–35 % more stays all year, each around a day the card holder was seen
  elsewhere (outpatient or store), nursing and drugs billed every third day, no laboratory test, one per-day
  bill, admitted in groups of 1–4.
* ``pharmacy_skimming``: a store settles 20–60 cards in 15–30 minutes on 1–3 of 28–31 December with one basket
  for 85–100 % of them; a fifth of the cards belong to persons in hospital that day.
* ``doctor_overcapacity``: doctors (0.5 %) "see" 25–60 extra patients 1–3 minutes apart on 30–80 days.
* ``person_stockpiling``: 职工 with a chronic disease (0.2 %, at least 5) buy 30 days of one or two drugs every
  6–12 days at 3–6 stores.

Decoys (labelled ``decoy``, never fraud): an influenza season in January and December at every hospital (the two
largest labelled for ``hospital_surge``), a busy honest store with queues (``pharmacy_skimming``), and patients on
21-day chemotherapy cycles (``person_stockpiling``, heavy but regular users). Honest background, unlabelled: a
half the 职工 with a chronic disease buy a month of their medicine at their store every 28–32 days (from the
same four long-term medicines the stockpilers buy), which is what a month's supply looks like.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yibao.settlement.lines import product_fen
from yibao.synth.claims import LINE_FIELDS, VISIT_FIELDS, Claims, Reference
from yibao.synth.params import Params
from yibao.synth.population import Population
from yibao.synth.stays import prices

FRAUD_STREAM = 7  # build.py's random streams: 1 history, 2 reversals; claims.py 3–5; compliance 6
CNT = 10_000  # 1e-4 units a whole one


@dataclass(frozen=True)
class Label:
    """One labelled entity: what was injected there (or that it is a decoy), and the loss the injection added."""

    entity_type: str  # hospital | pharmacy | doctor | person
    entity_id: str
    pattern: str
    decoy: bool


@dataclass(frozen=True)
class FraudRates:
    """Shares of units injected with each pattern (each pattern in at least one unit)."""

    hospital_surge: float = 0.02
    fictitious_stay: float = 0.02
    pharmacy_skimming: float = 0.03
    doctor_overcapacity: float = 0.005
    person_stockpiling: float = 0.002


class Extra:
    """The visits an injection adds, with their fee lines, each tagged with the label it belongs to."""

    def __init__(self, ref: Reference, year: int) -> None:
        self.ref, self.year = ref, year
        self.visits: list[tuple] = []
        self.lines: list[tuple[int, int, int]] = []  # (visit, item, cnt)
        self.labels: list[Label] = []

    def label(self, entity_type: str, entity_id: str, pattern: str, decoy: bool = False) -> int:
        self.labels.append(Label(entity_type, entity_id, pattern, decoy))
        return len(self.labels) - 1

    def visit(self, tag, person, kind, med_type, day, los, inst, dise, doctor, tod, bill) -> None:
        """One visit; ``bill`` is ``[(item, cnt units), …]``; ``day`` days into the year."""
        k = len(self.visits)
        self.visits.append((tag, person, kind, med_type, int(day), int(los), inst, dise, doctor, int(tod)))
        self.lines += [(k, int(item), round(cnt * CNT)) for item, cnt in bill]

    def claims(self) -> tuple[Claims, np.ndarray]:
        """The added visits as claims, and each visit's label index."""
        cols = list(zip(*self.visits, strict=True)) if self.visits else [[]] * 10
        tag, person, kind, med_type, day, los, inst, dise, doctor, tod = (np.asarray(c) for c in cols)
        inst = inst.astype(np.int64)
        level = self.ref.inst_level[inst] if inst.size else np.zeros(0, np.int64)
        lv, item, cnt = (
            np.asarray(c, dtype=np.int64) for c in zip(*(self.lines or [(0, 0, 0)]), strict=True)
        )
        if not self.lines:
            lv, item, cnt = lv[:0], item[:0], cnt[:0]
        pric = prices(self.ref, item, level[lv])
        n = len(self.visits)
        claims = Claims(
            person=person.astype(np.int64),
            kind=kind.astype(np.int64),
            med_type=med_type.astype("U4"),
            day=np.datetime64(f"{self.year}-01-01") + day.astype("timedelta64[D]"),
            los=los.astype(np.int64),
            inst=inst,
            level=level.astype(np.int64),
            dise=dise.astype(str),
            opsp=np.full(n, "", dtype="U6"),
            doctor=doctor.astype(str),
            coded=np.full(n, None, dtype=object),
            line_visit=lv,
            line_item=item,
            line_pric=pric,
            line_cnt=cnt,
            line_amt=product_fen(pric, cnt),
            line_appr=np.zeros(lv.size, dtype=np.int64),
            tod=tod.astype(np.int64),
        )
        return claims, tag.astype(np.int64)


def concat(a: Claims, b: Claims) -> Claims:
    """``a``'s visits then ``b``'s, the lines' visit numbers following."""
    per_visit = {f: np.concatenate([getattr(a, f), getattr(b, f)]) for f in VISIT_FIELDS}
    per_line = {f: np.concatenate([getattr(a, f), getattr(b, f)]) for f in LINE_FIELDS if f != "line_visit"}
    return Claims(
        **per_visit,
        line_visit=np.concatenate([a.line_visit, b.line_visit + len(a)]),
        **per_line,
        tod=np.concatenate([a.begin_seconds(), b.begin_seconds()]),
    )


@dataclass
class Injected:
    claims: Claims  # the honest year and the added visits
    tag: np.ndarray  # per visit: the label it was added for, −1 honest
    labels: list[Label]


def inject(
    p: Params, pop: Population, ref: Reference, cl: Claims, rates: FraudRates | None = None
) -> Injected:
    """The honest claims with every pattern and decoy added (deterministic from the seed)."""
    from yibao.synth import demo_fraud_patterns as patterns

    rng = np.random.default_rng([p.seed, FRAUD_STREAM])
    extra = Extra(ref, p.year)
    world = patterns.World.of(p, pop, ref, cl)
    patterns.decoys(rng, world, extra)
    patterns.inject_all(rng, world, extra, rates or FraudRates())
    added, tag = extra.claims()
    return Injected(concat(cl, added), np.concatenate([np.full(len(cl), -1), tag]), extra.labels)


def label_rows(inj: Injected, kept: np.ndarray, seed: int) -> list[dict]:
    """The label rows to store, with each one's injected loss (fen) over the visits ``kept`` (those within the
    persons' insured days, which are settled)."""
    amt = np.zeros(len(inj.claims), dtype=np.int64)
    np.add.at(amt, inj.claims.line_visit, inj.claims.line_amt)
    tag, amt = inj.tag[kept], amt[kept]
    loss = np.zeros(len(inj.labels), dtype=np.int64)
    np.add.at(loss, tag[tag >= 0], amt[tag >= 0])
    return [
        {
            "seed": seed,
            "entity_type": lb.entity_type,
            "entity_id": lb.entity_id,
            "pattern": lb.pattern,
            "decoy": lb.decoy,
            "injected_loss_fen": 0 if lb.decoy else int(loss[i]),
        }
        for i, lb in enumerate(inj.labels)
    ]
