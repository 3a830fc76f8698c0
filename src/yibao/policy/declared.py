"""The arrays of a compiled policy (政策包), each declared once with the named axes it spans.

``ARRAYS`` states every array's shape by its axes (``bundle.Axes``), its type and its value where the policy
says nothing; ``FUND_PAY_TYPES`` does the same for the fund_pay_type codes of the setldetail rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yibao.policy.bundle import INF


@dataclass(frozen=True)
class Declared:
    """One array of the bundle: the axes it spans, its type, and its value where the policy says nothing."""

    axes: tuple[str, ...]
    dtype: type = np.int64
    fill: int = 0


_VI = ("version", "insutype")
_VIC = (*_VI, "benefit_class")
_VA = ("version", "assistance")

ARRAYS: dict[str, Declared] = {
    # benefit classes (待遇类别); the axis holds the classes, then the disease groups' rows (``class/group``)
    "class_defined": Declared(_VIC, bool),  # the insutype has the class (its visits are refused otherwise)
    "requires_disease": Declared(("version", "benefit_class"), bool),  # 门诊慢特病: the visit names a disease
    "class_disease_ok": Declared(
        ("version", "benefit_class", "disease"), bool
    ),  # the class accepts the disease
    "class_parent": Declared(("benefit_class",)),  # a group row's class (a class: itself)
    "group_row": Declared(
        (*_VIC, "disease"), fill=-1
    ),  # the row of the disease's group in the class, -1: none
    # 3.1 basic pool (统筹): deductible, ratio, the class's annual cap, the disease's annual cap
    "pool_on": Declared(_VIC, bool),
    "dedc_kind": Declared(_VIC),  # DEDC_NONE / DEDC_ANNUAL / DEDC_PER_ADMISSION
    "dedc_amt": Declared((*_VIC, "category", "level")),
    "dedc_rep": Declared(_VIC),  # per admission: the factor from the 2nd admission of the year (bp)
    "dedc_row": Declared(
        _VIC
    ),  # the row whose deductible and admissions are counted (a shared group: its class)
    "ratio": Declared((*_VIC, "category", "level")),  # bp
    "cap_group": Declared(_VIC, fill=-1),  # the annual cap the class's pool pay counts under, -1: unlimited
    "cap_amt": Declared((*_VI, "cap_group", "category"), fill=INF),
    "dis_cap": Declared((*_VIC, "disease"), fill=INF),  # where it is written: per class
    # 3.4 personal account (个人账户)
    "acct_on": Declared((*_VI, "category"), bool),  # the person category has an account
    "pay_first": Declared(
        (*_VI, "category"), bool
    ),  # 先付费后报销: funds pay at the claim, not at the institution
    # 3.2 大额医疗费用补助
    "le_on": Declared(_VIC, bool),
    "le_ratio": Declared(_VI),
    "le_cap": Declared(_VI, fill=INF),
    # 3.2 大病保险: segments over the year's cumulative base, ordinary terms or the tilt
    "ci_on": Declared((*_VI, "tilt", "benefit_class"), bool),  # a tilt may add classes to the base
    "ci_tilt_mask": Declared((*_VI, "tilt")),  # the identities (bits) that get each tilt (tilt 0: none)
    "ci_dedc": Declared((*_VI, "tilt")),
    "ci_upto": Declared((*_VI, "segment"), fill=INF),
    "ci_ratio": Declared((*_VI, "tilt", "segment")),
    "ci_cap": Declared((*_VI, "tilt"), fill=INF),
    # 3.3 惠民保
    "sp_on": Declared(_VIC, bool),
    "sp_tilt_mask": Declared(("version",)),
    "sp_dedc": Declared(("version", "tilt")),
    "sp_ratio": Declared(("version", "tilt")),
    "sp_cap": Declared(("version", "tilt"), fill=INF),
    # 3.3 医疗救助, by category (psn_idet_type)
    "as_on": Declared(_VIC, bool),
    "as_bit": Declared(_VA),  # the category's identity bits (or its graded identity's) in a condition mask
    "as_dx": Declared(_VA),  # its diagnosis-list bit (0: any diagnosis)
    "as_burden": Declared(_VA, fill=INF),  # the annual burden cap (负担封顶)
    "as_defined": Declared(_VA, bool),
    "as_ratio": Declared(_VA),
    "as_annual": Declared(_VA, fill=INF),
    "as_class_lim": Declared((*_VA, "benefit_class"), fill=INF),
}

# fund_pay_type codes of the setldetail rows, by the axes they vary along (None: the fund does not exist)
FUND_PAY_TYPES: dict[str, tuple[str, ...]] = {
    "pool_fpt": _VI,
    "acct_fpt": _VI,
    "le_fpt": _VI,
    "ci_fpt": _VI,
    "sp_fpt": ("version",),
    "as_fpt": ("version",),
}
