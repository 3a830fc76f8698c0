"""Rule kinds (规则类型): a kind is one SQL template (``sql/kinds/<kind>.sql``) with the typed columns of its
knowledge table and its parameters. A rule is a kind + knowledge rows + parameter values, so a new national
batch of knowledge points is rows, not code (supervision.md §3.5).

Every template reads the audit view (``visits``, ``lines``, ``diagnoses``, ``operations``) and its own table
``k_<kind>`` (``rule_code``, ``k_id``, ``from_day``, ``to_day``, the knowledge columns, then the parameters:
each row carries its rule's values), and returns hits: ``rule_code, fixmedins_code, mdtrt_id, line_id, role,
observed, lim, k_id``. ``role`` is 1 违规项 / 2 涉及项 (the line is involved, not itself at fault).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

# what an amount at stake (vola_amt) is: the role-1 lines' amounts, their share above the limit
# (observed − lim) / observed, or nothing (a visit-level or statistical finding)
AMOUNT_MODES = ("lines", "excess", "none")


@dataclass(frozen=True)
class Field:
    """A knowledge column or a parameter: ``type`` is one of :data:`TYPES`."""

    name: str
    type: str
    required: bool = True
    default: object = None
    choices: tuple[str, ...] = ()
    doc: str = ""


# code: a catalogue or clinical code; prefix: the start of one; int: a whole number ≥ 0; count: a quantity
# (decimal, stored in 1e-4 units); price: yuan (stored in micro-yuan); ratio: 0–1 (stored in basis points); fraction: 0–1 kept as its text (a
# literal in the SQL); choice: one of ``choices``
TYPES = ("code", "prefix", "int", "count", "price", "ratio", "fraction", "choice")
SQL_TYPES = {
    "code": "VARCHAR",
    "prefix": "VARCHAR",
    "choice": "VARCHAR",
    "int": "BIGINT",
    "count": "BIGINT",
    "price": "BIGINT",
    "ratio": "BIGINT",
    "fraction": "VARCHAR",
}


@dataclass(frozen=True)
class Kind:
    name: str
    title: str  # 中文
    columns: tuple[Field, ...] = ()
    params: tuple[Field, ...] = ()
    level: str = "line"  # line | visit | institution: what a finding is about (vola_bhvr_type 2 / 1 / 1)
    amount: str = "lines"
    online: bool = True  # false: needs the whole period (statistical indicators), batch only
    per_rule: bool = False  # the template takes literal {{param}} values: run once per rule
    message: str = "{observed} / {lim}"  # vola_cont, filled by findings.py
    lookback_param: str | None = None  # the parameter that says how many days of history online needs
    cross_visit: bool = False  # counts the person's lines of its codes in other visits (history lines)

    def field(self, name: str) -> Field:
        return next(f for f in (*self.columns, *self.params) if f.name == name)

    @property
    def fields(self) -> tuple[Field, ...]:
        return (*self.columns, *self.params)

    @property
    def sql(self) -> str:
        return template(self.name)


@cache
def template(name: str) -> str:
    return resources.files("yibao.supervision").joinpath("sql", "kinds", f"{name}.sql").read_text("utf-8")


CODE = Field("code", "code", doc="医保目录编码 (med_list_codg)")
GEND = Field("gend", "choice", choices=("1", "2"), doc="限定性别: 1 男 / 2 女")
UNIT = Field("unit", "choice", required=False, default="y", choices=("y", "d"), doc="年龄单位: y 周岁 / d 天")
MIN_AGE = Field("min_age", "int", required=False, doc="最小年龄 (含)")
MAX_AGE = Field("max_age", "int", required=False, doc="最大年龄 (含)")
CHRGITM = Field("chrgitm_type", "code", doc="医疗收费项目类别 (med_chrgitm_type)")

_KINDS = [
    Kind("sex_limit", "限性别", (CODE, GEND), message="{code} 限{lim}性使用，患者为{observed}性"),
    Kind(
        "age_limit",
        "限年龄",
        (CODE, UNIT, MIN_AGE, MAX_AGE),
        (
            Field(
                "mode",
                "choice",
                False,
                "allow",
                ("allow", "forbid"),
                "allow 限该年龄段 / forbid 该年龄段禁用",
            ),
        ),
        message="{code} 年龄限定 {lim}，患者 {observed}",
    ),
    Kind(
        "insutype_limit",
        "限险种",
        (CODE, Field("insutype", "code", doc="允许的险种类型")),
        message="{code} 限险种 {lim} 等支付，本次就诊险种 {observed}",
    ),
    Kind(
        "level_limit",
        "限医疗机构级别",
        (CODE, Field("min_grade", "int", doc="最低机构等级: 1 一级 / 2 二级 / 3 三级")),
        message="{code} 限{lim}级及以上医疗机构使用，本机构为{observed}级",
    ),
    Kind(
        "visit_type_limit",
        "限就医方式",
        (CODE, Field("med_type", "prefix", doc="允许的医疗类别 (前缀: 2 = 各类住院)")),
        message="{code} 限医疗类别 {lim} 等，本次就诊为 {observed}",
    ),
    Kind(
        "dept_limit",
        "限科室",
        (CODE, Field("dept_prefix", "prefix", doc="允许的科室编码前缀")),
        message="{code} 限科室 {lim} 等使用，开单科室 {observed}",
    ),
    Kind(
        "indication",
        "限适应症",
        (CODE, Field("dise_prefix", "prefix", doc="支付范围内的诊断编码前缀")),
        message="{code} 限适应症 {lim} 等，本次诊断 {observed} 不在其内",
    ),
    Kind(
        "price_cap",
        "超限定单价",
        (
            CODE,
            Field("max_pric", "price", doc="最高限价 (元，价格主管部门的政府指导价)"),
            Field("inst_grade", "int", required=False, doc="适用的机构等级 1/2/3 (空 = 各级)"),
        ),
        amount="excess",
        message="{code} 单价 {observed} 元，超过最高限价 {lim} 元",
    ),
    Kind(
        "max_quantity",
        "限定数量",
        (
            CODE,
            Field("max_cnt", "count", doc="最大数量"),
            Field("period", "choice", False, "day", ("day", "visit"), "day 每日 / visit 每次就诊"),
        ),
        amount="excess",
        message="{code} 数量 {observed} 超过限定 {lim}",
    ),
    Kind(
        "course_days",
        "限支付疗程",
        (CODE, Field("max_days", "int", doc="最多使用天数")),
        message="{code} 使用 {observed} 天，超过限定疗程 {lim} 天",
    ),
    Kind(
        "pair_conflict",
        "重复收费/互斥",
        (
            CODE,
            Field("with_code", "code", doc="同时收取即违规的项目"),
            Field("scope", "choice", False, "day", ("day", "visit"), "day 同日 / visit 同次就诊"),
        ),
        message="{code} 与 {lim} 同时收费",
    ),
    Kind(
        "bundle_split",
        "分解收费",
        (
            Field("bundle", "code", doc="打包项目编码"),
            CODE,
            Field("min_parts", "int", False, 2, doc="同日收取的组成项目数下限"),
        ),
        message="打包项目 {lim} 的 {observed} 个组成项目同日分别收费",
    ),
    Kind(
        "cycle_frequency",
        "周期超频次",
        (
            CODE,
            Field("cycle_days", "int", doc="周期天数"),
            Field("max_in_cycle", "int", doc="周期内最多次数"),
        ),
        message="{code} 在周期内 {observed} 次，限定 {lim} (次/天)",
        lookback_param="cycle_days",
        cross_visit=True,
    ),
    Kind("fee_outside_stay", "计费日期与住院时间不符", message="计费日期 {observed} 不在住院期间 {lim} 内"),
    Kind("after_death", "死亡后就医", message="费用日期 {observed} 晚于死亡日期 {lim}"),
    Kind(
        "diagnosis_sex",
        "诊断与性别不符",
        (Field("dise_prefix", "prefix"), GEND),
        level="visit",
        amount="none",
        message="诊断 {observed} 限{lim}性",
    ),
    Kind(
        "operation_sex",
        "手术操作与性别不符",
        (Field("oprn_prefix", "prefix"), GEND),
        level="visit",
        amount="none",
        message="手术操作 {observed} 限{lim}性",
    ),
    Kind(
        "diagnosis_age",
        "诊断与年龄不符",
        (Field("dise_prefix", "prefix"), UNIT, MIN_AGE, MAX_AGE),
        level="visit",
        amount="none",
        message="诊断 {observed}，限 {lim}",
    ),
    Kind(
        "readmission",
        "分解住院",
        params=(
            Field("window_days", "int", False, 15, doc="出院后再入院的天数"),
            Field("dx_len", "int", False, 3, doc="比较主诊断的前几位"),
            Field("same_institution", "choice", False, "yes", ("yes", "no")),
        ),
        level="visit",
        amount="none",
        message="出院后 {observed} 再次入院 (限 {lim} 天)，主诊断相同",
        lookback_param="window_days",
    ),
    Kind(
        "visit_frequency",
        "频繁就诊",
        (Field("med_type", "prefix", doc="计数的医疗类别前缀"),),
        (
            Field("max_visits", "int", doc="周期内最多次数"),
            Field("period", "choice", False, "month", ("month", "year")),
        ),
        level="visit",
        amount="none",
        message="本期第 {observed} 次就诊，限 {lim} 次",
        lookback_param="period",
    ),
    Kind(
        "visit_during_stay",
        "住院期间门诊",
        level="visit",
        amount="none",
        message="住院期间 ({observed} @ {lim}) 发生门诊或购药结算",
        lookback_param="stay",
    ),
    Kind(
        "stay_overlap",
        "同时住院",
        level="visit",
        amount="none",
        message="与 {lim} 的住院 {observed} 时间重叠",
        lookback_param="stay",
    ),
    Kind(
        "bed_days",
        "床日超住院天数",
        (CODE,),
        amount="excess",
        message="床位数量 {observed} 超过住院天数 {lim}",
    ),
    Kind(
        "idle_stay",
        "挂床住院",
        (CHRGITM,),
        (Field("min_days", "int", False, 3, doc="连续无诊疗天数"),),
        message="连续 {observed} 天仅有床位/护理等费用 (限 {lim} 天)",
    ),
    Kind(
        "drug_variety",
        "药品种类超标",
        params=(
            Field("max_drugs", "int", False, 5),
            Field("list_prefix", "prefix", False, "1", doc="药品的目录类别前缀"),
        ),
        message="同日 {observed} 种药品，限 {lim} 种",
    ),
    Kind(
        "exam_dominated_stay",
        "无指征住院",
        (CHRGITM,),
        (Field("min_share_bp", "ratio", doc="检查检验费占比下限"), Field("max_los", "int", False, 3)),
        level="visit",
        amount="none",
        message="检查检验费 {observed} 占比达 {lim}",
    ),
    Kind(
        "ratio_indicator",
        "费用占比指标",
        (CHRGITM,),
        (
            Field("pct", "fraction", False, "0.9", doc="同级机构的百分位"),
            Field("min_visits", "int", False, 30),
        ),
        level="institution",
        amount="none",
        online=False,
        per_rule=True,
        message="占比 {observed} 高于同级机构 P{pct} {lim} (万分比)",
    ),
]
KINDS: dict[str, Kind] = {k.name: k for k in _KINDS}
