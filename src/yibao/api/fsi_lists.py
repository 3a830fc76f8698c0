"""Handlers of the settlement list (医保结算清单) and its grouping: 4101 上传, 4102 状态修改, 4103 查询,
3605 DRG 分组结果, 3606 DIP 分组结果. National field names in and out; the checks and the grouping are
:mod:`yibao.payment.settlement_list`'s, the rows :mod:`yibao.store.settlement_lists`'.

A list is uploaded once per settlement: while the settlement has a valid list, another upload (a new msgid)
is refused; a correction is 4102 (作废) then 4101 again, and the voided list stays with its grouping, which
no longer counts. A retry with the same msgid gets the first answer (the facade's message log).

Imported for its side effect of registering handlers on :mod:`yibao.api.fsi`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

import yaml

from yibao.api import exactjson
from yibao.api.fields import Node
from yibao.api.fsi import transaction
from yibao.config import get_settings
from yibao.errors import InputError, NotFound, quote
from yibao.payment import settlement_list as sl
from yibao.payment.cases import normalise_code
from yibao.payment.dip_catalogue import DipCatalogue, load_dip_catalogue
from yibao.payment.packs import load_drg_pack, registered_schemes
from yibao.settlement.record import new_id
from yibao.store import settlement_lists as lists
from yibao.store.tables import SettlementList, SettlementListGroup
from yibao.store.uow import UnitOfWork

STATUS_WORDS = {"ok": "正常入组", "qy": "歧义组", "ungrouped": "未入组"}
LIST_NODES = ("setlinfo", "opspdiseinfo", "diseinfo", "oprninfo", "icuinfo", "payinfo", "bldinfo", "iteminfo")


@contextmanager
def named() -> Iterator[None]:
    """A refusal of the list (:class:`~yibao.payment.settlement_list.ListError`) names its field under
    ``input``."""
    try:
        yield
    except sl.ListError as exc:
        raise InputError(f"input.{exc.path}: {exc.reason}") from None


# --- reading the message ---------------------------------------------------------------------------------


def whole(node: Node, key: str, low: int, high: int) -> int | None:
    """A whole number sent as ``35``, ``"35"`` or ``35.0`` (the national 4,1 age), within bounds."""
    text = node.str(key, required=False, max_len=12)
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InputError(f"{node.path}.{key}: {quote(text)} 不是数字 (not a number)") from None
    if value != value.to_integral_value() or not low <= value <= high:
        raise InputError(f"{node.path}.{key}: {quote(text)} 应为 {low}–{high} 的整数")
    return int(value)


def diagnoses_of(inp: Node) -> tuple[sl.Diagnosis, ...]:
    return tuple(
        sl.Diagnosis(
            index=i,
            diag_code=d.code("diag_code", 30),
            diag_name=d.str("diag_name", required=False, max_len=200) or "",
            diag_type=d.code("diag_type", 3, required=False) or sl.WESTERN,
            maindiag_flag=d.code("maindiag_flag", 1, required=False, choices=("0", "1")) or "0",
            adm_cond_type=d.code("adm_cond_type", 3, required=False),
        )
        for i, d in enumerate(inp.items("diseinfo"))
    )


def procedures_of(inp: Node) -> tuple[sl.Procedure, ...]:
    return tuple(
        sl.Procedure(
            index=i,
            oprn_oprt_code=p.code("oprn_oprt_code", 30),
            oprn_oprt_name=p.str("oprn_oprt_name", required=False, max_len=200) or "",
            oprn_oprt_type=p.code("oprn_oprt_type", 3, required=False) or "2",
            oprn_oprt_date=p.datetime("oprn_oprt_date", required=False),
        )
        for i, p in enumerate(inp.items("oprninfo", required=False))
    )


def check_money_rows(inp: Node) -> None:
    """``payinfo`` (fund_pay_type, fund_payamt) and ``iteminfo`` (med_chrgitm, amt …) are kept as sent; their
    codes and amounts must still be codes and amounts."""
    for r in inp.items("payinfo", required=False):
        r.code("fund_pay_type", 10)
        r.amount("fund_payamt")
    for r in inp.items("iteminfo", required=False):
        r.code("med_chrgitm", 6)
        for key in ("amt", "claa_sumfee", "clab_amt", "fulamt_ownpay_amt", "oth_amt"):
            r.amount(key, required=key == "amt")
    for key in ("icuinfo", "opspdiseinfo", "bldinfo"):
        inp.items(key, required=False)  # (objects: refused by name otherwise)


def list_of(inp: Node) -> sl.SettlementList:
    """The 4101 message as grouping reads it (``setlinfo`` with ``diseinfo[]`` and ``oprninfo[]``)."""
    s = inp.child("setlinfo")
    weight = whole(s, "nwb_adm_wt", 0, 20_000) or whole(s, "nwb_bir_wt", 0, 20_000)
    return sl.SettlementList(
        setl_id=s.code("setl_id", 30),
        mdtrt_id=s.code("mdtrt_id", 30),
        psn_no=s.code("psn_no", 30, required=False),
        gend=s.code("gend", 1),
        age=whole(s, "age", 0, 150),
        nwb_age=whole(s, "nwb_age", 0, 366),
        weight_g=weight or None,
        adm_time=s.datetime("adm_time", required=False),
        dscg_time=s.datetime("dscg_time", required=False),
        act_ipt_days=whole(s, "act_ipt_days", 0, 100_000),
        dscg_way=s.code("dscg_way", 3, required=False),
        hi_paymtd=s.code("hi_paymtd", 3, required=False),
        diagnoses=diagnoses_of(inp),
        procedures=procedures_of(inp),
    )


# --- 4101 ------------------------------------------------------------------------------------------------


@transaction("4101")
def upload(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    lst = list_of(inp)
    check_money_rows(inp)
    s = uow.session
    settled = lists.settled_stay(s, lst.setl_id)
    if settled is None:
        with named():
            sl.no_settlement(lst, lists.visit_status(s, lst.mdtrt_id, ctx.fixmedins_code))
    with named():
        sl.check_settlement(lst, settled, ctx.fixmedins_code)
        if (valid := lists.valid_list_id(s, settled.setl_id)) is not None:
            raise sl.ListError(
                "setlinfo.setl_id", f"该结算已有有效的结算清单 {valid}；修改请先以 4102 作废后重新上传"
            )
        content = exactjson.dumps({k: inp.value[k] for k in LIST_NODES if k in inp.value})
        new = checked_and_grouped(s, ctx, lst, settled, content)
    lists.add_list(s, new, actor=ctx.actor, msgid=ctx.msgid, now=ctx.clock())
    g = new.grouped.group
    return {
        "data": {
            "setl_list_id": new.setl_list_id,
            "setl_id": settled.setl_id,
            "mdtrt_id": settled.mdtrt_id,
            "drg_codg": g.drg,
            "drg_name": new.grouped.group_name,
            "grp_stas": g.status,
            "grp_stas_name": STATUS_WORDS[g.status],
            "grp_rslt_dscr": g.reason,
            "scheme": new.grouped.scheme,
            "pack_hash": new.grouped.pack_hash,
        }
    }


def checked_and_grouped(
    s, ctx, lst: sl.SettlementList, settled: sl.SettledStay, content: str
) -> lists.NewList:
    """The list's steps (principal first, the stay, the scheme of the discharge date, codes, conflicts) and
    its grouping; refused with :class:`~yibao.payment.settlement_list.ListError`. ``content``: the message's
    list nodes as uploaded (exact JSON)."""
    diagnoses, procedures = sl.principal_first(lst)
    stay = sl.stay_of(lst, settled)
    scheme = sl.drg_scheme_on(registered_schemes(), stay.dscg_time.date())
    if scheme is None:
        raise sl.ListError("setlinfo.dscg_time", f"出院日期 {stay.dscg_time.date()} 没有有效的 DRG 分组方案")
    pack = load_drg_pack(scheme.name)
    codes = {c.diag_code for c in diagnoses} | {normalise_code(c.diag_code) for c in diagnoses}
    sl.check_codes(diagnoses, procedures, pack, lists.grey_codes(s, codes))
    setl_list_id = new_id(ctx.admdvs or settled.fixmedins_code[1:7], "L", ctx.clock())
    case = sl.case_of(setl_list_id, stay, diagnoses, procedures)
    sl.check_conflicts(case, diagnoses, pack)
    return lists.NewList(
        setl_list_id=setl_list_id,
        settled=settled,
        stay=stay,
        diagnoses=diagnoses,
        other_diagnoses=tuple(d for d in lst.diagnoses if d.diag_type != sl.WESTERN),
        procedures=procedures,
        hi_paymtd=lst.hi_paymtd,
        grouped=sl.group_list(case, pack, scheme),
        content=content,
        also=(sl.group_list_dip(case, dip_catalogue()),) if dip_in_effect(stay.dscg_time.date()) else (),
    )


@lru_cache(maxsize=1)
def _dip_catalogue(folder: str, stamp: float) -> DipCatalogue:
    return load_dip_catalogue(Path(folder))


def dip_catalogue() -> DipCatalogue:
    """The region's DIP catalogue (``regions/<admdvs>/payment``), loaded once and again when it changes."""
    settings = get_settings()
    folder = settings.regions_dir / settings.region / "payment"
    return _dip_catalogue(str(folder), (folder / "dip_catalogue.csv").stat().st_mtime)


# --- 4102 / 4103 -----------------------------------------------------------------------------------------


def own_list(uow: UnitOfWork, ctx, d: Node) -> SettlementList:
    """The caller's list named by ``setl_list_id``, ``setl_id`` or ``mdtrt_id`` (one is required), of
    ``psn_no`` if given."""
    keys = {k: d.code(k, 30, required=False) for k in ("setl_list_id", "setl_id", "mdtrt_id")}
    if not any(keys.values()):
        raise InputError(f"{d.path}.setl_id: 缺少 (missing; or setl_list_id / mdtrt_id)")
    row = lists.own_list(uow.session, ctx.fixmedins_code, **keys)
    named_by = next(k for k, v in keys.items() if v)
    if row is None:
        raise NotFound(f"{d.path}.{named_by}: 结算清单不存在 {keys[named_by]}")
    psn_no = d.code("psn_no", 30, required=False)
    if psn_no is not None and psn_no != row.psn_no:
        raise InputError(f"{d.path}.psn_no: 与结算清单的人员不符")
    return row


@transaction("4102")
def change_status(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    d = inp.child("data")
    wanted = d.code("vali_flag", 1, choices=(sl.VALID, sl.VOID))
    row = own_list(uow, ctx, d)
    other = lists.valid_list_id(uow.session, row.setl_id)
    with named():
        after = sl.change_status(
            row.setl_list_id, row.vali_flag, wanted, other_valid=other if other != row.setl_list_id else None
        )
    lists.set_status(uow.session, row, after, actor=ctx.actor, now=ctx.clock())
    return {"data": {"setl_list_id": row.setl_list_id, "setl_id": row.setl_id, "vali_flag": after}}


@transaction("4103")
def query(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    row = own_list(uow, ctx, inp.child("data"))
    uploaded = exactjson.loads(row.content)
    setlinfo = {
        **uploaded.get("setlinfo", {}),
        "setl_list_id": row.setl_list_id,
        "vali_flag": row.vali_flag,
        "upld_time": row.uploaded_at.replace(microsecond=0),
    }
    return {**{k: uploaded[k] for k in LIST_NODES if k in uploaded}, "setlinfo": setlinfo}


# --- 3605 / 3606 -----------------------------------------------------------------------------------------


def group_out(row: SettlementList, g: SettlementListGroup) -> dict:
    result = (g.trace or {}).get("result", {})
    return {
        "setl_list_id": row.setl_list_id,
        "setl_id": row.setl_id,
        "mdtrt_id": row.mdtrt_id,
        "psn_no": row.psn_no,
        "grp_stas": g.status,
        "grp_stas_name": STATUS_WORDS.get(g.status, g.status),
        "grp_rslt_dscr": g.reason or "",
        "mdc_codg": g.mdc or "",
        "mdc_name": result.get("mdc_name", ""),
        "adrg_codg": g.adrg or "",
        "adrg_name": result.get("adrg_name", ""),
        "scheme": g.scheme,
        "pack_hash": g.pack_hash,
        "grouper_version": g.grouper_version,
        "grp_time": g.grouped_at.replace(microsecond=0),
        "trace": list((g.trace or {}).get("steps", [])),
    }


def counted_list(uow: UnitOfWork, ctx, d: Node) -> SettlementList:
    """The list whose grouping counts: the caller's valid list (a voided one's grouping no longer counts)."""
    row = own_list(uow, ctx, d)
    if row.vali_flag != sl.VALID:
        raise InputError(f"{d.path}.setl_id: 结算清单 {row.setl_list_id} 已作废，其分组结果不再有效")
    return row


@transaction("3605")
def drg_result(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    d = inp.child("data")
    row = counted_list(uow, ctx, d)
    g = lists.group_of(uow.session, row.setl_list_id, "drg")
    if g is None:
        raise NotFound(f"{d.path}.setl_id: 结算清单 {row.setl_list_id} 没有 DRG 分组结果")
    return {"result": {**group_out(row, g), "drg_codg": g.group_code, "drg_name": g.group_name or ""}}


def dip_in_effect(day: date) -> bool:
    """Whether the region pays by DIP on ``day`` (the discharge date): a DIP scheme in the payment registry,
    or the region's own DIP parameters (``regions/<admdvs>/payment/dip.yaml``) in effect that day. (Only the
    period is read here; the DIP grouper's loader reads the rest.)"""
    if sl.dip_scheme_on(registered_schemes(), day) is not None:
        return True
    settings = get_settings()
    params = settings.regions_dir / settings.region / "payment" / "dip.yaml"
    try:
        raw = yaml.safe_load(params.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError, ValueError):
        return False
    return isinstance(raw, dict) and sl.period_holds(raw.get("effective_from"), raw.get("effective_to"), day)


@transaction("3606")
def dip_result(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    """DIP 分组结果: answered only where a DIP scheme is registered for the discharge date; the DIP grouping
    of a list is stored beside its DRG one (``settlement_list_group.kind`` ``dip``) when 4101 groups it."""
    d = inp.child("data")
    row = counted_list(uow, ctx, d)
    if not dip_in_effect(row.dscg_time.date()):
        raise InputError(
            f"{d.path}.setl_id: 本统筹区未配置 DIP 分组方案 (DIP is not configured for this region)"
        )
    g = lists.group_of(uow.session, row.setl_list_id, "dip")
    if g is None:
        raise NotFound(f"{d.path}.setl_id: 结算清单 {row.setl_list_id} 没有 DIP 分组结果")
    result = (g.trace or {}).get("result", {})
    dip = {k: result.get(k, "") for k in ("dip_type", "score", "aux_coef", "points")}
    return {
        "result": {
            **group_out(row, g),
            "dip_codg": g.group_code,
            "dip_name": g.group_name or "",
            **dip,
        }
    }
