"""The facade's unit of work: audit rows appended with the commit (hash computed by PostgreSQL), writes queued
until the next round trip and composed, savepoints that roll back leave nothing, concurrent appends keep one
chain, connections kept between calls."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime

import pytest
from sqlalchemy import func, select

from tests import world
from tests.world import HOSP2, PHARMACY, RESIDENT, WORKER, line
from yibao.api import exactjson
from yibao.settlement import queries as q
from yibao.store import audit
from yibao.store.audit import Action
from yibao.store.db import facade_unit_of_work, unit_of_work
from yibao.store.statements import Write
from yibao.store.tables import AccumulatorYear, AuditLog, FeeLine, MessageLog, Settlement, Visit

_n = iter(range(1, 10**9))


def call(infno: str, input_: dict, *, code: str = HOSP2, msgid: str | None = None) -> dict:
    return world.call_in_process(infno, input_, msgid or f"FAST{next(_n):010d}", code)


def ok(infno: str, input_: dict, **kw) -> dict:
    reply = call(infno, input_, **kw)
    assert reply["infcode"] == 0, f"{infno}: {reply['err_msg']}"
    return reply["output"]


def outpatient(psn: str = RESIDENT, ins: str = "390", fee: str = "60.00") -> dict:
    mdtrt = ok("2201", {"data": {"psn_no": psn, "insutype": ins, "begntime": "2025-03-01 09:00:00"}})["data"][
        "mdtrt_id"
    ]
    ok(
        "2204",
        {"feedetail": [line("1", "A1", fee, mdtrt_id=mdtrt), line("2", "B1", "10.00", mdtrt_id=mdtrt)]},
    )
    total = f"{float(fee) + 10:.2f}"
    return ok("2207", {"data": {"psn_no": psn, "mdtrt_id": mdtrt, "medfee_sumamt": total, "insutype": ins}})


def count(engine, table) -> int:
    with unit_of_work(engine, write=False) as s:
        return s.scalar(select(func.count()).select_from(table))


def chain(engine) -> audit.VerifyResult:
    with unit_of_work(engine, write=False) as s:
        return audit.verify(s)


def test_facade_rows_chain_and_verify(engine):
    world.build(engine)
    before = chain(engine).rows
    setl = outpatient()["setlinfo"]
    ok("2208", {"data": {"psn_no": RESIDENT, "setl_id": setl["setl_id"], "mdtrt_id": setl["mdtrt_id"]}})
    drugs = {
        "drugdetail": [line("1", "A1", "30.00"), line("2", "B1", "20.00")],
        "data": {"psn_no": WORKER, "insutype": "310", "medfee_sumamt": "50.00", "acct_used_flag": "1"},
    }
    ok("2102", drugs, code=PHARMACY)
    result = chain(engine)
    assert result.ok, result.problem
    with unit_of_work(engine, write=False) as s:
        actions = s.scalars(select(AuditLog.action).where(AuditLog.seq > before).order_by(AuditLog.seq)).all()
    assert actions == ["register", "upload_fees", "settle", "reverse", "register", "upload_fees", "settle"]


def test_presettlement_in_a_savepoint_leaves_no_row(engine):
    world.build(engine)
    rows = {t: count(engine, t) for t in (Visit, FeeLine, Settlement, AuditLog)}
    drugs = {
        "drugdetail": [line("1", "A1", "30.00")],
        "data": {"psn_no": WORKER, "insutype": "310", "medfee_sumamt": "30.00", "acct_used_flag": "1"},
    }
    pre = ok("2101", drugs, code=PHARMACY)
    assert pre["setlinfo"]["medfee_sumamt"] == exactjson.loads('{"a": 30.00}')["a"]
    assert {t: count(engine, t) for t in rows} == rows  # only the msgid log has a new row
    assert chain(engine).ok


def _log_row(msgid: str) -> dict:
    return {
        "msgid": msgid,
        "infno": "9001",
        "fixmedins_code": HOSP2,
        "request_digest": "x",
        "infcode": 0,
        "response": "{}",
        "received_at": datetime(2025, 1, 1),
    }


_QUEUE_LOG = Write.insert("test_log", MessageLog.__table__, tuple(_log_row("k")))


# the facade's own unit of work and a staff session both append their audit rows at commit
OPENERS = {"session": lambda engine: unit_of_work(engine), "facade": lambda engine: facade_unit_of_work()}


def test_rows_of_a_rolled_back_savepoint_are_dropped_in_a_session(engine):
    world.build(engine)
    rows = count(engine, AuditLog)
    with unit_of_work(engine) as s:
        audit.record(s, actor="t", action=Action.ENABLE, entity="e", entity_id="1")
        savepoint = s.begin_nested()
        audit.record(s, actor="t", action=Action.CANCEL, entity="e", entity_id="2")
        savepoint.rollback()
        inner = s.begin_nested()
        audit.record(s, actor="t", action=Action.UPDATE, entity="e", entity_id="3")  # released
        inner.commit()
    with unit_of_work(engine, write=False) as s:
        actions = s.scalars(select(AuditLog.action).order_by(AuditLog.seq)).all()[rows:]
    assert actions == ["enable", "update"]
    assert chain(engine).ok


def test_rows_and_writes_of_a_savepoint_are_dropped_in_a_facade_unit_of_work(engine):
    world.build(engine)
    rows = count(engine, AuditLog)
    with facade_unit_of_work() as uow:
        audit.record(uow, actor="t", action=Action.ENABLE, entity="e", entity_id="1")
        uow.write(_QUEUE_LOG, _log_row("KEPT-1"))
        with uow.savepoint():
            audit.record(uow, actor="t", action=Action.CANCEL, entity="e", entity_id="2")
            uow.write(_QUEUE_LOG, _log_row("DROPPED-1"))
            uow.read(q.VISIT(mdtrt_id="none"))  # (the write inside has gone to the server: it is rolled back)
            uow.write(_QUEUE_LOG, _log_row("DROPPED-2"))  # (this one never leaves)
        audit.record(uow, actor="t", action=Action.UPDATE, entity="e", entity_id="3")
    with unit_of_work(engine, write=False) as s:
        actions = s.scalars(select(AuditLog.action).order_by(AuditLog.seq)).all()[rows:]
        msgids = set(s.scalars(select(MessageLog.msgid)))
    assert actions == ["enable", "update"]
    assert "KEPT-1" in msgids and not msgids & {"DROPPED-1", "DROPPED-2"}
    assert chain(engine).ok


@pytest.mark.parametrize("opener", OPENERS)
def test_a_deferring_unit_of_work_that_commits_plainly_still_appends(engine, opener):
    world.build(engine)
    rows = count(engine, AuditLog)
    with OPENERS[opener](engine) as s:
        audit.record(s, actor="t", action=Action.UPDATE, entity="e", entity_id="1", after={"名": "甲"})
    assert count(engine, AuditLog) == rows + 1 and chain(engine).ok
    try:
        with OPENERS[opener](engine) as s:
            audit.record(s, actor="t", action=Action.UPDATE, entity="e", entity_id="2")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert count(engine, AuditLog) == rows + 1


def test_the_facade_work_commits_or_rolls_back_its_orm_changes_with_its_own(engine):
    """A handler may use the ORM inside the facade's unit of work: it joins the same transaction."""
    world.build(engine)
    with facade_unit_of_work() as uow:
        uow.write(_QUEUE_LOG, _log_row("W-FAST-1"))
        uow.session.add(MessageLog(**_log_row("W-ORM-1")))
        savepoint = uow.session.begin_nested()
        uow.session.add(MessageLog(**_log_row("W-ORM-DROPPED")))
        savepoint.rollback()
        uow.write(_QUEUE_LOG, _log_row("W-FAST-2"))
    with pytest.raises(RuntimeError), facade_unit_of_work() as uow:
        uow.write(_QUEUE_LOG, _log_row("W-FAST-FAILED"))
        uow.session.add(MessageLog(**_log_row("W-ORM-FAILED")))
        uow.session.flush()
        raise RuntimeError("boom")
    with unit_of_work(engine, write=False) as s:
        msgids = set(s.scalars(select(MessageLog.msgid).where(MessageLog.msgid.like("W-%"))))
    assert msgids == {"W-FAST-1", "W-ORM-1", "W-FAST-2"}


@pytest.mark.pg
def test_concurrent_calls_keep_one_chain_and_one_reply_per_msgid(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL (SQLite serialises them)")
    world.build(engine)
    errors: list = []
    replies: list = []

    def worker(n: int) -> None:
        try:
            for _ in range(4):
                outpatient()
            # the same message twice at once from two threads: one visit, the same reply
            replies.append(
                call(
                    "2201",
                    {"data": {"psn_no": WORKER, "insutype": "310", "begntime": "2025-03-01 09:00:00"}},
                    msgid=f"DUP{n // 2:04d}",
                )
            )
        except Exception as exc:  # re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    result = chain(engine)
    assert result.ok, result.problem
    by_msgid = Counter(exactjson.dumps(r) for r in replies)
    assert len(replies) == 8 and sorted(by_msgid.values()) == [2, 2, 2, 2]  # pairs got identical replies
    with unit_of_work(engine, write=False) as s:
        worker_visits = s.scalar(select(func.count()).select_from(Visit).where(Visit.psn_no == WORKER))
        seqs = s.scalars(select(AuditLog.seq).order_by(AuditLog.seq)).all()
    assert worker_visits == 4
    assert seqs == list(range(1, len(seqs) + 1))
    assert count(engine, Settlement) == 8 * 4


def test_rows_written_by_the_hot_path(engine):
    """What the prebuilt statements write: defaults, the header's revision, lines settled under the visit."""
    world.build(engine)
    first = outpatient()["setlinfo"]
    second = outpatient()["setlinfo"]
    with unit_of_work(engine, write=False) as s:
        revision = s.scalar(
            select(AccumulatorYear.revision).where(
                AccumulatorYear.psn_no == RESIDENT,
                AccumulatorYear.year == 2025,
                AccumulatorYear.insutype == "390",
            )
        )
        lines = s.execute(
            select(FeeLine.mdtrt_id, FeeLine.feedetl_sn, FeeLine.status, FeeLine.setl_id, FeeLine.chrgitm_lv)
            .where(FeeLine.mdtrt_id.in_([first["mdtrt_id"], second["mdtrt_id"]]))
            .order_by(FeeLine.id)
        ).all()
        row = s.get(Settlement, second["setl_id"])
        visit = s.get(Visit, second["mdtrt_id"])
    assert revision == 2
    assert [(m, sn, st, sid) for m, sn, st, sid, _ in lines] == [
        (first["mdtrt_id"], "1", "settled", first["setl_id"]),
        (first["mdtrt_id"], "2", "settled", first["setl_id"]),
        (second["mdtrt_id"], "1", "settled", second["setl_id"]),
        (second["mdtrt_id"], "2", "settled", second["setl_id"]),
    ]
    assert visit.status == "settled" and row.refd_setl_flag == "0" and row.reversed_by is None
    assert row.trace["params"] and row.accum_delta and row.clr_way == "1"


def test_a_value_too_long_for_its_column_is_refused_not_cut(engine):
    """Refused by name before it reaches the column, on both databases (SQLite does not enforce VARCHAR
    lengths; PostgreSQL would refuse the insert)."""
    world.build(engine)
    mdtrt = ok("2201", {"data": {"psn_no": RESIDENT, "insutype": "390", "begntime": "2025-03-01 09:00:00"}})[
        "data"
    ]["mdtrt_id"]
    reply = call(
        "2204", {"feedetail": [line("1", "A1", "10.00", mdtrt_id=mdtrt, medins_list_codg="x" * 151)]}
    )
    with unit_of_work(engine, write=False) as s:
        stored = s.scalars(select(FeeLine.medins_list_codg).where(FeeLine.mdtrt_id == mdtrt)).all()
    assert reply["infcode"] == -1 and stored == []
    assert reply["err_msg"] == "input.feedetail[0].medins_list_codg: 长度超过 150 (longer than 150)"


def test_many_rows_are_stored_as_given_in_their_order(engine):
    """The multi-row insert (one JSON parameter on PostgreSQL): quotes, backslashes and JSON's own
    characters, times to the second, absent values as NULL, and ids in the order the lines were uploaded."""
    world.build(engine)
    mdtrt = ok("2201", {"data": {"psn_no": RESIDENT, "insutype": "390", "begntime": "2025-03-01 09:00:00"}})[
        "data"
    ]["mdtrt_id"]
    odd = "A'B\"C\\D{[:,]}%_"
    lines = [
        line("3", "A1", "10.00", mdtrt_id=mdtrt, medins_list_codg=odd, fee_ocur_time="2025-03-01 10:11:12"),
        line("1", "A1", "2.50", 4, mdtrt_id=mdtrt),
        line("2", "C1", "1.00", mdtrt_id=mdtrt, fee_ocur_time=None, chrg_bchno="B7"),
    ]
    ok("2204", {"feedetail": lines})
    with unit_of_work(engine, write=False) as s:
        stored = s.execute(
            select(
                FeeLine.feedetl_sn,
                FeeLine.medins_list_codg,
                FeeLine.fee_ocur_time,
                FeeLine.chrg_bchno,
                FeeLine.det_item_fee_sumamt,
                FeeLine.chrgitm_lv,
                FeeLine.pric_uplmt_amt,
            )
            .where(FeeLine.mdtrt_id == mdtrt)
            .order_by(FeeLine.id)
        ).all()
    assert [tuple(r) for r in stored] == [
        ("3", odd, datetime(2025, 3, 1, 10, 11, 12), None, 1000, "01", None),
        ("1", None, datetime(2025, 3, 1, 9, 0), None, 1000, "01", None),
        ("2", None, None, "B7", 100, "03", None),
    ]


def test_composed_writes_check_foreign_keys_at_the_end_and_fail_whole(engine):
    """One statement of CTEs on PostgreSQL: a child row may precede its parent, the rows keep their order,
    and one failing write leaves none of the others (SQLite runs the writes one by one)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("statements are composed on PostgreSQL only")
    from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table

    from yibao.store import wire
    from yibao.store.statements import compose

    meta = MetaData()
    mp = Table("mp", meta, Column("id", Integer, primary_key=True))
    mc = Table(
        "mc",
        meta,
        Column("n", Integer, primary_key=True),
        Column("pid", ForeignKey("mp.id")),
        Column("v", Integer),
    )
    parent, children = Write.insert("mp", mp, ("id",)), Write.rows("mc", mc, ("pid", "v"))
    raw = engine.raw_connection()
    try:
        pg = raw.driver_connection
        pg.execute("CREATE TEMP TABLE mp (id INTEGER PRIMARY KEY)")
        pg.execute("CREATE TEMP TABLE mc (n SERIAL PRIMARY KEY, pid INTEGER REFERENCES mp (id), v INTEGER)")
        statements = compose([(children, [{"pid": 1, "v": v} for v in (3, 1, 2)]), (parent, {"id": 1})])
        assert len(statements) == 1
        wire.execute(pg, statements)
        assert pg.execute("SELECT pid, v FROM mc ORDER BY n").fetchall() == [(1, 3), (1, 1), (1, 2)]
        statements = compose([(parent, {"id": 2}), (children, [{"pid": 99, "v": 5}])])
        with pytest.raises(psycopg_errors().ForeignKeyViolation):
            wire.execute(pg, statements)
        pg.rollback()
        assert pg.execute("SELECT to_regclass('pg_temp.mp') IS NULL").fetchone() == (True,)  # all of it went
    finally:
        raw.close()


def psycopg_errors():
    import psycopg

    return psycopg.errors


def test_accumulator_values_are_set_new_changed_and_removed(engine):
    """One upsert for new and changed values (a key already stored takes the new value), a delete for a value
    back to zero; the header's revision bumped once per save."""
    from yibao.settlement import facts
    from yibao.store.tables import Accumulator

    world.build(engine)

    def save(old: dict, new: dict) -> dict:
        with facade_unit_of_work() as work:
            facts.save_accumulators(work, WORKER, 2031, "310", old, new)
        with unit_of_work(engine, write=False) as s:
            rows = s.execute(
                select(Accumulator.acc_key, Accumulator.value).where(
                    Accumulator.psn_no == WORKER, Accumulator.year == 2031
                )
            ).all()
        return dict(rows)

    assert save({}, {"dedc": 120000, "cap:outpatient": 5}) == {"dedc": 120000, "cap:outpatient": 5}
    assert save(
        {"dedc": 120000, "cap:outpatient": 5}, {"dedc": 130000, "cap:outpatient": 5, "visits": 2}
    ) == {
        "dedc": 130000,
        "cap:outpatient": 5,
        "visits": 2,
    }
    assert save({"dedc": 130000, "cap:outpatient": 5, "visits": 2}, {"dedc": 130000, "visits": 3}) == {
        "dedc": 130000,
        "visits": 3,
    }
    with unit_of_work(engine, write=False) as s:
        revision = s.scalar(
            select(AccumulatorYear.revision).where(
                AccumulatorYear.psn_no == WORKER, AccumulatorYear.year == 2031
            )
        )
    assert revision == 3


def test_a_settlement_writes_in_one_statement(engine, monkeypatch):
    """PostgreSQL: a 2207's writes (settlement, details, ledger, accumulators, header, account, lines, visit,
    reply) go as one statement of CTEs, then the audit append and COMMIT, in the call's last round trip; also
    for the person's second settlement of the year, whose accumulators change values already stored."""
    if engine.dialect.name != "postgresql":
        pytest.skip("statements are merged on PostgreSQL only")
    from yibao.store import wire

    world.build(engine)
    bursts: list[list[str]] = []
    real = wire.execute_reads

    def recording(conn, writes, reads, **kw):
        bursts.append([sql for sql, _ in writes])
        return real(conn, writes, reads, **kw)

    def settle() -> None:
        mdtrt = ok(
            "2201", {"data": {"psn_no": WORKER, "insutype": "310", "begntime": "2025-03-01 09:00:00"}}
        )["data"]["mdtrt_id"]
        lines = [line("1", "A1", "300.00", mdtrt_id=mdtrt), line("2", "B1", "10.00", mdtrt_id=mdtrt)]
        ok("2204", {"feedetail": lines})
        data = {"psn_no": WORKER, "mdtrt_id": mdtrt, "medfee_sumamt": "310.00", "insutype": "310"}
        assert ok("2207", {"data": {**data, "acct_used_flag": "1"}})["setlinfo"]["acct_pay"] != "0.00"

    settle()
    monkeypatch.setattr(wire, "execute_reads", recording)
    settle()
    *_, last = bursts
    assert len(last) == 2, [sql[:60] for sql in last]
    merged, append = last
    for table in ("settlement", "settlement_detail", "accumulator", "accumulator_year", "personal_account"):
        assert f"{table} " in merged or f"{table}(" in merged
    assert "audit_log" in append


@pytest.fixture
def pg_only(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("facade calls keep connections on PostgreSQL only (SQLite calls use a session)")
    world.build(engine)
    return engine


def _backend_pid(conn) -> int:
    return conn.connection.dbapi_connection.info.backend_pid


def test_facade_calls_keep_their_connection_between_calls(pg_only, monkeypatch):
    """One pool checkout for a run of calls: each call takes the connection the last one left."""
    from yibao.store import db

    db._release_held(pg_only)
    checkouts = []
    real = type(pg_only).connect

    def counting(self):
        checkouts.append(1)
        return real(self)

    monkeypatch.setattr(type(pg_only), "connect", counting)
    for _ in range(3):
        outpatient(WORKER, "310")
    assert len(checkouts) == 1
    assert len(pg_only._yibao_held) == 1


def test_a_kept_connection_the_server_dropped_is_not_used_again(pg_only):
    """The database restarted (here: the backend terminated): the next call fails over to a new connection
    and still answers; the broken one is gone."""
    from yibao.store import db

    outpatient(WORKER, "310")
    [kept] = pg_only._yibao_held
    pid = _backend_pid(kept)
    with pg_only.connect() as admin:
        admin.execute(select(func.pg_terminate_backend(pid)))
        admin.commit()
    time.sleep(0.2)
    setl = outpatient(WORKER, "310")["setlinfo"]
    assert setl["setl_id"]
    assert all(not c.invalidated and _backend_pid(c) != pid for c in pg_only._yibao_held)
    assert len(pg_only._yibao_held) <= db.KEEP_CONNECTIONS


def test_a_connection_left_in_a_transaction_goes_back_to_the_pool(pg_only):
    from yibao.store import db

    db._release_held(pg_only)
    with pytest.raises(RuntimeError), facade_unit_of_work() as uow:
        uow.connection().execute(select(func.now()))
        raise RuntimeError("the handler failed")
    assert len(pg_only._yibao_held) == 1  # rolled back cleanly: kept
    [kept] = pg_only._yibao_held
    assert kept.connection.dbapi_connection.pgconn.transaction_status == 0


@pytest.mark.parametrize("path", ["facade", "orm"])
def test_registering_a_visit_does_not_wait_for_the_persons_settlement(engine, path):
    """The person is locked FOR NO KEY UPDATE while settling: a visit registered for them meanwhile (its
    foreign-key check takes KEY SHARE on the person) goes ahead instead of queueing behind the settlement."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL only")
    from sqlalchemy import text

    from yibao.store.tables import Person

    world.build(engine)
    with facade_unit_of_work() if path == "facade" else unit_of_work(engine) as holder:
        # (a settlement of WORKER in progress: the facade's read, or the ORM's)
        if path == "facade":
            assert holder.first(q.LOCK_PERSON(psn_no=WORKER)) is not None
        else:
            holder.execute(select(Person).where(Person.psn_no == WORKER).with_for_update(key_share=True))
        with engine.connect() as other:
            other.execute(text("SET lock_timeout = '2s'"))
            other.execute(text("SELECT 1 FROM person WHERE psn_no = :p FOR KEY SHARE"), {"p": WORKER})
            other.rollback()
