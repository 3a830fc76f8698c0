"""A finding given to an HIS (审核结果): its ``jr_id``, the action in the scene, the legal basis with the
knowledge rows, the per-line detail (``judge_result_detail_dtos``), kept as an
:class:`~yibao.store.tables.AuditWarning`; and what 3101/3102 and the inline checks read once per library and
database (the online engine, the knowledge rows, the catalogue's list types)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from yibao import ids
from yibao.money import div_round_half_up, fmt_fen
from yibao.store import audit_warnings as aw
from yibao.store.audit_view import list_types
from yibao.store.statements import Read
from yibao.store.uow import UnitOfWork
from yibao.supervision.findings import Finding
from yibao.supervision.library import Library, Rule
from yibao.supervision.online import OnlineEngine
from yibao.supervision.service import library as library_service

# vola_amt_stas 违规金额计算状态 (the regional dictionary's codes are not public): computed from the lines at
# stake (their amounts, or the share above a limit) / not applicable (a visit-level or statistical finding)
VOLA_AMT_COMPUTED = "1"
VOLA_AMT_NONE = "0"
EVIDENCE_LIMIT = 500  # vola_evid C500
TYPES_SECONDS = 300.0  # how long the catalogue's code → list_type map is kept before it is read again


@dataclass
class Issued:
    """A finding given to the HIS: its ``jr_id``, rule, action in the scene, the legal basis with the knowledge
    rows, and the per-line detail (``judge_result_detail_dtos``)."""

    jr_id: str
    finding: Finding
    rule: Rule
    action: str  # warn | block
    evidence: str
    details: list[dict] = field(default_factory=list)

    @property
    def amount_status(self) -> str:
        return VOLA_AMT_NONE if (self.rule.amount or self.rule.spec.amount) == "none" else VOLA_AMT_COMPUTED


# --- the library, the session, the catalogue ----------------------------------------------------------------


def library_of(uow: UnitOfWork) -> tuple[Library, OnlineEngine]:
    return library_service.current(uow.session)


@lru_cache(maxsize=8)
def _reach(engine: OnlineEngine) -> tuple[int, frozenset[str]]:
    """How far back a visit's history is read, and which codes of it (per library version)."""
    return engine.library.lookback_days(), frozenset(engine.library.cross_codes())


@lru_cache(maxsize=8)
def _knowledge(engine: OnlineEngine) -> dict[int, dict]:
    """k_id → the knowledge row's columns (with the rule's parameters), as the engine numbers them."""
    out = {}
    for names, rows in engine.library.tables().values():
        for row in rows:
            values = dict(zip(names, row, strict=True))
            out[values["k_id"]] = {
                k: v for k, v in values.items() if k not in ("rule_code", "k_id", "from_day", "to_day")
            }
    return out


_types: dict[str, tuple[float, dict[str, str]]] = {}


def catalogue_types(uow: UnitOfWork) -> dict[str, str]:
    """The catalogue's code → list_type, kept for ``TYPES_SECONDS`` per database (a code's type never changes;
    a code new in the catalogue is known at the next read)."""
    session = uow.session
    key = str(session.get_bind().engine.url)
    now = time.monotonic()
    got = _types.get(key)
    if got is None or now - got[0] > TYPES_SECONDS:
        got = _types[key] = (now, list_types(session))
    return got[1]


def context_reads(engine: OnlineEngine, visit, *, stored: bool) -> dict[str, Read]:
    """The reads of a visit's context (its lines when ``stored``, the person's history as far back and of the
    codes the library needs); ``visit`` has ``mdtrt_id``, ``psn_no`` and ``begntime``."""
    lookback, cross = _reach(engine)
    get = visit.get if isinstance(visit, dict) else lambda k: getattr(visit, k)
    return aw.context_reads(
        get("mdtrt_id"), get("psn_no"), get("begntime"), lookback, set(cross), stored=stored
    )


# --- one finding as given to the HIS -------------------------------------------------------------------------


def new_jr_id(admdvs: str, now: datetime) -> str:
    """A warning's id (27 characters): admdvs + J + time + 8 random digits; its details append 3 digits."""
    return f"{admdvs[:6]}J{now:%y%m%d%H%M%S}{ids.digits(8)}"


def _shares(f: Finding) -> dict[int, int]:
    """The finding's amount over its lines at fault, in proportion to their amounts (the last takes the
    rounding), so the details add up to ``vola_amt``."""
    at_fault = [x for x in f.lines if x.role == "1"]
    if not at_fault or not f.vola_amt:
        return {}
    total = sum(x.amt for x in at_fault)
    out, given = {}, 0
    for x in at_fault[:-1]:
        out[x.line_id] = div_round_half_up(f.vola_amt * x.amt, total) if total else 0
        given += out[x.line_id]
    out[at_fault[-1].line_id] = f.vola_amt - given
    return out


def _details(jr_id: str, f: Finding, names: dict[int, str]) -> list[dict]:
    """``judge_result_detail_dtos``: one row per line at fault (1 违规项) or involved (2 涉及项), named by the
    order's rx_id (or a stored line's feedetl_sn); a visit-level finding has one row for the visit."""
    if not f.lines:
        return [
            {"jrd_id": f"{jr_id}001", "patn_id": f.psn_no or "", "mdtrt_id": f.mdtrt_id or "", "rx_id": "",
             "vola_item_type": "1", "vola_amt": fmt_fen(f.vola_amt)}
        ]  # fmt: skip
    shares = _shares(f)
    return [
        {
            "jrd_id": f"{jr_id}{n:03d}",
            "patn_id": f.psn_no or "",
            "mdtrt_id": f.mdtrt_id or "",
            "rx_id": names.get(x.line_id, x.feedetl_sn or ""),
            "vola_item_type": x.role,
            "vola_amt": fmt_fen(shares.get(x.line_id, 0)),
        }
        for n, x in enumerate(f.lines, start=1)
    ]


def _evidence(rule: Rule, f: Finding, knowledge: dict[int, dict]) -> str:
    """``vola_evid``: the rule's legal basis and the knowledge rows that matched (at most 500 characters)."""
    parts = [rule.legal_basis] if rule.legal_basis else []
    for k in f.k_ids:
        row = knowledge.get(k) or {}
        shown = ", ".join(f"{n}={v}" for n, v in row.items() if v is not None)
        parts.append(f"知识点 {rule.rule_code}#{k}" + (f" ({shown})" if shown else ""))
    text = "；".join(parts)
    return text if len(text) <= EVIDENCE_LIMIT else text[: EVIDENCE_LIMIT - 1] + "…"


def issue(
    findings: list[Finding],
    engine: OnlineEngine,
    scene: str,
    admdvs: str,
    now: datetime,
    names: dict[int, str],
) -> list[Issued]:
    """The findings still standing (an exempted one is a trace, never a warning), each with its jr_id."""
    knowledge = _knowledge(engine)
    out = []
    for f in findings:
        if f.exempt:
            continue
        rule = engine.library.rules[f.rule_code]
        jr_id = new_jr_id(admdvs, now)
        out.append(
            Issued(
                jr_id, f, rule, rule.action(scene), _evidence(rule, f, knowledge), _details(jr_id, f, names)
            )
        )
    return out


def record(uow: UnitOfWork, ctx, issued: list[Issued], infno: str, warn_type: str) -> None:
    """Keep the warnings given (with the call's unit of work: a refused call keeps none)."""
    if not issued:
        return
    now = ctx.clock()
    uow.write(
        aw.INSERT_WARNINGS,
        [
            {
                "jr_id": i.jr_id,
                "msgid": ctx.msgid or "",
                "infno": infno,
                "warn_type": warn_type,
                "fixmedins_code": ctx.fixmedins_code,
                "psn_no": i.finding.psn_no,
                "mdtrt_id": i.finding.mdtrt_id,
                "rule_code": i.rule.rule_code,
                "sev_deg": i.rule.sev_deg,
                "action": i.action,
                "vola_amt": i.finding.vola_amt,
                "vola_cont": i.finding.vola_cont,
                "detail": i.details,
                "created_at": now,
            }
            for i in issued
        ],
    )


def forget() -> None:
    """Drop what is kept per library and database (tests, and after a catalogue import in this process)."""
    _types.clear()
    _reach.cache_clear()
    _knowledge.cache_clear()
