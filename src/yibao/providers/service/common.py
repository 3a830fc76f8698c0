"""What the provider use cases share: the region's scheme for an institution, dates of terms, the public
institution test, text fields and the audit row each step writes."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from yibao.audit_actions import Action
from yibao.enrollment.rules import add_months
from yibao.errors import InputError, PolicyError
from yibao.providers.scheme import ProviderScheme, load_scheme
from yibao.store import audit

APPLICATION = "provider_application"  # the audit rows' entities
AGREEMENT = "provider_agreement"
INSTITUTION = "institution"
EVALUATION = "provider_evaluation"
PRACTITIONER = "practitioner_registration"
MEASURE = "provider_measure"
ONE_DAY = timedelta(days=1)
# 统一社会信用代码: registered by 机构编制 (1), as a 机关 (1) or 事业单位 (2) — public institutions
PUBLIC_USCC = ("11", "12")


def regions(regions_dir: Path | None) -> Path:
    if regions_dir is not None:
        return Path(regions_dir)
    from yibao.config import get_settings

    return get_settings().regions_dir


def scheme_for(admdvs: str | None, regions_dir: Path | None = None) -> ProviderScheme | None:
    """The provider scheme of an institution's 医保区划: its own ``providers/``, else its city's (``xxyy00``);
    None when neither has one."""
    return _scheme(str(regions(regions_dir)), admdvs or "")


@lru_cache(maxsize=32)
def _scheme(regions_dir: str, admdvs: str) -> ProviderScheme | None:
    for candidate in dict.fromkeys((admdvs, admdvs[:4] + "00")):
        folder = Path(regions_dir) / candidate / "providers"
        if candidate and (folder / "scheme.yaml").is_file():
            return load_scheme(folder)
    return None


def clear() -> None:
    """Forget the schemes read (a test that writes one)."""
    _scheme.cache_clear()


def require_scheme(admdvs: str | None, regions_dir: Path | None = None) -> ProviderScheme:
    scheme = scheme_for(admdvs, regions_dir)
    if scheme is None:
        raise PolicyError(
            f"admdvs: 医保区划 {admdvs} 没有定点管理方案 (regions/<admdvs>/providers/scheme.yaml)"
        )
    return scheme


def term_end(begndate: date, months: int) -> date:
    """The last day of a term of ``months`` starting on ``begndate`` (12 months from 1 March: the last day
    of February)."""
    return add_months(begndate, months) - ONE_DAY


def is_public(uscc: str | None, org: dict | None = None) -> bool:
    """A public institution (公立医疗机构): the application says so (``org.public``), or its 统一社会信用代码
    was issued by 机构编制 to a 机关 or 事业单位."""
    if org and org.get("public") is not None:
        return bool(org["public"])
    return bool(uscc) and str(uscc)[:2] in PUBLIC_USCC


def text(value: Any, field: str, label: str, *, max_len: int = 400, required: bool = True) -> str:
    """A free-text field, stripped: required unless said otherwise, at most ``max_len`` characters."""
    got = "" if value is None else str(value).strip()
    if required and not got:
        raise InputError(f"{field}: 请填写{label}")
    if len(got) > max_len:
        raise InputError(f"{field}: {label}不能超过 {max_len} 个字符")
    return got


def a_date(value: Any, field: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError):
        raise InputError(f"{field}: 日期格式应为 YYYY-MM-DD") from None


def record(s, action: Action, entity: str, entity_id: str, *, actor: str, before=None, after=None, at=None):
    """The step's audit row, in the caller's transaction."""
    audit.record(
        s, actor=actor, action=action, entity=entity, entity_id=entity_id, before=before, after=after, at=at
    )


def snapshot(row, fields: tuple[str, ...]) -> dict:
    return {f: getattr(row, f) for f in fields}
