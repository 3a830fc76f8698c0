"""Random digits for platform identifiers (setl_id, mdtrt_id, inf_refmsgid, sign_no).

Identifiers must be hard to guess and, with the time they carry, practically unique (a clash is a
primary-key violation, and the facade retries its unit of work). They need no cryptographic strength:
an institution is authorised per visit, not by knowing an id. A Mersenne Twister seeded from the
operating system costs a fraction of ``secrets`` (a system call per draw), and is reseeded in every
forked process so that two server workers never draw the same sequence.
"""

from __future__ import annotations

import os
import random

_rng = random.Random()


def _reseed() -> None:
    _rng.seed(os.urandom(32))


_reseed()
os.register_at_fork(after_in_child=_reseed)


def digits(n: int) -> str:
    """``n`` random decimal digits (leading zeros kept)."""
    return f"{_rng.randrange(10**n):0{n}d}"
