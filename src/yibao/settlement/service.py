"""Settlement use cases (结算服务), part 1: who calls, visits and fee lines.

Each function works inside the caller's unit of work (:class:`yibao.store.uow.UnitOfWork`, one per facade
call), makes the reads it declares (:mod:`yibao.settlement.queries`) in the order written, calls the pure
domain code and hands the unit of work its writes; nothing is committed unless everything succeeded. An
institution only ever sees and changes its own visits. Settling and reversing are in
:mod:`yibao.settlement.settle`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace

from yibao.audit_actions import Action
from yibao.errors import InputError, NotFound, PolicyError, SettlementError, quote
from yibao.money import fmt_fen
from yibao.policy.registry import get_bundle
from yibao.providers.designation import Interval, refusal
from yibao.settlement import facts, online
from yibao.settlement import queries as q
from yibao.settlement import writes as w
from yibao.settlement.inputs import Fee
from yibao.settlement.lines import NO_CAP, Charged, LineError, check_refunds, split_lines
from yibao.settlement.record import new_id
from yibao.settlement.states import VisitStatus, transition
from yibao.store import audit
from yibao.store.statements import Read
from yibao.store.uow import UnitOfWork

INPATIENT_PREFIX = q.INPATIENT_PREFIX


@dataclass
class Context:
    """Who is calling: the institution (from its authenticated client) and the operator."""

    fixmedins_code: str
    opter: str = "his"
    msgid: str | None = None
    now: datetime | None = None
    # the institution, as read with the caller's credentials in the same unit of work (None: read it here)
    admdvs: str | None = None
    dedc_hosp_lv: int | None = None

    @property
    def actor(self) -> str:
        return f"{self.fixmedins_code}/{self.opter}"

    def clock(self) -> datetime:
        return (
            self.now or datetime.now()
        )  # microseconds kept: ordering within a visit; the wire shows seconds


@dataclass
class FeeInput:
    """One fee line as uploaded (2204/2301/2102 drugdetail), in kernel units."""

    feedetl_sn: str
    med_list_codg: str
    pric: int  # micro-yuan
    cnt: int  # 1e-4 units
    det_item_fee_sumamt: int  # fen
    hosp_appr_flag: int = 0
    chrg_bchno: str | None = None
    medins_list_codg: str | None = None
    fee_ocur_time: datetime | None = None
    bilg_dr_codg: str | None = None
    init_feedetl_sn: str | None = None  # a refund's original line (退费: negative cnt)


def is_admission(visit) -> bool:
    return visit.med_type.startswith(INPATIENT_PREFIX)


# --- the caller, the person ------------------------------------------------------------------------------


def institution_of(uow: UnitOfWork, ctx: Context) -> SimpleNamespace:
    """The caller's institution (code, admdvs, dedc_hosp_lv): from the facade's authentication when it read it
    in this unit of work, else read here. Its status today is no gate: what may be settled is decided by its
    designation on the service date (:func:`check_agreement`), so a suspended or exited institution still
    settles, reverses and queries the visits it began while its agreement was in force."""
    if ctx.admdvs is not None:
        return SimpleNamespace(
            fixmedins_code=ctx.fixmedins_code, admdvs=ctx.admdvs, dedc_hosp_lv=ctx.dedc_hosp_lv
        )
    inst = uow.first(q.INSTITUTION(code=ctx.fixmedins_code))
    if inst is None:
        raise NotFound(f"fixmedins_code: 定点医药机构不存在 {ctx.fixmedins_code}")
    return inst


def check_agreement(rows: list, code: str, day: date, med_type: str | None = None) -> None:
    """医保服务协议: an institution serves insured persons only on days its agreement covers, not while it is
    suspended (中止), and only for the medical types its granted service categories open (``med_type``;
    None: not checked). ``rows``: its designation intervals (:data:`~yibao.settlement.queries.AGREEMENT`);
    an interval without med_types (an institution designated without a provider scheme) opens every type."""
    intervals = [
        Interval(
            r.begndate,
            r.enddate,
            r.status,
            frozenset((r.med_types or "").split()),
            r.reason or "",
        )
        for r in rows
    ]
    if med_type is not None and any(r.med_types is None for r in rows):
        med_type = None
    why = refusal(intervals, code, day, med_type)
    if why is not None:
        raise SettlementError(why)


def enrollment_reads(psn_no: str, insutype: str | None, day: date) -> Read:
    if insutype:
        return q.ENROLLMENTS_OF_TYPE(psn_no=psn_no, day=day, insutype=insutype)
    return q.ENROLLMENTS(psn_no=psn_no, day=day)


def read_enrollment(uow: UnitOfWork, psn_no: str, insutype: str | None, day: date):
    """:func:`facts.enrollment_on` in one statement, refusing an unknown person first."""
    rows = uow.read(enrollment_reads(psn_no, insutype, day))
    if not rows:
        raise NotFound(f"psn_no: 人员不存在 {psn_no}")
    return facts.choose_enrollment([r for r in rows if r.id is not None], psn_no, insutype, day)


# --- visits ----------------------------------------------------------------------------------------------


def register_reads(*, code: str, psn_no: str, insutype: str | None, day: date) -> dict[str, Read]:
    """What 2201/2401 (and a pharmacy's 2101/2102) read from the message, in order."""
    return {"agreement": q.AGREEMENT(code=code), "enrollments": enrollment_reads(psn_no, insutype, day)}


def registration_checks(
    uow: UnitOfWork, ctx: Context, *, psn_no: str, insutype: str | None, day: date, med_type: str | None
):
    """The institution's agreement on the day (for the visit's medical type) and the person's enrollment in
    force (returned), or why not."""
    got = uow.fetch(register_reads(code=ctx.fixmedins_code, psn_no=psn_no, insutype=insutype, day=day))
    check_agreement(got["agreement"], ctx.fixmedins_code, day, med_type)
    if not got["enrollments"]:
        raise NotFound(f"psn_no: 人员不存在 {psn_no}")
    return facts.choose_enrollment([r for r in got["enrollments"] if r.id is not None], psn_no, insutype, day)


def register_visit(
    uow: UnitOfWork,
    ctx: Context,
    *,
    psn_no: str,
    insutype: str,
    begntime: datetime,
    med_type: str | None = None,
    inpatient: bool = False,
    checked: bool = False,
    **details,
) -> SimpleNamespace:
    """2201 挂号 / 2401 入院: open a visit for an enrolled person at the caller's institution. ``checked``: the
    caller made :func:`registration_checks` for this person, type and day in this unit of work (a pharmacy's
    2102 checks the medical type first)."""
    inst = institution_of(uow, ctx)
    med_type = med_type or ("21" if inpatient else "11")
    if not checked:
        registration_checks(
            uow, ctx, psn_no=psn_no, insutype=insutype, day=begntime.date(), med_type=med_type
        )
    if inpatient:
        open_adm = uow.first(q.OPEN_ADMISSION(psn_no=psn_no))
        if open_adm:
            raise SettlementError(f"psn_no: 人员已在院 (就诊 {open_adm.mdtrt_id})，不能重复入院")
    visit = {
        **dict.fromkeys(w.VISIT_KEYS),
        **details,
        "mdtrt_id": new_id(inst.admdvs, "M", ctx.clock()),
        "psn_no": psn_no,
        "fixmedins_code": inst.fixmedins_code,
        "insutype": insutype,
        "med_type": med_type,
        "begntime": begntime,
        "status": (VisitStatus.ADMITTED if inpatient else VisitStatus.OPEN).value,
    }
    uow.write(w.INSERT_VISIT, visit)
    audit.record(
        uow,
        actor=ctx.actor,
        action=Action.ADMIT if inpatient else Action.REGISTER,
        entity="visit",
        entity_id=visit["mdtrt_id"],
        after={"psn_no": psn_no, "insutype": insutype, "med_type": visit["med_type"]},
    )
    return SimpleNamespace(**{c: None for c in ("endtime", "opsp_dise_code")}, **visit)


def own_visit(uow: UnitOfWork, ctx: Context, mdtrt_id: str, *, lock: bool = False):
    """The caller's visit (locked: FOR UPDATE). Another institution's visit does not exist for the caller."""
    visit = uow.first((q.LOCK_VISIT if lock else q.VISIT)(mdtrt_id=mdtrt_id))
    if visit is None or visit.fixmedins_code != ctx.fixmedins_code:
        raise NotFound(f"mdtrt_id: 就诊不存在 {mdtrt_id}")
    return visit


def update_visit(uow: UnitOfWork, ctx: Context, visit, **changes) -> None:
    """2203 就诊信息上传 / 2403 入院信息变更 of the caller's ``visit`` (:func:`own_visit`): med_type, diagnoses, the
    chronic disease … (None: unchanged)."""
    mdtrt_id = visit.mdtrt_id
    transition(visit.status, "update", admission=is_admission(visit))
    before = {k: getattr(visit, k, None) for k in changes}
    uow.write(w.UPDATE_VISIT, {"k_mdtrt_id": mdtrt_id, **{f"k_{k}": v for k, v in changes.items()}})
    after = {k: (v if v is not None else before[k]) for k, v in changes.items()}
    audit.record(
        uow,
        actor=ctx.actor,
        action=Action.UPDATE,
        entity="visit",
        entity_id=mdtrt_id,
        before=before,
        after=after,
    )


def cancel_visit(uow: UnitOfWork, ctx: Context, mdtrt_id: str) -> None:
    """2202 挂号撤销 / 2404 入院撤销: only a visit with no settlement."""
    visit = own_visit(uow, ctx, mdtrt_id, lock=True)
    live = uow.first(q.LIVE_SETTLEMENT(mdtrt_id=mdtrt_id))
    if live:
        raise SettlementError(f"mdtrt_id: 就诊已有结算 {live.setl_id}，请先撤销结算")
    status = transition(visit.status, "cancel", admission=is_admission(visit))
    uow.write(w.CANCEL_OPEN_LINES, {"k_mdtrt_id": mdtrt_id})
    uow.write(w.SET_VISIT_STATUS, {"k_mdtrt_id": mdtrt_id, "k_status": status.value})
    audit.record(uow, actor=ctx.actor, action=Action.CANCEL, entity="visit", entity_id=mdtrt_id)


def discharge(
    uow: UnitOfWork, ctx: Context, visit, endtime: datetime, dscg_way: str | None = None, **details
) -> None:
    """2402 出院办理 of the caller's ``visit`` (:func:`own_visit`)."""
    mdtrt_id = visit.mdtrt_id
    status = transition(visit.status, "discharge", admission=is_admission(visit))
    if endtime < visit.begntime:
        raise InputError(f"endtime: 出院时间 {endtime} 早于入院时间 {visit.begntime}")
    uow.write(
        w.DISCHARGE,
        {
            "k_mdtrt_id": mdtrt_id,
            "k_status": status.value,
            "k_endtime": endtime,
            "k_dscg_way": dscg_way,
            "k_dise_codg": details.get("dise_codg"),
            "k_dise_name": details.get("dise_name"),
        },
    )
    audit.record(
        uow,
        actor=ctx.actor,
        action=Action.DISCHARGE,
        entity="visit",
        entity_id=mdtrt_id,
        after={"endtime": endtime, "dscg_way": dscg_way},
    )


def undo_discharge(uow: UnitOfWork, ctx: Context, visit) -> None:
    """2405 出院撤销 of the caller's ``visit``: back in hospital, unless the final settlement was made."""
    mdtrt_id = visit.mdtrt_id
    status = transition(visit.status, "undo_discharge", admission=is_admission(visit))
    uow.write(w.UNDO_DISCHARGE, {"k_mdtrt_id": mdtrt_id, "k_status": status.value})
    audit.record(uow, actor=ctx.actor, action=Action.UNDO_DISCHARGE, entity="visit", entity_id=mdtrt_id)


# --- fee lines -------------------------------------------------------------------------------------------


def upload_reads(*, mdtrt_id: str, codes: set[str]) -> dict[str, Read]:
    """What 2204/2301 read from the message (for a visit without lines yet, the usual single upload)."""
    reads = {"visit": q.VISIT_FOR_UPLOAD(mdtrt_id=mdtrt_id)}
    if codes:
        reads["catalogue"] = q.CATALOGUE(codes=sorted(codes))
    return reads


def _fee(item, f: FeeInput) -> Fee:
    """Catalogue attributes of a line; a code outside the 医保目录 (where the region pays it at all) is 全自费
    (丙类)."""
    if item is None:
        return Fee(f.pric, f.cnt, f.det_item_fee_sumamt, 3, 0, NO_CAP, 0, f.hosp_appr_flag)
    cap = item.pric_uplmt_amt if item.pric_uplmt_amt else NO_CAP
    selfpay = item.selfpay_prop if item.chrgitm_lv == "02" else 0
    return Fee(
        f.pric,
        f.cnt,
        f.det_item_fee_sumamt,
        int(item.chrgitm_lv),
        selfpay,
        cap,
        int(item.lmt_used_flag or 0),
        f.hosp_appr_flag,
    )


def _unknown_items_paid(admdvs: str, day: date) -> bool:
    """Whether the 就医地's policy takes a code outside its catalogue as 全自费 on ``day`` (``catalogue:
    unknown_items: self_pay``); by default it is refused, as the national platform refuses an item that is not
    in the catalogue or not mapped to it (目录对照)."""
    try:
        bundle = get_bundle(admdvs)
    except PolicyError:
        return False
    ver = bundle.version_index(day)
    return ver is not None and bundle.policies[ver].catalogue.unknown_items == "self_pay"


def _check_catalogue(uow: UnitOfWork, ctx: Context, lines: list[FeeInput], items: dict, day: date) -> None:
    missing = next((k for k, f in enumerate(lines) if f.med_list_codg not in items), None)
    if missing is None or _unknown_items_paid(institution_of(uow, ctx).admdvs, day):
        return
    code = lines[missing].med_list_codg
    raise LineError(
        missing,
        "med_list_codg",
        f"目录中不存在 {quote(code)}，或就诊日 {day} 不在其有效期内 (not in the catalogue)",
    )


def _check_refunds(uow: UnitOfWork, mdtrt_id: str, lines: list[FeeInput]) -> None:
    """退费 lines (negative cnt) against the visit's unsettled lines: read only for an upload with one."""
    if not any(f.cnt < 0 or f.init_feedetl_sn is not None for f in lines):
        return
    unsettled = [Charged(*r) for r in uow.read(q.UNSETTLED(mdtrt_id=mdtrt_id))]
    check_refunds(
        unsettled,
        [
            Charged(f.feedetl_sn, f.med_list_codg, f.cnt, f.det_item_fee_sumamt, f.init_feedetl_sn)
            for f in lines
        ],
    )


def visit_for_upload(uow: UnitOfWork, ctx: Context, mdtrt_id: str, codes: set[str]):
    """The caller's visit, locked for a fee upload, and the catalogue's versions of the codes."""
    got = uow.fetch(upload_reads(mdtrt_id=mdtrt_id, codes=codes))
    visit = got["visit"][0] if got["visit"] else None
    if visit is None or visit.fixmedins_code != ctx.fixmedins_code:
        raise NotFound(f"mdtrt_id: 就诊不存在 {mdtrt_id}")
    return visit, got.get("catalogue", [])


def upload_fees(
    uow: UnitOfWork,
    ctx: Context,
    visit,
    catalogue: list,
    lines: list[FeeInput],
    check: Callable | None = None,
) -> list[dict]:
    """2204 / 2301 费用明细上传: split each line against the catalogue and keep it until settlement. ``visit``
    and ``catalogue`` as :func:`visit_for_upload` read them; ``check``: called with the lines as they will be
    stored, once they are valid and before they are written (the region's inline audit, which may refuse
    them). Returns the stored lines (column → value)."""
    mdtrt_id = visit.mdtrt_id
    transition(visit.status, "upload", admission=is_admission(visit))
    if not lines:
        raise InputError("feedetail: 没有费用明细")
    existing = {r.feedetl_sn for r in uow.read(q.FEE_SNS(mdtrt_id=mdtrt_id))} if visit.has_lines else set()
    seen: set[str] = set()
    for k, f in enumerate(lines):
        if f.feedetl_sn in existing or f.feedetl_sn in seen:
            raise LineError(
                k, "feedetl_sn", f"费用明细流水号 {f.feedetl_sn} 重复 (already used in this visit)"
            )
        seen.add(f.feedetl_sn)
    day = visit.begntime.date()
    # the version in force on the day (the latest begun, should two overlap)
    items = {
        r.med_list_codg: r for r in catalogue if r.begndate <= day and (r.enddate is None or r.enddate >= day)
    }
    _check_catalogue(uow, ctx, lines, items, day)
    fees = [_fee(items.get(f.med_list_codg), f) for f in lines]
    split = split_lines(online.line_arrays(fees))
    _check_refunds(uow, mdtrt_id, lines)
    parts = zip(*(a.tolist() for a in (split.ful, split.over, split.pre, split.inscp)), strict=True)
    rows = [
        _fee_row(mdtrt_id, f, fee, items.get(f.med_list_codg), part)
        for f, fee, part in zip(lines, fees, parts, strict=True)
    ]
    if check is not None:
        check(rows)
    uow.write(w.INSERT_FEES, rows)
    audit.record(
        uow,
        actor=ctx.actor,
        action=Action.UPLOAD_FEES,
        entity="visit",
        entity_id=mdtrt_id,
        after={"lines": len(rows), "amount": fmt_fen(sum(r["det_item_fee_sumamt"] for r in rows))},
    )
    return rows


def _fee_row(mdtrt_id: str, f: FeeInput, fee: Fee, item, part: tuple[int, int, int, int]) -> dict:
    """A fee line as stored: what was uploaded, the catalogue's attributes on the day, and its split."""
    ful, over, pre, inscp = part
    return {
        "mdtrt_id": mdtrt_id,
        "feedetl_sn": f.feedetl_sn,
        "chrg_bchno": f.chrg_bchno,
        "med_list_codg": f.med_list_codg,
        "medins_list_codg": f.medins_list_codg,
        "med_chrgitm_type": item.med_chrgitm_type if item is not None else None,
        "fee_ocur_time": f.fee_ocur_time,
        "pric": f.pric,
        "cnt": f.cnt,
        "det_item_fee_sumamt": f.det_item_fee_sumamt,
        "chrgitm_lv": f"{fee.chrgitm_lv:02d}",
        "selfpay_prop": fee.selfpay_prop,
        "pric_uplmt_amt": None if fee.pric_uplmt_amt == NO_CAP else fee.pric_uplmt_amt,
        "lmt_used_flag": str(fee.lmt_used_flag),
        "hosp_appr_flag": str(fee.hosp_appr_flag),
        "fulamt_ownpay_amt": ful,
        "overlmt_amt": over,
        "preselfpay_amt": pre,
        "inscp_scp_amt": inscp,
        "bilg_dr_codg": f.bilg_dr_codg,
        "init_feedetl_sn": f.init_feedetl_sn,
        "setl_id": None,
        "status": "open",
    }


def cancel_fees(
    uow: UnitOfWork,
    ctx: Context,
    mdtrt_id: str,
    *,
    chrg_bchno: str | None = None,
    feedetl_sn: str | None = None,
) -> int:
    """2205 / 2302 费用明细撤销: ``0000`` (or nothing) = every unsettled line."""
    own_visit(uow, ctx, mdtrt_id, lock=True)
    batch = chrg_bchno if chrg_bchno and chrg_bchno != "0000" else None
    line = feedetl_sn if feedetl_sn and feedetl_sn != "0000" else None
    ids = [r.id for r in uow.read(q.LINES_TO_CANCEL(mdtrt_id=mdtrt_id, chrg_bchno=batch, feedetl_sn=line))]
    if not ids:
        raise SettlementError("feedetl_sn: 没有可撤销的未结算费用明细")
    uow.write(w.CANCEL_LINES, {"k_mdtrt_id": mdtrt_id, "ids": ids})
    audit.record(
        uow,
        actor=ctx.actor,
        action=Action.CANCEL_FEES,
        entity="visit",
        entity_id=mdtrt_id,
        after={"lines": len(ids), "chrg_bchno": chrg_bchno, "feedetl_sn": feedetl_sn},
    )
    return len(ids)
