"""事前 / 事中 warnings (事前提醒 3101, 事中审核 3102 and the inline checks): one visit's facts, with the person's
recent history, through the library's online rules; each finding given to the HIS under a ``jr_id`` and kept
as an :class:`~yibao.store.tables.AuditWarning`, which 3103 answers (supervision.md §4).

A 3101/3102 encounter is either a visit the HIS registered (2201/2401: its stored lines and diagnoses are read,
the request's orders are added as new lines) or one it has not (the request's data alone, with the person's
stored history). The person is always the stored one: sex, birth and death dates come from the database.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from yibao import ids
from yibao.audit_actions import Action
from yibao.errors import InputError, NotFound, SettlementError, quote
from yibao.money import div_round_half_up, fmt_fen
from yibao.store import audit
from yibao.store import audit_warnings as aw
from yibao.store.audit_view import VisitContext, list_types
from yibao.store.statements import Read
from yibao.store.uow import UnitOfWork
from yibao.supervision.findings import Finding
from yibao.supervision.frame import Frame, frame_from_rows
from yibao.supervision.library import Library, Rule
from yibao.supervision.online import OnlineEngine
from yibao.supervision.service import library as library_service

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
# vola_amt_stas 违规金额计算状态 (the regional dictionary's codes are not public): computed from the lines at
# stake (their amounts, or the share above a limit) / not applicable (a visit-level or statistical finding)
VOLA_AMT_COMPUTED = "1"
VOLA_AMT_NONE = "0"
EVIDENCE_LIMIT = 500  # vola_evid C500
TYPES_SECONDS = 300.0  # how long the catalogue's code → list_type map is kept before it is read again


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


@dataclass
class Issued:
    """A finding given to the HIS: its ``jr_id``, rule, action in the scene, the legal basis with the knowledge
    rows, and the per-line detail (``judge_result_detail_dtos``)."""

    jr_id: str
    finding: Finding
    rule: Rule
    action: str  # warn | block
    evidence: str
    details: list[dict] = field(default_factory=list)

    @property
    def amount_status(self) -> str:
        return VOLA_AMT_NONE if (self.rule.amount or self.rule.spec.amount) == "none" else VOLA_AMT_COMPUTED


# --- the library, the session, the catalogue ----------------------------------------------------------------


def library_of(uow: UnitOfWork) -> tuple[Library, OnlineEngine]:
    return library_service.current(uow.session)


@lru_cache(maxsize=8)
def _reach(engine: OnlineEngine) -> tuple[int, frozenset[str]]:
    """How far back a visit's history is read, and which codes of it (per library version)."""
    return engine.library.lookback_days(), frozenset(engine.library.cross_codes())


@lru_cache(maxsize=8)
def _knowledge(engine: OnlineEngine) -> dict[int, dict]:
    """k_id → the knowledge row's columns (with the rule's parameters), as the engine numbers them."""
    out = {}
    for names, rows in engine.library.tables().values():
        for row in rows:
            values = dict(zip(names, row, strict=True))
            out[values["k_id"]] = {
                k: v for k, v in values.items() if k not in ("rule_code", "k_id", "from_day", "to_day")
            }
    return out


_types: dict[str, tuple[float, dict[str, str]]] = {}


def catalogue_types(uow: UnitOfWork) -> dict[str, str]:
    """The catalogue's code → list_type, kept for ``TYPES_SECONDS`` per database (a code's type never changes;
    a code new in the catalogue is known at the next read)."""
    session = uow.session
    key = str(session.get_bind().engine.url)
    now = time.monotonic()
    got = _types.get(key)
    if got is None or now - got[0] > TYPES_SECONDS:
        got = _types[key] = (now, list_types(session))
    return got[1]


def context_reads(engine: OnlineEngine, visit, *, stored: bool) -> dict[str, Read]:
    """The reads of a visit's context (its lines when ``stored``, the person's history as far back and of the
    codes the library needs); ``visit`` has ``mdtrt_id``, ``psn_no`` and ``begntime``."""
    lookback, cross = _reach(engine)
    get = visit.get if isinstance(visit, dict) else lambda k: getattr(visit, k)
    return aw.context_reads(
        get("mdtrt_id"), get("psn_no"), get("begntime"), lookback, set(cross), stored=stored
    )


# --- one finding as given to the HIS -------------------------------------------------------------------------


def new_jr_id(admdvs: str, now: datetime) -> str:
    """A warning's id (27 characters): admdvs + J + time + 8 random digits; its details append 3 digits."""
    return f"{admdvs[:6]}J{now:%y%m%d%H%M%S}{ids.digits(8)}"


def _shares(f: Finding) -> dict[int, int]:
    """The finding's amount over its lines at fault, in proportion to their amounts (the last takes the
    rounding), so the details add up to ``vola_amt``."""
    at_fault = [x for x in f.lines if x.role == "1"]
    if not at_fault or not f.vola_amt:
        return {}
    total = sum(x.amt for x in at_fault)
    out, given = {}, 0
    for x in at_fault[:-1]:
        out[x.line_id] = div_round_half_up(f.vola_amt * x.amt, total) if total else 0
        given += out[x.line_id]
    out[at_fault[-1].line_id] = f.vola_amt - given
    return out


def _details(jr_id: str, f: Finding, names: dict[int, str]) -> list[dict]:
    """``judge_result_detail_dtos``: one row per line at fault (1 违规项) or involved (2 涉及项), named by the
    order's rx_id (or a stored line's feedetl_sn); a visit-level finding has one row for the visit."""
    if not f.lines:
        return [
            {"jrd_id": f"{jr_id}001", "patn_id": f.psn_no or "", "mdtrt_id": f.mdtrt_id or "", "rx_id": "",
             "vola_item_type": "1", "vola_amt": fmt_fen(f.vola_amt)}
        ]  # fmt: skip
    shares = _shares(f)
    return [
        {
            "jrd_id": f"{jr_id}{n:03d}",
            "patn_id": f.psn_no or "",
            "mdtrt_id": f.mdtrt_id or "",
            "rx_id": names.get(x.line_id, x.feedetl_sn or ""),
            "vola_item_type": x.role,
            "vola_amt": fmt_fen(shares.get(x.line_id, 0)),
        }
        for n, x in enumerate(f.lines, start=1)
    ]


def _evidence(rule: Rule, f: Finding, knowledge: dict[int, dict]) -> str:
    """``vola_evid``: the rule's legal basis and the knowledge rows that matched (at most 500 characters)."""
    parts = [rule.legal_basis] if rule.legal_basis else []
    for k in f.k_ids:
        row = knowledge.get(k) or {}
        shown = ", ".join(f"{n}={v}" for n, v in row.items() if v is not None)
        parts.append(f"知识点 {rule.rule_code}#{k}" + (f" ({shown})" if shown else ""))
    text = "；".join(parts)
    return text if len(text) <= EVIDENCE_LIMIT else text[: EVIDENCE_LIMIT - 1] + "…"


def issue(
    findings: list[Finding],
    engine: OnlineEngine,
    scene: str,
    admdvs: str,
    now: datetime,
    names: dict[int, str],
) -> list[Issued]:
    """The findings still standing (an exempted one is a trace, never a warning), each with its jr_id."""
    knowledge = _knowledge(engine)
    out = []
    for f in findings:
        if f.exempt:
            continue
        rule = engine.library.rules[f.rule_code]
        jr_id = new_jr_id(admdvs, now)
        out.append(
            Issued(
                jr_id, f, rule, rule.action(scene), _evidence(rule, f, knowledge), _details(jr_id, f, names)
            )
        )
    return out


def record(uow: UnitOfWork, ctx, issued: list[Issued], infno: str, warn_type: str) -> None:
    """Keep the warnings given (with the call's unit of work: a refused call keeps none)."""
    if not issued:
        return
    now = ctx.clock()
    uow.write(
        aw.INSERT_WARNINGS,
        [
            {
                "jr_id": i.jr_id,
                "msgid": ctx.msgid or "",
                "infno": infno,
                "warn_type": warn_type,
                "fixmedins_code": ctx.fixmedins_code,
                "psn_no": i.finding.psn_no,
                "mdtrt_id": i.finding.mdtrt_id,
                "rule_code": i.rule.rule_code,
                "sev_deg": i.rule.sev_deg,
                "action": i.action,
                "vola_amt": i.finding.vola_amt,
                "vola_cont": i.finding.vola_cont,
                "detail": i.details,
                "created_at": now,
            }
            for i in issued
        ],
    )


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


def forget() -> None:
    """Drop what is kept per library and database (tests, and after a catalogue import in this process)."""
    _types.clear()
    _reach.cache_clear()
    _knowledge.cache_clear()
