"""事前 / 事中 warnings (事前提醒 3101, 事中审核 3102 and the inline checks): one visit's facts, with the person's
recent history, through the library's online rules; each finding given to the HIS under a ``jr_id`` and kept
as an :class:`~yibao.store.tables.AuditWarning`, which 3103 answers (supervision.md §4).

A 3101/3102 encounter is either a visit the HIS registered (2201/2401: its stored lines and diagnoses are read,
the request's orders are added as new lines) or one it has not (the request's data alone, with the person's
stored history). The person is always the stored one: sex, birth and death dates come from the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from yibao.audit_actions import Action
from yibao.errors import InputError, NotFound, SettlementError, quote
from yibao.store import audit
from yibao.store import audit_warnings as aw
from yibao.store.audit_view import VisitContext
from yibao.store.uow import UnitOfWork
from yibao.supervision.frame import Frame, frame_from_rows
from yibao.supervision.service.issued import Issued, catalogue_types, context_reads, issue, library_of, record

# 触发场景 (trig_scen) of 3101/3102 → the inline scene whose action (warn / block) a finding reports
TRIG_SCENES = {
    "1": ("门诊挂号", "upload"),
    "2": ("门诊收费登记", "upload"),
    "3": ("住院登记", "upload"),
    "4": ("住院收费登记", "upload"),
    "5": ("住院执行医嘱", "upload"),
    "6": ("门诊结算", "settle"),
    "7": ("门诊预结算", "settle"),
    "8": ("住院结算", "settle"),
    "9": ("住院预结算", "settle"),
}
WARN_TYPES = {"1": "事前", "2": "事中"}
DSPO_WAYS = {"1": "继续执行", "2": "返回修改"}


@dataclass(frozen=True)
class Order:
    """One ``fsi_order_dtos`` row (处方 / 医嘱) in kernel units: a line the rules see."""

    rx_id: str
    med_list_codg: str
    cnt: int  # 1e-4 units
    pric: int  # micro-yuan
    amt: int  # fen
    list_type: str | None = None  # hilist_type (the catalogue's, when it knows the code)
    chrg_type: str | None = None  # med_chrgitm_type (the catalogue's, when it knows the code)
    fee_ocur_time: datetime | None = None  # drord_begn_date (else the encounter's first day)
    dept_code: str | None = None
    dr_code: str | None = None


@dataclass(frozen=True)
class Encounter:
    """One ``fsi_encounter_dtos`` row; ``path`` names it in refusals."""

    mdtrt_id: str
    path: str
    med_type: str
    begntime: datetime
    endtime: datetime | None = None
    insutype: str | None = None
    dept_code: str | None = None
    atddr_no: str | None = None
    dise_codg: str | None = None  # principal diagnosis
    diagnoses: tuple[str, ...] = ()  # every diagnosis given (none: the stored ones stand)
    operations: tuple[tuple[str, int], ...] = ()  # (code, main 1/0)
    orders: tuple[Order, ...] = ()


@dataclass(frozen=True)
class Patient:
    """One ``patient_dtos`` row: the person (``patn_id`` = psn_no) and encounters. ``current``: the encounter
    findings are given for (``curr_mdtrt_id``; the others are context), None: all of them."""

    psn_no: str
    path: str
    encounters: tuple[Encounter, ...]
    current: str | None = None


# --- 3101 / 3102 ----------------------------------------------------------------------------------------------


def check_rule_ids(uow: UnitOfWork, rule_ids: list[tuple[str, str]]) -> set[str]:
    """``rule_ids`` as (path, code): each an enabled rule that runs online, or refused by its path."""
    library, engine = library_of(uow)
    for path, code in rule_ids:
        rule = library.rules.get(code)
        if rule is None:
            raise NotFound(f"{path}: 规则不存在 {quote(code)}")
        if not rule.enabled:
            raise InputError(f"{path}: 规则 {code} 已停用")
        if code not in engine.library.rules:
            raise InputError(f"{path}: 规则 {code} 只能用于事后审核 (batch only: needs the whole period)")
    return {code for _, code in rule_ids}


def analyse(
    uow: UnitOfWork,
    ctx,
    patients: list[Patient],
    *,
    stage: str | None,
    codes: set[str] | None,
    scene: str,
    infno: str,
    warn_type: str,
) -> list[Issued]:
    """3101 事前 (``stage`` pre) / 3102 事中 (mid) analysis, or only the rules ``codes`` (``stage`` None): each
    patient's encounters through the online rules; the warnings are recorded and returned in order. Two round
    trips: the persons, the encounters as stored and the orders' catalogue rows; then each encounter's
    context."""
    _, engine = library_of(uow)
    types = catalogue_types(uow)
    known = _read_facts(uow, ctx, patients)
    visits = {e.path: _visit(ctx, p, e, known) for p in patients for e in p.encounters}
    reads = {
        f"{path} {name}": read
        for path, (visit, stored) in visits.items()
        for name, read in context_reads(engine, visit, stored=stored).items()
    }
    got = uow.fetch(reads)
    issued: list[Issued] = []
    for p in patients:
        contexts = []
        for e in p.encounters:
            visit, _ = visits[e.path]
            prefix = f"{e.path} "
            answers = {k[len(prefix) :]: v for k, v in got.items() if k.startswith(prefix)}
            contexts.append((aw.context(visit, answers, types), e))
        frame, names, wanted = _patient_frame(p, contexts, known)
        findings = engine.check(frame, wanted, stage, codes)
        issued.extend(issue(findings, engine, scene, ctx.admdvs or "000000", ctx.clock(), names))
    record(uow, ctx, issued, infno, warn_type)
    return issued


@dataclass
class _Facts:
    persons: dict[str, object]
    enrollments: dict[str, list]
    institution: object
    catalogue: dict[str, list]
    stored: dict[str, object]  # encounter path → its stored visit (None: not registered)


def _read_facts(uow: UnitOfWork, ctx, patients: list[Patient]) -> _Facts:
    """The persons, their insurance types, the encounters as stored, the caller's institution and the orders'
    catalogue rows: one round trip. An unknown person is refused by its path."""
    reads = {"institution": aw.INSTITUTION(code=ctx.fixmedins_code)}
    for n, p in enumerate(patients):
        reads[f"person {n}"] = aw.PERSON(psn_no=p.psn_no)
        reads[f"enrollments {n}"] = aw.ENROLLMENTS(psn_no=p.psn_no)
        for e in p.encounters:
            reads[f"visit {e.path}"] = aw.AUDIT_VISIT(mdtrt_id=e.mdtrt_id)
    codes = sorted({o.med_list_codg for p in patients for e in p.encounters for o in e.orders})
    if codes:
        reads["catalogue"] = aw.CATALOGUE(codes=codes)
    got = uow.fetch(reads)
    persons, enrollments = {}, {}
    for n, p in enumerate(patients):
        if not got[f"person {n}"]:
            raise NotFound(f"{p.path}.patn_id: 人员不存在 {p.psn_no}")
        persons[p.psn_no] = got[f"person {n}"][0]
        enrollments[p.psn_no] = got[f"enrollments {n}"]
    catalogue: dict[str, list] = {}
    for r in got.get("catalogue", []):
        catalogue.setdefault(r.med_list_codg, []).append(r)
    inst = got["institution"][0] if got["institution"] else None
    stored = {e.path: (got[f"visit {e.path}"] or [None])[0] for p in patients for e in p.encounters}
    return _Facts(persons, enrollments, inst, catalogue, stored)


def _visit(ctx, p: Patient, e: Encounter, known: _Facts) -> tuple[dict, bool]:
    """The encounter as the audit view's visit row, and whether it is stored: the registered visit (the
    caller's, of this person) with what the request adds, or a new one from the request and the person."""
    row = known.stored[e.path]
    if row is None:
        return _new_visit(ctx, p, e, known), False
    if row.fixmedins_code != ctx.fixmedins_code:
        raise InputError(f"{e.path}.mdtrt_id: 就诊 {e.mdtrt_id} 不是本机构的就诊 (another institution's)")
    if row.psn_no != p.psn_no:
        raise InputError(f"{e.path}.mdtrt_id: 就诊 {e.mdtrt_id} 登记的人员不是 {p.psn_no}")
    visit = row._asdict()
    return {
        **visit,
        "endtime": visit["endtime"] or e.endtime,
        "dept_code": visit["dept_code"] or e.dept_code,
        "atddr_no": visit["atddr_no"] or e.atddr_no,
        "dise_codg": e.dise_codg or visit["dise_codg"],
    }, True


def _patient_frame(
    p: Patient, contexts: list[tuple[VisitContext, Encounter]], known: _Facts
) -> tuple[Frame, dict[int, str], set[str]]:
    """One frame of the patient's encounters (stored or new, with their orders), their stored history and the
    person's; the names of the order lines (line id → rx_id); the encounters findings are given for."""
    visits: dict[str, dict] = {}
    lines: dict[int, dict] = {}
    dx: set[tuple] = set()
    ops: set[tuple] = set()
    names: dict[int, str] = {}
    for vc, _ in contexts:
        for h in vc.history:
            visits.setdefault(h["mdtrt_id"], h)
    ours = {e.mdtrt_id for _, e in contexts}
    for vc, e in contexts:
        visits[e.mdtrt_id] = vc.visit
        for line in [*vc.lines, *vc.history_lines]:
            lines[line["line_id"]] = line
        given = set(e.diagnoses)
        dx |= {d for d in vc.diagnoses if d[0] not in ours or (d[0] == e.mdtrt_id and not given)}
        dx |= {(e.mdtrt_id, c, 1 if c == vc.visit["dise_codg"] else 0) for c in given}
        ops |= {o for o in vc.operations if o[0] not in ours or o[0] == e.mdtrt_id}
        ops |= {(e.mdtrt_id, c, main) for c, main in e.operations}
        for o in e.orders:
            line_id = -(len(names) + 1)  # (stored lines have positive ids)
            names[line_id] = o.rx_id
            lines[line_id] = _order_line(line_id, e.mdtrt_id, o, vc.visit["begntime"], known.catalogue)
    wanted = {p.current} if p.current in ours else ours
    frame = frame_from_rows(list(visits.values()), list(lines.values()), sorted(dx), sorted(ops))
    return frame, names, wanted


def _new_visit(ctx, p: Patient, e: Encounter, known: _Facts) -> dict:
    person = known.persons[p.psn_no]
    inst = known.institution
    return {
        "mdtrt_id": e.mdtrt_id,
        "psn_no": p.psn_no,
        "fixmedins_code": ctx.fixmedins_code,
        "insutype": e.insutype or _insutype(known.enrollments[p.psn_no], e.begntime),
        "med_type": e.med_type,
        "begntime": e.begntime,
        "endtime": e.endtime,
        "gend": person.gend,
        "brdy": person.brdy,
        "death_date": person.death_date,
        "inst_grade": ctx.dedc_hosp_lv or (inst.dedc_hosp_lv if inst else None),
        "inst_type": inst.fixmedins_type if inst else None,
        "dept_code": e.dept_code,
        "atddr_no": e.atddr_no,
        "dise_codg": e.dise_codg,
        "oprn_codg": next(
            (c for c, main in e.operations if main), e.operations[0][0] if e.operations else None
        ),
        "setl_id": None,
    }


def _insutype(enrollments: list, when: datetime) -> str | None:
    """The insurance type held on the day (the latest begun), else the latest held (rows latest first)."""
    day = when.date()
    held = [r for r in enrollments if r.begndate <= day and (r.enddate is None or r.enddate >= day)]
    rows = held or enrollments
    return rows[0].insutype if rows else None


def _order_line(line_id: int, mdtrt_id: str, o: Order, begntime: datetime, catalogue: dict) -> dict:
    """An order as a line of the audit view: the catalogue's class, charge type and price cap on its day."""
    when = o.fee_ocur_time or begntime
    day = when.date()
    item = next(
        (
            r
            for r in reversed(catalogue.get(o.med_list_codg, []))
            if r.begndate <= day and (r.enddate is None or r.enddate >= day)
        ),
        None,
    )
    return {
        "line_id": line_id,
        "mdtrt_id": mdtrt_id,
        "feedetl_sn": o.rx_id,
        "med_list_codg": o.med_list_codg,
        "list_type": (item.list_type if item else None) or o.list_type,
        "med_chrgitm_type": (item.med_chrgitm_type if item else None) or o.chrg_type,
        "fee_ocur_time": when,
        "cnt": o.cnt,
        "pric": o.pric,
        "amt": o.amt,
        "pric_uplmt": item.pric_uplmt_amt if item else None,
        "dept_code": o.dept_code,
        "dr_code": o.dr_code,
    }


# --- 3103 -----------------------------------------------------------------------------------------------------


def feedback(
    uow: UnitOfWork, ctx, *, jr_id: str, dspo_way: str, dspo_way_rea: str | None, warn_type: str, path: str
) -> None:
    """3103 事前事中服务反馈: the institution's answer to one of its warnings, recorded once (the same answer again
    changes nothing; another is refused), with its audit row."""
    row = uow.first(aw.WARNING_TO_ANSWER(jr_id=jr_id))
    if row is None or row.fixmedins_code != ctx.fixmedins_code:  # another institution's does not exist for it
        raise NotFound(f"{path}.warn_rslt_id: 提醒不存在 {jr_id}")
    if row.warn_type != warn_type:
        raise InputError(
            f"{path}.warn_type: 提醒 {jr_id} 为{WARN_TYPES.get(row.warn_type, row.warn_type)}提醒 ({row.warn_type})"
        )
    if dspo_way == "1" and not dspo_way_rea:
        raise InputError(f"{path}.dspo_way_rea: 继续执行须说明原因 (missing)")
    if row.dspo_way is not None:
        if (row.dspo_way, row.dspo_way_rea or None) == (dspo_way, dspo_way_rea or None):
            return
        raise SettlementError(
            f"{path}.warn_rslt_id: 提醒 {jr_id} 已于 {row.dspo_at:%Y-%m-%d %H:%M:%S} 反馈为"
            f"{DSPO_WAYS.get(row.dspo_way, row.dspo_way)}，不能更改"
        )
    now = ctx.clock()
    uow.write(
        aw.SET_FEEDBACK,
        {"k_jr_id": jr_id, "k_dspo_way": dspo_way, "k_dspo_way_rea": dspo_way_rea, "k_dspo_at": now},
    )
    audit.record(uow, actor=ctx.actor, action=Action.FEEDBACK, entity="audit_warning", entity_id=jr_id,
                 after={"dspo_way": dspo_way, "dspo_way_rea": dspo_way_rea, "warn_type": warn_type})  # fmt: skip
