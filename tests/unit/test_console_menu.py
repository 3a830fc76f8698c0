"""The console's menu per role (roles.yaml): each role sees the pages it may use and nothing else, modules not
built yet are hidden, and a refusal names the 功能 and the 岗位 in Chinese, never a permission key."""

from __future__ import annotations

import re

from yibao.console.layout import NAV, PERMISSION_NAMES, menu, refusal
from yibao.security import role_definitions


def labels(role: str) -> list[str]:
    return [label for label, _ in menu(role_definitions()[role]["permissions"])]


def test_each_role_sees_what_it_may_use():
    payment = ["付费", "付费结算"]
    assert labels("fund_manager") == ["首页", "参保人", "单位", "重复参保", "结算", "定点机构", *payment]
    assert "参保登记" in labels("handler") and "参保登记" not in labels("director")
    everything = labels("admin")
    assert "参保登记" in everything
    unbuilt = [label for label, _, _, available in NAV if not available]
    assert unbuilt and not set(unbuilt) & set(everything)  # (hidden even from 系统管理员)


def test_every_permission_has_a_chinese_name():
    used = {p for spec in role_definitions().values() for p in spec["permissions"] if p != "*"}
    used |= {permission for _, _, permission, _ in NAV if permission}
    assert used <= set(PERMISSION_NAMES)


def test_a_refusal_names_the_function_and_the_roles_not_the_key():
    text = refusal("enrollment.write")
    assert "办理参保登记" in text and "经办" in text and "基金管理" not in text
    assert not re.search(r"[a-z]+\.[a-z]+", text)
    assert "查看参保人" in refusal("person.read") and "基金管理" in refusal("person.read")
