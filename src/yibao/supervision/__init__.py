"""Fund supervision (基金监管): the smart-audit rule library (规则库 + 知识库) run before, during and after
settlement (事前 / 事中 / 事后), and the screening of settled data for what rules cannot see.

One rule definition, two executions: every rule kind is one SQL template over the audit view
(:mod:`yibao.supervision.frame`, ``sql/view.sql``); :mod:`online` runs it on one visit in an in-memory SQLite,
:mod:`batch` on a period's settled lines in DuckDB. The text is transpiled by sqlglot, so it runs on Spark too.
"""
