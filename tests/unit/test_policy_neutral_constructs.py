"""The new constructs are mechanisms, not behaviour: the demo policy rewritten with disease groups that repeat
their class's terms and an account given to every person category settles every visit of random person-years
exactly as the demo policy does (setlinfo, setldetail and accumulators, to the fen)."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections import defaultdict
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from tests.kernel_helpers import demo_bundle, person_year
from yibao.policy import load_region_policy
from yibao.settlement import online

REPO = Path(__file__).resolve().parents[2]
GROUPS = (
    "\n      groups:\n"
    "        liangbing: {name: 两病, diseases: [M03900, M01600]}\n"
    "        other: {name: 其他, diseases: [M00500, M07801, M06900]}"
)


@cache
def rewritten():
    target = Path(tempfile.mkdtemp()) / "990100" / "policy"
    shutil.copytree(REPO / "regions" / "990100" / "policy", target)
    path = target / "2025.yaml"  # (2026 inherits it)
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(\n      disease_caps: \{[^}]*\})", r"\1" + GROUPS, text)
    text = text.replace(
        'account: {fund_pay_type: "310200"}', 'account: {fund_pay_type: "310200", psn_types: ["11", "12"]}'
    )
    assert text.count("liangbing") == 2 and 'psn_types: ["11", "12"]' in text
    path.write_text(text, encoding="utf-8")
    return load_region_policy(target.parent)


def settle_year(bundle, person, balance, visits):
    accums, out = defaultdict(dict), []
    for v in visits:
        key = (v.begndate.year, person.insutype)
        s, accums[key], balance = online.settle(bundle, person, v, accums[key], balance)
        out.append((s.setlinfo, s.setldetail_json()))
    return out, dict(accums), balance


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(person_year())
def test_groups_repeating_their_class_settle_as_the_class(case):
    person, balance, visits = case
    assert settle_year(rewritten(), person, balance, visits) == settle_year(
        demo_bundle(), person, balance, visits
    )
