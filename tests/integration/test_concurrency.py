"""16 threads (or 16 greenlets on one loop) settle for one person at once through the facade: caps hold,
nothing is lost or doubled."""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from functools import partial

import pytest
from sqlalchemy import select

from tests import world
from tests.world import RESIDENT, line
from yibao.store import cooperative
from yibao.store.db import unit_of_work
from yibao.store.tables import Accumulator, Settlement

THREADS, PER_THREAD = 16, 3


def call(infno: str, input_: dict, msgid: str) -> dict:
    return world.call_in_process(infno, input_, msgid)


def outpatient(
    tag: str, psn: str, ins: str, fee: str, acct_used_flag: str | None = None, before_settle=None
) -> dict:
    """2201 → 2204 (one line) → 2207 through the facade; the 2207's setlinfo."""
    r = call(
        "2201", {"data": {"psn_no": psn, "insutype": ins, "begntime": "2025-03-01 09:00:00"}}, f"{tag}-2201"
    )
    assert r["infcode"] == 0, r["err_msg"]
    mdtrt = r["output"]["data"]["mdtrt_id"]
    r = call("2204", {"feedetail": [line("1", "A1", fee, mdtrt_id=mdtrt)]}, f"{tag}-2204")
    assert r["infcode"] == 0, r["err_msg"]
    if before_settle is not None:
        before_settle()
    data = {"psn_no": psn, "mdtrt_id": mdtrt, "medfee_sumamt": fee, "insutype": ins}
    if acct_used_flag is not None:
        data["acct_used_flag"] = acct_used_flag
    r = call("2207", {"data": data}, f"{tag}-2207")
    assert r["infcode"] == 0, r["err_msg"]
    return r["output"]["setlinfo"]


def only_on_postgresql(engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row-lock concurrency is a PostgreSQL property; SQLite serialises all writers")


def worker(n: int, errors: list) -> None:
    try:
        for k in range(PER_THREAD):
            outpatient(f"T{n:02d}{k}", RESIDENT, "390", "60.00")
    except Exception as exc:  # collected and re-raised in the test thread
        errors.append(exc)


def run_together(*targets) -> None:
    """Each target on its own thread, all started before any is awaited."""
    threads = [threading.Thread(target=target) for target in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _run_on_threads(work) -> None:
    run_together(*(partial(work, n) for n in range(THREADS)))


def _run_as_greenlets(work) -> None:
    """Every worker as a facade greenlet on one event loop (as the server runs them on PostgreSQL): a call
    waiting for the person's row lock must yield to the loop, or the holder never gets to commit."""

    async def main() -> None:
        await asyncio.gather(*(cooperative.run(work, n) for n in range(THREADS)))

    # a regression would block the loop in a lock wait for good: cancel the waits, so the test fails instead
    watchdog = threading.Timer(60, world.cancel_lock_waits)
    watchdog.start()
    try:
        asyncio.run(main())
    finally:
        watchdog.cancel()


@pytest.mark.pg
@pytest.mark.parametrize("run", [_run_on_threads, _run_as_greenlets], ids=["threads", "greenlets"])
def test_concurrent_settlements_for_one_person(engine, run):
    only_on_postgresql(engine)
    world.build(engine)
    errors: list = []
    run(lambda n: worker(n, errors))
    assert not errors, errors[:3]
    with unit_of_work(engine, write=False) as s:
        settlements = s.scalars(select(Settlement)).all()
        acc = dict(
            s.execute(
                select(Accumulator.acc_key, Accumulator.value).where(
                    Accumulator.psn_no == RESIDENT, Accumulator.year == 2025
                )
            ).all()
        )
    assert len(settlements) == THREADS * PER_THREAD
    # 48 visits × 60.00 at level 2 (0.50) would be 1,440.00; the 居民 outpatient cap is 500.00
    assert sum(x.hifp_pay for x in settlements) == 50_000
    expected = defaultdict(int)
    for x in settlements:
        for k, v in x.accum_delta.items():
            expected[k] += v
    assert acc == {k: v for k, v in expected.items() if v}
    assert acc["cap:outpatient"] == 50_000


def _deadlocks(engine) -> int:
    from sqlalchemy import text

    with engine.connect() as c:
        return c.execute(
            text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        ).scalar_one()


def assert_no_deadlock(engine, errors: list, before: int) -> None:
    """No thread failed, PostgreSQL counted no new deadlock, and the ledger still balances."""
    from yibao.funds.check import check_ledger

    assert not errors, errors[:2]
    assert _deadlocks(engine) == before
    with unit_of_work(engine, write=False) as s:
        assert check_ledger(s).ok


def bound_both_ways(engine) -> None:
    """The world, with its two employees bound to each other's accounts (共济, spouses)."""
    from datetime import date

    from tests.world import RETIREE, WORKER
    from yibao.enrollment import bindings

    world.build(engine)
    with unit_of_work(engine) as s:
        for owner, member in ((WORKER, RETIREE), (RETIREE, WORKER)):
            bindings.bind_family(
                s,
                owner_psn_no=owner,
                member_psn_no=member,
                relation="spouse",
                begndate=date(2025, 1, 1),
                actor="t",
            )


@pytest.mark.pg
def test_two_persons_paying_from_each_others_account_at_once_never_deadlock(engine):
    """共济 both ways (spouses who are both employees): each settlement locks its patient and the other's
    account. Locking the account owner's person row as well made the two wait for each other."""
    only_on_postgresql(engine)

    from tests.world import RETIREE, WORKER

    bound_both_ways(engine)
    before = _deadlocks(engine)
    rounds, errors = 6, []
    barrier = threading.Barrier(2)

    def patient(psn: str) -> None:
        try:
            for k in range(rounds):  # both settle at the same moment
                info = outpatient(f"M{psn}{k}", psn, "310", "30.00", "2", lambda: barrier.wait(timeout=30))
                assert info["acct_mulaid_pay"] > 0
        except Exception as exc:  # re-raised in the test thread
            errors.append(exc)
            barrier.abort()

    run_together(*(partial(patient, p) for p in (WORKER, RETIREE)))
    assert_no_deadlock(engine, errors, before)


@pytest.mark.pg
def test_cross_bound_settlements_reversals_and_account_credits_at_once_never_deadlock(engine):
    """The lock order every unit of work keeps: the patient's row, the visit, the paying account, and the audit
    chain's head last, at commit. Two persons bound to each other's accounts settle (共济) and reverse at the
    same moment as a staff unit of work that writes an audit row and credits both accounts: before the head
    was taken last, the staff work held the head while waiting for an account a settlement held, and the
    settlement waited for the head (PostgreSQL reported a deadlock)."""
    only_on_postgresql(engine)
    from datetime import datetime

    from tests.world import RETIREE, WORKER
    from yibao.enrollment import accounts
    from yibao.store import audit
    from yibao.store.tables import PersonalAccount

    bound_both_ways(engine)
    with unit_of_work(engine) as s:
        balances = {p: s.get(PersonalAccount, p).balance for p in (WORKER, RETIREE)}
    before, rounds, errors = _deadlocks(engine), 6, []
    barrier = threading.Barrier(3)

    def patient(psn: str) -> None:
        try:
            for k in range(rounds):
                info = outpatient(f"X{psn}{k}", psn, "310", "30.00", "2", lambda: barrier.wait(timeout=30))
                data = {"setl_id": info["setl_id"], "psn_no": psn, "mdtrt_id": info["mdtrt_id"]}
                r = call("2208", {"data": data}, f"X{psn}{k}-2208")
                assert r["infcode"] == 0, r["err_msg"]
        except Exception as exc:  # re-raised in the test thread
            errors.append(exc)
            barrier.abort()

    def staff() -> None:
        try:
            for _ in range(rounds):
                barrier.wait(timeout=30)
                with unit_of_work(engine) as s:
                    audit.record(s, actor="t", action=audit.Action.UPDATE, entity="person", entity_id=WORKER)
                    for p in (WORKER, RETIREE):
                        accounts.credit_account(
                            s, p, 100, "employer", when=datetime(2025, 3, 1), memo="t", actor="t"
                        )
        except Exception as exc:
            errors.append(exc)
            barrier.abort()

    run_together(partial(patient, WORKER), partial(patient, RETIREE), staff)
    assert_no_deadlock(engine, errors, before)
    with unit_of_work(engine, write=False) as s:
        # every settlement was reversed: each account holds its opening balance plus the staff's credits
        assert {p: s.get(PersonalAccount, p).balance for p in balances} == {
            p: b + rounds * 100 for p, b in balances.items()
        }
        assert audit.verify(s).ok


@pytest.mark.pg
def test_reading_the_settlement_state_locks_the_paying_account(engine):
    """The accumulators, identities and the paying account's balance come in one statement; the account's
    row must still be locked by it, or two settlements paying from one account could both spend it."""
    only_on_postgresql(engine)
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from tests.world import WORKER
    from yibao.settlement import queries as q
    from yibao.store.db import facade_unit_of_work

    world.build(engine)
    with facade_unit_of_work() as uow:
        state = uow.read(q.PERSON_STATE(psn_no=RESIDENT, mdtrt_id="M-none", owner=WORKER))
        assert state["account"] and state["account"][0].balance > 0
        with engine.connect() as other, pytest.raises(OperationalError, match="lock"):
            other.execute(
                text("SELECT 1 FROM personal_account WHERE psn_no = :p FOR UPDATE NOWAIT"), {"p": WORKER}
            )
    with facade_unit_of_work() as uow:  # 居民: no account
        assert uow.read(q.PERSON_STATE(psn_no=RESIDENT, mdtrt_id="M-none", owner=RESIDENT))["account"] == []


@pytest.mark.pg
def test_two_uploads_of_one_serial_number_at_once_one_is_refused(engine):
    """The second upload may have read its visit before the first committed its lines: the unique key
    catches the duplicate, the facade retries the call, and the retry refuses it by name."""
    only_on_postgresql(engine)
    from sqlalchemy import func

    from yibao.store.tables import FeeLine

    world.build(engine)
    for k in range(4):
        r = call(
            "2201",
            {"data": {"psn_no": RESIDENT, "insutype": "390", "begntime": "2025-03-01 09:00:00"}},
            f"D{k}-2201",
        )
        mdtrt = r["output"]["data"]["mdtrt_id"]
        barrier, replies = threading.Barrier(2), []

        def upload(tag: str, mdtrt: str, barrier: threading.Barrier, replies: list) -> None:
            barrier.wait(timeout=30)
            replies.append(call("2204", {"feedetail": [line("1", "A1", "10.00", mdtrt_id=mdtrt)]}, tag))

        run_together(*(partial(upload, f"D{k}-2204-{n}", mdtrt, barrier, replies) for n in range(2)))
        assert sorted(r["infcode"] for r in replies) == [-1, 0], replies
        assert "费用明细流水号 1 重复" in next(r["err_msg"] for r in replies if r["infcode"] == -1)
        with unit_of_work(engine, write=False) as s:
            assert s.scalar(select(func.count()).where(FeeLine.mdtrt_id == mdtrt)) == 1
