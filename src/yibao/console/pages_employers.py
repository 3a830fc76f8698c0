"""单位 (employers and what they owe, by month and per employee, each list exported to Excel in the
background) and 重复参保 (the duplicate-enrollment report)."""

from __future__ import annotations

from nicegui import ui

from yibao.console import queries_employers as qm
from yibao.console import queries_enrollment as qe
from yibao.console.layout import frame, protected
from yibao.console.lists import export_button, paged_list
from yibao.store.db import unit_of_work

# --- 单位 ------------------------------------------------------------------------------------------------


@ui.page("/employers")
@protected("enrollment.read")
def employers(q_text: str = "") -> None:
    with unit_of_work(write=False) as s:
        district_names = {adm: name for adm, name, _ in qe.districts(s)}
    with frame("单位", active="单位"):
        shown = {"filter": qm.EmployerFilter(q_text)}

        def current() -> qm.EmployerFilter:
            return qm.EmployerFilter(box.value or "", district.value or None)

        with ui.row().classes("items-center gap-2"):
            box = (
                ui.input("单位名称 / 编号 / 统一社会信用代码", value=q_text)
                .props("outlined dense clearable")
                .classes("w-96")
                .mark("emp-search")
                .on("keydown.enter", lambda: refresh())
            )
            district = (
                ui.select({"": "全部", **district_names}, value="", label="区县")
                .props("outlined dense")
                .classes("w-44")
                .mark("emp-district")
            )
            ui.button("查询", on_click=lambda: refresh()).props("color=teal").mark("emp-search-button")
            export_button(
                "employers",
                current,
                lambda: "筛选: " + "；".join(current().describe(district_names)),
                "emp-export",
            )
        ui.label("欠缴：缴费期限（次月15日）已过仍未缴的金额").classes("text-grey-7").mark("emp-status")
        grid = paged_list(
            qm.EMPLOYER_COLUMNS,
            qm.employer_count,
            qm.employer_records,
            lambda: shown["filter"],
            money=qm.MONEY,
            unit="个单位",
            row_id="emp_no",
            on_click=lambda row: ui.navigate.to(f"/employer/{row['emp_no']}"),
            mark="employer-grid",
        )

        def refresh() -> None:
            shown["filter"] = current()
            grid.refresh()


@ui.page("/employer/{emp_no}")
@protected("enrollment.read")
def employer(emp_no: str) -> None:
    with unit_of_work(write=False) as s:
        d = qm.employer_summary(s, emp_no)
    with frame("单位详情", active="单位"):
        if d is None:
            ui.label(f"单位不存在: {emp_no}").classes("text-negative")
            return
        e = d["employer"]
        ui.label(
            f"{e['emp_name']}（{e['emp_no']}） 统一社会信用代码 {e['uscc']} · {e['district'] or e['admdvs']}"
        ).classes("text-lg").mark("employer-header")
        with ui.row().classes("gap-4"):
            for key, label in (("due", "应缴"), ("paid", "已缴"), ("unpaid", "未缴"), ("arrears", "欠缴")):
                with ui.card().classes("w-48"):
                    ui.label(f"{label}（元）").classes("text-grey-7")
                    ui.label(d["total"][key]).classes(
                        "text-2xl font-bold " + ("text-negative" if key == "arrears" else "text-teal-9")
                    ).mark(f"emp-{key}")
        ui.label(f"欠缴按 {d['as_of']} 计：缴费期限（次月15日）已过仍未缴的金额").classes("text-grey-7")
        of = qm.EmployerOf(emp_no, d["as_of"], e["emp_name"])
        note = "；".join(of.describe())

        def open_person(row: dict) -> None:
            ui.navigate.to(f"/person/{row['psn_no']}")

        lists = (  # (title, export list, columns, count, records, unit, row id, a click opens the person)
            (
                "按月缴费",
                "employer_months",
                qm.MONTH_COLUMNS,
                qm.employer_month_count,
                qm.employer_month_records,
                "个月",
                None,
                False,
            ),
            (
                "按职工缴费",
                "employer_employees",
                qm.PER_EMPLOYEE_COLUMNS,
                qm.employer_employee_count,
                qm.employer_employee_records,
                "人",
                "psn_no",
                True,
            ),
            (
                "参保职工",
                "employer_staff",
                qm.STAFF_COLUMNS,
                qm.employer_staff_count,
                qm.employer_staff_records,
                "条",
                "id",
                True,
            ),
        )
        for title, name, columns, count, records, unit, row_id, clickable in lists:
            mark = name.replace("employer_", "emp-")
            with ui.row().classes("w-full items-center"):
                ui.label(title).classes("font-bold")
                export_button(name, lambda: of, lambda: note, f"{mark}-export")
            paged_list(
                columns,
                count,
                records,
                lambda: of,
                money=qm.MONEY,
                dates={"begndate", "enddate"},
                unsorted=qm.LAST_DECLARED,
                unit=unit,
                page_size=20,
                height=420,
                row_id=row_id,
                on_click=open_person if clickable else None,
                mark=mark,
            )


# --- 重复参保 ----------------------------------------------------------------------------------------------


@ui.page("/duplicates")
@protected("enrollment.read")
def duplicates() -> None:
    with frame("重复参保", active="重复参保"):
        ui.label(
            "同一人的基本医疗保险（职工医保、居民医保）参保期间重叠，或同一证件号码登记为多个人员编号。"
        ).classes("text-grey-7")
        everything = qe.NoFilter()
        lists = (
            ("参保期间重叠", "overlaps", qe.OVERLAP_COLUMNS, qe.overlap_count, qe.overlap_records, "对"),
            (
                "同一证件号码多个人员编号",
                "same_certno",
                qe.SAME_CERT_COLUMNS,
                qe.same_certno_count,
                qe.same_certno_records,
                "人",
            ),
        )
        for title, name, columns, count, records, unit in lists:
            mark = "dup-" + ("overlap" if name == "overlaps" else "cert")
            with ui.row().classes("w-full items-center"):
                ui.label(title).classes("font-bold")
                export_button(name, lambda: everything, lambda: "全部", f"{mark}-export")
            paged_list(
                columns,
                count,
                records,
                lambda: everything,
                unsorted=frozenset({"certno", "enrollments"} if name == "overlaps" else {"enrollments"}),
                unit=unit,
                page_size=20,
                height=420,
                row_id="key",
                on_click=lambda row: ui.navigate.to(f"/person/{row['psn_no']}"),
                mark=mark,
            )
