-- The audit view (审核视图) over the raw tables of yibao.supervision.frame. Each engine materialises these two
-- SELECTs as tables named after their "-- name:" once per run (online: per call). docs/supervision.md lists
-- every column. Portable SQL only: no date functions, no division (DuckDB's / is a float division, its casts round), no LIKE (SQLite's is case-insensitive), prefixes by
-- SUBSTRING; the text is written in DuckDB's dialect and transpiled by sqlglot for SQLite and Spark.

-- name: visits
SELECT
  r.*,
  r.begn_year - r.brdy_year - CASE WHEN r.begn_md < r.brdy_md THEN 1 ELSE 0 END AS age_years,
  r.begn_day - r.brdy_day AS age_days,
  CASE WHEN SUBSTRING(r.med_type, 1, 1) = '2' THEN 1 ELSE 0 END AS inpatient,
  COALESCE((SELECT SUM(x.amt) FROM raw_lines x WHERE x.mdtrt_id = r.mdtrt_id), 0) AS medfee
FROM raw_visits r

-- name: lines
SELECT
  l.line_id, l.mdtrt_id, l.feedetl_sn, l.med_list_codg, l.list_type, l.med_chrgitm_type,
  l.fee_day, l.cnt, l.pric, l.amt, l.pric_uplmt,
  COALESCE(l.dept_code, v.dept_code) AS dept_code,
  COALESCE(l.dr_code, v.atddr_no) AS dr_code,
  v.psn_no, v.fixmedins_code, v.insutype, v.med_type, v.inpatient, v.gend, v.inst_grade, v.inst_type,
  v.begn_ts, v.begn_day, v.end_day, v.death_day, v.dise_codg,
  l.fee_year - v.brdy_year - CASE WHEN l.fee_md < v.brdy_md THEN 1 ELSE 0 END AS age_years,
  l.fee_day - v.brdy_day AS age_days
FROM raw_lines l JOIN visits v ON v.mdtrt_id = l.mdtrt_id
