-- 分解住院: an admission starting within window_days of the same person's discharge, same principal
-- diagnosis (first dx_len characters) and, when same_institution is yes, the same institution; the later
-- admission is the finding (visit-level)
SELECT k.rule_code, b.fixmedins_code, b.mdtrt_id, NULL AS line_id, '1' AS role,
       a.mdtrt_id || ':' || CAST(b.begn_day - a.end_day AS VARCHAR) AS observed,
       CAST(k.window_days AS VARCHAR) AS lim, k.k_id
FROM visits b
JOIN k_readmission k ON b.begn_day BETWEEN k.from_day AND k.to_day
JOIN visits a ON a.psn_no = b.psn_no AND a.mdtrt_id <> b.mdtrt_id AND a.inpatient = 1
     AND a.end_day IS NOT NULL AND a.begn_ts < b.begn_ts
     AND b.begn_day - a.end_day BETWEEN 0 AND k.window_days
     AND (k.same_institution = 'no' OR a.fixmedins_code = b.fixmedins_code)
     AND SUBSTRING(a.dise_codg, 1, k.dx_len) = SUBSTRING(b.dise_codg, 1, k.dx_len)
WHERE b.inpatient = 1
