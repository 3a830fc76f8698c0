"""A region's DIP catalogue (按病种分值付费 病种目录库) as data: read, checked and compiled for grouping.

A region's folder (``regions/<admdvs>/payment/``) holds:

* ``dip_catalogue.csv`` (or ``.xlsx``): one 病种 a row — ``dip_code``, ``dip_type`` (``core`` 核心,
  ``basic`` 基层, ``comprehensive`` 综合), ``diagnosis_key`` (a 亚目 such as ``K80.1`` for core and basic
  rows; a 类目 ``K80`` or a range ``K00-K93`` for comprehensive ones), ``procedures`` (an expression of
  ICD-9-CM-3 codes joined by ``+`` all-of and ``/`` any-of; empty: 保守治疗), ``treatment`` (the treatment
  type of a comprehensive row), ``score`` (分值), and optionally ``rw`` and ``name``;
* ``dip_procedures.csv``: the procedure-attribute table, ``code,treatment_type`` (a full code or a prefix
  such as ``88`` or ``45.1``; the longest prefix wins);
* ``dip_aux.csv`` and ``dip_cci.csv`` (optional): the auxiliary subdivisions (``dip_aux``);
* ``dip.yaml``: the dated parameters (expression precedence, tie-break, build parameters).

A malformed file is refused with file, line and reason, never half loaded; the catalogue hash covers every
file's bytes, so a grouped case can say which catalogue grouped it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

from yibao.payment.cases import normalise_code
from yibao.payment.dip_aux import AuxRule, CciTable, parse_aux, parse_cci
from yibao.payment.dip_tables import PLUS_FIRST, SLASH_FIRST, Expression, parse_expression, table_rows
from yibao.payment.drg_tables import RulePackError, refuse
from yibao.payment.packs import pack_hash

CORE, BASIC, COMPREHENSIVE = "core", "basic", "comprehensive"
DIP_TYPES = {
    "core": CORE,
    "核心": CORE,
    "basic": BASIC,
    "基层": BASIC,
    "comprehensive": COMPREHENSIVE,
    "综合": COMPREHENSIVE,
}
TREATMENTS = ("保守治疗", "诊断性操作", "治疗性操作", "相关手术")
"""Treatment types, lowest first: a comprehensive group takes the case's highest (§3.1)."""
TIE_BREAKS = ("procedures_matched", "score", "score_low", "row")
CATALOGUE_COLUMNS = ("dip_code", "dip_type", "diagnosis_key", "procedures", "treatment", "score")
SUBCATEGORY = re.compile(r"[A-Z]\d{2}\.[0-9A-Za-z]{1,10}")
CATEGORY = re.compile(r"[A-Z]\d{2}")
RANGE = re.compile(r"([A-Z]\d{2})-([A-Z]\d{2})")
PX_PREFIX = re.compile(r"\d{2}(?:\.[0-9A-Za-z]{1,10})?")


@dataclass(frozen=True)
class DipParams:
    """The grouping and build parameters of ``dip.yaml`` (payment-drg-dip.md §7), with their period."""

    effective_from: date | None = None
    effective_to: date | None = None
    reference: str = ""
    precedence: str = SLASH_FIRST
    tie_break: tuple[str, ...] = ("procedures_matched", "score")
    qualifying_types: frozenset[str] = frozenset(TREATMENTS[1:])
    aux_combine: str = "max"
    build: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DipRow:
    """One 病种 of the catalogue; ``expression`` is empty for 保守治疗 and for comprehensive rows."""

    dip_code: str
    dip_type: str
    key: str
    procedures: str
    expression: Expression
    treatment: str
    score: Decimal
    rw: str
    name: str
    line: int


@dataclass(frozen=True)
class DipCatalogue:
    """A loaded catalogue: core and basic rows by diagnosis key, comprehensive rows by (prefix, treatment),
    the procedure-attribute table, the auxiliary subdivisions and the parameters."""

    region: str
    pack_hash: str
    params: DipParams
    rows: tuple[DipRow, ...]
    by_key: dict[str, tuple[DipRow, ...]]
    key_lengths: tuple[int, ...]
    comprehensive: dict[tuple[str, str], DipRow]
    ranges: tuple[tuple[str, str, str], ...]
    """Comprehensive range keys (``K00-K93``) as (low, high, key), narrowest first."""
    procedure_types: dict[str, str]
    aux: dict[str, tuple[AuxRule, ...]]
    cci: CciTable | None


# --- the files ---------------------------------------------------------------------------------------------------


def parse_params(file: str, data: bytes) -> DipParams:
    try:
        raw = yaml.safe_load(data.decode("utf-8")) or {}
    except (UnicodeDecodeError, yaml.YAMLError, ValueError) as exc:
        raise refuse(file, 0, f"无法读取参数 (cannot read the parameters): {exc}") from None
    if not isinstance(raw, dict):
        raise refuse(file, 0, "应为键值表 (expected a mapping)")
    params = DipParams(
        effective_from=raw.get("effective_from"),
        effective_to=raw.get("effective_to"),
        reference=str(raw.get("reference", "")),
        precedence=raw.get("expression_precedence", SLASH_FIRST),
        tie_break=tuple(raw.get("tie_break", DipParams.tie_break)),
        qualifying_types=frozenset(raw.get("qualifying_types", TREATMENTS[1:])),
        aux_combine=raw.get("aux_combine", "max"),
        build=dict(raw.get("build") or {}),
    )
    start, end = params.effective_from, params.effective_to
    if not all(d is None or isinstance(d, date) for d in (start, end)) or (start and end and end < start):
        raise refuse(file, 0, "有效期应为日期区间 (effective_from/effective_to: YYYY-MM-DD)")
    if params.precedence not in (SLASH_FIRST, PLUS_FIRST):
        raise refuse(file, 0, f"expression_precedence 应为 {SLASH_FIRST} 或 {PLUS_FIRST}")
    if bad := [t for t in params.tie_break if t not in TIE_BREAKS]:
        raise refuse(file, 0, f"tie_break 不认识 {bad[0]} (known: {', '.join(TIE_BREAKS)})")
    if bad := sorted(params.qualifying_types - set(TREATMENTS[1:])):
        raise refuse(file, 0, f"qualifying_types 不认识 {bad[0]} (诊断性操作、治疗性操作、相关手术)")
    if params.aux_combine not in ("max", "product"):
        raise refuse(file, 0, "aux_combine 应为 max 或 product")
    return params


def parse_procedure_types(file: str, rows: list[tuple[int, dict[str, str]]]) -> dict[str, str]:
    """Code or prefix → treatment type (诊断性操作, 治疗性操作 or 相关手术)."""
    types: dict[str, str] = {}
    for n, row in rows:
        code, kind = normalise_code(row["code"]), row["treatment_type"]
        if not PX_PREFIX.fullmatch(code):
            raise refuse(
                file, n, f"手术操作编码或前缀格式错误 (malformed code or prefix): {row['code'][:24]}"
            )
        if kind not in TREATMENTS[1:]:
            raise refuse(file, n, f"治疗方式应为 诊断性操作、治疗性操作 或 相关手术: {kind[:20]}")
        if code in types:
            raise refuse(file, n, f"编码 {code} 重复 (duplicate code)")
        types[code] = kind
    return types


def parse_row(file: str, n: int, row: dict[str, str], precedence: str) -> DipRow:
    kind = DIP_TYPES.get(row["dip_type"])
    if kind is None:
        raise refuse(file, n, f"dip_type 应为 core、basic（基层）或 comprehensive: {row['dip_type'][:20]!r}")
    if not row["dip_code"]:
        raise refuse(file, n, "缺少 dip_code (no code)")
    key = normalise_code(row["diagnosis_key"])
    try:
        score = Decimal(row["score"])
    except InvalidOperation:
        raise refuse(file, n, f"分值不是数字 (score is not a number): {row['score'][:20]!r}") from None
    if not score.is_finite() or score <= 0:
        raise refuse(file, n, f"分值应大于 0 (score must be positive): {row['score'][:20]}")
    treatment, expression = row["treatment"], ()
    if kind == COMPREHENSIVE:
        m = RANGE.fullmatch(key)
        if not (CATEGORY.fullmatch(key) or (m and m.group(1) <= m.group(2))):
            raise refuse(file, n, f"综合病种的诊断键应为类目 K80 或区间 K00-K93: {row['diagnosis_key'][:24]}")
        if treatment not in TREATMENTS:
            raise refuse(file, n, f"综合病种的治疗方式应为 {'、'.join(TREATMENTS)}: {treatment[:20]!r}")
        if row["procedures"]:
            raise refuse(file, n, "综合病种不列手术操作 (a comprehensive row lists no procedures)")
    else:
        if not SUBCATEGORY.fullmatch(key):
            raise refuse(file, n, f"诊断键应为亚目，如 K80.1: {row['diagnosis_key'][:24]!r}")
        try:
            expression = parse_expression(row["procedures"], precedence)
        except ValueError as exc:
            raise refuse(file, n, str(exc)) from None
        treatment = "" if expression else TREATMENTS[0]
    return DipRow(
        dip_code=row["dip_code"],
        dip_type=kind,
        key=key,
        procedures=row["procedures"],
        expression=expression,
        treatment=treatment,
        score=score,
        rw=row.get("rw", ""),
        name=row.get("name", ""),
        line=n,
    )


def compile_catalogue(region: str, files: dict[str, bytes], catalogue_name: str) -> DipCatalogue:
    """Check and compile the catalogue files (file name → bytes, as read by ``load_dip_catalogue``)."""
    params = parse_params("dip.yaml", files["dip.yaml"]) if "dip.yaml" in files else DipParams()
    rows: list[DipRow] = []
    codes: dict[str, int] = {}
    combos: dict[tuple, int] = {}
    for n, raw in _rows(catalogue_name, files, CATALOGUE_COLUMNS):
        row = parse_row(catalogue_name, n, raw, params.precedence)
        if row.dip_code in codes:
            raise refuse(catalogue_name, n, f"dip_code {row.dip_code} 重复（第 {codes[row.dip_code]} 行）")
        codes[row.dip_code] = n
        combo = (row.key, row.treatment, frozenset(frozenset(a) for a in row.expression))
        if combo in combos:
            raise refuse(
                catalogue_name, n, f"与第 {combos[combo]} 行的诊断键和治疗相同 (duplicate combination)"
            )
        combos[combo] = n
        rows.append(row)
    if not rows:
        raise refuse(catalogue_name, 0, "目录没有任何病种 (no rows)")
    types = parse_procedure_types(
        "dip_procedures.csv", _rows("dip_procedures.csv", files, ("code", "treatment_type"))
    )
    cci = (
        parse_cci("dip_cci.csv", _rows("dip_cci.csv", files, ("prefix", "weight", "family")))
        if "dip_cci.csv" in files
        else None
    )
    aux = (
        parse_aux(
            "dip_aux.csv",
            _rows("dip_aux.csv", files, ("dip_code", "dimension", "subtype", "condition", "coefficient")),
            codes,
            cci is not None,
        )
        if "dip_aux.csv" in files
        else {}
    )
    by_key: dict[str, list[DipRow]] = {}
    comprehensive: dict[tuple[str, str], DipRow] = {}
    for row in rows:
        if row.dip_type == COMPREHENSIVE:
            comprehensive[(row.key, row.treatment)] = row
        else:
            by_key.setdefault(row.key, []).append(row)
    ranges = sorted(
        {(m.group(1), m.group(2), k) for k, _ in comprehensive if (m := RANGE.fullmatch(k))},
        key=lambda r: (_span(r[0], r[1]), r),
    )
    return DipCatalogue(
        region=region,
        pack_hash=pack_hash(files),
        params=params,
        rows=tuple(rows),
        by_key={k: tuple(v) for k, v in by_key.items()},
        key_lengths=tuple(sorted({len(k) for k in by_key}, reverse=True)),
        comprehensive=comprehensive,
        ranges=tuple(ranges),
        procedure_types=types,
        aux=aux,
        cci=cci,
    )


def _span(low: str, high: str) -> int:
    """How many 3-character categories a range covers (letters count as 100 each)."""

    def ordinal(c: str) -> int:
        return (ord(c[0]) - 65) * 100 + int(c[1:])

    return ordinal(high) - ordinal(low)


def _rows(name: str, files: dict[str, bytes], required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    if name not in files:
        raise refuse(name, 0, "目录缺少此文件 (missing from the catalogue folder)")
    return table_rows(name, files[name], required)


CATALOGUE_FILES = ("dip.yaml", "dip_procedures.csv", "dip_aux.csv", "dip_cci.csv")


def load_dip_catalogue(where: Path, region: str = "") -> DipCatalogue:
    """Load a region's catalogue from its folder (``regions/<admdvs>/payment``) or from a catalogue file
    (``.csv`` / ``.xlsx``; the other files are read from beside it)."""
    folder, catalogue = (where.parent, where) if where.is_file() else (where, None)
    if catalogue is None:
        catalogue = next(
            (folder / n for n in ("dip_catalogue.csv", "dip_catalogue.xlsx") if (folder / n).is_file()), None
        )
    if catalogue is None or not folder.is_dir():
        raise RulePackError(f"{where}: 没有 DIP 病种目录 dip_catalogue.csv (no DIP catalogue)")
    files = {catalogue.name: catalogue.read_bytes()}
    for name in CATALOGUE_FILES:
        if (folder / name).is_file():
            files[name] = (folder / name).read_bytes()
    return compile_catalogue(region or folder.parent.name, files, catalogue.name)
