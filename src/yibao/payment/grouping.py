"""Grouping a period's cases for payment: each case by the scheme of its hospital, with the rule pack or
catalogue in effect on its discharge date (loaded once per run). Pure apart from reading the packs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from yibao.payment.cases import DrgCase
from yibao.payment.dip import group_dip_case
from yibao.payment.dip_catalogue import DipCatalogue, load_dip_catalogue
from yibao.payment.drg import group_case
from yibao.payment.drg_pack import DrgPack
from yibao.payment.packs import load_drg_pack, registered_schemes
from yibao.payment.period import DIP, DRG, Grouping

ONE4 = Decimal(10_000)


class MissingScheme(ValueError):
    """No rule pack or catalogue of the kind is in effect on a discharge date."""


def _stamp(folder: Path) -> tuple:
    return tuple(
        sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in folder.iterdir() if p.is_file())
    )


@lru_cache(maxsize=8)
def _catalogue(folder: Path, region: str, stamp: tuple) -> DipCatalogue:
    return load_dip_catalogue(folder, region)


def cached_catalogue(folder: Path, region: str) -> DipCatalogue:
    """The region's DIP catalogue, loaded once per content of its folder (a month run, twelve months and the
    clearing read the same catalogue; an edited file is read again)."""
    return _catalogue(folder, region, _stamp(folder))


class Groupers:
    """The DRG packs and DIP catalogues a run needs, each loaded once; the identity of each (scheme and
    hash) is recorded so the run can be reproduced."""

    def __init__(self, region_dir: Path):
        self.region_dir = region_dir
        self.schemes = registered_schemes()
        self._drg: dict[str, DrgPack] = {}
        self._dip: dict[str, DipCatalogue] = {}
        self.used: dict[str, str] = {}
        self._in_effect: dict[tuple[str, date], object] = {}  # (kind, day) → scheme: a year has 365 days
        self._dip_folder: tuple[Path, Path, str] | None = None  # region_dir → its catalogue folder and key

    def _scheme(self, kind: str, day: date):
        got = self._in_effect.get((kind, day))
        if got is None:
            found = [s for s in self.schemes.values() if s.kind == kind and s.in_effect(day)]
            if not found:
                raise MissingScheme(f"{day} 没有生效的 {kind.upper()} 分组方案 (no {kind} scheme in effect)")
            got = self._in_effect[(kind, day)] = max(found, key=lambda s: s.effective_from)
        return got

    def drg_pack(self, day: date) -> DrgPack:
        scheme = self._scheme("drg", day)
        if scheme.name not in self._drg:
            self._drg[scheme.name] = load_drg_pack(scheme.name)
            self.used[scheme.name] = self._drg[scheme.name].pack_hash
        return self._drg[scheme.name]

    def dip_catalogue(self, day: date) -> DipCatalogue:
        if self._dip_folder is None or self._dip_folder[0] is not self.region_dir:
            folder = self.region_dir / "payment"
            self._dip_folder = (self.region_dir, folder, str(folder))
        _, folder, key = self._dip_folder
        if key not in self._dip:
            self._dip[key] = cached_catalogue(folder, self.region_dir.name)
            self.used[f"dip:{self.region_dir.name}"] = self._dip[key].pack_hash
        cat = self._dip[key]
        start, end = cat.params.effective_from, cat.params.effective_to
        if (start and day < start) or (end and day > end):
            raise MissingScheme(f"{day} 不在 DIP 病种目录有效期内 ({start} – {end or '至今'})")
        return cat

    def group(self, case: DrgCase, kind: str, day: date) -> Grouping:
        """The case's group under ``kind`` (drg / dip) as of its discharge ``day``."""
        if kind == DRG:
            g = group_case(case, self.drg_pack(day))
            return Grouping(DRG, g.status, g.drg, reason=g.reason)
        if kind == DIP:
            d = group_dip_case(case, self.dip_catalogue(day))
            if d.status != "ok":
                return Grouping(DIP, d.status, d.dip_code, reason=d.reason)
            return Grouping(
                DIP,
                d.status,
                d.dip_code,
                weight4=int(Decimal(d.score) * ONE4),
                aux4=int(Decimal(d.aux_coef) * ONE4),
                basic=d.dip_type == "basic",
            )
        return Grouping(kind, "ungrouped", "", reason="按项目付费, 不分组")
