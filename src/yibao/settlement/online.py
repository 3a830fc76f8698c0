"""Online settlement (2206/2207, 2303/2304, 2101/2102): a batch of one, from named accumulators.

``settle`` never mutates its inputs: it returns the result with the new named
accumulators and account balance, which the caller stores (settlement) or drops
(pre-settlement). ``reverse`` subtracts exactly what the settlement added.
"""

from __future__ import annotations

import numpy as np

from yibao.errors import SettlementError
from yibao.money import fmt_fen
from yibao.policy.compiler import DEDC_PER_ADMISSION, PolicyBundle
from yibao.settlement.inputs import Fee, PersonFacts, VisitRequest, resolve
from yibao.settlement.kernel import SETLINFO_OUTPUTS, VisitArrays, empty_outputs, settle_wave
from yibao.settlement.lines import AMOUNT_LIMIT, LineArrays, split_lines
from yibao.settlement.result import Settled, build_delta, build_detail, negate
from yibao.settlement.state import AccumState

_IDX0 = np.zeros(1, dtype=np.int64)


def line_arrays(fees: list[Fee]) -> LineArrays:
    n = len(fees)
    cols = (
        list(
            zip(
                *[
                    (
                        f.pric,
                        f.cnt,
                        f.det_item_fee_sumamt,
                        f.chrgitm_lv,
                        f.selfpay_prop,
                        f.pric_uplmt_amt,
                        f.lmt_used_flag,
                        f.hosp_appr_flag,
                    )
                    for f in fees
                ],
                strict=True,
            )
        )
        if n
        else [()] * 8
    )
    arr = [np.array(c, dtype=np.int64) for c in cols]
    return LineArrays(np.zeros(n, dtype=np.int64), *arr)


def split_fees(fees: list[Fee]) -> tuple[LineArrays, list[dict[str, int]], tuple[int, int, int, int, int]]:
    """Split the lines; return them, the per-line split, and the settlement sums (medfee, ful, over, pre, inscp)."""
    lines = line_arrays(fees)
    sp = split_lines(lines)
    per_line = [
        dict(zip(LINE_SPLIT, values, strict=True))
        for values in zip(*(a.tolist() for a in (lines.amt, sp.ful, sp.over, sp.pre, sp.inscp)), strict=True)
    ]
    return lines, per_line, split_sums(per_line)


LINE_SPLIT = ("det_item_fee_sumamt", "fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt")
_SUMS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")


def split_sums(per_line: list[dict[str, int]]) -> tuple[int, int, int, int, int]:
    """The settlement's sums of its lines' split (medfee, ful, over, pre, inscp); a negative one is refused."""
    sums = tuple(sum(line[k] for line in per_line) for k in LINE_SPLIT)
    for name, value in zip(_SUMS, sums, strict=True):
        if value < 0:
            raise SettlementError(f"{name}: 费用明细合计为负 ({fmt_fen(value)})，退费须冲抵同一结算内的收费")
    if sums[0] > AMOUNT_LIMIT:  # (each part is at most the whole: the kernel's int64 arithmetic stays exact)
        raise SettlementError(
            f"medfee_sumamt: 费用合计 {fmt_fen(sums[0])} 超过单笔结算上限 {fmt_fen(AMOUNT_LIMIT)} (above the limit)"
        )
    return sums  # type: ignore[return-value]


def settle(
    bundle: PolicyBundle,
    person: PersonFacts,
    visit: VisitRequest,
    accum: dict[str, int],
    balance: int = 0,
    *,
    trace: bool = True,
) -> tuple[Settled, dict[str, int], int]:
    """Settle one visit against the person's accumulators for the visit's year and insutype.

    Returns the settlement, the new accumulators and the new account balance.
    """
    ix = resolve(bundle, person, visit)
    if visit.split is not None:  # (split at upload by split_lines, from the same line attributes)
        per_line = visit.split
        medfee, ful, over, pre, inscp = split_sums(per_line)
    else:
        _, per_line, (medfee, ful, over, pre, inscp) = split_fees(visit.fees)
    st = AccumState.zeros(bundle, 1, 1)
    if accum:
        st.load_slot(bundle, accum)
    st.bal[0] = balance

    cols = np.array(
        [
            0,
            0 if person.has_account else -1,
            ix.ver,
            ix.ins,
            ix.cls,
            ix.cat,
            ix.lvl,
            ix.dis,
            ix.idmask,
            ix.sp_enrolled,
            visit.acct_used_flag,
            visit.new_admission,
            visit.adm_dedc_used,
            medfee,
            ful,
            over,
            pre,
            inscp,
        ],
        dtype=np.int64,
    )[:, None]
    v = VisitArrays(
        slot=cols[0],
        acct=cols[1],
        ver=cols[2],
        ins=cols[3],
        cls=cols[4],
        cat=cols[5],
        lvl=cols[6],
        dis=cols[7],
        idmask=cols[8],
        sp_enrolled=cols[9].astype(bool),
        acct_flag=cols[10],
        new_adm=cols[11].astype(bool),
        adm_dedc_used=cols[12],
        medfee=cols[13],
        ful=cols[14],
        over=cols[15],
        pre=cols[16],
        inscp=cols[17],
        adm_dedc=np.array([-1 if visit.adm_dedc is None else visit.adm_dedc], dtype=np.int64),
    )
    o = empty_outputs(1)
    settle_wave(bundle, st, v, _IDX0, o)
    info = {k: int(o[k][0]) for k in SETLINFO_OUTPUTS}
    info.update(
        medfee_sumamt=medfee,
        fulamt_ownpay_amt=ful,
        overlmt_selfpay=over,
        preselfpay_amt=pre,
        inscp_scp_amt=inscp,
        pool_prop_selfpay=int(o["ratio"][0]),
        cvlserv_pay=0,
        hifes_pay=0,
        hifdm_pay=0,
        hosp_part_amt=0,
    )
    acat = int(o["acat"][0])
    settled = Settled(
        setlinfo=info,
        setldetail=build_detail(bundle, o, 0, ix.ver, ix.ins),
        delta=build_delta(bundle, o, 0, ix.ver, ix.ins, ix.cls, ix.dis),
        year=ix.year,
        insutype=person.insutype,
        policy_version=bundle.versions[ix.ver],
        policy_hash=bundle.hash,
        lines=per_line,
        assistance_category=bundle.assistance_codes[acat] if acat >= 0 else None,
        account=bool(o["acct_on"][0]),
        admission_deductible=int(o["adm_dedc"][0]) if _per_admission(bundle, ix) else None,
    )
    if trace:
        settled.trace = [
            {"param": "policy", "value": f"{bundle.region} {bundle.versions[ix.ver]} {bundle.hash[:12]}"},
            *bundle.explain(
                ix.ver,
                ix.ins,
                ix.cls,
                ix.cat,
                ix.lvl,
                ix.dis,
                ci_tilt=bool(o["ci_tilt"][0]),
                sp_on=bool(o["sp_on"][0]),
                sp_tilt=bool(o["sp_tilt"][0]),
                acat=acat,
            ),
        ]
    settled.check_identities()
    return settled, st.slot_values(bundle), int(st.bal[0])


def _per_admission(bundle: PolicyBundle, ix) -> bool:
    vi = (ix.ver, ix.ins, ix.cls)
    return bool(bundle.arrays["pool_on"][vi]) and int(bundle.arrays["dedc_kind"][vi]) == DEDC_PER_ADMISSION


def reverse(settled: Settled, accum: dict[str, int], balance: int) -> tuple[Settled, dict[str, int], int]:
    """Cancel a settlement: subtract its accumulator delta and return its account payment.

    Settlements made after it are not recomputed (settlement.md §3.5).
    """
    if settled.reversal:
        raise SettlementError("不能撤销一笔撤销记录 (a reversal cannot be reversed)")
    new = dict(accum)
    for key, value in settled.delta.items():
        left = new.get(key, 0) - value
        if left < 0:
            raise SettlementError(f"累计值 {key} 将为负 ({left})：累计与结算记录不一致")
        new[key] = left
    new = {k: v for k, v in new.items() if v}
    new_balance = balance + settled.setlinfo["acct_pay"]
    return negate(settled, new_balance), new, new_balance
