"""The scenario file's inputs (结算案例的输入): persons, visits and fee lines parsed from YAML into the kernel's
domain inputs, each problem a one-line error naming its key (``fees[3].pric``). Unknown keys are ignored with
a warning, so files may carry extra national fields. The runner is :mod:`yibao.settlement.scenarios`.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from yibao.errors import YibaoError
from yibao.money import AmountError, parse_amount, parse_count, parse_price, parse_ratio
from yibao.settlement.inputs import Dated, Fee, PersonFacts, VisitRequest
from yibao.settlement.lines import NO_CAP, product_fen

PERSON_KEYS = {
    "insutype",
    "psn_type",
    "idet",
    "chronic",
    "huiminbao",
    "acct_balance",
    "mulaid_balance",
    "name",
    "psn_no",
    "enrollment",
}
SETTLE_KEYS = {
    "med_type",
    "begndate",
    "hosp_lv",
    "opsp_dise_code",
    "dise_codg",
    "acct_used_flag",
    "fees",
    "psn_type",
    "admission_of",
    "mdtrt_id",
    "name",
    "memo",
}
FEE_KEYS = {
    "chrgitm_lv",
    "pric",
    "cnt",
    "det_item_fee_sumamt",
    "selfpay_prop",
    "pric_uplmt_amt",
    "lmt_used_flag",
    "hosp_appr_flag",
}
# National line fields a file may carry; they do not affect the split and are ignored silently.
FEE_PASSTHROUGH = {
    "feedetl_sn",
    "med_list_codg",
    "medins_list_codg",
    "med_chrgitm_type",
    "fee_ocur_time",
    "name",
    "memo",
    "list_type",
    "bilg_dr_codg",
    "spec",
    "unit",
    "med_list_name",
}


class StepError(YibaoError):
    """A problem with one step; ``where`` locates it inside the step (``fees[3].pric``)."""


def warn(warnings: list[str], where: str, keys) -> None:
    for k in sorted(keys, key=str):
        warnings.append(f"{where}.{k}: unknown field ignored")


def value_of(parse, raw: Any, where: str, what: str) -> int:
    if raw is None or isinstance(raw, bool):
        raise StepError(f'{where}: "{raw}" is not {what}')
    try:
        return parse(raw)
    except AmountError as exc:
        text = format(raw, "f") if isinstance(raw, Decimal) else str(raw)
        reason = str(exc)
        places = re.search(r"more than (\d+) decimals", reason)
        if places:  # (the scenario format's own English wording, kept stable for the files that expect it)
            raise StepError(f'{where}: "{text}" has more than {places[1]} decimals') from None
        raise StepError(f'{where}: "{text}" is not {what}') from None


def flag_of(raw: Any, where: str, allowed: tuple[int, ...]) -> int:
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        value = None
    if value not in allowed:
        raise StepError(f'{where}: "{raw}" must be one of {", ".join(map(str, allowed))}')
    return value


def date_of(raw: Any, where: str) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise StepError(f'{where}: "{raw}" is not a date (YYYY-MM-DD)') from None


def code_of(raw: Any, where: str) -> str:
    if raw is None or isinstance(raw, (bool, dict, list)) or str(raw).strip() == "":
        raise StepError(f"{where}: missing code")
    return str(raw).strip()


def parse_fee(raw: Any, where: str, warnings: list[str]) -> Fee:
    if not isinstance(raw, dict):
        raise StepError(f"{where}: a fee line is a mapping ({{chrgitm_lv, pric, cnt, …}})")
    warn(warnings, where, set(raw) - FEE_KEYS - FEE_PASSTHROUGH)
    for key in ("chrgitm_lv", "pric", "cnt"):
        if key not in raw:
            raise StepError(f"{where}.{key}: missing")
    lv_raw = str(raw["chrgitm_lv"]).strip()
    lv = {"01": 1, "1": 1, "02": 2, "2": 2, "03": 3, "3": 3}.get(lv_raw)
    if lv is None:
        raise StepError(f'{where}.chrgitm_lv: "{lv_raw}" must be 01 甲, 02 乙 or 03 丙')
    pric = value_of(parse_price, raw["pric"], f"{where}.pric", "an amount")
    cnt = value_of(parse_count, raw["cnt"], f"{where}.cnt", "a count")
    if "det_item_fee_sumamt" in raw and raw["det_item_fee_sumamt"] is not None:
        amt = value_of(parse_amount, raw["det_item_fee_sumamt"], f"{where}.det_item_fee_sumamt", "an amount")
    else:
        amt = int(product_fen([pric], [cnt])[0])
    selfpay = value_of(parse_ratio, raw.get("selfpay_prop", 0) or 0, f"{where}.selfpay_prop", "a ratio")
    cap_raw = raw.get("pric_uplmt_amt")
    cap = (
        NO_CAP
        if cap_raw in (None, "")
        else value_of(parse_price, cap_raw, f"{where}.pric_uplmt_amt", "an amount")
    )
    if cap == 0:
        cap = NO_CAP  # national convention: an empty numeric field is sent as 0
    return Fee(
        pric=pric,
        cnt=cnt,
        det_item_fee_sumamt=amt,
        chrgitm_lv=lv,
        selfpay_prop=selfpay,
        pric_uplmt_amt=cap,
        lmt_used_flag=flag_of(raw.get("lmt_used_flag", 0) or 0, f"{where}.lmt_used_flag", (0, 1)),
        hosp_appr_flag=flag_of(raw.get("hosp_appr_flag", 0) or 0, f"{where}.hosp_appr_flag", (0, 1, 2)),
    )


def dated_list(raw: Any, where: str, code_keys: tuple[str, ...]) -> list[Dated]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raw = [raw]
    out = []
    for k, item in enumerate(raw, 1):
        w = f"{where}[{k}]"
        if isinstance(item, dict):
            code_key = next((c for c in code_keys if c in item), None)
            if code_key is None:
                raise StepError(f"{w}: needs one of {', '.join(code_keys)}")
            begn = item.get("begn", item.get("begntime", item.get("begndate")))
            end = item.get("end", item.get("endtime", item.get("enddate")))
            grade = item.get("grade", item.get("psn_type_lv"))
            out.append(
                Dated(
                    code_of(item[code_key], f"{w}.{code_key}"),
                    None if begn is None else date_of(begn, f"{w}.begn"),
                    None if end is None else date_of(end, f"{w}.end"),
                    None if grade is None else code_of(grade, f"{w}.grade"),
                )
            )
        else:
            out.append(Dated(code_of(item, w)))
    return out


def parse_person(raw: Any, warnings: list[str]) -> tuple[PersonFacts, int]:
    if not isinstance(raw, dict):
        raise StepError("person: missing (a mapping with insutype, psn_type …)")
    warn(warnings, "person", set(raw) - PERSON_KEYS)
    for key in ("insutype", "psn_type"):
        if key not in raw:
            raise StepError(f"person.{key}: missing")
    years = raw.get("huiminbao") or []
    if not isinstance(years, list):
        years = [years]
    try:
        hmb = {int(y) for y in years}
    except (TypeError, ValueError):
        raise StepError(f"person.huiminbao: {years!r} is not a list of years") from None
    balance = raw.get("acct_balance")
    bal = 0 if balance is None else value_of(parse_amount, balance, "person.acct_balance", "an amount")
    if bal < 0:
        raise StepError("person.acct_balance: cannot be negative")
    person = PersonFacts(
        insutype=code_of(raw["insutype"], "person.insutype"),
        psn_type=code_of(raw["psn_type"], "person.psn_type"),
        identities=dated_list(raw.get("idet"), "person.idet", ("type", "psn_idet_type", "code")),
        chronic=dated_list(raw.get("chronic"), "person.chronic", ("code", "opsp_dise_code")),
        supplementary_years=hmb,
        has_account=True,
    )
    return person, bal


def mulaid_of(raw: Any) -> int | None:
    """The bound relative's 职工 account balance that 共济 (acct_used_flag 2) draws on, if given."""
    value = raw.get("mulaid_balance") if isinstance(raw, dict) else None
    if value is None:
        return None
    bal = value_of(parse_amount, value, "person.mulaid_balance", "an amount")
    if bal < 0:
        raise StepError("person.mulaid_balance: cannot be negative")
    return bal


def parse_visit(raw: Any, warnings: list[str], where: str) -> VisitRequest:
    if not isinstance(raw, dict):
        raise StepError(f"{where}: a mapping with med_type, begndate, hosp_lv, fees")
    warn(warnings, where, set(raw) - SETTLE_KEYS)
    for key in ("med_type", "begndate", "fees"):
        if key not in raw:
            raise StepError(f"{key}: missing")
    fees_raw = raw["fees"]
    if not isinstance(fees_raw, list):
        raise StepError("fees: a list of fee lines")
    fees = [parse_fee(f, f"fees[{k}]", warnings) for k, f in enumerate(fees_raw, 1)]
    hosp_lv = raw.get("hosp_lv")
    if hosp_lv is not None:
        hosp_lv = flag_of(hosp_lv, "hosp_lv", (1, 2, 3))
    dise = raw.get("opsp_dise_code")
    diagnoses = raw.get("dise_codg") or []
    diagnoses = [diagnoses] if not isinstance(diagnoses, list) else diagnoses
    return VisitRequest(
        med_type=code_of(raw["med_type"], "med_type"),
        begndate=date_of(raw["begndate"], "begndate"),
        fees=fees,
        hosp_lv=hosp_lv,
        opsp_dise_code=None if dise in (None, "") else str(dise).strip(),
        diagnoses=[code_of(d, f"dise_codg[{k}]") for k, d in enumerate(diagnoses, 1)],
        acct_used_flag=flag_of(raw.get("acct_used_flag", 0) or 0, "acct_used_flag", (0, 1, 2)),
        psn_type=None if raw.get("psn_type") is None else code_of(raw["psn_type"], "psn_type"),
    )


# --- running --------------------------------------------------------------------------------------------
