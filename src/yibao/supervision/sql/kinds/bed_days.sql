-- 床日数超住院天数: the quantity of bed-day codes in a stay above its length (算入不算出: discharge day not
-- counted, at least 1); the lines are at stake, the excess share is the amount
SELECT b.rule_code, b.fixmedins_code, b.mdtrt_id, b.line_id, '1' AS role,
       CAST(b.total AS VARCHAR) AS observed, CAST(b.los * 10000 AS VARCHAR) AS lim, b.k_id
FROM (
  SELECT k.rule_code, MIN(k.k_id) OVER (PARTITION BY k.rule_code, l.mdtrt_id) AS k_id, l.fixmedins_code,
         l.mdtrt_id, l.line_id,
         SUM(l.cnt) OVER (PARTITION BY k.rule_code, l.mdtrt_id) AS total,
         CASE WHEN l.end_day - l.begn_day > 1 THEN l.end_day - l.begn_day ELSE 1 END AS los
  FROM lines l
  JOIN k_bed_days k ON k.code = l.med_list_codg AND l.fee_day BETWEEN k.from_day AND k.to_day
  WHERE l.inpatient = 1 AND l.end_day IS NOT NULL
) b
WHERE b.total > b.los * 10000
