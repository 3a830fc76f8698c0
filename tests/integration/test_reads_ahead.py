"""Reads ahead (PostgreSQL): the reads a hot call will make that need only its message — the service's own
declared list of them — travel with the authentication's round trip, and answer exactly what the call would
have read itself. Without them, a service's reads still travel together, in one round trip per step."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import bindparam, select, text

from tests import world
from tests.world import HOSP2, PHARMACY, RESIDENT, WORKER, line
from yibao.api import fsi
from yibao.store import wire
from yibao.store.db import facade_unit_of_work
from yibao.store.statements import Query, Write
from yibao.store.tables import MessageLog
from yibao.store.uow import PrefetchFailed

_n = iter(range(1, 10**9))
_MSG = MessageLog.__table__
_BY_MSGID = Query("by_msgid", select(_MSG.c.msgid, _MSG.c.infno).where(_MSG.c.msgid == bindparam("msgid")))
_ONE = Query("one", select(text("1 AS one")))
_BOOM = Query("boom", select(text("1 / 0 AS boom")))
_INSERT = Write.insert(
    "insert_message",
    _MSG,
    ("msgid", "infno", "fixmedins_code", "request_digest", "infcode", "response", "received_at"),
)


@pytest.fixture
def pg_engine(engine, monkeypatch):
    if engine.dialect.name != "postgresql":
        pytest.skip("reads ahead travel in libpq pipelines: PostgreSQL only")
    world.build(engine)
    monkeypatch.setattr(fsi, "_SIGNED_BY", {})
    ok("9001", {})  # (reads ahead go with requests signed as the client's last authenticated one)
    return engine


@pytest.fixture
def round_trips(monkeypatch):
    """The bursts (round trips) the facade sends, in order: how many reads each carried."""
    sent: list[int] = []
    real = wire.execute_reads

    def counting(conn, writes, reads, **kw):
        sent.append(len(reads))
        return real(conn, writes, reads, **kw)

    monkeypatch.setattr(wire, "execute_reads", counting)
    return sent


def ok(infno: str, input_: dict) -> dict:
    reply = world.call_in_process(infno, input_, f"AHEAD{next(_n):010d}", HOSP2)
    assert reply["infcode"] == 0, f"{infno}: {reply['err_msg']}"
    return reply["output"]


def visit_with_fees(psn: str, ins: str) -> str:
    mdtrt = ok("2201", {"data": {"psn_no": psn, "insutype": ins, "begntime": "2025-03-01 09:00:00"}})["data"][
        "mdtrt_id"
    ]
    ok(
        "2204",
        {"feedetail": [line("1", "A1", "60.00", mdtrt_id=mdtrt), line("2", "B1", "10.00", mdtrt_id=mdtrt)]},
    )
    return mdtrt


def settle(infno: str, psn: str, ins: str, mdtrt: str) -> dict:
    data = {
        "psn_no": psn,
        "mdtrt_id": mdtrt,
        "medfee_sumamt": "70.00",
        "insutype": ins,
        "acct_used_flag": "1",
    }
    setl = ok(infno, {"data": data})["setlinfo"]
    return {k: v for k, v in setl.items() if k not in ("setl_id", "setl_time", "medins_setl_id")}


def test_each_hot_call_reads_in_the_authentications_round_trip(pg_engine, round_trips, monkeypatch):
    def trips(fn, *args):
        before = len(round_trips)
        fn(*args)
        return len(round_trips) - before

    # 2201: auth + agreement + enrollments, then the writes and COMMIT; 2204: auth + visit + catalogue, then
    # the writes; 2207: auth + agreement + person + visit + lines + state, then the writes
    mdtrt = []
    assert trips(lambda: mdtrt.append(visit_with_fees(WORKER, "310"))) == 2 + 2
    assert trips(settle, "2207", WORKER, "310", mdtrt[0]) == 2
    monkeypatch.setattr(fsi, "AHEAD", {})  # each step's reads together, after the authentication
    assert trips(lambda: mdtrt.append(visit_with_fees(WORKER, "310"))) == 3 + 3
    assert trips(settle, "2207", WORKER, "310", mdtrt[1]) == 3


@pytest.mark.parametrize(("psn", "ins"), [(WORKER, "310"), (RESIDENT, "390")])
def test_the_split_read_ahead_equals_the_split_read_in_turn(pg_engine, monkeypatch, psn, ins):
    mdtrt = visit_with_fees(psn, ins)
    ok("2207", {"data": {"psn_no": psn, "mdtrt_id": visit_with_fees(psn, ins), "medfee_sumamt": "70.00"}})
    ahead = settle("2206", psn, ins, mdtrt)  # (on accumulators and an account balance already used)
    with monkeypatch.context() as m:
        m.setattr(fsi, "AHEAD", {})
        in_turn = settle("2206", psn, ins, mdtrt)
    assert ahead == in_turn
    assert settle("2207", psn, ins, mdtrt) == ahead


def test_only_a_request_signed_as_before_reads_ahead(pg_engine, round_trips):
    """A forged or unsigned request never takes the row locks a read ahead would: it is refused on the
    authentication's own read. A client this process has not yet authenticated reads in turn."""
    data = {"data": {"psn_no": RESIDENT, "insutype": "390", "begntime": "2025-03-01 09:00:00"}}
    forged = world.call_in_process("2201", data, f"AHEAD{next(_n):010d}", HOSP2, secret="not-the-secret")
    assert forged["infcode"] == -1 and "签名错误" in forged["err_msg"]
    assert round_trips == [1]
    assert fsi._SIGNED_BY == {}  # (a refusal forgets the client until it authenticates again)
    ok("2201", data)
    assert round_trips[1:] == [
        1,
        2,
        0,
    ]  # (authentication, then the agreement and enrollments, then the writes)
    ok("2201", data)
    assert round_trips[4:] == [3, 0]  # (the agreement and enrollments read ahead)


def test_a_failing_read_ahead_runs_the_call_again_without_it(pg_engine, round_trips, monkeypatch):
    monkeypatch.setitem(fsi.AHEAD, "2201", lambda inp, code: {"boom": _BOOM()})
    mdtrt = ok("2201", {"data": {"psn_no": RESIDENT, "insutype": "390", "begntime": "2025-03-01 09:00:00"}})
    assert mdtrt["data"]["mdtrt_id"]
    assert len(round_trips) == 1 + 3  # the failed burst, then the call as without reads ahead


def test_a_read_ahead_answers_only_its_own_parameters_and_not_after_a_write(pg_engine, round_trips):
    row = {
        "msgid": "AHEAD-W-1",
        "infno": "9001",
        "fixmedins_code": HOSP2,
        "request_digest": "d",
        "infcode": 0,
        "response": "{}",
        "received_at": datetime(2025, 3, 1),
    }
    with pytest.raises(RuntimeError), facade_unit_of_work() as uow:
        uow.ahead({"w1": _BY_MSGID(msgid="AHEAD-W-1"), "w2": _BY_MSGID(msgid="AHEAD-W-2")})
        assert uow.first(_ONE()).one == 1 and len(round_trips) == 1
        assert uow.read(_BY_MSGID(msgid="AHEAD-W-2")) == [] and len(round_trips) == 1  # fetched ahead
        assert uow.read(_BY_MSGID(msgid="AHEAD-W-3")) == [] and len(round_trips) == 2  # not declared
        uow.write(_INSERT, row)
        assert uow.first(_BY_MSGID(msgid="AHEAD-W-1")).infno == "9001"  # read again, after the write
        assert len(round_trips) == 3
        raise RuntimeError("leave nothing behind")


@pytest.mark.parametrize("use", ["connection", "orm"])
def test_direct_or_orm_use_drops_what_was_read_ahead(pg_engine, round_trips, use):
    with pytest.raises(RuntimeError), facade_unit_of_work() as uow:
        uow.ahead({"d1": _BY_MSGID(msgid="AHEAD-D-1")})
        uow.first(_ONE())
        if use == "connection":
            uow.connection().exec_driver_sql("SELECT 1")
        else:
            uow.session.get(MessageLog, "AHEAD-D-0")
        before = len(round_trips)
        assert uow.read(_BY_MSGID(msgid="AHEAD-D-1")) == []
        assert len(round_trips) == before + 1  # (sent again, not answered from what was read ahead)
        raise RuntimeError("leave nothing behind")


def test_the_unit_of_work_rolls_back_when_a_burst_with_reads_ahead_fails(pg_engine):
    with pytest.raises(PrefetchFailed), facade_unit_of_work() as uow:
        uow.ahead({"boom": _BOOM()})
        uow.first(_ONE())
    with facade_unit_of_work() as uow:  # the pool's connection is usable again
        assert uow.first(_ONE()).one == 1


def test_a_pharmacy_settlement_reads_each_step_with_the_last_steps_writes(
    pg_engine, round_trips, monkeypatch
):
    """2102 registers, uploads and settles in one unit of work: the agreement and enrollment travel with the
    authentication, the upload's reads with the visit's insert, the settlement's with the lines' insert — four
    round trips — and it settles exactly as without reads ahead (five)."""
    drugs = {
        "data": {"psn_no": WORKER, "insutype": "310", "medfee_sumamt": "50.00", "acct_used_flag": "1"},
        "drugdetail": [line("1", "A1", "30.00"), line("2", "B1", "20.00")],
    }

    def pharmacy(infno: str, input_: dict) -> dict:
        reply = world.call_in_process(infno, input_, f"AHEAD{next(_n):010d}", PHARMACY)
        assert reply["infcode"] == 0, f"{infno}: {reply['err_msg']}"
        return reply["output"]["setlinfo"]

    def amounts(setl: dict) -> dict:
        return {
            k: v for k, v in setl.items() if k not in ("setl_id", "setl_time", "medins_setl_id", "mdtrt_id")
        }

    with monkeypatch.context() as m:
        m.setattr(fsi, "AHEAD", {})
        in_turn = pharmacy("2102", drugs)
    assert len(round_trips) == 5
    pharmacy("2103", {"data": {"setl_id": in_turn["setl_id"], "psn_no": WORKER}})  # (the year as it was)
    round_trips.clear()
    ahead = pharmacy("2102", drugs)
    assert round_trips == [3, 2, 5, 0]
    assert amounts(ahead) == amounts(in_turn)
    assert ahead["acct_pay"] != "0.00"
