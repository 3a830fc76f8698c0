"""Inline checks (事中审核 at the HIS's own transactions): the online rules run on a fee upload (2204/2301, scene
``upload``) and a (pre-)settlement (2206/2207/2303/2304, scene ``settle``) when the region switches them on in
its ``region.yaml``::

    supervision:
      inline: {upload: true, settle: true}     # or ``inline: true`` for both; left out: off

A finding of a rule whose action in the scene is ``block`` refuses the call (nothing is written); the others
are warnings, recorded and returned with the reply. Only findings about the visit in hand count, and of them
at upload those involving a new line, at settlement those involving an unsettled line or the visit itself.
A region without the switch pays nothing: the facade's path is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from yibao.errors import ConfigError
from yibao.store import audit_warnings as aw
from yibao.store.uow import UnitOfWork
from yibao.supervision.service.issued import (
    Issued,
    catalogue_types,
    context_reads,
    issue,
    library_of,
    record,
)
from yibao.yamlio import load_yaml

SCENE_OF = {
    "2204": "upload",
    "2301": "upload",
    "2206": "settle",
    "2207": "settle",
    "2303": "settle",
    "2304": "settle",
}
WARN_TYPE = "2"  # 事中


@dataclass(frozen=True)
class InlineSwitch:
    upload: bool = False
    settle: bool = False

    def on(self, scene: str) -> bool:
        return bool(getattr(self, scene, False))


def switch_for(admdvs: str | None, regions_dir: Path) -> InlineSwitch:
    """The inline switch of a 就医地: its own region.yaml, else its city's (``xxyy00``); off without either."""
    return _switch(str(regions_dir), admdvs or "")


def scene_on(admdvs: str | None, infno: str, regions_dir: Path) -> str | None:
    """The scene of ``infno`` when the region checks it inline, else None."""
    scene = SCENE_OF.get(infno)
    return scene if scene and switch_for(admdvs, regions_dir).on(scene) else None


@lru_cache(maxsize=64)
def _switch(regions_dir: str, admdvs: str) -> InlineSwitch:
    for candidate in dict.fromkeys((admdvs, admdvs[:4] + "00")):
        path = Path(regions_dir) / candidate / "region.yaml"
        if candidate and path.is_file():
            return parse((load_yaml(path) or {}).get("supervision") or {}, str(path))
    return InlineSwitch()


def clear() -> None:
    _switch.cache_clear()


def parse(section: dict, source: str) -> InlineSwitch:
    """``supervision:`` of a region.yaml (its ``inline`` key; the section's other keys are other settings')."""
    if not isinstance(section, dict):
        raise ConfigError(f"{source}: supervision 应为映射")
    inline = section.get("inline", False)
    if isinstance(inline, bool):
        return InlineSwitch(inline, inline)
    if not isinstance(inline, dict):
        raise ConfigError(f"{source}: supervision.inline 应为 true / false 或 {{upload: …, settle: …}}")
    for key, value in inline.items():
        if key not in ("upload", "settle") or not isinstance(value, bool):
            raise ConfigError(
                f"{source}: supervision.inline.{key}: 场景须为 upload / settle，值须为 true / false"
            )
    return InlineSwitch(inline.get("upload", False), inline.get("settle", False))


@dataclass
class Checked:
    """What an inline check found: the warnings (recorded unless blocked) and the first blocking finding."""

    issued: list[Issued]
    blocked: Issued | None = None


def _run(uow: UnitOfWork, ctx, infno: str, visit, new_lines, keep) -> Checked:
    """The visit's frame with ``new_lines(types)`` through the library's 事中 rules (one round trip: the visit as
    the audit view sees it, its lines and the person's history); the findings ``keep`` takes, issued in the
    scene of ``infno``."""
    _, engine = library_of(uow)
    if not engine.library.active("mid"):  # nothing to check: no reads
        return Checked([])
    types = catalogue_types(uow)
    got = uow.fetch(
        {"visit": aw.AUDIT_VISIT(mdtrt_id=visit.mdtrt_id), **context_reads(engine, visit, stored=True)}
    )
    if not got["visit"]:
        return Checked([])
    new = new_lines(types)
    vc = aw.context(got["visit"][0]._asdict(), got, types)
    findings = [f for f in engine.check(vc.frame(new), {visit.mdtrt_id}, "mid") if keep(f)]
    names = {line["line_id"]: line["feedetl_sn"] for line in new}
    issued = issue(findings, engine, SCENE_OF[infno], ctx.admdvs or "000000", ctx.clock(), names)
    blocked = next((i for i in issued if i.action == "block"), None)
    if blocked is None:
        record(uow, ctx, issued, infno, WARN_TYPE)
    return Checked(issued, blocked)


def check_upload(uow: UnitOfWork, ctx, infno: str, visit, rows: list[dict]) -> Checked:
    """2204 / 2301: the visit with the fee lines about to be written (``rows`` as the upload stores them; the
    k-th is line ``-(k + 1)``); findings involving one of them."""

    def new(types: dict[str, str]) -> list[dict]:
        return [
            {
                "line_id": -(k + 1),
                "mdtrt_id": r["mdtrt_id"],
                "feedetl_sn": r["feedetl_sn"],
                "med_list_codg": r["med_list_codg"],
                "list_type": types.get(r["med_list_codg"]),
                "med_chrgitm_type": r["med_chrgitm_type"],
                "fee_ocur_time": r["fee_ocur_time"] or visit.begntime,
                "cnt": r["cnt"],
                "pric": r["pric"],
                "amt": r["det_item_fee_sumamt"],
                "pric_uplmt": r["pric_uplmt_amt"],
                "dept_code": None,
                "dr_code": r["bilg_dr_codg"],
            }
            for k, r in enumerate(rows)
        ]

    return _run(uow, ctx, infno, visit, new, lambda f: any(x.line_id < 0 for x in f.lines))


def check_settle(uow: UnitOfWork, ctx, infno: str, visit, open_ids: set[int]) -> Checked:
    """2206/2207/2303/2304: the visit's stored lines; findings about the visit itself or involving one of the
    lines being settled (``open_ids``)."""
    return _run(
        uow,
        ctx,
        infno,
        visit,
        lambda types: [],
        lambda f: not f.lines or any(x.line_id in open_ids for x in f.lines),
    )
