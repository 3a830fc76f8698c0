"""The signed document of an agreement (协议文书): the region's template in force on the signing day
(``regions/<admdvs>/providers/agreements``) filled with the institution's facts and rendered as PDF by
:mod:`yibao.providers.document`; the agreement keeps the bytes and their SHA-256."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from yibao.providers import agreement_text as texts
from yibao.providers.document import document_hash, render_agreement
from yibao.providers.scheme import ProviderScheme
from yibao.providers.service.common import regions
from yibao.yamlio import load_yaml

PLACEHOLDER = "（未登记）"  # a fact the register does not hold (法定代表人 of a loaded institution …)


@dataclass(frozen=True)
class Document:
    template_code: str
    template_version: str
    pdf: bytes | None
    sha256: str | None


def templates_for(admdvs: str, regions_dir: Path | None) -> tuple[texts.AgreementTemplates | None, str]:
    """The region's templates (None without an ``agreements/`` folder) and the region's name."""
    return _templates(str(regions(regions_dir)), admdvs)


@lru_cache(maxsize=16)
def _templates(regions_dir: str, admdvs: str):
    for candidate in dict.fromkeys((admdvs, admdvs[:4] + "00")):
        folder = Path(regions_dir) / candidate
        if (folder / "providers" / "agreements" / texts.INDEX).is_file():
            spec = load_yaml(folder / "region.yaml") if (folder / "region.yaml").is_file() else {}
            name = str((spec or {}).get("name") or candidate)
            return texts.load_templates(folder / "providers" / "agreements"), name
    return None, admdvs


def facts_of(org: dict, *, agreement_no: str, main_no: str | None, begndate: date, enddate: date | None,
             services: list[str], scheme: ProviderScheme, region_name: str, day: date) -> dict[str, str]:  # fmt: skip
    """The template's placeholders from the institution's data and the agreement."""
    named = [(c, scheme.services[c].name) for c in services if c in scheme.services]
    values = {
        "admdvs_name": region_name,
        "agency_name": org.get("agency_name") or f"{region_name}医疗保障事务中心",
        "fixmedins_name": org.get("name"),
        "fixmedins_code": org.get("fixmedins_code"),
        "uscc": org.get("uscc"),
        "licence_no": org.get("licence_no"),
        "legal_rep": org.get("legal_rep"),
        "address": org.get("address"),
        "agreement_no": agreement_no,
        "main_agreement_no": main_no or agreement_no,
        "begndate": begndate.isoformat(),
        "enddate": enddate.isoformat() if enddate else "长期",
        "services": texts.services_text(named) if named else PLACEHOLDER,
        "sign_date": day.isoformat(),
    }
    return {k: (str(v) if v not in (None, "") else PLACEHOLDER) for k, v in values.items()}


def render(template: texts.AgreementTemplate, facts: dict[str, str]) -> Document:
    """The filled template as PDF (deterministic: created on the signing day) with its hash."""
    title, body = texts.split_title(texts.fill(template, facts))
    pdf = render_agreement(
        title or template.name,
        body,
        {"agreement_no": facts["agreement_no"], "version": template.version, "created": facts["sign_date"]},
    )
    return Document(template.code, template.version, pdf, document_hash(pdf))
