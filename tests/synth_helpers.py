"""Test-only: put the demo region's reference data into a database straight from its CSV files."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import yaml
from sqlalchemy import insert

from yibao.money import parse_price, parse_ratio
from yibao.store.tables import CatalogueItem, ClinicalCode, Institution, Region

REGION = Path(__file__).resolve().parents[1] / "regions" / "990100"


def load_reference(engine) -> list[tuple[str, int]]:
    def rows(name):
        with open(REGION / name, encoding="utf-8") as f:
            return list(csv.DictReader(f))

    with engine.begin() as c:
        c.execute(insert(Region), [{"admdvs": "990100", "name": "示例市"}])
        c.execute(
            insert(Institution),
            [
                {
                    "fixmedins_code": r["fixmedins_code"],
                    "fixmedins_name": r["fixmedins_name"],
                    "fixmedins_type": r["fixmedins_type"],
                    "hosp_lv": r["hosp_lv"] or None,
                    "dedc_hosp_lv": int(r["dedc_hosp_lv"]),
                    "admdvs": "990100",
                    "status": r["status"],
                    "begndate": date.fromisoformat(r["begndate"]),
                    "beds": int(r["beds"]) if r["beds"] else None,
                }
                for r in rows("institutions.csv")
            ],
        )
        c.execute(
            insert(CatalogueItem),
            [
                {
                    "list_type": r["list_type"],
                    "med_list_codg": r["med_list_codg"],
                    "med_list_name": r["med_list_name"],
                    "med_chrgitm_type": r["med_chrgitm_type"],
                    "chrgitm_lv": r["chrgitm_lv"],
                    "selfpay_prop": parse_ratio(r["selfpay_prop"] or "0"),
                    "pric": parse_price(r["pric"]),
                    "pric_uplmt_amt": parse_price(r["pric_uplmt_amt"]) if r["pric_uplmt_amt"] else None,
                    "lmt_used_flag": r["lmt_used_flag"],
                    "begndate": date.fromisoformat(r["begndate"]),
                }
                for r in rows("catalogue/catalogue.csv")
            ],
        )
        c.execute(
            insert(ClinicalCode),
            [
                {"system": "icd10", "code": r["code"], "name": r["name"], "grey_flag": r["grey_flag"]}
                for r in rows("codes/icd10.csv")
            ],
        )
    reg = yaml.safe_load((REGION / "region.yaml").read_text(encoding="utf-8"))
    return [(d["admdvs"], d["population"]) for d in reg["districts"]]
