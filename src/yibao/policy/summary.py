"""Human summaries of policy versions for the CLI (Rich renderables)."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from yibao.money import fmt_bp, fmt_fen
from yibao.policy.loader import LoadedVersion, effective_end
from yibao.policy.schema import ALL, PolicyVersion
from yibao.policy.sources import VersionSources, format_path, show_value


def _amt(v: int | None) -> str:
    if v is None:
        return "不封顶"
    text = fmt_fen(v)
    return text[:-3] if text.endswith(".00") else text


def _r(bp: int) -> str:
    """0.8000 → 0.80, 0.8850 → 0.885 (compact, still exact)."""
    whole, frac = fmt_bp(bp).split(".")
    frac = frac.rstrip("0").ljust(2, "0")
    return f"{whole}.{frac}"


def _table_text(table: dict, fmt) -> str:
    """{psn|*: {lv|*: v}} → '0.80/0.70/0.60' or '11: 0.80/0.70/0.60  12: …'."""
    parts = []
    for psn, row in table.items():
        if isinstance(row, dict):
            text = fmt(row[ALL]) if ALL in row else "/".join(fmt(row[lv]) for lv in ("1", "2", "3"))
        else:
            text = fmt(row)
        parts.append(text if psn == ALL else f"{psn}: {text}")
    return "  ".join(parts)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix} › {k}" if prefix else str(k)))
        return out
    if isinstance(value, list):
        out = {}
        for i, v in enumerate(value):
            out.update(_flatten(v, f"{prefix} › {i}"))
        return out
    return {prefix: value}


_RATIO_WORDS = ("ratio", "share", "rate", "base_floor", "base_ceiling")
_LIMIT_WORDS = ("cap", "limit")  # a limit written 'unlimited' is None in the model


def _display(path: str, flat: dict) -> str:
    """A flattened value as the summary shows it: absent "—", an unlimited limit "不封顶", ratios as ratios."""
    if path not in flat:
        return "—"
    value, last = flat[path], path.split(" › ")[-1]
    if value is None:
        return "不封顶 (unlimited)" if any(w in path for w in _LIMIT_WORDS) else "—"
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or last.endswith(("months", "years", "_male", "_female"))
    ):
        return str(value)
    return _r(value) if any(w in last for w in _RATIO_WORDS) else _amt(value)


def changes(old: PolicyVersion, new: PolicyVersion, sources: VersionSources | None = None) -> list[str]:
    """Paths whose values differ between two versions (amounts in fen, ratios in basis points), each with
    the reference the new version cites for it, if any."""
    skip = {"version", "title", "effective_from", "effective_to"}
    a = {k: v for k, v in _flatten(old.model_dump(mode="json")).items() if k.split(" › ")[0] not in skip}
    b = {k: v for k, v in _flatten(new.model_dump(mode="json")).items() if k.split(" › ")[0] not in skip}
    out = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            line = f"{key.replace(' › *', '')}: {_display(key, a)} → {_display(key, b)}"
            loc = key.split(" › ")
            origin = (sources.origin(loc) or sources.removal(loc)) if sources is not None else None
            if origin is not None and origin.reference and origin.file == sources.file:
                line += f"  依据: {origin.reference}"
            out.append(line)
    return out


def version_header(lv: LoadedVersion, end) -> Text:
    p = lv.policy
    rng = f"{p.effective_from} — {end or '(open)'}"
    return Text.assemble(
        (f"{p.region} {p.version} ", "bold"),
        (p.title, "bold cyan"),
        f"  {rng}  ",
        (f"继承 {lv.inherits} (inherits)  " if lv.inherits else ""),
        (str(lv.path), "dim"),
    )


def version_sources(lv: LoadedVersion) -> Group:
    """Every value of the version with the file (and version) that set it and its reference (依据):
    the version's own file first, then each ancestor it inherits from."""
    if lv.sources is None:
        return Group()
    lines: list[Any] = [Text("数值来源 (each value, the file that set it, its reference):", style="bold")]
    for file, version, values, removed in lv.sources.by_file():
        if not values and not removed:
            continue
        own = file == lv.sources.file
        how = f"设定 {len(values)} 项" + ("" if own else f"，由 {lv.policy.version} 继承")
        eng = f"sets {len(values)} values" + ("" if own else f", inherited by {lv.policy.version}")
        lines.append(Text.assemble((f"{file}", "cyan"), f"  版本 {version} {how} ({eng})"))
        for key, s in values:
            lines.append(_source_line(f"  {format_path(key)}: {show_value(s.value)}", s.reference))
        for key, s in removed:
            lines.append(_source_line(f"  删除 (removed) {format_path(key)}", s.reference))
    return Group(*lines)


def _source_line(text: str, reference: str | None) -> Text:
    if not reference:
        return Text(text)
    return Text.assemble(text, ("  依据: ", "dim"), (reference, "green"))


def version_tables(p: PolicyVersion) -> Group:
    """Every class of every insutype (one small table each), then the supplementary tiers."""

    def _deductible_text(d) -> str:
        if d.kind == "none":
            return "无"
        prefix = {"annual": "年 ", "per_admission": "次 ", "per_visit": "每次 ", "threshold": "超过即全额 "}
        text = prefix[d.kind] + _table_text(d.amount, _amt)
        return text + (f" 再次×{_r(d.repeat_ratio)}" if d.repeat_ratio is not None else "")

    lines: list[Any] = []
    for code, ins in p.insutype.items():
        cats = ", ".join(f"{k} {v}" for k, v in ins.psn_types.items())
        lines.append(Text(f"{code} {ins.name}  (人员类别 {cats})", style="bold"))
        t = Table(show_header=True, header_style="dim", box=None, padding=(0, 1))
        for col in ("类别", "起付线", "比例 一级/二级/三级", "年度限额"):
            t.add_column(col)
        for cname, cb in ins.classes.items():
            label = p.benefit_classes[cname].name
            if not cb.pool:
                t.add_row(label, "—", "无统筹待遇", "—")
                continue
            ded = _deductible_text(cb.deductible)
            cap = "不封顶" if cb.cap == "unlimited" else _table_text(ins.caps[cb.cap], _amt) + f" ({cb.cap})"
            t.add_row(label, ded, _table_text(cb.ratio, _r), cap)
            if cb.disease_caps:
                t.add_row("", "", "病种限额", ", ".join(f"{k} {_amt(v)}" for k, v in cb.disease_caps.items()))
            for g in (cb.groups or {}).values():
                gded = "同类别" if g.deductible is None else _deductible_text(g.deductible)
                if g.deductible is not None:
                    gded += " (与类别共用)" if g.deductible_shared else " (单独)"
                gcap = "同类别" if g.cap is None else g.cap
                gratio = "同类别" if g.ratio is None else _table_text(g.ratio, _r)
                t.add_row(f"  {g.name} ({'/'.join(g.diseases)})", gded, gratio, gcap)
        lines.append(t)
        if ins.large_expense:
            le = ins.large_expense
            lines.append(
                Text(
                    f"  大额补助 {le.fund_pay_type}: {'/'.join(le.classes)} 比例 {_r(le.ratio)} 限额 {_amt(le.cap)}"
                )
            )
        if ins.critical_illness:
            ci = ins.critical_illness
            segs = ", ".join(
                f"≤{_amt(s.upto) if s.upto is not None else '∞'} {_r(s.ratio)}" for s in ci.segments
            )
            lines.append(
                Text(
                    f"  大病保险 {ci.fund_pay_type}: 起付 {_amt(ci.deductible)}; {segs}; 限额 {_amt(ci.cap)}"
                )
            )
            for t in ci.tilts.values():
                ded = _amt(t.deductible) if t.deductible is not None else f"普通的 {_r(t.deductible_share)}"
                ratio = f"{_r(t.ratio)} (各段)" if t.ratio is not None else f"+{_r(t.ratio_add)}"
                extra = f", 另计入 {'/'.join(t.extra_classes)}" if t.extra_classes else ""
                lines.append(
                    Text(
                        f"    倾斜 {t.name} {'/'.join(t.identities)}: 起付 {ded}, 比例 {ratio}, "
                        f"限额 {_amt(t.cap)}{extra}"
                    )
                )
    if p.supplementary:
        s = p.supplementary
        lines.append(
            Text(
                f"{s.name} {s.fund_pay_type}: {'/'.join(s.classes)} 起付 {_amt(s.deductible)} 比例 {_r(s.ratio)} "
                f"限额 {_amt(s.cap)}",
                style="bold",
            )
        )
        if s.tilt:
            lines.append(
                Text(
                    f"  救助对象 {'/'.join(s.tilt.identities)}: 起付 {_amt(s.tilt.deductible)} 比例 {_r(s.tilt.ratio)}"
                    f" 限额 {_amt(s.tilt.cap)}"
                )
            )
    if p.assistance:
        a = p.assistance
        lines.append(Text(f"医疗救助 {a.fund_pay_type}: {'/'.join(a.classes)} ({a.selection})", style="bold"))
        for c, cat in a.categories.items():
            lim = "".join(f", {k} {_amt(v)}" for k, v in cat.class_limits.items())
            cond = "".join(
                text
                for text, on in (
                    (f", 等级 {'/'.join(cat.grades or ())}", cat.grades),
                    (f", 限诊断 {'/'.join(cat.diagnoses or ())}", cat.diagnoses),
                    (f", 负担封顶 {_amt(cat.burden_cap)}", cat.burden_cap is not None),
                    (f", 认定前 {cat.look_back_months} 个月补充救助", cat.look_back_months),
                )
                if on
            )
            lines.append(
                Text(f"  {c} {cat.name}: 比例 {_r(cat.ratio)}, 年度 {_amt(cat.annual_limit)}{lim}{cond}")
            )
    unknown = {"refuse": "拒绝 (refused)", "self_pay": "按全自费结算 (self-pay)"}[p.catalogue.unknown_items]
    lines.append(Text(f"目录外项目 (codes outside the catalogue): {unknown}"))
    return Group(*lines)


def check_summary(loaded: list[LoadedVersion], bundle_hash: str) -> Group:
    """One screen: the first version in full, each later one as its changes."""
    parts: list[Any] = [
        Text(f"政策校验通过 (policy OK): {len(loaded)} 个版本, hash {bundle_hash[:16]}", style="bold green")
    ]
    for i, lv in enumerate(loaded):
        parts.append(Text(""))
        parts.append(version_header(lv, effective_end(loaded, i)))
        if i == 0:
            parts.append(version_tables(lv.policy))
        else:
            diff = changes(loaded[i - 1].policy, lv.policy, lv.sources)
            parts.append(
                Text(f"与 {loaded[i - 1].policy.version} 相比的变化 (changes):" if diff else "与上一版本相同")
            )
            parts.extend(Text(f"  • {d}") for d in diff)
    return Group(*parts)
