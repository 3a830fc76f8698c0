"""Persons of the synthetic region (人口): arrays, deterministic from the seed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from yibao import validation
from yibao.synth.names import names
from yibao.synth.params import Params
from yibao.validation import org_check_char, uscc_check_char

ID_WEIGHTS = np.array(validation.ID_WEIGHTS)
ID_CHECK = np.array(list(validation.ID_CHECK))
# registered 门诊慢特病 prevalence by age band [0–34, 35–44, 45–59, 60–69, 70+]
CHRONIC_PREVALENCE = {
    "M03900": (0.002, 0.02, 0.08, 0.18, 0.25),  # 高血压
    "M01600": (0.001, 0.01, 0.04, 0.09, 0.12),  # 糖尿病
    "M00500": (0.0005, 0.002, 0.006, 0.012, 0.015),  # 恶性肿瘤门诊治疗
    "M07801": (0.0002, 0.0004, 0.0008, 0.0012, 0.0012),  # 尿毒症透析
    "M06900": (0.0006, 0.0006, 0.0003, 0.0002, 0.0001),  # 系统性红斑狼疮
}
AGE_BANDS = np.array([35, 45, 60, 70])


@dataclass
class Population:
    psn_no: np.ndarray  # str
    certno: np.ndarray  # str (GB 11643)
    name: list[str]
    male: np.ndarray  # bool
    brdy: np.ndarray  # datetime64[D]
    age: np.ndarray  # int, on 1 July of the year
    district: np.ndarray  # admdvs str
    insutype: np.ndarray  # "310" | "390"
    psn_type: np.ndarray  # "11" "12" "1401" … "15" "16"
    employer: np.ndarray  # int index into employers, -1
    wage: np.ndarray  # monthly wage (fen), 0 for 居民
    balance: np.ndarray  # personal account balance at 1 January (fen), 0 for 居民
    identity: np.ndarray  # psn_idet_type or ""
    huiminbao: np.ndarray  # bool
    chronic: list[list[str]]  # registered diseases per person
    employers: list[dict]

    def __len__(self) -> int:
        return int(self.psn_no.size)


def _ages(rng: np.random.Generator, n: int, shares) -> np.ndarray:
    band = rng.choice(3, n, p=np.asarray(shares))
    child = rng.integers(0, 15, n)
    adult = rng.integers(15, 60, n)
    old = np.minimum(60 + rng.exponential(11.0, n).astype(np.int64), 100)
    return np.select([band == 0, band == 1], [child, adult], old)


def id_numbers(district: np.ndarray, brdy: np.ndarray, male: np.ndarray) -> np.ndarray:
    """GB 11643 numbers: district + birth date + a sequence unique per (district, date) with the gender
    digit (odd = male) + the check character."""
    n = district.size
    key = np.char.add(district.astype("U6"), np.datetime_as_string(brdy, unit="D"))
    order = np.lexsort((np.arange(n), key))
    sk = key[order]
    first = np.ones(n, dtype=bool)
    first[1:] = sk[1:] != sk[:-1]
    rank_sorted = np.arange(n) - np.maximum.accumulate(np.where(first, np.arange(n), 0))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = rank_sorted
    if rank.max(initial=0) > 498:
        raise ValueError("more than 499 persons share a district and birth date: raise the district count")
    seq = 10 + 2 * rank + np.where(male, 1, 0)  # 3 digits, last one odd for men
    ymd = np.char.replace(np.datetime_as_string(brdy, unit="D"), "-", "")
    body = np.char.add(np.char.add(district.astype("U6"), ymd), np.char.zfill(seq.astype("U3"), 3))
    digits = np.frombuffer("".join(body.tolist()).encode("ascii"), dtype=np.uint8).reshape(n, 17) - 48
    check = ID_CHECK[(digits * ID_WEIGHTS).sum(axis=1) % 11]
    return np.char.add(body, check)


def generate(
    rng: np.random.Generator, p: Params, districts: list[tuple[str, int]], admdvs: str
) -> Population:
    n = p.persons
    codes = np.array([d for d, _ in districts])
    weights = np.array([w for _, w in districts], dtype=np.float64)
    district = codes[rng.choice(codes.size, n, p=weights / weights.sum())]
    male = rng.random(n) < 0.51
    age = _ages(rng, n, p.age_shares)
    mid_year = np.datetime64(date(p.year, 7, 1))
    brdy = (
        mid_year
        - (age * 365.25).astype(np.int64).astype("timedelta64[D]")
        - rng.integers(0, 365, n).astype("timedelta64[D]")
    )
    certno = id_numbers(district, brdy, male)
    psn_no = np.char.add(f"{admdvs}", np.char.zfill(np.arange(1, n + 1).astype("U10"), 10))

    # 职工: in-service among working ages, retirees among older persons (women retire earlier)
    n_emp = round(n * p.employee_share)
    n_ret = round(n_emp * p.retired_share)
    working = np.flatnonzero((age >= 18) & (age < 60))
    elderly = np.flatnonzero((age >= 60) | (~male & (age >= 50)))
    retirees = (
        rng.choice(elderly, min(n_ret, elderly.size), replace=False) if elderly.size else np.array([], int)
    )
    pool = np.setdiff1d(working, retirees)
    active = (
        rng.choice(pool, min(n_emp - retirees.size, pool.size), replace=False)
        if pool.size
        else np.array([], int)
    )
    insutype = np.full(n, "390", dtype="U3")
    psn_type = np.where(
        age < 1, "1401", np.where(age < 6, "1402", np.where(age < 18, "1403", np.where(age < 60, "15", "16")))
    ).astype("U4")
    insutype[active], psn_type[active] = "310", "11"
    insutype[retirees], psn_type[retirees] = "310", "12"

    n_employers = max(1, active.size // p.employer_size)
    employer = np.full(n, -1, dtype=np.int64)
    employer[active] = rng.integers(0, n_employers, active.size)
    wage = np.zeros(n, dtype=np.int64)
    wage[active] = (np.exp(rng.normal(np.log(7_000), 0.45, active.size)) * 100).astype(np.int64)
    balance = np.zeros(n, dtype=np.int64)
    balance[active] = (np.exp(rng.normal(np.log(3_000), 0.8, active.size)) * 100).astype(np.int64)
    balance[retirees] = (np.exp(rng.normal(np.log(2_000), 0.8, retirees.size)) * 100).astype(np.int64)

    identity = np.full(n, "", dtype="U4")
    left = np.arange(n)
    for code, share in p.assistance_shares.items():
        k = min(round(n * share), left.size)
        chosen = rng.choice(left, k, replace=False)
        identity[chosen] = code
        left = np.setdiff1d(left, chosen)
    huiminbao = rng.random(n) < p.huiminbao_share

    band = np.searchsorted(AGE_BANDS, age, side="right")
    chronic: list[list[str]] = [[] for _ in range(n)]
    for code, prevalence in CHRONIC_PREVALENCE.items():
        hit = np.flatnonzero(rng.random(n) < np.asarray(prevalence)[band])
        for i in hit:
            chronic[i].append(code)
    employers = [_employer(rng, k, admdvs, codes) for k in range(n_employers)]
    return Population(
        psn_no=psn_no,
        certno=certno,
        name=names(rng, male),
        male=male,
        brdy=brdy,
        age=age,
        district=district,
        insutype=insutype,
        psn_type=psn_type,
        employer=employer,
        wage=wage,
        balance=balance,
        identity=identity,
        huiminbao=huiminbao,
        chronic=chronic,
        employers=employers,
    )


TRADES = ("科技", "商贸", "建设", "物流", "食品", "机械", "医药", "电子", "纺织", "文化", "能源", "餐饮")


def uscc(district: str, serial: int) -> str:
    """A valid 统一社会信用代码: 91 (enterprise) + district + GB 11714 org code + GB 32100 check."""
    body = f"{serial:08d}"
    head = f"91{district}{body}{org_check_char(body)}"
    return head + uscc_check_char(head)


def _employer(rng: np.random.Generator, k: int, admdvs: str, districts: np.ndarray) -> dict:
    district = str(districts[k % districts.size])
    return {
        "emp_no": f"E{admdvs}{k + 1:07d}",
        "uscc": uscc(district, 5_000_000 + k * 7),
        "emp_name": f"示例市{TRADES[k % len(TRADES)]}有限公司第{k + 1}分公司"
        if k >= len(TRADES)
        else f"示例市{TRADES[k]}有限公司",
        "admdvs": district,
    }
