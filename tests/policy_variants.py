"""Policy variants for tests: the demo policy with a 2027 version that writes what a test needs, and
visits settled on it in turn (hand-computed amounts are the tests' own)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from tests.kernel_helpers import fee
from yibao.errors import PolicyError
from yibao.money import fmt_fen
from yibao.policy import load_region_policy
from yibao.policy.loader import load_policy_dir
from yibao.settlement import online
from yibao.settlement.inputs import Dated, PersonFacts, VisitRequest

REPO = Path(__file__).resolve().parents[1]
HEAD = 'inherits: "2026"\nversion: "2027"\ntitle: 示例 2027\neffective_from: 2027-01-01\n'
DAY = date(2027, 3, 1)


def bundle_with(tmp_path: Path, body: str):
    target = tmp_path / "990100" / "policy"
    shutil.copytree(REPO / "regions" / "990100" / "policy", target)
    (target / "2027.yaml").write_text(HEAD + body, encoding="utf-8")
    return load_region_policy(tmp_path / "990100")


def resident(*, chronic=(), idet=()) -> PersonFacts:
    """A 居民 (15) holding ``idet`` (codes, or Dated with a grade) and registered for ``chronic``."""
    return PersonFacts(
        insutype="390",
        psn_type="15",
        identities=[c if isinstance(c, Dated) else Dated(c) for c in idet],
        chronic=[Dated(c) for c in chronic],
    )


def settle_all(bundle, person, visits):
    """Settle visits in turn on one year's accumulators; the settlements and the accumulators after."""
    accum: dict[str, int] = {}
    out = []
    for v in visits:
        settled, accum, _ = online.settle(bundle, person, v, accum)
        out.append(settled)
    return out, accum


def visit(
    med_type: str, yuan: str, lv: int = 3, disease: str | None = None, psn_type=None, dx=()
) -> VisitRequest:
    """One 甲类 line of ``yuan`` on ``DAY``; ``dx`` the visit's diagnoses (dise_codg)."""
    return VisitRequest(
        med_type=med_type,
        begndate=DAY,
        fees=[fee(1, yuan)],
        hosp_lv=lv,
        opsp_dise_code=disease,
        psn_type=psn_type,
        diagnoses=list(dx),
    )


def paid(settled, field: str = "hifp_pay") -> str:
    return fmt_fen(settled.setlinfo[field])


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first ``old`` in a file (which must hold it) by ``new``."""
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def refused(policy_dir: Path) -> list[str]:
    """The lines of the error loading a (demo region's) policy folder gives."""
    with pytest.raises(PolicyError) as exc:
        load_policy_dir(policy_dir, "990100")
    return exc.value.message.splitlines()
