-- 限定频次 / 最大开药量 / 耗材数量超标: the quantity of a code in a day (period day) or a visit (period visit)
-- is above max_cnt (1e-4 units); every line of the group is at stake, the excess share is the amount
SELECT q.rule_code, q.fixmedins_code, q.mdtrt_id, q.line_id, '1' AS role,
       CAST(q.total AS VARCHAR) AS observed, CAST(q.max_cnt AS VARCHAR) AS lim, q.k_id
FROM (
  SELECT k.rule_code, k.k_id, k.max_cnt, l.fixmedins_code, l.mdtrt_id, l.line_id,
         SUM(l.cnt) OVER (PARTITION BY k.rule_code, k.k_id, l.mdtrt_id, l.med_list_codg,
                                       CASE WHEN k.period = 'day' THEN l.fee_day ELSE 0 END) AS total
  FROM lines l
  JOIN k_max_quantity k ON k.code = l.med_list_codg AND l.fee_day BETWEEN k.from_day AND k.to_day
) q
WHERE q.total > q.max_cnt
