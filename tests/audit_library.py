"""What the smart-audit tests share: small rule libraries written as files (one that hits the demo year with
every kind that reads more than one line, one with a test set per rule), and the demo region's settled year
in the database, built by the generator without the region's own rule files (their rules are another test's
business)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import yaml
from sqlalchemy import select

from tests.kernel_helpers import demo_bundle
from yibao.ingest.region import load_region
from yibao.store.db import unit_of_work
from yibao.store.tables import Institution, Settlement, Visit
from yibao.synth.build import build
from yibao.synth.params import Params

REPO = Path(__file__).resolve().parents[1]

# Rules tuned to hit the demo year (codes of the demo catalogue); every kind with a history or a group of
# lines, the period-only ratio indicator, and one exemption. Codes are quoted: YAML reads 001… as octal.
HITTING = """
rules:
  - {rule_code: T-READMIT, name: 分解住院, kind: readmission, result_type: 可疑, sev_deg: "2",
     effective_from: 2020-01-01, params: {window_days: 60, dx_len: 1, same_institution: "no"}}
  - {rule_code: T-FREQ-M, name: 频繁门诊, kind: visit_frequency, result_type: 可疑, sev_deg: "3",
     effective_from: 2020-01-01, params: {max_visits: 2, period: month}, knowledge: [{med_type: "1"}]}
  - {rule_code: T-FREQ-Y, name: 频繁购药, kind: visit_frequency, result_type: 可疑, sev_deg: "3",
     effective_from: 2020-01-01, params: {max_visits: 3, period: year}, knowledge: [{med_type: "41"}]}
  - rule_code: T-CYCLE
    name: 周期超频次
    kind: cycle_frequency
    result_type: 违规
    effective_from: 2020-01-01
    knowledge:
      - {code: "001102000010000", cycle_days: 30, max_in_cycle: 1}
      - {code: "T000160744", cycle_days: 60, max_in_cycle: 1}
  - {rule_code: T-DURING, name: 住院期间门诊, kind: visit_during_stay, result_type: 违规, effective_from: 2020-01-01}
  - {rule_code: T-OVERLAP, name: 同时住院, kind: stay_overlap, result_type: 违规, effective_from: 2020-01-01}
  - rule_code: T-SEX
    name: 限女性使用
    kind: sex_limit
    result_type: 违规
    effective_from: 2020-01-01
    legal_basis: 《医疗保障基金使用监督管理条例》第十五条
    knowledge: [{code: "001102000030000", gend: "2", source_batch: "2025-1"}]
    exemptions: [{field: med_type, value: "14", reason: 门诊慢特病}]
  - {rule_code: T-AGE, name: 限成人, kind: age_limit, result_type: 违规, effective_from: 2020-01-01,
     knowledge: [{code: XJ01CEQ024B002128707931, min_age: 18}]}
  - {rule_code: T-LEVEL, name: 限三级, kind: level_limit, result_type: 违规, effective_from: 2020-01-01,
     knowledge: [{code: XC03CAF017B001564864650, min_grade: 3}]}
  - {rule_code: T-IND, name: 限适应症, kind: indication, result_type: 违规, effective_from: 2020-01-01,
     knowledge: [{code: XJ01CEQ024B002128707931, dise_prefix: J}, {code: XJ01CEQ024B002128707931, dise_prefix: N3}]}
  - {rule_code: T-PAIR, name: 重复收费, kind: pair_conflict, result_type: 违规, effective_from: 2020-01-01,
     knowledge: [{code: "T000130392", with_code: "T000160744", scope: visit}]}
  - {rule_code: T-PRICE, name: 超限价, kind: price_cap, result_type: 违规, effective_from: 2020-01-01,
     knowledge: [{code: "001102000020000", max_pric: "1.00", inst_grade: 3},
                 {code: "001102000050000", max_pric: "2.00"}]}
  - {rule_code: T-QTY, name: 护理超量, kind: max_quantity, result_type: 违规, effective_from: 2020-01-01,
     knowledge: [{code: "001201000030000", max_cnt: "10", period: visit}]}
  - {rule_code: T-BED, name: 床日超住院天数, kind: bed_days, result_type: 违规, effective_from: 2020-01-01,
     knowledge: [{code: "001109000030000"}]}
  - {rule_code: T-IDLE, name: 挂床住院, kind: idle_stay, result_type: 可疑, sev_deg: "2",
     effective_from: 2020-01-01, params: {min_days: 3},
     knowledge: [{chrgitm_type: "01"}, {chrgitm_type: "07"}, {chrgitm_type: "12"}]}
  - {rule_code: T-EXAM, name: 无指征住院, kind: exam_dominated_stay, result_type: 可疑, sev_deg: "3",
     effective_from: 2020-01-01, params: {min_share_bp: "0.3", max_los: 30},
     knowledge: [{chrgitm_type: "03"}, {chrgitm_type: "04"}]}
  - {rule_code: T-VARIETY, name: 药品种类超标, kind: drug_variety, result_type: 可疑, sev_deg: "3",
     effective_from: 2020-01-01, params: {max_drugs: 3}}
  - {rule_code: T-DXAGE, name: 诊断与年龄不符, kind: diagnosis_age, result_type: 可疑, sev_deg: "3",
     effective_from: 2020-01-01, knowledge: [{dise_prefix: J0, min_age: 0, max_age: 14}]}
  - {rule_code: T-OUTSIDE, name: 计费日期与住院时间不符, kind: fee_outside_stay, result_type: 违规,
     effective_from: 2020-01-01}
  - {rule_code: T-DEATH, name: 死亡后就医, kind: after_death, result_type: 违规, effective_from: 2020-01-01}
  - {rule_code: T-RATIO, name: 药费占比, kind: ratio_indicator, result_type: 可疑, sev_deg: "3", stages: [post],
     effective_from: 2020-01-01, params: {pct: "0.5", min_visits: 1}, knowledge: [{chrgitm_type: "09"}]}
"""

# Two rules with a test set each (hit, miss, exempt), for ``yibao rules check``.
CHECKED = """
rules:
  - rule_code: C-SEX
    name: 限女性使用
    kind: sex_limit
    class_l1: 政策类
    class_l2: 医疗服务项目政策限定
    result_type: 违规
    effective_from: 2020-01-01
    knowledge: knowledge.csv
    exemptions: [{field: fixmedins_code, value: H99010100009, reason: 妇幼专科}]
    tests:
      - {name: 男性使用, expect: hit, lines: ["1"], person: {gend: "1"},
         visits: [{id: V1, lines: [[1, XF001, 1, "12.50"]]}]}
      - {name: 女性使用, expect: miss, person: {gend: "2"}, visits: [{id: V1, lines: [[1, XF001, 1, "12.50"]]}]}
      - {name: 专科豁免, expect: exempt, person: {gend: "1"},
         visits: [{id: V1, fixmedins_code: H99010100009, lines: [[1, XF001, 1, "12.50"]]}]}
  - rule_code: C-FREQ
    name: 频繁门诊
    kind: visit_frequency
    class_l1: 管理类
    result_type: 可疑
    sev_deg: "3"
    effective_from: 2020-01-01
    params: {max_visits: 1, period: month}
    knowledge: [{med_type: "1"}]
    tests:
      - {name: 同月第二次, expect: hit, visits: [{id: V1, begn: 2025-03-01 09:00}, {id: V2, begn: 2025-03-09 09:00}]}
      - {name: 隔月, expect: miss, visits: [{id: V1, begn: 2025-02-27 09:00}, {id: V2, begn: 2025-03-09 09:00}]}
"""
CHECKED_KNOWLEDGE = "rule_code,code,gend,source_batch\nC-SEX,XF001,2,2025-1\nC-SEX,XF002,2,2025-1\n"


def write_library(folder: Path, text: str, files: dict[str, str] | None = None) -> Path:
    """The rules ``text`` as ``folder/rules.yaml`` with ``files`` beside it; the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules.yaml").write_text(text, encoding="utf-8")
    for name, content in (files or {}).items():
        (folder / name).write_text(content, encoding="utf-8")
    return folder


def regions_without_rules(tmp: Path) -> Path:
    """A regions folder like the repository's, 990100 without its ``rules/`` (links, not copies)."""
    root = tmp / "regions"
    (root / "990100").mkdir(parents=True)
    (root / "000000").symlink_to(REPO / "regions" / "000000")
    for entry in (REPO / "regions" / "990100").iterdir():
        if entry.name != "rules":
            (root / "990100" / entry.name).symlink_to(entry)
    return root


def demo_year(engine, tmp: Path, persons: int = 500, seed: int = 7) -> None:
    """The demo region and a generated, settled year (2025) of ``persons``."""
    regions = regions_without_rules(tmp)
    load_region(engine, "990100", regions)
    spec = yaml.safe_load((regions / "990100" / "region.yaml").read_text(encoding="utf-8"))
    districts = [(d["admdvs"], d["population"]) for d in spec["districts"]]
    build(engine, demo_bundle(), Params(persons=persons, seed=seed), admdvs="990100", districts=districts)


def plant_history(engine, first: date, last: date) -> dict[str, str]:
    """Visits in the history of the period's visits that make its history rules hit (the generator leaves
    few): a stay discharged ten days before one of the period's admissions (分解住院), a stay not yet
    settled around one of its outpatient visits (住院期间门诊), a stay still open elsewhere when one of its
    admissions begins (同时住院). The rule code → the period's visit it must find."""
    start, end = datetime.combine(first, time()), datetime.combine(last + timedelta(days=1), time())
    with unit_of_work(engine) as s:
        settled = (
            select(Visit)
            .join(Settlement, Settlement.mdtrt_id == Visit.mdtrt_id)
            .where(
                Settlement.setl_time >= start, Settlement.setl_time < end, Settlement.refd_setl_flag == "0"
            )
            .order_by(Visit.mdtrt_id)
        )
        stays = list(s.scalars(settled.where(Visit.med_type == "21")).unique())
        outpatient = s.scalars(settled.where(Visit.med_type == "11")).first()
        elsewhere = s.scalars(
            select(Institution.fixmedins_code)
            .where(Institution.fixmedins_type == "1")
            .order_by(Institution.fixmedins_code)
        ).all()
        readmitted, overlapped = stays[0], stays[1]
        away = next(c for c in elsewhere if c != overlapped.fixmedins_code)
        planted = [
            (readmitted, readmitted.fixmedins_code, -20, -10, readmitted.dise_codg, "settled"),
            (outpatient, away, -3, 3, "I10", "discharged"),
            (overlapped, away, -2, None, "K29", "open"),
        ]
        for i, (visit, code, begin, stop, dx, status) in enumerate(planted):
            s.add(
                Visit(
                    mdtrt_id=f"PLANTED{i}", psn_no=visit.psn_no, fixmedins_code=code, insutype=visit.insutype,
                    med_type="21", begntime=visit.begntime + timedelta(days=begin),
                    endtime=None if stop is None else visit.begntime + timedelta(days=stop), dise_codg=dx,
                    status=status,
                )
            )  # fmt: skip
    return {
        "T-READMIT": readmitted.mdtrt_id,
        "T-DURING": outpatient.mdtrt_id,
        "T-OVERLAP": overlapped.mdtrt_id,
    }
