"""Claims for analytics as Parquet (就诊 Parquet): one row per settlement and one per fee line, partitioned by
month (``data/claims/year=…/month=…``, ``data/claim_lines/…``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from yibao.settlement.result import SETLINFO_AMOUNTS
from yibao.settlement.tiers import chain_columns
from yibao.synth.params import Params


def write_parquet(data_dir: Path, p: Params, pop, cl, ref, res) -> Path:
    """Claims for analytics: one row per settlement, partitioned by month (data/claims/year=…/month=…)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    target = Path(data_dir) / "claims"
    month = cl.day.astype("datetime64[M]").astype(np.int64) % 12 + 1
    o = res.out
    table = pa.table(
        {
            "mdtrt_seq": np.arange(len(cl)),
            "psn_no": pop.psn_no[cl.person],
            "fixmedins_code": ref.inst_code[cl.inst],
            "dedc_hosp_lv": cl.level,
            "med_type": cl.med_type,
            "insutype": pop.insutype[cl.person],
            "psn_type": pop.psn_type[cl.person],
            "dise_codg": cl.dise,
            "begndate": cl.day.astype("datetime64[D]"),
            "los": cl.los,
            **{k: res.sums[k] for k in res.sums},
            **{k: v for k, v in chain_columns(o).items() if k in SETLINFO_AMOUNTS},  # (not the ratio)
            "year": np.full(len(cl), p.year),
            "month": month,
        }
    )
    ds.write_dataset(
        table,
        target,
        format="parquet",
        partitioning=["year", "month"],
        partitioning_flavor="hive",
        existing_data_behavior="delete_matching",
    )
    lines = pa.table(
        {
            "mdtrt_seq": cl.line_visit,
            "med_list_codg": ref.item_code[cl.line_item],
            "pric": cl.line_pric,
            "cnt": cl.line_cnt,
            "det_item_fee_sumamt": cl.line_amt,
            "fulamt_ownpay_amt": res.split.ful,
            "overlmt_amt": res.split.over,
            "preselfpay_amt": res.split.pre,
            "inscp_scp_amt": res.split.inscp,
            "year": np.full(cl.line_visit.size, p.year),
            "month": month[cl.line_visit],
        }
    )
    ds.write_dataset(
        lines,
        Path(data_dir) / "claim_lines",
        format="parquet",
        partitioning=["year", "month"],
        partitioning_flavor="hive",
        existing_data_behavior="delete_matching",
    )
    return target
