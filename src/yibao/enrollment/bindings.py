"""共济 (family mutual aid): a spouse, parent or child bound to a 职工's personal account pays from it. Each
binding and unbinding is audited with before and after."""

from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from yibao.audit_actions import Action
from yibao.enrollment import rules
from yibao.enrollment.rows import get_person, snapshot
from yibao.errors import InputError, NotFound
from yibao.store import audit
from yibao.store.statements import Query
from yibao.store.tables import Enrollment, FamilyBinding, PersonalAccount

BINDING_FIELDS = ("owner_psn_no", "member_psn_no", "relation", "begndate", "enddate")


RELATIONS = {"spouse": "配偶", "parent": "父母", "child": "子女"}


def audit_binding(s: Session, b: FamilyBinding, action: Action, before: dict | None, actor: str) -> None:
    audit.record(
        s,
        actor=actor,
        action=action,
        entity="family_binding",
        entity_id=str(b.id),
        before=before,
        after=snapshot(b, BINDING_FIELDS),
    )


def end_bindings(s: Session, psn_no: str, day: date, actor: str) -> None:
    """共济 ends with the owner's or the member's insurance (death, emigration, transfer out)."""
    for b in s.scalars(
        select(FamilyBinding).where(
            (FamilyBinding.owner_psn_no == psn_no) | (FamilyBinding.member_psn_no == psn_no),
            FamilyBinding.enddate.is_(None),
        )
    ):
        before = snapshot(b, BINDING_FIELDS)
        b.enddate = max(day, b.begndate)
        audit_binding(s, b, Action.UNBIND, before, actor)


def bind_family(
    s: Session, *, owner_psn_no: str, member_psn_no: str, relation: str, begndate: date, actor: str
) -> FamilyBinding:
    """共济绑定: a spouse, parent or child may pay from the owner's 职工 personal account; the owner must
    hold a 职工 enrollment in force with an account, and a member is bound to one account at a time."""
    if relation not in RELATIONS:
        raise InputError("relation: 关系应为 spouse 配偶、parent 父母或 child 子女")
    if owner_psn_no == member_psn_no:
        raise InputError("member_psn_no: 共济人员不能是账户所有人本人")
    get_person(s, owner_psn_no)
    member = get_person(s, member_psn_no)
    if member.death_date is not None:
        raise InputError(f"member_psn_no: 共济人员已于 {member.death_date} 死亡")
    if s.get(PersonalAccount, owner_psn_no) is None:
        raise InputError(f"owner_psn_no: 账户所有人 {owner_psn_no} 没有职工个人账户")
    held = s.scalars(
        select(Enrollment).where(
            Enrollment.psn_no == owner_psn_no,
            Enrollment.insutype == "310",
            Enrollment.psn_insu_stas.in_(rules.HOLDING),
            Enrollment.begndate <= begndate,
            (Enrollment.enddate.is_(None)) | (Enrollment.enddate >= begndate),
        )
    )
    if not any(rules.status_on(e, begndate) == "1" for e in held):  # a change scheduled later counts not
        raise InputError(f"owner_psn_no: 账户所有人 {owner_psn_no} 在 {begndate} 没有正常参保的职工医保")
    bound = s.scalar(
        select(FamilyBinding).where(
            FamilyBinding.member_psn_no == member_psn_no, FamilyBinding.enddate.is_(None)
        )
    )
    if bound is not None:
        raise InputError(f"member_psn_no: 共济人员 {member_psn_no} 已绑定 {bound.owner_psn_no} 的个人账户")
    b = s.scalar(
        select(FamilyBinding).where(
            FamilyBinding.owner_psn_no == owner_psn_no, FamilyBinding.member_psn_no == member_psn_no
        )
    )
    before = None
    if b is None:
        b = FamilyBinding(
            owner_psn_no=owner_psn_no, member_psn_no=member_psn_no, relation=relation, begndate=begndate
        )
        s.add(b)
    else:  # bound again after an unbinding: the pair is one row, reopened
        before = snapshot(b, BINDING_FIELDS)
        if begndate <= b.enddate:
            raise InputError(f"begndate: 绑定日期应晚于上次解绑日期（{b.enddate}）")
        b.relation, b.begndate, b.enddate = relation, begndate, None
    s.flush()
    audit_binding(s, b, Action.BIND, before, actor)
    return b


def unbind_family(s: Session, binding_id: int, day: date, *, actor: str) -> FamilyBinding:
    """解除共济绑定 from ``day`` on (the member may no longer use the account after it)."""
    b = s.get(FamilyBinding, binding_id, with_for_update=True)
    if b is None:
        raise NotFound(f"binding: 共济绑定不存在（{binding_id}）")
    if b.enddate is not None:
        raise InputError(f"binding: 该共济绑定已于 {b.enddate} 解除")
    if day < b.begndate:
        raise InputError(f"date: 解绑日期不能早于绑定日期（{b.begndate}）")
    before = snapshot(b, BINDING_FIELDS)
    b.enddate = day
    audit_binding(s, b, Action.UNBIND, before, actor)
    return b


# 共济: the account that pays for a member on a day (declared once: staff pages and settlement read it alike)
OWNER_ON = Query(
    "mutual_aid_owner",
    select(FamilyBinding.owner_psn_no).where(
        FamilyBinding.member_psn_no == bindparam("member"),
        FamilyBinding.begndate <= bindparam("day"),
        or_(FamilyBinding.enddate.is_(None), FamilyBinding.enddate >= bindparam("day")),
    ),
)


def mutual_aid_owner(s: Session, member_psn_no: str, day: date) -> str | None:
    """The account that pays for ``member_psn_no`` under 共济 on ``day``, if bound."""
    return s.scalar(OWNER_ON.stmt, {"member": member_psn_no, "day": day})
