"""The national transaction facade (定点医药机构接口): ``POST /fsi/api/callService``.

Flow of one call: parse the envelope → authenticate the institution's client → look the
``msgid`` up (a retry with the same content returns the stored reply; different content is
refused) → run the transaction in ONE unit of work that also stores the reply under the
msgid. A business refusal rolls everything back and stores only the refusal, so a retry is
answered identically and nothing is half-written. Every failure is ``infcode -1`` with an
``err_msg`` naming the field and the reason; never an HTTP 500.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from yibao import ids
from yibao.api import exactjson, signing
from yibao.api.fields import CODE, Node
from yibao.config import get_settings
from yibao.errors import YibaoError, printable, quote
from yibao.settlement.service import Context
from yibao.store.db import facade_unit_of_work, unit_of_work
from yibao.store.statements import Query, Write
from yibao.store.tables import ApiClient, Institution, MessageLog
from yibao.store.uow import PrefetchFailed, UnitOfWork

log = logging.getLogger("yibao.fsi")
Handler = Callable[[UnitOfWork, Context, Node, dict], dict]
HANDLERS: dict[str, Handler] = {}
# per transaction, the reads its handler will make that need only the message (the service's own list of its
# reads): they travel with the authentication's round trip (PostgreSQL)
AHEAD: dict[str, Callable[[Node, str], dict]] = {}
TOMBSTONE = "*"  # digest of a msgid reserved by 2601 冲正 before the original arrived


def transaction(*infnos: str):
    """Register a handler for national transaction numbers."""

    def deco(fn: Handler) -> Handler:
        for n in infnos:
            HANDLERS[n] = fn
        return fn

    return deco


def reads_ahead(*infnos: str):
    """Register what gives a transaction's reads ahead: ``fn(input, fixmedins_code)`` returns the service's own
    declared reads for the message (a dict of name → read), or stops at any bad input (the handler then refuses
    it by name)."""

    def deco(fn: Callable[[Node, str], dict]):
        for n in infnos:
            AHEAD[n] = fn
        return fn

    return deco


# client_id → (secret, sign_algo) as this process last read them in an authentication that succeeded
_SIGNED_BY: dict[str, tuple[str, str]] = {}


def _signed_as_before(creds: signing.Credentials, body: bytes) -> tuple[str, str] | None:
    """The (secret, sign_algo) the request verifies against, if it does against its client's as last read
    here. Reads ahead (and the row locks some take) go only with such a request, so an unsigned or forged one
    never takes a lock; the authentication still decides, on the row it reads."""
    known = _SIGNED_BY.get(creds.client_id or "")
    if known is None or signing.check(creds, secret=known[0], algo=known[1], body=body) is not None:
        return None
    return known


def _declare_ahead(uow: UnitOfWork, infno: str, envelope: dict) -> None:
    declare = AHEAD.get(infno)
    if declare is not None:
        with contextlib.suppress(YibaoError):  # (bad input: the handler refuses it by name)
            uow.ahead(declare(Node(envelope.get("input") or {}, "input"), envelope["fixmedins_code"]))


class Refusal(YibaoError):
    """Refused before any business logic (envelope, authentication, idempotency)."""


def _now() -> datetime:
    return datetime.now()


def _stamp(t: datetime) -> str:
    return f"{t:%Y%m%d%H%M%S}{t.microsecond // 1000:03d}"  # yyyyMMddHHmmssSSS


def _envelope(infcode: int, output: Any = None, err_msg: str = "", received: datetime | None = None) -> dict:
    """The national reply envelope. ``inf_refmsgid`` is the receiver's (this region's) admdvs + time + serial;
    ``refmsg_time`` is when the message arrived, ``respond_time`` when the reply was made."""
    now = _now()
    return {
        "infcode": infcode,
        "inf_refmsgid": f"{get_settings().region[:6]}{now:%Y%m%d%H%M%S}{ids.digits(10)}",
        "refmsg_time": _stamp(received or now),
        "respond_time": _stamp(now),
        "err_msg": err_msg,
        "warn_msg": "",
        "output": output if output is not None else {},
    }


ERR_MSG_LIMIT = 300  # characters: a reason names a field and quotes at most a short prefix of a value


def refuse(message: str, received: datetime | None = None) -> dict:
    """A refusal's envelope. Whatever built the message, the reply never carries a control character nor more
    than ``ERR_MSG_LIMIT`` characters back (values are quoted short where the message is made; this is the
    last guard)."""
    return _envelope(-1, err_msg=printable(message, ERR_MSG_LIMIT), received=received)


def digest(envelope: dict) -> str:
    """What makes two messages 'the same': transaction, institution and input (not times or signatures)."""
    core = {
        "infno": envelope.get("infno"),
        "fixmedins_code": envelope.get("fixmedins_code"),
        "input": envelope.get("input"),
    }
    try:
        text = exactjson.dumps(core)
    except TypeError:  # (orjson refuses a lone surrogate, which a JSON "\ud800" escape decodes to)
        raise Refusal("input: 报文含有无效的 Unicode 字符 (a lone surrogate)") from None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_CLIENT, _INST, _MSG = ApiClient.__table__, Institution.__table__, MessageLog.__table__
# One round trip on every call: the client, its institution (its designation on the service date is checked
# by the transactions that open or settle a visit, not here) and the msgid's
# stored reply, if any (used only once the caller is authenticated).
_AUTH = Query(
    "authenticate",
    select(
        _CLIENT.c.secret,
        _CLIENT.c.sign_algo,
        _CLIENT.c.status,
        _CLIENT.c.fixmedins_code,
        _INST.c.admdvs,
        _INST.c.dedc_hosp_lv,
        _MSG.c.request_digest,
        _MSG.c.response,
    )
    .select_from(_CLIENT)
    .join(_INST, _INST.c.fixmedins_code == _CLIENT.c.fixmedins_code)
    .outerjoin(_MSG, _MSG.c.msgid == bindparam("msgid"))
    .where(_CLIENT.c.client_id == bindparam("client_id")),
)
_LOG_REPLY = Write.insert(
    "log_reply",
    _MSG,
    ("msgid", "infno", "fixmedins_code", "request_digest", "infcode", "response", "received_at", "setl_id"),
)


def _authenticate(
    uow: UnitOfWork,
    creds: signing.Credentials,
    envelope: dict,
    body: bytes,
    ctx: Context,
    verified: tuple[str, str] | None = None,
):
    """Check the client, its signature and institution; return the msgid's stored row (or None).
    ``verified``: the (secret, sign_algo) the signature was already checked against (checked again only if
    the client's row now holds others)."""
    if not creds.client_id:
        raise Refusal(f"未认证的请求 (missing {signing.HEADER_CLIENT})")
    row = uow.first(_AUTH(client_id=creds.client_id, msgid=envelope["msgid"]))
    if row is None or row.status != "active":
        raise Refusal(f"{signing.HEADER_CLIENT}: 客户端不存在或已停用")
    code = row.fixmedins_code
    if verified != (row.secret, row.sign_algo):
        problem = signing.check(creds, secret=row.secret, algo=row.sign_algo, body=body)
        if problem:
            raise Refusal(problem)
    if envelope.get("fixmedins_code") != code:
        raise Refusal(f"fixmedins_code: 与客户端所属机构 {code} 不符")
    _SIGNED_BY[creds.client_id] = (row.secret, row.sign_algo)
    ctx.admdvs, ctx.dedc_hosp_lv = row.admdvs, row.dedc_hosp_lv
    return row


def _parse(body: bytes) -> dict:
    try:
        envelope = exactjson.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refusal(f"报文不是合法的 JSON: {exc}") from None
    if not isinstance(envelope, dict):
        raise Refusal("报文应为 JSON 对象")
    for key in ("infno", "msgid", "fixmedins_code"):
        v = envelope.get(key)
        if not isinstance(v, str) or not v.strip():
            raise Refusal(f"{key}: 缺少 (missing)")
    if len(envelope["msgid"]) > 40:
        raise Refusal("msgid: 长度超过 40")
    if not CODE.fullmatch(envelope["msgid"]):
        raise Refusal(f"msgid: {quote(envelope['msgid'])} 应为ASCII字母、数字或符号 (visible ASCII only)")
    if not isinstance(envelope.get("input", {}), dict):
        raise Refusal("input: 应为对象")
    if envelope["infno"] not in HANDLERS:
        raise Refusal(f"infno: 不支持的交易编号 {quote(envelope['infno'])}")
    return envelope


def call_service(body: bytes, headers, received: datetime | None = None) -> bytes:
    """Answer one envelope with the reply's UTF-8 JSON (never raises); ``received``: when it arrived."""
    received = received or _now()
    try:
        envelope = _parse(body)
        return _run(envelope, signing.Credentials.from_headers(headers), body, received)
    except YibaoError as exc:
        return exactjson.dumps_bytes(refuse(exc.message, received))
    except Exception:  # a bug must still answer in the envelope (and be logged with its traceback)
        log.exception("callService failed")
        return exactjson.dumps_bytes(
            refuse("系统内部错误，请稍后重试 (internal error; the request was not applied)", received)
        )


def _check_stored(msgid: str, dg: str, request_digest: str | None, response: str | None) -> bytes | None:
    if request_digest is None:
        return None
    if request_digest not in (dg, TOMBSTONE):
        raise Refusal(f"msgid: {msgid} 已使用，且报文内容不同 (a retry must resend the same message)")
    return response.encode("utf-8")


def _stored(session: Session, msgid: str, dg: str) -> bytes | None:
    row = (
        session.connection()
        .execute(select(_MSG.c.request_digest, _MSG.c.response).where(_MSG.c.msgid == msgid))
        .first()
    )
    return None if row is None else _check_stored(msgid, dg, row.request_digest, row.response)


def _run(
    envelope: dict, creds: signing.Credentials, body: bytes, received: datetime, attempts: int = 3
) -> bytes:
    """Authenticate, answer a retry from the log, or run the transaction and log its reply — one unit of work."""
    msgid, infno, code = envelope["msgid"], envelope["infno"], envelope["fixmedins_code"]
    dg = digest(envelope)
    verified = _signed_as_before(creds, body) if infno in AHEAD else None
    ahead, attempt = verified is not None, 0
    while True:
        ctx = Context(fixmedins_code=code, opter=str(envelope.get("opter") or "his"), msgid=msgid)
        try:
            with facade_unit_of_work() as uow:  # (its audit rows go last, with the commit)
                if ahead:
                    _declare_ahead(uow, infno, envelope)
                auth = _authenticate(uow, creds, envelope, body, ctx, verified)
                stored = _check_stored(msgid, dg, auth.request_digest, auth.response)
                if stored is not None:
                    return stored
                output = HANDLERS[infno](uow, ctx, Node(envelope.get("input") or {}, "input"), envelope)
                reply = exactjson.dumps_bytes(_envelope(0, output, received=received))
                setlinfo = output.get("setlinfo") if isinstance(output, dict) else None
                # a concurrent duplicate msgid fails (primary key) when this is sent, inside this unit of work
                uow.write(
                    _LOG_REPLY,
                    {
                        "msgid": msgid,
                        "infno": infno,
                        "fixmedins_code": code,
                        "request_digest": dg,
                        "infcode": 0,
                        "response": reply.decode("utf-8"),
                        "received_at": ctx.clock(),
                        "setl_id": setlinfo.get("setl_id") if isinstance(setlinfo, dict) else None,
                    },
                )
            return reply
        except Refusal:  # authentication and msgid misuse are not logged under the msgid
            _SIGNED_BY.pop(
                creds.client_id or "", None
            )  # (a suspended client's next calls read nothing ahead)
            raise
        except PrefetchFailed:  # (not an attempt: the call runs again as if nothing had been read ahead)
            ahead = False
            continue
        except YibaoError as exc:
            return _store_refusal(envelope, dg, exc.message, received)
        # a unique key taken by a concurrent call: the same msgid (answer with its reply) or, say, the serial
        # number of a fee line uploaded at the same moment (retry: the next attempt sees it and refuses by name)
        except IntegrityError:
            with unit_of_work(write=False) as s:
                stored = _stored(s, msgid, dg)
            if stored is not None:
                return stored
            attempt += 1
            if attempt == attempts:
                raise
        except OperationalError:  # deadlock / serialization / busy: retry the whole unit of work
            attempt += 1
            if attempt == attempts:
                raise


def _store_refusal(envelope: dict, dg: str, message: str, received: datetime) -> bytes:
    """A business refusal is deterministic: keep it so a retry gets the same answer."""
    reply = exactjson.dumps_bytes(refuse(message, received))
    try:
        with unit_of_work() as s:
            stored = _stored(s, envelope["msgid"], dg)
            if stored is not None:
                return stored
            s.add(
                MessageLog(
                    msgid=envelope["msgid"],
                    infno=envelope["infno"],
                    fixmedins_code=envelope["fixmedins_code"],
                    request_digest=dg,
                    infcode=-1,
                    response=reply.decode("utf-8"),
                    received_at=received,
                )
            )
    except IntegrityError:
        pass
    return reply


def tombstone(uow: UnitOfWork, msgid: str, infno: str, fixmedins_code: str, reason: str) -> None:
    """Reserve a msgid that never arrived (2601 冲正 first): when it arrives it gets this refusal."""
    uow.write(
        _LOG_REPLY,
        {
            "msgid": msgid,
            "infno": infno,
            "fixmedins_code": fixmedins_code,
            "request_digest": TOMBSTONE,
            "infcode": -1,
            "response": exactjson.dumps(refuse(reason)),
            "received_at": _now(),
            "setl_id": None,
        },
    )


def original_message(uow: UnitOfWork, msgid: str):
    """The message log's row of ``msgid``, if any."""
    return uow.first(_MESSAGE(msgid=msgid))


_MESSAGE = Query(
    "message",
    select(
        _MSG.c.msgid, _MSG.c.infno, _MSG.c.fixmedins_code, _MSG.c.infcode, _MSG.c.response, _MSG.c.setl_id
    ).where(_MSG.c.msgid == bindparam("msgid")),
)
