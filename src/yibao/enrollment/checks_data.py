"""The data of the enrollment business checks (业务校验): a region's ``region.yaml`` ``enrollment:`` section
(how far ahead a date may be, the ages of each 人员类别), over the defaults of :mod:`yibao.enrollment.rules`.
Read once per region and process; a region without the section, or without a region.yaml, keeps the
defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from yibao.enrollment.rules import DEFAULT_AGES, AgeBand, EnrollmentChecks
from yibao.errors import ConfigError
from yibao.yamlio import load_yaml


def checks_for(admdvs: str, regions_dir: Path | None = None) -> EnrollmentChecks:
    """The checks of an insured place: its own region.yaml, else its city's (``xxyy00``), else the defaults."""
    if regions_dir is None:
        from yibao.config import get_settings

        regions_dir = get_settings().regions_dir
    return _checks(str(regions_dir), admdvs)


@lru_cache(maxsize=64)
def _checks(regions_dir: str, admdvs: str) -> EnrollmentChecks:
    for candidate in (admdvs, admdvs[:4] + "00"):
        path = Path(regions_dir) / candidate / "region.yaml"
        if path.is_file():
            spec = load_yaml(path) or {}
            return parse(spec.get("enrollment") or {}, str(path), _type_names(regions_dir))
    return EnrollmentChecks(type_names=_type_names(regions_dir))


def _type_names(regions_dir: str) -> dict[str, str]:
    path = Path(regions_dir) / "000000" / "dictionaries" / "psn_type.yaml"
    if not path.is_file():  # the names only: messages show the code alone
        return {}
    return {str(x["code"]): str(x["name"]) for x in (load_yaml(path) or {}).get("values", [])}


def clear() -> None:
    _checks.cache_clear()


def parse(section: dict, source: str, type_names: dict[str, str] | None = None) -> EnrollmentChecks:
    """``enrollment:`` of a region.yaml: ``lead_days`` (0–366) and ``ages`` (险种 → 人员类别 → [最小, 最大]
    周岁, or by gender {"1": [..], "2": [..]}); what it lists replaces the default of that category."""
    if not isinstance(section, dict):
        raise ConfigError(f"{source}: enrollment 应为映射")
    lead = section.get("lead_days", EnrollmentChecks.lead_days)
    if not isinstance(lead, int) or isinstance(lead, bool) or not 0 <= lead <= 366:
        raise ConfigError(f"{source}: enrollment.lead_days 应为 0–366 的整数天数")
    ages = {insutype: dict(by_type) for insutype, by_type in DEFAULT_AGES.items()}
    for insutype, by_type in (section.get("ages") or {}).items():
        if not isinstance(by_type, dict):
            raise ConfigError(f"{source}: enrollment.ages.{insutype} 应为 人员类别 → 年龄段 的映射")
        for code, value in by_type.items():
            where = f"{source}: enrollment.ages.{insutype}.{code}"
            if isinstance(value, dict):
                bands = {str(g): _band(v, f"{where}.{g}") for g, v in value.items()}
            else:
                bands = {"*": _band(value, where)}
            ages.setdefault(str(insutype), {})[str(code)] = bands
    return EnrollmentChecks(lead_days=lead, ages=ages, type_names=type_names)


def _band(value, where: str) -> AgeBand:
    ok = isinstance(value, list) and len(value) == 2
    ok = ok and all(
        x is None or (isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= 150) for x in value
    )
    if not ok or (value[0] is not None and value[1] is not None and value[0] > value[1]):
        raise ConfigError(f"{where} 应为 [最小周岁, 最大周岁]（0–150，不限写 null）")
    return AgeBand(value[0], value[1])
