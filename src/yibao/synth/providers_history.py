"""The demo region's designated-provider history (定点医药机构协议管理), played through the provider services as
staff would have done it, deterministic from the seed:

1. applications over the year before and the year (申请): some accepted, evaluated by a panel and signed
   (their agreements from the next 1 January), some refused (materials missing, operating under 3 months),
   two still under evaluation, one waiting for materials (the clock stopped), one failing below the pass
   mark, one withdrawn;
2. one hospital's breach: 约谈, 限期整改, then its agreement suspended by sanction (中止) for a month in the next
   January; one private pharmacy's application to leave (申请解除, three months' notice) approved, its exit on
   the next 1 January (its 退出清算 statement then shows what the fund still owes it);
3. 医保医师备案: the doctors of a few hospitals registered under their agreements;
4. the year's annual assessment (年度考核), with the figures staff enter (complaints, 好差评, on-site
   inspection, daily management) drawn by quality tier so the grades spread like Xiaoshan's 2022 result
   (599 / 15 / 2 / 6 of 622: most 优秀 and 合格, a few 基本合格 and 不合格).

:func:`clear` removes it again (``yibao demo --replace``), leaving the loaded register's agreements.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, delete, select

from yibao.providers.scheme import ProviderScheme
from yibao.providers.service import agreements, applications, assessments, evaluations, staff
from yibao.providers.service.common import scheme_for
from yibao.providers.service.designations import rebuild
from yibao.providers.service.loading import LOADED_EXIT_REASON, LOADED_REASON, LOADED_TEMPLATE
from yibao.store.db import unit_of_work
from yibao.store.tables import (
    Designation,
    Institution,
    Practitioner,
    PractitionerRegistration,
    ProviderAgreement,
    ProviderApplication,
    ProviderAssessment,
    ProviderAssessmentSheet,
    ProviderAttachment,
    ProviderClockPause,
    ProviderEvaluation,
    ProviderEvaluationSheet,
    ProviderMeasure,
    ProviderStatusEvent,
)
from yibao.synth.store import Progress, no_progress
from yibao.validation import org_check_char, uscc_check_char

ACTOR = "yibao demo"
STREAM = 24  # this step's own random stream (issue 24), so it leaves the other steps' draws as they were
STAGE = "定点管理 providers"
CENT = Decimal("0.01")
# what becomes of each application (in this order, dates spread over the two years)
FATES = (
    ("signed",) * 3
    + ("no_materials",) * 4
    + ("too_young",) * 3
    + ("evaluating",) * 2
    + (
        "supplementing",
        "failed",
        "withdrawn",
    )
)
KINDS = {  # class → (fixmedins_type prefix of the name, USCC kind, services asked for)
    "hospital": ("医院", "52", ["S01", "S04", "S05"]),
    "clinic": ("诊所", "52", ["S03", "S04"]),
    "pharmacy": ("大药房", "91", ["S17"]),
}
NAMES = (
    "康宁",
    "仁和",
    "益民",
    "安泰",
    "同济",
    "惠康",
    "博爱",
    "济生",
    "百草",
    "华佗",
    "永安",
    "德仁",
    "春晖",
    "明德",
)
PANEL = [
    {"scorer_id": "E01", "name": "周专家", "role": "expert", "field": "医保管理"},
    {"scorer_id": "E02", "name": "吴专家", "role": "expert", "field": "信息技术"},
    {"scorer_id": "E03", "name": "郑专家", "role": "expert", "field": "医疗质控"},
    {"scorer_id": "S01", "name": "冯代表", "role": "supervisor", "field": "人大代表"},
    {"scorer_id": "S02", "name": "陈委员", "role": "supervisor", "field": "政协委员"},
]
# 年度考核 quality tiers: share of institutions (the first takes the rest), and the ranges the entered figures are drawn from —
# complaints (count), 好差评 share good, on-site inspection score, daily-management score
TIERS = (
    (0.90, (0, 1), (0.965, 0.995), (90, 99), (90, 99)),
    (0.06, (1, 3), (0.90, 0.95), (78, 88), (78, 88)),
    (0.025, (3, 6), (0.84, 0.89), (64, 72), (64, 72)),
    (0.015, (7, 10), (0.80, 0.83), (50, 60), (50, 60)),
)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour)


def write_history(
    engine: Engine, seed: int, year: int, admdvs: str, regions_dir: Path | None = None,
    progress: Progress = no_progress,
) -> Counter:  # fmt: skip
    """Play the history when the region has a provider scheme; what was done, by kind."""
    scheme = scheme_for(admdvs, regions_dir)
    done: Counter = Counter()
    if scheme is None:
        return done
    rng = np.random.default_rng([seed, STREAM])
    progress(STAGE, 0, 4)
    with unit_of_work(engine) as s:
        for i, fate in enumerate(FATES):
            done[_application(s, rng, scheme, admdvs, year, i, fate, regions_dir)] += 1
    progress(STAGE, 1, 4)
    with unit_of_work(engine) as s:
        done["suspended"] += _breach(s, rng, year, regions_dir)
        done["exited"] += _exit(s, year, regions_dir)
    progress(STAGE, 2, 4)
    with unit_of_work(engine) as s:
        done["registered"] += _registrations(s, rng, year)
    progress(STAGE, 3, 4)
    with unit_of_work(engine) as s:
        run = _assessment(s, rng, scheme, admdvs, year, regions_dir)
        done.update({f"grade {g}": n for g, n in run.distribution.items()})
    progress(STAGE, 4, 4)
    return done


# --- 1. applications -----------------------------------------------------------------------------------------


def _uscc(rng, kind: str, district: str) -> str:
    org = f"{int(rng.integers(10_000_000, 99_999_999)):08d}"
    first17 = f"{kind}{district}{org}{org_check_char(org)}"
    return first17 + uscc_check_char(first17)


def _org(rng, scheme: ProviderScheme, cls: str, i: int, submitted: date, fate: str) -> dict:
    suffix, uscc_kind, services = KINDS[cls]
    district = ("990102", "990103", "990104", "990112")[i % 4]
    opened = submitted - timedelta(
        days=int(rng.integers(20, 70) if fate == "too_young" else rng.integers(120, 900))
    )
    materials = list(scheme.application.required_materials[cls])
    if fate == "no_materials":  # one or two of the class's materials not filed
        for _ in range(1 + i % 2):
            materials.pop(int(rng.integers(0, len(materials))))
    name = f"示例市{NAMES[i % len(NAMES)]}{suffix}" + (f"第{i}分店" if cls == "pharmacy" else "")
    return {
        "name": name,
        "uscc": _uscc(rng, uscc_kind, district),
        "class": cls,
        "beds": int(rng.integers(40, 200)) if cls == "hospital" else None,
        "hosp_lv": "8" if cls == "hospital" else None,
        "dedc_hosp_lv": 1,
        "opened_on": opened.isoformat(),
        "licence_no": f"PDY{i:05d}X{district}A{int(rng.integers(1000, 9999))}",
        "licence_begndate": (opened - timedelta(days=30)).isoformat(),
        "licence_enddate": (opened + timedelta(days=5 * 365)).isoformat(),
        "departments": [] if cls == "pharmacy" else ["内科", "全科医疗科"],
        "staff": [{"name": "负责人", "qualification": "执业药师" if cls == "pharmacy" else "执业医师"}],
        "info_ready": True,
        "legal_rep": "法定代表人",
        "address": f"示例市{district}区{NAMES[(i + 5) % len(NAMES)]}路{i + 1}号",
        "materials": materials,
        "services": services,
    }


def _submitted(rng, year: int, fate: str, i: int) -> date:
    """The day an application came in: the signed ones in the year's second half (signed in December, from
    the next 1 January), those still open in the autumn, the refused and closed ones over both years."""
    if fate == "signed":
        return date(year, 7, 1) + timedelta(days=int(rng.integers(0, 100)))
    if fate in ("evaluating", "supplementing"):
        return date(year, 10, 20) + timedelta(days=int(rng.integers(0, 25)))
    return date(year - 1, 3, 1) + timedelta(days=int(rng.integers(0, 540)))


def _application(s, rng, scheme, admdvs: str, year: int, i: int, fate: str, regions_dir) -> str:
    cls = (
        ("hospital", "clinic", "pharmacy")[i % 3]
        if fate != "signed"
        else ("clinic", "pharmacy", "hospital")[i % 3]
    )
    day = _submitted(rng, year, fate, i)
    org = _org(rng, scheme, cls, i, day, fate)
    app = applications.submit(s, kind="apply", admdvs=admdvs, org=org, services=org["services"], actor="网上申请",
                              now=at(day), regions_dir=regions_dir)  # fmt: skip
    applications.accept(s, app.appl_no, actor=ACTOR, now=at(day, 15), regions_dir=regions_dir)
    if app.status == "refused":
        return "refused"
    if fate == "withdrawn":
        applications.withdraw(s, app.appl_no, actor="网上申请", now=at(day + timedelta(days=9)))
        return "withdrawn"
    if fate == "supplementing":
        applications.request_supplement(s, app.appl_no, asked=["信息系统对接承诺: 未加盖公章，请重新提交"],
                                        actor=ACTOR, now=at(day + timedelta(days=5)))  # fmt: skip
        return "supplementing"
    evaluations.appoint_panel(s, app.appl_no, scorers=PANEL, actor=ACTOR, now=at(day + timedelta(days=7)),
                              regions_dir=regions_dir)  # fmt: skip
    level = {"failed": 0.5, "evaluating": 0.8}.get(fate, float(rng.uniform(0.72, 0.9)))
    sheets = PANEL[:3] if fate == "evaluating" else PANEL  # the supervisors' sheets still to come
    for k, x in enumerate(sheets):
        scores = _sheet(rng, scheme, level)
        evaluations.record_sheet(s, app.appl_no, scorer_id=x["scorer_id"], scores=scores, actor=ACTOR,
                                 now=at(day + timedelta(days=20 + k)), regions_dir=regions_dir)  # fmt: skip
    if fate == "evaluating":
        return "evaluating"
    ev = evaluations.conclude_evaluation(s, app.appl_no, actor=ACTOR, now=at(day + timedelta(days=40)),
                                         regions_dir=regions_dir)  # fmt: skip
    if not ev.passed:
        return "failed"
    agreements.sign(s, app.appl_no, actor=ACTOR, begndate=date(year + 1, 1, 1),
                    now=at(date(year, 12, 10) + timedelta(days=i % 10)), regions_dir=regions_dir)  # fmt: skip
    return "signed"


def _sheet(rng, scheme: ProviderScheme, level: float) -> dict[str, Decimal]:
    """A scorer's sheet: each indicator near ``level`` of its full marks."""
    out = {}
    for ind in scheme.evaluation.indicators:
        share = min(1.0, max(0.0, level + float(rng.normal(0, 0.06))))
        out[ind.code] = (ind.max_points * Decimal(f"{share:.4f}")).quantize(CENT, rounding=ROUND_DOWN)
    return out


# --- 2. a breach and its measures ----------------------------------------------------------------------------


def _active_hospitals(s) -> list[Institution]:
    rows = s.scalars(
        select(Institution)
        .where(Institution.status == "active", Institution.fixmedins_type == "1", Institution.beds > 0)
        .order_by(Institution.fixmedins_code)
    ).all()
    return [i for i in rows if any(a.template_code == LOADED_TEMPLATE for a in _agreements(s, i))]


def _agreements(s, inst: Institution) -> list[ProviderAgreement]:
    return list(
        s.scalars(select(ProviderAgreement).where(ProviderAgreement.fixmedins_code == inst.fixmedins_code))
    )


def _breach(s, rng, year: int, regions_dir) -> int:
    """约谈 in November, 限期整改 to mid-December, then a month's 中止 by sanction from 5 January of the next
    year (after the generated year, whose visits were drawn without it: none is settled while suspended)."""
    hospitals = _active_hospitals(s)
    if not hospitals:
        return 0
    inst = hospitals[int(rng.integers(0, len(hospitals)))]
    code, reason = inst.fixmedins_code, "串换诊疗项目、超标准收费，经查属实"
    staff.record_measure(s, code, code="M1", reason=reason, actor=ACTOR, day=date(year, 11, 10),
                         now=at(date(year, 11, 10)), regions_dir=regions_dir)  # fmt: skip
    staff.record_measure(s, code, code="M2", reason=reason, actor=ACTOR, day=date(year, 11, 11),
                         deadline=date(year, 12, 15), now=at(date(year, 11, 11)), regions_dir=regions_dir)  # fmt: skip
    staff.record_measure(s, code, code="M7", reason="逾期未整改到位：" + reason, actor=ACTOR, day=date(year + 1, 1, 5),
                         months=1, now=at(date(year + 1, 1, 5)), regions_dir=regions_dir)  # fmt: skip
    rebuild(
        s, inst, today=date(year + 1, 1, 20), regions_dir=regions_dir
    )  # (its status as the demo's "now" sees it)
    return 1


def _exit(s, year: int, regions_dir) -> int:
    """The last private pharmacy (统一社会信用代码 of a company, 91/92) of the loaded register asks in September
    to leave on the next 1 January; approved at once."""
    pharmacies = s.scalars(
        select(Institution)
        .where(Institution.status == "active", Institution.fixmedins_type == "2", Institution.uscc.like("9%"))
        .order_by(Institution.fixmedins_code.desc())
    ).all()
    inst = next(
        (i for i in pharmacies if any(a.template_code == LOADED_TEMPLATE for a in _agreements(s, i))), None
    )
    if inst is None:
        return 0
    asked = date(year, 9, 20)
    app = applications.submit(s, kind="terminate", fixmedins_code=inst.fixmedins_code, actor=ACTOR, today=asked,
                              details={"exit_on": date(year + 1, 1, 1).isoformat(), "reason": "经营调整，申请退出医保定点"},
                              now=at(asked), regions_dir=regions_dir)  # fmt: skip
    applications.accept(s, app.appl_no, actor=ACTOR, now=at(asked, 15), regions_dir=regions_dir)
    applications.approve(
        s, app.appl_no, actor=ACTOR, now=at(asked + timedelta(days=5)), regions_dir=regions_dir
    )
    rebuild(s, inst, today=date(year + 1, 1, 20), regions_dir=regions_dir)  # (as the demo's "now" sees it)
    return 1


# --- 3. 医保医师备案 ---------------------------------------------------------------------------------------------


def _registrations(s, rng, year: int) -> int:
    """The doctors of four hospitals registered under their agreements in March."""
    hospitals = _active_hospitals(s)
    chosen = sorted(rng.choice(len(hospitals), size=min(4, len(hospitals)), replace=False).tolist())
    n = 0
    for k in chosen:
        inst = hospitals[k]
        if inst.status != "active":
            continue
        doctors = s.scalars(
            select(Practitioner)
            .where(Practitioner.fixmedins_code == inst.fixmedins_code, Practitioner.prac_type == "doctor")
            .order_by(Practitioner.prac_code)
            .limit(10)
        ).all()
        for j, doc in enumerate(doctors):
            day = max(date(year, 3, 1) + timedelta(days=j), inst.begndate)
            staff.register_practitioner(s, inst.fixmedins_code, prac_code=doc.prac_code, prac_name=doc.prac_name,
                                        actor=ACTOR, dept_code=doc.dept_code, qualification="执业医师",
                                        day=day, now=at(day))  # fmt: skip
            n += 1
    return n


# --- 4. the annual assessment ---------------------------------------------------------------------------------


def _tiers(rng, n: int) -> list[int]:
    """Each of ``n`` institutions' quality tier: the tiers' shares of ``n`` (each below the first at least
    one institution), dealt in a shuffled order."""
    counts = [max(1, round(share * n)) for share, *_ in TIERS[1:]]
    dealt = [0] * max(0, n - sum(counts)) + [k for k, c in enumerate(counts, 1) for _ in range(c)]
    return [dealt[j] for j in rng.permutation(len(dealt))][:n]


def _entered(rng, scheme: ProviderScheme, tier: int) -> dict[str, str]:
    """One institution's entered figures, by the manual indicators' order (K05 complaints, K06 好差评, K07
    on-site inspection, K08 daily management in the demo scheme), drawn from its tier's ranges."""
    complaints, good, inspection, daily = TIERS[tier][1:]
    drawn = [
        str(int(rng.integers(complaints[0], complaints[1] + 1))),
        f"{rng.uniform(*good):.3f}",
        f"{rng.uniform(*inspection):.1f}",
        f"{rng.uniform(*daily):.1f}",
    ]
    codes = [i.code for i in scheme.assessment_indicators if i.figure is None]
    return dict(zip(codes, drawn, strict=False))


def _assessment(s, rng, scheme: ProviderScheme, admdvs: str, year: int, regions_dir) -> ProviderAssessment:
    from yibao.store import provider_figures

    insts = provider_figures.in_force(s, admdvs, year)
    tiers = _tiers(rng, len(insts))
    manual = {i.fixmedins_code: _entered(rng, scheme, t) for i, t in zip(insts, tiers, strict=True)}
    return assessments.assess_year(s, admdvs, year, actor=ACTOR, manual=manual, regions_dir=regions_dir,
                                   now=at(date(year + 1, 1, 25)))  # fmt: skip


# --- clearing it again ----------------------------------------------------------------------------------------


def clear(s) -> None:
    """Remove the history (``yibao demo --replace``): applications and what hangs off them, the institutions
    they brought in, measures, suspensions, registrations and assessments; the loaded register's agreements
    stay, and the designation of an institution whose history is removed is rebuilt from them."""
    new = set(
        s.scalars(
            select(ProviderApplication.fixmedins_code).where(
                ProviderApplication.kind == "apply", ProviderApplication.fixmedins_code.is_not(None)
            )
        )
    )
    touched = set(
        s.scalars(
            select(ProviderStatusEvent.fixmedins_code).where(ProviderStatusEvent.reason != LOADED_REASON)
        )
    )
    appls = select(ProviderApplication.appl_no)
    evals = select(ProviderEvaluation.id)
    for stmt in (
        delete(ProviderAssessmentSheet),
        delete(ProviderAssessment),
        delete(PractitionerRegistration),
        delete(ProviderMeasure),
        delete(ProviderStatusEvent).where(ProviderStatusEvent.reason != LOADED_REASON),
        delete(ProviderEvaluationSheet).where(ProviderEvaluationSheet.evaluation_id.in_(evals)),
        delete(ProviderEvaluation),
        delete(ProviderClockPause).where(ProviderClockPause.appl_no.in_(appls)),
        delete(ProviderAttachment).where(ProviderAttachment.appl_no.in_(appls)),
        delete(ProviderAgreement).where(ProviderAgreement.template_code != LOADED_TEMPLATE),
        delete(ProviderApplication),
        delete(Designation).where(Designation.fixmedins_code.in_(new)),
        delete(Institution).where(Institution.fixmedins_code.in_(new)),
    ):
        s.execute(stmt)
    for a in s.scalars(  # a loaded agreement the history ended (an exit) stands again
        select(ProviderAgreement).where(
            ProviderAgreement.template_code == LOADED_TEMPLATE,
            ProviderAgreement.status == "terminated",
            ProviderAgreement.end_reason != LOADED_EXIT_REASON,
        )
    ).all():
        a.status, a.ended_on, a.end_reason = "active", None, None
        s.get(Institution, a.fixmedins_code).enddate = a.enddate
    for code in sorted(touched - new):
        inst = s.get(Institution, code)
        if inst is not None:
            rebuild(s, inst, today=date.today())
    s.flush()
