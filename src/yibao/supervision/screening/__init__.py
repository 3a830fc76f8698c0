"""Screening (筛查, supervision.md §10–§12): the signals of §11 computed over a year of settled data, for
hospitals, stores, doctors and insured persons, ranked into leads an investigation team can open.

Input: the audit view's raw tables (:mod:`yibao.supervision.frame`, a :class:`Frame` or a directory of Parquet
files); output: plain :class:`~yibao.supervision.screening.leads.Lead` values, each with its signals, values and
thresholds. Pure domain code (NumPy, PyArrow): no database, no configuration, no labels.

* :mod:`claims` — the raw tables as integer-coded arrays; :mod:`stats` — robust z, peer percentiles, control
  charts, binomial and Poisson tails, MinHash; :mod:`params` — every threshold with its §11 default;
* :mod:`surge` and :mod:`hospital` — §11.1; :mod:`pharmacy` — §11.2; :mod:`fictitious` — §11.4;
  :mod:`doctors` and :mod:`persons` — §11.5;
* :mod:`leads` — the lead, its ranking and the capacity cut; :mod:`run` — all detectors over a frame;
  :mod:`evaluate` — AUPRC, precision@k, recall@k and amount@k against injected labels (§12).
"""
