"""Signing, renewal and expiry through the service: the agreement number, the first term, the services
granted (a subset of those asked, each allowed for the class), the supplementary agreement a category needs,
the document and its hash, the designation settlement reads."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from tests.providers.helpers import DAY, STAFF, at, audit_actions, build, passed_application
from yibao.errors import InputError
from yibao.providers.designation import refusal
from yibao.providers.service import agreements, status
from yibao.providers.service.designations import ENDED
from yibao.store import providers as store
from yibao.store.db import unit_of_work
from yibao.store.tables import Institution


@pytest.fixture
def db(engine):
    build(engine)
    return engine


def intervals(s, code):
    from yibao.providers.designation import Interval

    return [
        Interval(r.begndate, r.enddate, r.status, frozenset((r.med_types or "").split()), r.reason)
        for r in store.designation_of(s, code)
    ]


def test_signing_makes_the_main_and_supplementary_agreements_with_their_documents(db):
    appl_no = passed_application(db)
    with unit_of_work(db) as s:
        main = agreements.sign(s, appl_no, actor=STAFF, now=at(DAY), fixmedins_code="H99010200077")
        code = main.fixmedins_code
        all_ = store.agreements_of(s, code)
        app = store.application(s, appl_no)
        inst = s.get(Institution, code)
        assert (app.status, app.fixmedins_code, inst.status, inst.fixmedins_type) == (
            "signed",
            code,
            "active",
            "1",
        )
        assert (main.agreement_no, main.begndate, main.enddate) == (f"XY{code}-01", DAY, date(2026, 3, 2))
        assert main.services == ["S01", "S04", "S05"]
        assert (
            main.document[:5] == b"%PDF-"
            and main.document_sha256 == hashlib.sha256(main.document).hexdigest()
        )
        assert main.template_code == "main_hospital"
        supp = [a for a in all_ if a.kind == "supplementary"]
        assert [(a.supp_code, a.services, a.main_no) for a in supp] == [
            ("supp_chronic", ["S05"], main.agreement_no)
        ]
        days = intervals(s, code)
        assert refusal(days, code, DAY, "14") is None and refusal(days, code, DAY, "21") is None
        assert (
            refusal(days, code, DAY, "41")
            == f"med_type: 定点医药机构 {code} 未开通 定点药店购药 服务 (med_type 41)"
        )
        assert "没有有效的医保服务协议" in refusal(days, code, date(2026, 3, 3), "11")
    assert audit_actions(db, main.agreement_no) == ["sign"]


def test_services_not_asked_for_or_not_for_the_class_are_refused(db):
    appl_no = passed_application(db)
    with (
        unit_of_work(db) as s,
        pytest.raises(InputError, match=r"services: 生育（S09）不在申请的服务类别之中"),
    ):
        agreements.sign(s, appl_no, granted=["S01", "S09"], actor=STAFF, now=at(DAY))
    with unit_of_work(db) as s:
        main = agreements.sign(s, appl_no, granted=["S04"], actor=STAFF, now=at(DAY))
        assert main.services == ["S04"]
        assert refusal(intervals(s, main.fixmedins_code), main.fixmedins_code, DAY, "21") is not None


def test_a_renewal_continues_the_agreement_and_expiry_ends_it(db):
    appl_no = passed_application(db)
    with unit_of_work(db) as s:
        code = agreements.sign(s, appl_no, actor=STAFF, now=at(DAY)).fixmedins_code
        renewed = agreements.renew(s, code, services=["S01", "S04"], actor=STAFF, now=at(date(2026, 1, 5)))
        assert (renewed.agreement_no, renewed.begndate, renewed.enddate) == (
            f"XY{code}-02",
            date(2026, 3, 3),
            date(2027, 3, 2),
        )
        days = intervals(s, code)
        assert refusal(days, code, date(2026, 4, 1), "14") is not None  # (not renewed)
        assert refusal(days, code, date(2026, 3, 1), "14") is None
    with unit_of_work(db) as s:
        expired = status.expire(s, on=date(2027, 3, 3), actor="job")
        assert sorted(expired) == sorted(a.agreement_no for a in store.agreements_of(s, code))
        assert all(a.status in ENDED for a in store.agreements_of(s, code))
        assert s.get(Institution, code).status == "exited"
        days = intervals(s, code)
        assert refusal(days, code, date(2027, 3, 2), "11") is None  # what was true on the day stays true
        assert "协议至 2027-03-02 止" in refusal(days, code, date(2027, 3, 3), "11")
    with unit_of_work(db) as s, pytest.raises(InputError, match="没有可续签的医保服务协议"):
        agreements.renew(s, code, actor=STAFF, now=at(date(2027, 3, 4)))


def test_an_institution_with_a_standing_agreement_signs_no_second_one(db):
    from tests import world

    appl_no = passed_application(db)
    with unit_of_work(db) as s, pytest.raises(InputError, match="已有有效的医保服务协议"):
        agreements.sign(s, appl_no, fixmedins_code=world.HOSP2, actor=STAFF, now=at(DAY))
