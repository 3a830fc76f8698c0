-- 计费日期与住院时间不符: an inpatient line dated before admission or after discharge
SELECT k.rule_code, l.fixmedins_code, l.mdtrt_id, l.line_id, '1' AS role,
       CAST(l.fee_day AS VARCHAR) AS observed,
       CAST(l.begn_day AS VARCHAR) || '..' || COALESCE(CAST(l.end_day AS VARCHAR), '') AS lim, k.k_id
FROM lines l
JOIN k_fee_outside_stay k ON l.fee_day BETWEEN k.from_day AND k.to_day
WHERE l.inpatient = 1 AND (l.fee_day < l.begn_day OR (l.end_day IS NOT NULL AND l.fee_day > l.end_day))
