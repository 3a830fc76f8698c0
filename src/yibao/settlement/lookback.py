"""Look-back assistance (补充救助): a person newly recognised as an assistance target whose category says
``look_back_months`` gets that category's assistance on the settlements of the months before recognition.

Each such settlement gets one supplementary settlement: the kernel's assistance step (settlement.md §3.3) on
what every fund, assistance included, left of its in-scope amount, against the accumulators of its year, with
the recognised identity as the only one held. The supplement carries no fee: ``medfee_sumamt`` 0, the fund pays
``maf_pay`` to the person (``psn_part_amt`` = ``psn_cash_pay`` = −``maf_pay``, so I1 and I2 hold), and its
accumulator delta is the assistance's own, so that a reversal restores them exactly. Pure: the store reads the
settlements and writes the supplements (:mod:`yibao.settlement.supplements`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from yibao.enrollment.rules import add_months
from yibao.policy.bundle import INF, PolicyBundle
from yibao.policy.explain import assistance_terms
from yibao.policy.loader import format_path
from yibao.settlement.arrays import VisitArrays
from yibao.settlement.kernel import medical_assistance
from yibao.settlement.result import SETLINFO_ORDER, DetailRow, Settled
from yibao.settlement.state import AccumState

# what the funds before assistance, and assistance itself, paid of the in-scope amount
_PAID = ("hifp_pay", "hifob_pay", "hifmi_pay", "oth_pay", "cvlserv_pay", "hifes_pay", "hifdm_pay", "maf_pay")


@dataclass(frozen=True)
class Original:
    """A settlement the look-back may supplement, as stored."""

    setl_id: str
    begndate: date
    insutype: str
    med_type: str
    setlinfo: dict[str, int]
    diagnoses: tuple[str, ...] = ()  # the visit's dise_codg and opsp_dise_code


def months_of(bundle: PolicyBundle, code: str, recognised: date) -> int | None:
    """The look-back of category ``code`` in the version in force on the recognition day (None: none)."""
    ver = bundle.version_index(recognised)
    ap = bundle.policies[ver].assistance if ver is not None else None
    cat = ap.categories.get(code) if ap is not None else None
    return cat.look_back_months if cat is not None else None


def window(recognised: date, months: int) -> tuple[date, date]:
    """The visit days a look-back covers: from ``months`` before the recognition day up to the day before it."""
    return add_months(recognised, -months), recognised


def supplement(
    bundle: PolicyBundle,
    original: Original,
    code: str,
    grade: str | None,
    accum: dict[str, int],
    recognised: date,
) -> tuple[Settled, dict[str, int]] | None:
    """The supplementary settlement of ``original`` for category ``code`` and the year's accumulators after
    it, or None when the category pays nothing on it (nothing left, a class it does not cover, its limits
    reached, a diagnosis or grade it does not take)."""
    ver = bundle.version_index(original.begndate)
    ins = bundle.insutype_index(original.insutype)
    cls = bundle.class_index(ver, original.med_type) if ver is not None else None
    if ver is None or ins is None or cls is None or code not in bundle.assistance_codes:
        return None
    info = original.setlinfo
    left = info["inscp_scp_amt"] - sum(info[k] for k in _PAID)
    if left <= 0:
        return None
    st = AccumState.zeros(bundle, 1, 1)
    st.load_slot(bundle, accum)
    w = VisitArrays.one(
        slot=0,
        acct=-1,
        ver=ver,
        ins=ins,
        cls=cls,
        cat=0,
        lvl=0,
        dis=-1,
        idmask=bundle.condition_mask(ver, [(code, grade)], list(original.diagnoses)),
        sp_enrolled=0,
        acct_flag=0,
        new_adm=0,
        adm_dedc_used=0,
        medfee=0,
        inscp=left,
        adm_dedc=-1,
    )
    zero = np.zeros(1, dtype=np.int64)
    out = medical_assistance(bundle, st, w, np.array([left], dtype=np.int64), zero)
    pay, rem = int(out.pay[0]), int(out.rem[0])
    if pay <= 0:
        return None
    setlinfo = dict.fromkeys(SETLINFO_ORDER, 0)
    setlinfo.update(maf_pay=pay, fund_pay_sumamt=pay, psn_part_amt=-pay, psn_cash_pay=-pay)
    cname = bundle.classes[int(bundle.arrays["class_parent"][cls])]
    delta = {"assistance:paid": pay, f"assistance:{cname}": pay, "assistance:burden": int(out.burden[0])}
    pol = bundle.policies[ver]
    trace = [
        {"param": "policy", "value": f"{bundle.region} {bundle.versions[ver]} {bundle.hash[:12]}"},
        {"param": "look_back", "value": f"{code} 认定于 {recognised}, 补充 {original.setl_id}"},
        *({"param": format_path(loc), "value": v} for loc, v in assistance_terms(pol, code, cname)),
        {
            "param": f"assistance › categories › {code} › look_back_months",
            "value": str(months_of(bundle, code, recognised)),
        },
    ]
    settled = Settled(
        setlinfo=setlinfo,
        setldetail=[
            DetailRow(bundle.fund_pay_type("as_fpt", ver, ins), left, None if rem >= INF // 2 else rem, pay)
        ],
        delta={k: v for k, v in delta.items() if v},
        year=original.begndate.year,
        insutype=original.insutype,
        policy_version=bundle.versions[ver],
        policy_hash=bundle.hash,
        trace=trace,
        assistance_category=code,
        account=False,
    )
    settled.check_identities()
    return settled, st.slot_values(bundle)
