"""签约与续签 (signing and renewal): an application that passed its evaluation becomes a main agreement
(主协议) for the granted service categories — a subset of those asked for, each one the institution's class
may have — with the supplementary agreements (补充协议, the "N") those categories need, for the first term
(12 months); a renewal continues the latest agreement for the renewal term. Each agreement's document is the
region's template filled and rendered (:mod:`.documents`), its SHA-256 stored."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from yibao.audit_actions import Action
from yibao.errors import InputError
from yibao.providers.evaluation import passed
from yibao.providers.scheme import ProviderScheme, institution_class
from yibao.providers.service import documents
from yibao.providers.service.common import AGREEMENT, ONE_DAY, record, require_scheme, term_end
from yibao.providers.service.designations import ENDED, coverage, rebuild
from yibao.providers.states import (
    AGREEMENT_TRANSITIONS,
    AgreementAction,
    AgreementStatus,
    ApplicationAction,
    application_transition,
    transition,
)
from yibao.store import providers as store
from yibao.store.tables import Institution, ProviderAgreement, ProviderApplication, ProviderStatusEvent

NO_TEMPLATE = "none"  # a region without agreement templates: the agreement has no document


def granted_services(
    scheme: ProviderScheme, cls: str, asked: list[str], granted: list[str] | None
) -> list[str]:
    """The categories granted: those asked for unless fewer are named; each asked for and allowed for the
    class, in the scheme's order."""
    chosen = list(asked if granted is None else granted)
    if not chosen:
        raise InputError("services: 没有开通的医保服务类别")
    for code in chosen:
        found = scheme.services.get(code)
        if found is None:
            raise InputError(f"services: 未知的医保服务类别 {code}")
        if code not in asked:
            raise InputError(f"services: {found.name}（{code}）不在申请的服务类别之中")
        if cls not in found.classes:
            raise InputError(f"services: {scheme.classes.get(cls, cls)}不能开通 {found.name}（{code}）")
    order = list(scheme.services)
    return sorted(set(chosen), key=order.index)


def sign(
    s,
    appl_no: str,
    *,
    actor: str,
    granted: list[str] | None = None,
    begndate: date | None = None,
    fixmedins_code: str | None = None,
    now: datetime | None = None,
    regions_dir: Path | None = None,
) -> ProviderAgreement:
    """签约: the passed application's main agreement (and supplementary ones) from ``begndate`` (default: the
    signing day) for the first term; a new institution is entered in the register (``fixmedins_code`` given,
    or the next free one). Refused below the pass mark."""
    now = now or datetime.now()
    day = now.date()
    app = store.locked_application(s, appl_no)
    if app.kind != "apply":
        raise InputError(f"kind: {appl_no} 不是定点申请，不能签约")
    after = application_transition(app.kind, app.status, ApplicationAction.SIGN)
    scheme = require_scheme(app.admdvs, regions_dir)
    ev = store.evaluation_of(s, appl_no)
    if ev is None or ev.result is None:
        raise InputError(f"appl_no: {appl_no} 尚无评估结果，不能签约")
    if not passed(Decimal(ev.result), scheme.evaluation):
        raise InputError(f"result: 评估得分 {ev.result} 低于合格分 {scheme.evaluation.pass_mark}，不能签约")
    org = dict(app.org)
    cls = org.get("class") or institution_class("1", org.get("beds"))
    services = granted_services(scheme, cls, list(app.services), granted)
    inst = _institution(s, app, org, cls, fixmedins_code or app.fixmedins_code, begndate or day)
    begin = begndate or day
    main, supps = _write(s, inst, org | {"fixmedins_code": inst.fixmedins_code}, scheme, cls, services,
                         begin, term_end(begin, scheme.application.first_term_months), app, actor, now,
                         regions_dir)  # fmt: skip
    app.status, app.fixmedins_code, app.decided_on = after, inst.fixmedins_code, day
    app.updated_by, app.updated_at = actor, now
    s.add(ProviderStatusEvent(fixmedins_code=inst.fixmedins_code, agreement_no=main.agreement_no, from_status=None,
                              to_status=AgreementStatus.ACTIVE, measure="signing", reason="签订医保服务协议",
                              begndate=begin, enddate=main.enddate, actor=actor, at=now))  # fmt: skip
    s.flush()
    rebuild(s, inst, today=day, regions_dir=regions_dir)
    record(s, Action.SIGN, AGREEMENT, main.agreement_no, actor=actor, at=now,
           after=_summary(main, supps) | {"appl_no": appl_no})  # fmt: skip
    return main


def _institution(
    s, app: ProviderApplication, org: dict, cls: str, code: str | None, begin: date
) -> Institution:
    """The institution signing: the register's row, or a new one from the application."""
    if code:
        inst = s.get(Institution, code)
        if inst is not None:
            inst = store.locked_institution(s, code)
            for a in store.agreements_of(s, code, "main"):
                _, last = coverage(a)
                if a.status not in ENDED and (last is None or last >= begin):
                    raise InputError(
                        f"fixmedins_code: {code} 已有有效的医保服务协议 {a.agreement_no}，请办理续签"
                    )
            return inst
    prefix = ("P" if cls == "pharmacy" else "H") + app.admdvs
    code = code or store.next_number(s, Institution.fixmedins_code, prefix, 12 - len(prefix))
    inst = Institution(
        fixmedins_code=code,
        fixmedins_name=str(org.get("name") or code)[:100],
        fixmedins_type="2" if cls == "pharmacy" else "1",
        hosp_lv=org.get("hosp_lv"),
        dedc_hosp_lv=int(org.get("dedc_hosp_lv") or 1),
        admdvs=app.admdvs,
        uscc=org.get("uscc"),
        status="active",
        begndate=begin,
        address=org.get("address"),
        beds=org.get("beds"),
    )
    s.add(inst)
    s.flush()
    return inst


def _write(s, inst, org, scheme, cls, services, begin, end, app, actor, now, regions_dir):
    """The main agreement and its supplementary ones, with their documents."""
    code = inst.fixmedins_code
    main_no = store.next_number(s, ProviderAgreement.agreement_no, f"XY{code}-", 2)
    templates, region_name = documents.templates_for(inst.admdvs, regions_dir)

    def make(no, kind, template, granted, main=None, supp_code=None):
        doc = documents.Document(NO_TEMPLATE, "-", None, None)
        if template is not None:
            facts = documents.facts_of(org, agreement_no=no, main_no=main, begndate=begin, enddate=end,
                                       services=granted, scheme=scheme, region_name=region_name, day=now.date())  # fmt: skip
            doc = documents.render(template, facts)
        a = ProviderAgreement(
            agreement_no=no, fixmedins_code=code, kind=kind, main_no=main, supp_code=supp_code,
            appl_no=app.appl_no if app else None, template_code=doc.template_code,
            template_version=doc.template_version, begndate=begin, enddate=end, services=granted,
            status=AgreementStatus.ACTIVE, document=doc.pdf, document_sha256=doc.sha256, signed_by=actor,
            signed_at=now,
        )  # fmt: skip
        s.add(a)
        return a

    main = make(main_no, "main", templates.main_for(cls, begin) if templates else None, services)
    supps = []
    needs: dict[str, list[str]] = {}
    for c in services:
        if scheme.services[c].supplementary:
            needs.setdefault(scheme.services[c].supplementary, []).append(c)
    for i, (supp, codes) in enumerate(sorted(needs.items()), start=1):
        template = templates.on(supp, begin) if templates else None
        supps.append(make(f"{main_no}-N{i}", "supplementary", template, codes, main_no, supp))
    s.flush()
    return main, supps


def _summary(main: ProviderAgreement, supps: list[ProviderAgreement]) -> dict:
    return {
        "fixmedins_code": main.fixmedins_code,
        "services": main.services,
        "begndate": main.begndate,
        "enddate": main.enddate,
        "template": f"{main.template_code} {main.template_version}",
        "document_sha256": main.document_sha256,
        "supplementary": {a.agreement_no: a.supp_code for a in supps},
    }


def org_of(s, inst: Institution) -> dict:
    """The institution's facts for a document: its latest application's, updated from the register."""
    latest = next(
        (a for a in store.applications_of(s, inst.fixmedins_code) if a.kind in ("apply", "change")), None
    )
    org = dict(latest.org) if latest else {}
    if latest and latest.kind == "change":
        org |= (latest.details or {}).get("changes", {})
    return org | {
        "name": inst.fixmedins_name,
        "fixmedins_code": inst.fixmedins_code,
        "uscc": inst.uscc,
        "address": inst.address,
    }


def renew(
    s,
    fixmedins_code: str,
    *,
    actor: str,
    services: list[str] | None = None,
    appl_no: str | None = None,
    now: datetime | None = None,
    regions_dir: Path | None = None,
) -> ProviderAgreement:
    """续签: a new main agreement (and supplementary ones) from the day after the latest one ends, for the
    renewal term, with its services (or ``services``, each allowed for the class). Refused when the latest
    annual assessment's grade says no renewal."""
    now = now or datetime.now()
    inst = store.locked_institution(s, fixmedins_code)
    scheme = require_scheme(inst.admdvs, regions_dir)
    mains = [a for a in store.agreements_of(s, fixmedins_code, "main") if a.status not in ENDED]
    if not mains:
        raise InputError(f"fixmedins_code: {fixmedins_code} 没有可续签的医保服务协议")
    latest = max(mains, key=lambda a: a.begndate)
    if latest.enddate is None:
        raise InputError(f"fixmedins_code: 协议 {latest.agreement_no} 长期有效，无需续签")
    transition(AGREEMENT_TRANSITIONS, latest.status, AgreementAction.RENEW)
    grade = store.latest_grade(s, fixmedins_code, latest.enddate.year - 1) or store.latest_grade(
        s, fixmedins_code, latest.enddate.year
    )
    if grade and grade in scheme.consequences and not scheme.consequences[grade].renew:
        band = next((b.name for b in scheme.bands if b.grade == grade), grade)
        raise InputError(f"fixmedins_code: 年度考核为{band}，不予续签")
    cls = institution_class(inst.fixmedins_type, inst.beds)
    allowed = list(scheme.services_for(cls))
    chosen = granted_services(scheme, cls, allowed, services or [c for c in latest.services if c in allowed])
    begin = latest.enddate + ONE_DAY
    app = store.locked_application(s, appl_no) if appl_no else None
    main, supps = _write(s, inst, org_of(s, inst), scheme, cls, chosen, begin,
                         term_end(begin, scheme.application.renewal_term_months), app, actor, now, regions_dir)  # fmt: skip
    s.add(ProviderStatusEvent(fixmedins_code=fixmedins_code, agreement_no=main.agreement_no,
                              from_status=latest.status, to_status=AgreementStatus.ACTIVE, measure="renewal",
                              reason="续签医保服务协议", begndate=begin, enddate=main.enddate, actor=actor, at=now))  # fmt: skip
    s.flush()
    rebuild(s, inst, today=now.date(), regions_dir=regions_dir)
    record(s, Action.RENEW, AGREEMENT, main.agreement_no, actor=actor, at=now,
           before={"agreement_no": latest.agreement_no, "enddate": latest.enddate},
           after=_summary(main, supps) | {"appl_no": appl_no})  # fmt: skip
    return main
