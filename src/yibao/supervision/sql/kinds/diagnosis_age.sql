-- 诊断与患者年龄不符: a diagnosis starting with dise_prefix outside its age range (visit-level, age on the
-- visit's first day; unit y years, d days)
SELECT a.rule_code, a.fixmedins_code, a.mdtrt_id, NULL AS line_id, '1' AS role,
       a.dise_codg || ':' || CAST(a.age AS VARCHAR) || a.unit AS observed,
       COALESCE(CAST(a.min_age AS VARCHAR), '') || '-' || COALESCE(CAST(a.max_age AS VARCHAR), '') || a.unit AS lim,
       a.k_id
FROM (
  SELECT k.rule_code, k.k_id, k.unit, k.min_age, k.max_age, v.fixmedins_code, v.mdtrt_id, d.dise_codg,
         CASE WHEN k.unit = 'd' THEN v.age_days ELSE v.age_years END AS age
  FROM diagnoses d
  JOIN visits v ON v.mdtrt_id = d.mdtrt_id
  JOIN k_diagnosis_age k ON SUBSTRING(d.dise_codg, 1, LENGTH(k.dise_prefix)) = k.dise_prefix
       AND v.begn_day BETWEEN k.from_day AND k.to_day
) a
WHERE (a.min_age IS NOT NULL AND a.age < a.min_age) OR (a.max_age IS NOT NULL AND a.age > a.max_age)
