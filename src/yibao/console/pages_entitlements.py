"""人员页的待遇资格 (the person page's entitlements): 人员身份 (type name, grade, dates, 认定机构),
门诊慢特病备案 (disease, dates, institution, status) and 惠民保 years, with the handler's actions — 认定 /
结束 an identity, 备案 / 结束 / 撤销 a registration, 惠民保 参保 / 退保 — through the same use cases as the
import and the REST resources (a refusal shows under the field it names; nothing is saved)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from nicegui import ui

from yibao.console.layout import can
from yibao.enrollment import entitlement_service as svc
from yibao.enrollment import entitlements as ent
from yibao.errors import InputError, YibaoError
from yibao.ingest import entitlement_kinds as kinds
from yibao.store import entitlement_reads as reads
from yibao.store.db import unit_of_work

IDENTITY_COLUMNS = [
    ("type", "身份类别"),
    ("grade", "等级"),
    ("begntime", "开始"),
    ("endtime", "结束"),
    ("idet_org", "认定机构"),
    ("memo", "备注"),
    ("now", "今日"),
]
CHRONIC_COLUMNS = [
    ("disease", "病种"),
    ("begndate", "开始"),
    ("enddate", "结束"),
    ("institution", "定点医药机构"),
    ("status_name", "状态"),
    ("now", "今日"),
]
SUPPLEMENTARY_COLUMNS = [("year", "年度"), ("product", "产品")]
OPERATIONS = {
    "add_identity": "认定人员身份",
    "end_identity": "结束人员身份",
    "add_chronic": "门诊慢特病备案",
    "end_chronic": "结束门诊慢特病备案",
    "revoke_chronic": "撤销门诊慢特病备案",
    "add_supplementary": "惠民保参保",
    "end_supplementary": "惠民保退保",
}
# which inputs each operation shows
SHOWN = {
    "add_identity": {"type", "grade", "begin", "end", "org", "memo"},
    "end_identity": {"identity", "day"},
    "add_chronic": {"disease", "begin", "end", "institution"},
    "end_chronic": {"registration", "day"},
    "revoke_chronic": {"registration"},
    "add_supplementary": {"year", "product"},
    "end_supplementary": {"held_year"},
}


def _d(day: date | None) -> str:
    return day.isoformat() if day else ""


def _named(code: str, name: str) -> str:
    return f"{code} {name}" if name else code


def _table(rows: list[dict], columns: list[tuple[str, str]]):
    return ui.table(
        columns=[{"name": k, "label": v, "field": k, "align": "left"} for k, v in columns], rows=rows
    ).classes("w-full")


def entitlement_section(psn_no: str, changed: Callable[[], None]) -> None:
    """The three tables and, for a user with ``person.write``, the actions on them."""
    with unit_of_work(write=False) as s:
        e = reads.entitlements(s, psn_no)
        types = reads.names(s, "psn_idet_type")
        diseases = reads.names(s, "opsp_dise")
    identities = [
        {
            "id": i["id"],
            "type": _named(i["psn_idet_type"], i["psn_idet_type_name"]),
            "grade": i["psn_type_lv_name"],
            "begntime": _d(i["begntime"]),
            "endtime": _d(i["endtime"]),
            "idet_org": i["idet_org"] or "",
            "memo": i["memo"] or "",
            "now": "有效" if i["valid"] else "",
        }
        for i in e["identities"]
    ]
    chronic = [
        {
            "id": c["id"],
            "disease": _named(c["opsp_dise_code"], c["opsp_dise_name"]),
            "begndate": _d(c["begndate"]),
            "enddate": _d(c["enddate"]),
            "institution": _named(c["fixmedins_code"], c["fixmedins_name"]) if c["fixmedins_code"] else "",
            "status": c["status"],
            "status_name": c["status_name"],
            "now": "有效" if c["valid"] else "",
        }
        for c in e["chronic_registrations"]
    ]
    with ui.row().classes("w-full gap-4 no-wrap"):
        with ui.column().classes("w-1/2"):
            ui.label("人员身份").classes("font-bold")
            _table(identities, IDENTITY_COLUMNS).mark("entitlement-identities")
        with ui.column().classes("w-1/2"):
            ui.label("门诊慢特病备案").classes("font-bold")
            _table(chronic, CHRONIC_COLUMNS).mark("entitlement-chronic")
    years = e["supplementary"]
    ui.label("惠民保" + ("" if years else "：未参保")).classes("font-bold")
    if years:
        _table(years, SUPPLEMENTARY_COLUMNS).mark("entitlement-supplementary")
    if can("person.write"):
        _actions(psn_no, identities, chronic, years, types, diseases, changed)


def _actions(psn_no, identities, chronic, years, types, diseases, changed) -> None:
    with ui.card().classes("w-full").mark("entitlement-actions"):
        ui.label("待遇资格办理").classes("font-bold")
        with ui.row().classes("items-start gap-2"):
            op = (
                ui.select(OPERATIONS, value="add_identity", label="操作")
                .props("outlined dense")
                .classes("w-52")
                .mark("ent-op")
            )
            el = {
                "type": ui.select(
                    {c: _named(c, n) for c, n in types.items()}, label="身份类别", with_input=True
                )
                .props("outlined dense")
                .classes("w-60")
                .mark("ent-type"),
                "grade": ui.input("等级（残疾 1–4）")
                .props("outlined dense")
                .classes("w-36")
                .mark("ent-grade"),
                "disease": ui.select(
                    {c: _named(c, n) for c, n in diseases.items()}, label="病种", with_input=True
                )
                .props("outlined dense")
                .classes("w-60")
                .mark("ent-disease"),
                "identity": ui.select(
                    {i["id"]: f"{i['type']} 自 {i['begntime']}" for i in identities if not i["endtime"]},
                    label="人员身份",
                )
                .props("outlined dense")
                .classes("w-72")
                .mark("ent-identity"),
                "registration": ui.select(
                    {
                        c["id"]: f"{c['disease']} 自 {c['begndate']}"
                        for c in chronic
                        if c["status"] in ent.HOLDS
                    },
                    label="慢特病备案",
                )
                .props("outlined dense")
                .classes("w-72")
                .mark("ent-registration"),
                "begin": _day("开始日期", date.today().isoformat()).mark("ent-begin"),
                "end": _day("结束日期（可不填）", "").mark("ent-end"),
                "day": _day("结束日期", date.today().isoformat()).mark("ent-day"),
                "org": ui.input("认定机构").props("outlined dense").classes("w-48").mark("ent-org"),
                "memo": ui.input("备注").props("outlined dense").classes("w-48").mark("ent-memo"),
                "institution": ui.input("定点医药机构编号")
                .props("outlined dense")
                .classes("w-48")
                .mark("ent-inst"),
                "year": ui.input("年度", value=str(date.today().year))
                .props("outlined dense")
                .classes("w-28")
                .mark("ent-year"),
                "product": ui.input("产品（默认 huiminbao）")
                .props("outlined dense")
                .classes("w-48")
                .mark("ent-product"),
                "held_year": ui.select([y["year"] for y in years], label="年度")
                .props("outlined dense")
                .classes("w-28"),
            }
            ui.button("确认办理", on_click=lambda: run()).props("color=teal").mark("ent-run")
        result = ui.label("").mark("ent-result")

        def shown() -> None:
            for name, element in el.items():
                element.set_visibility(name in SHOWN[op.value])

        op.on_value_change(lambda _: shown())
        shown()
        # a refusal names a field: the input it shows under
        fields = {
            "psn_idet_type": "type",
            "psn_type_lv": "grade",
            "begntime": "begin",
            "begndate": "begin",
            "endtime": "end",
            "enddate": "end",
            "idet_org": "org",
            "memo": "memo",
            "opsp_dise_code": "disease",
            "fixmedins_code": "institution",
            "year": "year",
            "product": "product",
            "date": "day",
            "status": "registration",
            "identity": "identity",
        }

        def fail(message: str) -> None:
            field, _, reason = message.partition(": ")
            element = el.get(fields.get(field, ""))
            if element is not None and element.visible and reason:
                element.error = reason
            result.set_text(f"未执行：{message}")
            result.classes(replace="text-negative")

        def run() -> None:
            from yibao.console.pages_enrollment import actor

            for element in el.values():
                element.error = None
            try:
                with unit_of_work() as s:
                    _perform(s, op.value, psn_no, {k: x.value for k, x in el.items()}, actor())
            except YibaoError as exc:
                return fail(exc.message)
            ui.notify(f"已办理：{OPERATIONS[op.value]}", type="positive")
            changed()  # last: it replaces the elements this handler belongs to


def _day(label: str, value: str):
    return ui.input(label, value=value).props("type=date outlined dense stack-label").classes("w-44")


def _perform(s, operation: str, psn_no: str, v: dict, actor: str) -> None:
    """One console action through the use case the REST resource calls."""

    def chosen(name: str, what: str):
        if v[name] in (None, ""):
            raise InputError(f"{what}: 请选择")
        return v[name]

    def day() -> date:
        try:
            return date.fromisoformat(v["day"] or "")
        except ValueError:
            raise InputError(f"date: 不是日期 {v['day']!r}") from None

    values = {"psn_no": psn_no}
    if operation == "add_identity":
        values |= {
            "psn_idet_type": v["type"],
            "psn_type_lv": v["grade"],
            "begntime": v["begin"],
            "endtime": v["end"],
            "idet_org": v["org"],
            "memo": v["memo"],
        }
        kinds.add_one(s, kinds.IDENTITIES, values, actor=actor)
    elif operation == "end_identity":
        svc.end_dated(s, ent.IDENTITY, psn_no, int(chosen("identity", "identity")), day(), actor=actor)
    elif operation == "add_chronic":
        values |= {
            "opsp_dise_code": v["disease"],
            "begndate": v["begin"],
            "enddate": v["end"],
            "fixmedins_code": v["institution"],
        }
        kinds.add_one(s, kinds.CHRONIC_REGISTRATIONS, values, actor=actor)
    elif operation in ("end_chronic", "revoke_chronic"):
        rid = int(chosen("registration", "status"))
        if operation == "revoke_chronic":
            svc.revoke_chronic(s, psn_no, rid, actor=actor)
        else:
            svc.end_dated(s, ent.CHRONIC, psn_no, rid, day(), actor=actor)
    elif operation == "add_supplementary":
        kinds.add_one(
            s, kinds.SUPPLEMENTARY, values | {"year": v["year"], "product": v["product"]}, actor=actor
        )
    else:
        svc.cancel_supplementary(s, psn_no, int(chosen("held_year", "year")), actor=actor)
