"""The region's word on the suspicion workflow (疑点处理): ``region.yaml`` ``supervision: appeal_days`` — the
calendar days an institution has to accept or appeal a notice — over the default of
:mod:`yibao.supervision.suspicion_states` (15 days, typical; supervision.md §2.2: "each stage with a local time
limit"). Read once per region and process; a region without the key, or without a region.yaml, keeps the
default. Other keys of ``supervision:`` belong to other parts of the package and are left alone."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from yibao.errors import ConfigError
from yibao.supervision.suspicion_states import SuspicionSettings
from yibao.yamlio import load_yaml

MAX_DAYS = 366


def settings_for(admdvs: str | None, regions_dir: Path) -> SuspicionSettings:
    """The settings of an institution's 医保区划: its own region.yaml, else its city's (``xxyy00``), else the
    defaults."""
    return _settings(str(regions_dir), admdvs or "")


@lru_cache(maxsize=64)
def _settings(regions_dir: str, admdvs: str) -> SuspicionSettings:
    for candidate in dict.fromkeys((admdvs, admdvs[:4] + "00")):
        path = Path(regions_dir) / candidate / "region.yaml"
        if candidate and path.is_file():
            return parse((load_yaml(path) or {}).get("supervision") or {}, f"{candidate}/region.yaml")
    return SuspicionSettings()


def clear() -> None:
    _settings.cache_clear()


def parse(section: dict, source: str) -> SuspicionSettings:
    """``supervision:`` of a region.yaml: ``appeal_days`` (1–366 calendar days)."""
    if not isinstance(section, dict):
        raise ConfigError(f"{source}: supervision 应为映射")
    if "appeal_days" not in section:
        return SuspicionSettings()
    days = section["appeal_days"]
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise ConfigError(f"{source}: supervision.appeal_days 应为 1–{MAX_DAYS} 的整数天数")
    return SuspicionSettings(appeal_days=days, source=f"{source} supervision.appeal_days")
