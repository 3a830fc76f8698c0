"""Rule packs are data: the registry of schemes, the loader of the national tables, and its refusals — a
malformed pack is refused with file, line and reason, never half loaded."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from yibao.payment.drg_pack import compile_pack
from yibao.payment.drg_tables import RulePackError, parse_complications, parse_exclusions
from yibao.payment.packs import find_scheme, load_drg_pack, pack_hash, read_tables


@pytest.fixture(scope="module")
def scheme():
    return find_scheme("chs-drg-1.1")


@pytest.fixture(scope="module")
def files(scheme):
    return read_tables(scheme.tables)


def compile_with(files, scheme, path, old, new):
    changed = dict(files)
    text = changed[path].decode("utf-8")
    assert old in text, f"{old!r} not in {path}"
    changed[path] = text.replace(old, new, 1).encode("utf-8")
    return compile_pack(changed, scheme.name, scheme.meta, pack_hash(changed))


def test_the_registered_scheme_and_its_period(scheme):
    assert scheme.effective_from == date(2021, 5, 1) and scheme.effective_to is None
    assert scheme.licence.is_file() and "Apache License" in scheme.licence.read_text(encoding="utf-8")
    assert find_scheme("chs-drg-1.1", on=date(2025, 1, 1)) == scheme
    with pytest.raises(RulePackError, match="不在有效期内"):
        find_scheme("chs-drg-1.1", on=date(2020, 1, 1))
    with pytest.raises(RulePackError, match="未登记的分组方案 chs-drg-9"):
        find_scheme("chs-drg-9")


def test_the_national_tables_load_with_their_sizes():
    pack = load_drg_pack()
    assert len(pack.mdc_names) == 26 and len(pack.adrg_names) == 376 and len(pack.drg_names) == 628
    assert sum(1 for level, _ in pack.complications.values() if level == 1) == 4678  # MCC, §4.2: ~4.7 k
    assert sum(1 for level, _ in pack.complications.values() if level == 3) == 16568  # CC: ~16.6 k
    assert len(pack.exclusions) == 28302  # principal → table rows: ~28.3 k
    suffixes = [d[3] for d in pack.drg_names]
    assert [suffixes.count(s) for s in "1359"] == [123, 129, 184, 192]  # §4.1 for 1.1


def test_the_hash_is_the_same_from_the_folder_and_the_archive(tmp_path, files):
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    assert load_drg_pack("chs-drg-1.1", tmp_path).pack_hash == load_drg_pack().pack_hash == pack_hash(files)
    (tmp_path / "1_MDC.txt").write_bytes(files["1_MDC.txt"] + b"\n")
    assert pack_hash(read_tables(tmp_path)) != pack_hash(files)


def test_the_transcription_quirks_are_read(files):
    mcc = parse_complications("5_MCC.txt", files["5_MCC.txt"])
    assert mcc["A05.202"] == "7-1"  # in a line that runs a page number, the header and 40 entries together
    assert mcc["B21.300"] == "7-13"  # a name broken over two lines
    assert mcc["U82.100"] is None  # 排除内容 无
    tables = parse_exclusions("7_CCE.txt", files["7_CCE.txt"])
    assert "J30.000" in tables["7-103"]  # the table header inside a page-joined line


@pytest.mark.parametrize(
    ("path", "old", "new", "message"),
    [
        ("5_MCC.txt", "A01.100 副伤寒甲 表 7-1\n", "A01.100 副伤寒甲\n", "5_MCC.txt:2: 无法识别的条目"),
        (
            "5_MCC.txt",
            "A01.100 副伤寒甲 表 7-1",
            "A01.100 副伤寒甲 表 7-999",
            "5_MCC.txt: 引用了 7_CCE.txt 中没有的排除表",
        ),
        ("3_DRG.txt", "AH11 有创呼吸机", "AH13 有创呼吸机", "3_DRG.txt:9: AH13 末位 3 与名称不符"),
        (
            "3_DRG.txt",
            "BB11 脑创伤开颅术",
            "QQ11 脑创伤开颅术",
            "3_DRG.txt:11: QQ11 的 ADRG QQ1 不在 2_ADRG.txt 中",
        ),
        ("2_ADRG.txt", "AB1 肝移植", "AB1", "2_ADRG.txt:2: 应为“编码 名称”"),
        ("7_CCE.txt", "表 7-1\n", "表 7-1\n奇怪的一行\n", "7_CCE.txt:2: 无法识别的行"),
    ],
)
def test_a_malformed_table_is_refused_with_file_line_and_reason(files, scheme, path, old, new, message):
    with pytest.raises(RulePackError) as refused:
        compile_with(files, scheme, path, old, new)
    assert str(refused.value).startswith(message)


def test_a_malformed_condition_file_is_refused(files, scheme):
    path = next(p for p in files if p.startswith("ADRG/AB1"))
    with pytest.raises(RulePackError, match=r"^ADRG/AB1_肝移植\.dat:1: 无法识别的条件行"):
        compile_with(files, scheme, path, "包含以下主要手术或操作：", "包含以下次要手术：")
    formula = next(p for p in files if p.startswith("ADRG/JA2"))
    with pytest.raises(RulePackError, match="公式引用了不存在的手术表"):
        compile_with(files, scheme, formula, "手术表 2+手术表 3", "手术表 2+手术表 7")


def test_a_missing_file_is_refused(files, scheme):
    changed = {k: v for k, v in files.items() if not k.startswith("ADRG/GB1")}
    with pytest.raises(RulePackError, match=r"^2_ADRG\.txt:\d+: GB1 没有条件文件"):
        compile_pack(changed, scheme.name, scheme.meta, "x")
    with pytest.raises(RulePackError, match=r"^6_CC\.txt: 规则包缺少此文件"):
        compile_pack({k: v for k, v in files.items() if k != "6_CC.txt"}, scheme.name, scheme.meta, "x")


def test_an_unreadable_archive_is_refused(tmp_path: Path):
    bad = tmp_path / "tables.tar.xz"
    bad.write_bytes(b"not an archive")
    with pytest.raises(RulePackError, match="无法解压规则包"):
        read_tables(bad)
    with pytest.raises(RulePackError, match="规则包不存在"):
        read_tables(tmp_path / "missing")


def test_a_registry_entry_must_be_complete(tmp_path):
    registry = tmp_path / "schemes.yaml"
    registry.write_text(
        "local-drg:\n  kind: drg\n  title: 示例\n  effective_from: 2025-13-01\n  tables: t\n  licence: l\n",
        encoding="utf-8",
    )
    with pytest.raises(RulePackError, match="无法读取方案登记"):
        find_scheme("local-drg", registry=registry)
    registry.write_text(registry.read_text(encoding="utf-8").replace("2025-13-01", "soon"), encoding="utf-8")
    with pytest.raises(RulePackError, match="有效期不是日期区间"):
        find_scheme("local-drg", registry=registry)
    registry.write_text(
        "local-drg:\n  kind: drg\n  title: 示例\n  effective_from: 2025-01-01\n  tables: t\n  licence: l\n",
        encoding="utf-8",
    )
    with pytest.raises(RulePackError, match="缺少 pre_mdc 或 mdc_order"):
        find_scheme("local-drg", registry=registry)
