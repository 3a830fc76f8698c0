"""Inputs of one settlement in domain terms, and their translation into kernel indices.

Everything here is pure: the settlement service fills these from the store, the
scenario runner from YAML, the synthetic generator from its own arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from yibao.errors import SettlementError
from yibao.policy.compiler import PolicyBundle
from yibao.settlement.lines import NO_CAP


@dataclass(frozen=True)
class Fee:
    """One fee line (费用明细) in kernel units."""

    pric: int  # micro-yuan
    cnt: int  # 1e-4 units
    det_item_fee_sumamt: int  # fen
    chrgitm_lv: int  # 1 甲 / 2 乙 / 3 丙
    selfpay_prop: int = 0  # basis points
    pric_uplmt_amt: int = NO_CAP  # micro-yuan; NO_CAP = no price cap
    lmt_used_flag: int = 0
    hosp_appr_flag: int = 0


@dataclass(frozen=True)
class Dated:
    """A code held over a date range (identity, chronic registration); None = open."""

    code: str
    begn: date | None = None
    end: date | None = None
    grade: str | None = None  # an identity's grade (psn_type_lv: 残疾 1–4)

    def valid_on(self, day: date) -> bool:
        return (self.begn is None or self.begn <= day) and (self.end is None or day <= self.end)


@dataclass
class PersonFacts:
    """What settlement needs to know about the insured person."""

    insutype: str
    psn_type: str
    identities: list[Dated] = field(default_factory=list)  # psn_idet_type
    chronic: list[Dated] = field(default_factory=list)  # approved 门诊慢特病 registrations
    supplementary_years: set[int] = field(default_factory=set)  # 惠民保 enrollment years
    has_account: bool = True  # a 职工 personal account exists (the policy decides if the insutype has one)


@dataclass
class VisitRequest:
    """One settlement request: the visit and its fee lines."""

    med_type: str
    begndate: date
    fees: list[Fee]
    hosp_lv: int | None = None  # dedc_hosp_lv 1/2/3
    opsp_dise_code: str | None = None
    diagnoses: list[str] = field(default_factory=list)  # the visit's diagnoses (dise_codg), principal first
    acct_used_flag: int = 0
    psn_type: str | None = None  # overrides the person's category for this visit
    new_admission: bool = True  # False: a later segment (中途结算) of an admission already counted
    adm_dedc_used: int = 0  # deductible that admission already consumed (fen)
    adm_dedc: int | None = None  # a continuation: the deductible its admission carries (None: derive)
    # the lines' split as their upload (费用明细上传) stored it, in the order of ``fees`` (None: split them here)
    split: list[dict[str, int]] | None = None


@dataclass(frozen=True)
class VisitIndex:
    """A visit translated into the bundle's indices."""

    ver: int
    ins: int
    cls: int
    cat: int
    lvl: int
    dis: int
    idmask: int
    sp_enrolled: bool
    year: int


def resolve(bundle: PolicyBundle, person: PersonFacts, visit: VisitRequest) -> VisitIndex:
    """Find the policy version, class, category, disease … of a visit, or say precisely why not."""
    day = visit.begndate
    ver = bundle.version_index(day)
    if ver is None:
        raise SettlementError(f"begndate: {day} 无适用的待遇政策 (no policy version in force)")
    ins = bundle.insutype_index(person.insutype)
    if ins is None:
        raise SettlementError(f'insutype: 不支持的险种类型 "{person.insutype}"')
    cls = bundle.class_index(ver, visit.med_type)
    if cls is None:
        raise SettlementError(f'med_type: 不支持的医疗类别 "{visit.med_type}"')
    psn_type = visit.psn_type or person.psn_type
    cat = bundle.category_index(person.insutype, psn_type)
    if cat is None:
        raise SettlementError(f'psn_type: 人员类别 "{psn_type}" 不属于险种 {person.insutype}')
    A = bundle.arrays
    lvl = visit.hosp_lv or 0
    if A["pool_on"][ver, ins, cls] and lvl not in (1, 2, 3):
        raise SettlementError(
            f"hosp_lv: 缺少或无效的起付线等级 {visit.hosp_lv!r} (1 一级及以下 / 2 二级 / 3 三级)"
        )
    if lvl not in (0, 1, 2, 3):
        raise SettlementError(f"hosp_lv: 无效的起付线等级 {visit.hosp_lv!r} (1/2/3)")
    dis = -1
    if A["requires_disease"][ver, cls]:
        code = visit.opsp_dise_code
        if not code:
            raise SettlementError("opsp_dise_code: 门诊慢特病就诊须提供病种编码")
        if not any(r.code == code and r.valid_on(day) for r in person.chronic):
            raise SettlementError(f"未备案的门诊慢特病: {code}")
        dis = bundle.disease_index(code)
        if dis is None:
            raise SettlementError(f"opsp_dise_code: 不支持的门诊慢特病 {code}")
        if not A["class_disease_ok"][ver, cls, dis]:
            raise SettlementError(
                f"opsp_dise_code: 病种 {code} 不属于医疗类别 {visit.med_type} 的待遇类别 {bundle.classes[cls]}"
            )
        row = A["group_row"][ver, ins, cls, dis]
        cls = int(row) if row >= 0 else cls  # the disease's group (病种组) in the class, with its own terms
    if visit.acct_used_flag not in (0, 1, 2):
        raise SettlementError(f"acct_used_flag: 无效值 {visit.acct_used_flag!r} (0 不用 / 1 本人 / 2 共济)")
    held = [(i.code, i.grade) for i in person.identities if i.valid_on(day)]
    diagnoses = [*visit.diagnoses, *([visit.opsp_dise_code] if visit.opsp_dise_code else [])]
    return VisitIndex(
        ver=ver,
        ins=ins,
        cls=cls,
        cat=cat,
        lvl=lvl,
        dis=dis,
        idmask=bundle.condition_mask(ver, held, diagnoses),
        sp_enrolled=day.year in person.supplementary_years,
        year=day.year,
    )
