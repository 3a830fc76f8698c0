"""Coded inpatient stays (住院病案编码) for the demo: each admission gets an ADRG of a realistic mix, a principal
diagnosis from that ADRG's list (or its MDC's 主诊表), a principal procedure from the ADRG's list when it is a
surgical or procedure group, 0–4 secondary diagnoses of which some are CC or MCC, a length of stay and, for a
newborn, a birth weight — all 医保版 2.0 codes of the national CHS-DRG tables that the region's code table
names (so every code the demo holds has a name).

The mix (:data:`MIX`) is data: per ADRG, the ICD-10 categories its principal diagnoses are drawn from, its
weight in each age band, its mean stay and the cost factor of its fee lines. The pools are checked once
against the grouper (:func:`prepare`): a principal diagnosis (with a procedure of the ADRG) is kept only if a
plain case with it lands in the ADRG, so the drawn year groups as drawn but for the secondary diagnoses' and
the exact ages' effects, which the grouper then decides as it would for a real list.

Pure: draws from a generator, reads the pack and the codes it is given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yibao.payment.cases import DrgCase
from yibao.payment.drg import OK, group_case
from yibao.payment.drg_pack import CC, INFANT_DAYS, MCC, MEDICAL, NEONATE_DAYS, AdrgRule, DrgPack

BANDS = np.array([15, 45, 65])  # age bands (周岁): 0–14, 15–44, 45–64, 65+
FERTILE = (18, 45)  # obstetric stays: women of these ages
MCC_SHARE, CC_SHARE = 0.10, 0.25  # stays with an MCC; with a CC (and no MCC)
TRIES = 4  # principal diagnoses tried before a stay is kept as drawn (the grouper then decides)


@dataclass(frozen=True)
class Mix:
    """One ADRG of the demo mix: where its principal diagnoses come from (ICD-10 categories), its weight by
    age band (0–14, 15–44, 45–64, 65+), mean stay (days), fee-line cost factor; only men (1) or women (2);
    obstetric (women 18–45 only); a newborn's birth weight range (g)."""

    adrg: str
    prefixes: tuple[str, ...]
    weights: tuple[float, float, float, float]
    los: float
    cost: float
    sex: int | None = None
    obstetric: bool = False
    weight_g: tuple[int, int] | None = None
    procedures: tuple[str, ...] = ()  # the ICD-9-CM-3 codes (beginnings) its principal procedure comes from


# fmt: off
MIX: tuple[Mix, ...] = (
    # 内科组 (medical)
    Mix("ES3", ("J18", "J15", "J22"), (14, 5, 6, 10), 8, 1.0),            # 呼吸系统感染／炎症
    Mix("EX2", ("J20", "J21"), (8, 2, 1, 1), 5, 0.7),                      # 急性支气管炎
    Mix("EX1", ("J45",), (1.5, 1, 1, 1), 6, 0.8),                          # 哮喘
    Mix("ET2", ("J44",), (0, 0.3, 3, 8), 9, 1.2),                          # 慢性气道阻塞病
    Mix("ER1", ("C34",), (0, 0.3, 2, 3), 10, 1.8),                         # 呼吸系统肿瘤
    Mix("ER3", ("J96",), (0, 0.1, 0.5, 1.5), 9, 1.5),                      # 呼吸衰竭
    Mix("BR2", ("I63",), (0, 0.8, 6, 10), 11, 1.6),                        # 脑缺血性疾患
    Mix("BR1", ("I61",), (0, 0.3, 1.2, 1.5), 14, 2.2),                     # 颅内出血性疾患
    Mix("BV1", ("G40",), (1, 0.5, 0.3, 0.2), 6, 0.9),                      # 癫痫
    Mix("FR2", ("I50",), (0, 0.2, 1.5, 5), 9, 1.3),                        # 心力衰竭
    Mix("FR3", ("I20",), (0, 0.5, 3, 4), 7, 1.0),                          # 心绞痛
    Mix("FR4", ("I25",), (0, 0.3, 2, 3), 7, 1.0),                          # 冠状动脉粥样硬化
    Mix("FU2", ("I48", "I47"), (0, 0.3, 1, 2), 6, 0.9),                    # 心律失常
    Mix("FV2", ("I10", "I11"), (0, 0.5, 2, 3), 7, 0.8),                    # 高血压
    Mix("GW1", ("K52", "A09", "K29"), (5, 3, 2, 2), 5, 0.6),               # 食管炎、胃肠炎
    Mix("GS1", ("K92",), (0, 0.5, 1, 1.5), 7, 1.1),                        # 胃肠出血
    Mix("GV1", ("K56", "R10"), (1, 1, 1, 1.5), 7, 1.0),                    # 消化道梗阻或腹痛
    Mix("GU2", ("K25", "K26"), (0, 0.6, 1, 1), 7, 0.9),                    # 消化溃疡
    Mix("GR1", ("C16", "C18", "C20", "C15"), (0, 0.3, 1.5, 2), 10, 1.8),   # 消化系统恶性肿瘤
    Mix("HU1", ("K80", "K81", "K83"), (0, 1, 1.5, 1.5), 7, 1.0),           # 急性胆道疾患
    Mix("HT2", ("K85",), (0, 0.8, 0.8, 0.6), 9, 1.3),                      # 急性胰腺炎
    Mix("HS2", ("K74", "K70"), (0, 0.2, 0.8, 0.6), 10, 1.3),               # 肝硬化
    Mix("IU2", ("M51", "M48", "M47", "M54"), (0, 2, 3, 3), 9, 0.9),        # 颈腰背疾患
    Mix("IU1", ("M17", "M16", "M19"), (0, 0.3, 1, 1.5), 9, 0.9),           # 骨病及其他关节病
    Mix("IR2", ("S72",), (0, 0.1, 0.3, 1), 12, 1.3),                       # 股骨骨折
    Mix("KS1", ("E11", "E10"), (0.1, 0.6, 3, 3), 9, 1.0),                  # 糖尿病
    Mix("LR1", ("N18", "N17"), (0, 0.3, 1, 1.5), 10, 1.3),                 # 肾功能不全
    Mix("LU1", ("N39", "N10"), (0.5, 0.8, 0.8, 1.5), 7, 0.8),              # 肾及尿路感染
    Mix("LX1", ("N20", "N13"), (0, 1, 1, 0.5), 5, 0.8),                    # 尿路结石
    Mix("JU1", ("L03", "L02"), (0.5, 0.8, 0.5, 0.5), 7, 0.8),              # 感染性皮肤病
    Mix("DT1", ("J06", "J03", "H66"), (6, 1, 0.5, 0.5), 5, 0.6),           # 中耳炎及上呼吸道感染
    Mix("QS4", ("D64",), (0, 0.3, 0.4, 0.8), 8, 0.9),                      # 其他贫血
    Mix("SR1", ("A41",), (0.3, 0.3, 0.5, 1), 12, 1.8),                     # 败血症
    Mix("SU1", ("B34", "B01", "B08"), (3, 0.5, 0.2, 0.2), 5, 0.6),         # 病毒性疾患
    Mix("ST1", ("R50",), (1, 0.3, 0.3, 0.3), 5, 0.7),                      # 原因不明的发热
    Mix("TS1", ("F32", "F33"), (0, 0.6, 0.4, 0.2), 20, 0.9),               # 重大的情感障碍
    Mix("TR1", ("F20",), (0, 0.5, 0.3, 0.1), 30, 0.8),                     # 精神分裂症
    Mix("XR2", ("Z50",), (0, 0.2, 0.6, 1), 20, 0.9),                       # 神经、骨骼及肌肉康复
    # 操作组 and 外科组 (procedure and surgical)
    Mix("FM1", ("I21", "I25", "I20"), (0, 0.3, 2, 2.5), 6, 2.5, procedures=("36.06", "36.07")),           # 经皮冠状动脉支架植入
    Mix("FK3", ("I44", "I49"), (0, 0, 0.2, 0.5), 7, 2.5),                  # 永久性起搏器植入
    Mix("GK2", ("K31", "K22", "K25"), (0, 0.3, 0.8, 0.8), 4, 1.0),         # 胃镜治疗操作
    Mix("GK3", ("K63", "D12"), (0, 0.8, 2, 1.5), 3, 0.9),                  # 结肠镜治疗操作
    Mix("LL1", ("N18",), (0, 0.1, 0.3, 0.3), 5, 1.0),                      # 肾透析
    Mix("RE1", ("Z51",), (0, 1, 5, 5), 5, 2.0, procedures=("99.25",)),                      # 恶性增生性疾患的化学治疗
    Mix("GD2", ("K35", "K36", "K37"), (4, 6, 2, 1), 6, 1.0, procedures=("47.01", "47.09")),             # 阑尾切除术
    Mix("HC2", ("K80", "K81"), (0, 4, 6, 4), 6, 1.2, procedures=("51.23", "51.22")),                      # 胆囊切除手术
    Mix("GE1", ("K40",), (1.6, 2, 3, 3), 4, 1.0, procedures=("53.0", "17.1")),                      # 腹股沟及腹疝手术
    Mix("GF1", ("K64", "K60", "K61"), (0, 4, 3, 1), 5, 0.8, procedures=("49.46", "49.1", "49.0")),           # 肛管、肛门及肛周手术
    Mix("GB1", ("C16",), (0, 0.2, 1.2, 1.6), 16, 3.0, procedures=("43.5", "43.6", "43.7", "43.8", "43.9")),                     # 食管、胃、十二指肠大手术
    Mix("GB2", ("C18", "C20"), (0, 0.2, 1.4, 2), 16, 3.0, procedures=("45.7", "48.5", "48.6", "17.3")),                 # 小肠、大肠的大手术
    Mix("EB1", ("C34",), (0, 0.2, 1.2, 1.2), 12, 3.0, procedures=("32.4", "32.3")),                     # 肺大手术
    Mix("IC2", ("M16", "M17"), (0, 0.2, 2, 5), 12, 3.0, procedures=("81.51", "81.54")),                 # 髋、膝关节置换术
    Mix("IF3", ("S72",), (0, 0.6, 0.8, 3), 12, 2.5, procedures=("79.35", "79.15")),                     # 股骨手术
    Mix("IF1", ("S42", "S52"), (1.6, 3, 2, 1.6), 8, 1.8, procedures=("79.31", "79.32", "79.12")),                # 上肢骨手术
    Mix("IF4", ("S82",), (0.6, 2.4, 1.6, 1), 9, 1.8, procedures=("79.36", "79.16")),                    # 除股骨以外的下肢骨手术
    Mix("IB3", ("M51",), (0, 1.6, 1.6, 1), 10, 2.0, procedures=("80.51", "03.09")),                     # 与脊柱有关的其他手术
    Mix("CB3", ("H25", "H26"), (0, 0.2, 2, 6), 3, 1.2, procedures=("13.41", "13.71", "13.19")),                    # 晶体手术
    Mix("DE2", ("J35",), (4, 1, 0, 0), 4, 0.9, procedures=("28.2", "28.3", "28.6")),                          # 扁桃体和／或腺样体切除手术
    Mix("DD2", ("J32", "J33", "J34"), (0.6, 2, 1.6, 0.6), 5, 1.0, procedures=("22.", "21.5", "21.31")),         # 鼻腔、鼻窦手术
    Mix("FF1", ("I83",), (0, 0.8, 1.6, 1), 7, 1.2, procedures=("38.59", "38.69")),                      # 大隐静脉和小隐静脉手术
    Mix("LC1", ("N20",), (0, 1.6, 1.6, 0.8), 6, 1.5),                      # 输尿管手术
    Mix("JA2", ("C50",), (0, 0.6, 1.6, 0.8), 12, 2.5, sex=2),              # 乳房恶性肿瘤根治性切除术
    Mix("NC1", ("D25",), (0, 2, 3, 0.4), 7, 1.5, sex=2, procedures=("68.29", "68.4", "68.3", "68.5")),                 # 子宫手术
    Mix("ND1", ("N83",), (0, 2.4, 1, 0.2), 5, 1.2, sex=2, procedures=("65.2", "65.0")),               # 附件手术
    Mix("NE1", ("N84", "N85"), (0, 1.6, 1.2, 0.4), 3, 0.9, sex=2, procedures=("68.29", "68.2")),         # 子宫腔内病变手术
    Mix("MB1", ("N40",), (0, 0, 1.6, 5), 8, 1.5, sex=1, procedures=("60.29", "60.2")),                 # 前列腺手术
    # 妊娠、分娩 (women 18–45; weights in the 15–44 band)
    Mix("OR1", ("Z37",), (0, 5, 0, 0), 3, 0.6, sex=2, obstetric=True),                # 阴道分娩
    Mix("OB1", ("O34", "O32", "O82"), (0, 4, 0, 0), 5, 1.0, sex=2, obstetric=True, procedures=("74.1",)),   # 剖宫产术
    Mix("OS2", ("O02", "O03"), (0, 1, 0, 0), 3, 0.6, sex=2, obstetric=True),          # 流产相关疾患
    Mix("OZ1", ("O21", "O20", "O47"), (0, 1.2, 0, 0), 4, 0.6, sex=2, obstetric=True), # 与妊娠有关的其他疾患
)
NEWBORN: tuple[Mix, ...] = (  # admissions in the first 28 days of life
    Mix("PU1", ("P59", "P39", "P92"), (8, 0, 0, 0), 6, 0.8, weight_g=(2600, 4100)),   # 足月儿
    Mix("PS3", ("P07",), (2, 0, 0, 0), 12, 1.5, weight_g=(2000, 2500)),               # 早产儿 2000–2499 g
)
# secondary diagnoses: MCC, CC and ordinary comorbidities (categories; each code as the tables rank it)
MCC_PREFIXES = ("J96", "N17", "R57", "A41", "J81", "K72", "E43")
CC_PREFIXES = ("E87", "D62", "D64", "N39", "I48", "E46", "J18", "M81")
PLAIN_PREFIXES = ("I10", "K21", "E78", "E11", "E03", "K76", "I25", "Z95", "M81", "J30", "K29")
# fmt: on
PER_PREFIX = 4  # codes of a category kept in a pool (the region's code table holds the common ones)
NO_SECONDARY = (
    "M",
    "N",
    "O",
    "P",
    "Y",
    "Z",
)  # MDCs a secondary diagnosis is not drawn from (sex, age, HIV, trauma)


@dataclass(frozen=True, slots=True)
class CodedStay:
    """An admission's coding: diagnoses and procedures principal first, birth weight, the ADRG drawn (the
    grouper decides the group), whether it is an operation or procedure group, and the cost factor."""

    adrg: str
    diagnoses: tuple[str, ...]
    procedures: tuple[str, ...]
    weight_g: int | None
    surgical: bool
    cost: float


@dataclass(frozen=True)
class Coder:
    """The mix's pools, checked against the grouper: principal diagnoses and procedures per ADRG and the
    secondary pools, from the codes the region names."""

    pack: DrgPack
    mix: tuple[Mix, ...]
    newborn: tuple[Mix, ...]
    dx: dict[str, tuple[str, ...]]
    px: dict[str, tuple[str, ...]]
    mcc: tuple[str, ...]
    cc: tuple[str, ...]
    plain: tuple[str, ...]


def _template(m: Mix, pdx: str, ppx: str | None) -> DrgCase:
    newborn = m.weight_g is not None
    return DrgCase(
        case_id="",
        gend=m.sex or 1,
        age=0 if newborn else 30 if m.obstetric else 50,
        age_days=5 if newborn else 0,
        diagnoses=(pdx,),
        procedures=(ppx,) if ppx else (),
        weight_g=m.weight_g[0] if m.weight_g else None,
        los=int(m.los),
    )


def _lands(pack: DrgPack, m: Mix, pdx: str, ppx: str | None) -> bool:
    g = group_case(_template(m, pdx, ppx), pack)
    return g.status == OK and g.adrg == m.adrg


def principal_candidates(pack: DrgPack, m: Mix, codes) -> list[str]:
    """The codes (sorted) of the mix's categories that the ADRG's (or, without one, its MDC's) list holds."""
    rule = rules_by_code(pack)[m.adrg]
    allowed = rule.principal_dx or rule.any_dx or pack.mdc_lists[m.adrg[0]]
    return sorted(c for c in codes if c[:3] in m.prefixes and c in allowed and c in pack.mdc_lists[m.adrg[0]])


def procedure_candidates(pack: DrgPack, m: Mix, codes) -> list[str]:
    """The codes (sorted) of the ADRG's principal-procedure list (or its first procedure table)."""
    rule = rules_by_code(pack)[m.adrg]
    if rule.kind == MEDICAL:
        return []
    listed = rule.principal_px or (rule.all_px[0] if rule.all_px else None)
    if listed is None and rule.alternatives:
        listed = rule.px_tables[rule.alternatives[0][0]]
    found = sorted(c for c in codes if c in (listed or ()))
    preferred = [c for c in found if c.startswith(m.procedures)] if m.procedures else []
    return preferred or found


def pools(pack: DrgPack, m: Mix, dx_codes, px_codes) -> tuple[list[str], list[str]]:
    """The principal diagnoses and procedures of ``m`` among the codes given, each checked with the grouper:
    a plain case of the diagnosis with a procedure of the ADRG (anchor: the first that takes any of the
    first candidates) lands in the ADRG."""
    dx = principal_candidates(pack, m, dx_codes)
    px = procedure_candidates(pack, m, px_codes)
    anchor = None
    if px:
        anchor = next((p for p in px[:20] if any(_lands(pack, m, c, p) for c in dx[:20])), None)
        if anchor is None:
            return [], []
    dx = [c for c in dx if _lands(pack, m, c, anchor)]
    return dx, [p for p in px if dx and _lands(pack, m, dx[0], p)]


_RULES: dict[str, dict[str, AdrgRule]] = {}


def rules_by_code(pack: DrgPack) -> dict[str, AdrgRule]:
    """The pack's ADRG rules by code (kept per pack hash)."""
    if pack.pack_hash not in _RULES:
        _RULES[pack.pack_hash] = {r.code: r for rules in pack.rules.values() for r in rules}
    return _RULES[pack.pack_hash]


def prepare(pack: DrgPack, dx_codes, px_codes) -> Coder:
    """The pools of :data:`MIX` and :data:`NEWBORN` from the codes the region names (``dx_codes`` ICD-10,
    ``px_codes`` ICD-9-CM-3), each principal diagnosis checked to land in its ADRG; an ADRG left without
    one is dropped from the mix."""
    dx_codes, px_codes = sorted(set(dx_codes)), sorted(set(px_codes))
    dx: dict[str, tuple[str, ...]] = {}
    px: dict[str, tuple[str, ...]] = {}
    for m in (*MIX, *NEWBORN):
        principal, procedures = pools(pack, m, dx_codes, px_codes)
        if principal and (procedures or rules_by_code(pack)[m.adrg].kind == MEDICAL):
            dx[m.adrg], px[m.adrg] = tuple(principal), tuple(procedures)
    allowed = [c for c in dx_codes if not set(_mdcs(pack, c)) & set(NO_SECONDARY)]
    return Coder(
        pack=pack,
        mix=tuple(m for m in MIX if m.adrg in dx),
        newborn=tuple(m for m in NEWBORN if m.adrg in dx),
        dx=dx,
        px=px,
        mcc=_secondary(pack, allowed, MCC_PREFIXES, lambda c: pack.complications.get(c, (0,))[0] == MCC),
        cc=_secondary(pack, allowed, CC_PREFIXES, lambda c: pack.complications.get(c, (0,))[0] == CC),
        plain=_secondary(pack, allowed, PLAIN_PREFIXES, lambda c: c not in pack.complications),
    )


def _mdcs(pack: DrgPack, code: str) -> list[str]:
    return [m for m, codes in pack.mdc_lists.items() if code in codes]


def _secondary(pack: DrgPack, codes: list[str], prefixes: tuple[str, ...], keep) -> tuple[str, ...]:
    found: list[str] = []
    for prefix in prefixes:
        found += [c for c in codes if c[:3] == prefix and keep(c)][:PER_PREFIX]
    return tuple(found)


# --- drawing -------------------------------------------------------------------------------------------


def choose(rng: np.random.Generator, coder: Coder, male: np.ndarray, age: np.ndarray, age_days: np.ndarray):
    """The mix entry of each admission (indices into ``coder.mix + coder.newborn``) by age band and sex;
    newborns (under 29 days) from :data:`NEWBORN`."""
    entries = (*coder.mix, *coder.newborn)
    band = np.searchsorted(BANDS, age, side="right")
    fertile = ~male & (age >= FERTILE[0]) & (age <= FERTILE[1])
    newborn = age_days < NEONATE_DAYS
    out = np.zeros(age.size, dtype=np.int64)
    keys = band * 8 + male * 4 + fertile * 2 + newborn
    for key in np.unique(keys).tolist():
        idx = np.flatnonzero(keys == key)
        b, is_male, is_fertile, is_newborn = key // 8, bool(key & 4), bool(key & 2), bool(key & 1)
        w = np.array(
            [
                (m.weights[b] if not is_newborn else 0.0)
                * (m.sex is None or m.sex == (1 if is_male else 2))
                * (not m.obstetric or is_fertile)
                for m in coder.mix
            ]
            + [m.weights[0] if is_newborn else 0.0 for m in coder.newborn]
        )
        if not w.sum():  # (a newborn when the region names no newborn codes: the children's mix)
            w = np.array([m.weights[0] * (m.sex in (None, 1 if is_male else 2)) for m in entries])
        out[idx] = rng.choice(len(entries), idx.size, p=w / w.sum())
    return out


def stays(rng: np.random.Generator, coder: Coder, choice: np.ndarray, male, age, age_days) -> list[CodedStay]:
    """Each admission's codes for its mix entry, checked against the grouper with its real sex and age (a
    draw that would leave the ADRG is drawn again; after :data:`TRIES` it is kept as it is)."""
    entries = (*coder.mix, *coder.newborn)
    n = choice.size
    u = rng.random((n, 6))
    severity = np.where(u[:, 0] < MCC_SHARE, MCC, np.where(u[:, 0] < MCC_SHARE + CC_SHARE, CC, 5))
    extra = np.minimum(rng.poisson(np.where(age >= 60, 1.6, np.where(age >= 15, 0.8, 0.3))), 4)
    weight = rng.integers(0, 1 << 30, n)
    out = []
    for k in range(n):
        m = entries[choice[k]]
        out.append(
            _stay(
                coder, m, bool(male[k]), int(age[k]), int(age_days[k]), u[k], severity[k], extra[k], weight[k]
            )
        )
    return out


def _stay(coder: Coder, m: Mix, male: bool, age: int, age_days: int, u, severity, extra, seed) -> CodedStay:
    pack = coder.pack
    pool, procedures = coder.dx[m.adrg], coder.px[m.adrg]
    ppx = procedures[int(u[2] * len(procedures))] if procedures else None
    start = int(u[1] * len(pool))
    weight = m.weight_g[0] + int(seed) % (m.weight_g[1] - m.weight_g[0]) if m.weight_g else None
    for attempt in range(TRIES):
        pdx = pool[(start + attempt) % len(pool)]
        others = _secondaries(coder, pdx, int(severity), int(extra), u[3:], attempt)
        case = DrgCase(
            case_id="",
            gend=1 if male else 2,
            age=age,
            age_days=age_days if age_days < INFANT_DAYS else 0,
            diagnoses=(pdx, *others),
            procedures=(ppx,) if ppx else (),
            weight_g=weight,
            los=int(m.los),
        )
        g = group_case(case, pack)
        if g.status == OK and g.adrg == m.adrg:
            break
    surgical = rules_by_code(pack)[m.adrg].kind != MEDICAL
    return CodedStay(m.adrg, case.diagnoses, case.procedures, weight, surgical, m.cost)


def _secondaries(coder: Coder, pdx: str, severity: int, extra: int, u, attempt: int) -> tuple[str, ...]:
    """``extra`` ordinary comorbidities and, for ``severity`` MCC or CC, one complication the principal
    diagnosis does not exclude; the later attempts drop the complication, then everything."""
    pack = coder.pack
    found: list[str] = []
    tables = pack.exclusions.get(pdx, frozenset())
    if attempt < 2 and severity != 5:
        pool = [
            c
            for c in (coder.mcc if severity == MCC else coder.cc)
            if c != pdx and pack.complications[c][1] not in tables
        ]
        if pool:
            found.append(pool[int(u[0] * len(pool))])
    if attempt < 3:
        step = max(len(coder.plain) // 3, 1)
        for j in range(min(extra, 4 - len(found))):
            c = (
                coder.plain[(int(u[1] * len(coder.plain)) + j * step) % len(coder.plain)]
                if coder.plain
                else None
            )
            if c and c != pdx and c not in found:
                found.append(c)
    return tuple(found)
