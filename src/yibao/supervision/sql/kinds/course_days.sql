-- 限支付疗程: a code used on more than max_days distinct days in one visit; lines after the last allowed day
-- are the violation (1), the earlier ones are involved (2)
SELECT c.rule_code, c.fixmedins_code, c.mdtrt_id, c.line_id,
       CASE WHEN c.nth > c.max_days THEN '1' ELSE '2' END AS role,
       CAST(c.days AS VARCHAR) AS observed, CAST(c.max_days AS VARCHAR) AS lim, c.k_id
FROM (
  SELECT r.*, MAX(r.nth) OVER (PARTITION BY r.rule_code, r.k_id, r.mdtrt_id) AS days
  FROM (
    SELECT k.rule_code, k.k_id, k.max_days, l.fixmedins_code, l.mdtrt_id, l.line_id,
           DENSE_RANK() OVER (PARTITION BY k.rule_code, k.k_id, l.mdtrt_id ORDER BY l.fee_day) AS nth
    FROM lines l
    JOIN k_course_days k ON k.code = l.med_list_codg AND l.fee_day BETWEEN k.from_day AND k.to_day
  ) r
) c
WHERE c.days > c.max_days
