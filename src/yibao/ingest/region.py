"""Load a region (载入统筹区): national dictionaries, the region's districts and dictionaries, institutions,
departments, catalogue and clinical codes, from ``regions/`` — idempotent (a rerun changes nothing)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from yibao.audit_actions import Action
from yibao.errors import InputError
from yibao.ingest.loader import run_import
from yibao.ingest.report import ImportReport
from yibao.store import audit
from yibao.store.db import unit_of_work
from yibao.store.tables import NATIONAL, Dictionary, Region
from yibao.yamlio import load_yaml

Progress = Callable[[str, int], None]


@dataclass
class RegionReport:
    admdvs: str
    name: str
    dictionaries: dict[str, int] = field(default_factory=dict)  # inserted / updated / unchanged
    imports: list[ImportReport] = field(default_factory=list)


def _dictionary_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.yaml")) if folder.is_dir() else []


def load_dictionaries(engine: Engine, folder: Path, scope: str) -> dict[str, int]:
    """Upsert every value of every ``<type>.yaml`` in ``folder`` under admdvs ``scope``."""
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    for f in _dictionary_files(folder):
        spec = load_yaml(f)
        if not isinstance(spec, dict) or "type" not in spec or not isinstance(spec.get("values"), list):
            raise InputError(f"{f}: 字典文件应为 {{type, name, values: [...]}}")
        dic_type = str(spec["type"])
        with unit_of_work(engine) as s:
            existing = {
                (d.code, d.valid_from): d
                for d in s.scalars(
                    select(Dictionary).where(Dictionary.dic_type == dic_type, Dictionary.admdvs == scope)
                )
            }
            for i, v in enumerate(spec["values"]):
                if not isinstance(v, dict) or "code" not in v or "name" not in v:
                    raise InputError(f"{f}: values[{i}]: 需要 code 与 name")
                code = str(v["code"])
                valid_from = v.get("valid_from") or date(2000, 1, 1)
                values = {
                    "name": str(v["name"]),
                    "parent_code": None if v.get("parent") is None else str(v["parent"]),
                    "valid_to": v.get("valid_to"),
                    "vali_flag": str(v.get("vali_flag", "1")),
                    "sort": i,
                    "source": f"{f.parent.parent.name}/{f.parent.name}/{f.name}",
                }
                row = existing.get((code, valid_from))
                if row is None:
                    s.add(
                        Dictionary(
                            dic_type=dic_type, code=code, admdvs=scope, valid_from=valid_from, **values
                        )
                    )
                    counts["inserted"] += 1
                elif any(getattr(row, k) != val for k, val in values.items()):
                    for k, val in values.items():
                        setattr(row, k, val)
                    counts["updated"] += 1
                else:
                    counts["unchanged"] += 1
    return counts


def save_districts(s: Session, admdvs: str, spec: dict) -> None:
    """The region and its districts with their census populations (the 参保率 denominators)."""
    rows = [(admdvs, str(spec.get("name", admdvs)), spec.get("parent"), "city", None)] + [
        (str(d["admdvs"]), str(d["name"]), admdvs, "district", d.get("population"))
        for d in spec.get("districts", [])
    ]
    for code, name, parent, level, population in rows:
        r = s.get(Region, code)
        if r is None:
            s.add(Region(admdvs=code, name=name, parent_admdvs=parent, level=level, population=population))
        else:
            r.name, r.parent_admdvs, r.level, r.population = name, parent, level, population


def load_region(
    engine: Engine,
    admdvs: str = "990100",
    regions_dir: Path | None = None,
    progress: Progress | None = None,
    actor: str = "cli",
) -> RegionReport:
    if regions_dir is None:
        from yibao.config import get_settings

        regions_dir = get_settings().regions_dir
    regions_dir = Path(regions_dir)
    folder = regions_dir / admdvs
    spec_path = folder / "region.yaml"
    if not spec_path.is_file():
        raise InputError(f"{spec_path}: 统筹区 {admdvs} 的 region.yaml 不存在")
    spec = load_yaml(spec_path)
    report = RegionReport(admdvs=admdvs, name=str(spec.get("name", admdvs)))
    rules = _rule_library(folder / "rules", regions_dir)  # a bad rule file refuses the load before any write

    def step(name: str) -> None:
        if progress:
            progress(name, 1)

    national = load_dictionaries(engine, regions_dir / "000000" / "dictionaries", NATIONAL)
    local = load_dictionaries(engine, folder / "dictionaries", admdvs)
    report.dictionaries = {k: national[k] + local[k] for k in national}
    step("字典 dictionaries")
    with unit_of_work(engine) as s:
        save_districts(s, admdvs, spec)
    step("区划 districts")
    for kind, rel in (
        ("institutions", "institutions.csv"),
        ("departments", "departments.csv"),
        ("catalogue", "catalogue/catalogue.csv"),
        ("icd10", "codes/icd10.csv"),
        ("icd9cm3", "codes/icd9cm3.csv"),
    ):
        path = folder / rel
        if path.is_file():
            report.imports.append(run_import(engine, kind, path, actor=actor))
            step(kind)
    if (folder / "institutions.csv").is_file():
        report.imports.append(designate(engine, folder / "institutions.csv", regions_dir, actor))
        step("agreements")
    if rules is not None:
        report.imports.append(import_rules(engine, rules, folder / "rules", actor))
        step("rules")
    with unit_of_work(engine) as s:
        audit.record(
            s,
            actor=actor,
            action=Action.LOAD_REGION,
            entity="region",
            entity_id=admdvs,
            after={"dictionaries": report.dictionaries, **{r.kind: r.counts() for r in report.imports}},
        )
    return report


def _rule_library(folder: Path, regions_dir: Path):
    """The region's smart-audit rule library (规则库 + 知识库, ``rules/``), validated; None without one."""
    if not folder.is_dir():
        return None
    from yibao.supervision.service.rules import read_files

    return read_files(folder, base=regions_dir)


def import_rules(engine: Engine, library, folder: Path, actor: str) -> ImportReport:
    """Store the rules as new versions where they changed, counted as an import."""
    from yibao.supervision.service.rules import import_rules as store_rules

    with unit_of_work(engine) as s:
        done = store_rules(s, library, actor=actor, reason="region load")
    return ImportReport(
        file=str(folder),
        kind="rules",
        read=len(library.rules),
        inserted=len(done.added),
        updated=len(done.changed),
        unchanged=len(done.unchanged),
    )


def designate(engine: Engine, path: Path, regions_dir: Path, actor: str) -> ImportReport:
    """Every institution of the file without an agreement gets its main agreement and designation
    (:func:`yibao.providers.service.loading.designate_register`): the service categories of an optional
    ``services`` column (codes separated by spaces or 、), else all its class may have."""
    from yibao.providers.service.loading import designate_register

    listed: dict[str, list[str]] = {}
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        raw = (row.get("services") or "").replace("、", " ").replace(",", " ").split()
        if raw:
            listed[row["fixmedins_code"]] = raw
    codes = {r["fixmedins_code"] for r in rows if r.get("fixmedins_code")}
    with unit_of_work(engine) as s:
        done = designate_register(s, actor=actor, codes=codes, services=listed, regions_dir=regions_dir)
    return ImportReport(
        file=str(path), kind="agreements", read=len(codes), inserted=done, unchanged=len(codes) - done
    )
