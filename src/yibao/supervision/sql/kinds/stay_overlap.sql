-- 同时住院: an admission starting while the same person is admitted at another institution; the later one is
-- the finding (visit-level)
SELECT k.rule_code, b.fixmedins_code, b.mdtrt_id, NULL AS line_id, '1' AS role, a.mdtrt_id AS observed,
       a.fixmedins_code AS lim, k.k_id
FROM visits b
JOIN k_stay_overlap k ON b.begn_day BETWEEN k.from_day AND k.to_day
JOIN visits a ON a.psn_no = b.psn_no AND a.inpatient = 1 AND a.fixmedins_code <> b.fixmedins_code
     AND (a.begn_ts < b.begn_ts OR (a.begn_ts = b.begn_ts AND a.mdtrt_id < b.mdtrt_id))
     AND (a.end_day IS NULL OR b.begn_day < a.end_day)
WHERE b.inpatient = 1
