"""Building a DIP catalogue from history (payment-drg-dip.md §3.1, §3.3): the score worked example to the
digit, the 1 : 2 : 7 weighting, the core threshold and the comprehensive pools, trimming, exact money."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from yibao.money import Fen
from yibao.payment.cases import DrgCase
from yibao.payment.dip_build import (
    HistoryCase,
    build_catalogue,
    catalogue_rows,
    chapter_of,
    rounded,
    score_of,
    trim,
    weighted_mean,
)
from yibao.payment.dip_catalogue import DipParams
from yibao.payment.dip_history import read_history

WEIGHTS = [Fraction(1, 10), Fraction(2, 10), Fraction(7, 10)]
YEARS = (2023, 2024, 2025)
TYPES = {"51": "相关手术", "88": "诊断性操作", "99": "治疗性操作"}


def test_the_score_worked_example_to_the_digit():
    # group K80.1 + 51.2300: 0.1 × 14,800 + 0.2 × 15,200 + 0.7 × 15,600 = 1,480 + 3,040 + 10,920 = 15,440
    m = weighted_mean(
        {2023: Fraction(14_800), 2024: Fraction(15_200), 2025: Fraction(15_600)}, YEARS, WEIGHTS
    )
    # all cases: 0.1 × 9,800 + 0.2 × 10,100 + 0.7 × 10,400 = 980 + 2,020 + 7,280 = 10,280
    big_m = weighted_mean(
        {2023: Fraction(9_800), 2024: Fraction(10_100), 2025: Fraction(10_400)}, YEARS, WEIGHTS
    )
    assert (m, big_m) == (15_440, 10_280)
    assert rounded(m / big_m, 4) == Fraction("1.5019")  # RW = 1.501945…
    assert rounded(m / big_m * 1000, 4) == Fraction("1501.9455")  # × 1000 = 1,501.9455…
    assert score_of(m, big_m, 1000, 0) == 1502  # published as the integer score


def hc(dx: str, px: str, year: int, yuan: int) -> HistoryCase:
    case = DrgCase("h", 1, 50, 50 * 365, (dx,), tuple(p for p in px.split("|") if p))
    return HistoryCase(case, year, Fen(yuan * 100))


def params(**build) -> DipParams:
    return DipParams(build={"core_threshold": 3, "comprehensive_min": 2, "trim": "none", **build})


def test_the_worked_example_through_a_build():
    # one gallbladder case a year at the example's group means; a pneumonia case beside each makes the
    # yearly all-case means 9,800 / 10,100 / 10,400 (the other case: 4,800 / 5,000 / 5,200)
    history = [
        hc("K80.100x001", "51.2300", 2023, 14_800),
        hc("K80.100x002", "51.2300", 2024, 15_200),
        hc("K80.101", "51.2300", 2025, 15_600),
        hc("J18.900", "", 2023, 4_800),
        hc("J18.900", "", 2024, 5_000),
        hc("J18.900", "", 2025, 5_200),
    ]
    built = build_catalogue(history, TYPES, params())
    assert built.all_mean == 10_280 * 100  # fen
    rows = {r[0]: r for r in catalogue_rows(built)[1:]}
    assert rows["K80.1-01"][1:7] == ["core", "K80.1", "51.2300", "", "1502", "1.5019"]
    # J18.9: 0.1 × 4,800 + 0.2 × 5,000 + 0.7 × 5,200 = 5,120; 5,120 / 10,280 = 0.498054… → 498
    assert rows["J18.9-00"][1:7] == ["core", "J18.9", "", "", "498", "0.4981"]


def test_core_threshold_and_comprehensive_pools():
    history = [hc("K80.100", "51.2300", y, 10_000) for y in YEARS]  # 3 cases: core
    history += [
        hc("K80.200", "51.2200", 2023, 20_000),
        hc("K80.300", "51.2100", 2025, 24_000),
    ]  # K80 × 相关手术
    history += [hc("K81.000", "88.0100", 2024, 3_000)]  # alone in K81 × 诊断性操作: into the chapter K00-K93
    history += [hc("K80.200", "51.2200|88.0100", 2025, 30_000)]  # its own combination, K80 × 相关手术
    built = build_catalogue(history, TYPES, params(basic=["K80.1:51.2300"]))
    rows = {r[0]: [*r[1:5], r[7]] for r in catalogue_rows(built)[1:]}
    assert rows == {
        "K80.1-01": ["basic", "K80.1", "51.2300", "", "3"],
        "K80-Z4": ["comprehensive", "K80", "", "相关手术", "3"],
        "K00-K93-Z2": ["comprehensive", "K00-K93", "", "诊断性操作", "1"],
    }
    assert built.core_cases == 3 and built.cases == 7
    assert chapter_of("S72") == "S00-T98" and chapter_of("D60") == "D50-D89"


def test_a_year_without_cases_drops_out_and_the_weights_are_rescaled():
    # only 2024 and 2025: (0.2 × 9,000 + 0.7 × 18,000) / 0.9 = 16,000
    assert weighted_mean({2024: Fraction(9_000), 2025: Fraction(18_000)}, YEARS, WEIGHTS) == 16_000


def test_trim_leaves_out_cases_beyond_three_standard_deviations():
    def kept(costs, rule="sd3"):
        return [c.cost // 100 for c in trim([hc("K80.100", "", 2025, x) for x in costs], rule)]

    costs = [10_000] * 5 + [10_200] * 5 + [1_000_000]
    assert kept(costs) == costs[:10]
    spread = [5_000, 8_000, 10_000, 12_000, 15_000] * 2 + [30_000]  # 30,000 is within 3 SD of this group
    assert kept(spread) == spread
    assert kept(costs, "none") == costs


def test_history_needs_exactly_three_years():
    with pytest.raises(ValueError, match="应恰好有 3 个年度，实有 2"):
        build_catalogue([hc("K80.100", "", 2024, 1), hc("K80.100", "", 2025, 1)], TYPES, params())
    with pytest.raises(ValueError, match="和为 1"):
        build_catalogue([], TYPES, params(history_weights=["0.1", "0.2", "0.6"]))


def test_history_rows_are_refused_with_line_and_reason(tmp_path: Path):
    path = tmp_path / "history.csv"
    path.write_text(
        "case_id,gend,age,age_days,weight_g,los,dscg_way,diagnoses,procedures,year,cost\n"
        "a,1,50,18260,,5,1,K80.100,51.2300,2025,15600.00\n"
        "b,1,50,18260,,5,1,K80.100,51.2300,2025,15600.005\n"
        "c,1,50,18260,,5,1,K80.100,51.2300,2025,0\n"
        "d,1,50,18260,,5,1,K80,51.2300,2025,100\n"
        "e,1,50,18260,,5,1,K80.100,51.2300,20x5,100\n",
        encoding="utf-8",
    )
    cases, refused = read_history(path)
    assert [c.cost for c in cases] == [1_560_000]  # fen, exact
    assert [line for line, _ in refused] == [3, 4, 5, 6]
    assert refused[0][1] == '医疗费总额: "15600.005" 小数位超过 2 位 (more than 2 decimals)'
    assert refused[1][1] == "医疗费总额应大于 0: 0"
    assert refused[2][1] == "主要诊断编码格式错误: K80"
    assert refused[3][1].startswith("年度不是数字")


def test_auxiliary_subtypes_from_the_history():
    from yibao.payment.dip_aux import parse_cci
    from yibao.payment.dip_subtypes import derive_aux, parse_template

    def case(dx, year, yuan, age=50):
        hcase = hc(dx, "51.2300", year, yuan)
        return hcase._replace(
            case=hcase.case.__class__("h", 1, age, age * 365, tuple(dx.split("|")), ("51.2300",))
        )

    history = []
    for year in YEARS:  # per year: two plain cases at 10,000, two with heart failure (CCI 1) at 12,000
        history += [case("K80.100", year, 10_000), case("K80.100", year, 10_000)]
        history += [case("K80.100|I50.900", year, 12_000), case("K80.100|I50.900", year, 12_000)]
    history += [case("K80.100", 2025, 9_000, age=85)]  # one case of 80 or more: too few for a subtype
    cci = parse_cci("dip_cci.csv", [(2, {"prefix": "I50", "weight": "1", "family": "chf"})])
    template = parse_template(
        "t.csv",
        [
            (2, {"dimension": "cci", "subtype": "CCI≥1", "condition": "cci>=1"}),
            (3, {"dimension": "cci", "subtype": "CCI 0", "condition": "cci<1"}),  # cheaper: left out
            (4, {"dimension": "age", "subtype": "80+", "condition": "age>=80"}),
        ],
        has_cci=True,
    )
    built = build_catalogue(history, TYPES, params(aux_min_cases=3))
    # group, 2025: (2 × 10,000 + 2 × 12,000 + 9,000) / 5 = 10,600; 2023, 2024: 11,000
    # group mean 0.1 × 11,000 + 0.2 × 11,000 + 0.7 × 10,600 = 10,720; subtype 12,000 → 1.119402… → 1.1194
    assert derive_aux(built, template, cci) == [
        ["dip_code", "dimension", "subtype", "condition", "coefficient", "cases"],
        ["K80.1-01", "cci", "CCI≥1", "cci>=1", "1.1194", "6"],
    ]
