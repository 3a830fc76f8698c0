-- ZB 药费占比 / 检验检查占比 / 耗材占比 / 治疗占比: an institution's share of inpatient cost in the knowledge's
-- charge types (chrgitm_type) above the given percentile of its peers (same grade) in the period, with at least
-- min_visits stays (institution-level; batch only: the peers are the whole period, ``period_visits``, not the
-- history read with it). Rendered per rule: {{pct}} and {{rule_code}} are the rule's validated values
WITH rules AS (
  SELECT DISTINCT rule_code, min_visits, from_day, to_day FROM k_ratio_indicator
  WHERE rule_code = {{rule_code}}
),
shares AS (
  SELECT r.rule_code, v.fixmedins_code, MIN(v.inst_grade) AS grade, COUNT(DISTINCT v.mdtrt_id) AS stays,
         SUM(CASE WHEN t.chrgitm_type IS NOT NULL THEN l.amt ELSE 0 END) AS part, SUM(l.amt) AS total
  FROM visits v
  JOIN period_visits pv ON pv.mdtrt_id = v.mdtrt_id
  JOIN rules r ON v.begn_day BETWEEN r.from_day AND r.to_day
  JOIN lines l ON l.mdtrt_id = v.mdtrt_id
  LEFT JOIN k_ratio_indicator t ON t.rule_code = r.rule_code AND t.chrgitm_type = l.med_chrgitm_type
  WHERE v.inpatient = 1
  GROUP BY r.rule_code, v.fixmedins_code
),
ratios AS (
  SELECT s.*, CAST(s.part AS DOUBLE) / s.total AS share FROM shares s
  JOIN rules r ON r.rule_code = s.rule_code
  WHERE s.total > 0 AND s.stays >= r.min_visits
),
peers AS (
  SELECT x.rule_code, x.grade, QUANTILE_CONT(x.share, {{pct}}) AS bar
  FROM ratios x
  GROUP BY x.rule_code, x.grade
)
SELECT x.rule_code, x.fixmedins_code, NULL AS mdtrt_id, NULL AS line_id, '1' AS role,
       CAST(CAST(ROUND(x.share * 10000) AS BIGINT) AS VARCHAR) AS observed,
       CAST(CAST(ROUND(p.bar * 10000) AS BIGINT) AS VARCHAR) AS lim, NULL AS k_id
FROM ratios x JOIN peers p ON p.rule_code = x.rule_code AND p.grade = x.grade
WHERE x.share > p.bar
