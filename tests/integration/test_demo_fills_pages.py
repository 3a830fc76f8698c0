"""The demo fills every console page (issue 20): a year of contributions with arrears and collections, varied
参保日期 and contribution months, duplicates to resolve, 共济 used, settlements reversed and settled again,
transfers in and out — and every personal account reconciles: opening balance + what was credited − what it
paid, to the fen, recomputed from the contributions and settlements rather than from the ledger's sums."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from tests.kernel_helpers import demo_bundle
from yibao.config import reset_settings
from yibao.enrollment.accounts import statement
from yibao.funds import ledger
from yibao.funds.check import check_ledger
from yibao.ingest.region import load_region
from yibao.store import audit, contribution_reads, migrate
from yibao.store import enrollment_reads as reads
from yibao.store.db import make_engine, unit_of_work
from yibao.store.tables import (
    Contribution,
    Enrollment,
    FamilyBinding,
    LedgerEntry,
    LedgerPosting,
    Person,
    PersonalAccount,
    Settlement,
    Visit,
)
from yibao.synth.build import build
from yibao.synth.params import Params

REPO = Path(__file__).resolve().parents[2]
YEAR = 2025
AFTER = date(YEAR + 1, 6, 30)  # the pages' as-of date: everything of the year is due by then
# 人员类别 → the ages (周岁, inclusive; None: no limit) it admits on the 参保日期; 退休 by gender (1 男, 2 女)
AGES = {
    "11": (16, None),
    "12": {"1": (50, None), "2": (45, None)},
    "1401": (0, 0),
    "1402": (0, 6),
    "1403": (5, 20),
    "15": (18, 59),
    "16": (60, None),
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A 500-person demo built once for the module (SQLite), installed as the configured database."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("YIBAO_DATABASE_URL", url)
        reset_settings()
        engine = make_engine(url)
        migrate.upgrade(engine)
        load_region(engine, "990100", REPO / "regions")
        spec = yaml.safe_load((REPO / "regions" / "990100" / "region.yaml").read_text(encoding="utf-8"))
        districts = [(d["admdvs"], d["population"]) for d in spec["districts"]]
        build(engine, demo_bundle(), Params(persons=500, seed=3), admdvs="990100", districts=districts)
        yield engine
    reset_settings()


def _owner(row) -> str:
    return (row.trace or {}).get("account_owner") or row.psn_no


def test_accounts_reconcile_with_contributions_and_payments(demo):
    """balance = opening + contributions credited (employee shares, 退休 credits) + balance brought in
    − account payments at settlement (own and 共济, reversals netted) − balance taken out, for every account."""
    expected: dict[str, int] = defaultdict(int)
    with unit_of_work(demo, write=False) as s:
        for psn, amount in s.execute(
            select(LedgerPosting.psn_no, LedgerPosting.amount)
            .join(LedgerEntry, LedgerEntry.id == LedgerPosting.entry_id)
            .where(
                LedgerPosting.account == ledger.PERSONAL_ACCOUNT,
                LedgerEntry.entry_type.in_(("opening", "account_credit", "transfer_out")),
            )
        ):
            expected[psn] -= amount  # the opening, a balance brought in (credits) or taken out (a debit)
        for psn, amount in s.execute(
            select(Contribution.psn_no, Contribution.employee_amt).where(
                Contribution.status == "paid", Contribution.kind.in_(("employee", "retiree"))
            )
        ):
            expected[psn] += amount
        paid_by = defaultdict(int)
        for row in s.scalars(select(Settlement).where(Settlement.acct_pay != 0)):
            paid_by[_owner(row)] += row.acct_pay
        for psn, amount in paid_by.items():
            expected[psn] -= amount
        balances = dict(s.execute(select(PersonalAccount.psn_no, PersonalAccount.balance)).all())
        assert balances == {p: expected.get(p, 0) for p in balances}
        assert set(expected) <= set(balances)
        assert sum(1 for b in balances.values() if b > 0) > 0.9 * len(balances)
        # in date order the balance never goes below zero
        for psn in balances:
            assert min((r["balance"] for r in statement(s, psn)), default=0) >= 0, psn
        report = check_ledger(s)
        assert report.ok, report.problems[:5]
        assert audit.verify(s).ok


def test_employers_owe_and_pay_some_late(demo):
    with unit_of_work(demo, write=False) as s:
        _, employers = contribution_reads.employers(s, as_of=AFTER)
        late_paid = s.scalar(
            select(func.count())
            .select_from(Contribution)
            .where(Contribution.status == "paid", func.date(Contribution.paid_at) > Contribution.due_date)
        )
        months = s.scalars(
            select(func.count(func.distinct(Contribution.period))).where(Contribution.kind == "employee")
        ).one()
    assert employers and all(e["due"] > 0 and e["paid"] > 0 for e in employers)
    owing = [e for e in employers if e["arrears"] > 0]
    assert 0 < len(owing) < len(employers) or len(employers) == 1
    assert all(e["unpaid"] == e["arrears"] for e in employers)  # as of mid next year all of it is overdue
    assert late_paid > 0  # arrears collected later
    assert months == 12


def test_enrollments_have_a_plausible_history(demo):
    with unit_of_work(demo, write=False) as s:
        rows = s.execute(
            select(Enrollment, Person.brdy, Person.gend).join(Person, Person.psn_no == Enrollment.psn_no)
        ).all()
    starts = {e.begndate for e, _, _ in rows}
    months = {e.contrib_months for e, _, _ in rows if e.insutype == "310"}
    assert len(starts) > 100 and len(months) > 50
    assert max(starts) <= date(YEAR, 12, 31)
    for e, brdy, gend in rows:
        assert e.begndate >= brdy
        age = e.begndate.year - brdy.year - ((e.begndate.month, e.begndate.day) < (brdy.month, brdy.day))
        band = AGES[e.psn_type]
        low, high = band[gend] if isinstance(band, dict) else band
        assert low <= age and (high is None or age <= high), (e.psn_no, e.psn_type, age)


def test_duplicates_bindings_reversals_and_transfers_are_there(demo):
    with unit_of_work(demo, write=False) as s:
        dup = reads.duplicate_enrollments(s)
        bindings = s.scalars(select(FamilyBinding)).all()
        mutual = s.scalars(select(Settlement).where(Settlement.acct_mulaid_pay > 0)).all()
        reversed_ = s.scalars(select(Settlement).where(Settlement.reversed_by.is_not(None))).all()
        again = {
            r.setl_id: s.scalars(
                select(Settlement).where(
                    Settlement.mdtrt_id == r.mdtrt_id,
                    Settlement.refd_setl_flag == "0",
                    Settlement.reversed_by.is_(None),
                )
            ).all()
            for r in reversed_
        }
        visits = {r.mdtrt_id: s.get(Visit, r.mdtrt_id).status for r in reversed_}
        left = s.scalars(select(Enrollment).where(Enrollment.end_reason == "transfer_out")).all()
        left_balance = [s.get(PersonalAccount, e.psn_no).balance for e in left]
        arrived = s.scalars(
            select(LedgerEntry).where(
                LedgerEntry.entry_type == "account_credit", LedgerEntry.memo.like("%转入")
            )
        ).all()
        member_paid = {m.setl_id for m in mutual}
        owner_lines = {
            r["setl_id"] for b in bindings for r in statement(s, b.owner_psn_no) if r["kind"] == "settlement"
        }
    assert dup["overlaps"] and dup["same_certno"]
    assert bindings and mutual and {m.psn_no for m in mutual} <= {b.member_psn_no for b in bindings}
    assert member_paid <= owner_lines  # a relative's payment is on the owner's statement
    assert reversed_ and all(len(v) == 1 for v in again.values())  # reversed, then settled again
    assert set(visits.values()) == {"settled"}
    assert any(v[0].acct_pay > 0 for v in again.values())  # the cash visit now paid from the account
    assert left and left_balance == [0] * len(left)
    assert arrived
