"""定点管理 · 协议: the agreements list (status, services, template) and one agreement in words with its
document, the agreements beside it and whether it may be renewed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from yibao.console.queries import paged
from yibao.console.queries_providers import (
    AGREEMENT_KINDS,
    AGREEMENT_STATUS,
    class_name,
    class_of,
    people,
    scheme,
    services_text,
)
from yibao.store import providers as store
from yibao.store.tables import Institution, ProviderAgreement

# --- 协议 (agreements) ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgreementFilter:
    status: str = ""
    kind: str = "main"
    text: str = ""
    on: date | None = None  # in its term on that day

    def describe(self) -> str:
        parts = []
        if self.status:
            parts.append(f"状态：{AGREEMENT_STATUS.get(self.status, self.status)}")
        if self.kind:
            parts.append(AGREEMENT_KINDS.get(self.kind, self.kind))
        if self.text:
            parts.append(f"机构或协议：{self.text}")
        if self.on:
            parts.append(f"{self.on} 在协议期内")
        return "筛选：" + ("；".join(parts) if parts else "全部")


AGREEMENT_COLUMNS = [
    ("agreement_no", "协议编号"),
    ("kind", "协议类型"),
    ("fixmedins_code", "机构编号"),
    ("fixmedins_name", "机构名称"),
    ("cls", "机构类别"),
    ("begndate", "协议期限起"),
    ("enddate", "协议期限止"),
    ("status", "状态"),
    ("services", "开通的服务类别"),
    ("template", "协议文本"),
    ("signed_at", "签订时间"),
]
AGREEMENT_UNSORTED = ("cls", "services", "template")
AGREEMENT_DATES = ("begndate", "enddate", "signed_at")
AGREEMENT_ORDER = {
    "agreement_no": ProviderAgreement.agreement_no,
    "kind": ProviderAgreement.kind,
    "fixmedins_code": ProviderAgreement.fixmedins_code,
    "fixmedins_name": Institution.fixmedins_name,
    "begndate": ProviderAgreement.begndate,
    "enddate": ProviderAgreement.enddate,
    "status": ProviderAgreement.status,
    "signed_at": ProviderAgreement.signed_at,
}


def _agreements(f: AgreementFilter):
    q = select(ProviderAgreement, Institution).join(
        Institution, Institution.fixmedins_code == ProviderAgreement.fixmedins_code
    )
    if f.status:
        q = q.where(ProviderAgreement.status == f.status)
    if f.kind:
        q = q.where(ProviderAgreement.kind == f.kind)
    text = f.text.strip()
    if text:
        like = f"%{text}%"
        q = q.where(
            or_(
                Institution.fixmedins_name.like(like),
                ProviderAgreement.fixmedins_code.like(like),
                ProviderAgreement.agreement_no.like(like),
            )
        )
    if f.on:
        q = q.where(
            and_(
                ProviderAgreement.begndate <= f.on,
                or_(ProviderAgreement.enddate.is_(None), ProviderAgreement.enddate >= f.on),
            )
        )
    return q


def agreement_count(s: Session, f: AgreementFilter) -> int:
    return s.scalar(select(func.count()).select_from(_agreements(f).subquery())) or 0


def agreement_records(
    s: Session, f: AgreementFilter, limit: int | None = None, *, offset: int = 0, order=(None, False)
) -> list[dict]:
    sc = scheme()
    q = paged(
        _agreements(f),
        AGREEMENT_ORDER,
        order,
        "signed_at",
        ProviderAgreement.agreement_no.desc(),
        offset=offset,
        limit=limit,
        default_desc=True,
    )
    out = []
    for a, inst in s.execute(q):
        out.append(
            {
                "agreement_no": a.agreement_no,
                "kind": AGREEMENT_KINDS.get(a.kind, a.kind),
                "fixmedins_code": a.fixmedins_code,
                "fixmedins_name": inst.fixmedins_name,
                "cls": class_name(sc, class_of(inst.fixmedins_type, inst.beds)),
                "begndate": a.begndate,
                "enddate": a.enddate,
                "status": AGREEMENT_STATUS.get(a.status, a.status),
                "services": services_text(sc, a.services),
                "template": template_text(a),
                "signed_at": a.signed_at,
            }
        )
    return out


def template_text(a: ProviderAgreement) -> str:
    if a.document is None:
        return "无文本（载入时的协议）" if a.template_code != "none" else "无文本"
    return f"{a.template_code} 第 {a.template_version} 版"


def agreement_detail(s: Session, agreement_no: str) -> dict | None:
    """An agreement: its facts in words, its document (size, SHA-256), the main or supplementary ones beside
    it, and the institution's status history."""
    a = s.get(ProviderAgreement, agreement_no)
    if a is None:
        return None
    sc = scheme()
    inst = s.get(Institution, a.fixmedins_code)
    related = [
        {
            "agreement_no": x.agreement_no,
            "kind": AGREEMENT_KINDS.get(x.kind, x.kind),
            "services": services_text(sc, x.services),
            "status": AGREEMENT_STATUS.get(x.status, x.status),
        }
        for x in store.agreements_of(s, a.fixmedins_code)
        if x.agreement_no != a.agreement_no and (x.main_no == a.agreement_no or a.main_no == x.agreement_no)
    ]
    who = people(s, [a.signed_by])
    facts = [
        ("协议编号", a.agreement_no),
        ("协议类型", AGREEMENT_KINDS.get(a.kind, a.kind) + (f"（主协议 {a.main_no}）" if a.main_no else "")),
        ("定点医药机构", f"{inst.fixmedins_name}（{inst.fixmedins_code}）" if inst else a.fixmedins_code),
        ("协议期限", f"{a.begndate} 至 {a.enddate or '长期'}"),
        (
            "状态",
            AGREEMENT_STATUS.get(a.status, a.status)
            + (f"（{a.ended_on} 起，{a.end_reason}）" if a.ended_on else ""),
        ),
        ("开通的服务类别", services_text(sc, a.services) or "—"),
        ("协议文本", template_text(a)),
        ("文本 SHA-256", a.document_sha256 or "—"),
        ("签订", f"{who.get(a.signed_by, a.signed_by)} {a.signed_at:%Y-%m-%d %H:%M}"),
        ("申请编号", a.appl_no or "—"),
    ]
    return {
        "agreement_no": a.agreement_no,
        "fixmedins_code": a.fixmedins_code,
        "name": inst.fixmedins_name if inst else "",
        "kind": a.kind,
        "status": a.status,
        "facts": facts,
        "has_document": a.document is not None,
        "size": len(a.document or b""),
        "related": related,
        "renewable": a.kind == "main" and a.status in ("active", "suspended") and a.enddate is not None,
    }


def agreement_document(s: Session, agreement_no: str) -> tuple[bytes, str] | None:
    """The signed PDF and its file name, or None."""
    a = s.get(ProviderAgreement, agreement_no)
    if a is None or a.document is None:
        return None
    return a.document, f"{a.agreement_no}.pdf"
