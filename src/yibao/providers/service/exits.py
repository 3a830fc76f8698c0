"""退出清算: what an institution that has left still has outstanding, on one statement.

An institution leaves on the first day no agreement covers (解除, or 到期 without renewal); it is off the
public list from that day. Leaving does not undo what it did while designated: its HIS still settles, reverses
and queries the visits begun before the exit date (settlement asks the designation of the service date), and
the fund still owes it what the ledger holds — as-charged settlements (``institution_payable``), the quality
deposit withheld by the month runs (``quality_deposit``). Case payment moves them: the month runs and the
year-end clearing take every institution with cases in the period, whatever its standing now, and pay or
recover the difference. A fee-for-service balance stays owed until the bureau pays it out (拨付, not yet a
yibao transaction). The statement lists each so staff can follow them to zero; it is ``settled`` when nothing
is left.
"""

from __future__ import annotations

from datetime import date

from yibao.errors import InputError
from yibao.funds.case_payment import CASE_PAYABLE, QUALITY_DEPOSIT
from yibao.funds.ledger import INSTITUTION_PAYABLE
from yibao.money import fmt_fen
from yibao.providers.service.common import ONE_DAY
from yibao.providers.service.designations import ENDED, coverage
from yibao.settlement.states import NAMES as VISIT_STATUS_NAMES
from yibao.store import provider_exit as exit_store
from yibao.store import providers as store

# how the fund's balances are settled, said beside their total wherever the statement is shown
OWED_NOTE = "待拨付：按病种付费的在月度预结算与年终清算中拨付或追回"

ACCOUNTS = {
    INSTITUTION_PAYABLE: "应付定点机构（按项目结算，未拨付）",
    CASE_PAYABLE: "应付定点机构（按病种付费，未拨付）",
    QUALITY_DEPOSIT: "暂扣质量保证金",
}


def exit_date(s, fixmedins_code: str) -> date:
    """The first day the institution is out: the day after the last day its main agreements cover, once every
    one has ended (解除 or 到期); refused while one stands. Read from the agreements, not the register's
    ``enddate`` (a region reload may rewrite that)."""
    mains = store.agreements_of(s, fixmedins_code, "main")
    if not mains or any(a.status not in ENDED for a in mains):
        store.institution(s, fixmedins_code)  # (an unknown code: not found)
        raise InputError(f"fixmedins_code: 定点医药机构 {fixmedins_code} 协议在执行中，没有退出日期")
    lasts = [last for _, last in map(coverage, mains) if last is not None]
    return max(lasts) + ONE_DAY if lasts else min(a.begndate for a in mains)


def statement(s, fixmedins_code: str) -> dict:
    """The 退出清算 statement of an institution that has an exit date (see the module docstring)."""
    day = exit_date(s, fixmedins_code)
    inst = store.institution(s, fixmedins_code)
    why = next((e for e in reversed(store.events_of(s, fixmedins_code)) if e.to_status in ENDED), None)
    visits = exit_store.unfinished_visits(s, fixmedins_code, day)
    n_since, fund_since = exit_store.settled_since(s, fixmedins_code, day)
    balances = exit_store.ledger_balances(s, fixmedins_code, tuple(ACCOUNTS))
    owed = [
        {"account": acct, "account_name": ACCOUNTS[acct], "fund_pay_type": fpt, "owed": fmt_fen(-fen)}
        for (acct, fpt), fen in sorted(balances.items())
    ]
    owed_fen = -sum(balances.values())
    standing = [r for r in store.registrations_of(s, fixmedins_code) if r.status == "registered"]
    return {
        "fixmedins_code": fixmedins_code,
        "fixmedins_name": inst.fixmedins_name,
        "exit_date": day,
        "ended_by": why.measure if why else None,
        "reason": why.reason if why else "",
        "unfinished_visits": [
            {
                "mdtrt_id": v.mdtrt_id,
                "psn_no": v.psn_no,
                "med_type": v.med_type,
                "begntime": v.begntime,
                "status": v.status,
                "status_name": VISIT_STATUS_NAMES.get(v.status, v.status),
            }
            for v in visits
        ],
        "settled_since_exit": {"count": n_since, "fund_pay_sumamt": fmt_fen(fund_since)},
        "balances": owed,
        "owed_total": fmt_fen(owed_fen),
        "registrations_standing": len(standing),
        "settled": not visits and not balances and not standing,
    }
