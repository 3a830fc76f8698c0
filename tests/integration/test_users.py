"""Staff users from the CLI: create, list, passwd, disable, refusals; every change audited; argon2 login."""

from __future__ import annotations

from sqlalchemy import select

from yibao.cli import main
from yibao.security import authenticate
from yibao.store.db import unit_of_work
from yibao.store.tables import AuditLog, StaffUser


def actions(engine) -> list[str]:
    with unit_of_work(engine, write=False) as s:
        return s.scalars(select(AuditLog.action).order_by(AuditLog.seq)).all()


def login(engine, user, password):
    with unit_of_work(engine) as s:
        return authenticate(s, user, password)


def test_user_lifecycle(engine, capsys):
    assert (
        main(
            ["users", "create", "zhang", "--name", "张三", "--role", "handler", "--password", "long-enough-1"]
        )
        == 0
    )
    with unit_of_work(engine, write=False) as s:
        hashed = s.get(StaffUser, "zhang").password_hash
    assert hashed.startswith("$argon2") and "long-enough-1" not in hashed
    who = login(engine, "zhang", "long-enough-1")
    assert who.display_name == "张三" and who.can("settlement.read") and not who.can("user.admin")
    assert login(engine, "zhang", "wrong-password") is None
    assert login(engine, "nobody", "long-enough-1") is None
    assert main(["users", "passwd", "zhang", "--password", "another-pass-2"]) == 0
    assert login(engine, "zhang", "another-pass-2") is not None
    assert main(["users", "disable", "zhang"]) == 0
    assert login(engine, "zhang", "another-pass-2") is None  # inactive users cannot log in
    assert main(["users", "list"]) == 0 and "zhang" in capsys.readouterr().out
    assert actions(engine) == [
        "create",
        "login",
        "login_failed",
        "login_failed",
        "passwd",
        "login",
        "disable",
        "login_failed",
    ]


def test_refusals_are_one_line(engine, capsys):
    assert main(["users", "create", "li", "--name", "李四", "--role", "handler", "--password", "short"]) == 2
    assert (
        main(["users", "create", "li", "--name", "李四", "--role", "pilot", "--password", "long-enough-1"])
        == 2
    )
    assert (
        main(["users", "create", "li", "--name", "李四", "--role", "reviewer", "--password", "long-enough-1"])
        == 0
    )
    assert (
        main(["users", "create", "li", "--name", "李四", "--role", "reviewer", "--password", "long-enough-1"])
        == 2
    )
    assert main(["users", "disable", "ghost"]) == 2
    err = capsys.readouterr().err
    assert "至少 8 个字符" in err and "未知角色 pilot" in err and "已存在" in err and "用户不存在" in err
    assert err.count("\n") == 4 and "Traceback" not in err
