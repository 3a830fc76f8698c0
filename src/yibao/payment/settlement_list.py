"""The settlement list (医保结算清单, 4101) as grouping reads it: checked, turned into a grouper case, grouped.

Pure: the facade parses the message into a :class:`SettlementList`, the store reads what it knows of the
settlement (:class:`SettledStay`) and of the codes (the 灰码 among them), and the steps below decide. One
function per step of the list's path (payment-drg-dip.md §2, §3.2 step 1, §9.3):

1. :func:`check_settlement` — the list is of the caller's own inpatient settlement that stands: not a
   reversal, not reversed, not a part-way (中途) settlement, and of the visit the list names;
2. :func:`principal_first` — the western-medicine diagnoses (``diag_type`` 1) with the one flagged
   ``maindiag_flag`` 1 first, the procedures with the one typed ``oprn_oprt_type`` 1 (主要手术) first;
3. :func:`check_codes` — every code well formed (医保版 2.0), the principal diagnosis one the scheme knows and
   not a grey code (灰码: kept for mapping, not acceptable as the principal diagnosis of a list);
4. :func:`case_of` — the grouper's case: sex and age from the person (a list whose ``gend`` or ``age``
   contradicts the person is refused), length of stay, discharge mode, newborn weight;
5. :func:`check_conflicts` — sex and age against the principal diagnosis, in the grouper's words (a male
   with an obstetric or a female-genital principal diagnosis; a perinatal principal diagnosis after the
   first year);
6. :func:`group_list` — the scheme in effect on the discharge date groups the case; the outcome carries
   what a grouped case must keep to be reproduced and explained later: scheme, pack hash, grouper
   version, the case's inputs and digest, every step and the result (:func:`trace_of`).

A refusal is a :class:`ListError` naming the field by its place in the message (``diseinfo[0].diag_code``),
which the facade prefixes with ``input.``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime

from yibao import __version__
from yibao.payment.cases import DISCHARGE_WAYS, DrgCase, normalise_code
from yibao.payment.dip import group_dip_case
from yibao.payment.dip_catalogue import DipCatalogue
from yibao.payment.drg import DrgGroup, group_case, well_formed_dx, well_formed_px
from yibao.payment.drg_pack import INFANT_DAYS, DrgPack
from yibao.payment.packs import Scheme
from yibao.settlement.states import VisitStatus
from yibao.settlement.states import name as state_name

VALID, VOID = "1", "0"
"""The list's ``vali_flag``: 1 有效, 0 无效 (作废 by 4102). Only a valid list's grouping counts."""
WESTERN = "1"
"""``diag_type`` 1 西医: the diagnoses grouping reads (2 中医主病 and 3 中医主证 are kept, not grouped)."""
MAIN_PROCEDURE = "1"
"""``oprn_oprt_type`` 1 主要手术及操作, 2 其他."""
FEMALE_ONLY_MDCS = {"O": 2}
"""MDCs a man cannot be coded into beyond the scheme's own ``mdc_sex`` (M 男性, N 女性): MDCO 妊娠、分娩及产褥期."""
NEONATAL_MDC = "P"
INPATIENT_PREFIX = "2"
"""医疗类别 21–29 住院: the lists this transaction takes."""


class ListError(ValueError):
    """A list refused: ``path`` is the field's place under ``input`` (``setlinfo.gend``), ``reason`` why."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """One ``diseinfo`` row; ``index`` its place in the message."""

    index: int
    diag_code: str
    diag_name: str
    diag_type: str = WESTERN
    maindiag_flag: str = "0"
    adm_cond_type: str | None = None


@dataclass(frozen=True, slots=True)
class Procedure:
    """One ``oprninfo`` row; ``index`` its place in the message."""

    index: int
    oprn_oprt_code: str
    oprn_oprt_name: str
    oprn_oprt_type: str = "2"
    oprn_oprt_date: datetime | None = None


@dataclass(frozen=True, slots=True)
class SettlementList:
    """What grouping reads of a 4101 ``setlinfo`` and its ``diseinfo`` / ``oprninfo`` (national names);
    None: not sent (the settlement's visit and the person say it)."""

    setl_id: str
    mdtrt_id: str
    psn_no: str | None
    gend: str
    age: int | None
    nwb_age: int | None  # 不足1周岁年龄, days
    weight_g: int | None  # 新生儿入院体重 (or 出生体重), grams
    adm_time: datetime | None
    dscg_time: datetime | None
    act_ipt_days: int | None
    dscg_way: str | None
    hi_paymtd: str | None
    diagnoses: tuple[Diagnosis, ...]
    procedures: tuple[Procedure, ...]


@dataclass(frozen=True, slots=True)
class SettledStay:
    """The store's settlement a list names, with its visit and person."""

    setl_id: str
    mdtrt_id: str
    fixmedins_code: str
    psn_no: str
    med_type: str
    refd_setl_flag: str
    reversed_by: str | None
    mid_setl_flag: str
    begntime: datetime
    endtime: datetime | None
    dscg_way: str | None
    gend: str
    brdy: date


@dataclass(frozen=True, slots=True)
class Stay:
    """The facts of the list the store keeps beside it (and the grouper reads)."""

    gend: str
    age: int
    age_days: int
    adm_time: datetime
    dscg_time: datetime
    los: int
    dscg_way: str
    weight_g: int | None


@dataclass(frozen=True, slots=True)
class Grouped:
    """A list grouped: the scheme and pack that did it, the result and its trace (§9.3)."""

    kind: str
    scheme: str
    scheme_title: str
    pack_hash: str
    grouper_version: str
    group: DrgGroup
    group_name: str
    mdc_name: str
    adrg_name: str
    trace: dict


# --- step 1: the settlement ------------------------------------------------------------------------------


def no_settlement(lst: SettlementList, visit_status: str | None) -> None:
    """Why a list names no settlement the store has: its visit is the caller's but not settled (say so),
    or the settlement simply does not exist (``visit_status`` None: no such visit of the caller's)."""
    if visit_status is not None and visit_status != VisitStatus.SETTLED:
        raise ListError(
            "setlinfo.mdtrt_id",
            f"就诊尚未结算（{state_name(visit_status)}），请先办理住院结算 (2304) 再上传结算清单",
        )
    raise ListError("setlinfo.setl_id", f"结算不存在 {lst.setl_id}")


def check_settlement(lst: SettlementList, stay: SettledStay, fixmedins_code: str) -> None:
    """The list is of the caller's own standing inpatient settlement, and of its visit and person."""
    where = "setlinfo.setl_id"
    if stay.fixmedins_code != fixmedins_code:  # (another institution's: not shown to the caller)
        raise ListError(where, f"结算不存在 {lst.setl_id}")
    if lst.mdtrt_id != stay.mdtrt_id:
        raise ListError("setlinfo.mdtrt_id", f"与结算 {stay.setl_id} 的就诊 {stay.mdtrt_id} 不符")
    if lst.psn_no is not None and lst.psn_no != stay.psn_no:
        raise ListError("setlinfo.psn_no", "与结算的人员不符")
    if not stay.med_type.startswith(INPATIENT_PREFIX):
        raise ListError(
            where, f"结算 {stay.setl_id} 不是住院结算 (med_type {stay.med_type})，结算清单用于住院"
        )
    if stay.refd_setl_flag == "1":
        raise ListError(where, f"{stay.setl_id} 是一笔撤销记录，不能上传结算清单")
    if stay.reversed_by:
        raise ListError(where, f"结算 {stay.setl_id} 已撤销 ({stay.reversed_by})，不能上传结算清单")
    if stay.mid_setl_flag == "1":
        raise ListError(where, f"结算 {stay.setl_id} 是中途结算，结算清单随出院结算上传")


# --- step 2: principal first ------------------------------------------------------------------------------


def principal_first(lst: SettlementList) -> tuple[tuple[Diagnosis, ...], tuple[Procedure, ...]]:
    """The western diagnoses and the procedures, each with its principal first (the rest in message order)."""
    western = [d for d in lst.diagnoses if d.diag_type == WESTERN]
    main = [d for d in western if d.maindiag_flag == "1"]
    if not main:
        raise ListError("diseinfo", "缺少主要诊断 (a western diagnosis with maindiag_flag 1)")
    if len(main) > 1:
        raise ListError(f"diseinfo[{main[1].index}].maindiag_flag", "主要诊断只能有一个")
    diagnoses = (main[0], *(d for d in western if d is not main[0]))
    if not lst.procedures:
        return diagnoses, ()
    principal = [p for p in lst.procedures if p.oprn_oprt_type == MAIN_PROCEDURE]
    if not principal:
        raise ListError("oprninfo", "缺少主要手术及操作 (oprn_oprt_type 1)")
    if len(principal) > 1:
        raise ListError(f"oprninfo[{principal[1].index}].oprn_oprt_type", "主要手术及操作只能有一个")
    return diagnoses, (principal[0], *(p for p in lst.procedures if p is not principal[0]))


# --- step 3: codes ---------------------------------------------------------------------------------------


def check_codes(
    diagnoses: tuple[Diagnosis, ...], procedures: tuple[Procedure, ...], pack: DrgPack, grey: frozenset[str]
) -> None:
    """Every code well formed; the principal diagnosis known to the scheme and not a 灰码 (``grey``: the
    list's codes the code table flags grey)."""
    for d in diagnoses:
        code = normalise_code(d.diag_code)
        if not well_formed_dx(code):
            raise ListError(
                f"diseinfo[{d.index}].diag_code", f"诊断编码格式错误 {code[:24]} (ICD-10 医保版 2.0)"
            )
    for p in procedures:
        code = normalise_code(p.oprn_oprt_code)
        if not well_formed_px(code):
            raise ListError(
                f"oprninfo[{p.index}].oprn_oprt_code",
                f"手术操作编码格式错误 {code[:24]} (ICD-9-CM-3 医保版 2.0)",
            )
    main = diagnoses[0]
    code = normalise_code(main.diag_code)
    if code in grey:
        raise ListError(f"diseinfo[{main.index}].diag_code", f"主要诊断 {code} 是灰码，不能作为主要诊断")
    if code not in pack.known_dx:
        raise ListError(
            f"diseinfo[{main.index}].diag_code",
            f"主要诊断编码 {code} 不在分组方案 {pack.scheme} 中 (unknown code)",
        )


# --- step 4: the case ------------------------------------------------------------------------------------


def age_on(brdy: date, day: date) -> tuple[int, int]:
    """Whole years (周岁) and days of age on ``day``."""
    years = day.year - brdy.year - ((day.month, day.day) < (brdy.month, brdy.day))
    return years, (day - brdy).days


def stay_of(lst: SettlementList, stay: SettledStay) -> Stay:
    """Sex, age, dates, length of stay and discharge mode: the person's and the visit's, which the list may
    repeat but not contradict."""
    if lst.gend not in ("1", "2"):
        raise ListError("setlinfo.gend", f"性别应为 1（男）或 2（女），分组需要 (got {lst.gend[:4]})")
    if lst.gend != stay.gend:
        raise ListError("setlinfo.gend", "与参保人性别不符")
    adm = lst.adm_time or stay.begntime
    dscg = lst.dscg_time or stay.endtime
    if dscg is None:
        raise ListError("setlinfo.dscg_time", "缺少出院时间 (missing)")
    if dscg < adm:
        raise ListError("setlinfo.dscg_time", f"出院时间 {dscg} 早于入院时间 {adm}")
    years, days = age_on(stay.brdy, adm.date())
    if lst.age is not None and lst.age != years:
        raise ListError("setlinfo.age", f"年龄 {lst.age} 与出生日期 {stay.brdy} 不符 (入院时 {years} 周岁)")
    if lst.nwb_age is not None and years == 0 and lst.nwb_age != days:
        raise ListError("setlinfo.nwb_age", f"不足1周岁年龄 {lst.nwb_age} 天与出生日期不符 ({days} 天)")
    los = lst.act_ipt_days if lst.act_ipt_days is not None else max((dscg.date() - adm.date()).days, 1)
    way = lst.dscg_way or stay.dscg_way or "1"
    if way not in DISCHARGE_WAYS:
        raise ListError("setlinfo.dscg_way", f"离院方式应为 1、2、3、4、5 或 9 (got {way[:4]})")
    return Stay(lst.gend, years, days, adm, dscg, los, way, lst.weight_g)


def case_of(case_id: str, stay: Stay, diagnoses: tuple[Diagnosis, ...], procedures: tuple[Procedure, ...]):
    """The grouper's case of the list (codes as the tables write them, principal first)."""
    return DrgCase(
        case_id=case_id,
        gend=int(stay.gend),
        age=stay.age,
        age_days=stay.age_days if stay.age_days < INFANT_DAYS else 0,
        diagnoses=tuple(normalise_code(d.diag_code) for d in diagnoses),
        procedures=tuple(normalise_code(p.oprn_oprt_code) for p in procedures),
        weight_g=stay.weight_g,
        los=stay.los,
        dscg_way=stay.dscg_way,
    )


# --- step 5: sex and age against the principal diagnosis --------------------------------------------------


def check_conflicts(case: DrgCase, diagnoses: tuple[Diagnosis, ...], pack: DrgPack) -> None:
    """A principal diagnosis every MDC of which is of the other sex, or only perinatal after the first year."""
    pdx, where = case.diagnoses[0], f"diseinfo[{diagnoses[0].index}].diag_code"
    listed = [m for m, codes in pack.mdc_lists.items() if pdx in codes]
    sexes = {**FEMALE_ONLY_MDCS, **pack.mdc_sex}
    other = [m for m in listed if m in sexes and sexes[m] != case.gend]
    if listed and len(other) == len(listed):
        name = pack.mdc_names.get(f"MDC{other[0]}", "")
        raise ListError(
            where,
            f"性别与主要诊断不符: {pdx} 属 MDC{other[0]}（{name}），参保人为{'男' if case.gend == 1 else '女'}性",
        )
    if listed == [NEONATAL_MDC] and case.age >= 1:
        raise ListError(where, f"年龄与主要诊断不符: {pdx} 是新生儿（围生期）诊断，患者 {case.age} 周岁")


# --- step 6: grouping -------------------------------------------------------------------------------------


def drg_scheme_on(schemes: dict[str, Scheme], day: date) -> Scheme | None:
    """The DRG scheme in effect on ``day`` (the discharge date); of several, the latest to take effect."""
    found = [s for s in schemes.values() if s.kind == "drg" and s.in_effect(day)]
    return max(found, key=lambda s: s.effective_from) if found else None


def dip_scheme_on(schemes: dict[str, Scheme], day: date) -> Scheme | None:
    """The DIP scheme in effect on ``day``, if the region has one (3606 answers only then)."""
    found = [s for s in schemes.values() if s.kind == "dip" and s.in_effect(day)]
    return max(found, key=lambda s: s.effective_from) if found else None


def period_holds(effective_from, effective_to, day: date) -> bool:
    """Whether a dated period (``effective_to`` None: open) holds ``day``; anything but dates: no."""
    if not isinstance(effective_from, date) or effective_from > day:
        return False
    return effective_to is None or (isinstance(effective_to, date) and day <= effective_to)


def digest_of(case: DrgCase) -> str:
    """SHA-256 of what grouping reads of the case (not its id): the same inputs give the same digest (and,
    with the same pack, the same result)."""
    facts = {k: v for k, v in asdict(case).items() if k != "case_id"}
    return hashlib.sha256(json.dumps(facts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def group_list(case: DrgCase, pack: DrgPack, scheme: Scheme) -> Grouped:
    """Group the case with its trace, and name its DRG, ADRG and MDC as the scheme does."""
    group = group_case(case, pack, trace=True)
    grouped = Grouped(
        kind="drg",
        scheme=pack.scheme,
        scheme_title=str(scheme.title),
        pack_hash=pack.pack_hash,
        grouper_version=__version__,
        group=group,
        group_name=pack.drg_names.get(group.drg, ""),
        mdc_name=pack.mdc_names.get(group.mdc, ""),
        adrg_name=pack.adrg_names.get(group.adrg, ""),
        trace={},
    )
    return replace(grouped, trace=trace_of(grouped, case))


def group_list_dip(case: DrgCase, cat: DipCatalogue) -> Grouped:
    """The list grouped by the region's DIP catalogue too (按病种分值, where the region pays by DIP): the
    病种 code in the group column, its type, score, auxiliary coefficient and points in the name and trace."""
    d = group_dip_case(case, cat, trace=True)
    named = f"{DIP_TYPES.get(d.dip_type, d.dip_type)} 分值 {d.score} × {d.aux_coef} = {d.points}"
    grouped = Grouped(
        kind="dip",
        scheme=f"dip:{cat.region}",
        scheme_title=f"{cat.region} DIP 病种目录",
        pack_hash=cat.pack_hash,
        grouper_version=__version__,
        group=DrgGroup(d.status, "", "", d.dip_code, d.reason, d.trace),
        group_name=named if d.status == "ok" else "",
        mdc_name="",
        adrg_name="",
        trace={},
    )
    out = trace_of(grouped, case)
    out["result"].update(dip_type=d.dip_type, score=d.score, aux_coef=d.aux_coef, points=d.points)
    return replace(grouped, trace=out)


DIP_TYPES = {"core": "核心病种", "comprehensive": "综合病种", "basic": "基层病种"}


def trace_of(g: Grouped, case: DrgCase) -> dict:
    """The per-case trace (§9.3): inputs and their digest, versions, steps in order, result."""
    r = g.group
    return {
        "inputs": {**asdict(case), "diagnoses": list(case.diagnoses), "procedures": list(case.procedures)},
        "input_digest": digest_of(case),
        "versions": {"grouper": g.grouper_version, "scheme": g.scheme, "pack_hash": g.pack_hash},
        "steps": list(r.trace),
        "result": {
            "status": r.status,
            "mdc": r.mdc,
            "adrg": r.adrg,
            "drg": r.drg,
            "name": g.group_name,
            "mdc_name": g.mdc_name,
            "adrg_name": g.adrg_name,
            "reason": r.reason,
        },
    }


# --- 4102: the list's status -----------------------------------------------------------------------------

STATUS_NAMES = {VALID: "有效", VOID: "作废"}
LIST_TRANSITIONS: dict[str, dict[str, str]] = {VOID: {VALID: VOID}, VALID: {VOID: VALID}}
"""4102's wanted ``vali_flag`` → {status before: status after}: a valid list is voided, a voided one made
valid again (only while its settlement has no other valid list)."""


def change_status(setl_list_id: str, before: str, wanted: str, *, other_valid: str | None) -> str:
    """The list's status after 4102 asks for ``wanted``, or why not (``other_valid``: another valid list of
    the same settlement, if any)."""
    after = LIST_TRANSITIONS.get(wanted, {}).get(before)
    if after is None:
        raise ListError(
            "data.vali_flag", f"结算清单 {setl_list_id} 已是{STATUS_NAMES.get(before, before)}状态"
        )
    if after == VALID and other_valid is not None:
        raise ListError("data.vali_flag", f"该结算已有有效的结算清单 {other_valid}，不能恢复 {setl_list_id}")
    return after
