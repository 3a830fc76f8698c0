"""``yibao demo``: build the demo region 示例市 — reference data, a synthetic population and a settled year."""

from __future__ import annotations

import time

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from yibao.errors import InputError

console = Console()
DEMO_USERS = [  # (username, name, role, password) — created in demo/test mode only
    ("admin", "系统管理员", "admin", "demo-admin-2025"),
    ("jingban", "王经办", "handler", "demo-jingban-2025"),
    ("shenhe", "李审核", "reviewer", "demo-shenhe-2025"),
    ("jihe", "赵稽核", "inspector", "demo-jihe-2025"),
    ("jijin", "钱基金", "fund_manager", "demo-jijin-2025"),
    ("juzhang", "孙局长", "director", "demo-juzhang-2025"),
]


def demo(
    persons: int = typer.Option(20_000, "--persons", help="Insured persons to generate."),
    year: int = typer.Option(2025, "--year", help="The year of visits and settlements."),
    seed: int = typer.Option(42, "--seed", help="Same seed → same database."),
    replace: bool = typer.Option(False, "--replace", help="Replace an existing generated population."),
    region: str = typer.Option("990100", "--region"),
    fraud: bool = typer.Option(
        False,
        "--fraud",
        help="Also inject the screening patterns (supervision.md §11) and decoys, labelled for "
        "`yibao screening evaluate --year` (欺诈注入).",
    ),
) -> None:
    """Migrate, load the region, generate persons and a year of settled claims, create demo accounts."""
    import yaml
    from sqlalchemy import select

    from yibao.audit_actions import Action
    from yibao.config import get_settings
    from yibao.ingest.region import load_region
    from yibao.money import fmt_yuan
    from yibao.policy.registry import get_bundle
    from yibao.store import migrate
    from yibao.store.db import get_engine, unit_of_work
    from yibao.store.tables import AuditLog
    from yibao.synth.build import build, clear_generated, holds_data, supported_years
    from yibao.synth.params import Params

    settings = get_settings()
    params = Params(persons=persons, year=year, seed=seed)
    engine = get_engine()
    started = time.perf_counter()
    migrate.upgrade(engine)
    bundle = get_bundle(region)
    params.validate(supported_years(bundle))
    load_region(engine, region, settings.regions_dir, actor="yibao demo")
    wanted = {"persons": persons, "year": year, "seed": seed, "fraud": fraud}
    if holds_data(engine):
        with unit_of_work(engine, write=False) as s:
            last = s.scalar(
                select(AuditLog.after)
                .where(AuditLog.action == Action.GENERATE)
                .order_by(AuditLog.seq.desc())
                .limit(1)
            )
        same = bool(last) and all(last.get(k) == v for k, v in wanted.items())
        if same and not replace:
            console.print(
                f"示例市已生成 (persons={persons}, year={year}, seed={seed}, fraud={fraud})，跳过生成；"
                "--replace 可重新生成。"
            )
            _accounts(engine, settings)
            return
        if not replace:
            raise InputError(
                "数据库中已有参保人数据：用 --replace 替换为新生成的示例市 (the database already holds a region)"
            )
        clear_generated(engine)
    spec = yaml.safe_load((settings.regions_dir / region / "region.yaml").read_text(encoding="utf-8"))
    districts = [(str(d["admdvs"]), int(d["population"])) for d in spec["districts"]]
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=max(total, 1))
            bar.update(tasks[stage], completed=done, total=max(total, 1))

        report = build(
            engine,
            bundle,
            params,
            admdvs=region,
            districts=districts,
            data_dir=settings.data_dir,
            regions_dir=settings.regions_dir,
            progress=progress,
            fraud=fraud,
        )
        audit = _audit_year(year, progress)
    t = Table(title=f"示例市 {region}: {year} 年", show_header=False)
    for k, v in (
        ("参保人 persons", f"{report.persons:,}"),
        ("就诊与结算 settlements", f"{report.settlements:,}"),
        ("费用明细 fee lines", f"{report.lines:,}"),
        ("记账分录 postings", f"{report.postings:,}"),
        ("基金支付 fund payments", f"{fmt_yuan(report.fund_pay)} 元"),
        *((name, f"{count:,}") for name, count in report.events.items()),
        ("智能审核疑点 suspicions", f"{audit.new_suspicions:,} ({fmt_yuan(audit.amount_fen)} 元)"),
        ("Parquet", str(report.parquet)),
        ("用时 time", f"{time.perf_counter() - started:.1f} s"),
    ):
        t.add_row(k, v)
    console.print(t)
    _accounts(engine, settings)


def _audit_year(year: int, progress):
    """事后审核 of the demo year with the region's rule library, so 智能监管 · 疑点管理 has its worklist."""
    from datetime import date

    from yibao.supervision.service.runs import run_audit

    return run_audit(
        date(year, 1, 1),
        date(year, 12, 31),
        actor="yibao demo",
        progress=lambda _step, done, total: progress("智能审核 audit", done, total),
    )


def _accounts(engine, settings) -> None:
    from yibao.security import create_user
    from yibao.store.db import unit_of_work
    from yibao.store.tables import ApiClient, StaffUser

    if settings.mode == "production":
        console.print("生产模式不创建演示账号 (no demo accounts in production): yibao users create …")
        return
    with unit_of_work(engine) as s:
        for username, name, role, password in DEMO_USERS:
            if s.get(StaffUser, username) is None:
                create_user(s, username, name, [role], password, actor="yibao demo")
        code = "H99010200001"
        if s.get(ApiClient, "demo-his") is None:
            s.add(
                ApiClient(
                    client_id="demo-his", fixmedins_code=code, secret="demo-his-secret", sign_algo="sha256"
                )
            )
    t = Table(
        "用户名 username",
        "姓名",
        "角色 role",
        "密码 password",
        title="演示账号 demo accounts (管理台 /console)",
    )
    for username, name, role, password in DEMO_USERS:
        t.add_row(username, name, role, password)
    console.print(t)
    console.print(f"HIS 接口演示客户端: client_id=demo-his secret=demo-his-secret 机构 {code} (HMAC-SHA256)")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
