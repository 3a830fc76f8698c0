"""Payment rule packs (支付方式规则包): the registry of schemes by name and effective period, and the loader.

A scheme is data: ``data/schemes.yaml`` names each one (``chs-drg-1.1``), its effective period, where its
tables are and the order of its MDC steps; the tables are read and checked at load, and a malformed pack is
refused with file, line and reason. The pack hash covers every table's bytes (the same for the folder and
for its ``.tar.xz``), so a grouped case can say exactly which rules grouped it.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml

from yibao.payment.drg_pack import DrgPack, compile_pack
from yibao.payment.drg_tables import RulePackError

DATA = Path(__file__).resolve().parent / "data"
REGISTRY = DATA / "schemes.yaml"


@dataclass(frozen=True)
class Scheme:
    """A registered scheme: its name, effective period (``effective_to`` None: open) and tables."""

    name: str
    kind: str
    title: str
    effective_from: date
    effective_to: date | None
    tables: Path
    licence: Path
    meta: dict

    def in_effect(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


def registered_schemes(registry: Path = REGISTRY) -> dict[str, Scheme]:
    try:
        raw = yaml.safe_load(registry.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError, ValueError) as exc:  # ValueError: a date like 2025-13-01
        raise RulePackError(f"{registry.name}: 无法读取方案登记 (cannot read the registry): {exc}") from None
    found: dict[str, Scheme] = {}
    for name, entry in raw.items():
        try:
            found[name] = Scheme(
                name=name,
                kind=entry["kind"],
                title=entry["title"],
                effective_from=entry["effective_from"],
                effective_to=entry.get("effective_to"),
                tables=registry.parent / entry["tables"],
                licence=registry.parent / entry["licence"],
                meta=entry,
            )
        except (KeyError, TypeError) as exc:
            raise RulePackError(f"{registry.name}: 方案 {name} 缺少 {exc} (entry incomplete)") from None
        scheme = found[name]
        dates = (scheme.effective_from, scheme.effective_to or scheme.effective_from)
        if not all(isinstance(d, date) for d in dates) or dates[1] < dates[0]:
            raise RulePackError(
                f"{registry.name}: 方案 {name} 的有效期不是日期区间 (effective period: YYYY-MM-DD)"
            )
        if scheme.kind == "drg" and not all(k in entry for k in ("pre_mdc", "mdc_order")):
            raise RulePackError(f"{registry.name}: 方案 {name} 缺少 pre_mdc 或 mdc_order (MDC order missing)")
    return found


def find_scheme(name: str, on: date | None = None, registry: Path = REGISTRY) -> Scheme:
    """The scheme registered as ``name``; with ``on``, refused unless it is in effect on that date."""
    schemes = registered_schemes(registry)
    if name not in schemes:
        known = ", ".join(sorted(schemes)) or "无"
        raise RulePackError(f"未登记的分组方案 {name} (unknown scheme; registered: {known})")
    scheme = schemes[name]
    if on is not None and not scheme.in_effect(on):
        raise RulePackError(f"分组方案 {name} 在 {on} 不在有效期内 (not in effect on that date)")
    return scheme


def read_tables(path: Path) -> dict[str, bytes]:
    """Every file of a pack, keyed by its path in the layout (``5_MCC.txt``, ``ADRG/GB1_….dat``): from a
    folder, or from one ``.tar.xz``/``.tar.gz``/``.tar`` of that folder."""
    if path.is_dir():
        return {
            p.relative_to(path).as_posix(): p.read_bytes()
            for p in sorted(path.rglob("*"))
            if p.is_file() and not p.name.startswith(".")
        }
    if not path.is_file():
        raise RulePackError(f"{path}: 规则包不存在 (pack not found)")
    try:
        with tarfile.open(fileobj=io.BytesIO(path.read_bytes())) as archive:
            return {
                m.name.removeprefix("./"): archive.extractfile(m).read()  # type: ignore[union-attr]
                for m in archive.getmembers()
                if m.isfile()
            }
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise RulePackError(f"{path.name}: 无法解压规则包 (cannot read the archive): {exc}") from None


def pack_hash(files: dict[str, bytes]) -> str:
    """SHA-256 over every file's path and bytes, in path order: the pack's identity."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode("utf-8") + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


@lru_cache(maxsize=4)
def load_drg_pack(name: str = "chs-drg-1.1", tables: Path | None = None) -> DrgPack:
    """Load and check the DRG scheme ``name`` (its registered tables, or ``tables`` in the same layout)."""
    scheme = find_scheme(name)
    if scheme.kind != "drg":
        raise RulePackError(f"{name} 不是 DRG 分组方案 (not a DRG scheme)")
    files = read_tables(tables or scheme.tables)
    return compile_pack(files, name, scheme.meta, pack_hash(files))
