"""``yibao audit run``: the smart-audit library over a period's settled lines (事后审核), with a progress bar
(the snapshot, then one step per rule kind), the run's summary and a table of what each rule found."""

from __future__ import annotations

from datetime import date

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from yibao.errors import InputError, quote

console = Console(highlight=False, soft_wrap=True)
ACTOR = "yibao audit"


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{option}: 须为日期 YYYY-MM-DD，实为 {quote(text)}") from None


def run_audit_cmd(date_from: str, date_to: str, rules: str | None, engine: str) -> None:
    from yibao.config import get_settings
    from yibao.money import fmt_fen
    from yibao.supervision.service.runs import run_audit

    start, end = _day(date_from, "--from"), _day(date_to, "--to")
    codes = None if rules is None else [c.strip() for c in rules.split(",") if c.strip()]
    if codes is not None and not codes:
        raise InputError("--rules: 至少一个规则编码")
    settings = get_settings()
    bar = Progress(
        TextColumn("[bold]事后审核[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:
        task = bar.add_task("", total=None)
        result = run_audit(
            start,
            end,
            codes,
            engine,
            actor=ACTOR,
            progress=lambda what, done, total: bar.update(
                task, description=what, completed=done, total=total
            ),
            threads=settings.audit_threads,
            memory_limit=settings.audit_memory_limit,
        )
    console.print(
        f"审核批次 run {result.run_id} ({result.engine}) {start} – {end}: 明细 {result.lines:,} 行, "
        f"就诊 {result.visits:,} 次, 发现 {len(result.findings):,} 条, 新疑点 {result.new_suspicions:,} 条 "
        f"(已有 {result.existing:,}), 豁免 {result.suppressed:,} 条, 涉及金额 {fmt_fen(result.amount_fen)} 元, "
        f"{result.seconds:.1f} 秒"
    )
    if result.skipped:
        console.print(f"跳过 (需 --engine duckdb): {', '.join(result.skipped)}")
    t = Table(title="各规则发现 findings per rule")
    t.add_column("编码 code")
    t.add_column("名称 name")
    for col in ("发现", "新疑点", "已有", "豁免", "金额 (元)"):
        t.add_column(col, justify="right")
    quiet = [code for code, c in result.per_rule.items() if not c.findings]
    for code, c in result.per_rule.items():
        if not c.findings:
            continue
        t.add_row(
            code, c.name, f"{c.findings:,}", f"{c.new:,}", f"{c.existing:,}", f"{c.suppressed:,}",
            fmt_fen(c.amount_fen),
        )  # fmt: skip
    console.print(t)
    if quiet:
        console.print(f"无发现的规则 {len(quiet)} 条 (rules that found nothing)")
