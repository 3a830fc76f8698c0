"""Random digits of platform identifiers: the length asked, leading zeros kept, and a forked worker
draws its own sequence (two server workers never mint the same ids)."""

from __future__ import annotations

import os

from yibao import ids


def test_digits_have_the_length_asked_and_vary():
    drawn = [ids.digits(8) for _ in range(2000)]
    assert all(len(d) == 8 and d.isdigit() for d in drawn)
    assert len(set(drawn)) > 1990
    assert any(d.startswith("0") for d in drawn)


def test_a_forked_process_draws_another_sequence():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its first draws and leave at once
        os.write(write, "".join(ids.digits(10) for _ in range(3)).encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 100).decode()
    os.waitpid(pid, 0)
    assert child != "".join(ids.digits(10) for _ in range(3))
