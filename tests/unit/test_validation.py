"""Validators of national codes: valid ones built by hypothesis always pass; any one-character change fails."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from yibao import validation as v

DIGITS = "0123456789"


@st.composite
def resident_ids(draw):
    province = draw(st.sampled_from(sorted(v.PROVINCES)))
    region = f"{province:02d}{draw(st.integers(0, 9999)):04d}"
    born = date(1900, 1, 1) + timedelta(
        days=draw(st.integers(0, (date(2025, 12, 31) - date(1900, 1, 1)).days))
    )
    seq = f"{draw(st.integers(0, 999)):03d}"
    first17 = f"{region}{born:%Y%m%d}{seq}"
    return first17 + v.id_check_char(first17), born, "1" if int(seq[-1]) % 2 else "2"


@st.composite
def usccs(draw):
    chars = v.USCC_CHARS
    org8 = "".join(
        draw(st.lists(st.sampled_from(chars[:10] + "ABCDEFGHJKLMNPQRTUWY"), min_size=8, max_size=8))
    )
    check9 = v.org_check_char(org8)
    assume(check9 in chars)  # the GB 11714 check may be a letter outside the GB 32100 set
    head = (
        draw(st.sampled_from(["11", "12", "51", "52", "91", "92", "93"]))
        + f"{draw(st.integers(110000, 829999))}"
        + org8
        + check9
    )
    return head + v.uscc_check_char(head)


@settings(max_examples=300)
@given(resident_ids())
def test_valid_resident_ids_pass_and_round_trip(case):
    certno, born, gend = case
    assert v.resident_id(certno.lower(), today=date(2026, 1, 1)) == certno
    assert v.id_birth_date(certno) == born and v.id_gender(certno) == gend


@settings(max_examples=300)
@given(resident_ids(), st.integers(0, 17), st.sampled_from(DIGITS + "X"))
def test_any_single_change_of_an_id_fails(case, pos, char):
    certno = case[0]
    assume(certno[pos] != char)
    changed = certno[:pos] + char + certno[pos + 1 :]
    with pytest.raises(v.ValidationError):
        v.resident_id(changed, today=date(2026, 1, 1))


@settings(max_examples=300)
@given(usccs(), st.data())
def test_uscc_valid_and_single_changes_fail(code, data):
    assert v.uscc(code) == code
    pos = data.draw(st.integers(0, 17))
    char = data.draw(st.sampled_from(v.USCC_CHARS))
    assume(code[pos] != char)
    with pytest.raises(v.ValidationError):
        v.uscc(code[:pos] + char + code[pos + 1 :])


def test_hand_checked_examples():
    # 11010519491231002: Σ(digit × weight) mod 11 = 10 → check "X" (the GB 11643 worked example)
    assert v.resident_id("11010519491231002x", today=date(2026, 1, 1)) == "11010519491231002X"
    with pytest.raises(v.ValidationError, match=r"校验位错误（末位应为 X）"):
        v.resident_id("110105194912310021")
    with pytest.raises(v.ValidationError, match="长度应为18位"):
        v.resident_id("1101051949123100")
    with pytest.raises(v.ValidationError, match="出生日期无效"):
        v.resident_id("110105194902300020")
    for other_digits in (
        "1²0105194912310021",
        "11010519491231002²",
        "１10105194912310021",
    ):  # isdigit(), not 0-9
        with pytest.raises(v.ValidationError, match="前17位应为数字"):
            v.resident_id(other_digits)
    assert v.uscc("91350100M000100Y43") == "91350100M000100Y43"  # GB 32100 standard example
    assert v.fixmedins_code("H99010200001") and v.practitioner_code("D990102000123")
    assert v.icd10("I10.x00") and v.icd10("A49.100x004") and v.icd9cm3("74.1x00") and v.icd9cm3("47.0900")
    for bad in ("I10", "i10.x00", "A49.100x04"):
        with pytest.raises(v.ValidationError):
            v.icd10(bad)
    with pytest.raises(v.ValidationError, match="12位"):
        v.fixmedins_code("X99010200001")
