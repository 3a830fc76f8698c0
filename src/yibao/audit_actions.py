"""Every action the audit log (审计日志) records, named once.

The values are the strings the hash chain stores: a value never changes (a row already written would no
longer verify against its name, and queries by action would miss it). Add a member for a new kind of change;
:func:`yibao.store.audit.record` refuses any other name.

This module imports nothing, so the pure rules (``enrollment.rules``, ``enrollment.entitlements``) name their
actions without reaching into the store. One name may serve several entities (``register`` a person, an
employer, an identity, a visit): the row's ``entity`` tells them apart.
"""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    # persons, employers and enrollments (参保登记) — enrollment/service.py
    REGISTER = "register"  # also an identity, a chronic registration, a 惠民保 year, an outpatient visit
    ENROLL = "enroll"
    SUSPEND = "suspend"  # also an API client (commands/clients.py)
    RESUME = "resume"
    TERMINATE = "terminate"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_OUT_CERTIFICATE = "transfer_out_certificate"
    TRANSFER_IN = "transfer_in"
    CHANGE_CATEGORY = "change_category"
    BIND = "bind"  # 共济绑定
    UNBIND = "unbind"
    # entitlements (待遇资格) — enrollment/entitlements.py decides, entitlement_service.py writes
    END = "end"
    REVOKE = "revoke"
    CHANGE = "change"
    CANCEL = "cancel"  # 惠民保退保; also a visit (settlement, 2202/2404)
    # money on personal accounts and the ledger outside settlement (个人账户、缴费)
    OPENING_BALANCE = "opening_balance"
    ACCOUNT_CREDIT = "account_credit"
    RETIREE_CREDIT = "retiree_credit"
    CONTRIBUTION_RUN = "contribution_run"
    RESIDENT_RUN = "resident_run"
    DECLARE_WAGES = "declare_wages"
    COLLECT = "collect"
    PAY = "pay"
    # imports, region data and the demo generator
    IMPORT = "import"
    IMPORT_UPDATE = "import_update"
    LOAD_REGION = "load_region"
    GENERATE = "generate"
    REPLACE = "replace"
    # staff users and API clients — security.py, commands/clients.py
    CREATE = "create"
    PASSWD = "passwd"
    ENABLE = "enable"
    DISABLE = "disable"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    # visits and settlements (就诊与结算) — settlement/service.py, settlement/record.py
    ADMIT = "admit"
    UPDATE = "update"
    DISCHARGE = "discharge"
    UNDO_DISCHARGE = "undo_discharge"
    UPLOAD_FEES = "upload_fees"
    CANCEL_FEES = "cancel_fees"
    SETTLE = "settle"
    REVERSE = "reverse"
    # requests awaiting a second person (双人复核) — settlement/review.py decides, review_service.py writes
    REQUEST = "request"  # a handler files one (e.g. a settlement's 结算撤销)
    APPROVE = "approve"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    # case-based payment (支付方式) — payment/, store/payment_runs.py
    BUDGET = "budget"  # a year's global budget and norms built
    PRE_SETTLE = "pre_settle"  # a month run posted
    CLEAR = "clear"  # a year's clearing posted
    SUPERSEDE = "supersede"  # a run replaced by a re-run (its entries reversed)
    # fund supervision (基金监管) — supervision/service/
    RUN_AUDIT = "run_audit"  # a 事后 audit run stored with its new suspicions (疑点)
    FEEDBACK = "feedback"  # 3103 事前事中服务反馈: the institution's answer to a 3101/3102 warning
    SCREEN = "screen"  # a year's screening (筛查) kept, replacing the year's earlier leads
    # suspicions of the smart audit (疑点处理) — supervision/suspicion_states.py decides, service/suspicions.py writes
    CONFIRM = "confirm"  # 初审确认 (a 可疑 finding before its notice)
    NOTIFY = "notify"  # 告知机构, the answer's due date set
    ACCEPT = "accept"  # 机构认可
    APPEAL = "appeal"  # 机构申诉, with its files
    EXPIRE = "expire"  # 逾期未答复
    UPHOLD = "uphold"  # 复核维持 (or at acceptance)
    DISMISS = "dismiss"  # 初审排除 / 复核撤销
    DEDUCT = "deduct"  # 扣款 posted to the ledger
    # designated providers (定点医药机构协议管理) — providers/states.py decides, providers/service/ writes; they
    # also use ACCEPT (受理), REJECT (不予受理, a change refused), APPROVE (a change, suspension or termination
    # asked for, granted), WITHDRAW, CHANGE, SUSPEND, RESUME, TERMINATE, EXPIRE and REGISTER (医保医师备案)
    APPLY = "apply"  # an application filed (申请: 定点 / 变更 / 中止 / 解除 / 续签)
    ASK_SUPPLEMENT = "ask_supplement"  # 补充材料 asked: the evaluation clock stops
    SUPPLEMENT = "supplement"  # materials supplied: the clock runs again
    APPOINT_PANEL = "appoint_panel"  # 评估专家组
    SCORE = "score"  # a scorer's sheet
    CONCLUDE = "conclude"  # the evaluation's result
    SIGN = "sign"  # 签订协议 (main and supplementary)
    RENEW = "renew"  # 续签
    DESIGNATE = "designate"  # an institution of a loaded register given its agreement and designation
    MEASURE = "measure"  # 协议处理措施 (约谈, 限期整改 …)
    # annual assessment of designated providers (年度考核) — providers/service/assessments.py
    ASSESS = "assess"  # a year's assessment of a region's institutions (replacing the year's earlier one)
    RESCORE = "rescore"  # one institution's sheet re-scored after staff entered its figures


class UnknownAction(ValueError):
    """An audit action that is not an :class:`Action` (a programming error: the row is not written)."""


_NAMES = {a.value: a.value for a in Action}


def action_name(value: Action | str) -> str:
    """The stored name of ``value`` (an :class:`Action`, or a plain string equal to a member's value: the
    chain stores strings), or :class:`UnknownAction`. One dict lookup: every facade call audits."""
    try:
        return _NAMES[value]
    except (KeyError, TypeError):
        raise UnknownAction(f"unknown audit action {value!r}: add it to yibao.audit_actions.Action") from None
