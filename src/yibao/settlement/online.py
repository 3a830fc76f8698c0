"""Online settlement (2206/2207, 2303/2304, 2101/2102): a batch of one, from named accumulators.

``settle`` never mutates its inputs: it returns the result with the new named
accumulators and account balance, which the caller stores (settlement) or drops
(pre-settlement). ``reverse`` subtracts exactly what the settlement added.
"""

from __future__ import annotations

import numpy as np

from yibao.errors import SettlementError
from yibao.money import fmt_fen
from yibao.policy.bundle import DEDC_PER_ADMISSION, PolicyBundle
from yibao.settlement.arrays import ChainOutputs, VisitArrays
from yibao.settlement.inputs import Fee, PersonFacts, VisitIndex, VisitRequest, resolve
from yibao.settlement.kernel import settle_wave
from yibao.settlement.lines import AMOUNT_LIMIT, LineArrays, split_lines
from yibao.settlement.result import Settled, build_delta, build_detail, negate, setlinfo_of
from yibao.settlement.state import AccumState


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
    claim: bool = False,
) -> tuple[Settled, dict[str, int], int]:
    """Settle one visit against the person's accumulators for the visit's year and insutype.

    Returns the settlement, the new accumulators and the new account balance.
    """
    ix = resolve(bundle, person, visit)
    if visit.split is not None:  # (split at upload by split_lines, from the same line attributes)
        per_line = visit.split
        sums = split_sums(per_line)
    else:
        _, per_line, sums = split_fees(visit.fees)
    st = AccumState.zeros(bundle, 1, 1)
    if accum:
        st.load_slot(bundle, accum)
    st.bal[0] = balance
    out = settle_wave(bundle, st, _wave_of_one(person, visit, ix, sums), claim=claim)
    pool, assistance = out.funds["pool"], out.funds["assistance"]
    acat = int(assistance.category[0])
    settled = Settled(
        setlinfo=setlinfo_of(out, 0, dict(zip(_SUMS, sums, strict=True))),
        setldetail=build_detail(bundle, out, 0, ix.ver, ix.ins),
        delta=build_delta(bundle, out, 0, ix.ver, ix.ins, ix.cls, ix.dis),
        year=ix.year,
        insutype=person.insutype,
        policy_version=bundle.versions[ix.ver],
        policy_hash=bundle.hash,
        lines=per_line,
        assistance_category=bundle.assistance_codes[acat] if acat >= 0 else None,
        account=bool(out.account.acct_on[0]),
        admission_deductible=int(pool.adm_dedc[0]) if _per_admission(bundle, ix) else None,
    )
    if trace:
        settled.trace = _trace(bundle, ix, out)
        if bundle.arrays["pay_first"][ix.ver, ix.ins, ix.cat]:
            when = "报销时结算 (settled at the claim)" if claim else "先付费后报销 (claimed later)"
            settled.trace.append({"param": f"insutype {person.insutype} › pay_first", "value": when})
    settled.check_identities()
    return settled, st.slot_values(bundle), int(st.bal[0])


def _wave_of_one(person: PersonFacts, visit: VisitRequest, ix: VisitIndex, sums: tuple) -> VisitArrays:
    medfee, _, _, _, inscp = sums
    return VisitArrays.one(
        slot=0,
        acct=0 if person.has_account else -1,
        ver=ix.ver,
        ins=ix.ins,
        cls=ix.cls,
        cat=ix.cat,
        lvl=ix.lvl,
        dis=ix.dis,
        idmask=ix.idmask,
        sp_enrolled=ix.sp_enrolled,
        acct_flag=visit.acct_used_flag,
        new_adm=visit.new_admission,
        adm_dedc_used=visit.adm_dedc_used,
        medfee=medfee,
        inscp=inscp,
        adm_dedc=-1 if visit.adm_dedc is None else visit.adm_dedc,
    )


def _trace(bundle: PolicyBundle, ix: VisitIndex, out: ChainOutputs) -> list[dict[str, str]]:
    """The policy version, then every parameter the settlement read (the tiers say which terms applied)."""
    critical, supplementary = out.funds["critical"], out.funds["supplementary"]
    return [
        {"param": "policy", "value": f"{bundle.region} {bundle.versions[ix.ver]} {bundle.hash[:12]}"},
        *bundle.explain(
            ix.ver,
            ix.ins,
            ix.cls,
            ix.cat,
            ix.lvl,
            ix.dis,
            ci_tilt=int(critical.tilt[0]),
            sp_on=bool(supplementary.on[0]),
            sp_tilt=bool(supplementary.tilt[0]),
            acat=int(out.funds["assistance"].category[0]),
        ),
    ]


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
