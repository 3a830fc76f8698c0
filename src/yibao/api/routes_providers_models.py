"""The bodies of the designated-provider resources (:mod:`yibao.api.routes_providers`): every field bounded, so
that a too-long, too-large or malformed value is a 422 naming the field before any use case sees it; dates
between 1900 and 2199 (a day the calendar arithmetic of terms and deadlines can carry)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2199, 12, 31)


def _in_range(day: date) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"日期应在 {FIRST_DAY} 至 {LAST_DAY} 之间 (date out of range)")
    return day


Day = Annotated[date, AfterValidator(_in_range)]
Admdvs = Annotated[str, Field(pattern=r"^\d{6}$", description="医保区划（6位）", examples=["990100"])]
Code12 = Annotated[str, Field(min_length=1, max_length=12, description="定点医药机构编号")]
ServiceCode = Annotated[
    str, Field(min_length=1, max_length=10, description="医保服务类别编码", examples=["S01"])
]
Services = Annotated[list[ServiceCode], Field(max_length=50)]
Reason = Annotated[str, Field(min_length=1, max_length=400, description="原因（必填，记入审计日志）")]
Name50 = Annotated[str, Field(min_length=1, max_length=50)]
Material = Annotated[str, Field(min_length=1, max_length=60, description="材料名称")]
Score = Annotated[str, Field(min_length=1, max_length=12, description="评分（数字文本，最多两位小数）")]
IndicatorCode = Annotated[str, Field(min_length=1, max_length=20, description="指标编码")]
Figure = Annotated[str, Field(max_length=24, description="数值（文本）；空串删除录入值")]


class Strict(BaseModel):
    """Unknown keys are refused (a misspelt field is a 422 naming it, not silently ignored)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class StaffIn(Strict):
    name: Name50 = Field(..., description="姓名")
    qualification: str = Field("", max_length=100, description="资质（执业医师、执业药师 …）")
    prac_code: str | None = Field(None, max_length=20, description="医保医师代码")
    title: str | None = Field(None, max_length=40, description="职称")


class OrgIn(Strict):
    """The institution's data (机构信息) of an application; a supplement sends only what it changes."""

    name: str | None = Field(None, min_length=1, max_length=100, description="机构名称")
    uscc: str | None = Field(None, min_length=1, max_length=18, description="统一社会信用代码")
    cls: Literal["hospital", "clinic", "pharmacy"] | None = Field(
        None, alias="class", description="类别: hospital 医院 | clinic 门诊诊所 | pharmacy 零售药店"
    )
    public: bool | None = Field(None, description="公立医疗机构（默认按统一社会信用代码判断）")
    hosp_lv: str | None = Field(None, max_length=3, description="医院等级代码")
    dedc_hosp_lv: int | None = Field(None, ge=1, le=3, description="起付线等级 1/2/3")
    beds: int | None = Field(None, ge=0, le=100_000, description="核定床位数")
    opened_on: Day | None = Field(None, description="正式运营（执业）之日")
    licence_no: str | None = Field(None, max_length=50, description="执业许可证 / 药品经营许可证号")
    licence_begndate: Day | None = Field(None, description="许可证有效期起")
    licence_enddate: Day | None = Field(None, description="许可证有效期止（空：长期）")
    legal_rep: str | None = Field(None, max_length=50, description="法定代表人")
    address: str | None = Field(None, max_length=200, description="地址")
    contact: str | None = Field(None, max_length=50, description="联系人")
    phone: str | None = Field(None, max_length=30, description="联系电话")
    departments: list[Name50] | None = Field(None, max_length=300, description="科室设置")
    staff: list[StaffIn] | None = Field(None, max_length=5000, description="人员名单及资质")
    info_ready: bool | None = Field(None, description="信息系统已与医保信息平台对接")
    materials: list[Material] | None = Field(None, max_length=60, description="已提交的申请材料名称")

    def data(self) -> dict:
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class ChangesIn(Strict):
    """基本信息变更: the items changed (法定代表人、地址、等级 are reviewed again before they take effect)."""

    fixmedins_name: str | None = Field(None, min_length=1, max_length=100)
    address: str | None = Field(None, min_length=1, max_length=200)
    legal_rep: str | None = Field(None, min_length=1, max_length=50)
    hosp_lv: str | None = Field(None, min_length=1, max_length=3)
    dedc_hosp_lv: int | None = Field(None, ge=1, le=3)
    beds: int | None = Field(None, ge=0, le=100_000)
    contact: str | None = Field(None, max_length=50)
    phone: str | None = Field(None, max_length=30)


class DetailsIn(Strict):
    changes: ChangesIn | None = Field(None, description="change: 变更的项目")
    suspend_begndate: Day | None = Field(None, description="suspend: 中止起始日")
    suspend_enddate: Day | None = Field(None, description="suspend: 中止止日")
    exit_on: Day | None = Field(None, description="terminate: 协议解除之日")
    reason: str | None = Field(None, max_length=400, description="申请理由")

    def data(self) -> dict:
        out = self.model_dump(mode="json", exclude_unset=True, exclude={"changes"})
        if self.changes is not None:
            out["changes"] = self.changes.model_dump(mode="json", exclude_unset=True)
        return out


class ApplicationIn(Strict):
    """Chengdu's online services (网上服务): apply 申请定点 (a new institution's data, in its region), change
    基本信息变更, suspend 申请中止, terminate 申请解除, renew 续签 (a designated institution's code)."""

    kind: Literal["apply", "change", "suspend", "terminate", "renew"]
    admdvs: Admdvs | None = Field(None, description="apply: 医保区划")
    fixmedins_code: Code12 | None = Field(None, description="change / suspend / terminate / renew: 机构编号")
    org: OrgIn | None = None
    services: Services | None = Field(None, description="申请的医保服务类别")
    details: DetailsIn | None = None


class RefuseIn(Strict):
    reason: Reason


class SupplementRequestIn(Strict):
    asked: list[Annotated[str, Field(min_length=1, max_length=400)]] = Field(
        ..., min_length=1, max_length=50, description="需补充的材料，每项一行"
    )


class SupplementIn(Strict):
    org: OrgIn | None = Field(None, description="补充或更正的机构信息")


class ApproveIn(Strict):
    services: Services | None = Field(None, description="renew: 续签开通的服务类别（默认沿用）")


class ScorerIn(Strict):
    scorer_id: str = Field(..., min_length=1, max_length=40)
    name: Name50
    role: Literal["expert", "supervisor"] = Field(..., description="expert 专家 | supervisor 社会监督代表")
    field: str = Field(..., min_length=1, max_length=40, description="专家领域或监督代表类别")
    affiliation: str | None = Field(
        None, max_length=100, description="工作单位（机构编号或统一社会信用代码）"
    )
    declared_conflict: bool = Field(False, description="申报存在利益关系")


class PanelIn(Strict):
    scorers: list[ScorerIn] = Field(..., min_length=1, max_length=50)


class SheetIn(Strict):
    scorer_id: str = Field(..., min_length=1, max_length=40)
    scores: dict[IndicatorCode, Score] = Field(..., max_length=200, description="指标编码 → 评分")


class SignIn(Strict):
    granted: Services | None = Field(None, description="开通的服务类别（默认：申请的全部）")
    begndate: Day | None = Field(None, description="协议起始日（默认：签约之日）")
    fixmedins_code: Code12 | None = Field(None, description="新机构的编号（默认：下一个空号）")


class RenewIn(Strict):
    services: Services | None = Field(None, description="续签开通的服务类别（默认沿用）")


class SuspendIn(Strict):
    begndate: Day = Field(..., description="中止起始日")
    by: Literal["sanction", "staff", "application"] = Field(
        "sanction", description="sanction 违约处理 | staff 经办机构依职权 | application 机构申请"
    )
    months: int | None = Field(None, ge=1, le=120, description="中止月数（违约处理：1、2、4、6）")
    enddate: Day | None = Field(None, description="中止止日（与 months 二选一）")
    red_line: str | None = Field(None, min_length=1, max_length=20, description="红线编号")
    reason: Reason


class ResumeIn(Strict):
    day: Day = Field(..., description="恢复之日")
    reason: Reason


class TerminateIn(Strict):
    day: Day = Field(..., description="解除之日（不再覆盖的第一天）")
    by: Literal["sanction", "staff", "application"] = "sanction"
    red_line: str | None = Field(None, min_length=1, max_length=20, description="红线编号（违约解除必填）")
    reason: Reason


class PractitionerIn(Strict):
    prac_code: str = Field(..., min_length=1, max_length=20, description="医保医师代码")
    prac_name: Name50 = Field(..., description="姓名")
    prac_type: Literal["doctor", "nurse", "pharmacist", "technician"] = "doctor"
    dept_code: str | None = Field(None, max_length=30)
    qualification: str = Field("", max_length=100)
    day: Day | None = Field(None, description="备案日（默认今天）")


class MeasureIn(Strict):
    code: str = Field(..., min_length=1, max_length=20, description="协议处理措施编码（M1 约谈 …）")
    reason: Reason
    day: Day | None = Field(None, description="处理日（默认今天）")
    deadline: Day | None = Field(None, description="整改期限")
    suspicion_id: int | None = Field(None, ge=1, le=2**31 - 1, description="所依据的疑点")
    months: int | None = Field(None, ge=1, le=120, description="中止协议的月数")
    red_line: str | None = Field(None, min_length=1, max_length=20, description="红线编号")


class EndRegistrationIn(Strict):
    reason: Reason
    day: Day | None = Field(None, description="备案的最后一天（默认今天）")


class CloseMeasureIn(Strict):
    note: Reason = Field(..., description="验收意见")
    day: Day | None = Field(None, description="验收日（默认今天）")


class AssessIn(Strict):
    admdvs: Admdvs
    manual: dict[Code12, dict[IndicatorCode, Figure | None]] | None = Field(
        None, max_length=100_000, description="机构编号 → {指标编码: 录入值}"
    )


class FiguresIn(Strict):
    figures: dict[IndicatorCode, Figure | None] = Field(
        ..., max_length=200, description="指标编码 → 录入值（空串或 null 删除）"
    )
