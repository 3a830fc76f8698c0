"""定点管理 read models (the console's side of agreement management): the applications worklist with its
evaluation clock, one application in words, an evaluation's panel and sheets, the agreements list and one
agreement with its institution's history. Every code is named (statuses, kinds, classes, service categories,
audit steps); dates stay dates for the grid and the export. The state changes are the use cases of
:mod:`yibao.providers.service`; the institution's status, the public list and the annual assessment are in
:mod:`.queries_providers_status`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from yibao.console.queries import paged
from yibao.providers.application import evaluation_deadline
from yibao.providers.scheme import ProviderScheme, institution_class
from yibao.providers.service.common import require_scheme
from yibao.providers.states import AGREEMENT_NAMES, APPLICATION_NAMES, KIND_NAMES
from yibao.store.tables import (
    ProviderApplication,
    ProviderClockPause,
    StaffUser,
)

READ, WRITE = "providers.read", "providers.write"
SANCTION = "supervision.write"  # 协议处理 (约谈 … 中止, 解除) and status changes: 稽核, as over REST
OPEN = ("submitted", "accepted", "supplementing", "evaluating", "passed")
CLOCKED = ("accepted", "supplementing", "evaluating")  # the evaluation clock runs (or stands still)
NEAR_DAYS = 30  # the clock turns amber this many days before the deadline, red past it
STATUS_CHOICES = {"open": "办理中", **{str(k): v for k, v in APPLICATION_NAMES.items()}}
KIND_CHOICES = {str(k): v for k, v in KIND_NAMES.items()}
AGREEMENT_STATUS = {str(k): v for k, v in AGREEMENT_NAMES.items()}
AGREEMENT_KINDS = {"main": "主协议", "supplementary": "补充协议"}
ROLE_NAMES = {"expert": "专家", "supervisor": "社会监督代表"}
METHODS = {"trimmed_mean": "去掉最高分和最低分后取平均", "mean": "平均", "median": "中位数"}
STEP_NAMES = {  # the audit rows of an application, an evaluation and an agreement, as a clerk reads them
    "apply": "提交申请",
    "accept": "受理",
    "reject": "不予受理 / 不同意",
    "ask_supplement": "通知补充材料",
    "supplement": "材料补齐",
    "appoint_panel": "组织评估（确定评估人员）",
    "score": "录入评分表",
    "conclude": "评估结论",
    "approve": "审核同意",
    "sign": "签约 / 办结",
    "withdraw": "撤回",
    "update": "上传材料",
    "renew": "续签",
}


def scheme() -> ProviderScheme:
    """The scheme of the console's region (``settings.region``)."""
    from yibao.config import get_settings

    return require_scheme(get_settings().region)


def region() -> str:
    from yibao.config import get_settings

    return get_settings().region


def class_name(sc: ProviderScheme, cls: str | None) -> str:
    return sc.classes.get(cls or "", cls or "")


def class_of(fixmedins_type: str | None, beds: int | None) -> str:
    try:
        return institution_class(fixmedins_type or "", beds)
    except Exception:
        return ""


def services_text(sc: ProviderScheme, codes: Iterable[str] | None) -> str:
    return "、".join(sc.services[c].name if c in sc.services else str(c) for c in codes or ())


def people(s: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    """``张三（zhangsan）`` by username (a name the register does not hold shows as itself)."""
    wanted = sorted({u for u in usernames if u})
    known = dict(
        s.execute(
            select(StaffUser.username, StaffUser.display_name).where(StaffUser.username.in_(wanted))
        ).all()
    )
    return {u: f"{known[u]}（{u}）" if u in known else u for u in wanted}


# --- the evaluation clock ----------------------------------------------------------------------------------------


def clock(
    app_status: str,
    kind: str,
    accepted_on: date | None,
    pauses: list[tuple[date, date | None]],
    months: int,
    today: date,
) -> dict:
    """Where the evaluation clock of an application stands: ``deadline`` (None while it is stopped),
    ``days_left`` (negative: overdue), ``text`` in words and ``tone`` (ok | near | over | paused | none)."""
    if kind != "apply" or accepted_on is None or app_status not in CLOCKED:
        return {"deadline": None, "days_left": None, "text": "—", "tone": "none"}
    deadline = evaluation_deadline(accepted_on, pauses, months)
    if deadline is None:
        return {"deadline": None, "days_left": None, "text": "补充材料中，计时暂停", "tone": "paused"}
    left = (deadline - today).days
    if left < 0:
        return {"deadline": deadline, "days_left": left, "text": f"已超期 {-left} 天", "tone": "over"}
    tone = "near" if left <= NEAR_DAYS else "ok"
    return {"deadline": deadline, "days_left": left, "text": f"剩 {left} 天", "tone": tone}


def _pauses(s: Session, appl_nos: list[str]) -> dict[str, list[tuple[date, date | None]]]:
    out: dict[str, list[tuple[date, date | None]]] = {a: [] for a in appl_nos}
    if appl_nos:
        rows = s.execute(
            select(ProviderClockPause.appl_no, ProviderClockPause.begndate, ProviderClockPause.enddate).where(
                ProviderClockPause.appl_no.in_(appl_nos)
            )
        )
        for no, begin, end in rows:
            out[no].append((begin, end))
    return out


# --- 申请受理 (the applications worklist) ------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplicationFilter:
    """The worklist's filter: status (``open``: every one not yet closed), kind, institution (name, code or
    统一社会信用代码, or part of it), submitted between two days; ``stage`` ``evaluation``: the ``apply``
    applications accepted and not yet concluded (the 评估 tab)."""

    status: str = "open"
    kind: str = ""
    text: str = ""
    date_from: date | None = None
    date_to: date | None = None
    stage: str = ""
    today: date | None = None

    def describe(self) -> str:
        parts = []
        if self.stage == "evaluation":
            parts.append("待评估与评估中")
        if self.status:
            parts.append(f"状态：{STATUS_CHOICES.get(self.status, self.status)}")
        if self.kind:
            parts.append(f"类型：{KIND_CHOICES.get(self.kind, self.kind)}")
        if self.text:
            parts.append(f"机构：{self.text}")
        if self.date_from or self.date_to:
            parts.append(f"提交日期：{self.date_from or '…'} 至 {self.date_to or '…'}")
        return "筛选：" + ("；".join(parts) if parts else "全部")


APPLICATION_COLUMNS = [
    ("appl_no", "申请编号"),
    ("kind", "申请类型"),
    ("name", "机构名称"),
    ("fixmedins_code", "机构编号"),
    ("cls", "机构类别"),
    ("status", "状态"),
    ("submitted_on", "提交日期"),
    ("accepted_on", "受理日期"),
    ("deadline", "评估期限"),
    ("clock", "评估计时"),
    ("services", "申请的服务类别"),
]
APPLICATION_UNSORTED = ("cls", "deadline", "clock", "services")
APPLICATION_DATES = ("submitted_on", "accepted_on", "deadline")
_NAME = ProviderApplication.org["name"].as_string()
_USCC = ProviderApplication.org["uscc"].as_string()
APPLICATION_ORDER = {
    "appl_no": ProviderApplication.appl_no,
    "kind": ProviderApplication.kind,
    "name": _NAME,
    "fixmedins_code": ProviderApplication.fixmedins_code,
    "status": ProviderApplication.status,
    "submitted_on": ProviderApplication.submitted_on,
    "accepted_on": ProviderApplication.accepted_on,
}


def _applications(f: ApplicationFilter):
    q = select(ProviderApplication)
    if f.stage == "evaluation":
        q = q.where(ProviderApplication.kind == "apply", ProviderApplication.status.in_(CLOCKED))
    if f.status == "open":
        q = q.where(ProviderApplication.status.in_(OPEN))
    elif f.status:
        q = q.where(ProviderApplication.status == f.status)
    if f.kind:
        q = q.where(ProviderApplication.kind == f.kind)
    text = f.text.strip()
    if text:
        like = f"%{text}%"
        q = q.where(
            or_(
                _NAME.like(like),
                ProviderApplication.fixmedins_code.like(like),
                _USCC.like(like),
                ProviderApplication.appl_no.like(like),
            )
        )
    if f.date_from:
        q = q.where(ProviderApplication.submitted_on >= f.date_from)
    if f.date_to:
        q = q.where(ProviderApplication.submitted_on <= f.date_to)
    return q


def application_count(s: Session, f: ApplicationFilter) -> int:
    return s.scalar(select(func.count()).select_from(_applications(f).subquery())) or 0


def application_records(
    s: Session, f: ApplicationFilter, limit: int | None = None, *, offset: int = 0, order=(None, False)
) -> list[dict]:
    """One page of the worklist (every row when ``limit`` is None), the clock computed for the rows shown;
    by default the soonest acceptance first (the nearest deadline), then the latest submitted."""
    sc = scheme()
    months = sc.application.evaluation_months
    today = f.today or date.today()
    q = paged(
        _applications(f),
        APPLICATION_ORDER,
        order,
        "submitted_on",
        ProviderApplication.appl_no.desc(),
        offset=offset,
        limit=limit,
        default_desc=True,
    )
    apps = list(s.scalars(q))
    pauses = _pauses(s, [a.appl_no for a in apps])
    out = []
    for a in apps:
        c = clock(a.status, a.kind, a.accepted_on, pauses[a.appl_no], months, today)
        out.append(
            {
                "appl_no": a.appl_no,
                "kind": KIND_CHOICES.get(a.kind, a.kind),
                "name": (a.org or {}).get("name") or "",
                "fixmedins_code": a.fixmedins_code or "",
                "cls": class_name(sc, (a.org or {}).get("class")),
                "status": STATUS_CHOICES.get(a.status, a.status),
                "submitted_on": a.submitted_on,
                "accepted_on": a.accepted_on,
                "deadline": c["deadline"],
                "clock": c["text"],
                "tone": c["tone"],
                "services": services_text(sc, a.services),
            }
        )
    return out


def problem_text(message: str) -> str:
    """A check's ``field: 原因 (english)`` as a clerk reads it: the Chinese reason only."""
    head, sep, rest = str(message).partition(": ")
    text = rest if sep and head.replace("_", "").replace(".", "").isascii() else str(message)
    return _ENGLISH.sub("", text).strip()


_ENGLISH = re.compile(r"\s*\((?=[^)]*[A-Za-z])[\x20-\x7e]*\)")


def names_of(s: Session):
    from yibao.console.display import names

    return names(s)
