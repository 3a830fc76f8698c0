"""Step 1 — split each fee line (费用明细分割), vectorized over any number of lines.

Scales: ``pric`` and ``pric_uplmt_amt`` in micro-yuan (1e-6 yuan), ``cnt`` in 1e-4
units, amounts in fen, ``selfpay_prop`` in basis points. ``pric × cnt`` is then in
1e-10 yuan = 1e-8 fen, rounded half up to the fen. Products that could overflow
int64 are recomputed exactly with Python integers (rare: huge prices × counts).
Negative lines (returns: positive price, negative count) split symmetrically.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from yibao.errors import SettlementError, quote
from yibao.money import (
    BP,
    CNT,
    FEN,
    MICRO,
    CountE4,
    Fen,
    div_round_half_up,
    fmt_bp,
    fmt_count,
    fmt_fen,
    fmt_price,
    rhu_div,
)

PRODUCT_SCALE = MICRO * CNT // FEN  # micro-yuan × 1e-4 units → fen: 10^8
NO_CAP = -1
_SAFE = 1 << 62
# The most a fee line, and a settlement's lines together, may amount to: 9,999,999,999.99 yuan. The national
# 16,2 field allows 14 integer digits, but an amount × a ratio in basis points must stay exact in int64
# (10^12 × 10^4 ≪ 2^63), and no real bill comes near 100 亿 yuan.
AMOUNT_LIMIT = Fen(10**12 - 1)


def product_fen(price: np.ndarray, count: np.ndarray) -> np.ndarray:
    """round(price × count) in fen, exact even when the raw product exceeds int64."""
    price = np.asarray(price, dtype=np.int64)
    count = np.asarray(count, dtype=np.int64)
    if price.size == 0:
        return np.zeros(0, dtype=np.int64)
    if int(np.abs(price).max()) * int(np.abs(count).max()) < _SAFE:  # Python ints: exact bound
        return rhu_div(price * count, PRODUCT_SCALE)
    risky = np.array(
        [abs(int(x)) * abs(int(y)) >= _SAFE for x, y in zip(price, count, strict=True)], dtype=bool
    )
    out = np.zeros(price.shape, dtype=np.int64)
    safe = ~risky
    out[safe] = rhu_div(price[safe] * count[safe], PRODUCT_SCALE)
    for i in np.flatnonzero(risky):  # clipped beyond int64: no line within AMOUNT_LIMIT equals such a product
        exact = div_round_half_up(int(price[i]) * int(count[i]), PRODUCT_SCALE)
        out[i] = max(-_SAFE, min(_SAFE, exact))
    return out


@dataclass
class LineArrays:
    """Fee lines as parallel arrays; ``visit`` maps each line to its visit (sorted, non-decreasing)."""

    visit: np.ndarray  # int64
    pric: np.ndarray  # micro-yuan
    cnt: np.ndarray  # 1e-4 units
    amt: np.ndarray  # det_item_fee_sumamt, fen
    lv: np.ndarray  # chrgitm_lv 1/2/3 (int8)
    selfpay: np.ndarray  # basis points
    cap: np.ndarray  # pric_uplmt_amt micro-yuan, NO_CAP = none
    lmt: np.ndarray  # lmt_used_flag 0/1
    appr: np.ndarray  # hosp_appr_flag 0/1/2

    def __len__(self) -> int:
        return int(self.visit.size)


@dataclass
class LineSplit:
    ful: np.ndarray  # fulamt_ownpay_amt
    over: np.ndarray  # overlmt_amt
    pre: np.ndarray  # preselfpay_amt
    inscp: np.ndarray  # inscp_scp_amt


class LineError(SettlementError):
    def __init__(self, index: int, field: str, message: str):
        super().__init__(f"fees[{index + 1}].{field}: {message}")
        self.index, self.field, self.reason = index, field, message


def check_lines(lines: LineArrays) -> None:
    """Refuse lines the split cannot honour, naming the first bad line (1-based) and field."""
    lv, sp = lines.lv, lines.selfpay
    expected = product_fen(lines.pric, lines.cnt)
    amount_off = np.abs(lines.amt - expected) > 1
    too_big = (np.abs(lines.amt) > AMOUNT_LIMIT) | (np.abs(expected) > AMOUNT_LIMIT)
    bad = (
        (lv < 1)
        | (lv > 3)
        | ((lv == 1) & (sp != 0))
        | (sp < 0)
        | (sp > BP)
        | (lines.pric < 0)
        | (lines.lmt < 0)
        | (lines.lmt > 1)
        | (lines.appr < 0)
        | (lines.appr > 2)
        | (lines.cnt == 0)
        | too_big
        | amount_off
    )
    if not bad.any():  # the common case costs one pass; the messages below only when something is wrong
        return
    i = int(np.flatnonzero(bad)[0])
    if not 1 <= lv[i] <= 3:
        raise LineError(i, "chrgitm_lv", f'"{int(lv[i]):02d}" 不是有效的收费项目等级 (01 甲 / 02 乙 / 03 丙)')
    if lv[i] == 1 and sp[i] != 0:
        raise LineError(i, "selfpay_prop", f"甲类项目的先行自付比例必须为 0 (got {fmt_bp(int(sp[i]))})")
    if not 0 <= sp[i] <= BP:
        raise LineError(i, "selfpay_prop", f"{fmt_bp(int(sp[i]))} 不在 [0, 1] 内 (not a ratio in [0, 1])")
    if lines.pric[i] < 0:
        raise LineError(i, "pric", "单价不能为负 (returns keep pric positive with a negative cnt)")
    if not 0 <= lines.lmt[i] <= 1:
        raise LineError(i, "lmt_used_flag", "须为 0 或 1 (must be 0 or 1)")
    if not 0 <= lines.appr[i] <= 2:
        raise LineError(i, "hosp_appr_flag", "须为 0、1 或 2 (must be 0, 1 or 2)")
    if lines.cnt[i] == 0:
        raise LineError(
            i, "cnt", "数量不能为 0 (退费用负数量) (a count of 0 charges nothing; a refund is negative)"
        )
    if too_big[i]:
        field = "det_item_fee_sumamt" if abs(int(lines.amt[i])) > AMOUNT_LIMIT else "cnt"
        raise LineError(
            i, field, f"金额超过单行上限 {fmt_fen(AMOUNT_LIMIT)} (pric × cnt above the limit of a fee line)"
        )
    raise LineError(
        i,
        "det_item_fee_sumamt",
        f"{fmt_fen(int(lines.amt[i]))} ≠ pric × cnt = {fmt_price(int(lines.pric[i])).rstrip('0').rstrip('.')}"
        f" × {fmt_count(int(lines.cnt[i])).rstrip('0').rstrip('.')} = {fmt_fen(int(expected[i]))}"
        " (相差超过 0.01)",
    )


@dataclass(frozen=True)
class Charged:
    """An unsettled fee line as a refund (退费) sees it: which item, how many, how much."""

    feedetl_sn: str
    med_list_codg: str
    cnt: CountE4  # negative for a refund
    amount: Fen
    init_feedetl_sn: str | None = None  # the line a refund takes back (national 2301 退单)


def overdrawn_items(lines: Sequence[Charged]) -> list[str]:
    """The items whose lines net to a negative count or amount: refunded beyond what was charged."""
    cnt: dict[str, int] = defaultdict(int)
    amt: dict[str, int] = defaultdict(int)
    for line in lines:
        cnt[line.med_list_codg] += line.cnt
        amt[line.med_list_codg] += line.amount
    return [code for code in cnt if cnt[code] < 0 or amt[code] < 0]


def check_refunds(unsettled: Sequence[Charged], new: Sequence[Charged]) -> None:
    """退费: a line with a negative count takes back part of what the visit's unsettled lines charged for the same
    item, and never more: not more of the line it names (``init_feedetl_sn``, optional), and not more of the
    item over all its lines. Only a refund names a line. Raises :class:`LineError` on the first bad new line."""
    every = [*unsettled, *new]
    by_sn = {line.feedetl_sn: line for line in every}
    taken: dict[str, int] = defaultdict(int)  # count refunded of each named line
    for line in every:
        if line.init_feedetl_sn is not None and line.cnt < 0:
            taken[line.init_feedetl_sn] -= line.cnt
    overdrawn = set(overdrawn_items(every))
    for i, line in enumerate(new):
        named = line.init_feedetl_sn
        if named is not None:
            if line.cnt > 0:
                raise LineError(
                    i, "init_feedetl_sn", "只有退费行 (负数量) 指向原费用明细 (only a refund names a line)"
                )
            original = by_sn.get(named)
            if original is None or original.cnt < 0 or original.med_list_codg != line.med_list_codg:
                raise LineError(
                    i,
                    "init_feedetl_sn",
                    f"原费用明细 {quote(named)} 不是本次就诊未结算的同一项目收费 (no such unsettled charge of this item)",
                )
            if taken[named] > original.cnt:
                raise LineError(
                    i,
                    "cnt",
                    f"退费数量超过原费用明细 {quote(named)} 的数量 (refunds more than that line charged)",
                )
        if line.cnt < 0 and line.med_list_codg in overdrawn:
            raise LineError(
                i,
                "cnt",
                f"退费超过本次就诊未结算的 {quote(line.med_list_codg)} 收费 (refunds more than was charged for it)",
            )


def split_lines(lines: LineArrays, *, check: bool = True) -> LineSplit:
    """settlement.md §2: full self-pay, over price cap, pre-self-pay, in-scope; I6 holds per line."""
    if check:
        check_lines(lines)
    amt = lines.amt
    sign = np.where(amt < 0, -1, 1).astype(np.int64)
    mag = np.abs(amt)
    full = (lines.lv == 3) | ((lines.lmt == 1) & (lines.appr != 1)) | (lines.appr == 2)
    # 超限价: the part of the unit price above the cap, times the count, at most the line.
    has_cap = (lines.cap >= 0) & ~full
    if has_cap.any():
        excess = np.where(has_cap, np.maximum(lines.pric - np.maximum(lines.cap, 0), 0), 0)
        over_mag = np.where(has_cap, np.minimum(mag, np.abs(product_fen(excess, lines.cnt))), 0)
    else:
        over_mag = np.zeros_like(mag)
    # 先行自付 on what remains of a 乙类 line.
    rest = mag - over_mag
    pre_mag = np.where((lines.lv == 2) & ~full, rhu_div(rest * lines.selfpay, BP), 0)
    ful = np.where(full, amt, 0)
    over = np.where(full, 0, sign * over_mag)
    pre = np.where(full, 0, sign * pre_mag)
    inscp = amt - ful - over - pre
    return LineSplit(ful=ful, over=over, pre=pre, inscp=inscp)


def visit_sums(visit: np.ndarray, n_visits: int, *columns: np.ndarray) -> list[np.ndarray]:
    """Exact per-visit sums (int64 cumulative sums; lines sorted by visit)."""
    starts = np.searchsorted(visit, np.arange(n_visits), side="left")
    ends = np.searchsorted(visit, np.arange(n_visits), side="right")
    out = []
    for col in columns:
        cs = np.concatenate(([0], np.cumsum(col, dtype=np.int64)))
        out.append(cs[ends] - cs[starts])
    return out
