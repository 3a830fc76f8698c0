"""The enrollment rules an import applies to its rows (参保登记导入校验), set-based over a chunk: the same rules
:func:`yibao.enrollment.service.enroll` applies to one clerk's enrollment."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from yibao.enrollment import rules
from yibao.enrollment.checks_data import checks_for
from yibao.errors import InputError, PolicyError
from yibao.ingest.report import ImportReport, Rejection
from yibao.store.bulk import in_
from yibao.store.tables import Employer, Person


def _label(where: str, insutype: str, begndate, enddate) -> str:
    scheme = rules.INSUTYPE_NAMES.get(insutype, f"险种 {insutype}")
    return f"{where}：{scheme}，自 {begndate}{'' if enddate is None else ' 至 ' + str(enddate)}"


def _plausible(row: dict, brdy, gend: str, today) -> list[tuple[str, str]]:
    """The business checks a clerk's enrollment passes (业务校验, the region's data): 参保日期 not before birth
    nor beyond the lead time, 人员类别 consistent with the age on that date — the same rules as the services."""
    checks = checks_for(row["insuplc_admdvs"])
    for check, args in (
        (rules.check_date, ("begndate", "参保日期", row["begndate"], checks, today, brdy)),
        (rules.check_category_age, (checks, row["insutype"], row["psn_type"], brdy, gend, row["begndate"])),
    ):
        try:
            check(*args)
        except InputError as exc:
            field, _, reason = exc.message.partition(": ")
            return [(field, reason)]  # (the first: an age on a date before birth says nothing more)
    return []


def check_enrollments(
    session, chunk: list[tuple[int, dict]], report: ImportReport, stored: list[dict]
) -> list:
    """The rules :func:`yibao.enrollment.service.enroll` applies, set-based over a chunk: the person exists
    and is alive at the start, the employer exists, the category belongs to the insutype, the flexible base
    is within the bounds, one basic insurance at a time (against ``stored``, the persons' enrollments in the
    database, and the earlier lines), and the waiting period after a break (or a 居民 registered outside
    the window, when 登记日期 is given)."""
    from yibao.policy.registry import get_bundle

    persons = {row["psn_no"] for _, row in chunk}
    people = {
        p: (death, brdy, gend)
        for p, death, brdy, gend in session.execute(
            select(Person.psn_no, Person.death_date, Person.brdy, Person.gend).where(
                in_(session, Person.psn_no, persons)
            )
        )
    }
    known = {p: v[0] for p, v in people.items()}
    missing = [(line, row) for line, row in chunk if row["psn_no"] not in known]
    report.rejected.extend(
        Rejection(line, "psn_no", f"人员不存在 (import persons first): {row['psn_no']}")
        for line, row in missing
    )
    if missing:
        chunk = [(line, row) for line, row in chunk if row["psn_no"] in known]
    dead = {p: d for p, d in known.items() if d is not None}
    emps = {row["emp_no"] for _, row in chunk if row.get("emp_no")}
    names = (
        dict(
            session.execute(
                select(Employer.emp_no, Employer.emp_name).where(in_(session, Employer.emp_no, emps))
            ).all()
        )
        if emps
        else {}
    )
    # a person's basic enrollments: (key, where, period); ``where`` is "登记号 <id>" or "第<n>行"
    held: dict[str, list[tuple[tuple, str, rules.Period]]] = {}
    for r in stored:
        if r["insutype"] in rules.BASIC and r["psn_insu_stas"] in rules.HOLDING:
            held.setdefault(r["psn_no"], []).append(
                (
                    (r["psn_no"], r["insutype"], r["begndate"]),
                    f"登记号 {r['id']}",
                    rules.Period(r["begndate"], r["enddate"]),
                )
            )
    BASIC, HOLDING = rules.BASIC, rules.HOLDING
    today = date.today()
    bundles: dict[str, object] = {}
    policies: dict[tuple[str, object], object] = {}  # (admdvs, day) → the contribution policy in force
    out = []
    for line, row in chunk:
        bad: list[tuple[str, str]] = []
        psn, insutype, begndate = row["psn_no"], row["insutype"], row["begndate"]
        if psn in dead and dead[psn] <= begndate:
            bad.append(("begndate", f"人员已于 {dead[psn]} 死亡"))
        bad += _plausible(row, *people[psn][1:], today)
        emp = row.get("emp_no")
        if emp:
            if emp not in names:
                bad.append(("emp_no", f"单位不存在 (import employers first): {emp}"))
            elif not row.get("emp_name"):
                row["emp_name"] = names[emp]
        admdvs = row["insuplc_admdvs"]
        bundle = bundles.get(admdvs)
        if bundle is None:
            try:
                bundle = bundles[admdvs] = get_bundle(admdvs)
            except PolicyError as exc:
                bundle = bundles[admdvs] = exc
        if isinstance(bundle, PolicyError):
            bad.append(("insuplc_admdvs", bundle.message.split(": ", 1)[-1]))
            bundle = None
        elif bundle.category_index(insutype, row["psn_type"]) is None:
            bad.append(("psn_type", f'人员类别 "{row["psn_type"]}" 不属于险种 {insutype}'))
        basic = insutype in BASIC and row["psn_insu_stas"] in HOLDING
        key = (psn, insutype, begndate)
        mine = held.get(psn) if basic else None
        others = [h for h in mine if h[0] != key] if mine else ()
        if others:
            period = rules.Period(begndate, row["enddate"])
            for k, where, p in others:
                if p.overlaps(period):
                    label = _label(where, k[1], p.begndate, p.enddate)
                    bad.append(
                        ("insutype", f"与现有参保登记重叠 ({label})；一人同时只能参加一项基本医疗保险")
                    )
                    break
        policy = None
        if bundle is not None and not bad:
            day = max(begndate, row.get("registered") or begndate)
            policy = policies.get((admdvs, day), False)
            if policy is False:
                ver = bundle.version_index(day)
                policy = policies[(admdvs, day)] = (
                    bundle.policies[ver].contribution if ver is not None else None
                )
            if row.get("flexible_base") is not None and policy is not None:
                try:
                    rules.flexible_contribution(row["flexible_base"], policy)
                except InputError as exc:
                    bad.append(("flexible_base", exc.message.split(": ", 1)[-1]))
        if bad:
            report.rejected.extend(Rejection(line, f, r) for f, r in bad)
            continue
        row["wait_until"] = None
        registered = row["registered"]
        if basic and policy is not None and (others or registered is not None):  # else: nothing to wait for
            ended = [p.enddate for _, _, p in others if p.enddate is not None and p.enddate < begndate]
            row["wait_until"] = rules.waiting_until(
                begndate,
                policy,
                registered=registered,
                insutype=insutype,
                previous_end=max(ended) if ended else None,
            )
        if basic:
            held[psn] = [*others, (key, f"第{line}行", rules.Period(begndate, row["enddate"]))]
        out.append((line, row))
    return out
