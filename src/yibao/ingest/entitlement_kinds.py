"""The entitlement feeds as import kinds (待遇资格导入): 人员身份 from 民政 (低保, 特困, 低边), 残联 (残疾 with
grade) and 乡村振兴 (脱贫); 门诊慢特病备案; 惠民保参保 from the insurer; 个人账户期初余额. Their columns
are parsed and checked like every other kind's; their chunks are written by
:mod:`yibao.enrollment.entitlement_service`, which the REST resources and the console call too."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from yibao import validation as v
from yibao.enrollment import entitlement_service as svc
from yibao.enrollment import entitlements as ent
from yibao.errors import InputError, NotFound
from yibao.ingest.kinds import (
    Col,
    Context,
    Kind,
    a_date,
    amount,
    an_int,
    choice,
    dict_code,
    text,
    validator,
)
from yibao.ingest.readers import as_text
from yibao.store.db import unit_of_work
from yibao.store.tables import (
    ChronicRegistration,
    Dictionary,
    Identity,
    Person,
    PersonalAccount,
    SupplementaryEnrollment,
)
from yibao.validation import ValidationError


def bounded(width: int) -> Callable:
    """Text that fits its column (a longer value would fail the whole chunk on PostgreSQL)."""

    def parse(x: Any, ctx: Context) -> str:
        s = as_text(x)
        if len(s) > width:
            raise ValidationError(f"超过 {width} 个字符 (got {len(s)})")
        return s

    return parse


def _problems(check: Callable[[dict], None], row: dict) -> list[tuple[str, str]]:
    try:
        check(row)
    except InputError as exc:
        return [ent.refusal(exc)]
    return []


def _identity(row: dict, ctx: Context) -> list[tuple[str, str]]:
    def check(r: dict) -> None:
        r["psn_type_lv"] = ent.grade(r["psn_idet_type"], r.get("psn_type_lv"))
        ent.in_order(ent.IDENTITY, r)

    return _problems(check, row)


def _chronic(row: dict, ctx: Context) -> list[tuple[str, str]]:
    return _problems(lambda r: ent.in_order(ent.CHRONIC, r), row)


def _supplementary(row: dict, ctx: Context) -> list[tuple[str, str]]:
    return _problems(lambda r: ent.supplementary_year(r["year"], date.today()), row)


def _writer(apply: Callable[..., svc.Applied], **fixed) -> Callable:
    """A chunk of parsed rows written by ``apply`` in one unit of work, its outcome added to the report."""

    def write(engine: Engine, kind: Kind, chunk, report, dry_run: bool, columns=None, actor: str = "cli"):
        from yibao.ingest.report import Rejection

        present = set(kind.key) | set(columns if columns is not None else (c.name for c in kind.cols))
        with unit_of_work(engine) as s:
            done = apply(s, chunk, actor=actor, source=report.file, dry_run=dry_run, present=present, **fixed)
        report.inserted += done.inserted
        report.updated += done.updated
        report.unchanged += done.unchanged
        report.rejected.extend(Rejection(line, f, r) for line, f, r in sorted(done.rejected))

    return write


def _dated(spec: ent.Dated) -> Callable[..., svc.Applied]:
    return lambda s, rows, **kw: svc.apply_dated(s, spec, rows, **kw)


def _without_present(apply: Callable[..., svc.Applied]) -> Callable[..., svc.Applied]:
    # a 惠民保 year or an opening balance is the whole row: there is no column to keep
    return lambda s, rows, present=None, **kw: apply(s, rows, **kw)


IDENTITIES = Kind(
    "identities",
    "人员身份",
    Identity,
    ("psn_no", "psn_idet_type", "begntime"),
    (
        Col("psn_no", "人员编号", text, True),
        Col("psn_idet_type", "人员身份类别", dict_code("psn_idet_type"), True),
        Col("psn_type_lv", "等级", bounded(6)),
        Col("begntime", "开始日期", a_date, True),
        Col("endtime", "结束日期", a_date),
        Col("idet_org", "认定机构", bounded(100)),
        Col("memo", "备注", bounded(200)),
    ),
    _identity,
    writer=_writer(_dated(ent.IDENTITY)),
)

CHRONIC_REGISTRATIONS = Kind(
    "chronic_registrations",
    "门诊慢特病备案",
    ChronicRegistration,
    ("psn_no", "opsp_dise_code", "begndate"),
    (
        Col("psn_no", "人员编号", text, True),
        Col("opsp_dise_code", "病种编码", dict_code("opsp_dise"), True),
        Col("begndate", "开始日期", a_date, True),
        Col("enddate", "结束日期", a_date),
        Col("fixmedins_code", "定点医药机构编号", validator(v.fixmedins_code)),
        Col("status", "状态", choice(*ent.CHRONIC_STATUS), False, "approved"),
    ),
    _chronic,
    writer=_writer(_dated(ent.CHRONIC)),
)

SUPPLEMENTARY = Kind(
    "supplementary",
    "惠民保参保",
    SupplementaryEnrollment,
    ("psn_no", "year"),
    (
        Col("psn_no", "人员编号", text, True),
        Col("year", "年度", an_int(2000, 2100), True),
        Col("product", "产品", bounded(30), False, "huiminbao"),
        Col("status", "状态", choice(*ent.SUPPLEMENTARY_STATUS), False, "enrolled", stored=False),
    ),
    _supplementary,
    writer=_writer(_without_present(svc.apply_supplementary)),
)

ACCOUNT_BALANCES = Kind(
    "account_balances",
    "个人账户期初余额",
    PersonalAccount,
    ("psn_no",),
    (
        Col("psn_no", "人员编号", text, True),
        Col("balc", "期初余额", amount, True, stored=False),
        Col("book_date", "入账日期", a_date, stored=False),
    ),
    writer=_writer(_without_present(svc.apply_opening_balances)),
)

FEEDS = {k.name: k for k in (IDENTITIES, CHRONIC_REGISTRATIONS, SUPPLEMENTARY, ACCOUNT_BALANCES)}
DICTIONARIES = ("psn_idet_type", "opsp_dise")


def parse_one(s: Session, kind: Kind, values: dict[str, Any]) -> dict:
    """One handler's row (REST body, console form) parsed and checked exactly as an imported line is: the
    same parsers, dictionaries and row rules, the first problem as a one-line ``field: reason``."""
    from yibao.ingest.loader import parse_row

    ctx = Context(dictionaries={})
    for t, c in s.execute(
        select(Dictionary.dic_type, Dictionary.code).where(Dictionary.dic_type.in_(DICTIONARIES))
    ):
        ctx.dictionaries.setdefault(t, set()).add(c)
    raw = {k: x for k, x in values.items() if x is not None}
    row, problems = parse_row(kind, {c.name: c.name for c in kind.cols}, raw, ctx)
    if problems:
        f, reason = problems[0]
        raise InputError(f"{f}: {reason}")
    return row


_ADD = {
    IDENTITIES.name: _dated(ent.IDENTITY),
    CHRONIC_REGISTRATIONS.name: _dated(ent.CHRONIC),
    SUPPLEMENTARY.name: _without_present(svc.apply_supplementary),
}


def add_one(s: Session, kind: Kind, values: dict[str, Any], *, actor: str) -> Any:
    """A handler's one new identity, registration or 惠民保 year (a REST body, a console form): parsed as an
    imported line, added by the import's own use case — never over an existing key — and audited; the
    refusal is one line naming the field. Returns the new row's id (a 惠民保 year: ``psn_no/year``)."""
    if s.get(Person, values["psn_no"]) is None:
        raise NotFound(f"psn_no: 人员不存在 {values['psn_no']}")
    done = _ADD[kind.name](s, [(1, parse_one(s, kind, values))], actor=actor, may_update=False)
    done.raise_refusal()
    return done.ids[1]
