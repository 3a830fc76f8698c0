"""Settlement results in national terms: setlinfo roll-ups, setldetail rows, the accumulator delta."""

from __future__ import annotations

from dataclasses import dataclass, field

from yibao.money import fmt_bp, fmt_fen
from yibao.policy.bundle import DEDC_ANNUAL, INF, PolicyBundle
from yibao.settlement.arrays import ChainOutputs
from yibao.settlement.tiers import ACCOUNT_FPT, FUNDS, INCREMENT, SETLINFO_FROM

# setlinfo money fields, in national order (fen); pool_prop_selfpay is a ratio (basis points).
SETLINFO_AMOUNTS = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "cvlserv_pay",
    "hifes_pay",
    "hifmi_pay",
    "hifob_pay",
    "hifdm_pay",
    "maf_pay",
    "oth_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "acct_mulaid_pay",
    "psn_cash_pay",
    "hosp_part_amt",
    "balc",
)
SETLINFO_ORDER = (*SETLINFO_AMOUNTS[:7], "pool_prop_selfpay", *SETLINFO_AMOUNTS[7:])


@dataclass
class DetailRow:
    """基金分项: one fund's payment, the base it computed on and its remaining limit (None = unlimited)."""

    fund_pay_type: str
    inscp_scp_amt: int
    crt_payb_lmt_amt: int | None
    fund_payamt: int

    def negated(self) -> DetailRow:
        return DetailRow(self.fund_pay_type, -self.inscp_scp_amt, self.crt_payb_lmt_amt, -self.fund_payamt)

    def as_json(self) -> dict:
        return {
            "fund_pay_type": self.fund_pay_type,
            "inscp_scp_amt": fmt_fen(self.inscp_scp_amt),
            "crt_payb_lmt_amt": None if self.crt_payb_lmt_amt is None else fmt_fen(self.crt_payb_lmt_amt),
            "fund_payamt": fmt_fen(self.fund_payamt),
        }


@dataclass
class Settled:
    """One settlement (or its reversal): amounts in fen, the ratio in basis points."""

    setlinfo: dict[str, int]
    setldetail: list[DetailRow]
    delta: dict[str, int]  # what it added to each named accumulator of its (year, insutype)
    year: int
    insutype: str
    policy_version: str
    policy_hash: str
    lines: list[dict[str, int]] = field(default_factory=list)  # per-line split (2204 result)
    trace: list[dict[str, str]] = field(default_factory=list)
    assistance_category: str | None = None
    reversal: bool = False
    account: bool = True  # an account took part (balc shows it); False: no account, balc is 0
    admission_deductible: int | None = None  # inpatient-type: the deductible its admission carries

    def setlinfo_json(self) -> dict[str, str]:
        out = {}
        for k in SETLINFO_ORDER:
            out[k] = fmt_bp(self.setlinfo[k]) if k == "pool_prop_selfpay" else fmt_fen(self.setlinfo[k])
        return out

    def setldetail_json(self) -> list[dict]:
        return [r.as_json() for r in self.setldetail]

    def check_identities(self) -> None:
        """I1, I2, I3, I5 of the contract; a violation is a bug, never a user error."""
        s = self.setlinfo
        assert (
            s["medfee_sumamt"]
            == s["fulamt_ownpay_amt"] + s["overlmt_selfpay"] + s["preselfpay_amt"] + s["inscp_scp_amt"]
        )
        assert s["fund_pay_sumamt"] == (
            s["hifp_pay"]
            + s["cvlserv_pay"]
            + s["hifes_pay"]
            + s["hifmi_pay"]
            + s["hifob_pay"]
            + s["hifdm_pay"]
            + s["maf_pay"]
            + s["oth_pay"]
        )
        assert s["medfee_sumamt"] == s["fund_pay_sumamt"] + s["psn_part_amt"] + s["hosp_part_amt"]
        assert s["psn_part_amt"] == s["acct_pay"] + s["psn_cash_pay"]


def _lim(value: int) -> int | None:
    return None if value >= INF // 2 else int(value)


def setlinfo_of(out: ChainOutputs, i: int, sums: dict[str, int]) -> dict[str, int]:
    """setlinfo of visit ``i`` in national order: the split ``sums`` of its lines, the fields the fund chain
    fills (``tiers.SETLINFO_FROM``), and 0 for the national funds no tier pays."""
    info = dict.fromkeys(SETLINFO_ORDER, 0)
    info.update(sums)
    records = out.by_name()
    for name, record, attr in SETLINFO_FROM:
        info[name] = getattr(records[record], attr).item(i)
    return info


def build_detail(bundle: PolicyBundle, out: ChainOutputs, i: int, ver: int, ins: int) -> list[DetailRow]:
    """setldetail for visit ``i``: the funds that paid, in chain order, then the personal account."""
    rows = []
    for f in FUNDS:
        rec = out.funds[f.tier]
        pay = int(rec.pay[i])
        if pay:
            code = bundle.fund_pay_type(f.fund_pay_type, ver, ins)
            rows.append(DetailRow(code, int(rec.base[i]), _lim(int(rec.rem[i])), pay))
    acct = out.account
    code = bundle.fund_pay_type(ACCOUNT_FPT, ver, ins)
    if acct.acct_pay[i] and code:
        rows.append(
            DetailRow(code, int(acct.psn_part_amt[i]), _lim(int(acct.bal_before[i])), int(acct.acct_pay[i]))
        )
    return rows


def build_delta(
    bundle: PolicyBundle, out: ChainOutputs, i: int, ver: int, ins: int, cls: int, dis: int
) -> dict[str, int]:
    """Named accumulator increments of visit ``i`` (a reversal subtracts exactly these)."""
    A = bundle.arrays
    dedc_name = bundle.classes[A["dedc_row"][ver, ins, cls]]  # a disease group sharing its class's: the class
    cname = bundle.classes[A["class_parent"][cls]]
    pool = out.funds["pool"]
    hifp = int(pool.pay[i])
    delta = {}
    if A["pool_on"][ver, ins, cls] and A["dedc_kind"][ver, ins, cls] == DEDC_ANNUAL:
        delta[f"dedc:{dedc_name}"] = int(pool.act_pay_dedc[i])
    if pool.counted_adm[i]:
        delta[f"admissions:{dedc_name}"] = 1
    g = int(A["cap_group"][ver, ins, cls])
    if A["pool_on"][ver, ins, cls] and g >= 0:
        delta[f"cap:{bundle.groups[g]}"] = hifp
    if dis >= 0:
        delta[f"disease:{bundle.diseases[dis]}"] = hifp
    for key, tier, attr in _TIER_INCREMENTS:
        delta[key] = getattr(out.funds[tier], attr).item(i)
    for tier in _BY_CLASS:
        delta[f"{tier}:{cname}"] = out.funds[tier].pay.item(i)
    return {k: v for k, v in delta.items() if v}


# the later tiers' accumulators: (name, tier, the record field it adds), then the tiers that also count per class
_TIER_INCREMENTS = [(f"{f.tier}:{what}", f.tier, INCREMENT[what]) for f in FUNDS for what in f.accumulates]
_BY_CLASS = [f.tier for f in FUNDS if f.by_class]


def claim_record(full: Settled) -> Settled:
    """A 先付费后报销 claim's record from the chain's settlement of the claimed lines: the funds' payments and the
    deductible, no fee; the person receives what the funds pay (``psn_cash_pay`` = −``fund_pay_sumamt``)."""
    info = dict.fromkeys(SETLINFO_ORDER, 0)
    for k in (*(f.setlinfo for f in FUNDS), "fund_pay_sumamt", "act_pay_dedc", "pool_prop_selfpay"):
        info[k] = full.setlinfo[k]
    info["psn_part_amt"] = info["psn_cash_pay"] = -info["fund_pay_sumamt"]
    claim = Settled(
        setlinfo=info,
        setldetail=list(full.setldetail),  # (the funds' rows: a claim uses no account)
        delta=dict(full.delta),
        year=full.year,
        insutype=full.insutype,
        policy_version=full.policy_version,
        policy_hash=full.policy_hash,
        trace=list(full.trace),
        assistance_category=full.assistance_category,
        account=False,
        admission_deductible=full.admission_deductible,
    )
    claim.check_identities()
    return claim


def negate(settled: Settled, balance_after: int) -> Settled:
    """The reversal record: every amount negated, the ratio kept, ``balc`` the restored balance."""
    info = {k: -v for k, v in settled.setlinfo.items()}
    info["pool_prop_selfpay"] = settled.setlinfo["pool_prop_selfpay"]
    info["balc"] = balance_after if settled.account else 0
    return Settled(
        setlinfo=info,
        setldetail=[r.negated() for r in settled.setldetail],
        delta={k: -v for k, v in settled.delta.items()},
        year=settled.year,
        insutype=settled.insutype,
        policy_version=settled.policy_version,
        policy_hash=settled.policy_hash,
        lines=[{k: -v for k, v in ln.items()} for ln in settled.lines],
        trace=settled.trace,
        assistance_category=settled.assistance_category,
        reversal=True,
        account=settled.account,
        admission_deductible=settled.admission_deductible,
    )
