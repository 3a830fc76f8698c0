"""A small world in the database for service and facade tests: institutions, persons, enrollments,
a catalogue and signed HIS clients. Built directly (independent of the region loader)."""

from __future__ import annotations

import itertools
import json
import shutil
import time
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from yibao.api import exactjson, signing
from yibao.enrollment.accounts import credit_account
from yibao.funds.ledger import OPENING_BALANCE
from yibao.providers.service.loading import designate_register
from yibao.store.db import unit_of_work
from yibao.store.tables import (
    ApiClient,
    CatalogueItem,
    ChronicRegistration,
    Enrollment,
    Identity,
    Institution,
    Person,
    PersonalAccount,
    Region,
    SupplementaryEnrollment,
)

HOSP2, HOSP3, PHARMACY, OTHER = "H99010200001", "H99010200002", "P99010200001", "H99010300001"
WORKER, RETIREE, RESIDENT, POOR = "P0001", "P0002", "P0003", "P0004"
# the world's own audit rows (its opening-balance credits) carry this actor; a test of what a call audits skips them
ACTOR = "world"


def build(engine) -> None:
    with unit_of_work(engine) as s:
        s.add(Region(admdvs="990100", name="示例市", level="city"))
        s.flush()
        for code, name, lv, kind, status in [
            (HOSP2, "示例市第二人民医院", 2, "1", "active"),
            (HOSP3, "示例市第一人民医院", 3, "1", "active"),
            (PHARMACY, "示例大药房", 1, "2", "active"),
            (OTHER, "示例市东区医院", 2, "1", "active"),
            ("H99010300009", "已暂停医院", 2, "1", "suspended"),
        ]:
            s.add(
                Institution(
                    fixmedins_code=code,
                    fixmedins_name=name,
                    fixmedins_type=kind,
                    dedc_hosp_lv=lv,
                    admdvs="990100",
                    status=status,
                    begndate=date(2020, 1, 1),
                    beds=500 if kind == "1" else None,  # hospitals (医院): the 住院 service may be granted
                )
            )
        s.flush()
        # each institution's main agreement with every service its class may have, and its designation (the
        # suspended one: suspended from its begndate until resumed), as a loaded region's
        designate_register(s, actor=ACTOR)
        people = [
            (WORKER, "110101198001010011", "张三", "1", date(1980, 1, 1), "310", "11"),
            (RETIREE, "110101195501010028", "李四", "2", date(1955, 1, 1), "310", "12"),
            (RESIDENT, "110101199001010032", "王五", "1", date(1990, 1, 1), "390", "15"),
            (POOR, "110101196001010047", "赵六", "2", date(1960, 1, 1), "390", "16"),
        ]
        for psn, certno, name, gend, brdy, ins, ptype in people:
            s.add(
                Person(
                    psn_no=psn, certno=certno, psn_name=name, gend=gend, brdy=brdy, naty="01", admdvs="990102"
                )
            )
            s.flush()
            s.add(
                Enrollment(
                    psn_no=psn,
                    insutype=ins,
                    psn_type=ptype,
                    psn_insu_stas="1",
                    begndate=date(2020, 1, 1),
                    insuplc_admdvs="990100",
                )
            )
            if ins == "310":
                s.add(PersonalAccount(psn_no=psn, balance=0))
                s.flush()
                credit_account(
                    s,
                    psn,
                    100_000,
                    OPENING_BALANCE,
                    when=datetime(2024, 12, 31),
                    memo="期初余额",
                    actor=ACTOR,
                )
        s.add(Identity(psn_no=POOR, psn_idet_type="2303", begntime=date(2024, 1, 1)))
        s.add(ChronicRegistration(psn_no=POOR, opsp_dise_code="M03900", begndate=date(2024, 1, 1)))
        s.add(SupplementaryEnrollment(psn_no=RESIDENT, year=2025))
        for codg, name, lv, sp, cap in [
            ("A1", "甲类药", "01", 0, None),
            ("B1", "乙类药", "02", 1000, None),
            ("B2", "乙类耗材", "02", 2000, 1_200_000_000),
            ("C1", "丙类项目", "03", 0, None),
            ("S1", "诊查费", "01", 0, None),
        ]:
            s.add(
                CatalogueItem(
                    list_type="101",
                    med_list_codg=codg,
                    med_list_name=name,
                    chrgitm_lv=lv,
                    selfpay_prop=sp,
                    pric_uplmt_amt=cap,
                    begndate=date(2020, 1, 1),
                )
            )
        for inst in (HOSP2, HOSP3, PHARMACY, OTHER, "H99010300009"):
            s.add(
                ApiClient(
                    client_id=f"c-{inst}", fixmedins_code=inst, secret=f"secret-{inst}", sign_algo="sha256"
                )
            )
        s.add(ApiClient(client_id="c-sm3", fixmedins_code=HOSP2, secret="sm3-secret", sign_algo="sm3"))


_seq = itertools.count(1)


@dataclass
class His:
    """A hospital's HIS: builds national envelopes, signs them, posts them."""

    client: object  # a TestClient or httpx.Client
    fixmedins_code: str
    client_id: str | None = None
    secret: str | None = None
    algo: str = "sha256"

    def __post_init__(self):
        self.client_id = self.client_id or f"c-{self.fixmedins_code}"
        self.secret = self.secret or f"secret-{self.fixmedins_code}"

    def envelope(self, infno: str, input_: dict, msgid: str | None = None) -> dict:
        now = datetime.now()
        return {
            "infno": infno,
            "msgid": msgid or f"{self.fixmedins_code}{now:%Y%m%d%H%M%S}{next(_seq) % 10000:04d}",
            "mdtrtarea_admvs": "990100",
            "insuplc_admdvs": "990100",
            "recer_sys_code": "YBXT",
            "infver": "V1.0",
            "opter_type": "1",
            "opter": "001",
            "opter_name": "收费员",
            "inf_time": f"{now:%Y-%m-%d %H:%M:%S}",
            "fixmedins_code": self.fixmedins_code,
            "fixmedins_name": "",
            "sign_no": "",
            "input": input_,
        }

    def post_raw(self, body: bytes, *, sign: bool = True, timestamp: str | None = None) -> dict:
        headers = {"content-type": "application/json"}
        if sign:
            ts = timestamp or str(int(time.time() * 1000))
            headers.update(
                {
                    signing.HEADER_CLIENT: self.client_id,
                    signing.HEADER_TIMESTAMP: ts,
                    signing.HEADER_SIGNATURE: signing.sign(self.algo, self.secret, ts, body),
                }
            )
        resp = self.client.post("/fsi/api/callService", content=body, headers=headers)
        assert resp.status_code == 200, resp.text
        return exactjson.loads(resp.content)

    def call(self, infno: str, input_: dict, msgid: str | None = None, **kw) -> dict:
        body = exactjson.dumps(self.envelope(infno, input_, msgid)).encode("utf-8")
        return self.post_raw(body, **kw)

    def ok(self, infno: str, input_: dict, msgid: str | None = None) -> dict:
        reply = self.call(infno, input_, msgid)
        assert reply["infcode"] == 0, f"{infno}: {reply['err_msg']}"
        return reply["output"]

    def fails(self, infno: str, input_: dict, contains: str, msgid: str | None = None) -> str:
        reply = self.call(infno, input_, msgid)
        assert reply["infcode"] == -1, (
            f"{infno} should fail: {json.dumps(reply, default=str, ensure_ascii=False)[:300]}"
        )
        assert contains in reply["err_msg"], reply["err_msg"]
        return reply["err_msg"]


def line(sn: str, codg: str, pric: str, cnt: int = 1, **extra) -> dict:
    amount = Decimal(pric) * cnt
    return {
        "feedetl_sn": sn,
        "med_list_codg": codg,
        "pric": Decimal(pric),
        "cnt": Decimal(cnt),
        "det_item_fee_sumamt": amount.quantize(Decimal("0.01")),
        "fee_ocur_time": "2025-03-01 09:00:00",
        **extra,
    }


def call_in_process(
    infno: str, input_: dict, msgid: str, code: str = HOSP2, secret: str | None = None
) -> dict:
    """One signed envelope straight into the facade (no HTTP): what the threaded tests drive (``secret``: sign
    with another secret than the client's)."""
    from yibao.api import fsi, fsi_handlers  # noqa: F401 - registers the handlers

    env = {
        "infno": infno,
        "msgid": msgid,
        "fixmedins_code": code,
        "opter": "t",
        "inf_time": "2025-03-01 09:00:00",
        "input": input_,
    }
    body = exactjson.dumps(env).encode()
    ts = str(int(time.time() * 1000))
    headers = {
        signing.HEADER_CLIENT: f"c-{code}",
        signing.HEADER_TIMESTAMP: ts,
        signing.HEADER_SIGNATURE: signing.sign("sha256", secret or f"secret-{code}", ts, body),
    }
    return exactjson.loads(fsi.call_service(body, headers))


def cancel_lock_waits(engine=None) -> None:
    """A watchdog for PostgreSQL lock tests: cancel every statement waiting on a lock, so a regression fails
    instead of hanging the suite."""
    from sqlalchemy import text

    from yibao.store.db import get_engine

    with (engine or get_engine()).connect() as c:
        c.execute(text("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"))


def demo_policy_with(tmp_path: Path, monkeypatch, old: str, new: str) -> Path:
    """A copy of the regions whose demo policy (990100 2025, which 2026 inherits) has ``old`` replaced by ``new``,
    made the service's regions (YIBAO_REGIONS_DIR)."""
    from yibao.config import reset_settings

    regions = tmp_path / "regions"
    shutil.copytree(Path(__file__).resolve().parents[1] / "regions", regions)
    from tests.policy_variants import edit

    edit(regions / "990100" / "policy" / "2025.yaml", old, new)
    monkeypatch.setenv("YIBAO_REGIONS_DIR", str(regions))
    reset_settings()
    return regions


def settle_outpatient(his: His, day: str, amount: str, psn_no: str = RESIDENT, insutype: str = "390"):
    """A 普通门诊 visit of one 甲类 line settled through the facade (2201, 2203, 2204, 2207): its mdtrt_id and
    the setlinfo of its settlement."""
    mdtrt = his.ok("2201", {"data": {"psn_no": psn_no, "insutype": insutype, "begntime": f"{day} 09:00:00"}})[
        "data"
    ]["mdtrt_id"]
    his.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt, "psn_no": psn_no, "med_type": "11"}})
    his.ok("2204", {"feedetail": [line("1", "A1", amount, mdtrt_id=mdtrt)]})
    data = {"psn_no": psn_no, "mdtrt_id": mdtrt, "medfee_sumamt": amount, "insutype": insutype}
    return mdtrt, his.ok("2207", {"data": data})["setlinfo"]
