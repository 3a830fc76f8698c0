-- 频繁门诊 / 频繁购药 / 频繁住院: the person's visits of a med_type prefix in one calendar month (period
-- month) or year (period year); every visit after the max_visits-th is a finding (visit-level)
SELECT f.rule_code, f.fixmedins_code, f.mdtrt_id, NULL AS line_id, '1' AS role,
       CAST(f.nth AS VARCHAR) AS observed, CAST(f.max_visits AS VARCHAR) AS lim, f.k_id
FROM (
  SELECT k.rule_code, k.k_id, k.max_visits, v.fixmedins_code, v.mdtrt_id,
         ROW_NUMBER() OVER (PARTITION BY k.rule_code, k.k_id, v.psn_no,
                                         CASE WHEN k.period = 'year' THEN v.begn_year
                                              ELSE v.begn_month END
                            ORDER BY v.begn_ts, v.mdtrt_id) AS nth
  FROM visits v
  JOIN k_visit_frequency k ON v.begn_day BETWEEN k.from_day AND k.to_day
       AND SUBSTRING(v.med_type, 1, LENGTH(k.med_type)) = k.med_type
) f
WHERE f.nth > f.max_visits
