"""An independent reference implementation of the settlement contract for the demo region 990100.

Written straight from /work/shared/domain/settlement.md (§1–§5) without reading the kernel: plain
Python, integer fen, exact fractions, round half up exactly where the contract says, and the demo
policy numbers of §4 hard-coded (this is an oracle, not product code; it must not share the policy
files with the kernel either). Where the contract is silent, the interpretation stated in
docs/scenarios.md is followed, and every such point is listed in ``INTERPRETATIONS`` (plus the
points where the contract itself had to be read one way, in ``READINGS``).

Input is a scenario case as in docs/scenarios.md (a dict as loaded from YAML); output is, per step,
the JSON the scenario runner prints: ``{"step", "kind", "setlinfo", "setldetail"}`` with two-decimal
strings (ratio with four), or ``{"step", "kind": "error", "error"}``. A failing step ends the case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from math import floor
from typing import Any

# --- points where the contract is silent and docs/scenarios.md decides ------------------------------

INTERPRETATIONS = [
    "I1 大病 segments lie on the cumulative-base axis: (D, 50000] at .60, (50000, 150000] at .70, "
    "above at .80; each segment's product is rounded separately (docs interpretation 1).",
    "I2 a reversal is the original negated; pool_prop_selfpay keeps the original ratio; balc is the "
    "restored balance after the reversal; setldetail crt_payb_lmt_amt is copied (docs 2).",
    "I3 2304/2301 skip both the annual and the outpatient assistance limits; the outpatient sub-limit "
    "applies to the outpatient class (11, 13) only (docs 3).",
    "I4 every inpatient settlement is a new admission unless admission_of is given (docs 4); a "
    "continuation does not count an admission; its deductible is the one the opening settlement "
    "fixed (full or half, at the opening level) minus what that admission already consumed; "
    "admission_of must name a live inpatient settlement.",
    "I5 pharmacy (41) has neither pool nor assistance benefit; 职工 may use the account (docs 5).",
    "I6 a person without a 职工 account (居民) has acct_pay 0 and balc 0 (docs 6).",
    "I7 with several assistance identities, the one paying most this settlement; ties: the one the "
    "policy lists first (docs 7).",
    "I8 the 惠民保 tilt applies to all of 2301–2306, the 大病 tilt to 2302–2305 (docs 8; §4 says so too).",
    "I9 大额 overcap_base uses a after the disease cap, before the shared cap (docs 9; §3.2 says a).",
    "I10 setldetail inscp_scp_amt per fund: pool inscp − act_pay_dedc, 大额 overcap_base, 大病 b, "
    "惠民保 c, assistance m, account psn_part_amt; crt_payb_lmt_amt the remaining limit before "
    "(chronic: min of disease and shared), None when unlimited, the balance before for the account.",
    "I11 an empty or 0 pric_uplmt_amt means no price cap; det_item_fee_sumamt defaults to round(pric × cnt).",
    "I12 person.enrollment (docs 12): a visit on a day no period covers, or before its period's 待遇等待期, is "
    "refused; a period waits after a break, or for a 居民 registered outside 1 Sep – 31 Dec before a "
    "1 January start: 3 months plus one per full 365 days of break, from the later of start and registration.",
]

# --- points where the contract text needed a reading the docs do not spell out ----------------------

READINGS = [
    "R1 a remaining limit (cap − paid so far) is never negative: max(0, …). It can go below 0 when "
    "the cap that applies changes within a year (在职→退休 outpatient cap, identity gained/lost).",
    "R2 大病/惠民保 pay min(F(after), cap) − min(F(before), cap) with F of the current settlement's "
    "parameters, as §3.2 writes it, and never more than cap − paid so far (§6: no cap is ever "
    "exceeded over a year; see CLAMP_CUMULATIVE_TO_CAP); crt_payb_lmt_amt is cap − paid so far.",
    "R3 the 职工 outpatient cap depends on the visit's psn_type (2000 在职 / 3000 退休) and is checked "
    "against the one outpatient pool accumulator of the year.",
    "R4 acct_pay only when acct_used_flag = 1 (§3.4); flag 2 (共济) pays from the bound relative's account "
    "(mulaid_balance, docs 11), and nothing from any account when the case gives none.",
    "R5 the chronic disease cap is checked against that disease's pool pay (hifp) so far this year.",
    "R6 大病 accumulates b on every 居民 inpatient/chronic settlement, 惠民保 c on every "
    "inpatient/chronic settlement of an enrolled year; assistance paid accumulates for every "
    "identity (also the unlimited ones), the outpatient part for class outpatient only.",
    "R7 an admission is counted even when its in-scope amount is 0.",
    "R8 negative pric/cnt (refund lines) are not in the contract and are refused here.",
    "R9 大额 overcap_base = round((a − hifp) / ratio) but never more than the base the pool computed on, "
    "and hifob never more than inscp − hifp: on a few fen the two roundings could otherwise make the base "
    "exceed what the pool computed on and the fund pay above what is in scope (§6: no fund pays above its "
    "base, no amount is negative).",
]


# R2: §3.2's difference formula alone can pay beyond the annual cap once an earlier settlement of the
# year was reversed (later ones are not recomputed) or the tilt was lost mid-year; §6 says no cap is
# ever exceeded over a year. True: also clamp to cap − paid so far (a no-op whenever paid so far
# equals min(F(before), cap), i.e. without reversals and tilt changes).
CLAMP_CUMULATIVE_TO_CAP = True


class OracleError(Exception):
    """The step is refused; the case ends here."""


# --- money ---------------------------------------------------------------------------------------------


def rhu(x: Fraction | int) -> int:
    """Round half up to an integer, symmetric for negative values (§1)."""
    x = Fraction(x)
    if x >= 0:
        return floor(x + Fraction(1, 2))
    return -floor(-x + Fraction(1, 2))


def fen_str(f: int) -> str:
    sign = "-" if f < 0 else ""
    q, r = divmod(abs(f), 100)
    return f"{sign}{q}.{r:02d}"


def ratio_str(r: Fraction) -> str:
    bp = r * 10000
    assert bp.denominator == 1
    bp = int(bp)
    sign = "-" if bp < 0 else ""
    q, rem = divmod(abs(bp), 10000)
    return f"{sign}{q}.{rem:04d}"


def _dec(raw: Any, places: int, where: str) -> Fraction:
    if raw is None or isinstance(raw, bool):
        raise OracleError(f"{where}: {raw!r} is not a number")
    try:
        d = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(str(raw).strip().replace(",", ""))
    except InvalidOperation:
        raise OracleError(f"{where}: {raw!r} is not a number") from None
    if not d.is_finite():
        raise OracleError(f"{where}: {raw!r} is not finite")
    f = Fraction(d)
    if (f * 10**places).denominator != 1:
        raise OracleError(f"{where}: {raw!r} has more than {places} decimals")
    return f


def yuan(raw: Any, where: str) -> int:
    """Yuan with at most two decimals → fen."""
    return int(_dec(raw, 2, where) * 100)


def Y(v: int | str) -> int:
    """A policy amount in yuan → fen."""
    return int(Fraction(Decimal(str(v))) * 100)


def R(v: str) -> Fraction:
    return Fraction(Decimal(v))


# --- the demo policy of §4, hard-coded ------------------------------------------------------------------

EMP, RES = "310", "390"
EMP_TYPES = {"11", "12"}
RES_TYPES = {"14", "1401", "1402", "1403", "1404", "1405", "15", "16"}

CLASS_OF = {
    "11": "outpatient",
    "13": "outpatient",
    "14": "chronic",
    "21": "inpatient",
    "22": "inpatient",
    "23": "inpatient",
    "24": "inpatient",
    "28": "inpatient",
    "41": "pharmacy",
}

# ratios by (insutype, class, psn category) → per level 1/2/3
RATIO = {
    (EMP, "outpatient", "11"): (R("0.80"), R("0.70"), R("0.60")),
    (EMP, "outpatient", "12"): (R("0.90"), R("0.80"), R("0.70")),
    (EMP, "chronic", "11"): (R("0.85"),) * 3,
    (EMP, "chronic", "12"): (R("0.85"),) * 3,
    (EMP, "inpatient", "11"): (R("0.92"), R("0.88"), R("0.85")),
    (EMP, "inpatient", "12"): (R("0.95"), R("0.92"), R("0.90")),
    (RES, "outpatient", None): (R("0.60"), R("0.50"), R("0.40")),
    (RES, "chronic", None): (R("0.70"),) * 3,
    (RES, "inpatient", None): (R("0.90"), R("0.80"), R("0.65")),
}
EMP_OUT_DEDUCTIBLE = Y(100)
INPATIENT_DEDUCTIBLE = {EMP: (Y(300), Y(600), Y(900)), RES: (Y(200), Y(500), Y(800))}
SHARED_CAP = {EMP: Y(200_000), RES: Y(250_000)}  # inpatient + chronic


def outpatient_cap(insutype: str, cat: str, version: int) -> int:
    if insutype == EMP:
        return Y(2000) if cat == "11" else Y(3000)
    return Y(500) if version == 2025 else Y(800)


CHRONIC_CAP = {  # code → (职工, 居民)
    "M03900": (Y(3000), Y(1500)),
    "M01600": (Y(4000), Y(2000)),
    "M00500": (Y(150_000), Y(100_000)),
    "M07801": (Y(100_000), Y(80_000)),
    "M06900": (Y(20_000), Y(15_000)),
}

LARGE_RATIO, LARGE_CAP = R("0.90"), Y(400_000)

CII_CAP = Y(400_000)
CII_TILT_IDS = {"2302", "2303", "2304", "2305"}


def cii_params(version: int, tilt: bool) -> tuple[int, list[tuple[int, int | None, Fraction]], int | None]:
    """(deductible, segments on the cumulative axis, cap) of 大病保险."""
    if tilt:
        d, plus, cap = Y(9000), R("0.10"), None
    else:
        d, plus, cap = (Y(18_000) if version == 2025 else Y(16_000)), Fraction(0), CII_CAP
    segs = [
        (d, Y(50_000), R("0.60") + plus),
        (Y(50_000), Y(150_000), R("0.70") + plus),
        (Y(150_000), None, R("0.80") + plus),
    ]
    return d, segs, cap


def cii_F(x: int, segs) -> int:
    total = 0
    for lo, hi, r in segs:
        top = x if hi is None else min(x, hi)
        overlap = max(0, top - lo)
        total += rhu(overlap * r)
    return total


ASSIST_IDS = ("2301", "2302", "2303", "2304", "2305", "2306")
# in the order §4 lists them (tie-break of interpretation 7): ratio, limited?
ASSIST = {
    "2304": (R("1.00"), False),
    "2301": (R("1.00"), False),
    "2303": (R("0.80"), True),
    "2302": (R("0.70"), True),
    "2305": (R("0.70"), True),
    "2306": (R("0.70"), True),
}
ASSIST_ORDER = list(ASSIST)
ASSIST_ANNUAL, ASSIST_OUTPATIENT = Y(150_000), Y(20_000)

HMB_CAP = Y(1_000_000)


def hmb_params(target: bool) -> tuple[int, Fraction]:
    return (Y(10_000), R("0.80")) if target else (Y(20_000), R("0.70"))


def version_of(day: date) -> int:
    if day >= date(2026, 1, 1):
        return 2026
    if day >= date(2025, 1, 1):
        return 2025
    raise OracleError(f"begndate: {day} 无适用的待遇政策")


SETLINFO_FIELDS = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "pool_prop_selfpay",
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


# --- state --------------------------------------------------------------------------------------------


@dataclass
class Accum:
    """§3.5: accumulators per person, year and insutype (fen; admissions a count)."""

    out_dedc: int = 0  # outpatient deductible consumed
    admissions: int = 0
    pool_out: int = 0  # pool pay under the outpatient cap
    pool_shared: int = 0  # pool pay under the shared inpatient+chronic cap
    chronic: dict[str, int] = field(default_factory=dict)  # pool pay per disease
    large: int = 0  # 大额 paid
    cii_base: int = 0  # 大病 cumulative b
    cii_paid: int = 0
    hmb_base: int = 0  # 惠民保 cumulative c
    hmb_paid: int = 0
    maf: int = 0  # assistance paid, total
    maf_out: int = 0  # assistance paid, outpatient class

    def apply(self, d: dict, sign: int) -> None:
        for k, v in d.items():
            if k.startswith("chronic:"):
                code = k.split(":", 1)[1]
                self.chronic[code] = self.chronic.get(code, 0) + sign * v
            else:
                setattr(self, k, getattr(self, k) + sign * v)

    def as_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k != "chronic"}
        out.update({f"chronic:{k}": v for k, v in self.chronic.items()})
        return out


@dataclass
class Dated:
    code: str
    begn: date | None = None
    end: date | None = None

    def valid_on(self, day: date) -> bool:
        return (self.begn is None or self.begn <= day) and (self.end is None or day <= self.end)


@dataclass
class Person:
    insutype: str
    psn_type: str
    idet: list[Dated]
    chronic: list[Dated]
    huiminbao: set[int]
    balance: int
    mulaid: int | None = None  # the bound relative's 职工 account (共济, docs 11); None: no binding
    enrollment: list[tuple[date, date | None, date | None]] | None = None  # (from, to, wait_until) (I12)


@dataclass
class Result:
    info: dict[str, int]  # fen; pool_prop_selfpay as Fraction
    detail: list[tuple[str, int, int | None, int]]  # fund_pay_type, base, remaining limit, pay
    delta: dict[str, int]
    year: int
    lines: list[dict[str, int]] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> tuple[dict, list]:
        info = {
            k: ratio_str(self.info[k]) if k == "pool_prop_selfpay" else fen_str(self.info[k])
            for k in SETLINFO_FIELDS
        }
        rows = [
            {
                "fund_pay_type": t,
                "inscp_scp_amt": fen_str(b),
                "crt_payb_lmt_amt": None if lim is None else fen_str(lim),
                "fund_payamt": fen_str(p),
            }
            for t, b, lim, p in self.detail
        ]
        return info, rows


# --- parsing ------------------------------------------------------------------------------------------


def _date(raw: Any, where: str) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise OracleError(f"{where}: {raw!r} is not a date") from None


def _dated(raw: Any, keys: tuple[str, ...]) -> list[Dated]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raw = [raw]
    out = []
    for item in raw:
        if isinstance(item, dict):
            key = next(k for k in keys if k in item)
            b, e = item.get("begn"), item.get("end")
            out.append(
                Dated(
                    str(item[key]).strip(),
                    None if b is None else _date(b, "begn"),
                    None if e is None else _date(e, "end"),
                )
            )
        else:
            out.append(Dated(str(item).strip()))
    return out


def parse_person(raw: dict) -> Person:
    years = raw.get("huiminbao") or []
    if not isinstance(years, list):
        years = [years]
    bal = raw.get("acct_balance")
    return Person(
        insutype=str(raw["insutype"]).strip(),
        psn_type=str(raw["psn_type"]).strip(),
        idet=_dated(raw.get("idet"), ("type", "psn_idet_type", "code")),
        chronic=_dated(raw.get("chronic"), ("code", "opsp_dise_code")),
        huiminbao={int(y) for y in years},
        balance=0 if bal is None else yuan(bal, "acct_balance"),
        mulaid=None if raw.get("mulaid_balance") is None else yuan(raw["mulaid_balance"], "mulaid_balance"),
        enrollment=_enrollment(raw.get("enrollment"), str(raw["insutype"]).strip()),
    )


def split_line(raw: dict, n: int) -> dict[str, int]:
    """§2: one fee line → its four parts (fen)."""
    where = f"fees[{n}]"
    lv = {"01": 1, "1": 1, "02": 2, "2": 2, "03": 3, "3": 3}.get(str(raw["chrgitm_lv"]).strip())
    if lv is None:
        raise OracleError(f"{where}.chrgitm_lv")
    pric = _dec(raw["pric"], 6, f"{where}.pric")
    cnt = _dec(raw["cnt"], 4, f"{where}.cnt")
    if pric < 0 or cnt < 0:
        raise OracleError(f"{where}: negative lines are not part of the contract")
    computed = rhu(pric * cnt * 100)
    det = raw.get("det_item_fee_sumamt")
    if det is None:
        line = computed
    else:
        line = yuan(det, f"{where}.det_item_fee_sumamt")
        if abs(line - computed) > 1:
            raise OracleError(f"{where}.det_item_fee_sumamt: {fen_str(line)} ≠ round(pric × cnt)")
    prop = _dec(raw.get("selfpay_prop", 0) or 0, 4, f"{where}.selfpay_prop")
    if not 0 <= prop <= 1:
        raise OracleError(f"{where}.selfpay_prop out of range")
    cap_raw = raw.get("pric_uplmt_amt")
    cap = None if cap_raw in (None, "") else _dec(cap_raw, 6, f"{where}.pric_uplmt_amt")
    if cap == 0:
        cap = None
    lmt = int(str(raw.get("lmt_used_flag", 0) or 0))
    appr = int(str(raw.get("hosp_appr_flag", 0) or 0))
    if lv == 1 and prop != 0:
        raise OracleError(f"{where}.selfpay_prop: 甲类 must be 0")
    parts = {"line": line, "fulamt": 0, "overlmt": 0, "preselfpay": 0, "inscp": 0}
    if lv == 3 or (lmt == 1 and appr != 1) or appr == 2:
        parts["fulamt"] = line
        return parts
    over = 0 if cap is None else min(line, rhu(max(Fraction(0), pric - cap) * cnt * 100))
    pre = rhu((line - over) * prop) if lv == 2 else 0
    parts.update(overlmt=over, preselfpay=pre, inscp=line - over - pre)
    return parts


# --- one settlement -----------------------------------------------------------------------------------


def settle(
    person: Person,
    visit: dict,
    acc: Accum,
    balance: int,
    admission: tuple[int, int] | None = None,
    mulaid_pot: bool = False,
) -> Result:
    """Compute one settlement on the given accumulators; nothing is recorded here.

    ``mulaid_pot``: ``balance`` is the bound relative's account (共济, acct_used_flag 2).

    ``admission`` = (the opening admission's deductible, deductible that admission consumed so far)
    for a continuation (中途结算); None for a new admission.
    """
    day = _date(visit["begndate"], "begndate")
    version = version_of(day)
    year = day.year
    ins = person.insutype
    if ins not in (EMP, RES):
        raise OracleError(f"insutype {ins}")
    med_type = str(visit["med_type"]).strip()
    cls = CLASS_OF.get(med_type)
    if cls is None:
        raise OracleError(f'不支持的医疗类别 "{med_type}"')
    cat = str(visit.get("psn_type") or person.psn_type).strip()
    if cat not in (EMP_TYPES if ins == EMP else RES_TYPES):
        raise OracleError(f"人员类别 {cat} 不属于险种 {ins}")
    lvl = visit.get("hosp_lv")
    if lvl is not None:
        lvl = int(str(lvl))
        if lvl not in (1, 2, 3):
            raise OracleError("hosp_lv")
    if cls != "pharmacy" and lvl is None:
        raise OracleError("hosp_lv: missing")
    code = None
    if cls == "chronic":
        code = visit.get("opsp_dise_code")
        if not code:
            raise OracleError("opsp_dise_code: missing")
        code = str(code).strip()
        if not any(r.code == code and r.valid_on(day) for r in person.chronic):
            raise OracleError(f"未备案的门诊慢特病: {code}")
        if code not in CHRONIC_CAP:
            raise OracleError(f"不支持的门诊慢特病 {code}")
    flag = int(str(visit.get("acct_used_flag", 0) or 0))
    if flag not in (0, 1, 2):
        raise OracleError("acct_used_flag")
    held = {i.code for i in person.idet if i.valid_on(day)}

    # §2 lines
    lines = [split_line(f, n) for n, f in enumerate(visit["fees"], 1)]
    medfee = sum(ln["line"] for ln in lines)
    fulamt = sum(ln["fulamt"] for ln in lines)
    overlmt = sum(ln["overlmt"] for ln in lines)
    pre = sum(ln["preselfpay"] for ln in lines)
    inscp = sum(ln["inscp"] for ln in lines)
    assert medfee == fulamt + overlmt + pre + inscp

    delta: dict[str, int] = {}
    detail: list[tuple[str, int, int | None, int]] = []
    notes: dict[str, Any] = {"version": version, "class": cls}
    bound: set[str] = set()
    notes["bound"] = bound

    def left(cap: int, used: int, what: str) -> int:
        """A remaining limit, never negative (R1); records when the clamp was needed."""
        if cap - used < 0:
            bound.add("clamp_" + what)
        return max(0, cap - used)

    # §3.1 basic pool
    dedc = 0
    if cls == "outpatient" and ins == EMP:
        dedc = min(inscp, max(0, EMP_OUT_DEDUCTIBLE - acc.out_dedc))
        delta["out_dedc"] = dedc
    elif cls == "inpatient":
        full = INPATIENT_DEDUCTIBLE[ins][lvl - 1]
        if admission is None:
            ordinal = acc.admissions + 1
            due = full if ordinal == 1 else rhu(Fraction(full, 2))
            delta["admissions"] = 1
            notes["admission_deductible"] = due
        else:
            opening_due, used = admission
            due = max(0, opening_due - used)
            notes["admission_deductible"] = opening_due
            notes["continuation_admissions_now"] = acc.admissions
        dedc = min(inscp, due)
    base = inscp - dedc
    pool_on = cls != "pharmacy"
    if pool_on:
        ratio = RATIO[(ins, cls, cat if ins == EMP else None)][lvl - 1]
    else:
        ratio = Fraction(0)
    u = rhu(base * ratio)
    a = u
    dis_rem = None
    if cls == "chronic":
        dis_cap = CHRONIC_CAP[code][0 if ins == EMP else 1]
        dis_rem = left(dis_cap, acc.chronic.get(code, 0), "disease")
        a = min(u, dis_rem)
    if cls == "outpatient":
        cap_rem = left(outpatient_cap(ins, cat, version), acc.pool_out, "pool_out")
    elif cls in ("chronic", "inpatient"):
        cap_rem = left(SHARED_CAP[ins], acc.pool_shared, "pool_shared")
    else:
        cap_rem = 0
    hifp = min(a, cap_rem) if pool_on else 0
    if a < u:
        bound.add("disease_cap")
    if hifp < a:
        bound.add("pool_cap")
    if cls == "outpatient":
        delta["pool_out"] = hifp
    elif cls in ("chronic", "inpatient"):
        delta["pool_shared"] = hifp
    if cls == "chronic":
        delta[f"chronic:{code}"] = hifp
    if hifp:
        pool_lim = cap_rem if dis_rem is None else min(dis_rem, cap_rem)
        detail.append(("310100" if ins == EMP else "390100", base, pool_lim, hifp))

    # §3.2 大额 (职工) / 大病 (居民)
    hifob = hifmi = 0
    if ins == EMP and cls in ("inpatient", "chronic"):
        overcap = min(rhu(Fraction(a - hifp) / ratio), base)  # (R9)
        rem = left(LARGE_CAP, acc.large, "large")
        offer = min(rhu(overcap * LARGE_RATIO), inscp - hifp)
        hifob = min(offer, rem)
        if hifob:
            bound.add("large_paid")
        if hifob < offer:
            bound.add("large_cap")
        delta["large"] = hifob
        if hifob:
            detail.append(("330100", overcap, rem, hifob))
    if ins == RES and cls in ("inpatient", "chronic"):
        b = inscp - hifp
        tilt = bool(held & CII_TILT_IDS)
        _d, segs, cap = cii_params(version, tilt)
        before, after = acc.cii_base, acc.cii_base + b
        f_before, f_after = cii_F(before, segs), cii_F(after, segs)
        if cap is not None:
            f_before, f_after = min(f_before, cap), min(f_after, cap)
        hifmi = f_after - f_before
        if cap is not None and CLAMP_CUMULATIVE_TO_CAP and hifmi > left(cap, acc.cii_paid, "cii"):
            bound.add("cii_clamped")
            hifmi = left(cap, acc.cii_paid, "cii")
        if hifmi:
            bound.add("cii_tilt" if tilt else "cii_paid")
            bound.add("cii_seg" + str(sum(after > lo for lo, _hi, _r in segs)))
        if cap is not None and cii_F(after, segs) > cap and hifmi:
            bound.add("cii_cap")
        if cap is not None and f_before != acc.cii_paid:
            bound.add("cii_paid_differs")
        delta["cii_base"] = b
        delta["cii_paid"] = hifmi
        notes["cii"] = {"tilt": tilt, "before": before, "after": after}
        if hifmi:
            detail.append(("390200", b, None if cap is None else left(cap, acc.cii_paid, "cii"), hifmi))

    # §3.3 惠民保
    oth = 0
    if cls in ("inpatient", "chronic") and year in person.huiminbao:
        c = inscp - hifp - hifob - hifmi
        d, r = hmb_params(bool(held & set(ASSIST_IDS)))
        before, after = acc.hmb_base, acc.hmb_base + c
        g_before = min(rhu(max(0, before - d) * r), HMB_CAP)
        g_after = min(rhu(max(0, after - d) * r), HMB_CAP)
        oth = g_after - g_before
        if CLAMP_CUMULATIVE_TO_CAP and oth > left(HMB_CAP, acc.hmb_paid, "hmb"):
            bound.add("hmb_clamped")
            oth = left(HMB_CAP, acc.hmb_paid, "hmb")
        if oth:
            bound.add("hmb_paid")
        if oth and rhu(max(0, after - d) * r) > HMB_CAP:
            bound.add("hmb_cap")
        if g_before != acc.hmb_paid:
            bound.add("hmb_paid_differs")
        delta["hmb_base"] = c
        delta["hmb_paid"] = oth
        if oth:
            detail.append(("620100", c, left(HMB_CAP, acc.hmb_paid, "hmb"), oth))

    # §3.3 medical assistance
    maf = 0
    ids = [i for i in ASSIST_ORDER if i in held]
    if cls != "pharmacy" and ids:
        m = inscp - hifp - hifob - hifmi - oth
        best = None
        for i in ids:
            r, limited = ASSIST[i]
            pay = rhu(m * r)
            lim = None
            if limited:
                lim = left(ASSIST_ANNUAL, acc.maf, "maf")
                if cls == "outpatient":
                    lim = min(lim, left(ASSIST_OUTPATIENT, acc.maf_out, "maf_out"))
                pay = min(pay, lim)
            if limited and pay < rhu(m * r):
                bound.add("maf_limit" + ("_out" if cls == "outpatient" else ""))
            if best is None or pay > best[1]:
                best = (i, pay, lim)
        maf = best[1]
        notes["assistance"] = best[0]
        delta["maf"] = maf
        if cls == "outpatient":
            delta["maf_out"] = maf
        if maf:
            detail.append(("610100", m, best[2], maf))

    # §3.4 totals, account and cash
    fund = hifp + hifob + hifmi + maf + oth
    psn_part = medfee - fund
    mulaid = 0
    if flag == 2 and mulaid_pot:  # 共济 (docs 11): the relative's 职工 account, whatever the insutype
        acct = mulaid = min(balance, psn_part)
        balc = balance - acct
    elif ins == EMP:
        acct = min(balance, psn_part) if flag == 1 else 0
        balc = balance - acct
    else:
        acct, balc = 0, 0
    if acct > 0:
        detail.append(("310200", psn_part, balance, acct))
    info = {
        "medfee_sumamt": medfee,
        "fulamt_ownpay_amt": fulamt,
        "overlmt_selfpay": overlmt,
        "preselfpay_amt": pre,
        "inscp_scp_amt": inscp,
        "act_pay_dedc": dedc,
        "hifp_pay": hifp,
        "pool_prop_selfpay": ratio,
        "cvlserv_pay": 0,
        "hifes_pay": 0,
        "hifmi_pay": hifmi,
        "hifob_pay": hifob,
        "hifdm_pay": 0,
        "maf_pay": maf,
        "oth_pay": oth,
        "fund_pay_sumamt": fund,
        "psn_part_amt": psn_part,
        "acct_pay": acct,
        "acct_mulaid_pay": mulaid,
        "psn_cash_pay": psn_part - acct,
        "hosp_part_amt": 0,
        "balc": balc,
    }
    notes["balance_after"] = balance - acct
    return Result(info, detail, delta, year, lines, notes)


# --- enrollment history (I12; the 990100 contribution policy of 2025 and 2026, hard-coded) ----------------

WAIT_MONTHS, WAIT_MONTHS_PER_BREAK_YEAR = 3, 1


def _months_later(d: date, n: int) -> date:
    """The same day n months later, or the month's last day when it has no such day."""
    y, m = d.year + (d.month - 1 + n) // 12, (d.month - 1 + n) % 12 + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(y, m, day)
        except ValueError:
            continue
    raise AssertionError(d)


def _enrollment(raw: Any, insutype: str) -> list[tuple[date, date | None, date | None]] | None:
    if raw is None:
        return None
    spans = [
        (
            _date(p["from"], "from"),
            None if p.get("to") is None else _date(p["to"], "to"),
            None if p.get("registered") is None else _date(p["registered"], "registered"),
        )
        for p in (raw if isinstance(raw, list) else [raw])
    ]
    out = []
    for start, end, registered in spans:
        before = [e for _, e, _ in spans if e is not None and e < start]
        gap = (start - max(before)).days - 1 if before else 0
        window = (date(start.year - 1, 9, 1), date(start.year - 1, 12, 31))  # for a 1 January start
        in_window = (start.month, start.day) == (1, 1) and window[0] <= (registered or start) <= window[1]
        late = insutype == "390" and registered is not None and not in_window
        wait = None
        if gap > 0 or late:
            months = WAIT_MONTHS + WAIT_MONTHS_PER_BREAK_YEAR * (gap // 365)
            wait = _months_later(max(start, registered or start), months)
        out.append((start, end, wait))
    return out


def _check_enrolled(person: Person, day: date) -> None:
    if person.enrollment is None:
        return
    held = [p for p in person.enrollment if p[0] <= day and (p[1] is None or day <= p[1])]
    if not held:
        raise OracleError(f"insutype: {day} 未参加险种 {person.insutype} (not enrolled)")
    wait = max(held)[2]
    if wait is not None and day < wait:
        raise OracleError(f"wait_until: 待遇等待期至 {wait}，{day} 不能享受待遇")


# --- a case -------------------------------------------------------------------------------------------


@dataclass
class Recorded:
    result: Result
    opener: int  # the step that opened its admission (itself when new or not inpatient)
    reversed: bool = False
    pot: str = "own"  # the account it used: own | mulaid
    level: Any = None


@dataclass
class CaseState:
    person: Person
    balance: int
    mulaid: int | None = None
    accums: dict[tuple[int, str], Accum] = field(default_factory=dict)
    settled: dict[int, Recorded] = field(default_factory=dict)

    def acc(self, year: int) -> Accum:
        return self.accums.setdefault((year, self.person.insutype), Accum())


def _step_json(number: int, kind: str, result: Result) -> dict:
    info, rows = result.as_json()
    return {"step": number, "kind": kind, "setlinfo": info, "setldetail": rows, "_result": result}


def run_case(case: dict, trace: bool = False) -> list[dict]:
    """Every step of a scenario case, as the scenario runner's JSON (a failing step ends the case).

    With ``trace`` each step also carries ``_result``: the oracle's Result (notes, lines, delta).
    """
    out = _run_case(case)
    if not trace:
        for s in out:
            s.pop("_result", None)
    return out


def _run_case(case: dict) -> list[dict]:
    out: list[dict] = []
    try:
        state = CaseState(parse_person(case["person"]), 0)
        state.balance, state.mulaid = state.person.balance, state.person.mulaid
    except OracleError as exc:
        return [{"step": 1, "kind": "error", "error": str(exc)}]
    for number, step in enumerate(case["steps"], 1):
        try:
            out.append(_run_step(state, step, number))
        except OracleError as exc:
            out.append({"step": number, "kind": "error", "error": str(exc)})
            break
    return out


def _run_step(state: CaseState, step: dict, number: int) -> dict:
    if "reverse" in step:
        return _reverse(state, step["reverse"], number)
    kind = "settle" if "settle" in step else "presettle"
    visit = step[kind]
    admission = None
    opener = number
    ref = visit.get("admission_of")
    if ref is not None:
        rec = state.settled.get(ref)
        if rec is None or rec.reversed:
            raise OracleError(f"admission_of: 第 {ref} 步不是有效的结算")
        opener = rec.opener
        opening = state.settled[opener].result
        if opening.notes["class"] != "inpatient":
            raise OracleError(f"admission_of: 第 {ref} 步不是住院结算")
        used = sum(
            r.result.info["act_pay_dedc"]
            for r in state.settled.values()
            if r.opener == opener and not r.reversed
        )
        admission = (opening.notes.get("admission_deductible", 0), used)
        level = state.settled[opener].level
        if visit.get("hosp_lv") is None:
            visit = {**visit, "hosp_lv": level}
        elif int(str(visit["hosp_lv"])) != int(str(level)):
            raise OracleError(f"hosp_lv: 中途结算须与入院时同一医院等级 ({level})")
    day = _date(visit["begndate"], "begndate")
    if ref is None:  # a 中途结算 continues an admission already let in
        _check_enrolled(state.person, day)
    pot = "mulaid" if str(visit.get("acct_used_flag", 0) or 0) == "2" and state.mulaid is not None else "own"
    balance = state.mulaid if pot == "mulaid" else state.balance
    result = settle(state.person, visit, state.acc(day.year), balance, admission, mulaid_pot=pot == "mulaid")
    if kind == "settle":
        state.acc(result.year).apply(result.delta, +1)
        if pot == "mulaid":
            state.mulaid = result.notes["balance_after"]
        else:
            state.balance = result.notes["balance_after"]
        state.settled[number] = Recorded(result, opener, pot=pot, level=visit.get("hosp_lv"))
    return _step_json(number, kind, result)


def _reverse(state: CaseState, target: Any, number: int) -> dict:
    rec = state.settled.get(target) if isinstance(target, int) and not isinstance(target, bool) else None
    if rec is None:
        raise OracleError(f"reverse: 第 {target} 步不是已完成的结算，不能撤销")
    if rec.reversed:
        raise OracleError(f"reverse: 第 {target} 步的结算已撤销，不能重复撤销")
    orig = rec.result
    state.acc(orig.year).apply(orig.delta, -1)
    rec.reversed = True
    info = {k: (v if k == "pool_prop_selfpay" else -v) for k, v in orig.info.items()}
    if rec.pot == "mulaid":
        state.mulaid += orig.info["acct_pay"]
        info["balc"] = state.mulaid
    else:
        state.balance += orig.info["acct_pay"]
        info["balc"] = state.balance if state.person.insutype == EMP else 0
    detail = [(t, -b, lim, -p) for t, b, lim, p in orig.detail]
    rev = Result(info, detail, {}, orig.year)
    return _step_json(number, "reverse", rev)
