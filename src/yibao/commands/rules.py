"""``yibao rules``: the smart-audit rule library (规则库 + 知识库, supervision.md §2–§3; docs/supervision.md).

::

    yibao rules list [--kind sex_limit] [--class 政策类] [--enabled | --disabled]
    yibao rules show GZ100001010010 [--rows 20]
    yibao rules check [regions/990100/rules]       # validate the files, run every rule's test set (both engines)
    yibao rules import regions/990100/rules --reason "2025 第 8 批知识点"
    yibao rules enable|disable GZ… --reason "…"
    yibao rules edit GZ… [--sev-deg 2] [--action upload=block] [--effective-to 2026-06-30] --reason "…"
    yibao rules sql [--dialect sqlite|duckdb|spark] [--kind readmission]

A change is one unit of work with a new rule version and an audit row; a bad file is refused whole, one
line per problem (file, rule, row, column), exit code 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from yibao.errors import InputError, quote

rules_app = typer.Typer(
    help="Smart-audit rules (智能审核规则库): list, show, check, import, enable, disable, edit, sql.",
    no_args_is_help=True,
)
console = Console(highlight=False, soft_wrap=True)
ACTOR = "yibao rules"
DIALECTS = ("duckdb", "sqlite", "spark")


def _default_dir() -> Path:
    from yibao.config import get_settings

    settings = get_settings()
    return settings.regions_dir / settings.region / "rules"


def _read_files(path: Path | None):
    """The library in ``path`` (a folder of YAML files, or one file); its problems one per line, exit 2."""
    from yibao.supervision.library import LibraryError
    from yibao.supervision.library_files import load_library

    path = path or _default_dir()
    if not path.exists():
        raise InputError(f"规则文件不存在: {path}")
    try:
        return load_library(path)
    except LibraryError as exc:
        for problem in exc.problems:
            console.print(f"[red]✗[/] {problem}", markup=True)
        console.print(f"规则文件校验失败: {len(exc.problems)} 处问题 (rule files refused)")
        raise typer.Exit(2) from None


def _yes(flag: bool) -> str:
    return "✓" if flag else "—"


@rules_app.command("list")
def list_cmd(
    kind: str = typer.Option(None, "--kind", help="Rule kind (规则类型), e.g. sex_limit."),
    rule_class: str = typer.Option(None, "--class", help="Class or sub-class (政策类, 药品政策限定 …)."),
    enabled: bool = typer.Option(None, "--enabled/--disabled", help="Only enabled (启用) or disabled rules."),
) -> None:
    """The stored rules with their class, kind, severity, stages, actions, version and knowledge rows."""
    from yibao.store import audit_rule_reads as reads
    from yibao.store.db import unit_of_work

    with unit_of_work(write=False) as s:
        rows = reads.rules(s, reads.RuleFilter(kind=kind, rule_class=rule_class, enabled=enabled))
    t = Table(title=f"规则库 rule library: {len(rows)} 条")
    for col in (
        "编码 code",
        "名称 name",
        "类别 class",
        "类型 kind",
        "sev_deg",
        "阶段 stages",
        "动作 actions",
    ):
        t.add_column(col)
    for col in ("启用", "版本", "知识点"):
        t.add_column(col, justify="right")
    for r in rows:
        actions = ", ".join(f"{k}={v}" for k, v in sorted((r["actions"] or {}).items())) or "warn"
        t.add_row(
            r["rule_code"],
            r["name"],
            " / ".join(x for x in (r["class_l1"], r["class_l2"]) if x),
            r["kind"],
            r["sev_deg"],
            r["stages"],
            actions,
            _yes(r["enabled"]),
            str(r["version"]),
            str(r["knowledge_rows"]),
        )
    console.print(t)


@rules_app.command("show")
def show(
    code: str = typer.Argument(..., help="Rule code (规则编码)."),
    rows: int = typer.Option(20, "--rows", min=0, max=10_000, help="Knowledge rows to show."),
) -> None:
    """One rule: header, parameters, exemptions, knowledge rows (the first N), version history."""
    from yibao.store import audit_rule_reads as reads
    from yibao.store.db import unit_of_work
    from yibao.supervision.kinds import KINDS
    from yibao.supervision.library import SEV_DEG

    with unit_of_work(write=False) as s:
        r = reads.rule(s, code, rows=rows)
    if r is None:
        raise InputError(f"规则不存在 {quote(code)}")
    kind = KINDS.get(r["kind"])
    header = [
        ("名称 name", r["name"]),
        ("类别 class", " / ".join(x for x in (r["class_l1"], r["class_l2"]) if x) or "—"),
        ("类型 kind", f"{r['kind']} ({kind.title})" if kind else r["kind"]),
        ("结果 result", f"{r['result_type']}, sev_deg {r['sev_deg']} {SEV_DEG.get(r['sev_deg'], '')}"),
        ("阶段 stages", r["stages"]),
        ("动作 actions", json.dumps(r["actions"] or {}, ensure_ascii=False)),
        ("有效期 effective", f"{r['effective_from']} – {r['effective_to'] or ''}"),
        ("启用 enabled", _yes(r["enabled"])),
        ("版本 version", f"{r['version']} (知识库第 {r['knowledge_version']} 版)"),
        ("依据 legal basis", r["legal_basis"] or "—"),
        ("来源 source", r["source"] or "—"),
        ("参数 params", json.dumps(r["params"] or {}, ensure_ascii=False)),
        ("测试用例 tests", str(r["tests"])),
    ]
    console.print(f"[bold]{r['rule_code']}[/] {r['name']}", markup=True)
    for label, value in header:
        console.print(f"  {label}: {value}")
    for x in r["exemptions"] or []:
        console.print(f"  豁免 exemption: {x['field']} = {x['value']} ({x['reason']}) {x.get('from') or ''}")
    _knowledge_table(r, rows)
    v = Table(title="版本 versions")
    for col in ("版本", "知识库", "变更", "原因", "时间", "操作人"):
        v.add_column(col)
    for x in r["versions"]:
        v.add_row(
            str(x["version"]), str(x["knowledge_version"]), x["change"], x["reason"],
            f"{x['changed_at']:%Y-%m-%d %H:%M}", x["changed_by"],
        )  # fmt: skip
    console.print(v)


def _knowledge_table(r: dict, rows: int) -> None:
    shown = r["knowledge"]
    if not shown:
        console.print(f"  知识点 knowledge rows: {r['knowledge_rows']}")
        return
    names = list(dict.fromkeys(k for row in shown for k in row["values"]))
    t = Table(title=f"知识点 knowledge rows: {len(shown)} / {r['knowledge_rows']}")
    for col in ("#", *names, "起", "止", "批次", "来源"):
        t.add_column(col)
    for row in shown:
        t.add_row(
            str(row["seq"] + 1),
            *(str(row["values"].get(n, "")) for n in names),
            str(row["from"] or ""),
            str(row["to"] or ""),
            row["source_batch"] or "",
            row["origin"],
        )
    console.print(t)
    if r["knowledge_rows"] > rows:
        console.print(f"  … 另有 {r['knowledge_rows'] - rows} 行 (--rows)")


@rules_app.command("check")
def check(
    path: Path = typer.Argument(None, help="Rule folder or YAML file (default: the region's rules/)."),
) -> None:
    """Validate the rule files and run every rule's test set through both engines; exit 2 on any failure."""
    from yibao.supervision.testing import run_tests

    library = _read_files(path)
    results = run_tests(library)
    failed = [r for r in results if not r.ok]
    for r in results:
        mark = "[green]✓[/]" if r.ok else "[red]✗[/]"
        detail = r.detail.replace("\n", " ")
        console.print(f"{mark} {r.rule_code} {r.name}: {detail}", markup=True)
    console.print(
        f"{len(library.rules)} 条规则, {len(results)} 个用例: 通过 {len(results) - len(failed)}, "
        f"失败 {len(failed)}"
    )
    if failed:
        raise typer.Exit(2)


@rules_app.command("import")
def import_cmd(
    path: Path = typer.Argument(..., help="Rule folder or YAML file (knowledge CSV/XLSX beside it)."),
    reason: str = typer.Option("", "--reason", help="Why (e.g. the knowledge batch it brings)."),
) -> None:
    """Store the rules: new ones, and a new version of each rule whose header or knowledge changed."""
    from yibao.store.db import unit_of_work
    from yibao.supervision.service import rules as service

    library = _read_files(path)  # problems one per line before anything is written
    with unit_of_work() as s:
        done = service.import_rules(s, library, actor=ACTOR, reason=reason)
    console.print(
        f"导入 {len(library.rules)} 条规则: 新增 {len(done.added)}, 新版本 {len(done.changed)}, "
        f"未变 {len(done.unchanged)}"
    )
    for code in done.changed:
        console.print(f"  新版本 {code}")


def _switch(code: str, enabled: bool, reason: str) -> None:
    from yibao.store.db import unit_of_work
    from yibao.supervision.service import rules as service

    with unit_of_work() as s:
        version = service.set_enabled(s, code, enabled, actor=ACTOR, reason=reason).version
    console.print(f"{code} 已{'启用' if enabled else '停用'} (第 {version} 版)")


@rules_app.command("enable")
def enable(
    code: str = typer.Argument(..., help="Rule code."),
    reason: str = typer.Option(..., "--reason", help="Why (required, audited)."),
) -> None:
    """Switch a rule on (启用)."""
    _switch(code, True, reason)


@rules_app.command("disable")
def disable(
    code: str = typer.Argument(..., help="Rule code."),
    reason: str = typer.Option(..., "--reason", help="Why (required, audited)."),
) -> None:
    """Switch a rule off (停用): no check, online or in batch, uses it."""
    _switch(code, False, reason)


def parse_actions(items: list[str], current: dict[str, str]) -> dict[str, str]:
    """``scene=action`` items over the rule's current actions (``scene=`` removes one)."""
    out = dict(current)
    for item in items:
        scene, sep, action = item.partition("=")
        if not sep:
            raise InputError(f"--action: 须为 场景=动作 (upload=block)，实为 {quote(item)}")
        if action:
            out[scene.strip()] = action.strip()
        else:
            out.pop(scene.strip(), None)
    return out


@rules_app.command("edit")
def edit(
    code: str = typer.Argument(..., help="Rule code."),
    sev_deg: str = typer.Option(None, "--sev-deg", help="1 明确违规 / 2 高度可疑 / 3 轻度可疑."),
    action: list[str] = typer.Option(None, "--action", help="scene=warn|block (upload, settle); repeatable."),
    effective_to: str = typer.Option(None, "--effective-to", help="Last day in force (YYYY-MM-DD, or none)."),
    reason: str = typer.Option(..., "--reason", help="Why (required, audited)."),
) -> None:
    """Change a rule's severity, inline actions or end date (everything else comes by import)."""
    from yibao.store.db import unit_of_work
    from yibao.supervision.service import rules as service

    with unit_of_work() as s:
        stored = service.stored(s, code)
        changes: dict = {}
        if sev_deg is not None:
            changes["sev_deg"] = sev_deg
        if action:
            changes["actions"] = parse_actions(action, stored.actions or {})
        if effective_to is not None:
            changes["effective_to"] = None if effective_to.lower() in ("", "none") else effective_to
        if not changes:
            raise InputError("没有要修改的内容: 请给出 --sev-deg、--action 或 --effective-to")
        version = service.edit(s, code, changes, actor=ACTOR, reason=reason).version
    console.print(f"{code} 已修改 (第 {version} 版): {', '.join(sorted(changes))}")


@rules_app.command("sql")
def sql(
    dialect: str = typer.Option("duckdb", "--dialect", help="duckdb (batch), sqlite (online) or spark."),
    kind: str = typer.Option(None, "--kind", help="One kind only (default: the view and every kind)."),
) -> None:
    """Print the audit view and the kinds' SQL as the engine of DIALECT runs it (one text, transpiled)."""
    from yibao.supervision import sqltext
    from yibao.supervision.kinds import KINDS

    if dialect not in DIALECTS:
        raise InputError(f"--dialect: 须为 {' / '.join(DIALECTS)}，实为 {quote(dialect)}")
    if kind is not None and kind not in KINDS:
        raise InputError(f"--kind: 没有规则类型 {quote(kind)} (有: {', '.join(KINDS)})")
    if kind is None:
        for name, body in sqltext.view_selects().items():
            typer.echo(f"-- view: {name}\n{_shown(body, dialect)};\n")
    for spec in [KINDS[kind]] if kind else KINDS.values():
        example = {"rule_code": "<rule_code>", **{f.name: f.default for f in spec.params}}
        text = sqltext.render(spec, example)
        typer.echo(f"-- kind: {spec.name} ({spec.title})\n{_shown(text, dialect)};\n")


def _shown(text: str, dialect: str) -> str:
    """The text the engine of ``dialect`` runs (:func:`sqltext.transpile`), laid out to be read."""
    import sqlglot

    from yibao.supervision import sqltext

    if dialect == sqltext.SOURCE_DIALECT:
        return text.strip()
    return sqlglot.transpile(text, read=sqltext.SOURCE_DIALECT, write=dialect, pretty=True)[0]


def register(app: typer.Typer) -> None:
    app.add_typer(rules_app, name="rules")
