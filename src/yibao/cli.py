"""The ``yibao`` command line (Typer + Rich).

Every error a user can cause is one line on stderr with exit code 2; ``--debug``
anywhere on the command line shows the traceback instead.
"""

from __future__ import annotations

import functools
import sys

import typer
from rich.console import Console
from typer.exceptions import TyperException

from yibao.errors import YibaoError

app = typer.Typer(
    name="yibao",
    help="yibao 医保 — medical-insurance core platform. 医保核心平台命令行。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


@functools.cache  # once per process: add_typer appends, and main() runs many times in one process (the tests)
def _register() -> None:
    # Each command group lives in its own module under yibao.commands; order = order in --help.
    from yibao.commands import (
        assistance,
        audit,
        clients,
        db,
        demo,
        dicts,
        enrollment,
        imports,
        ledger,
        payment,
        policy,
        providers,
        region,
        review,
        rules,
        scenarios,
        screening,
        serve,
        suspicions,
        users,
    )

    for module in (
        db,
        dicts,
        imports,
        region,
        policy,
        scenarios,
        enrollment,
        payment,
        assistance,
        review,
        clients,
        ledger,
        rules,
        audit,
        suspicions,
        providers,
        screening,
        users,
        serve,
        demo,
    ):
        module.register(app)


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors (调试).")) -> None:
    """yibao 医保核心平台."""


def _fail(message: str) -> int:
    err_console.print(f"[bold red]错误[/]: {message}", markup=True, highlight=False)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    _register()
    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name="yibao", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        return _fail("已取消 (aborted)")
    except TyperException as exc:  # usage errors: one line, with the hint to --help
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group shows its help
            exc.show()
            return 0
        if debug:
            raise
        return _fail(f"{exc.format_message()} (see: yibao --help)")
    except YibaoError as exc:
        if debug:
            raise
        return _fail(exc.message)
    except KeyboardInterrupt:
        return _fail("已中断 (interrupted)")
    except Exception as exc:
        if debug:
            raise
        return _fail(f"{type(exc).__name__}: {exc} (run with --debug for the traceback)")
    return result if isinstance(result, int) else 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
