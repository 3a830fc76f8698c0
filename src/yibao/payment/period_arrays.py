"""A payment period's cases as parallel arrays (a million cases a year), as
:func:`yibao.payment.period_pricing.price_arrays` prices them: the cases (:class:`CaseArrays`), their
groupings (:class:`GroupArrays`), the priced cases (:class:`PricedArrays`, methods numbered by
:data:`METHODS`), and :func:`lines_of`, :func:`yibao.payment.period.hospital_lines` over arrays. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from yibao.payment import pricing
from yibao.payment.period import DIP, DRG, FFS, PERDIEM, Case, Grouping, Line, Priced

METHODS = (DIP, DRG, PERDIEM, FFS)
M_DIP, M_DRG, M_PERDIEM, M_FFS = range(len(METHODS))


def _vocabulary(values) -> tuple[np.ndarray, list]:
    """``values`` as indices into the list of their distinct values (in first-seen order)."""
    index: dict = {}
    return np.fromiter((index.setdefault(v, len(index)) for v in values), np.int64), list(index)


class CaseArrays(NamedTuple):
    """A period's cases as parallel arrays, one row per case, as
    :func:`~yibao.payment.period_pricing.price_arrays` and :func:`lines_of` read them: ``hospital``, ``pool``
    and ``principal`` index the vocabularies ``hospitals``, ``pools`` and ``principals``; money in fen."""

    hospital: np.ndarray
    level: np.ndarray
    pool: np.ndarray
    los: np.ndarray
    cost_fen: np.ndarray
    personal_fen: np.ndarray
    fund_fen: np.ndarray
    principal: np.ndarray
    hospitals: Sequence[str]
    pools: Sequence[str]
    principals: Sequence[str]

    @classmethod
    def of(cls, cases: Sequence[Case]) -> CaseArrays:
        hospital, hospitals = _vocabulary(c.fixmedins_code for c in cases)
        pool, pools = _vocabulary(c.pool for c in cases)
        principal, principals = _vocabulary(c.principal for c in cases)

        def ints(name: str) -> np.ndarray:
            return np.fromiter((getattr(c, name) for c in cases), np.int64, len(cases))

        return cls(
            hospital,
            ints("level"),
            pool,
            ints("los"),
            ints("cost_fen"),
            ints("personal_fen"),
            ints("fund_fen"),
            principal,
            hospitals,
            pools,
            principals,
        )

    @property
    def size(self) -> int:
        """The number of cases (``len`` is the tuple's)."""
        return len(self.cost_fen)


class GroupArrays(NamedTuple):
    """Each case's hospital scheme (``scheme``: index into ``schemes``) and grouping: ``status`` (index into
    ``statuses``; −1: no grouping), ``group`` (index into ``codes``), ``weight4``, ``aux4``, ``basic`` and
    ``reason`` (index into ``reasons``), as :class:`Grouping` has them."""

    scheme: np.ndarray
    status: np.ndarray
    group: np.ndarray
    weight4: np.ndarray
    aux4: np.ndarray
    basic: np.ndarray
    reason: np.ndarray
    schemes: Sequence[str]
    statuses: Sequence[str]
    codes: Sequence[str]
    reasons: Sequence[str]

    @classmethod
    def of(cls, groupings: Sequence[Grouping | None], schemes: Sequence[str]) -> GroupArrays:
        if len(groupings) != len(schemes):
            raise ValueError("one scheme per grouping")
        scheme, scheme_names = _vocabulary(schemes)
        blank = Grouping("", "", "")
        gs = [blank if g is None else g for g in groupings]
        status, statuses = _vocabulary(g.status for g in gs)
        status[[i for i, g in enumerate(groupings) if g is None]] = -1
        group, codes = _vocabulary(g.group_code for g in gs)
        reason, reasons = _vocabulary(g.reason for g in gs)
        n = len(gs)
        return cls(
            scheme,
            status,
            group,
            np.fromiter((g.weight4 for g in gs), np.int64, n),
            np.fromiter((g.aux4 for g in gs), np.int64, n),
            np.fromiter((g.basic for g in gs), bool, n),
            reason,
            scheme_names,
            statuses,
            codes,
            reasons,
        )


class PricedArrays(NamedTuple):
    """Every case priced, as arrays: ``method`` (index into :data:`METHODS`), ``group`` (index into
    ``codes``: the group, per-diem category or ``""`` its statement row shows), the figures of
    :class:`Priced` (``cost_class`` as :mod:`yibao.payment.pricing` numbers it) and ``note`` (object)."""

    method: np.ndarray
    group: np.ndarray
    cost_class: np.ndarray
    extreme: np.ndarray
    r4: np.ndarray
    base_fen: np.ndarray
    weight4: np.ndarray
    coef4: np.ndarray
    points4: np.ndarray
    extra_fen: np.ndarray
    note: np.ndarray
    codes: Sequence[str]

    def priced(self) -> list[Priced]:
        """The cases as :class:`Priced` rows, in order."""
        classes = [pricing.CLASS_NAMES[k] for k in range(len(pricing.CLASS_NAMES))]
        return [
            Priced(METHODS[m], self.codes[g], classes[k], x, r, b, w, c, p, e, t)
            for m, g, k, x, r, b, w, c, p, e, t in zip(
                self.method.tolist(),
                self.group.tolist(),
                self.cost_class.tolist(),
                self.extreme.tolist(),
                self.r4.tolist(),
                self.base_fen.tolist(),
                self.weight4.tolist(),
                self.coef4.tolist(),
                self.points4.tolist(),
                self.extra_fen.tolist(),
                self.note.tolist(),
                strict=True,
            )
        ]


def lines_of(cases: CaseArrays, priced: PricedArrays) -> list[Line]:
    """:func:`~yibao.payment.period.hospital_lines` over arrays: Σ per hospital, pool and method, in code
    order (exact int64 sums; a line's level is its first case's)."""
    n = cases.size
    if not n:
        return []
    n_pools, n_methods = len(cases.pools), len(METHODS)
    key = (
        cases.hospital.astype(np.int64) * n_pools + cases.pool.astype(np.int64)
    ) * n_methods + priced.method
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])

    def total(values: np.ndarray) -> list[int]:
        return np.add.reduceat(values[order].astype(np.int64), starts).tolist()

    counts = np.diff(np.r_[starts, n]).tolist()
    sums = [
        total(v)
        for v in (priced.points4, priced.extra_fen, cases.cost_fen, cases.personal_fen, cases.fund_fen)
    ]
    levels = cases.level[order][starts].tolist()
    lines = []
    for j, k in enumerate(sorted_key[starts].tolist()):
        rest, m = divmod(k, n_methods)
        h, p = divmod(rest, n_pools)
        lines.append(
            Line(cases.hospitals[h], cases.pools[p], METHODS[m], counts[j], *(s[j] for s in sums), levels[j])
        )
    return sorted(lines, key=lambda ln: (ln.fixmedins_code, ln.pool, ln.method))
