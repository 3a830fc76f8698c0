"""HIS credentials, signatures and the fund ledger end to end on both databases: ``yibao clients`` through the
CLI entry point (the secret shown once, a created client signs facade calls, suspension refuses, bad input is
one line); fixed signature vectors computed independently (RFC 4231 HMAC-SHA256, the published SM3 and GM/T 0042
HMAC-SM3 vectors, an RFC 2104 HMAC-SM3 built here, keys of a block and longer); the authentication refusals not
covered elsewhere; ``yibao ledger check`` passing on real settlements and catching each tamper by day,
institution and fund; and the REST ledger balances equal to the hand-summed fund payments."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, update

from tests import world
from tests.world import HOSP2, OTHER, RESIDENT, WORKER, His, line
from yibao.api import exactjson, signing
from yibao.cli import main
from yibao.store.db import unit_of_work
from yibao.store.tables import (
    ApiClient,
    AuditLog,
    LedgerEntry,
    LedgerPosting,
    Role,
    Settlement,
    SettlementDetail,
    StaffUser,
    UserRole,
    Visit,
)

SUSPENDED_INST = "H99010300009"  # suspended in tests.world
SIGN_IN = {"signIn": {"opter_no": "001", "mac": "", "ip": ""}}
CENT = Decimal("0.01")


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_one_line_error(code: int, out: str, err: str, *contains: str) -> None:
    assert code == 2, (code, out, err)
    assert "Traceback" not in out + err
    assert err.strip().count("\n") == 0, err  # one line
    assert err.startswith("错误: "), err
    for c in contains:
        assert c in err, err


def create_client(capsys, code: str, *extra: str) -> tuple[str, str, str]:
    """``yibao clients create``; returns (client_id, secret, the whole output)."""
    rc, out, err = run(capsys, "clients", "create", code, *extra)
    assert rc == 0, err
    cid = re.search(r"^client_id:\s*(\S+)$", out, re.M)
    secret = re.search(r"^secret:\s*(\S+)$", out, re.M)
    assert cid and secret, out
    return cid.group(1), secret.group(1), out


def post(client, body: bytes, headers: dict) -> dict:
    resp = client.post(
        "/fsi/api/callService", content=body, headers={"content-type": "application/json", **headers}
    )
    assert resp.status_code == 200, resp.text
    return exactjson.loads(resp.content)


def now_ms() -> int:
    return int(time.time() * 1000)


def sha256_headers(client_id: str, secret: str, body: bytes, ts: int | str | None = None) -> dict:
    """Signed in the test, independently of yibao.api.signing: HMAC-SHA256(secret, timestamp ‖ body) in hex."""
    ts = str(now_ms() if ts is None else ts)
    sig = hmac.new(secret.encode(), ts.encode("ascii") + body, hashlib.sha256).hexdigest()
    return {"x-yibao-client": client_id, "x-yibao-timestamp": ts, "x-yibao-signature": sig}


def body_of(his: His, infno: str = "9001", input_: dict | None = None) -> bytes:
    return exactjson.dumps(his.envelope(infno, SIGN_IN if input_ is None else input_)).encode("utf-8")


# --- 1. yibao clients --------------------------------------------------------------------------------------


def test_clients_create_shows_the_secret_once_and_the_client_signs(client, engine, capsys):
    cid, secret, out = create_client(capsys, HOSP2)
    assert cid.startswith(f"{HOSP2}-") and len(secret) >= 32
    assert "HMAC-SHA256" in out and "只显示一次" in out
    with unit_of_work(engine, write=False) as s:
        row = s.get(ApiClient, cid)
        assert (row.fixmedins_code, row.sign_algo, row.status) == (HOSP2, "sha256", "active")
        audit_rows = s.scalars(select(AuditLog).where(AuditLog.entity_id == cid)).all()
    assert [a.action for a in audit_rows] == ["create"]
    assert all(secret not in str(a.__dict__) for a in audit_rows)  # the audit never keeps the secret
    # shown once: the listing names the client but never its secret
    rc, listing, _ = run(capsys, "clients", "list")
    assert rc == 0 and cid in listing and "active" in listing and secret not in listing
    # signed in the test with the secret printed: accepted; the same body under another secret: refused
    his = His(client, HOSP2, client_id=cid, secret=secret)
    body = body_of(his)
    reply = post(client, body, sha256_headers(cid, secret, body))
    assert reply["infcode"] == 0, reply["err_msg"]
    assert reply["output"]["signinoutb"]["sign_no"]
    other_body = body_of(his)
    bad = post(client, other_body, sha256_headers(cid, secret + "x", other_body))
    assert bad["infcode"] == -1 and "签名错误" in bad["err_msg"]
    # --algo sm3 and --client-id
    sm3_id, sm3_secret, sm3_out = create_client(capsys, OTHER, "--algo", "sm3", "--client-id", "his-east-sm3")
    assert sm3_id == "his-east-sm3" and "HMAC-SM3" in sm3_out and sm3_secret != secret
    sm3 = His(client, OTHER, client_id=sm3_id, secret=sm3_secret, algo="sm3")
    assert sm3.ok("9001", SIGN_IN)["signinoutb"]["sign_no"]
    as_sha = His(client, OTHER, client_id=sm3_id, secret=sm3_secret, algo="sha256")  # the wrong algorithm
    assert "签名错误 (HMAC-SM3)" in as_sha.call("9001", SIGN_IN)["err_msg"]


def test_clients_suspend_refuses_at_once(client, engine, capsys):
    cid, secret, _ = create_client(capsys, HOSP2)
    his = His(client, HOSP2, client_id=cid, secret=secret)
    visit = {"data": {"psn_no": RESIDENT, "insutype": "390", "begntime": "2025-03-01 09:00:00"}}
    his.ok("2201", visit)  # a hot transaction: its signature is remembered for reads ahead
    rc, out, _ = run(capsys, "clients", "suspend", cid)
    assert rc == 0 and "已停用" in out
    rc, listing, _ = run(capsys, "clients", "list")
    assert re.search(rf"{re.escape(cid)}.*suspended", listing), listing
    for infno, input_ in (("2201", visit), ("9001", SIGN_IN)):
        reply = his.call(infno, input_)
        assert reply["infcode"] == -1 and reply["output"] == {}
        assert reply["err_msg"] == "x-yibao-client: 客户端不存在或已停用"
    with unit_of_work(engine, write=False) as s:
        assert s.scalar(select(func.count()).select_from(Visit)) == 1  # only the call before the suspension
    # the institution's other client is untouched
    assert His(client, HOSP2).ok("9001", SIGN_IN)["signinoutb"]["sign_no"]
    # a client of a suspended institution authenticates; a visit dated in its suspension is refused naming it
    sus_id, sus_secret, _ = create_client(capsys, SUSPENDED_INST)
    sus = His(client, SUSPENDED_INST, client_id=sus_id, secret=sus_secret)
    assert sus.ok("9001", SIGN_IN)["signinoutb"]["sign_no"]
    refused = sus.call("2201", visit)
    assert refused["infcode"] == -1
    assert refused["err_msg"].startswith(f"fixmedins_code: 定点医药机构 {SUSPENDED_INST} 在 ")
    assert "医保协议中止" in refused["err_msg"]


def test_clients_bad_input_is_one_line(client, engine, capsys):
    assert_one_line_error(
        *run(capsys, "clients", "create", "H99019999999"),
        "fixmedins_code",
        "定点医药机构不存在",
        "H99019999999",
    )
    assert_one_line_error(
        *run(capsys, "clients", "create", HOSP2, "--client-id", f"c-{HOSP2}"),
        "--client-id",
        f"c-{HOSP2}",
        "已存在",
    )
    assert_one_line_error(*run(capsys, "clients", "create", HOSP2, "--algo", "md5"), "--algo", "md5")
    assert_one_line_error(*run(capsys, "clients", "suspend", "no-such-client"), "client_id", "no-such-client")
    with unit_of_work(engine, write=False) as s:  # nothing was written by the refusals
        assert s.scalar(select(func.count()).select_from(ApiClient)) == 6
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.actor != world.ACTOR)) == 0


def test_clients_create_refuses_a_client_id_too_long(client, engine, capsys):
    too_long = "x" * 41
    assert_one_line_error(*run(capsys, "clients", "create", HOSP2, "--client-id", too_long), "--client-id")
    with unit_of_work(engine, write=False) as s:
        assert s.get(ApiClient, too_long) is None


# --- 2. signature vectors ----------------------------------------------------------------------------------


def test_hmac_sha256_matches_rfc4231_and_the_documented_bytes():
    # RFC 4231 test case 2; sign() signs timestamp ‖ body, so the message may be split anywhere
    want = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert signing.sign("sha256", "Jefe", "what do ya want ", b"for nothing?") == want
    assert signing.sign("sha256", "Jefe", "", b"what do ya want for nothing?") == want
    # the documented bytes: the 13-digit timestamp's ASCII then the raw (UTF-8) body, key = the secret's UTF-8
    ts, body, secret = "1735693200000", '{"infno":"9001","opter_name":"收费员"}'.encode(), "密钥-secret"
    expected = hmac.new(secret.encode("utf-8"), ts.encode("ascii") + body, hashlib.sha256).hexdigest()
    got = signing.sign("sha256", secret, ts, body)
    assert got == expected and got == got.lower() and len(got) == 64
    assert signing.sign("sha256", secret, ts, body[:-1] + b"]") != expected
    assert signing.sign("sha256", secret, "1735693200001", body) != expected


def _sm3(data: bytes) -> bytes:
    """SM3 from the standard library's OpenSSL when it has it, else yibao's (both checked against the published
    vectors)."""
    if "sm3" in hashlib.algorithms_available:
        return hashlib.new("sm3", data).digest()
    return signing.sm3_digest(data)


def _rfc2104_hmac_sm3(key: bytes, msg: bytes) -> str:
    block = 64
    if len(key) > block:
        key = _sm3(key)
    key = key + b"\x00" * (block - len(key))
    ipad = bytes(b ^ 0x36 for b in key)
    opad = bytes(b ^ 0x5C for b in key)
    return _sm3(opad + _sm3(ipad + msg)).hex()


def test_sm3_and_hmac_sm3_vectors():
    # GM/T 0004-2012 appendix A
    abc = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    abcd16 = "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    assert signing.sm3_digest(b"abc").hex() == abc and _sm3(b"abc").hex() == abc
    assert signing.sm3_digest(b"abcd" * 16).hex() == abcd16 and _sm3(b"abcd" * 16).hex() == abcd16
    ts, body = "1735693200000", b'{"infno":"9001","input":{}}'
    for secret in (
        "sm3-secret",
        "k" * 64,
        "长" * 30,
    ):  # short; exactly one block; longer than a block (90 bytes)
        want = _rfc2104_hmac_sm3(secret.encode("utf-8"), ts.encode("ascii") + body)
        assert signing.hmac_sm3(secret.encode("utf-8"), ts.encode("ascii") + body) == want
        assert signing.sign("sm3", secret, ts, body) == want
        if "sm3" in hashlib.algorithms_available:  # the standard library's own HMAC over OpenSSL's SM3
            assert hmac.new(secret.encode(), ts.encode() + body, "sm3").hexdigest() == want
    assert signing.sign("sm3", "sm3-secret", ts, body) != signing.sign("sha256", "sm3-secret", ts, body)


# GM/T 0042-2015 appendix D.3, as OpenSSL's own tests carry them (test/recipes/30-test_evp_data/evpmac_sm3.txt)
HMAC_SM3_PUBLISHED = [
    (
        bytes.fromhex("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"),
        b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq" * 2,
        "ca05e144ed05d1857840d1f318a4a8669e559fc8391f414485bfdf7bb408963a",
    ),
    (
        bytes.fromhex("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425"),
        b"\xcd" * 50,
        "220bf579ded555393f0159f66c99877822a3ecf610d1552154b41d44b94db3ae",
    ),
    (b"\x0b" * 32, b"Hi There", "c0ba18c68b90c88bc07de794bfc7d2c8d19ec31ed8773bc2b390c9604e0be11e"),
    (
        b"Jefe Jeferson Jr",
        b"what do ya want for nothing?",
        "ce791a34c59adef472997a249600f3f244d59e875be04055ba2ae12fc845e78c",
    ),
]

# Keys the published vectors leave out: empty, one block (64 bytes) and longer than SM3's 64-byte block (hashed
# first). Computed once, when signing moved from a hand-written HMAC over gmssl's pure-Python SM3 to OpenSSL's
# HMAC-SM3 through `cryptography`: the two, and the standard library's hmac over OpenSSL's SM3, agreed on these
# and on 1,370 random keys (0-600 bytes) and messages (0-5,000 bytes).
HMAC_SM3_FIXED_TS = "1735693200000"
HMAC_SM3_FIXED_BODY = b'{"infno":"2207","input":{"data":{"psn_no":"B0000001","medfee_sumamt":"250.00"}}}'
HMAC_SM3_FIXED = [
    ("", "85f2716930b6b315de6a8ea447e81e31b929a72fe5cf78951c7be5d88d341c9c"),
    ("k" * 64, "17c251720956d566f927d310cc51b24883361fc40946c0c9009da5bb4147bd61"),
    ("k" * 65, "5c12d45556c4f62792cd39e0fac4298d1d43ca72cd63a3b90fd14d022c965808"),
    ("长" * 30, "9f6382e3f592557c1e4925db1fe75b3e05c93e910e81c67951e8bd131b1a5352"),  # 90 bytes
    ("密钥" * 21 + "x" * 5, "daeb9e3b6df375d8f645422d8f506943e92d75562ab17eae9539f9d5bb569c1a"),  # 131 bytes
]


@pytest.mark.parametrize(("key", "msg", "want"), HMAC_SM3_PUBLISHED, ids=["32B-key", "37B-key", "0b", "jefe"])
def test_hmac_sm3_matches_gmt_0042(key, msg, want):
    assert signing.hmac_sm3(key, msg) == want
    assert signing.sign("sm3", key.decode("ascii"), "", msg) == want  # the keys are ASCII: secret = key
    assert _rfc2104_hmac_sm3(key, msg) == want  # and the test's own construction agrees


@pytest.mark.parametrize(
    ("secret", "want"), HMAC_SM3_FIXED, ids=[f"{len(k.encode())}B-key" for k, _ in HMAC_SM3_FIXED]
)
def test_hmac_sm3_keys_of_a_block_and_longer(secret, want):
    got = signing.sign("sm3", secret, HMAC_SM3_FIXED_TS, HMAC_SM3_FIXED_BODY)
    assert got == want
    assert signing.hmac_sm3(secret.encode("utf-8"), HMAC_SM3_FIXED_TS.encode() + HMAC_SM3_FIXED_BODY) == want


@pytest.mark.parametrize("algo", ["sha256", "sm3"])
def test_a_signed_request_passes_and_one_changed_byte_fails(client, engine, algo):
    cid, secret = (f"c-{HOSP2}", f"secret-{HOSP2}") if algo == "sha256" else ("c-sm3", "sm3-secret")
    his = His(client, HOSP2, client_id=cid, secret=secret, algo=algo)
    body = body_of(his)
    ts = str(now_ms())
    if algo == "sha256":
        sig = hmac.new(secret.encode(), ts.encode() + body, hashlib.sha256).hexdigest()
    else:
        sig = _rfc2104_hmac_sm3(secret.encode(), ts.encode() + body)
    headers = {"x-yibao-client": cid, "x-yibao-timestamp": ts, "x-yibao-signature": sig}
    assert post(client, body, headers)["infcode"] == 0
    # one byte of the body changed (the operator "001" → "002"), same headers: refused
    fresh = body_of(his)  # a new msgid, so the refusal cannot come from the msgid log
    tampered = fresh.replace(b'"opter":"001"', b'"opter":"002"', 1)
    assert len(tampered) == len(fresh) and sum(a != b for a, b in zip(fresh, tampered, strict=True)) == 1
    ts2 = str(now_ms())
    sig2 = signing.sign(algo, secret, ts2, fresh)
    reply = post(
        client, tampered, {"x-yibao-client": cid, "x-yibao-timestamp": ts2, "x-yibao-signature": sig2}
    )
    assert reply["infcode"] == -1 and reply["err_msg"] == f"x-yibao-signature: 签名错误 (HMAC-{algo.upper()})"
    # and the timestamp is signed too
    reply = post(
        client,
        fresh,
        {"x-yibao-client": cid, "x-yibao-timestamp": str(int(ts2) + 1), "x-yibao-signature": sig2},
    )
    assert reply["infcode"] == -1 and "签名错误" in reply["err_msg"]


# --- 3. authentication refusals ----------------------------------------------------------------------------


def test_timestamp_window_in_the_future(client, engine):
    his = His(client, HOSP2)
    future = str(now_ms() + 31 * 60 * 1000)
    reply = his.call("9001", SIGN_IN, timestamp=future)
    assert reply["infcode"] == -1
    assert reply["err_msg"] == "x-yibao-timestamp: 时间戳与服务器相差超过30分钟"
    assert his.call("9001", SIGN_IN, timestamp=str(now_ms() + 29 * 60 * 1000))["infcode"] == 0
    assert his.call("9001", SIGN_IN, timestamp=str(now_ms() - 29 * 60 * 1000))["infcode"] == 0
    assert "应为13位毫秒时间戳" in his.call("9001", SIGN_IN, timestamp="17356932OOOOO")["err_msg"]


def test_client_header_without_signature(client, engine):
    his = His(client, HOSP2)
    for headers in (
        {"x-yibao-client": his.client_id},
        {"x-yibao-client": his.client_id, "x-yibao-timestamp": str(now_ms())},
        {"x-yibao-client": his.client_id, "x-yibao-timestamp": str(now_ms()), "x-yibao-signature": ""},
    ):
        reply = post(client, body_of(his), headers)
        assert reply["infcode"] == -1, headers
        assert reply["err_msg"].startswith("未签名的请求"), reply["err_msg"]
        assert "x-yibao-signature" in reply["err_msg"]
    # a signature without a client id
    body = body_of(his)
    headers = sha256_headers(his.client_id, his.secret, body)
    del headers["x-yibao-client"]
    assert post(client, body, headers)["err_msg"] == "未认证的请求 (missing x-yibao-client)"


def test_suspended_client_of_an_active_institution(client, engine):
    with unit_of_work(engine) as s:
        s.execute(update(ApiClient).where(ApiClient.client_id == "c-sm3").values(status="suspended"))
    sm3 = His(client, HOSP2, client_id="c-sm3", secret="sm3-secret", algo="sm3")
    reply = sm3.call("9001", SIGN_IN)
    assert reply["infcode"] == -1 and reply["err_msg"] == "x-yibao-client: 客户端不存在或已停用"
    # correctly signed or not, the same answer (a suspended client learns nothing about its secret)
    forged = His(client, HOSP2, client_id="c-sm3", secret="wrong", algo="sm3").call("9001", SIGN_IN)
    assert forged["infcode"] == -1 and forged["err_msg"] == reply["err_msg"]
    assert His(client, HOSP2).ok("9001", SIGN_IN)["signinoutb"]["sign_no"]  # the institution is still served


def test_a_non_ascii_digit_timestamp_is_refused_by_name(client, engine):
    """As served: the ASGI route hands ``fsi.call_service`` Starlette's headers, decoded as Latin-1 (the test
    client would re-encode a raw header byte as UTF-8, so the call goes in directly)."""
    from starlette.datastructures import Headers

    from yibao.api import fsi, fsi_handlers  # noqa: F401 - registers the handlers

    his = His(client, HOSP2)
    body = body_of(his)
    sig = hmac.new(his.secret.encode(), b"\xb2" + body, hashlib.sha256).hexdigest()
    raw = [(b"x-yibao-client", his.client_id.encode()), (b"x-yibao-timestamp", b"\xb2")]
    headers = Headers(raw=[*raw, (b"x-yibao-signature", sig.encode())])
    assert headers["x-yibao-timestamp"] == "²"
    reply = exactjson.loads(fsi.call_service(body, headers))
    assert reply["infcode"] == -1
    assert reply["err_msg"] == "x-yibao-timestamp: 应为13位毫秒时间戳", reply["err_msg"]


# --- 4. yibao ledger check ---------------------------------------------------------------------------------

VISITS = [  # (institution, person, insutype, fee, acct_used_flag)
    (HOSP2, WORKER, "310", "600.00", "1"),
    (HOSP2, RESIDENT, "390", "100.00", "0"),
    (OTHER, RESIDENT, "390", "200.00", "0"),
    (OTHER, WORKER, "310", "300.00", "0"),
]


def settle_all(client) -> list[dict]:
    out = []
    for inst, psn, ins, fee, acct in VISITS:
        his = His(client, inst)
        mdtrt = his.ok("2201", {"data": {"psn_no": psn, "insutype": ins, "begntime": "2025-03-01 09:00:00"}})[
            "data"
        ]["mdtrt_id"]
        his.ok("2204", {"feedetail": [line("1", "A1", fee, mdtrt_id=mdtrt)]})
        out.append(
            his.ok(
                "2207",
                {
                    "data": {
                        "psn_no": psn,
                        "mdtrt_id": mdtrt,
                        "medfee_sumamt": fee,
                        "insutype": ins,
                        "acct_used_flag": acct,
                    }
                },
            )
        )
    return out


@pytest.fixture
def settled(client, engine):
    return settle_all(client)


def ledger_check(capsys) -> tuple[int, str, str]:
    return run(capsys, "ledger", "check")


def day_of(engine, setl_id: str) -> str:
    with unit_of_work(engine, write=False) as s:
        return s.get(Settlement, setl_id).setl_time.date().isoformat()


def test_ledger_check_passes_on_real_settlements(settled, capsys):
    rc, out, err = ledger_check(capsys)
    assert rc == 0, out + err
    assert "账务平衡，与结算一致" in out and "结算 4 笔" in out and "凭证 6 张" in out


def _entry_of(s, setl_id: str) -> LedgerEntry:
    return s.scalars(select(LedgerEntry).where(LedgerEntry.setl_id == setl_id)).one()


def test_ledger_check_catches_an_unbalanced_journal(settled, engine, capsys):
    setl_id = settled[0]["setlinfo"]["setl_id"]
    with unit_of_work(engine) as s:
        entry = _entry_of(s, setl_id)
        leg = s.scalars(
            select(LedgerPosting).where(
                LedgerPosting.entry_id == entry.id,
                LedgerPosting.account == "institution_payable",
                LedgerPosting.fund_pay_type == "310100",
            )
        ).one()
        entry_id, leg_id, was = entry.id, leg.id, leg.amount
        leg.amount = was - 1  # one fen more credited than debited
    rc, out, err = ledger_check(capsys)
    assert rc == 2 and "Traceback" not in out + err
    assert f"凭证 {entry_id} 借贷不平: -0.01" in out
    assert "账务核对失败: 1 处不符" in err
    with unit_of_work(engine) as s:
        s.get(LedgerPosting, leg_id).amount = was
    assert ledger_check(capsys)[0] == 0


def test_ledger_check_catches_fund_totals_differing_from_settlements(settled, engine, capsys):
    first, third = settled[0]["setlinfo"], settled[2]["setlinfo"]
    day = day_of(engine, first["setl_id"])
    with unit_of_work(engine) as s:
        d = s.scalars(
            select(SettlementDetail).where(
                SettlementDetail.setl_id == first["setl_id"], SettlementDetail.fund_pay_type == "310100"
            )
        ).one()
        assert d.fund_payamt == 35000
        d.fund_payamt = 35100
    rc, out, err = ledger_check(capsys)
    assert rc == 2 and "账务核对失败: 2 处不符" in err
    assert f"{day} {HOSP2} 310100: 结算合计 351.00 ≠ 账务合计 350.00" in out
    assert (
        f"结算 {first['setl_id']}: 基金支付明细合计 351.00 ≠ fund_pay_sumamt 350.00" in out
    )  # and its setlinfo
    with unit_of_work(engine) as s:
        s.execute(
            update(SettlementDetail)
            .where(SettlementDetail.setl_id == first["setl_id"], SettlementDetail.fund_pay_type == "310100")
            .values(fund_payamt=35000)
        )
    assert ledger_check(capsys)[0] == 0
    # a settlement's own fund amount changed (hifp_pay no longer adds up to fund_pay_sumamt)
    with unit_of_work(engine) as s:
        s.get(Settlement, third["setl_id"]).hifp_pay += 1
    rc, out, err = ledger_check(capsys)
    assert rc == 2 and f"结算 {third['setl_id']}: fund_pay_sumamt 不等于各基金之和" in out
    with unit_of_work(engine) as s:
        s.get(Settlement, third["setl_id"]).hifp_pay -= 1
    # a settlement moved to the day before: both days disagree with the ledger, each by name
    with unit_of_work(engine) as s:
        st = s.get(Settlement, third["setl_id"])
        st.setl_time = st.setl_time - timedelta(days=1)
    before = day_of(engine, third["setl_id"])
    posted = (date.fromisoformat(before) + timedelta(days=1)).isoformat()
    rc, out, _ = ledger_check(capsys)
    assert rc == 2
    assert f"{before} {OTHER} 390100: 结算合计 100.00 ≠ 账务合计 0.00" in out
    assert f"{posted} {OTHER} 390100: 结算合计 0.00 ≠ 账务合计 100.00" in out
    assert f"{before} {OTHER} cash: 结算合计 100.00 ≠ 账务合计 0.00" in out
    # a settlement moved to another institution
    with unit_of_work(engine) as s:
        st = s.get(Settlement, third["setl_id"])
        st.setl_time = st.setl_time + timedelta(days=1)
        st.fixmedins_code = HOSP2
    rc, out, _ = ledger_check(capsys)
    assert rc == 2
    assert f"{day} {HOSP2} 390100: 结算合计 150.00 ≠ 账务合计 50.00" in out
    assert f"{day} {OTHER} 390100: 结算合计 0.00 ≠ 账务合计 100.00" in out


def test_ledger_check_catches_a_changed_account_payment(settled, engine, capsys):
    setl_id = settled[0]["setlinfo"]["setl_id"]
    day = day_of(engine, setl_id)
    with unit_of_work(engine) as s:
        st = s.get(Settlement, setl_id)
        st.acct_pay, st.psn_cash_pay = st.acct_pay - 100, st.psn_cash_pay + 100  # keeps i2
    rc, out, _ = ledger_check(capsys)
    assert rc == 2
    assert f"{day} {HOSP2} account: 结算合计 249.00 ≠ 账务合计 250.00" in out
    assert f"{day} {HOSP2} cash: 结算合计 51.00 ≠ 账务合计 50.00" in out  # with the resident's 50.00


def test_ledger_check_catches_a_changed_account_row_of_setldetail(settled, engine, capsys):
    setl_id = settled[0]["setlinfo"]["setl_id"]
    with unit_of_work(engine) as s:
        s.execute(
            update(SettlementDetail)
            .where(SettlementDetail.setl_id == setl_id, SettlementDetail.fund_pay_type == "310200")
            .values(fund_payamt=20000)
        )
    rc, out, _ = ledger_check(capsys)
    assert rc == 2 and (setl_id in out or "310200" in out), out


def test_ledger_check_catches_a_posting_moved_to_another_institution(settled, engine, capsys):
    setl_id = settled[0]["setlinfo"]["setl_id"]
    with unit_of_work(engine) as s:
        entry = _entry_of(s, setl_id)
        s.execute(
            update(LedgerPosting)
            .where(LedgerPosting.entry_id == entry.id, LedgerPosting.fund_pay_type == "310100")
            .values(fixmedins_code=OTHER)
        )
    rc, out, _ = ledger_check(capsys)
    assert rc == 2 and HOSP2 in out and OTHER in out, out


# --- 5. GET /api/ledger/balances ---------------------------------------------------------------------------


def dec(text: str) -> Decimal:
    assert re.fullmatch(r"-?\d+\.\d{2}", text), text  # exact two-decimal strings
    return Decimal(text)


def test_ledger_balances_equal_the_hand_summed_fund_payments(client, engine):
    with unit_of_work(engine) as s:
        s.add(Role(name="finance", title="财务", permissions=["ledger.read"]))
        s.add(
            StaffUser(username="fin", display_name="财务", password_hash=PasswordHasher().hash("pass-word-2"))
        )
        s.flush()
        s.add(UserRole(username="fin", role="finance"))
    replies = settle_all(client)
    tok = client.post("/api/token", data={"username": "fin", "password": "pass-word-2"}).json()[
        "access_token"
    ]
    auth = {"Authorization": f"Bearer {tok}"}

    # by hand (policy of tests.world): 310 deductible 100.00 then 70 %; 390 no deductible, 50 %
    hand = {
        ("fund_expense", "310100", HOSP2): "350.00",  # (600 − 100) × 70 %
        ("fund_expense", "390100", HOSP2): "50.00",  # 100 × 50 %
        ("fund_expense", "390100", OTHER): "100.00",  # 200 × 50 %
        ("fund_expense", "310100", OTHER): "210.00",  # 300 × 70 % (deductible already met)
        ("personal_account", "310200", HOSP2): "250.00",  # the worker's own part from the account
        ("patient_cash", None, HOSP2): "50.00",
        ("patient_cash", None, OTHER): "190.00",  # 100.00 + 90.00
    }
    # the same from the facade's replies: every fund's setldetail row, the account, the cash
    from_replies: dict[tuple, Decimal] = defaultdict(Decimal)
    for (inst, *_), r in zip(VISITS, replies, strict=True):
        for d in r["setldetail"]:
            account = "personal_account" if d["fund_pay_type"] == "310200" else "fund_expense"
            from_replies[(account, d["fund_pay_type"], inst)] += Decimal(str(d["fund_payamt"]))
        if Decimal(str(r["setlinfo"]["psn_cash_pay"])):
            from_replies[("patient_cash", None, inst)] += Decimal(str(r["setlinfo"]["psn_cash_pay"]))
    assert {k: v.quantize(CENT) for k, v in from_replies.items()} == {k: Decimal(v) for k, v in hand.items()}

    resp = client.get("/api/ledger/balances", headers=auth)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    got = {(b["account"], b["fund_pay_type"], b["fixmedins_code"]): b for b in body["balances"]}
    assert len(got) == len(body["balances"])  # one row per account × fund × institution
    for key, amount in hand.items():
        assert got[key]["balance"] == amount, key
        assert got[key]["postings"] == (2 if key == ("patient_cash", None, OTHER) else 1), key
    # the other side of each leg
    for (account, fpt, inst), amount in hand.items():
        contra = {"fund_expense": "institution_payable", "personal_account": "institution_payable"}.get(
            account, "institution_cash"
        )
        if contra == "institution_payable":
            assert got[(contra, fpt, inst)]["balance"] == f"-{amount}"
    assert got[("institution_cash", None, OTHER)]["balance"] == "-190.00"
    # the opening balances of the two workers' accounts (not an institution's)
    assert got[("opening_balance", None, None)]["balance"] == "2000.00"
    assert got[("personal_account", "310200", None)]["balance"] == "-2000.00"
    assert len(got) == len(hand) + 5 + 2 + 2  # + the contra legs (5 payable, 2 cash) + opening
    assert sum(dec(b["balance"]) for b in body["balances"]) == dec(body["total"]) == Decimal("0.00")

    # by institution
    other = client.get("/api/ledger/balances", params={"fixmedins_code": OTHER}, headers=auth).json()
    assert {(b["account"], b["fund_pay_type"]): b["balance"] for b in other["balances"]} == {
        ("fund_expense", "310100"): "210.00",
        ("fund_expense", "390100"): "100.00",
        ("institution_payable", "310100"): "-210.00",
        ("institution_payable", "390100"): "-100.00",
        ("patient_cash", None): "190.00",
        ("institution_cash", None): "-190.00",
    }
    assert other["total"] == "0.00"
    # by fund: the pool fund of 职工 across institutions
    pool = client.get("/api/ledger/balances", params={"fund_pay_type": "310100"}, headers=auth).json()
    expense = [b for b in pool["balances"] if b["account"] == "fund_expense"]
    assert sum(dec(b["balance"]) for b in expense) == Decimal("560.00")
    assert {b["fund_pay_type"] for b in pool["balances"]} == {"310100"}
    # by book date: today holds the settlements, the opening balances are dated 2024-12-31
    today = date.today()
    later = client.get("/api/ledger/balances", params={"from": str(today + timedelta(days=1))}, headers=auth)
    assert later.json() == {"balances": [], "total": "0.00"}
    opening = client.get("/api/ledger/balances", params={"to": "2024-12-31"}, headers=auth).json()
    assert {(b["account"], b["balance"]) for b in opening["balances"]} == {
        ("opening_balance", "2000.00"),
        ("personal_account", "-2000.00"),
    }
    assert client.get("/api/ledger/balances").status_code == 401
    assert client.get("/api/ledger/balances", params={"from": "yesterday"}, headers=auth).status_code == 422
