"""定点管理 · 录入新申请: the counter's form for an institution applying to be designated — its data (名称,
统一社会信用代码, class, level, beds, opening day, licence and its dates, departments, staff with their
qualifications, legal representative, address, information-system readiness), the service categories asked
for (those its class may have) and the materials checklist of its class. 提交 files it
(:func:`yibao.providers.service.applications.submit`); the checks run at 受理 on the application's page."""

from __future__ import annotations

import re

from nicegui import ui

from yibao.console import queries_providers as qp
from yibao.console.display import names
from yibao.console.layout import frame, protected
from yibao.console.pages_providers import (
    MENU,
    REFUSED,
    WRITE,
    attempt,
    day_of,
    me,
    message_label,
    refuse,
    tabs,
)
from yibao.providers.service import applications
from yibao.store.db import unit_of_work

SPLIT = re.compile(r"[、,，;；\s]+")


def staff_list(text: str) -> list[dict]:
    """每行一人：``姓名 资质`` (the qualification may be left out)."""
    out = []
    for line in (text or "").splitlines():
        parts = line.strip().split(None, 1)
        if parts:
            out.append({"name": parts[0], "qualification": parts[1] if len(parts) > 1 else ""})
    return out


@ui.page("/providers/new")
@protected(WRITE)
def new_application() -> None:
    sc = qp.scheme()
    with unit_of_work(write=False) as s:
        n = names(s)
    levels = {"": "（无）", **n.options("hosp_lv")}
    with frame(f"{MENU} · 录入新申请", active=MENU):
        tabs("/providers")
        ui.label(
            "医药机构正式运营满 3 个月后可申请定点。录入机构信息、申请的服务类别并勾选已提交的材料，提交后在申请页“受理”："
            "符合条件即受理，不符合的列明原因不予受理。"
        ).classes("text-grey-8")
        with ui.card().classes("w-full max-w-5xl gap-3").mark("new-form"):
            ui.label("机构信息").classes("font-bold")
            with ui.row().classes("items-end gap-3 w-full"):
                name = field("机构名称", "w-72", "new-name")
                uscc = field("统一社会信用代码", "w-56", "new-uscc")
                cls = ui.select(dict(sc.classes), value="hospital", label="机构类别").props("outlined dense")
                cls.classes("w-36").mark("new-class")
                level = ui.select(levels, value="", label="医院等级").props("outlined dense").classes("w-40")
                level.mark("new-level")
                beds = field("核定床位", "w-28", "new-beds")
            with ui.row().classes("items-end gap-3 w-full"):
                opened = ui.input("开业日期").props("type=date outlined dense").mark("new-opened")
                licence = field("执业许可证 / 药品经营许可证号", "w-72", "new-licence")
                lic_from = (
                    ui.input("许可证有效期起").props("type=date outlined dense").mark("new-licence-from")
                )
                lic_to = (
                    ui.input("许可证有效期止")
                    .props("type=date outlined dense clearable")
                    .mark("new-licence-to")
                )
            with ui.row().classes("items-end gap-3 w-full"):
                legal = field("法定代表人", "w-40", "new-legal")
                address = field("地址", "w-96", "new-address")
                departments = field("科室设置（用顿号分隔）", "w-80", "new-departments")
            staff = (
                ui.textarea("人员名单（每行一人：姓名 资质）")
                .props("outlined dense autogrow")
                .classes("w-full")
            )
            staff.mark("new-staff")
            ready = ui.checkbox("信息系统已与医保信息平台对接").mark("new-ready")
            ui.label("申请的服务类别与申请材料").classes("font-bold")
            services = ui.select({}, multiple=True, value=[], label="申请的服务类别").props(
                "outlined dense use-chips"
            )
            services.classes("min-w-[28rem]").mark("new-services")
            materials_box = ui.column().classes("gap-0")
            boxes: dict[str, ui.checkbox] = {}
            message = message_label("new-message")
            ui.button("提交申请", on_click=lambda: submit()).props("color=teal").mark("new-submit")

        def redraw() -> None:
            c = cls.value
            services.set_options({k: v.name for k, v in sc.services.items() if c in v.classes}, value=[])
            materials_box.clear()
            boxes.clear()
            with materials_box:
                ui.label(f"{sc.classes.get(c, c)}须提交的材料（勾选已提交的）").classes("text-grey-8")
                with ui.row().classes("gap-x-4 gap-y-0"):
                    for m in sc.application.required_materials.get(c, ()):
                        boxes[m] = ui.checkbox(m).mark("new-material")
                ui.checkbox(
                    "全部已提交", on_change=lambda e: [b.set_value(e.value) for b in boxes.values()]
                ).mark("new-materials-all")

        cls.on_value_change(lambda _: redraw())
        redraw()

        def submit() -> None:
            message.set_visibility(False)
            try:
                bed_text = (beds.value or "").strip()
                bed_count = int(bed_text) if bed_text else None
                if bed_count is not None and bed_count < 0:
                    raise ValueError
            except ValueError:
                refuse(message, f"核定床位“{beds.value[:10]}”应为不小于 0 的整数")
                return
            try:
                opened_on = day_of(opened.value, "开业日期")
                day_of(lic_from.value, "许可证有效期起")
                day_of(lic_to.value, "许可证有效期止")
            except ValueError as exc:
                refuse(message, str(exc))
                return
            if opened_on is None:
                refuse(message, "请填写开业日期（正式运营之日）")
                return
            org = {
                "name": (name.value or "").strip(),
                "uscc": (uscc.value or "").strip().upper(),
                "class": cls.value,
                "beds": bed_count,
                "hosp_lv": level.value or None,
                "opened_on": opened_on.isoformat(),
                "licence_no": (licence.value or "").strip(),
                "licence_begndate": lic_from.value or None,
                "licence_enddate": lic_to.value or None,
                "legal_rep": (legal.value or "").strip(),
                "address": (address.value or "").strip(),
                "departments": [d for d in SPLIT.split(departments.value or "") if d],
                "staff": staff_list(staff.value or ""),
                "info_ready": bool(ready.value),
                "materials": [m for m, b in boxes.items() if b.value],
            }
            out = attempt(
                applications.submit,
                message,
                kind="apply",
                admdvs=qp.region(),
                org=org,
                services=list(services.value or []),
                actor=me(),
            )
            if out is not REFUSED:
                ui.notify(f"已提交：{out.appl_no}", type="positive")
                ui.navigate.to(f"/providers/application/{out.appl_no}")


def field(label: str, width: str, mark: str) -> ui.input:
    return ui.input(label).props("outlined dense").classes(width).mark(mark)
