-- 挂床住院: min_days or more consecutive days of a closed stay with no line outside the idle charge types
-- (knowledge: chrgitm_type, e.g. 01 床位费, 07 护理费); the lines billed on those days are the finding
WITH rules AS (
  SELECT DISTINCT rule_code, min_days, from_day, to_day FROM k_idle_stay
),
active AS (
  SELECT r.rule_code, l.mdtrt_id, l.fee_day AS d
  FROM lines l
  JOIN rules r ON l.fee_day BETWEEN r.from_day AND r.to_day
  WHERE l.inpatient = 1 AND l.end_day IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM k_idle_stay t WHERE t.rule_code = r.rule_code
                      AND t.chrgitm_type = l.med_chrgitm_type)
  UNION
  SELECT r.rule_code, v.mdtrt_id, v.begn_day - 1 AS d
  FROM visits v JOIN rules r ON v.begn_day BETWEEN r.from_day AND r.to_day
  WHERE v.inpatient = 1 AND v.end_day IS NOT NULL
  UNION
  SELECT r.rule_code, v.mdtrt_id, v.end_day AS d
  FROM visits v JOIN rules r ON v.begn_day BETWEEN r.from_day AND r.to_day
  WHERE v.inpatient = 1 AND v.end_day IS NOT NULL
),
gaps AS (
  SELECT rule_code, mdtrt_id, d, LAG(d) OVER (PARTITION BY rule_code, mdtrt_id ORDER BY d) AS prev
  FROM active
)
SELECT g.rule_code, l.fixmedins_code, l.mdtrt_id, l.line_id, '1' AS role,
       CAST(g.d - g.prev - 1 AS VARCHAR) AS observed, CAST(r.min_days AS VARCHAR) AS lim, NULL AS k_id
FROM gaps g
JOIN rules r ON r.rule_code = g.rule_code
JOIN lines l ON l.mdtrt_id = g.mdtrt_id AND l.fee_day > g.prev AND l.fee_day < g.d
     AND l.fee_day BETWEEN r.from_day AND r.to_day
WHERE g.prev IS NOT NULL AND g.d - g.prev - 1 >= r.min_days
