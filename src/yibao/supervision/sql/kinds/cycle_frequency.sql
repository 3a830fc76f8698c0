-- 周期超频次: a person's code on more than max_in_cycle distinct days within any cycle_days-day window
-- ending on the line's day; the person's visits begun up to the line's own count (what online sees of them)
SELECT k.rule_code, a.fixmedins_code, a.mdtrt_id, a.line_id, '1' AS role,
       CAST(COUNT(DISTINCT b.fee_day) AS VARCHAR) AS observed,
       CAST(MIN(k.max_in_cycle) AS VARCHAR) || '/' || CAST(MIN(k.cycle_days) AS VARCHAR) AS lim, MIN(k.k_id) AS k_id
FROM lines a
JOIN k_cycle_frequency k ON k.code = a.med_list_codg AND a.fee_day BETWEEN k.from_day AND k.to_day
JOIN lines b ON b.psn_no = a.psn_no AND b.med_list_codg = a.med_list_codg
     AND b.fee_day BETWEEN a.fee_day - k.cycle_days + 1 AND a.fee_day AND b.begn_ts <= a.begn_ts
GROUP BY k.rule_code, k.k_id, a.fixmedins_code, a.mdtrt_id, a.line_id
HAVING COUNT(DISTINCT b.fee_day) > MIN(k.max_in_cycle)
