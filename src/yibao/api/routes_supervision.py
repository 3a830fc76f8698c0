"""REST resources of smart audit (智能审核, supervision.md §2–§4): the rule library — list, one rule with its
knowledge rows and versions, enable, disable, edit, import rule files (a YAML with its CSV / XLSX knowledge
files, or a zip of them) — the 事后 runs, and the suspicions (疑点) they wrote, filtered and paged.

Conventions as the other resources: a bearer token with ``supervision.read`` to read and
``supervision.write`` to change; refusals by :func:`~yibao.api.refusals.refusals` (404 for what does
not exist, 422 naming the field, 409 for a write a concurrent call made first); a rule file that does not
validate is a 422 whose ``detail`` is the list of its problems, one per row and column. Amounts are
two-decimal yuan strings. Every change is one unit of work with its rule version and audit row. The
suspicion workflow's steps (answer, appeal, decide, deduct) are resources of their own
(``supervision/service/suspicions.py``); here a suspicion is only read.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, UploadFile
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from yibao.api.auth import actor, require
from yibao.api.refusals import refusals
from yibao.money import AmountError, fmt_fen, parse_amount
from yibao.store import audit_rule_reads, audit_runs
from yibao.store.db import unit_of_work
from yibao.supervision.library import ACTIONS, LibraryError
from yibao.supervision.service import rules as service

router = APIRouter(prefix="/api/supervision", tags=["智能审核 smart audit"])

READ, WRITE = "supervision.read", "supervision.write"
Reader = Annotated[dict, Depends(require(READ))]
Writer = Annotated[dict, Depends(require(WRITE))]
RuleCode = Annotated[str, PathParam(min_length=2, max_length=40, description="规则编码")]
Id = Annotated[int, PathParam(ge=1, le=2**62)]
UPLOAD_FILES = ("yaml", "yml", "csv", "xlsx")
MAX_UPLOAD = 20 * 1024 * 1024  # bytes of one upload, and of a zip's contents together
MAX_FILES = 200


class ReasonIn(BaseModel):
    reason: str = Field(..., max_length=400, description="原因（必填，记入审计日志）")


class EditIn(BaseModel):
    reason: str = Field(..., max_length=400, description="原因（必填）")
    sev_deg: str | None = Field(None, max_length=1, description="1 明确违规 / 2 高度可疑 / 3 轻度可疑")
    actions: dict[str, str] | None = Field(
        None, description=f"场景 upload / settle → {' / '.join(ACTIONS)}（整体替换）"
    )
    effective_to: date | None = Field(None, description="失效日期（含）；null 取消")


_MONEY = {"vola_amt": "vola_amt", "amount_fen": "amount", "deducted_fen": "deducted", "upheld_fen": "upheld"}


def _out(row: dict) -> dict:
    """Amounts (fen) as yuan strings, under names without ``_fen``; a line's ``amt`` too."""
    out: dict[str, Any] = {}
    for k, v in row.items():
        if k in _MONEY:
            out[_MONEY[k]] = None if v is None else fmt_fen(v)
        elif k == "lines" and isinstance(v, list):
            out[k] = [{**x, "amt": fmt_fen(x["amt"])} if isinstance(x.get("amt"), int) else x for x in v]
        else:
            out[k] = v
    return out


# --- rules ----------------------------------------------------------------------------------------------------


@router.get("/rules", summary="规则库: every rule with its class, kind, severity, stages, actions, version")
def list_rules(
    _: Reader,
    kind: str | None = Query(None, max_length=30, description="规则类型"),
    rule_class: str | None = Query(None, max_length=40, description="大类或子类（政策类、药品政策限定 …）"),
    enabled: bool | None = Query(None),
    stage: str | None = Query(None, pattern="^(pre|mid|post)$"),
) -> dict:
    f = audit_rule_reads.RuleFilter(kind=kind, rule_class=rule_class, enabled=enabled, stage=stage)
    with unit_of_work(write=False) as s:
        items = audit_rule_reads.rules(s, f)
    return {"items": items, "total": len(items)}


def _rule(code: str, rows: int = 50, offset: int = 0) -> dict:
    with unit_of_work(write=False) as s:
        found = audit_rule_reads.rule(s, code, rows=rows, offset=offset)
    if found is None:
        raise HTTPException(404, f"rule_code: 规则不存在 {code}")
    return found


@router.get("/rules/{code}", summary="一条规则: header, parameters, exemptions, knowledge rows, versions")
def one_rule(
    code: RuleCode,
    _: Reader,
    rows: int = Query(50, ge=0, le=5000, description="知识点行数"),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> dict:
    return _rule(code, rows, offset)


def _switch(code: str, enabled: bool, body: ReasonIn, claims: dict) -> dict:
    with refusals(), unit_of_work() as s:
        service.set_enabled(s, code, enabled, actor=actor(claims), reason=body.reason)
    return _rule(code)


@router.post("/rules/{code}/enable", summary="启用 a rule (reason required, audited)")
def enable(code: RuleCode, body: ReasonIn, claims: Writer) -> dict:
    return _switch(code, True, body, claims)


@router.post("/rules/{code}/disable", summary="停用 a rule (reason required, audited)")
def disable(code: RuleCode, body: ReasonIn, claims: Writer) -> dict:
    return _switch(code, False, body, claims)


@router.patch("/rules/{code}", summary="修改 severity, inline actions or end date (the rest comes by import)")
def edit(code: RuleCode, body: EditIn, claims: Writer) -> dict:
    changes = {
        k: getattr(body, k) for k in ("sev_deg", "actions", "effective_to") if k in body.model_fields_set
    }
    if not changes:
        raise HTTPException(422, "没有要修改的内容: sev_deg、actions 或 effective_to")
    if "effective_to" in changes and changes["effective_to"] is not None:
        changes["effective_to"] = changes["effective_to"].isoformat()
    with refusals(), unit_of_work() as s:
        service.edit(s, code, changes, actor=actor(claims), reason=body.reason)
    return _rule(code)


@router.post(
    "/rules/import",
    summary="导入规则文件: YAML with its knowledge CSV / XLSX, or a zip of them; refused whole with every problem",
)
async def import_rules(
    claims: Writer,
    files: list[UploadFile] = File(..., description="规则 YAML 与知识点 CSV / XLSX 文件，或一个 zip"),
    reason: str = Form("", max_length=400, description="原因（如带来的知识点批次）"),
) -> dict:
    with tempfile.TemporaryDirectory(prefix="yibao-rules-") as tmp:
        root = Path(tmp)
        if len(files) > MAX_FILES:
            raise HTTPException(422, f"files: 至多 {MAX_FILES} 个文件")
        for upload in files:
            data = await upload.read(MAX_UPLOAD + 1)
            if len(data) > MAX_UPLOAD:
                raise HTTPException(422, f"files: {upload.filename} 超过 {MAX_UPLOAD // 1024 // 1024} MB")
            _save(root, upload.filename or "", data)
        folder = _rules_folder(root)
        try:
            library = service.read_files(folder, base=folder)
        except LibraryError as exc:
            raise HTTPException(422, exc.problems) from None
    with refusals(), unit_of_work() as s:
        done = service.import_rules(s, library, actor=actor(claims), reason=reason)
    return {"added": done.added, "changed": done.changed, "unchanged": done.unchanged}


def _safe_name(name: str) -> PurePosixPath:
    """A relative path inside the upload (no absolute path, no ``..``), of a type the library reads."""
    path = PurePosixPath(name.replace("\\", "/"))
    if not name or path.is_absolute() or ".." in path.parts:
        raise HTTPException(422, f"files: 文件名无效 {name[:80]!r}")
    return path


def _save(root: Path, name: str, data: bytes) -> None:
    path = _safe_name(name)
    if path.suffix.lower() == ".zip":
        _unzip(root, data)
        return
    if path.suffix.lower().lstrip(".") not in UPLOAD_FILES:
        raise HTTPException(422, f"files: {name} 须为 YAML、CSV、XLSX 或 zip")
    target = root / path.name
    if target.exists():
        raise HTTPException(422, f"files: 文件名重复 {path.name}")
    target.write_bytes(data)


def _unzip(root: Path, data: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise HTTPException(422, "files: zip 文件无法读取") from None
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > MAX_FILES or sum(m.file_size for m in members) > MAX_UPLOAD:
        raise HTTPException(422, f"files: zip 内容过大 (至多 {MAX_FILES} 个文件、共 20 MB)")
    for m in members:
        path = _safe_name(m.filename)
        if path.name.startswith(".") or "__MACOSX" in path.parts:
            continue
        if path.suffix.lower().lstrip(".") not in UPLOAD_FILES:
            continue
        target = root.joinpath(*path.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(archive.read(m))


def _rules_folder(root: Path) -> Path:
    """The folder of the rule YAML files: the upload's top, or the one folder of a zip that holds them."""
    folders = sorted({p.parent for p in [*root.rglob("*.yaml"), *root.rglob("*.yml")]})
    if not folders:
        raise HTTPException(422, "files: 没有规则 YAML 文件")
    if len(folders) > 1:
        raise HTTPException(422, "files: 规则 YAML 文件须在同一目录")
    return folders[0]


# --- runs and suspicions --------------------------------------------------------------------------------------


@router.get("/runs", summary="事后审核批次 (newest first), paged")
def list_runs(_: Reader, page: int = Query(1, ge=1, le=100_000), size: int = Query(50, ge=1, le=500)) -> dict:
    with unit_of_work(write=False) as s:
        items, total = audit_runs.runs(s, size, (page - 1) * size)
    return {"items": [_out(r) for r in items], "total": total, "page": page, "size": size}


@router.get("/runs/{run_id}", summary="一个审核批次: counts, timing, new suspicions per rule")
def one_run(run_id: Id, _: Reader) -> dict:
    with unit_of_work(write=False) as s:
        found = audit_runs.run(s, run_id)
    if found is None:
        raise HTTPException(404, f"run: 审核批次不存在 #{run_id}")
    return {**_out(found), "rules_found": [_out(r) for r in found["rules_found"]]}


def _min_fen(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        fen = parse_amount(text)
    except AmountError:
        raise HTTPException(422, "min_amount: 不是金额（元，最多两位小数，如 100.00）") from None
    if fen < 0:
        raise HTTPException(422, "min_amount: 须不小于 0")
    return fen


@router.get("/suspicions", summary="疑点 worklist (largest amount first), filtered and paged")
def list_suspicions(
    _: Reader,
    rule_code: str | None = Query(None, max_length=40),
    fixmedins_code: str | None = Query(None, max_length=12),
    status: str | None = Query(None, max_length=12),
    run_id: int | None = Query(None, ge=1, le=2**62),
    mdtrt_id: str | None = Query(None, max_length=30),
    min_amount: str | None = Query(None, max_length=20, description="涉及金额不少于（元）"),
    due_before: date | None = Query(None, description="答复期限早于"),
    page: int = Query(1, ge=1, le=100_000),
    size: int = Query(50, ge=1, le=500),
) -> dict:
    f = audit_runs.SuspicionFilter(
        rule_code=rule_code or None,
        fixmedins_code=fixmedins_code or None,
        status=status or None,
        run_id=run_id,
        mdtrt_id=mdtrt_id or None,
        min_amount_fen=_min_fen(min_amount),
        due_before=due_before,
    )
    with unit_of_work(write=False) as s:
        items = audit_runs.suspicions(s, f, size, (page - 1) * size)
        total = audit_runs.count_suspicions(s, f)
    return {"items": [_out(r) for r in items], "total": total, "page": page, "size": size}


@router.get("/suspicions/{suspicion_id}", summary="一条疑点: the finding, its lines, evidence and workflow")
def one_suspicion(suspicion_id: Id, _: Reader) -> dict:
    with unit_of_work(write=False) as s:
        found = audit_runs.suspicion(s, suspicion_id)
    if found is None:
        raise HTTPException(404, f"suspicion: 疑点不存在 #{suspicion_id}")
    return _out(found)
