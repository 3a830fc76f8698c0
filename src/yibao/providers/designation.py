"""What was true on a day (定点状态): may an institution settle a visit of a med_type on a service day?

The service keeps, per institution, its designation as dated intervals rebuilt on every agreement change:
``active`` with the med_types its granted service categories open, or ``suspended`` (中止, with the reason).
No interval on the day means no valid agreement (not yet signed, expired, terminated). Settlement asks
:func:`refusal` with the visit's med_type and refuses with its message (``infcode -1``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

ACTIVE, SUSPENDED = "active", "suspended"

MED_TYPE_NAMES = {
    "11": "普通门诊",
    "12": "门诊挂号",
    "13": "急诊",
    "14": "门诊慢特病",
    "18": "特药购药",
    "21": "普通住院",
    "22": "外伤住院",
    "23": "转外诊治住院",
    "24": "急诊转住院",
    "28": "日间手术",
    "41": "定点药店购药",
    "51": "生育门诊",
    "52": "生育住院",
    "71": "家庭病床",
}
"""医疗类别 names for messages when the caller gives no service category names (nhsa-interface.md §7.2)."""


@dataclass(frozen=True)
class Interval:
    """An institution's designation from ``begndate`` to ``enddate`` (inclusive; None: open-ended)."""

    begndate: date
    enddate: date | None
    status: str  # active | suspended
    med_types: frozenset[str]
    reason: str

    def covers(self, day: date) -> bool:
        return self.begndate <= day and (self.enddate is None or day <= self.enddate)


def refusal(
    intervals: Iterable[Interval],
    code: str,
    day: date,
    med_type: str | None,
    names: Mapping[str, str] | None = None,
) -> str | None:
    """None when institution ``code`` may settle on ``day`` (a visit of ``med_type``, when given); else the
    message settlement refuses with. A suspension on the day wins over an active interval. ``names`` (med_type
    → the service category's name, e.g. 14 → 门诊特殊疾病) words the refusal of an ungranted med_type; without
    it the 医疗类别's own name is used."""
    spans = list(intervals)
    today = [i for i in spans if i.covers(day)]
    suspended = next((i for i in today if i.status == SUSPENDED), None)
    if suspended is not None:
        until = (
            f"{suspended.begndate} 至 {suspended.enddate}"
            if suspended.enddate
            else f"{suspended.begndate} 起"
        )
        why = f"，原因 {suspended.reason}" if suspended.reason else ""
        return f"fixmedins_code: 定点医药机构 {code} 在 {day} 医保协议中止 ({until}{why})"
    active = [i for i in today if i.status == ACTIVE]
    if not active:
        return f"fixmedins_code: 定点医药机构 {code} 在 {day} 没有有效的医保服务协议{_nearest(spans, day)}"
    if med_type is None or any(med_type in i.med_types for i in active):
        return None
    label = (names or {}).get(med_type) or MED_TYPE_NAMES.get(med_type) or "该医疗类别"
    return f"med_type: 定点医药机构 {code} 未开通 {label} 服务 (med_type {med_type})"


def _nearest(spans: list[Interval], day: date) -> str:
    """Why there is none: the last interval ended before the day, or the first starts after it."""
    before = [i.enddate for i in spans if i.enddate is not None and i.enddate < day]
    after = [i.begndate for i in spans if i.begndate > day]
    if before:
        return f"（协议至 {max(before)} 止）"
    if after:
        return f"（协议自 {min(after)} 起生效）"
    return ""
