"""The settlement path's named structure (issue 25): arrays declared with their axes, the kernel's records
and the reply mapping naming the same funds, and a kernel that touches no database."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from tests.kernel_helpers import demo_bundle, fee
from yibao.funds.ledger import FUND_FIELDS
from yibao.policy import load_region_policy
from yibao.policy.compiler import ARRAYS, FUND_PAY_TYPES
from yibao.settlement import online
from yibao.settlement.batch import batch_from_requests, run_batch
from yibao.settlement.inputs import Dated, PersonFacts, VisitRequest
from yibao.settlement.result import SETLINFO_ORDER
from yibao.settlement.state import AccumState
from yibao.settlement.tiers import FUNDS, INCREMENT, chain_columns

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "yibao"


@pytest.mark.parametrize("region", ["regions/990100", "tests/fixtures/regions/990199"])
def test_every_array_has_the_shape_its_axes_declare(region):
    b = load_region_policy(REPO / region)
    assert set(b.arrays) == set(ARRAYS)
    for name, declared in ARRAYS.items():
        arr = b.arrays[name]
        assert arr.shape == b.axes.shape(declared.axes), name
        assert arr.dtype == np.dtype(declared.dtype), name
        assert not arr.flags.writeable, name
    for name, axes in FUND_PAY_TYPES.items():
        rows = b.names[name]
        assert len(rows) == b.axes.version
        if "insutype" in axes:
            assert all(len(row) == b.axes.insutype for row in rows), name


def _a_year():
    person = PersonFacts("390", "15", [Dated("2303")], [], {2025})
    visits = [
        VisitRequest("21", date(2025, 3, 1), [fee(1, "60000.00")], hosp_lv=3),
        VisitRequest("11", date(2025, 4, 1), [fee(1, "300.00")], hosp_lv=1),
    ]
    return person, visits


def test_the_kernel_records_are_the_funds_of_the_reply_mapping():
    """The kernel returns one record per fund of ``tiers.FUNDS``, in chain order, online and in a batch."""
    b = demo_bundle()
    person, visits = _a_year()
    res = run_batch(b, batch_from_requests(b, [person], [0], [(0, v) for v in visits]))
    assert list(res.out.funds) == [f.tier for f in FUNDS]
    paid = {f.setlinfo: int(res.out.funds[f.tier].pay.sum()) for f in FUNDS}
    assert paid["hifp_pay"] > 0 and paid["hifmi_pay"] > 0 and paid["maf_pay"] > 0  # the case reaches them
    settled, _, _ = online.settle(b, person, visits[0], {})
    assert settled.setlinfo == res.setlinfo(0)


def test_the_reply_mapping_fills_national_fields_the_ledger_counts():
    """Every fund pays a national setlinfo field that the ledger posts as a fund payment; the chain fills each
    field once; with the split sums and the unpaid national funds they are exactly setlinfo."""
    assert {f.setlinfo for f in FUNDS} <= set(FUND_FIELDS)
    assert len({f.tier for f in FUNDS}) == len(FUNDS) and FUNDS[0].tier == "pool"
    for f in FUNDS:
        assert f.fund_pay_type in FUND_PAY_TYPES
        assert set(f.accumulates) <= set(INCREMENT)
    b = demo_bundle()
    person, visits = _a_year()
    res = run_batch(b, batch_from_requests(b, [person], [0], [(0, v) for v in visits]))
    cols = chain_columns(res.out)
    assert not set(cols) & set(res.sums)
    assert set(cols) | set(res.sums) <= set(SETLINFO_ORDER)
    assert list(res.setlinfo(0)) == list(SETLINFO_ORDER)


def test_each_tier_has_the_accumulators_the_mapping_declares():
    b = demo_bundle()
    st = AccumState.zeros(b, 1)
    names = {f"{f.tier}:{what}": 1 for f in FUNDS for what in f.accumulates}
    names.update({f"{f.tier}:{c}": 1 for f in FUNDS if f.by_class for c in b.classes})
    st.load_slot(b, names)
    assert st.slot_values(b) == names
    with pytest.raises(KeyError):
        st.load_slot(b, {"large_expense:base": 1})  # not declared: refused, never silently lost


KERNEL_MODULES = [
    "settlement/kernel.py",
    "settlement/arrays.py",
    "settlement/tiers.py",
    "settlement/state.py",
    "settlement/lines.py",
    "settlement/result.py",
    "policy/bundle.py",
    "policy/compiler.py",
    "policy/explain.py",
]


@pytest.mark.parametrize("module", KERNEL_MODULES)
def test_the_kernel_and_the_compiler_touch_no_database(module):
    """A boundary contract (style 1): the calculations import nothing from the store, the API, the console or
    the settings, and no SQL library."""
    imported = set()
    for node in ast.walk(ast.parse((SRC / module).read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    assert not {
        m for m in imported if m.split(".")[:2] in (["yibao", x] for x in ("store", "api", "console"))
    }
    assert "yibao.config" not in imported and "sqlalchemy" not in {m.split(".")[0] for m in imported}
