"""What a payment run writes, built from its priced cases (pure): the case rows of the statement, each
line's as-charged fund split (for the ledger), and a digest of the cases (the run's snapshot)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from yibao.payment.period import Case, Priced
from yibao.payment.pricing import value_points


def fund_split(settled: Sequence, cases: Sequence[Case], priced: Sequence[Priced]) -> dict[tuple, list]:
    """Per (hospital, pool, method): the as-charged fund payments of its cases by fund_pay_type, sorted."""
    acc: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for sc, c, p in zip(settled, cases, priced, strict=True):
        split = acc[(c.fixmedins_code, c.pool, p.method)]
        for fpt, fen in sc.funds:
            split[fpt] += fen
    return {key: sorted((f, v) for f, v in split.items() if v) for key, split in acc.items()}


def line_detail(funds: Iterable[tuple[str, int]]) -> dict:
    """The JSON detail of a line: the as-charged fund split its ledger entry took back."""
    return {"funds": [[fpt, fen] for fpt, fen in funds]}


def case_rows(settled: Sequence, priced: Sequence[Priced], norms: Mapping, view) -> list[dict]:
    """The payment_case rows: one per case, with the amount its points are worth at the line's PV (for
    reading; the line rounds its own total once)."""
    rows = []
    for sc, p in zip(settled, priced, strict=True):
        pool = view.pool_of_insutype(sc.insutype)
        pv = view.case_pv(pool, p.method, sc.level, norms)
        amount = (value_points(p.points4, pv) if p.points4 and pv is not None else 0) + p.extra_fen
        rows.append(
            {
                "setl_id": sc.setl_id,
                "fixmedins_code": sc.fixmedins_code,
                "pool": pool,
                "method": p.method,
                "group_code": p.group_code or None,
                "dscg_date": sc.dscg_date,
                "los": sc.los,
                "cost_class": p.cost_class,
                "extreme": p.extreme,
                "r4": p.r4,
                "base_fen": p.base_fen,
                "weight4": p.weight4,
                "coef4": p.coef4,
                "points4": p.points4,
                "extra_fen": p.extra_fen,
                "amount_fen": amount,
                "cost_fen": sc.cost_fen,
                "personal_fen": sc.personal_fen,
                "fund_ffs_fen": sc.fund_fen,
            }
        )
    return rows


def digest(settled: Iterable) -> str:
    """SHA-256 over the cases' identity and money (the snapshot a run priced)."""
    h = hashlib.sha256()
    for sc in settled:
        h.update(f"{sc.setl_id}|{sc.cost_fen}|{sc.personal_fen}|{sc.fund_fen}|{sc.los}\n".encode())
    return h.hexdigest()
