"""Batch settlement (批量结算): millions of visits in one call, for simulation and re-settlement.

Inputs are plain arrays (one row per visit, one per fee line), so a generator or a
Parquet reader can feed the kernel without building Python objects per visit.
Accumulators start from zero for every (person, year, insutype) slot unless a
starting state is given; account balances start from ``balance``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yibao.errors import SettlementError
from yibao.policy.bundle import PolicyBundle
from yibao.settlement.arrays import ChainOutputs, VisitArrays
from yibao.settlement.inputs import PersonFacts, VisitRequest, resolve
from yibao.settlement.kernel import settle_visits
from yibao.settlement.lines import LineArrays, LineSplit, split_lines, visit_sums
from yibao.settlement.online import line_arrays
from yibao.settlement.result import setlinfo_of
from yibao.settlement.state import AccumState
from yibao.settlement.tiers import chain_columns

EPOCH_ORD = 719163  # date(1970, 1, 1).toordinal()


@dataclass
class BatchInput:
    """Per-visit indices (already resolved against the bundle) and the fee lines."""

    person: np.ndarray  # int64 person number (also the chain: one person's visits are sequential)
    day: np.ndarray  # int64 days since 1970-01-01 (begndate)
    ver: np.ndarray
    ins: np.ndarray
    cls: np.ndarray
    cat: np.ndarray
    lvl: np.ndarray
    dis: np.ndarray
    idmask: np.ndarray
    sp_enrolled: np.ndarray  # bool
    acct_flag: np.ndarray
    has_account: np.ndarray  # bool: the person has an account (index = person)
    balance: np.ndarray  # starting balance per person (fen)
    lines: LineArrays  # lines.visit = visit row
    new_adm: np.ndarray | None = None
    adm_dedc_used: np.ndarray | None = None
    acct: np.ndarray | None = (
        None  # account paying each visit (default: the person's own, if any); 共济 = a relative's
    )

    def __len__(self) -> int:
        return int(self.person.size)


@dataclass
class BatchResult:
    out: ChainOutputs  # the fund chain's records per visit (input order)
    sums: dict[
        str, np.ndarray
    ]  # medfee_sumamt, fulamt_ownpay_amt, overlmt_selfpay, preselfpay_amt, inscp_scp_amt
    state: AccumState  # accumulators after the batch
    slot_keys: np.ndarray  # [slot] → (person, year, ins)
    slot: np.ndarray  # per visit
    split: LineSplit | None = None  # per fee line: fulamt, overlmt, preselfpay, inscp

    @property
    def columns(self) -> dict[str, np.ndarray]:
        """The setlinfo fields per visit by national name: the split sums and what the fund chain filled."""
        return {**self.sums, **chain_columns(self.out)}

    def setlinfo(self, i: int) -> dict[str, int]:
        """The setlinfo amounts of visit ``i`` in fen (same keys as online results)."""
        return setlinfo_of(self.out, i, {k: int(v[i]) for k, v in self.sums.items()})


def years_of(day: np.ndarray) -> np.ndarray:
    return day.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def run_batch(bundle: PolicyBundle, b: BatchInput, state: AccumState | None = None) -> BatchResult:
    """Split every line, then settle every visit in (person, date) order, vectorized across persons."""
    n = len(b)
    split = split_lines(b.lines)
    medfee, ful, over, pre, inscp = visit_sums(
        b.lines.visit, n, b.lines.amt, split.ful, split.over, split.pre, split.inscp
    )
    negative = (medfee < 0) | (ful < 0) | (over < 0) | (pre < 0) | (inscp < 0)
    if negative.any():
        raise SettlementError(f"visit {int(np.flatnonzero(negative)[0])}: 费用明细合计为负")
    year = years_of(b.day)
    n_ins = len(bundle.insutypes)
    packed = (b.person * 10_000 + (year - 1900)) * n_ins + b.ins  # one int64 key per (person, year, insutype)
    uniq, slot = np.unique(packed, return_inverse=True)
    slot = slot.reshape(-1)
    slot_keys = np.stack([uniq // n_ins // 10_000, uniq // n_ins % 10_000 + 1900, uniq % n_ins], axis=1)
    if state is None:
        state = AccumState.zeros(bundle, len(slot_keys), int(b.person.max()) + 1 if n else 1)
        state.bal[: b.balance.size] = b.balance
    acct = b.acct if b.acct is not None else np.where(b.has_account[b.person], b.person, -1)
    v = VisitArrays(
        slot=slot,
        acct=acct,
        ver=b.ver,
        ins=b.ins,
        cls=b.cls,
        cat=b.cat,
        lvl=b.lvl,
        dis=b.dis,
        idmask=b.idmask,
        sp_enrolled=b.sp_enrolled,
        acct_flag=b.acct_flag,
        new_adm=b.new_adm if b.new_adm is not None else np.ones(n, dtype=bool),
        adm_dedc_used=b.adm_dedc_used if b.adm_dedc_used is not None else np.zeros(n, dtype=np.int64),
        medfee=medfee,
        inscp=inscp,
    )
    out = settle_visits(bundle, state, v, b.person, b.day)
    sums = {
        "medfee_sumamt": medfee,
        "fulamt_ownpay_amt": ful,
        "overlmt_selfpay": over,
        "preselfpay_amt": pre,
        "inscp_scp_amt": inscp,
    }
    return BatchResult(out=out, sums=sums, state=state, slot_keys=slot_keys, slot=slot, split=split)


def batch_from_requests(
    bundle: PolicyBundle,
    persons: list[PersonFacts],
    balances: list[int],
    visits: list[tuple[int, VisitRequest]],
) -> BatchInput:
    """Build array inputs from domain objects (tests and small batches; the generator builds arrays directly)."""
    rows = [(p, resolve(bundle, persons[p], v), v) for p, v in visits]
    n = len(rows)

    def col(f, dtype=np.int64):
        return np.array([f(r) for r in rows], dtype=dtype) if n else np.zeros(0, dtype=dtype)

    fee_rows = [(k, f) for k, (_, _, v) in enumerate(rows) for f in v.fees]
    la = line_arrays([f for _, f in fee_rows])
    la.visit = np.array([k for k, _ in fee_rows], dtype=np.int64)
    return BatchInput(
        person=col(lambda r: r[0]),
        day=col(lambda r: r[2].begndate.toordinal() - EPOCH_ORD),
        ver=col(lambda r: r[1].ver),
        ins=col(lambda r: r[1].ins),
        cls=col(lambda r: r[1].cls),
        cat=col(lambda r: r[1].cat),
        lvl=col(lambda r: r[1].lvl),
        dis=col(lambda r: r[1].dis),
        idmask=col(lambda r: r[1].idmask),
        sp_enrolled=col(lambda r: r[1].sp_enrolled, bool),
        acct_flag=col(lambda r: r[2].acct_used_flag),
        has_account=np.array([p.has_account for p in persons], dtype=bool),
        balance=np.array(balances, dtype=np.int64),
        lines=la,
        new_adm=col(lambda r: r[2].new_admission, bool),
        adm_dedc_used=col(lambda r: r[2].adm_dedc_used),
    )
