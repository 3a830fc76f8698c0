"""Facade calls as greenlets on one event loop (yibao.store.cooperative): their database waits yield to the
loop, a call waiting on a row lock lets the holder finish, errors and cancellation unwind the call."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from sqlalchemy import text

from tests import world
from yibao.store import cooperative


@pytest.fixture
def pg(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("the cooperative waits are psycopg's: PostgreSQL only")
    with engine.begin() as c:
        c.execute(text("DROP TABLE IF EXISTS coop_probe"))
        c.execute(text("CREATE TABLE coop_probe (id int PRIMARY KEY, n int NOT NULL)"))
        c.execute(text("INSERT INTO coop_probe VALUES (1, 0)"))
    assert cooperative.enabled(engine)
    watchdog = threading.Timer(
        60, world.cancel_lock_waits, args=(engine,)
    )  # a regression fails, it does not hang
    watchdog.start()
    yield engine
    watchdog.cancel()
    with engine.begin() as c:
        c.execute(text("DROP TABLE coop_probe"))


def _ticks_during(coroutine_factory) -> tuple[int, object]:
    """How often a 5 ms ticker ran on the loop while the coroutine ran, and what it returned."""

    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        t = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        try:
            value = await coroutine_factory()
            return ticks, value
        finally:
            t.cancel()

    return asyncio.run(main())


def _sleep_on_the_database(engine) -> str:
    with engine.connect() as c:
        return c.execute(text("SELECT 'slept' FROM pg_sleep(0.3)")).scalar_one()


def test_a_database_wait_in_a_call_yields_to_the_loop(pg):
    ticks, value = _ticks_during(lambda: cooperative.run(_sleep_on_the_database, pg))
    assert value == "slept"
    assert ticks >= 20  # 300 ms of waiting: the loop ran the ticker meanwhile

    async def on_the_loop_itself():  # the same wait outside a facade greenlet blocks the loop (the control)
        return _sleep_on_the_database(pg)

    ticks, value = _ticks_during(on_the_loop_itself)
    assert value == "slept" and ticks <= 2


def test_a_call_waiting_for_a_row_lock_lets_the_holder_on_the_same_loop_commit(pg):
    order: list[str] = []

    def holder():
        with pg.begin() as c:
            c.execute(text("SELECT n FROM coop_probe WHERE id = 1 FOR UPDATE"))
            order.append("locked")
            c.execute(text("SELECT pg_sleep(0.2)"))  # the waiter starts while this is held
            c.execute(text("UPDATE coop_probe SET n = n + 1 WHERE id = 1"))
        order.append("holder committed")

    def waiter():
        t0 = time.perf_counter()
        with pg.begin() as c:
            n = c.execute(text("SELECT n FROM coop_probe WHERE id = 1 FOR UPDATE")).scalar_one()
            c.execute(text("UPDATE coop_probe SET n = n + 10 WHERE id = 1"))
        order.append("waiter committed")
        return n, time.perf_counter() - t0

    async def main():
        first = asyncio.ensure_future(cooperative.run(holder))
        while not order:  # the holder has its lock
            await asyncio.sleep(0.01)
        return await asyncio.gather(first, cooperative.run(waiter))

    _, (seen, waited) = asyncio.run(main())
    assert order == ["locked", "holder committed", "waiter committed"]
    assert seen == 1 and waited >= 0.1  # it waited for the holder's commit and read its write
    with pg.connect() as c:
        assert c.execute(text("SELECT n FROM coop_probe")).scalar_one() == 11


def test_an_error_in_a_call_is_raised_by_run_and_rolls_its_work_back(pg):
    def failing():
        with pg.begin() as c:
            c.execute(text("UPDATE coop_probe SET n = 99 WHERE id = 1"))
            c.execute(text("SELECT pg_sleep(0.05)"))
            raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        asyncio.run(cooperative.run(failing))
    with pg.connect() as c:
        assert c.execute(text("SELECT n FROM coop_probe")).scalar_one() == 0


def test_cancelling_a_call_unwinds_it_and_commits_nothing(pg):
    def long_call():
        with pg.begin() as c:
            c.execute(text("UPDATE coop_probe SET n = 5 WHERE id = 1"))
            c.execute(text("SELECT pg_sleep(0.5)"))

    async def main():
        task = asyncio.ensure_future(cooperative.run(long_call))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return await cooperative.run(_sleep_on_the_database, pg)  # the loop and the pool still serve calls

    assert asyncio.run(main()) == "slept"
    time.sleep(0.6)  # the abandoned statement ends on the server; its transaction never commits
    with pg.connect() as c:
        assert c.execute(text("SELECT n FROM coop_probe")).scalar_one() == 0


def test_with_the_database_down_calls_go_to_a_thread_until_it_answers():
    from yibao.store.db import make_engine

    down = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")  # nothing listens on port 1
    assert cooperative.enabled(down) is False  # the threaded path answers the HIS with the error envelope
    assert getattr(down, "_yibao_cooperative", None) is None  # asked again on the next call
    down.dispose()
