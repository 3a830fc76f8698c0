"""参保登记: the forms that register a person, an enrollment, an employer and a transfer in, each checking its
fields when left and all before saving (单位 and 重复参保 are in ``pages_employers``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from nicegui import app, ui

from yibao import validation as v
from yibao.config import get_settings
from yibao.console import queries_enrollment as qe
from yibao.console.layout import frame, protected
from yibao.enrollment import service, transfers
from yibao.errors import YibaoError
from yibao.money import AmountError, parse_amount
from yibao.store.db import unit_of_work


def actor() -> str:
    return app.storage.user.get("username") or "console"


def reason_of(check: Callable[[str], object], value: str | None, label: str = "") -> str | None:
    """The validator's reason for refusing ``value``, after the field's label (None = valid)."""
    try:
        check((value or "").strip())
    except YibaoError as exc:
        return label + exc.message
    return None


def required(value, label: str = "") -> str | None:
    return None if value not in (None, "") and str(value).strip() else f"{label}必填"


def a_date(value: str | None, label: str = "") -> str | None:
    if not value:
        return f"{label}必填"
    try:
        date.fromisoformat(value)
    except ValueError:
        return f"{label}应为日期（YYYY-MM-DD）"
    return None


def a_plausible_date(label: str) -> Callable[[str | None], str | None]:
    """A date field's check: a date, not later than the region's lead time allows (业务校验; the service
    checks the rest — not before the person's birth — and its refusal shows under the field too)."""
    from yibao.enrollment import rules
    from yibao.enrollment.checks_data import checks_for

    def check(value: str | None) -> str | None:
        wrong = a_date(value, label)
        if wrong:
            return wrong
        checks = checks_for(get_settings().region)
        last = rules.latest_allowed(checks, date.today())
        if date.fromisoformat(value) > last:
            return f"{label}不能晚于 {last}（最多提前 {checks.lead_days} 天办理）"
        return None

    return check


def suggested_type(psn_no: str, insutype: str, options: dict[str, str], on: str | None) -> str | None:
    """The first category offered that the person's age admits on the 参保日期 (today when none yet), so that
    a 居民 form never defaults a 40-year-old to 新生儿; None when the person is unknown (the clerk chooses)."""
    from yibao.enrollment import rules
    from yibao.enrollment.checks_data import checks_for
    from yibao.store.tables import Person

    try:
        day = date.fromisoformat(on or "")
    except ValueError:
        day = date.today()
    with unit_of_work(write=False) as s:
        person = s.get(Person, (psn_no or "").strip()) if psn_no else None
        if person is None:
            return None
        brdy = person.brdy
    return rules.suggested_category(checks_for(get_settings().region), insutype, list(options), brdy, day)


def an_amount(value: str | None) -> str | None:
    if not value:
        return "必填"
    try:
        fen = parse_amount(value)
    except AmountError:
        return f"应为金额（元，最多两位小数；填写的是 {value}）"
    return None if fen > 0 else "须大于 0"


def table(rows: list[dict], columns: list[tuple[str, str]], row_key: str, **kw) -> ui.table:
    return ui.table(
        columns=[
            {"name": k, "label": lbl, "field": k, "align": "left", "sortable": True} for k, lbl in columns
        ],
        rows=rows,
        row_key=row_key,
        **kw,
    ).classes("w-full")


class Form:
    """The inputs of one form by field name: checks each before saving and shows a refusal (``field: reason``
    from a validator or a service) under the field it names; nothing is saved while any field is wrong."""

    def __init__(self, mark: str):
        self.fields: dict[str, ui.element] = {}
        self.refused: dict[int, tuple[object, str]] = {}  # element → (the value the service refused, why)
        self.message = ui.label("").mark(f"{mark}-message")
        self.message.set_visibility(False)

    def add(self, name: str, element, *aliases: str):
        element.props("outlined dense").classes("w-full")  # every form field looks the same
        element.without_auto_validation()
        element.on("blur", lambda: self._check(element))
        for key in (name, *aliases):
            self.fields[key] = element
        return element

    def _shown(self) -> list:
        seen, out = set(), []
        for el in self.fields.values():
            if id(el) not in seen and el.visible:
                seen.add(id(el))
                out.append(el)
        return out

    def _check(self, el) -> None:
        """The field's own check on leaving it; a value the service refused stays refused until changed (the
        blur of the field may reach the server after the click that saved)."""
        el.validate()
        refused = self.refused.get(id(el))
        if refused is not None and refused[0] == el.value:
            el.error = refused[1]

    def clear(self) -> None:
        self.refused.clear()
        for el in self._shown():
            el.error = None
        self.message.set_visibility(False)

    def valid(self) -> bool:
        results = [el.validate() for el in self._shown()]  # every field, so that every error shows
        if not all(results):
            self.say("请更正标红的字段（未保存）", ok=False)
        return all(results)

    def refuse(self, message: str) -> None:
        """A refusal ``field: reason`` shown as its reason (the field's key is not for the clerk), under the
        field when the form has it."""
        field, _, reason = message.partition(": ")
        el = self.fields.get(field)
        if el is not None and el.visible and reason:
            self.refused[id(el)] = (el.value, reason)
            el.error = reason
        self.say(f"未保存：{reason if reason and field.isascii() else message}", ok=False)

    def say(self, text: str, ok: bool = True) -> None:
        self.message.set_text(text)
        self.message.classes(replace="text-positive" if ok else "text-negative")
        self.message.set_visibility(True)

    def submit(self, work: Callable):
        """Check every field, then run ``work(session)`` in one unit of work; its result, or None when a field
        or the service refused (the refusal shown, nothing saved)."""
        self.clear()
        if not self.valid():
            return None
        try:
            with unit_of_work() as s:
                return work(s)
        except YibaoError as exc:
            self.refuse(exc.message)
            return None


# --- 参保登记 --------------------------------------------------------------------------------------------


SCHEMES = {"employee": "职工（单位在职/退休）", "resident": "城乡居民", "flexible": "灵活就业"}


@ui.page("/enrollment")
@protected("enrollment.write")
def enrollment(psn_no: str = "") -> None:
    with unit_of_work(write=False) as s:
        employers = qe.employer_options(s)
        districts = qe.district_options(s)
    first_district = next(iter(districts), None)
    with frame("参保登记", active="参保登记"):
        ui.label("登记人员与单位，办理参保登记。保存前逐项校验，有误时不保存。").classes("text-grey-7")
        with ui.row().classes("w-full gap-4 items-start"):
            # 人员登记 ------------------------------------------------------------------------------
            with ui.card().classes("w-[30rem]").mark("form-person"):
                ui.label("人员登记").classes("text-lg font-bold")
                pf = Form("p")
                p_cert = pf.add(
                    "certno",
                    ui.input(
                        "证件号码（居民身份证）",
                        validation=lambda x: (
                            required(x, "证件号码") or reason_of(v.resident_id, x, "居民身份证号码")
                        ),
                    ).mark("p-certno"),
                )
                p_name = pf.add(
                    "psn_name",
                    ui.input(
                        "姓名",
                        validation=lambda x: required(x, "姓名") or reason_of(v.person_name, x, "姓名"),
                    ).mark("p-name"),
                )
                p_adm = pf.add(
                    "admdvs",
                    ui.select(
                        districts, value=first_district, label="户籍/常住区县", validation=required
                    ).mark("p-admdvs"),
                )

                def save_person() -> None:
                    def work(s):
                        p = service.register_person(
                            s,
                            certno=p_cert.value.strip(),
                            psn_name=p_name.value,
                            admdvs=p_adm.value,
                            actor=actor(),
                        )
                        return p.psn_no, p.psn_name

                    done = pf.submit(work)
                    if done is None:
                        return
                    pf.say(f"已登记人员 {done[1]}，人员编号 {done[0]}")
                    e_psn.value = done[0]
                    e_psn.error = None

                ui.button("保存人员", on_click=save_person).props("color=teal").mark("p-save")

            # 参保登记 ------------------------------------------------------------------------------
            with ui.card().classes("w-[30rem]").mark("form-enroll"):
                ui.label("参保登记").classes("text-lg font-bold")
                ef = Form("e")
                e_psn = ef.add(
                    "psn_no",
                    ui.input("人员编号", value=psn_no, validation=required).mark("e-psn"),
                )
                e_scheme = ef.add(
                    "insutype",
                    ui.select(SCHEMES, value="employee", label="参保类型", validation=required).mark(
                        "e-scheme"
                    ),
                )
                e_type = ef.add(
                    "psn_type",
                    ui.select(qe.psn_types_of("310"), value="11", label="人员类别", validation=required).mark(
                        "e-type"
                    ),
                )
                e_emp = ef.add(
                    "emp_no",
                    ui.select(
                        employers,
                        label="参保单位",
                        with_input=True,
                        validation=lambda x: None if x or e_type.value != "11" else "在职职工须选择参保单位",
                    ).mark("e-emp"),
                )
                e_base = ef.add(
                    "flexible_base",
                    ui.input("缴费基数（元，60%–300% 社平工资）", validation=an_amount).mark("e-base"),
                )
                e_begin = ef.add(
                    "begndate",
                    ui.input("参保日期", validation=a_plausible_date("参保日期"))
                    .props("type=date stack-label")
                    .mark("e-begin"),
                    "date",
                )
                e_reg = ef.add(
                    "registered",
                    ui.input(
                        "办理日期", value=date.today().isoformat(), validation=a_plausible_date("办理日期")
                    )
                    .props("type=date stack-label")
                    .mark("e-registered"),
                )
                e_base.set_visibility(False)

                def scheme_changed() -> None:
                    scheme = e_scheme.value
                    insutype = "390" if scheme == "resident" else "310"
                    options = qe.psn_types_of(insutype, scheme == "flexible")
                    if e_type.value not in options:  # a 居民 category by age, never 新生儿 by default
                        guess = suggested_type(e_psn.value, insutype, options, e_begin.value)
                        guess = guess or (None if insutype == "390" else next(iter(options)))
                        e_type.set_options(options, value=guess)
                    else:
                        e_type.set_options(options, value=e_type.value)
                    e_emp.set_visibility(scheme == "employee")
                    e_base.set_visibility(scheme == "flexible")

                e_scheme.on_value_change(lambda _: scheme_changed())

                def save_enrollment() -> None:
                    from yibao.policy.registry import get_bundle

                    scheme = e_scheme.value
                    region = get_settings().region

                    def work(s):
                        return service.enroll(
                            s,
                            get_bundle(region),
                            psn_no=e_psn.value.strip(),
                            insutype="390" if scheme == "resident" else "310",
                            psn_type=e_type.value,
                            begndate=date.fromisoformat(e_begin.value),
                            insuplc_admdvs=region,
                            emp_no=(e_emp.value or None) if scheme == "employee" else None,
                            flexible_base=parse_amount(e_base.value) if scheme == "flexible" else None,
                            registered=date.fromisoformat(e_reg.value),
                            actor=actor(),
                        )

                    done = ef.submit(work)
                    if done is None:
                        return
                    enr_id, who = done.enrollment.id, done.enrollment.psn_no
                    ef.say(
                        f"已办理参保登记 #{enr_id}（人员 {who}）"
                        + ("；" + "；".join(done.warnings) if done.warnings else "")
                    )
                    link.set_text(f"查看参保人 {who}")
                    target["psn_no"] = who
                    link.set_visibility(True)

                target: dict[str, str] = {}
                with ui.row().classes("items-center"):
                    ui.button("办理参保", on_click=save_enrollment).props("color=teal").mark("e-save")
                    link = (
                        ui.button("", on_click=lambda: ui.navigate.to(f"/person/{target['psn_no']}"))
                        .props("flat color=teal")
                        .mark("e-person-link")
                    )
                    link.set_visibility(False)

            # 单位登记 ------------------------------------------------------------------------------
            with ui.card().classes("w-[30rem]").mark("form-employer"):
                ui.label("单位登记").classes("text-lg font-bold")
                uf = Form("u")
                u_code = uf.add(
                    "uscc",
                    ui.input(
                        "统一社会信用代码", validation=lambda x: required(x) or reason_of(v.uscc, x)
                    ).mark("u-uscc"),
                )
                u_name = uf.add(
                    "emp_name",
                    ui.input(
                        "单位名称",
                        validation=lambda x: (
                            required(x, "单位名称") or reason_of(lambda y: v.free_text(y, 100), x, "单位名称")
                        ),
                    ).mark("u-name"),
                )
                u_adm = uf.add(
                    "admdvs",
                    ui.select(districts, value=first_district, label="所在区县", validation=required).mark(
                        "u-admdvs"
                    ),
                )

                def save_employer() -> None:
                    def work(s):
                        emp = service.register_employer(
                            s,
                            uscc=u_code.value.strip(),
                            emp_name=u_name.value,
                            admdvs=u_adm.value,
                            actor=actor(),
                        )
                        return emp.emp_no, emp.emp_name

                    done = uf.submit(work)
                    if done is None:
                        return
                    uf.say(f"已登记单位 {done[1]}，单位编号 {done[0]}")
                    e_emp.set_options({**e_emp.options, done[0]: f"{done[0]} {done[1]}"})

                ui.button("保存单位", on_click=save_employer).props("color=teal").mark("u-save")

            # 转入（转移接续）------------------------------------------------------------------------
            with ui.card().classes("w-[30rem]").mark("form-transfer-in"):
                ui.label("职工转入（转移接续）").classes("text-lg font-bold")
                tf = Form("t")
                t_psn = tf.add(
                    "psn_no",
                    ui.input("转入人员编号", value=psn_no, validation=required).mark("t-psn"),
                )
                t_type = tf.add(
                    "psn_type",
                    ui.select(
                        qe.psn_types_of("310"), value="11", label="转入人员类别", validation=required
                    ).mark("t-type"),
                )
                t_emp = tf.add(
                    "emp_no",
                    ui.select(
                        employers,
                        label="转入参保单位",
                        with_input=True,
                        validation=lambda x: None if x or t_type.value != "11" else "在职职工须选择参保单位",
                    ).mark("t-emp"),
                )
                t_from = tf.add(
                    "from_admdvs",
                    ui.input(
                        "转出地统筹区（6 位区划代码）",
                        validation=lambda x: required(x) or reason_of(v.admdvs, x),
                    ).mark("t-from"),
                )
                t_begin = tf.add(
                    "begndate",
                    ui.input("转入参保日期", validation=a_plausible_date("转入参保日期"))
                    .props("type=date stack-label")
                    .mark("t-begin"),
                    "date",
                )
                t_months = tf.add(
                    "contrib_months",
                    ui.number("转入缴费月数", value=0, min=0, precision=0, validation=required).mark(
                        "t-months"
                    ),
                )
                t_balance = tf.add(
                    "balance",
                    ui.input(
                        "转入个人账户余额（元）",
                        value="0.00",
                        validation=lambda x: None if (x or "").strip() in ("0", "0.00") else an_amount(x),
                    ).mark("t-balance"),
                )

                def save_transfer_in() -> None:
                    from yibao.policy.registry import get_bundle

                    region = get_settings().region

                    def work(s):
                        return transfers.transfer_in(
                            s,
                            get_bundle(region),
                            psn_no=t_psn.value.strip(),
                            psn_type=t_type.value,
                            begndate=date.fromisoformat(t_begin.value),
                            insuplc_admdvs=region,
                            from_admdvs=t_from.value.strip(),
                            contrib_months=int(t_months.value or 0),
                            balance=parse_amount(t_balance.value),
                            emp_no=(t_emp.value or None) if t_type.value == "11" else None,
                            actor=actor(),
                        )

                    done = tf.submit(work)
                    if done is None:
                        return
                    enr_id, who = done.enrollment.id, done.enrollment.psn_no
                    tf.say(
                        f"已办理转入 #{enr_id}（人员 {who}）"
                        + ("；" + "；".join(done.warnings) if done.warnings else "")
                    )

                ui.button("办理转入", on_click=save_transfer_in).props("color=teal").mark("t-save")
