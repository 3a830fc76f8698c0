"""The smart-audit REST resources: the rule library read, switched and edited by a 稽核 (supervision.write) and
only read by a 经办; rule files uploaded (YAML + CSV, or a zip) and refused with the list of their problems;
the runs and the suspicion worklist filtered and paged, one suspicion with its evidence."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from fastapi.testclient import TestClient

from tests.audit_library import CHECKED, CHECKED_KNOWLEDGE, HITTING, demo_year, write_library
from tests.rest import bearer, ok, refused
from yibao.api.app import create_app
from yibao.security import create_user
from yibao.store.db import unit_of_work
from yibao.supervision.service import runs
from yibao.supervision.service.rules import import_rules, read_files

USERS = {"jc": ("赵稽核", ["inspector"], "pass-word-1"), "jb": ("王经办", ["handler"], "pass-word-2"),
         "jj": ("钱基金", ["fund_manager"], "pass-word-3")}  # fmt: skip
RULES = "/api/supervision/rules"


@pytest.fixture
def api(engine, tmp_path):
    with unit_of_work(engine) as s:
        for username, (name, roles, password) in USERS.items():
            create_user(s, username, name, roles, password, actor="test")
        import_rules(s, read_files(write_library(tmp_path / "c", CHECKED, {"knowledge.csv": CHECKED_KNOWLEDGE})),
                     actor="test")  # fmt: skip
    with TestClient(create_app(console=False)) as c:
        c.as_ = {u: bearer(c, u, USERS[u][2]) for u in USERS}
        yield c


def test_the_library_is_read_by_readers_and_changed_by_inspectors(api):
    assert api.get(RULES).status_code == 401
    assert refused(api.get(RULES, headers=api.as_["jj"]), 403) == "无权限: 需要 supervision.read"
    listed = ok(api.get(RULES, headers=api.as_["jb"]))
    assert [r["rule_code"] for r in listed["items"]] == ["C-FREQ", "C-SEX"] and listed["total"] == 2
    assert [
        r["rule_code"]
        for r in ok(api.get(RULES, params={"kind": "sex_limit"}, headers=api.as_["jb"]))["items"]
    ] == ["C-SEX"]
    one = ok(api.get(f"{RULES}/C-SEX", params={"rows": 1}, headers=api.as_["jb"]))
    assert one["knowledge_rows"] == 2 and [k["values"]["code"] for k in one["knowledge"]] == ["XF001"]
    assert one["versions"][0]["change"] == "import" and one["exemptions"][0]["reason"] == "妇幼专科"
    assert refused(api.get(f"{RULES}/NOPE", headers=api.as_["jb"]), 404) == "rule_code: 规则不存在 NOPE"
    why = {"reason": "知识点待更新"}
    assert refused(api.post(f"{RULES}/C-SEX/disable", json=why, headers=api.as_["jb"]), 403)
    assert api.post(f"{RULES}/C-SEX/disable", json={}, headers=api.as_["jc"]).status_code == 422
    assert refused(
        api.post(f"{RULES}/C-SEX/disable", json={"reason": " "}, headers=api.as_["jc"])
    ).startswith("reason")
    off = ok(api.post(f"{RULES}/C-SEX/disable", json=why, headers=api.as_["jc"]))
    assert not off["enabled"] and off["version"] == 2 and off["versions"][-1]["changed_by"] == "jc"
    listed = ok(api.get(RULES, params={"enabled": "false"}, headers=api.as_["jb"]))
    assert [r["rule_code"] for r in listed["items"]] == ["C-SEX"]
    assert ok(api.post(f"{RULES}/C-SEX/enable", json=why, headers=api.as_["jc"]))["enabled"]
    edited = ok(api.patch(f"{RULES}/C-SEX", json={"reason": "拦截", "actions": {"upload": "block"},
                                                  "effective_to": "2026-12-31"}, headers=api.as_["jc"]))  # fmt: skip
    assert edited["actions"] == {"upload": "block"} and edited["effective_to"] == "2026-12-31"
    assert edited["sev_deg"] == "1" and edited["version"] == 4
    no_block = {"reason": "试", "actions": {"settle": "block"}}
    assert "可疑类规则只能提醒" in refused(api.patch(f"{RULES}/C-FREQ", json=no_block, headers=api.as_["jc"]))
    assert refused(api.patch(f"{RULES}/C-FREQ", json={"reason": "试"}, headers=api.as_["jc"])).startswith(
        "没有要修改"
    )
    assert refused(
        api.patch(f"{RULES}/NOPE", json={"reason": "试", "sev_deg": "2"}, headers=api.as_["jc"]), 404
    )


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buffer.getvalue()


def test_rule_files_are_uploaded_or_refused_with_every_problem(api):
    url, who = f"{RULES}/import", api.as_["jc"]
    changed = CHECKED.replace("name: 频繁门诊", "name: 频繁门诊 (月)")
    files = [
        ("files", ("rules.yaml", changed.encode())),
        ("files", ("knowledge.csv", CHECKED_KNOWLEDGE.encode())),
    ]
    done = ok(api.post(url, files=files, data={"reason": "更名"}, headers=who))
    assert done == {"added": [], "changed": ["C-FREQ"], "unchanged": ["C-SEX"]}
    assert ok(api.get(f"{RULES}/C-FREQ", headers=who))["versions"][-1]["reason"] == "更名"
    bad = CHECKED_KNOWLEDGE + "C-SEX,XF009,3,2025-1\n"
    zipped = _zip(
        {
            "lib/rules.yaml": CHECKED.replace("kind: visit_frequency", "kind: nonsense"),
            "lib/knowledge.csv": bad,
        }
    )
    problems = refused(api.post(url, files=[("files", ("lib.zip", zipped))], headers=who))
    assert isinstance(problems, list) and len(problems) == 2
    assert problems[0].startswith(
        "rules.yaml: C-SEX: knowledge.csv row 4: gend:"
    )  # no temporary folder named
    assert "C-FREQ: kind: 须为" in problems[1]
    good = _zip({"lib/rules.yaml": CHECKED, "lib/knowledge.csv": CHECKED_KNOWLEDGE})
    assert ok(api.post(url, files=[("files", ("lib.zip", good))], headers=who))["changed"] == ["C-FREQ"]
    evil = _zip({"../rules.yaml": CHECKED})
    assert "文件名无效" in refused(api.post(url, files=[("files", ("x.zip", evil))], headers=who))
    assert "须为 YAML" in refused(api.post(url, files=[("files", ("x.exe", b"MZ"))], headers=who))
    assert refused(api.post(url, files=files, headers=api.as_["jb"]), 403)


@pytest.mark.slow
def test_runs_and_the_suspicion_worklist(api, engine, tmp_path):
    demo_year(engine, tmp_path)
    with unit_of_work(engine) as s:
        import_rules(s, read_files(write_library(tmp_path / "hit", HITTING)), actor="test")
    result = runs.run_audit(date(2025, 6, 1), date(2025, 6, 30), actor="test", bind=engine)
    who = api.as_["jb"]
    listed = ok(api.get("/api/supervision/runs", headers=who))
    assert listed["total"] == 1 and listed["items"][0]["new_suspicions"] == result.new_suspicions
    run = ok(api.get(f"/api/supervision/runs/{result.run_id}", headers=who))
    assert run["engine"] == "duckdb" and isinstance(run["amount"], str) and "amount_fen" not in run
    per_rule = {r["rule_code"]: r["suspicions"] for r in run["rules_found"]}
    assert per_rule["T-SEX"] == result.per_rule["T-SEX"].new
    assert refused(api.get("/api/supervision/runs/999", headers=who), 404)
    url = "/api/supervision/suspicions"
    page = ok(api.get(url, params={"size": 5}, headers=who))
    assert page["total"] == result.new_suspicions and len(page["items"]) == 5
    amounts = [float(x["vola_amt"]) for x in page["items"]]
    assert amounts == sorted(amounts, reverse=True) and "evidence" not in page["items"][0]
    sex = ok(api.get(url, params={"rule_code": "T-SEX", "status": "open", "size": 500}, headers=who))
    assert sex["total"] == result.per_rule["T-SEX"].new and {x["rule_code"] for x in sex["items"]} == {
        "T-SEX"
    }
    big = ok(api.get(url, params={"min_amount": "100.00", "size": 500}, headers=who))
    assert all(float(x["vola_amt"]) >= 100 for x in big["items"]) and big["total"] < page["total"]
    first = sex["items"][0]
    inst = ok(api.get(url, params={"fixmedins_code": first["fixmedins_code"], "size": 500}, headers=who))
    assert {x["fixmedins_code"] for x in inst["items"]} == {first["fixmedins_code"]} and first[
        "fixmedins_name"
    ]
    assert (
        ok(api.get(url, params={"due_before": "2026-01-01"}, headers=who))["total"] == 0
    )  # none notified yet
    assert refused(api.get(url, params={"min_amount": "1.234"}, headers=who)).startswith("min_amount")
    one = ok(api.get(f"{url}/{first['id']}", headers=who))
    assert one["evidence"]["kind"] == "sex_limit" and one["lines"][0]["amt"] == one["vola_amt"]
    assert refused(api.get(f"{url}/99999999", headers=who), 404)
    assert refused(api.get(url, headers=api.as_["jj"]), 403)
