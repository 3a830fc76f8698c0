-- 住院期间门诊/购药: an outpatient or pharmacy visit of the person strictly between an admission's day and its
-- discharge day (or while it is open), anywhere (visit-level)
SELECT k.rule_code, o.fixmedins_code, o.mdtrt_id, NULL AS line_id, '1' AS role, i.mdtrt_id AS observed,
       i.fixmedins_code AS lim, k.k_id
FROM visits o
JOIN k_visit_during_stay k ON o.begn_day BETWEEN k.from_day AND k.to_day
JOIN visits i ON i.psn_no = o.psn_no AND i.inpatient = 1 AND i.mdtrt_id <> o.mdtrt_id
     AND o.begn_day > i.begn_day AND (i.end_day IS NULL OR o.begn_day < i.end_day)
WHERE o.inpatient = 0
