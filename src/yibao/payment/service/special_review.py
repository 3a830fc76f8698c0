"""Use cases of 特例单议 (special-case review, payment-drg-dip.md §3.6) over the store: a hospital's request for
one settled inpatient case filed (经办 enters it for the hospital), decided by a reviewer who is neither its
filer nor from that hospital, or withdrawn by its filer. Each takes the caller's session (one unit of work:
:func:`yibao.store.db.unit_of_work`), the acting member of staff and the values; changes one request; and
writes one audit row with an action constant and the request's fields before and after.

The rules — statuses, who may take which step, the cap, the candidates, what an approval grants — are
:mod:`yibao.payment.special_review`; the reads are :mod:`yibao.store.special_reviews`. The year's parameters
(cap by scheme, filing window, candidate thresholds) and the hospital's scheme come from the region's payment
policy through :func:`review_settings` alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.audit_actions import Action
from yibao.errors import NotFound
from yibao.money import BasisPoints, CountE4, parse_count, parse_ratio
from yibao.payment import special_review as sr
from yibao.payment.special_review import Staff, Status
from yibao.store import audit
from yibao.store import special_reviews as reads
from yibao.store.tables import Institution, SpecialReview

ENTITY = reads.ENTITY
FIELDS = (
    "status",
    "decided_by",
    "reviewer_institution",
    "decided_at",
    "decision_note",
    "extra_points4",
    "ffs_fen",
)
DEFAULT_SCHEME = "drg"  # a region without a payment policy: its hospitals are paid by CHS-DRG


class ReviewPolicy(NamedTuple):
    """The year's 特例单议 parameters, a hospital's scheme (fixmedins_code, level → drg | dip | ffs) and the pool
    of an insurance type (for the group's mean cost)."""

    settings: sr.ReviewSettings
    scheme_of: Callable[[str, int], str]
    pool_of: Callable[[str], str]


def review_settings(region_dir: Path, year: int) -> ReviewPolicy:
    """What the region's payment policy (``regions/<admdvs>/policy/payment/*.yaml``) in force on 31 December of
    ``year`` says of 特例单议 — the clearing that pays the approvals settles the year as it ends. A region without
    that folder keeps :data:`~yibao.payment.special_review.DEFAULTS` (5 ‰ DIP, 5 % DRG, 60 days, 5 ×) and pays
    every hospital by DRG; a folder that does not validate is refused (PolicyError), never guessed around."""
    from yibao.payment.policy import PAYMENT_DIR, payment_policy_on

    if not (Path(region_dir) / "policy" / PAYMENT_DIR).is_dir():
        return ReviewPolicy(sr.DEFAULTS, lambda _code, _level: DEFAULT_SCHEME, lambda insutype: insutype)
    p = payment_policy_on(Path(region_dir), date(year, 12, 31))
    special = p.special_review
    caps = {scheme: special.cap_of(scheme) for scheme in ("dip", "drg")}
    settings = sr.ReviewSettings(
        cap={k: BasisPoints(parse_ratio(v)) for k, v in caps.items() if v is not None},
        window_days=special.window_days,
        long_stay_days=special.candidates.long_stay_days,
        extreme_ratio4=CountE4(parse_count(special.candidates.extreme_ratio)),
        source=f"支付方式政策 {p.version}",
    )
    return ReviewPolicy(settings, p.scheme_of, p.pool_of_insutype)


def region_dir_of(admdvs: str, regions_dir: Path | None = None) -> Path:
    """The region folder of a hospital's 医保区划: its own, else its city's (``xxyy00``)."""
    if regions_dir is None:
        from yibao.config import get_settings

        regions_dir = get_settings().regions_dir
    for candidate in (admdvs, admdvs[:4] + "00"):
        if (Path(regions_dir) / candidate).is_dir():
            return Path(regions_dir) / candidate
    return Path(regions_dir) / admdvs


# --- the use cases ---------------------------------------------------------------------------------------------


def file_request(
    s: Session,
    *,
    staff: Staff,
    fixmedins_code: str,
    year: int,
    setl_id: str,
    reason: str,
    statement: str | None,
    evidence: list[Any] | None,
    now: datetime,
    regions_dir: Path | None = None,
) -> int:
    """医院申请特例单议: the request of ``fixmedins_code`` for its case ``setl_id`` of ``year``, with the kind,
    the hospital's statement and the evidence. Refused unless the case is the hospital's standing inpatient
    discharge of the year, within the filing window, a candidate of the kind claimed, without another request
    filed or approved, and under the hospital's cap. Returns the request's id."""
    sr.check_filer(staff)
    of_kind = sr.kind(reason)
    said = sr.statement(statement)
    attached = sr.evidence(evidence, of_kind)
    # the hospital's row, locked until commit: its filings take turns, so two cannot both take the last place
    # under the cap, nor both file for one case. FOR NO KEY UPDATE: a settlement's foreign key on the row
    # (FOR KEY SHARE) does not wait for it
    inst = s.scalar(
        select(Institution)
        .where(Institution.fixmedins_code == fixmedins_code)
        .with_for_update(key_share=True)
    )
    if inst is None:
        raise NotFound(f"fixmedins_code: 定点医药机构不存在 {fixmedins_code}")
    policy = review_settings(region_dir_of(inst.admdvs, regions_dir), year)
    scheme = policy.scheme_of(fixmedins_code, inst.dedc_hosp_lv or 1)
    facts = reads.case_facts(s, setl_id, scheme)
    if facts is None:
        raise NotFound(f"setl_id: 结算不存在 {setl_id}")
    case = facts.case
    sr.check_case(case, fixmedins_code=fixmedins_code, year=year)
    sr.check_window(
        reads.month_settled_on(s, case.discharged.year, case.discharged.month),
        now.date(),
        policy.settings.window_days,
    )
    if of_kind == sr.Kind.EXTREME:
        mean = reads.group_mean(
            s,
            year=year,
            pool=policy.pool_of(facts.insutype),
            scheme=scheme,
            group_code=case.group_code,
            level=inst.dedc_hosp_lv,
        )
        case = reads.with_mean(facts, mean).case
    sr.check_candidate(of_kind, case, policy.settings)
    sr.check_not_open(setl_id, *(reads.open_request(s, setl_id) or (None, None)))
    used, out_of = reads.counted(s, fixmedins_code, year), reads.discharges(s, fixmedins_code, year)
    cap = policy.settings.cap.get(scheme)
    sr.check_cap(year=year, discharges=out_of, cap=cap, scheme=scheme, used=used)
    row = SpecialReview(
        year=year,
        setl_id=setl_id,
        fixmedins_code=fixmedins_code,
        scheme=scheme,
        reason=of_kind.value,
        statement=said,
        evidence=attached,
        status=Status.FILED.value,
        filed_by=staff.username,
        filed_at=now,
        extra_points4=0,
        ffs_fen=None,
    )
    s.add(row)
    s.flush()
    audit.record(
        s,
        actor=staff.username,
        action=Action.REQUEST,
        entity=ENTITY,
        entity_id=str(row.id),
        after={
            "year": year,
            "setl_id": setl_id,
            "fixmedins_code": fixmedins_code,
            "scheme": scheme,
            "reason": row.reason,
            "status": row.status,
            "statement": said,
            "evidence": attached,
            # the cap as it stood (cap is not None here: check_cap refused otherwise)
            "cap": {
                "discharges": out_of,
                "share": sr.share_words(cap),  # type: ignore[arg-type]
                "limit": sr.cap_limit(out_of, cap),  # type: ignore[arg-type]
                "counted_before": used,
                "source": policy.settings.source,
            },
        },
        at=now,
    )
    return row.id


def decide(
    s: Session,
    review_id: int,
    *,
    staff: Staff,
    decision: str,
    extra_points: Any = None,
    ffs_amount: Any = None,
    note: str | None = None,
    reviewer_institution: str | None = None,
    now: datetime,
) -> Status:
    """专家评审: ``approve`` with exactly one of ``extra_points`` and ``ffs_amount`` (yuan), or ``reject`` with a
    note. Not by the filer; not by a reviewer of the hospital (``reviewer_institution``: where the reviewer
    works, None for the bureau's own staff). An approval re-checks that the case still stands. Returns the
    new status."""
    action = sr.decision(decision)
    row = _locked(s, review_id)
    after = sr.transition(action, row.status, staff=staff, filed_by=row.filed_by)
    where = _institution(s, reviewer_institution)
    sr.check_independent(where, row.fixmedins_code)
    why = sr.note(action, note)
    facts = reads.case_facts(s, row.setl_id, row.scheme)
    if facts is None:
        raise NotFound(f"setl_id: 结算不存在 {row.setl_id}")
    if action == Action.APPROVE:  # (reversed since it was filed: nothing to pay it on)
        sr.check_case(facts.case, fixmedins_code=row.fixmedins_code, year=row.year)
    granted = sr.award(action, extra_points, ffs_amount, cost_fen=facts.case.cost_fen)
    _change(s, row, action, after, staff, now, note=why, reviewer_institution=where, granted=granted)
    return after


def withdraw(s: Session, review_id: int, *, staff: Staff, note: str | None = None, now: datetime) -> None:
    """撤回: the filer takes back a request still waiting."""
    row = _locked(s, review_id)
    after = sr.transition(Action.WITHDRAW, row.status, staff=staff, filed_by=row.filed_by)
    _change(s, row, Action.WITHDRAW, after, staff, now, note=sr.note(Action.WITHDRAW, note))


def _institution(s: Session, code: str | None) -> str | None:
    code = (code or "").strip() or None
    if code is not None and s.get(Institution, code) is None:
        raise NotFound(f"reviewer_institution: 机构不存在 {code}")
    return code


def _locked(s: Session, review_id: int) -> SpecialReview:
    """The request, locked until commit (FOR UPDATE): two reviewers deciding at once take turns, and the
    second sees the first's decision."""
    row = s.scalar(
        select(SpecialReview)
        .where(SpecialReview.id == review_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise NotFound(f"review: 特例单议申请不存在 #{review_id}")
    return row


def _change(
    s: Session,
    row: SpecialReview,
    action: Action,
    after: Status,
    staff: Staff,
    now: datetime,
    *,
    note: str | None,
    reviewer_institution: str | None = None,
    granted: sr.Award = sr.NOTHING,
) -> None:
    before = {k: getattr(row, k) for k in FIELDS}
    row.status, row.decided_by, row.decided_at, row.decision_note = after.value, staff.username, now, note
    row.reviewer_institution = reviewer_institution
    row.extra_points4, row.ffs_fen = granted.extra_points4, granted.ffs_fen
    s.flush()
    audit.record(
        s,
        actor=staff.username,
        action=action,
        entity=ENTITY,
        entity_id=str(row.id),
        before=before,
        after={k: getattr(row, k) for k in FIELDS} | {"setl_id": row.setl_id},
        at=now,
    )
