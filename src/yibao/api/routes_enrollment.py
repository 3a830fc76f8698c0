"""REST resources of enrollment, contributions and personal accounts (参保登记、缴费与个人账户).

Employers, persons, enrollments and their lifecycle, monthly wage declarations, contributions with arrears,
personal-account statements, 共济 bindings, and two reports (参保率 by district, duplicate enrollments).
Amounts are two-decimal yuan strings in and out (integer fen inside). Every write is one unit of work and
is audited by the service it calls; a refusal is 422 (404 for what does not exist) with a message that
names the field — never a 500.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from yibao import validation as v
from yibao.api.auth import require
from yibao.config import get_settings
from yibao.enrollment import accounts, bindings, collection, rules, service, transfers
from yibao.enrollment import contributions as contrib
from yibao.enrollment.rows import LABELS as FIELD_LABELS
from yibao.errors import NotFound, YibaoError
from yibao.money import AmountError, fmt_fen, parse_amount
from yibao.store import enrollment_reads as reads
from yibao.store.db import get_engine, unit_of_work
from yibao.store.tables import Employer, Enrollment, FamilyBinding, Person

router = APIRouter(prefix="/api", tags=["参保登记 enrollment"])

MAX_FEN = 10**14  # a trillion yuan: anything larger is a typing mistake (and would overflow SQLite)
AMOUNT_KEYS = frozenset(
    {
        "due",
        "paid",
        "unpaid",
        "arrears",
        "wage",
        "base",
        "last_wage",
        "last_base",
        "employer_amt",
        "employee_amt",
        "individual_amt",
        "assistance_amt",
        "subsidy_amt",
        "due_amt",
        "paid_amt",
        "flexible_base",
        "balance",
        "amount",
        "collected",
        "account_balance",
    }
)
Yuan = Annotated[
    str,
    Field(min_length=1, max_length=20, description="金额（元，最多两位小数的字符串）", examples=["8000.00"]),
]
Day = date  # field types, so that a field may be called "date"
Code6 = Annotated[str, Field(min_length=1, max_length=10, description="6位医保区划", examples=["990102"])]


# --- helpers ------------------------------------------------------------------------------------------


def _out(value: Any) -> Any:
    """Amounts (fen) → two-decimal strings, recursively; everything else unchanged."""
    if isinstance(value, dict):
        return {
            k: (None if x is None else fmt_fen(x))
            if k in AMOUNT_KEYS and (x is None or isinstance(x, int))
            else _out(x)
            for k, x in value.items()
        }
    if isinstance(value, list):
        return [_out(x) for x in value]
    return value


def _fen(text: str | None, field: str, *, positive: bool = False) -> int | None:
    if text is None:
        return None
    try:
        fen = parse_amount(text)
    except AmountError:
        raise HTTPException(
            422, f"{field}: {_label(field)}不是金额（元，最多两位小数，如 8000.00）"
        ) from None
    if fen < 0 or (positive and fen == 0):
        raise HTTPException(
            422, f"{field}: {_label(field)}须{'大于' if positive else '不小于'} 0（填写的是 {text}）"
        )
    if fen > MAX_FEN:
        raise HTTPException(422, f"{field}: {_label(field)}过大（填写的是 {text}）")
    return fen


LABELS = {
    **FIELD_LABELS,
    "admdvs": "医保区划",
    "flexible_base": "缴费基数",
    "balance": "个人账户余额",
    "wage": "工资",
    "amount": "金额",
}


def _label(field: str) -> str:
    """The label of a field a refusal names (``wages[2].wage`` → 工资), or "" when it has none."""
    return LABELS.get(field.rsplit(".", 1)[-1], "")


def _code(field: str, check: Callable[[str], str], value: str) -> str:
    """A national code checked before the service sees it, so that the refusal names the field."""
    try:
        return check(value)
    except v.ValidationError as exc:
        label = _label(field)
        raise HTTPException(422, f"{field}: {label}{'无效：' if label else ''}{exc.message}") from None


@contextmanager
def refusals() -> Iterator[None]:
    """Domain refusals as HTTP: NotFound → 404, any other yibao error → 422, a unique key taken by a
    concurrent write → 409. The unit of work inside has rolled back: nothing was written."""
    try:
        yield
    except HTTPException:
        raise
    except NotFound as exc:
        raise HTTPException(404, exc.message) from None
    except YibaoError as exc:
        raise HTTPException(422, exc.message) from None
    except IntegrityError:
        raise HTTPException(409, "与现有记录冲突（可能刚被他人登记），请刷新后重试") from None


def _bundle(admdvs: str, field: str):
    from yibao.policy.registry import get_bundle

    try:
        return get_bundle(admdvs)
    except YibaoError as exc:
        raise HTTPException(422, f"{field}: {exc.message.split(': ', 1)[-1]}") from None


def _actor(claims: dict) -> str:
    return str(claims.get("u") or "api")


def _person(s, psn_no: str) -> Person:
    p = s.get(Person, psn_no)
    if p is None:
        raise HTTPException(404, f"psn_no: 人员不存在 {psn_no}")
    return p


def _person_out(s, p: Person) -> dict:
    return _out(
        {
            "psn_no": p.psn_no,
            "psn_cert_type": p.psn_cert_type,
            "certno": reads.mask_certno(p.certno),
            "psn_name": p.psn_name,
            "gend": p.gend,
            "brdy": p.brdy,
            "naty": p.naty,
            "admdvs": p.admdvs,
            "death_date": p.death_date,
            "enrollments": reads.person_enrollments(s, p.psn_no),
            "account_balance": reads.account_balance(s, p.psn_no),
        }
    )


def _enrollment_out(s, enrollment_id: int, warnings: list[str] | None = None) -> dict:
    """An enrollment as stored, with its status as of today in words (``status_text``: a change dated ahead
    shows as scheduled, 正常（暂停已预约，2027-03-01 生效）) and the lifecycle actions that apply to it."""
    e = s.get(Enrollment, enrollment_id)
    today = date.today()
    out = _out(reads.enrollment_row(e))
    out["status_text"] = rules.status_text(e, today)
    out["scheduled"] = rules.scheduled_change(e, today)
    out["actions"] = rules.actions_for(e, today)
    if warnings is not None:
        out["warnings"] = warnings
    return out


# --- employers ----------------------------------------------------------------------------------------


class EmployerIn(BaseModel):
    uscc: str = Field(..., min_length=1, max_length=30, description="统一社会信用代码（18位，GB 32100 校验）")
    emp_name: str = Field(..., min_length=1, max_length=200, description="单位名称")
    admdvs: Code6 = Field(..., description="单位所在医保区划（6位）")
    emp_no: str | None = Field(None, min_length=1, max_length=30, description="单位编号（不填则由代码生成）")


@router.post("/employers", status_code=201, summary="单位登记 (统一社会信用代码 validated)")
def register_employer(
    body: EmployerIn, claims: Annotated[dict, Depends(require("enrollment.write"))]
) -> dict:
    code = _code("uscc", v.uscc, body.uscc)
    adm = _code("admdvs", v.admdvs, body.admdvs)
    with refusals(), unit_of_work() as s:
        if body.emp_no and s.get(Employer, body.emp_no) is not None:
            raise HTTPException(422, f"emp_no: 单位编号已存在 {body.emp_no}")
        emp = service.register_employer(
            s, uscc=code, emp_name=body.emp_name, admdvs=adm, emp_no=body.emp_no, actor=_actor(claims)
        )
        return _out(reads.employer_row(emp))


@router.get("/employers", summary="单位列表 (name/code, district; employees and what each owes)")
def list_employers(
    _: Annotated[dict, Depends(require("enrollment.read"))],
    q: str | None = Query(None, max_length=200, description="单位编号、统一社会信用代码或名称"),
    admdvs: str | None = Query(None, max_length=6),
    as_of: date | None = Query(None, description="欠缴的计算日（默认今天）"),
    page: int = Query(1, ge=1, le=100_000),
    size: int = Query(50, ge=1, le=500),
) -> dict:
    with unit_of_work(write=False) as s:
        total, rows = reads.employers(
            s, text=q, admdvs=admdvs, as_of=as_of, offset=(page - 1) * size, limit=size
        )
    return {"items": _out(rows), "total": total, "page": page, "size": size}


@router.get(
    "/employers/{emp_no}", summary="单位详情: employees, contributions due/paid/arrears by month and employee"
)
def get_employer(
    emp_no: Annotated[str, Field(max_length=30)],
    _: Annotated[dict, Depends(require("enrollment.read"))],
    as_of: date | None = Query(None, description="欠缴的计算日（默认今天）"),
) -> dict:
    with refusals(), unit_of_work(write=False) as s:
        return _out(reads.employer_detail(s, emp_no, as_of))


class WageLine(BaseModel):
    psn_no: str = Field(..., min_length=1, max_length=30, description="人员编号")
    wage: Yuan = Field(..., description="本月工资（元）")


class WagesIn(BaseModel):
    month: str = Field(..., max_length=7, description="申报月份 YYYY-MM", examples=["2025-03"])
    wages: list[WageLine] = Field(..., min_length=1, max_length=100_000, description="职工工资申报")


@router.post("/employers/{emp_no}/wages", summary="月度工资申报 → 职工缴费核定")
def declare_wages(
    emp_no: Annotated[str, Field(max_length=30)],
    body: WagesIn,
    claims: Annotated[dict, Depends(require("contribution.write"))],
) -> dict:
    with refusals():
        period = reads.parse_period(body.month, "month")
    if period % 100 == 0:
        raise HTTPException(422, f'month: "{body.month}" 应为月份 YYYY-MM')
    with unit_of_work(write=False) as s:
        emp = s.get(Employer, emp_no)
        if emp is None:
            raise HTTPException(404, f"emp_no: 单位不存在 {emp_no}")
        admdvs = emp.admdvs
    wages: dict[str, int] = {}
    for i, line in enumerate(body.wages):
        if line.psn_no in wages:
            raise HTTPException(422, f"wages[{i}].psn_no: 重复申报 {line.psn_no}")
        wages[line.psn_no] = _fen(line.wage, f"wages[{i}].wage")
    with refusals():
        _, problems = contrib.declare_wages(
            get_engine(), _bundle(admdvs, "emp_no"), emp_no, body.month, wages, actor=_actor(claims)
        )
    if len(problems) == len(wages):
        raise HTTPException(422, "wages: " + "；".join(problems))
    with unit_of_work(write=False) as s:
        _, totals, rows = reads.contributions(
            s, reads.ContributionFilter(period=period, emp_no=emp_no), limit=None
        )
    return _out(
        {
            "emp_no": emp_no,
            "month": reads.period_text(period),
            "accepted": len(wages) - len(problems),
            "refused": problems,
            "contributions": rows,
            "totals": totals,
        }
    )


# --- persons ------------------------------------------------------------------------------------------


class PersonIn(BaseModel):
    certno: str = Field(..., min_length=1, max_length=30, description="居民身份证号码（18位，GB 11643 校验）")
    psn_name: str = Field(..., min_length=1, max_length=50, description="姓名")
    admdvs: Code6 = Field(..., description="户籍/常住区县（6位医保区划）")
    naty: str | None = Field("01", max_length=3, description="民族代码")
    psn_no: str | None = Field(None, min_length=1, max_length=30, description="人员编号（不填则生成）")


@router.post("/persons", status_code=201, summary="人员登记 (居民身份证号码 validated)")
def register_person(body: PersonIn, claims: Annotated[dict, Depends(require("person.write"))]) -> dict:
    certno = _code("certno", v.resident_id, body.certno)
    adm = _code("admdvs", v.admdvs, body.admdvs)
    with refusals(), unit_of_work() as s:
        if body.psn_no and s.get(Person, body.psn_no) is not None:
            raise HTTPException(422, f"psn_no: 人员编号已存在 {body.psn_no}")
        p = service.register_person(
            s,
            certno=certno,
            psn_name=body.psn_name,
            admdvs=adm,
            naty=body.naty,
            psn_no=body.psn_no,
            actor=_actor(claims),
        )
        return _person_out(s, p)


@router.get("/persons/{psn_no}", summary="人员信息: identity (ID masked), enrollments, account balance")
def get_person(
    psn_no: Annotated[str, Field(max_length=30)], _: Annotated[dict, Depends(require("person.read"))]
) -> dict:
    with unit_of_work(write=False) as s:
        return _person_out(s, _person(s, psn_no))


@router.get("/persons/{psn_no}/account", summary="个人账户: balance and statement (every movement)")
def person_account(
    psn_no: Annotated[str, Field(max_length=30)], _: Annotated[dict, Depends(require("person.read"))]
) -> dict:
    with unit_of_work(write=False) as s:
        _person(s, psn_no)
        balance = reads.account_balance(s, psn_no)
        if balance is None:
            raise HTTPException(404, f"psn_no: 人员 {psn_no} 没有个人账户")
        rows = accounts.statement(s, psn_no)
    return _out({"psn_no": psn_no, "balance": balance, "statement": rows})


class FamilyIn(BaseModel):
    member_psn_no: str = Field(
        ..., min_length=1, max_length=30, description="共济成员（配偶、父母或子女）人员编号"
    )
    relation: str = Field(..., max_length=10, description="关系: spouse 配偶 / parent 父母 / child 子女")
    begndate: date = Field(..., description="开始日期")


@router.get(
    "/persons/{psn_no}/family", summary="共济绑定: members of this account, and the account this person uses"
)
def person_family(
    psn_no: Annotated[str, Field(max_length=30)], _: Annotated[dict, Depends(require("person.read"))]
) -> dict:
    with unit_of_work(write=False) as s:
        _person(s, psn_no)
        return {"psn_no": psn_no, **reads.family(s, psn_no)}


@router.post(
    "/persons/{psn_no}/family", status_code=201, summary="共济绑定 (the person is the account owner)"
)
def bind_family(
    psn_no: Annotated[str, Field(max_length=30)],
    body: FamilyIn,
    claims: Annotated[dict, Depends(require("enrollment.write"))],
) -> dict:
    with refusals(), unit_of_work() as s:
        _person(s, psn_no)
        bindings.bind_family(
            s,
            owner_psn_no=psn_no,
            member_psn_no=body.member_psn_no,
            relation=body.relation,
            begndate=body.begndate,
            actor=_actor(claims),
        )
        return {"psn_no": psn_no, **reads.family(s, psn_no)}


class UnbindIn(BaseModel):
    date: Day = Field(..., description="解绑日期（此日后不能再使用账户）")


@router.post("/persons/{psn_no}/family/{binding_id}/end", summary="解除共济绑定")
def unbind_family(
    psn_no: Annotated[str, Field(max_length=30)],
    binding_id: Annotated[int, Field(ge=1, le=2**62)],
    body: UnbindIn,
    claims: Annotated[dict, Depends(require("enrollment.write"))],
) -> dict:
    with refusals(), unit_of_work() as s:
        b = s.get(FamilyBinding, binding_id)
        if b is None or psn_no not in (b.owner_psn_no, b.member_psn_no):
            raise HTTPException(404, f"binding: 人员 {psn_no} 没有共济绑定 {binding_id}")
        bindings.unbind_family(s, binding_id, body.date, actor=_actor(claims))
        return {"psn_no": psn_no, **reads.family(s, psn_no)}


# --- enrollments --------------------------------------------------------------------------------------


class EnrollmentIn(BaseModel):
    psn_no: str = Field(..., min_length=1, max_length=30, description="人员编号")
    insutype: str = Field(
        ..., max_length=6, description="险种: 310 职工基本医疗保险 / 390 城乡居民基本医疗保险"
    )
    psn_type: str = Field(..., max_length=6, description="人员类别: 11 在职, 12 退休, 14xx/15/16 居民")
    begndate: date = Field(..., description="参保日期")
    insuplc_admdvs: Code6 | None = Field(None, description="参保地医保区划（默认本统筹区）")
    emp_no: str | None = Field(None, max_length=30, description="单位编号（职工）")
    flexible_base: Yuan | None = Field(
        None, description="灵活就业: 自选缴费基数（元），须在 60%–300% 社平工资之间"
    )
    registered: date | None = Field(None, description="办理日期（默认今天；决定居民是否在集中参保期内）")
    contrib_months: int = Field(0, ge=0, le=1200, description="已有缴费月数（职工）")


def _enroll_args(body: EnrollmentIn) -> dict:
    adm = _code("insuplc_admdvs", v.admdvs, body.insuplc_admdvs or get_settings().region)
    return {
        "psn_no": body.psn_no,
        "insutype": body.insutype,
        "psn_type": body.psn_type,
        "begndate": body.begndate,
        "insuplc_admdvs": adm,
        "emp_no": body.emp_no or None,
        "flexible_base": _fen(body.flexible_base, "flexible_base", positive=True),
        "registered": body.registered,
        "contrib_months": body.contrib_months,
    }


@router.post(
    "/enrollments",
    status_code=201,
    summary="参保登记 (职工 / 居民 / 灵活就业; one basic insurance at a time)",
)
def enroll(body: EnrollmentIn, claims: Annotated[dict, Depends(require("enrollment.write"))]) -> dict:
    args = _enroll_args(body)
    bundle = _bundle(args["insuplc_admdvs"], "insuplc_admdvs")
    with refusals(), unit_of_work() as s:
        done = service.enroll(s, bundle, actor=_actor(claims), **args)
        return _enrollment_out(s, done.enrollment.id, done.warnings)


@router.get("/enrollments", summary="参保登记列表 (by person, employer, status)")
def list_enrollments(
    _: Annotated[dict, Depends(require("enrollment.read"))],
    psn_no: str | None = Query(None, max_length=30),
    emp_no: str | None = Query(None, max_length=30),
    status: str | None = Query(None, max_length=1, description="参保状态 1 正常 2 暂停 4 终止"),
    page: int = Query(1, ge=1, le=100_000),
    size: int = Query(50, ge=1, le=500),
) -> dict:
    conds = [
        c
        for c, val in (
            (Enrollment.psn_no == psn_no, psn_no),
            (Enrollment.emp_no == emp_no, emp_no),
            (Enrollment.psn_insu_stas == status, status),
        )
        if val
    ]
    with unit_of_work(write=False) as s:
        total = s.scalar(select(func.count()).select_from(Enrollment).where(*conds)) or 0
        rows = s.scalars(
            select(Enrollment)
            .where(*conds)
            .order_by(Enrollment.psn_no, Enrollment.begndate, Enrollment.id)
            .offset((page - 1) * size)
            .limit(size)
        ).all()
        items = [_out(reads.enrollment_row(e)) for e in rows]
    return {"items": items, "total": total, "page": page, "size": size}


@router.get("/enrollments/{enrollment_id}", summary="参保登记详情")
def get_enrollment(
    enrollment_id: Annotated[int, Field(ge=1, le=2**62)],
    _: Annotated[dict, Depends(require("enrollment.read"))],
) -> dict:
    with unit_of_work(write=False) as s:
        if s.get(Enrollment, enrollment_id) is None:
            raise HTTPException(404, f"enrollment: 参保登记不存在 {enrollment_id}")
        return _enrollment_out(s, enrollment_id)


class StatusIn(BaseModel):
    date: Day = Field(..., description="生效日期")
    reason: str | None = Field(None, max_length=20, description="原因")


class TerminateIn(BaseModel):
    date: Day = Field(..., description="终止日期")
    reason: str = Field(
        ..., max_length=20, description="终止原因: death 死亡 / emigration 出国定居 / other 其他"
    )


class CategoryIn(BaseModel):
    psn_type: str = Field(..., max_length=6, description="新的人员类别（如 12 退休）")
    date: Day = Field(..., description="变更日期")


class TransferOutIn(BaseModel):
    date: Day = Field(..., description="转出日期")
    to_admdvs: Code6 = Field(..., description="转入地医保区划")


def _change(enrollment_id: int, action: str, day: date, reason: str | None, claims: dict) -> dict:
    with refusals(), unit_of_work() as s:
        service.change_status(s, enrollment_id, action, day, actor=_actor(claims), reason=reason)
        return _enrollment_out(s, enrollment_id)


EnrollmentId = Annotated[int, Field(ge=1, le=2**62)]
Writer = Annotated[dict, Depends(require("enrollment.write"))]


@router.post("/enrollments/{enrollment_id}/suspend", summary="暂停参保 (from 正常)")
def suspend(enrollment_id: EnrollmentId, body: StatusIn, claims: Writer) -> dict:
    return _change(enrollment_id, "suspend", body.date, body.reason, claims)


@router.post("/enrollments/{enrollment_id}/resume", summary="恢复参保 (from 暂停)")
def resume(enrollment_id: EnrollmentId, body: StatusIn, claims: Writer) -> dict:
    return _change(enrollment_id, "resume", body.date, body.reason, claims)


@router.post("/enrollments/{enrollment_id}/terminate", summary="终止参保 (death, emigration, other)")
def terminate(enrollment_id: EnrollmentId, body: TerminateIn, claims: Writer) -> dict:
    return _change(enrollment_id, "terminate", body.date, body.reason, claims)


@router.post("/enrollments/{enrollment_id}/category", summary="人员类别变更 (e.g. 在职 11 → 退休 12)")
def change_category(enrollment_id: EnrollmentId, body: CategoryIn, claims: Writer) -> dict:
    with refusals(), unit_of_work() as s:
        enr = s.get(Enrollment, enrollment_id)
        if enr is None:
            raise HTTPException(404, f"enrollment: 参保登记不存在 {enrollment_id}")
        bundle = _bundle(enr.insuplc_admdvs, "insuplc_admdvs")
        done = service.change_category(
            s, bundle, enrollment_id, body.psn_type, body.date, actor=_actor(claims)
        )
        return _enrollment_out(s, enrollment_id, done.warnings)


@router.post(
    "/enrollments/{enrollment_id}/transfer-out", summary="转出 (contribution months and the balance leave)"
)
def transfer_out(enrollment_id: EnrollmentId, body: TransferOutIn, claims: Writer) -> dict:
    to = _code("to_admdvs", v.admdvs, body.to_admdvs)
    with refusals(), unit_of_work() as s:
        certificate = transfers.transfer_out(s, enrollment_id, body.date, to, actor=_actor(claims))
        return {"enrollment": _enrollment_out(s, enrollment_id), "certificate": certificate}


class TransferInIn(BaseModel):
    psn_no: str = Field(..., min_length=1, max_length=30, description="人员编号")
    psn_type: str = Field("11", max_length=6, description="人员类别（职工: 11 在职 / 12 退休）")
    begndate: date = Field(..., description="转入参保日期")
    insuplc_admdvs: Code6 | None = Field(None, description="参保地医保区划（默认本统筹区）")
    from_admdvs: Code6 = Field(..., description="转出地医保区划")
    contrib_months: int = Field(..., ge=0, le=1200, description="转出地的缴费月数")
    balance: Yuan = Field("0.00", description="随转移的个人账户余额（元）")
    emp_no: str | None = Field(None, max_length=30, description="新单位编号")


@router.post(
    "/enrollments/transfer-in",
    status_code=201,
    summary="转入 (a 职工 enrollment carrying months and balance)",
)
def transfer_in(body: TransferInIn, claims: Writer) -> dict:
    adm = _code("insuplc_admdvs", v.admdvs, body.insuplc_admdvs or get_settings().region)
    frm = _code("from_admdvs", v.admdvs, body.from_admdvs)
    balance = _fen(body.balance, "balance")
    bundle = _bundle(adm, "insuplc_admdvs")
    with refusals(), unit_of_work() as s:
        done = transfers.transfer_in(
            s,
            bundle,
            psn_no=body.psn_no,
            psn_type=body.psn_type,
            begndate=body.begndate,
            insuplc_admdvs=adm,
            from_admdvs=frm,
            contrib_months=body.contrib_months,
            balance=balance,
            emp_no=body.emp_no or None,
            actor=_actor(claims),
        )
        out = _enrollment_out(s, done.enrollment.id, done.warnings)
        out["account_balance"] = _out({"balance": reads.account_balance(s, body.psn_no)})["balance"]
        return out


# --- contributions ------------------------------------------------------------------------------------


@router.get(
    "/contributions", summary="缴费记录 (filters: period, employer, person, kind, status incl. arrears)"
)
def list_contributions(
    _: Annotated[dict, Depends(require("contribution.read"))],
    period: str | None = Query(None, max_length=7, description="YYYY-MM（职工）或 YYYY（居民年度）"),
    emp_no: str | None = Query(None, max_length=30),
    psn_no: str | None = Query(None, max_length=30),
    kind: str | None = Query(None, max_length=12, description="employee / flexible / resident / retiree"),
    status: str | None = Query(
        None, max_length=10, description="due 未缴 / paid 已缴 / arrears 欠缴（逾期未缴）"
    ),
    as_of: date | None = Query(None, description="欠缴的计算日（默认今天）"),
    page: int = Query(1, ge=1, le=100_000),
    size: int = Query(50, ge=1, le=500),
) -> dict:
    if status and status not in ("due", "paid", "arrears"):
        raise HTTPException(
            422, f"status: 缴费状态应为 due 未缴、paid 已缴或 arrears 欠缴（填写的是 {status}）"
        )
    if kind and kind not in reads.KINDS:
        raise HTTPException(422, f"kind: 缴费类型应为 {'、'.join(reads.KINDS)} 之一（填写的是 {kind}）")
    with refusals():
        p = reads.parse_period(period) if period else None
    f = reads.ContributionFilter(
        period=p, emp_no=emp_no, psn_no=psn_no, kind=kind, status=status, as_of=as_of
    )
    with unit_of_work(write=False) as s:
        total, totals, rows = reads.contributions(s, f, offset=(page - 1) * size, limit=size)
    return _out({"items": rows, "total": total, "totals": totals, "page": page, "size": size})


@router.get("/contributions/arrears", summary="欠缴 by payer (employers; flexible workers and residents)")
def contribution_arrears(
    _: Annotated[dict, Depends(require("contribution.read"))],
    as_of: date | None = Query(None, description="计算日（默认今天）：缴费期限早于此日仍未缴的为欠缴"),
    emp_no: str | None = Query(None, max_length=30),
) -> dict:
    day = as_of or date.today()
    with unit_of_work(write=False) as s:
        rows = reads.arrears(s, day, emp_no)
    return _out({"as_of": day, "items": rows, "arrears": sum(r["arrears"] for r in rows)})


class CollectIn(BaseModel):
    period: str = Field(..., max_length=7, description="缴费期 YYYY-MM（职工）或 YYYY（居民年度）")
    emp_no: str | None = Field(None, max_length=30, description="只收缴此单位（不填则全部）")
    paid_at: datetime | None = Field(None, description="到账时间（默认现在）")


@router.post(
    "/contributions/collect", summary="收缴: record what is due for a period as paid (posts the receipts)"
)
def collect(body: CollectIn, claims: Annotated[dict, Depends(require("contribution.write"))]) -> dict:
    with refusals():
        period = reads.parse_period(body.period)
    if body.emp_no:
        with unit_of_work(write=False) as s:
            if s.get(Employer, body.emp_no) is None:
                raise HTTPException(404, f"emp_no: 单位不存在 {body.emp_no}")
    with refusals():
        amount = collection.collect(
            get_engine(),
            period,
            emp_no=body.emp_no,
            when=body.paid_at or datetime.now(),
            actor=_actor(claims),
        )
    return _out({"period": reads.period_text(period), "emp_no": body.emp_no, "collected": amount})


# --- reports ------------------------------------------------------------------------------------------


@router.get("/reports/coverage", summary="参保率 by district (insured ÷ the district's resident population)")
def coverage_report(
    _: Annotated[dict, Depends(require("enrollment.read"))],
    admdvs: str | None = Query(None, max_length=6, description="统筹区（默认本统筹区）"),
    on: date | None = Query(None, description="统计日（默认今天）"),
) -> dict:
    region = admdvs or get_settings().region
    with refusals(), unit_of_work(write=False) as s:
        name, table = reads.districts(s, region)
        c = reads.coverage(s, table, on or date.today())
    for row in c["districts"]:
        row["rate"], row["rate_percent"] = rules.coverage_rate(row["insured"], row["population"])
    c["rate"], c["rate_percent"] = rules.coverage_rate(c["insured"], c["population"])
    return {"admdvs": region, "name": name, **c}


@router.get(
    "/reports/duplicate-enrollments",
    summary="重复参保: overlapping basic enrollments; one ID number, two psn_no",
)
def duplicate_enrollments(_: Annotated[dict, Depends(require("enrollment.read"))]) -> dict:
    with unit_of_work(write=False) as s:
        d = reads.duplicate_enrollments(s)
    return _out({**d, "total": len(d["overlaps"]) + len(d["same_certno"])})
